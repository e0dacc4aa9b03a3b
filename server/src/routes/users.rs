//! `/api/users`: finding people to start a direct conversation with.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use confab_protocol::api::{UserSearch, UserSummary};

use super::extract::Query;
use crate::auth::CurrentSession;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::state::AppState;

/// Most users one search returns.
const SEARCH_LIMIT: u32 = 20;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/", get(search))
}

/// `GET /api/users?q=PREFIX`: up to 20 other users whose name starts with `q`, ignoring
/// case, by name.
async fn search(
    State(db): State<Db>,
    current: CurrentSession,
    Query(query): Query<UserSearch>,
) -> Result<axum::Json<Vec<UserSummary>>, AppError> {
    let q = query.q.trim();
    Ok(axum::Json(
        db::users::search(&db, q, current.user.id, SEARCH_LIMIT).await?,
    ))
}
