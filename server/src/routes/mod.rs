//! The HTTP router: one module per resource, each returning its `Router`, plus the built
//! client served from `dist/` with a fallback to `index.html` for client-side routes.

pub mod auth;
pub mod extract;
pub mod health;
pub mod rooms;

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, header};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::ws;

/// Builds the whole router.
pub fn router(state: AppState, dist_dir: &Path) -> Router {
    let client = ServeDir::new(dist_dir)
        .precompressed_gzip()
        .fallback(ServeFile::new(dist_dir.join("index.html")));
    Router::new()
        .nest("/api/auth", auth::router())
        .nest("/api/rooms", rooms::router())
        .merge(health::router())
        .merge(ws::router())
        .fallback_service(client)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
