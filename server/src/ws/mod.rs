//! `GET /ws`: the WebSocket upgrade. Checks the `Origin` (a page on another site must not
//! ride the user's cookie into a socket), the session cookie and the user's socket count,
//! then hands the socket to `connection`.

mod commands;
mod connection;
mod slots;

pub use slots::{Slot, UserSlots};

use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use confab_protocol::{ErrorCode, limits};

use crate::auth::CurrentSession;
use crate::error::AppError;
use crate::origin;
use crate::state::{AppState, Settings};

/// Initial read buffer of each socket. tungstenite allocates it eagerly and zero-fills it
/// on every read, so it is resident for every open connection: its 128 KiB default made an
/// idle socket cost ~140 KiB of server memory (BENCHMARKS.md, idle). Client frames are
/// small (a `send` of a typical message is a few hundred bytes); a bigger one (up to
/// `limits::MAX_FRAME_BYTES`) grows the buffer as needed and is read in 1 KiB steps.
const READ_BUFFER_BYTES: usize = 1024;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// `GET /ws`: 403 `forbidden_origin` for a foreign `Origin`, 401 `unauthorized` without a
/// valid session, 429 `too_many_connections` when the user holds the most sockets allowed
/// here; otherwise switches protocols.
async fn upgrade(
    State(state): State<AppState>,
    State(settings): State<Arc<Settings>>,
    headers: HeaderMap,
    session: Result<CurrentSession, AppError>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !origin::allowed(&headers, &settings.allowed_origins) {
        return Err(ErrorCode::ForbiddenOrigin.into());
    }
    // The origin is checked first, so a foreign page learns nothing about sessions.
    let session = session?;
    // Held by the connection until it ends; dropped with the closure if the upgrade fails.
    let slot = state
        .sockets
        .take(session.user.id)
        .ok_or(ErrorCode::TooManyConnections)?;
    Ok(ws
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(limits::MAX_FRAME_BYTES)
        .max_frame_size(limits::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| async move {
            connection::run(socket, state, session).await;
            drop(slot);
        })
        .into_response())
}
