//! Shared files: where their bytes are kept ([`store`]), how an upload streams into the
//! store while the room watches its progress ([`upload`]), and how a download is served
//! safely ([`serve`]).
//!
//! This module owns the bytes and the rules about them (size cap, generated ids, sniffed
//! MIME types, safe headers). What is known about each file is in `db::files`; the HTTP
//! routes are in `routes::files`; the wire types (`FileRef`, `file_progress`) are in the
//! protocol crate.

pub mod serve;
pub mod store;
pub mod upload;

use std::path::PathBuf;

use crate::config::Config;
pub use store::FileStore;

/// Why the file store could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory could not be created.
    #[error("cannot create the files directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The store refused the directory.
    #[error("cannot open the files directory {path}: {source}")]
    Store {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: object_store::Error,
    },
}

/// The file store and the limits uploads are held to: cheap to clone.
#[derive(Debug, Clone)]
pub struct Files {
    store: FileStore,
    max_upload_bytes: u64,
}

impl Files {
    /// Opens the configured store (`--files-dir`, by default `<data-dir>/files`, created
    /// when missing) with the configured size cap.
    pub fn open(config: &Config) -> Result<Self, OpenError> {
        Ok(Self {
            store: FileStore::local(&config.files_dir())?,
            max_upload_bytes: config.max_upload_bytes,
        })
    }

    /// Where the bytes are.
    pub fn store(&self) -> &FileStore {
        &self.store
    }

    /// The largest upload accepted, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }
}
