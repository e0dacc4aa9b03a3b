//! `/api/rooms`: the user's rooms, the directory of group rooms, creating, joining and
//! leaving rooms, members, and history paged by seq.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use confab_protocol::api::{
    CreateRoom, DirectoryRoom, HistoryPage, HistoryQuery, Member, RoomKind, RoomSummary,
};
use confab_protocol::{BusTarget, ErrorCode, RoomId, ServerFrame, UserId, limits};

use super::extract::{Json, Path, Query};
use crate::auth::CurrentSession;
use crate::db::messages::Page;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::realtime::Realtime;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list_rooms).post(create_room))
        .route("/directory", get(directory))
        .route("/{id}/join", post(join_room))
        .route("/{id}/leave", post(leave_room))
        .route("/{id}/members", get(list_members))
        .route("/{id}/messages", get(list_messages))
}

/// `GET /api/rooms`: the rooms the user belongs to.
async fn list_rooms(
    State(db): State<Db>,
    current: CurrentSession,
) -> Result<axum::Json<Vec<RoomSummary>>, AppError> {
    Ok(axum::Json(
        db::rooms::list_for_user(&db, current.user.id).await?,
    ))
}

/// `GET /api/rooms/directory`: every group room, with member counts.
async fn directory(
    State(db): State<Db>,
    current: CurrentSession,
) -> Result<axum::Json<Vec<DirectoryRoom>>, AppError> {
    Ok(axum::Json(
        db::rooms::directory(&db, current.user.id).await?,
    ))
}

/// `POST /api/rooms`: creates a group room with the caller as its first member. 201;
/// 409 `room_name_taken`; 422 `invalid_room_name`.
async fn create_room(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
    current: CurrentSession,
    Json(body): Json<CreateRoom>,
) -> Result<impl IntoResponse, AppError> {
    limits::check_room_name(&body.name)?;
    let room = match db::rooms::create_group(&db, body.name.trim(), current.user.id).await {
        Ok(room) => room,
        Err(err) if db::is_unique_violation(&err) => return Err(ErrorCode::RoomNameTaken.into()),
        Err(err) => return Err(err.into()),
    };
    realtime.publish(
        BusTarget::User(current.user.id),
        ServerFrame::RoomJoined { room: room.clone() },
    );
    Ok((StatusCode::CREATED, axum::Json(room)))
}

/// Joins `user` to a group room and, when they were not a member yet, tells all their
/// connections (`room_joined`). Returns the room and whether the membership is new.
/// Shared by the HTTP route and the WebSocket `join` frame.
pub async fn join(
    db: &Db,
    realtime: &Realtime,
    user: UserId,
    room: RoomId,
) -> Result<(RoomSummary, bool), AppError> {
    let info = db::rooms::get(db, room)
        .await?
        .ok_or(AppError::from(ErrorCode::RoomNotFound))?;
    if info.kind != RoomKind::Group {
        // Direct rooms belong to their two users; say "not a member" to outsiders rather
        // than confirming the room exists.
        return match db::rooms::summary(db, user, room).await? {
            Some(summary) => Ok((summary, false)),
            None => Err(ErrorCode::NotAMember.into()),
        };
    }
    let joined_now = db::rooms::join(db, room, user).await?;
    let summary = db::rooms::summary(db, user, room)
        .await?
        .ok_or(AppError::from(ErrorCode::RoomNotFound))?;
    if joined_now {
        realtime.publish(
            BusTarget::User(user),
            ServerFrame::RoomJoined {
                room: summary.clone(),
            },
        );
    }
    Ok((summary, joined_now))
}

/// Removes `user` from a room and tells all their connections.
pub async fn leave(
    db: &Db,
    realtime: &Realtime,
    user: UserId,
    room: RoomId,
) -> Result<(), AppError> {
    if !db::rooms::leave(db, room, user).await? {
        return Err(ErrorCode::NotAMember.into());
    }
    realtime.publish(BusTarget::User(user), ServerFrame::RoomLeft { room });
    Ok(())
}

/// `POST /api/rooms/{id}/join`: 200 with the room; 404 `room_not_found`.
async fn join_room(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
    current: CurrentSession,
    Path(room): Path<i64>,
) -> Result<axum::Json<RoomSummary>, AppError> {
    let (summary, _) = join(&db, &realtime, current.user.id, RoomId(room)).await?;
    Ok(axum::Json(summary))
}

/// `POST /api/rooms/{id}/leave`: 204; 403 `not_a_member`.
async fn leave_room(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
    current: CurrentSession,
    Path(room): Path<i64>,
) -> Result<StatusCode, AppError> {
    leave(&db, &realtime, current.user.id, RoomId(room)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses a non-member with 403 `not_a_member` (also for rooms that do not exist, so
/// outsiders cannot probe which ids are taken).
async fn require_member(db: &Db, room: RoomId, user: UserId) -> Result<(), AppError> {
    if db::rooms::is_member(db, room, user).await? {
        Ok(())
    } else {
        Err(ErrorCode::NotAMember.into())
    }
}

/// `GET /api/rooms/{id}/members`: members only.
async fn list_members(
    State(db): State<Db>,
    current: CurrentSession,
    Path(room): Path<i64>,
) -> Result<axum::Json<Vec<Member>>, AppError> {
    require_member(&db, RoomId(room), current.user.id).await?;
    Ok(axum::Json(db::rooms::members(&db, RoomId(room)).await?))
}

/// Checks a page size: 1 to `MAX_PAGE`, default `DEFAULT_PAGE`.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ErrorCode> {
    match limit {
        None => Ok(limits::DEFAULT_PAGE),
        Some(n) if (1..=limits::MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ErrorCode::InvalidPage),
    }
}

/// `GET /api/rooms/{id}/messages?before=&after=&limit=`: a page of history, ascending by
/// seq; members only; 400 `invalid_page` for both cursors or a bad limit.
async fn list_messages(
    State(db): State<Db>,
    current: CurrentSession,
    Path(room): Path<i64>,
    Query(query): Query<HistoryQuery>,
) -> Result<axum::Json<HistoryPage>, AppError> {
    let room = RoomId(room);
    let limit = page_limit(query.limit)?;
    let page = match (query.before, query.after) {
        (None, None) => Page::Newest,
        (Some(before), None) => Page::Before(before),
        (None, Some(after)) => Page::After(after),
        (Some(_), Some(_)) => return Err(ErrorCode::InvalidPage.into()),
    };
    require_member(&db, room, current.user.id).await?;
    let (messages, has_more) = db::messages::page(&db, room, page, limit).await?;
    Ok(axum::Json(HistoryPage {
        room,
        messages,
        has_more,
    }))
}
