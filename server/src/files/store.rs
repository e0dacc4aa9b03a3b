//! The one storage interface for file bytes: an [`object_store::ObjectStore`] — a local
//! directory by default, so instances sharing that directory (a shared volume) serve each
//! other's files. Objects are named by the file's generated id only; nothing a client
//! sends becomes part of a path.
//!
//! Uploads are written as multipart uploads: the local store writes them to a staging file
//! beside the destination (`<id>#<n>`) and renames it into place on completion, so a
//! reader never sees half a file, and an aborted (or dropped) upload removes its staging
//! file. A process killed mid-upload cannot: opening the store removes staging files that
//! have not been written to for a while (a live upload writes at least every 30 s, or is
//! aborted as stalled).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use confab_protocol::FileId;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};

use super::OpenError;

/// Bytes gathered before they are written as one part: bounds both the memory an upload
/// holds and the number of writes. (A local directory takes parts of any size; S3-like
/// stores want at least 5 MiB per part.)
const PART_BYTES: usize = 1024 * 1024;

/// A staging file untouched for this long belongs to an upload whose process died.
const STALE_STAGING: Duration = Duration::from_secs(10 * 60);

/// Handle to the store: cheap to clone.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
}

/// A file's bytes as they are read from the store.
pub type ByteStream = BoxStream<'static, Result<Bytes, object_store::Error>>;

fn location(id: &FileId) -> object_store::path::Path {
    object_store::path::Path::from(id.0.as_str())
}

impl FileStore {
    /// A store in the local directory `dir`, created when missing.
    pub fn local(dir: &Path) -> Result<Self, OpenError> {
        std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|source| OpenError::Store {
            path: dir.to_path_buf(),
            source,
        })?;
        let removed = remove_stale_staging(dir, SystemTime::now(), STALE_STAGING);
        if removed > 0 {
            tracing::info!(
                removed,
                "removed staging files of uploads that never finished"
            );
        }
        Ok(Self {
            inner: Arc::new(store),
        })
    }

    /// Starts writing the file `id`. Nothing is visible under `id` until
    /// [`FileWriter::finish`] succeeds.
    pub async fn create(&self, id: &FileId) -> Result<FileWriter, object_store::Error> {
        let upload = self.inner.put_multipart(&location(id)).await?;
        Ok(FileWriter {
            upload,
            pending: Vec::new(),
            pending_bytes: 0,
        })
    }

    /// The bytes of file `id` as a stream, or `None` when the store has no such file.
    pub async fn open(&self, id: &FileId) -> Result<Option<ByteStream>, object_store::Error> {
        match self.inner.get(&location(id)).await {
            Ok(found) => Ok(Some(found.into_stream())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Removes file `id`; removing a file that is not there succeeds.
    pub async fn delete(&self, id: &FileId) -> Result<(), object_store::Error> {
        match self.inner.delete(&location(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

/// Removes the staging files (`<id>#<n>`) in `dir` last modified more than `stale` before
/// `now`; returns how many. Errors are skipped: this is housekeeping.
fn remove_stale_staging(dir: &Path, now: SystemTime, stale: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains('#'))
        .filter(|entry| {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| now.duration_since(modified).ok())
                .is_some_and(|age| age > stale)
        })
        .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
        .count()
}

/// A file being written. Dropping it without [`FileWriter::finish`] discards what was
/// written (the local store removes its staging file).
pub struct FileWriter {
    upload: Box<dyn MultipartUpload>,
    /// Chunks not written yet (shared with the request body, not copied).
    pending: Vec<Bytes>,
    pending_bytes: usize,
}

impl std::fmt::Debug for FileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileWriter")
            .field("pending_bytes", &self.pending_bytes)
            .finish_non_exhaustive()
    }
}

impl FileWriter {
    /// Appends `chunk`, writing a part once [`PART_BYTES`] have gathered.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), object_store::Error> {
        self.pending_bytes += chunk.len();
        self.pending.push(chunk);
        if self.pending_bytes >= PART_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), object_store::Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let payload: PutPayload = std::mem::take(&mut self.pending).into_iter().collect();
        self.pending_bytes = 0;
        self.upload.put_part(payload).await
    }

    /// Writes what is pending and makes the file visible under its id.
    pub async fn finish(mut self) -> Result<(), object_store::Error> {
        self.flush().await?;
        self.upload.complete().await.map(drop)
    }

    /// Discards everything written so far.
    pub async fn abort(mut self) {
        if let Err(err) = self.upload.abort().await {
            tracing::warn!(error = %err, "cannot remove an aborted upload's partial data");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_staging_files_untouched_for_a_while_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let old = SystemTime::now() - Duration::from_secs(3600);
        for name in ["0f3c2a9e#1", "live#2", "0f3c2a9e5b7d41c88e6a1f2b3c4d5e6f"] {
            std::fs::write(dir.path().join(name), b"bytes").unwrap();
        }
        for name in ["0f3c2a9e#1", "0f3c2a9e5b7d41c88e6a1f2b3c4d5e6f"] {
            let file = std::fs::File::options()
                .write(true)
                .open(dir.path().join(name))
                .unwrap();
            file.set_modified(old).unwrap();
        }
        let removed = remove_stale_staging(dir.path(), SystemTime::now(), STALE_STAGING);
        assert_eq!(removed, 1);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["0f3c2a9e5b7d41c88e6a1f2b3c4d5e6f", "live#2"]);
    }
}
