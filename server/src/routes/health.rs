//! `/healthz` (the process is up), `/readyz` (it can serve: database and bus reachable)
//! and `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use std::time::Duration;

use crate::db::Db;
use crate::realtime::Realtime;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// `GET /healthz`: 200 while the process runs.
async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database: probes come often and must answer quickly,
/// well before the pool's own acquire timeout when the database is gone.
const DATABASE_PROBE: Duration = Duration::from_secs(1);

#[derive(Serialize)]
struct Readiness {
    database: bool,
    bus: bool,
}

/// `GET /readyz`: 200 when the database and the bus answer, else 503; the body says which.
async fn readyz(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
) -> (StatusCode, Json<Readiness>) {
    let readiness = Readiness {
        database: tokio::time::timeout(DATABASE_PROBE, db.ping())
            .await
            .unwrap_or(false),
        bus: realtime.bus().is_connected(),
    };
    let status = if readiness.database && readiness.bus {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::metrics::render(),
    )
}
