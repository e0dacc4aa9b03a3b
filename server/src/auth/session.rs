//! Session tokens and the session cookie. A token is 32 random bytes, sent to the browser
//! in an HttpOnly SameSite=Lax cookie and stored only as its SHA-256, so neither scripts
//! in the page nor a copy of the database can replay it.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use confab_protocol::api::UserSummary;
use confab_protocol::{ErrorCode, UnixMillis};
use sha2::{Digest, Sha256};

use crate::db::{self, Db};
use crate::error::AppError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "confab_session";

/// How long a session lasts.
pub const SESSION_DAYS: i64 = 30;

/// A fresh random token (hex) and the hash to store for it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// When a session created now expires.
pub fn expiry() -> UnixMillis {
    UnixMillis(db::now().0 + SESSION_DAYS * 24 * 3600 * 1000)
}

/// The cookie that carries a token.
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(time_days(SESSION_DAYS))
        .build()
}

/// The cookie that clears the session cookie.
pub fn removal() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

fn time_days(days: i64) -> cookie::time::Duration {
    cookie::time::Duration::days(days)
}

/// The signed-in user of a request, from its session cookie. Rejects with 401
/// `unauthorized` when there is no valid session.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    /// Who is signed in.
    pub user: UserSummary,
    /// The stored hash of the session's token.
    pub token_hash: String,
}

impl<S> FromRequestParts<S> for CurrentSession
where
    S: Send + Sync,
    Db: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(AppError::from(ErrorCode::Unauthorized))?;
        let hash = token_hash(&token);
        let db = Db::from_ref(state);
        match db::sessions::find_user(&db, &hash).await? {
            Some(user) => Ok(Self {
                user,
                token_hash: hash,
            }),
            None => Err(ErrorCode::Unauthorized.into()),
        }
    }
}
