//! Command-line flags with environment fallbacks: everything an operator can set.
//! Parsing only; what the values mean is decided where they are used.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Confab chat server.
#[derive(Debug, Clone, Parser)]
#[command(name = "confab", version, about)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "CONFAB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the embedded SQLite database and uploaded files.
    #[arg(long, env = "CONFAB_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Directory uploaded files are stored in, under generated ids. Instances that share
    /// it (a shared volume) serve each other's files. Unset: `<data-dir>/files`.
    #[arg(long, env = "CONFAB_FILES_DIR")]
    pub files_dir: Option<PathBuf>,

    /// Largest file upload accepted, in bytes; over it the upload is refused with 413
    /// `file_too_large` and nothing of it is kept.
    #[arg(long, env = "CONFAB_MAX_UPLOAD_BYTES", default_value_t = 25 * 1024 * 1024)]
    pub max_upload_bytes: u64,

    /// Database URL: `postgres://…` for PostgreSQL, `sqlite://…` for a given SQLite file.
    /// Unset: SQLite at `<data-dir>/confab.db`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Redis URL (`redis://host:port`) for fan-out between instances. Unset: in-process bus
    /// (one instance only).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,

    /// This instance's name, unique within a deployment. Unset: `confab-<random>`.
    #[arg(long, env = "CONFAB_INSTANCE_ID")]
    pub instance_id: Option<String>,

    /// An origin allowed to open WebSockets besides the server's own (repeatable), e.g.
    /// `http://localhost:8081` for `trunk serve`. Comma-separated in the environment.
    #[arg(
        long = "allowed-origin",
        env = "CONFAB_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Log filter in `tracing` syntax, e.g. `info` or `confab_server=debug,info`.
    #[arg(long, env = "CONFAB_LOG", default_value = "info")]
    pub log: String,

    /// Directory holding the built client (`trunk build` output), served at `/`.
    #[arg(long, env = "CONFAB_DIST_DIR", default_value = "./dist")]
    pub dist_dir: PathBuf,

    /// Frames each connection may have queued for sending before it counts as a slow
    /// consumer and is closed with code 4008.
    #[arg(long, env = "CONFAB_OUTBOUND_QUEUE", default_value_t = 4096)]
    pub outbound_queue: usize,

    /// Most database connections in the pool.
    #[arg(long, env = "CONFAB_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Seconds to wait for a database connection before failing a request with 503.
    #[arg(long, env = "CONFAB_DB_ACQUIRE_TIMEOUT", default_value_t = 5)]
    pub db_acquire_timeout_secs: u64,

    /// Mark the session cookie `Secure` (set when served over HTTPS).
    #[arg(long, env = "CONFAB_SECURE_COOKIES", default_value_t = false)]
    pub secure_cookies: bool,

    /// Seconds a user stays online after their instance last renewed their presence
    /// lease (renewed every third of this): how long a crashed instance's users still
    /// look online. Only with Redis; alone, presence follows the connections exactly.
    #[arg(long, env = "CONFAB_PRESENCE_TTL", default_value_t = 15)]
    pub presence_ttl_secs: u64,

    /// Messages (and files) one user may post per second on this instance, in bursts of
    /// three times that; over it a send is refused with `rate_limited`. 0: no limit.
    #[arg(long, env = "CONFAB_MAX_POSTS_PER_SEC", default_value_t = 10)]
    pub max_posts_per_sec: u32,

    /// Sign-in attempts per username (ignoring case) per minute on this instance, right or
    /// wrong, in bursts of as many; over it sign-in answers 429 `rate_limited` without
    /// checking the password. 0: no limit.
    #[arg(long, env = "CONFAB_MAX_SIGN_INS_PER_MIN", default_value_t = 10)]
    pub max_sign_ins_per_min: u32,

    /// Frames of any kind one connection may send per second, in bursts of five times
    /// that; over it typing, read and ping frames are dropped and others refused with
    /// `rate_limited`. 0: no limit.
    #[arg(long, env = "CONFAB_MAX_FRAMES_PER_SEC", default_value_t = 40)]
    pub max_frames_per_sec: u32,

    /// Seconds a connection may stay silent — no frame, not even a pong to the server's
    /// pings (sent every 2/5 of this) — before it is closed with 4002 and its user counts
    /// as gone. A sleeping laptop behind a NAT stops looking online after this.
    #[arg(long, env = "CONFAB_IDLE_TIMEOUT", default_value_t = 75)]
    pub idle_timeout_secs: u64,

    /// WebSockets one user may have open on this instance at once (tabs, devices); one
    /// more is refused with 429 `too_many_connections` before the upgrade. 0: no limit.
    #[arg(long, env = "CONFAB_MAX_SOCKETS_PER_USER", default_value_t = 100)]
    pub max_sockets_per_user: usize,
}

impl Config {
    /// Where uploaded files live: `--files-dir`, else `<data-dir>/files`.
    pub fn files_dir(&self) -> PathBuf {
        self.files_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("files"))
    }

    /// A configuration for tests and embedding: listen on a free loopback port, keep data
    /// in `data_dir`, everything else at its default.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            files_dir: None,
            max_upload_bytes: 25 * 1024 * 1024,
            database_url: None,
            redis_url: None,
            instance_id: None,
            allowed_origins: Vec::new(),
            log: "info".into(),
            dist_dir: PathBuf::from("./dist"),
            outbound_queue: 4096,
            db_max_connections: 16,
            db_acquire_timeout_secs: 5,
            secure_cookies: false,
            presence_ttl_secs: 15,
            max_posts_per_sec: 10,
            max_sign_ins_per_min: 10,
            max_frames_per_sec: 40,
            idle_timeout_secs: 75,
            max_sockets_per_user: 100,
        }
    }
}
