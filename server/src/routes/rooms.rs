//! `/api/rooms`: the user's rooms, the directory of group rooms, creating, joining and
//! leaving rooms, direct conversations, members with their presence, and history paged by
//! seq.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use confab_protocol::api::{
    CreateRoom, DirectoryRoom, HistoryPage, HistoryQuery, Member, RoomKind, RoomSummary,
    StartDirect, UserSummary,
};
use confab_protocol::{BusTarget, ErrorCode, RoomId, ServerFrame, UserId, limits};

use super::extract::{Json, Path, Query};
use crate::auth::CurrentSession;
use crate::db::messages::Page;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::presence::Presence;
use crate::realtime::Realtime;
use crate::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list_rooms).post(create_room))
        .route("/directory", get(directory))
        .route("/direct", post(start_direct))
        .route("/{id}/join", post(join_room))
        .route("/{id}/leave", post(leave_room))
        .route("/{id}/members", get(list_members))
        .route("/{id}/messages", get(list_messages))
}

/// `GET /api/rooms`: the rooms the user belongs to, direct ones with the other user's
/// presence.
async fn list_rooms(
    State(db): State<Db>,
    State(presence): State<Presence>,
    current: CurrentSession,
) -> Result<axum::Json<Vec<RoomSummary>>, AppError> {
    let mut rooms = db::rooms::list_for_user(&db, current.user.id).await?;
    fill_peer_presence(&presence, &mut rooms).await;
    Ok(axum::Json(rooms))
}

/// Sets whether each direct room's other user is online now.
async fn fill_peer_presence(presence: &Presence, rooms: &mut [RoomSummary]) {
    let peers: Vec<UserId> = rooms
        .iter()
        .filter_map(|r| r.peer.as_ref().map(|p| p.id))
        .collect();
    let online = presence.online(&peers).await;
    for peer in rooms.iter_mut().filter_map(|r| r.peer.as_mut()) {
        peer.online = online.contains(&peer.id);
    }
}

/// `POST /api/rooms/direct`: the direct conversation with another user, created with both
/// as members on first use (201; 200 when it exists). Both users' connections on every
/// instance receive `room_joined` when it is created. 404 `user_not_found`; 400
/// `direct_with_self`.
async fn start_direct(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
    State(presence): State<Presence>,
    current: CurrentSession,
    Json(body): Json<StartDirect>,
) -> Result<impl IntoResponse, AppError> {
    let me = current.user.id;
    if body.user == me {
        return Err(ErrorCode::DirectWithSelf.into());
    }
    let (room, created) = db::rooms::open_direct(&db, me, body.user)
        .await?
        .ok_or(AppError::from(ErrorCode::UserNotFound))?;
    let mut mine = None;
    for user in [me, body.user] {
        let Some(mut summary) = db::rooms::summary(&db, user, room).await? else {
            continue;
        };
        fill_peer_presence(&presence, std::slice::from_mut(&mut summary)).await;
        if created {
            realtime.publish(
                BusTarget::User(user),
                ServerFrame::RoomJoined {
                    room: summary.clone(),
                },
            );
        }
        if user == me {
            mine = Some(summary);
        }
    }
    let summary = mine.ok_or(AppError::from(ErrorCode::RoomNotFound))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(summary)))
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
/// connections (`room_joined`) and the room's members (`member_joined`). Returns the room
/// and whether the membership is new. Shared by the HTTP route and the WebSocket `join`
/// frame.
pub async fn join(
    db: &Db,
    realtime: &Realtime,
    presence: &Presence,
    joiner: &UserSummary,
    room: RoomId,
) -> Result<(RoomSummary, bool), AppError> {
    let user = joiner.id;
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
    let joined_at = db::rooms::join(db, room, user).await?;
    let summary = db::rooms::summary(db, user, room)
        .await?
        .ok_or(AppError::from(ErrorCode::RoomNotFound))?;
    if let Some(joined_at) = joined_at {
        realtime.publish(
            BusTarget::User(user),
            ServerFrame::RoomJoined {
                room: summary.clone(),
            },
        );
        let online = presence.online(&[user]).await.contains(&user);
        realtime.publish(
            BusTarget::Room(room),
            ServerFrame::MemberJoined {
                room,
                member: Member {
                    id: user,
                    username: joiner.username.clone(),
                    joined_at,
                    online,
                    last_seen: None,
                },
            },
        );
    }
    Ok((summary, joined_at.is_some()))
}

/// Removes `user` from a room and tells all their connections.
pub async fn leave(
    db: &Db,
    realtime: &Realtime,
    user: UserId,
    room: RoomId,
) -> Result<(), AppError> {
    // A direct conversation belongs to its two users for good.
    if let Some(info) = db::rooms::get(db, room).await?
        && info.kind == RoomKind::Direct
        && db::rooms::is_member(db, room, user).await?
    {
        return Err(ErrorCode::WrongRoomKind.into());
    }
    if !db::rooms::leave(db, room, user).await? {
        return Err(ErrorCode::NotAMember.into());
    }
    realtime.publish(BusTarget::User(user), ServerFrame::RoomLeft { room });
    realtime.publish(
        BusTarget::Room(room),
        ServerFrame::MemberLeft { room, user },
    );
    Ok(())
}

/// `POST /api/rooms/{id}/join`: 200 with the room; 404 `room_not_found`.
async fn join_room(
    State(db): State<Db>,
    State(realtime): State<Realtime>,
    State(presence): State<Presence>,
    current: CurrentSession,
    Path(room): Path<i64>,
) -> Result<axum::Json<RoomSummary>, AppError> {
    let (summary, _) = join(&db, &realtime, &presence, &current.user, RoomId(room)).await?;
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

/// `GET /api/rooms/{id}/members`: members only, each with whether they are online now.
async fn list_members(
    State(db): State<Db>,
    State(presence): State<Presence>,
    current: CurrentSession,
    Path(room): Path<i64>,
) -> Result<axum::Json<Vec<Member>>, AppError> {
    require_member(&db, RoomId(room), current.user.id).await?;
    let mut members = db::rooms::members(&db, RoomId(room)).await?;
    let ids: Vec<UserId> = members.iter().map(|m| m.id).collect();
    let online = presence.online(&ids).await;
    for member in &mut members {
        member.online = online.contains(&member.id);
    }
    Ok(axum::Json(members))
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
