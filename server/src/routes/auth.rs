//! `/api/auth`: register, sign in, sign out, and who am I.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use confab_protocol::api::{Credentials, UserSummary};
use confab_protocol::{BusTarget, ErrorCode, ServerFrame, limits};

use super::extract::Json;
use crate::auth::{CurrentSession, password, session};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::rate_limit::SignInLimiter;
use crate::realtime::Realtime;
use crate::state::{AppState, Settings};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", post(register))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/me", get(me))
}

async fn start_session(
    db: &Db,
    settings: &Settings,
    jar: CookieJar,
    user: &UserSummary,
) -> Result<CookieJar, AppError> {
    let (token, hash) = session::new_token();
    db::sessions::create(db, &hash, user.id, session::expiry()).await?;
    Ok(jar.add(session::cookie(token, settings.secure_cookies)))
}

/// `POST /api/auth/register`: creates an account and signs it in. 201 with the user;
/// 409 `username_taken`; 422 `invalid_username` / `invalid_password`.
#[tracing::instrument(skip_all, fields(username = %credentials.username))]
async fn register(
    State(db): State<Db>,
    State(settings): State<std::sync::Arc<Settings>>,
    jar: CookieJar,
    Json(credentials): Json<Credentials>,
) -> Result<impl IntoResponse, AppError> {
    limits::check_username(&credentials.username)?;
    limits::check_password(&credentials.password)?;
    let hash = password::hash(credentials.password).await?;
    let user = match db::users::create(&db, &credentials.username, &hash).await {
        Ok(user) => user,
        Err(err) if db::is_unique_violation(&err) => return Err(ErrorCode::UsernameTaken.into()),
        Err(err) => return Err(err.into()),
    };
    let jar = start_session(&db, &settings, jar, &user).await?;
    Ok((StatusCode::CREATED, jar, axum::Json(user)))
}

/// `POST /api/auth/sign-in`: 200 with the user and a session cookie; 401 `unauthorized`
/// for an unknown user or a wrong password alike; 429 `rate_limited` once the username
/// has used up its attempts (`--max-sign-ins-per-min`), whether the password is right.
#[tracing::instrument(skip_all, fields(username = %credentials.username))]
async fn sign_in(
    State(db): State<Db>,
    State(settings): State<std::sync::Arc<Settings>>,
    State(sign_ins): State<SignInLimiter>,
    jar: CookieJar,
    Json(credentials): Json<Credentials>,
) -> Result<impl IntoResponse, AppError> {
    // Over-long input is refused before hashing it.
    if credentials.username.len() > 256 || credentials.password.len() > 1024 {
        return Err(ErrorCode::Unauthorized.into());
    }
    // Before any lookup or hash: a refused guess costs next to nothing.
    if !sign_ins.allow(&credentials.username) {
        tracing::warn!("sign-in attempts over the limit");
        return Err(ErrorCode::RateLimited.into());
    }
    let account = db::users::find_by_name(&db, &credentials.username).await?;
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let valid = password::verify(credentials.password, stored).await?;
    let Some(account) = account.filter(|_| valid) else {
        return Err(ErrorCode::Unauthorized.into());
    };
    let jar = start_session(&db, &settings, jar, &account.user).await?;
    Ok((jar, axum::Json(account.user)))
}

/// `POST /api/auth/sign-out`: ends the session, clears the cookie and closes the
/// session's sockets on this instance with code 4001. 204.
async fn sign_out(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
    current: CurrentSession,
    jar: CookieJar,
) -> Result<impl IntoResponse, AppError> {
    db::sessions::delete(&db, &current.token_hash).await?;
    // Its sockets close on every instance, after a `session_ended`.
    realtime.publish(
        BusTarget::Session {
            user: current.user.id,
            session: current.token_hash,
        },
        ServerFrame::SessionEnded,
    );
    Ok((StatusCode::NO_CONTENT, jar.remove(session::removal())))
}

/// `GET /api/auth/me`: the signed-in user; 401 without a session.
async fn me(current: CurrentSession) -> axum::Json<UserSummary> {
    axum::Json(current.user)
}
