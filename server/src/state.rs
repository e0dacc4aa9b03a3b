//! What handlers share: the database, the realtime layer, the file store and the settings
//! they read.
//! Handlers extract only the part they need (`State<Db>`, `State<Realtime>`, …).

use std::sync::Arc;

use axum::extract::FromRef;

use crate::db::Db;
use crate::files::Files;
use crate::presence::Presence;
use crate::rate_limit::{PostLimiter, SignInLimiter};
use crate::realtime::Realtime;
use crate::ws::UserSlots;

/// Settings handlers read at request time.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Origins allowed to open WebSockets besides the server's own.
    pub allowed_origins: Vec<String>,
    /// Whether the session cookie is marked `Secure`.
    pub secure_cookies: bool,
    /// Frames per second each connection may send (0: no limit).
    pub max_frames_per_sec: u32,
    /// How long a connection may stay silent before it is closed.
    pub idle_timeout: std::time::Duration,
}

/// The application state.
#[derive(Debug, Clone, FromRef)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Hub and bus.
    pub realtime: Realtime,
    /// Who is online.
    pub presence: Presence,
    /// Shared files' bytes and upload limits.
    pub files: Files,
    /// How fast each user may post.
    pub posts: PostLimiter,
    /// How often each username may try to sign in.
    pub sign_ins: SignInLimiter,
    /// How many sockets each user holds open here.
    pub sockets: Arc<UserSlots>,
    /// Settings.
    pub settings: Arc<Settings>,
}
