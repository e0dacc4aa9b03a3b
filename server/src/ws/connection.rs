//! One WebSocket connection: registers it with the hub, then runs a writer task that
//! drains the connection's bounded queue into the socket (batching writes, one flush per
//! batch, and on a busy socket at most one write per `COALESCE` unless a batch is full)
//! and a reader loop that decodes each frame once at the edge and hands it to
//! `commands`. Whichever side ends first ends the other; the hub entry is removed last.

use std::time::Duration;

use tokio::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use confab_protocol::{ClientFrame, ErrorCode, PROTOCOL_VERSION, ServerFrame, close};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};

use super::commands::{self, Context};
use crate::auth::CurrentSession;
use crate::db;
use crate::hub::PeerEnd;
use crate::metrics;
use crate::rate_limit::FrameBudget;
use crate::realtime::encode;
use crate::state::AppState;

/// Most frames written per flush.
const WRITE_BATCH: usize = 64;

/// A socket that wrote less than this long ago holds its next frames until this long after
/// that write (unless a whole batch is waiting), like Nagle's algorithm: the first frame
/// after a quiet spell goes out at once, while a busy socket sends many frames per write —
/// one system call on each side instead of one per frame, which is most of what a
/// delivery costs on loopback (BENCHMARKS.md, fanout). Adds at most this much latency, and
/// only to a socket that is already receiving continuously.
const COALESCE: Duration = Duration::from_millis(25);

/// How long a closing connection may take to write its last frames and the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// How long a slow consumer, its backlog dropped, has to read again and get its close
/// frame before its connection is simply dropped.
const SLOW_CLOSE_GRACE: Duration = Duration::from_secs(10);
/// How long the reader waits for the writer to finish before aborting it (past either
/// grace, so this only catches the unexpected).
const WRITER_GRACE: Duration = Duration::from_secs(15);

/// Serves one upgraded socket until either side closes it.
pub async fn run(socket: WebSocket, state: AppState, session: CurrentSession) {
    let user = session.user;
    // Boxed, like every command below: a future awaited inline is part of this task's
    // state for the connection's whole life, and sqlx's futures are large. Idle sockets
    // then cost only what they hold (BENCHMARKS.md, idle).
    let rooms = match Box::pin(db::rooms::positions_for_user(&state.db, user.id)).await {
        Ok(rooms) => rooms,
        Err(err) => {
            tracing::error!(error = %err, "cannot load rooms for a new connection");
            let mut socket = socket;
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: 1011,
                    reason: "database unavailable".into(),
                })))
                .await;
            return;
        }
    };
    let welcome = ServerFrame::Welcome {
        user: user.clone(),
        instance: state.realtime.instance().clone(),
        protocol_version: PROTOCOL_VERSION,
    };
    let (peer, end, first_here) =
        state
            .realtime
            .connect(user.id, session.token_hash.into(), &rooms, &welcome);
    if first_here {
        state.presence.connected(user.id);
    }
    tracing::debug!(conn = peer.id, user = %user.id, "connection opened");
    let close = end.close.clone();
    let (sink, mut stream) = socket.split();
    let idle_timeout = state.settings.idle_timeout;
    let writer = tokio::spawn(write_loop(sink, end, idle_timeout * 2 / 5));

    let ctx = Context {
        state: &state,
        peer: &peer,
        user: &user,
    };
    let budget = FrameBudget::new(state.settings.max_frames_per_sec);
    // One subscription to the close signal for the connection's life, not one per frame.
    let closed = close.requested();
    tokio::pin!(closed);
    // Anything from the client — a frame, a pong to the writer's pings — proves it alive.
    let silence = tokio::time::sleep(idle_timeout);
    tokio::pin!(silence);
    loop {
        let message = tokio::select! {
            _ = &mut closed => break,
            () = &mut silence => {
                tracing::debug!(conn = peer.id, "nothing heard from the client: closing");
                peer.close(close::IDLE);
                break;
            }
            message = stream.next() => message,
        };
        silence.as_mut().reset(Instant::now() + idle_timeout);
        match message {
            None | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(text))) => {
                metrics::FRAMES_IN.increment(1);
                match ClientFrame::decode(text.as_str()) {
                    Ok(frame) if !budget.allow() => commands::refuse_over_budget(&ctx, &frame),
                    Ok(frame) => Box::pin(commands::handle(&ctx, frame)).await,
                    Err(err) => ctx.reply(ServerFrame::decode_error(err)),
                }
            }
            Some(Ok(Message::Binary(_))) => ctx.reply(ServerFrame::Error {
                code: ErrorCode::BinaryFrame,
                message: ErrorCode::BinaryFrame.describe().to_owned(),
                frame: None,
                room: None,
                client_msg_id: None,
            }),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Err(err)) => {
                if is_too_big(&err) {
                    peer.close(close::MESSAGE_TOO_BIG);
                }
                tracing::debug!(conn = peer.id, error = %err, "read failed");
                break;
            }
        }
    }

    if state.realtime.disconnect(&peer) {
        state.presence.disconnected(user.id);
    }
    // Dropping the last sender lets the writer drain what is queued and finish. One that
    // cannot (a peer that stopped reading) is aborted: dropping its half of the socket
    // closes the TCP connection, so no ghost socket outlives its hub entry.
    drop(peer);
    let mut writer = writer;
    if tokio::time::timeout(WRITER_GRACE, &mut writer)
        .await
        .is_err()
    {
        tracing::debug!("writer did not finish in time; aborting it");
        writer.abort();
    }
}

/// Whether a read failed because a message exceeded the size cap.
fn is_too_big(err: &axum::Error) -> bool {
    use std::error::Error as _;
    let mut source: Option<&(dyn std::error::Error + 'static)> = err.source();
    while let Some(e) = source {
        if let Some(tungstenite::Error::Capacity(_)) = e.downcast_ref::<tungstenite::Error>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Writes queued frames in batches until the queue closes or a close is requested.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut end: PeerEnd,
    ping_every: Duration,
) {
    // Allocated when frames arrive and released when the queue runs dry, so an idle
    // socket holds no batch buffer. `written` is how much of it has gone to the socket,
    // so a write interrupted by a close can be resumed (or dropped) without loss.
    let mut batch = Vec::new();
    let mut written = 0;
    let mut last_write: Option<Instant> = None;
    let closed = end.close.requested();
    tokio::pin!(closed);
    // Pings keep NATs and proxies from dropping a quiet connection and draw the pongs the
    // reader counts as signs of life; browsers answer them by themselves.
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let code = loop {
        tokio::select! {
            biased;
            code = &mut closed => break Some(code),
            _ = ping.tick() => {
                let sent = tokio::select! {
                    biased;
                    code = &mut closed => break Some(code),
                    sent = sink.send(Message::Ping(Bytes::new())) => sent,
                };
                if sent.is_err() {
                    return;
                }
            }
            received = end.queue.recv_many(&mut batch, WRITE_BATCH) => {
                if received == 0 {
                    break end.close.code();
                }
                let hold_until = last_write.map(|at| at + COALESCE);
                if let Some(until) = hold_until.filter(|until| *until > Instant::now())
                    && batch.len() < WRITE_BATCH
                {
                    tokio::select! {
                        biased;
                        code = &mut closed => break Some(code),
                        () = tokio::time::sleep_until(until) => {}
                    }
                    while batch.len() < WRITE_BATCH {
                        match end.queue.try_recv() {
                            Ok(frame) => batch.push(frame),
                            Err(_) => break,
                        }
                    }
                }
                metrics::FRAMES_OUT.increment(batch.len() as u64);
                // A peer that stops reading blocks this write once its TCP window is
                // full: a close request (a slow consumer's, say) must still get through.
                let ok = tokio::select! {
                    biased;
                    code = &mut closed => break Some(code),
                    ok = write_from(&mut sink, &batch, &mut written) => ok,
                };
                if !ok {
                    return;
                }
                end.written(batch.iter().map(|frame| frame.len()).sum());
                batch.clear();
                written = 0;
                last_write = Some(Instant::now());
                if end.queue.is_empty() {
                    batch = Vec::new();
                }
            }
        }
    };
    // A polite close (signed out, shutting down) first delivers what is already queued —
    // `session_ended`, say. A slow consumer's backlog is dropped at once (its memory with
    // it); it only gets the close frame, if it starts reading again soon enough.
    let slow = code == Some(close::SLOW_CONSUMER);
    if slow {
        batch = Vec::new();
        written = 0;
        end.queue.close();
        while end.queue.try_recv().is_ok() {}
    }
    let finish = async {
        if !slow {
            while let Ok(frame) = end.queue.try_recv() {
                batch.push(frame);
            }
            if !write_from(&mut sink, &batch, &mut written).await {
                return;
            }
        }
        let frame = code.map(|code| CloseFrame {
            code,
            reason: close_reason(code).into(),
        });
        let _ = sink.send(Message::Close(frame)).await;
        let _ = sink.close().await;
    };
    let grace = if slow { SLOW_CLOSE_GRACE } else { CLOSE_GRACE };
    let _ = tokio::time::timeout(grace, finish).await;
}

/// Writes `batch[*written..]` and flushes once; `false` when the socket failed. `written`
/// counts the frames handed to the socket, so a caller that drops this future midway
/// knows where to resume: a frame is either handed over whole or not at all.
async fn write_from(
    sink: &mut SplitSink<WebSocket, Message>,
    batch: &[Utf8Bytes],
    written: &mut usize,
) -> bool {
    while let Some(frame) = batch.get(*written) {
        if sink.feed(Message::Text(frame.clone())).await.is_err() {
            return false;
        }
        *written += 1;
    }
    sink.flush().await.is_ok()
}

fn close_reason(code: u16) -> &'static str {
    match code {
        close::GOING_AWAY => "server shutting down",
        close::MESSAGE_TOO_BIG => "frame too big",
        close::SLOW_CONSUMER => "slow consumer: reconnect and backfill",
        close::SESSION_ENDED => "signed out",
        close::IDLE => "idle: nothing heard from the client",
        _ => "",
    }
}

/// Encodes and queues a frame for this connection only.
pub fn push_frame(peer: &crate::hub::Peer, frame: &ServerFrame) {
    if let Some(bytes) = encode(frame) {
        peer.push(bytes);
    }
}
