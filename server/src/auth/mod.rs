//! Accounts and sessions: password hashing, session tokens and the cookie that carries
//! them, and the extractor that turns a request's cookie into the signed-in user.

pub mod password;
pub mod session;

pub use session::{CurrentSession, SESSION_COOKIE};
