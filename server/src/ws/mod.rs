//! `GET /ws`: the WebSocket upgrade. Checks the `Origin` (a page on another site must not
//! ride the user's cookie into a socket) and the session cookie, then hands the socket to
//! `connection`.

mod commands;
mod connection;

use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use confab_protocol::{ErrorCode, limits};

use crate::auth::CurrentSession;
use crate::error::AppError;
use crate::state::{AppState, Settings};

/// Initial read buffer of each socket. tungstenite allocates it eagerly and zero-fills it
/// on every read, so it is resident for every open connection: its 128 KiB default made an
/// idle socket cost ~140 KiB of server memory (BENCHMARKS.md, idle). Client frames are
/// small (a `send` of a typical message is a few hundred bytes); a bigger one (up to
/// `limits::MAX_FRAME_BYTES`) grows the buffer as needed and is read in 2 KiB steps.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// `GET /ws`: 403 `forbidden_origin` for a foreign `Origin`, 401 `unauthorized` without a
/// valid session; otherwise switches protocols.
async fn upgrade(
    State(state): State<AppState>,
    State(settings): State<Arc<Settings>>,
    headers: HeaderMap,
    session: Result<CurrentSession, AppError>,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    if !origin_allowed(&headers, &settings.allowed_origins) {
        return Err(ErrorCode::ForbiddenOrigin.into());
    }
    // The origin is checked first, so a foreign page learns nothing about sessions.
    let session = session?;
    Ok(ws
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(limits::MAX_FRAME_BYTES)
        .max_frame_size(limits::MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection::run(socket, state, session))
        .into_response())
}

/// A request without `Origin` is not from a browser page (browsers always send it on
/// WebSocket upgrades) and is allowed; otherwise the origin must be the server's own (the
/// `Host` it was reached at) or one of the configured origins.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn same_origin_listed_origins_and_non_browsers_are_allowed() {
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(origin_allowed(&headers(None, "127.0.0.1:8080"), &[]));
        let listed = vec!["http://localhost:8081".to_owned()];
        assert!(origin_allowed(
            &headers(Some("http://localhost:8081"), "127.0.0.1:8080"),
            &listed
        ));
    }

    #[test]
    fn foreign_origins_are_refused() {
        assert!(!origin_allowed(
            &headers(Some("http://evil.example"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("http://127.0.0.1:8081"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(!origin_allowed(
            &headers(Some("null"), "127.0.0.1:8080"),
            &[]
        ));
    }
}
