//! What each client frame does. Every refusal is an `error` frame to this connection with
//! a stable code and the frame it answers; nothing here ends the connection, and nothing a
//! refused frame carried reaches anyone else.

use confab_protocol::api::UserSummary;
use confab_protocol::{
    BusTarget, ClientFrame, ClientMsgId, ErrorCode, MessageKind, RoomId, ServerFrame, limits,
};

use std::time::Instant;

use super::connection::push_frame;
use crate::db;
use crate::db::messages::{Inserted, NewMessage, Page};
use crate::error::{AppError, database_error_code};
use crate::hub::Peer;
use crate::metrics;
use crate::routes::rooms::{join, leave, page_limit};
use crate::state::AppState;

/// What a frame handler needs: the app, this connection and its user.
pub struct Context<'a> {
    /// Shared state.
    pub state: &'a AppState,
    /// This connection.
    pub peer: &'a Peer,
    /// Its user.
    pub user: &'a UserSummary,
}

impl Context<'_> {
    /// Queues a frame for this connection only.
    pub fn reply(&self, frame: ServerFrame) {
        push_frame(self.peer, &frame);
    }
}

/// Handles one decoded frame.
pub async fn handle(ctx: &Context<'_>, frame: ClientFrame) {
    if let Err(code) = dispatch(ctx, &frame).await {
        ctx.reply(ServerFrame::error_for(code, &frame));
    }
}

/// Answers a frame sent over the connection's frame budget: best-effort frames (typing,
/// read markers, pings) are dropped without a word; anything else gets `rate_limited`
/// so the client can retry it.
pub fn refuse_over_budget(ctx: &Context<'_>, frame: &ClientFrame) {
    metrics::FRAMES_OVER_BUDGET.increment(1);
    if !matches!(
        frame,
        ClientFrame::SetTyping { .. } | ClientFrame::MarkRead { .. } | ClientFrame::Ping { .. }
    ) {
        ctx.reply(ServerFrame::error_for(ErrorCode::RateLimited, frame));
    }
}

fn code_of(err: AppError) -> ErrorCode {
    if let AppError::Database(db) = &err {
        tracing::error!(error = %db, "database error while handling a frame");
        return database_error_code(db);
    }
    err.code()
}

async fn dispatch(ctx: &Context<'_>, frame: &ClientFrame) -> Result<(), ErrorCode> {
    let state = ctx.state;
    let user = ctx.user.id;
    match frame {
        ClientFrame::JoinRoom { room } => {
            let (summary, new) = join(&state.db, &state.realtime, &state.presence, ctx.user, *room)
                .await
                .map_err(code_of)?;
            // A new membership was announced to every connection of the user, this one
            // included. Joining again announces nothing; still answer this connection.
            if !new {
                state
                    .realtime
                    .add_user_to_room(user, *room, summary.last_seq);
                ctx.reply(ServerFrame::RoomJoined { room: summary });
            }
            Ok(())
        }
        ClientFrame::LeaveRoom { room } => leave(&state.db, &state.realtime, user, *room)
            .await
            .map_err(code_of),
        ClientFrame::SendMessage {
            room,
            client_msg_id,
            body,
        } => send(ctx, *room, client_msg_id, body).await,
        ClientFrame::SetTyping { room, on } => {
            if !state.realtime.hub().is_in_room(ctx.peer.id, *room) {
                return Err(ErrorCode::NotAMember);
            }
            // Receivers hold an indicator for seconds: refreshes faster than that, and
            // an `off` with nothing on, are dropped here rather than fanned out.
            if !state.realtime.typing().should_forward(
                *room,
                user,
                &ctx.user.username,
                *on,
                Instant::now(),
            ) {
                return Ok(());
            }
            state.realtime.publish(
                BusTarget::Room(*room),
                ServerFrame::TypingChanged {
                    room: *room,
                    user,
                    username: ctx.user.username.clone(),
                    on: *on,
                },
            );
            Ok(())
        }
        ClientFrame::MarkRead { room, seq } => {
            if seq.0 < 0 {
                return Err(ErrorCode::InvalidPage);
            }
            match db::rooms::mark_read(&state.db, *room, user, *seq)
                .await
                .map_err(|e| code_of(e.into()))?
            {
                // Every tab of the user, on every instance, clears the room's count.
                Some(seq) => {
                    state.realtime.publish(
                        BusTarget::User(user),
                        ServerFrame::ReadMarker { room: *room, seq },
                    );
                    Ok(())
                }
                None => Err(ErrorCode::NotAMember),
            }
        }
        ClientFrame::Backfill {
            room,
            after_seq,
            limit,
        } => {
            crate::metrics::BACKFILL_REQUESTS.increment(1);
            let limit = page_limit(*limit)?;
            if after_seq.0 < 0 {
                return Err(ErrorCode::InvalidPage);
            }
            let member = db::rooms::is_member(&state.db, *room, user)
                .await
                .map_err(|e| code_of(e.into()))?;
            if !member {
                return Err(ErrorCode::NotAMember);
            }
            let (messages, has_more) =
                db::messages::page(&state.db, *room, Page::After(*after_seq), limit)
                    .await
                    .map_err(|e| code_of(e.into()))?;
            ctx.reply(ServerFrame::History {
                room: *room,
                messages,
                has_more,
            });
            Ok(())
        }
        ClientFrame::Ping { nonce } => {
            ctx.reply(ServerFrame::Pong { nonce: *nonce });
            Ok(())
        }
    }
}

/// Persist, then acknowledge, then publish: the ack means committed, and the event every
/// member receives carries the seq the database assigned.
async fn send(
    ctx: &Context<'_>,
    room: RoomId,
    client_msg_id: &ClientMsgId,
    body: &str,
) -> Result<(), ErrorCode> {
    if !client_msg_id.is_valid() {
        return Err(ErrorCode::InvalidClientMsgId);
    }
    limits::check_message_body(body)?;
    let state = ctx.state;
    if !state.posts.allow(ctx.user.id) {
        return Err(ErrorCode::RateLimited);
    }
    let new = NewMessage {
        room,
        sender: ctx.user.id,
        sender_name: &ctx.user.username,
        kind: MessageKind::Text,
        body,
        client_msg_id: Some(client_msg_id),
        file: None,
    };
    let inserted = db::messages::insert(&state.db, new)
        .await
        .map_err(|e| code_of(e.into()))?;
    let ack = |message: &confab_protocol::MessagePosted| ServerFrame::MessageAcked {
        room: message.room,
        client_msg_id: client_msg_id.clone(),
        id: message.id,
        seq: message.seq,
    };
    match inserted {
        Inserted::New(message) => {
            ctx.reply(ack(&message));
            state
                .realtime
                .publish(BusTarget::Room(room), ServerFrame::MessagePosted(message));
            Ok(())
        }
        // Stored before: acknowledge again, publish nothing (members have it or will
        // backfill it).
        Inserted::Duplicate(message) => {
            ctx.reply(ack(&message));
            Ok(())
        }
        Inserted::IdTakenElsewhere => Err(ErrorCode::ClientMsgIdTaken),
        Inserted::NotAMember => {
            let exists = db::rooms::get(&state.db, room)
                .await
                .map_err(|e| code_of(e.into()))?
                .is_some();
            Err(if exists {
                ErrorCode::NotAMember
            } else {
                ErrorCode::RoomNotFound
            })
        }
    }
}
