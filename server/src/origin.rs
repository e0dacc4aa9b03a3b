//! Which pages may act with the user's cookie. The session cookie is `SameSite=Lax`, which
//! keeps other *sites* out but not other origins of the same site (another port of the same
//! host, a sibling subdomain): so the WebSocket upgrade and every HTTP request that changes
//! something check the `Origin` header against the server's own origin and the configured
//! `--allowed-origin`s.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use confab_protocol::ErrorCode;

use crate::error::AppError;
use crate::state::Settings;

/// A request without `Origin` is not from a browser page (browsers send it on WebSocket
/// upgrades and on every cross-origin or unsafe request) and is allowed; otherwise the origin must be the server's own (the
/// `Host` it was reached at) or one of the configured origins.
pub fn allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
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

/// Middleware for the API: a request that changes something (not `GET`, `HEAD` or
/// `OPTIONS`) from a foreign origin gets 403 `forbidden_origin` before any handler runs.
pub async fn refuse_foreign_writes(
    State(settings): State<Arc<Settings>>,
    request: Request,
    next: Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !reads && !allowed(request.headers(), &settings.allowed_origins) {
        return AppError::from(ErrorCode::ForbiddenOrigin).into_response();
    }
    next.run(request).await
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
        assert!(allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(allowed(&headers(None, "127.0.0.1:8080"), &[]));
        let listed = vec!["http://localhost:8081".to_owned()];
        assert!(allowed(
            &headers(Some("http://localhost:8081"), "127.0.0.1:8080"),
            &listed
        ));
    }

    #[test]
    fn foreign_origins_are_refused() {
        assert!(!allowed(
            &headers(Some("http://evil.example"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(!allowed(
            &headers(Some("http://127.0.0.1:8081"), "127.0.0.1:8080"),
            &[]
        ));
        assert!(!allowed(&headers(Some("null"), "127.0.0.1:8080"), &[]));
    }
}
