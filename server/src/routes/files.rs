//! File sharing over HTTP: `POST /api/rooms/{id}/files` streams an upload into a room
//! (the room watches it through `file_progress` events; see `files::upload`), and
//! `GET /api/files/{id}` serves a stored file to the members of its room (see
//! `files::serve` for the headers that keep it harmless).

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use confab_protocol::api::UploadQuery;
use confab_protocol::{FileId, MessagePosted, RoomId, limits};

use super::extract::{Path, Query};
use crate::auth::CurrentSession;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::files::{Files, serve, upload};
use crate::rate_limit::PostLimiter;
use crate::state::AppState;

/// Routes of this module (full paths: merged, not nested).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms/{id}/files", post(upload_file))
        .route("/api/files/{id}", get(download_file))
}

/// `POST /api/rooms/{id}/files?name=<file name>` with the file's bytes as the body (any
/// `Content-Type`; it is ignored): 201 with the `file` message. Members only (403
/// `not_a_member`); 413 `file_too_large` over `--max-upload-bytes`; 422 `empty_file`,
/// `invalid_file_name`; 400 `upload_aborted` when the body ends short or stalls; 429
/// `rate_limited` when the user posts faster than `--max-posts-per-sec`.
async fn upload_file(
    State(ctx): State<upload::Context>,
    State(posts): State<PostLimiter>,
    current: CurrentSession,
    Path(room): Path<i64>,
    Query(query): Query<UploadQuery>,
    body: Body,
) -> Result<(StatusCode, axum::Json<MessagePosted>), AppError> {
    let name = limits::clean_file_name(&query.name)?;
    if !posts.allow(current.user.id) {
        return Err(confab_protocol::ErrorCode::RateLimited.into());
    }
    // Exact when the request has a Content-Length (or no body at all); unknown for a
    // chunked body.
    let total = body.size_hint().exact();
    let request = upload::Request {
        room: RoomId(room),
        user: current.user.id,
        username: current.user.username,
        name,
        total,
    };
    // Its own task: if the client goes away mid-upload, this request is dropped, but the
    // upload still cleans up and tells the room it failed.
    let message = tokio::spawn(upload::receive(ctx, request, body))
        .await
        .map_err(|err| AppError::Internal(format!("upload task failed: {err}")))??;
    Ok((StatusCode::CREATED, axum::Json(message)))
}

/// `GET /api/files/{id}`: the file's bytes, to members of its room only. 404 `not_found`
/// for an unknown id and for a file in a room the user is not in, alike (so ids cannot be
/// probed).
async fn download_file(
    State(db): State<Db>,
    State(files): State<Files>,
    current: CurrentSession,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || AppError::from(confab_protocol::ErrorCode::NotFound);
    let id = FileId(id);
    if !id.is_valid() {
        return Err(not_found());
    }
    let stored = db::files::get(&db, &id).await?.ok_or_else(not_found)?;
    if !db::rooms::is_member(&db, stored.room, current.user.id).await? {
        return Err(not_found());
    }
    let bytes = match files.store().open(&id).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::warn!(file = %id, "a recorded file is missing from the store (is --files-dir shared?)");
            return Err(not_found());
        }
        Err(err) => return Err(AppError::Internal(format!("cannot read a file: {err}"))),
    };
    let mut response = Body::from_stream(bytes).into_response();
    for (name, value) in serve::headers(&stored.file) {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}
