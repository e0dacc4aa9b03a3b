//! The one storage interface for file bytes: an [`object_store::ObjectStore`] — a local
//! directory by default, so instances sharing that directory (a shared volume) serve each
//! other's files. Objects are named by the file's generated id only; nothing a client
//! sends becomes part of a path.
//!
//! Uploads are written as multipart uploads: the local store writes them to a staging file
//! beside the destination (`<id>#<n>`) and renames it into place on completion, so a
//! reader never sees half a file, and an aborted (or dropped) upload removes its staging
//! file.

use std::path::Path;
use std::sync::Arc;

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
