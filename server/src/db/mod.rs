//! Storage: the connection pools, migrations, and one module of queries per aggregate.
//!
//! Queries are written once in SQL both SQLite and PostgreSQL accept (`$n` parameters,
//! `RETURNING`, `ON CONFLICT`) and run through sqlx's `Any` driver, so the two backends
//! cannot drift apart. SQLite gets a separate single-connection writer pool: every write
//! is queued in-process instead of racing for SQLite's file lock, so no client ever sees
//! "database is locked".

pub mod files;
pub mod messages;
pub mod rooms;
pub mod sessions;
pub mod users;

use std::time::Duration;

use confab_protocol::UnixMillis;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

use crate::config::Config;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database engine is behind the pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (the default).
    Sqlite,
    /// PostgreSQL server, shared by instances.
    Postgres,
}

/// Handle to the database: cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    /// Pool for reads (and for writes on PostgreSQL).
    reader: AnyPool,
    /// Pool for writes: one connection on SQLite, the reader pool on PostgreSQL.
    writer: AnyPool,
    backend: Backend,
}

/// Why the database could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Creating the data directory failed.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// The database holds migrations this binary does not know: it is newer than us.
    #[error(
        "the database schema is newer than this binary (it has migration {0} which this \
         build does not know); run a newer Confab or restore a matching backup"
    )]
    SchemaAhead(i64),
    /// Applying migrations failed.
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

impl Db {
    /// Connects to the configured database and brings its schema up to date.
    pub async fn open(config: &Config) -> Result<Self, OpenError> {
        install_default_drivers();
        let url = match &config.database_url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&config.data_dir).map_err(|source| OpenError::DataDir {
                    path: config.data_dir.display().to_string(),
                    source,
                })?;
                format!(
                    "sqlite://{}?mode=rwc",
                    config.data_dir.join("confab.db").display()
                )
            }
        };
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let acquire = Duration::from_secs(config.db_acquire_timeout_secs.max(1));
        let options = || {
            AnyPoolOptions::new()
                .acquire_timeout(acquire)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            // WAL lets readers run beside the writer; NORMAL sync is
                            // durable across process crashes (WAL is fsynced at
                            // checkpoints); the busy timeout covers other processes
                            // sharing the file.
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = NORMAL",
                                "PRAGMA busy_timeout = 10000",
                                "PRAGMA foreign_keys = ON",
                            ] {
                                conn.execute(pragma).await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let (reader, writer) = match backend {
            Backend::Sqlite => {
                let writer = options()
                    .max_connections(1)
                    .connect(&url)
                    .await
                    .map_err(OpenError::Connect)?;
                let reader = options()
                    .max_connections(config.db_max_connections.max(1))
                    .connect(&url)
                    .await
                    .map_err(OpenError::Connect)?;
                (reader, writer)
            }
            Backend::Postgres => {
                let pool = options()
                    .max_connections(config.db_max_connections.max(1))
                    .connect(&url)
                    .await
                    .map_err(OpenError::Connect)?;
                (pool.clone(), pool)
            }
        };
        let db = Self {
            reader,
            writer,
            backend,
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), OpenError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        match migrator.run(&self.writer).await {
            Ok(()) => Ok(()),
            Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
                Err(OpenError::SchemaAhead(version))
            }
            Err(err) => Err(OpenError::Migrate(err)),
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads.
    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The pool for writes.
    pub(crate) fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Whether the database answers a trivial query (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    /// Closes the pools, letting in-flight queries finish.
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// The current time as stored in the database.
pub fn now() -> UnixMillis {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    UnixMillis(i64::try_from(millis).unwrap_or(i64::MAX))
}

/// Whether a query failed on a unique constraint (e.g. a taken username).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
