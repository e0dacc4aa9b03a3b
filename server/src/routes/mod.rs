//! The HTTP router: one module per resource, each returning its `Router`, plus the built
//! client served from `dist/` with a fallback to `index.html` for client-side routes.

pub mod auth;
pub mod extract;
pub mod files;
pub mod health;
pub mod rooms;
pub mod users;

use std::path::Path;

use axum::http::{HeaderValue, header};
use axum::routing::any;
use axum::{Router, middleware};
use confab_protocol::ErrorCode;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::origin;
use crate::state::AppState;
use crate::ws;

/// Builds the whole router.
pub fn router(state: AppState, dist_dir: &Path) -> Router {
    // The client (the .wasm above all) is gzipped on the way out.
    let client = ServiceBuilder::new()
        .layer(CompressionLayer::new())
        .service(ServeDir::new(dist_dir).fallback(ServeFile::new(dist_dir.join("index.html"))));
    let api = Router::new()
        .nest("/api/auth", auth::router())
        .nest("/api/rooms", rooms::router())
        .nest("/api/users", users::router())
        .merge(files::router())
        // Unknown API paths are JSON 404s, not the client's index.html.
        .route(
            "/api/{*rest}",
            any(|| async { AppError::from(ErrorCode::NotFound) }),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin::refuse_foreign_writes,
        ));
    Router::new()
        .merge(api)
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
