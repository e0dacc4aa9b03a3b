//! The client's behaviour: it applies what the socket (`ws.rs`) and the HTTP API
//! (`api.rs`) bring to the state (`state.rs`), and turns what the user does into frames and
//! requests.
//!
//! This is where the delivery rules live on the client side: messages are ordered by seq and
//! deduplicated, a `message` past a gap triggers a `backfill` from the last seq seen, every
//! reconnect resumes each loaded room from its last seq and resends the sends still waiting
//! for an `ack` with their original `client_msg_id`. Components call [`Chat`]'s methods and
//! read [`Store`]; they never build frames or requests themselves.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use confab_protocol::api::{
    Credentials, DirectoryRoom, HistoryQuery, Member, RoomSummary, UserSummary,
};
use confab_protocol::limits::{check_message_body, check_room_name};
use confab_protocol::{
    ApiError, ClientFrame, ClientMsgId, ErrorCode, FileStage, MessagePosted, PROTOCOL_VERSION,
    RoomId, Seq, ServerFrame, UnixMillis, UploadId, UserId,
};
use gloo_timers::callback::Interval;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::browser::{self, now_millis};
use crate::state::{
    Ack, Connection, RemoteProgress, Session, Store, Timeline, Typist, UploadBar, UploadKey,
    apply_file_progress, drop_stale_uploads,
};
use crate::upload::Upload;
use crate::ws::{Socket, SocketEvent};

/// Messages per history page fetched over HTTP.
const PAGE: u32 = 50;
/// Messages per `backfill` frame.
const BACKFILL_PAGE: u32 = 100;
/// A `typing {on: true}` is repeated at most this often while the user keeps typing.
const TYPING_REFRESH_MILLIS: i64 = 3_000;
/// Someone else's typing indicator lapses this long after its last refresh.
const TYPING_TTL_MILLIS: i64 = 6_000;
/// Someone else's upload bar with no news for this long is dropped: the server aborts an
/// upload stalled for 30 s, so its `failed` (or its instance) was lost.
const STALE_UPLOAD_MILLIS: i64 = 45_000;
/// How long someone else's failed upload stays on screen.
const FAILED_UPLOAD_SHOWN_MILLIS: u64 = 8_000;
/// How long after one of this tab's uploads ended the server's frames about it are ignored.
const ENDED_UPLOAD_MILLIS: i64 = 30_000;
/// How often the open room is marked read (the throttle for `read` frames).
const READ_EVERY: Duration = Duration::from_secs(1);

const SESSION_ENDED: &str = "Your session ended. Sign in again to continue.";

/// The client controller, shared through context. Cheap to copy.
#[derive(Clone, Copy)]
pub struct Chat {
    /// The state components read.
    pub store: Store,
    socket: StoredValue<Option<Socket>, LocalStorage>,
    book: StoredValue<Bookkeeping, LocalStorage>,
}

/// What the controller remembers that no component shows.
#[derive(Default)]
struct Bookkeeping {
    /// Rooms with a `backfill` waiting for its `history`.
    backfilling: HashSet<RoomId>,
    /// Rooms whose newest page is being fetched.
    loading: HashSet<RoomId>,
    /// The last `read` seq sent per room.
    read_sent: HashMap<RoomId, Seq>,
    /// The room and time of the last `typing {on: true}` sent.
    typing_sent: Option<(RoomId, i64)>,
    /// Connections welcomed since signing in: every one after the first is a resume.
    welcomes: u32,
    /// Marks the open room read while it is visible.
    ticker: Option<Interval>,
    /// This tab's uploads in flight, by local id, with their room.
    uploads: HashMap<u32, (RoomId, Upload)>,
    /// The next local upload id.
    next_upload: u32,
    /// This tab's uploads that ended lately (room, file name, when): the server's own
    /// `file_progress` about them comes after and is not someone else's news.
    ended_uploads: Vec<(RoomId, String, i64)>,
}

/// The [`Chat`] provided by the root component.
pub fn use_chat() -> Chat {
    expect_context::<Chat>()
}

impl Chat {
    /// A controller with fresh state, before anyone is signed in.
    pub fn new() -> Self {
        let chat = Self {
            store: Store::new(),
            socket: StoredValue::new_local(None),
            book: StoredValue::new_local(Bookkeeping::default()),
        };
        // Coming back online: do not wait out the backoff. Going offline: say so now.
        let _ = window_event_listener_untyped("online", move |_| chat.reconnect_now());
        let _ = window_event_listener_untyped("offline", move |_| chat.network_lost());
        // An address edited by hand (or a link to `#room/N`) opens that room.
        let _ = window_event_listener_untyped("hashchange", move |_| {
            if let Some(room) = browser::room_in_address()
                && chat.store.rooms.with_untracked(|r| r.contains_key(&room))
            {
                chat.open_room(room);
            }
        });
        chat
    }

    // ---- session -------------------------------------------------------------------

    /// Asks the server whether the session cookie still holds a session (on page load).
    pub fn restore_session(self) {
        spawn_local(async move {
            match api::me().await {
                Ok(user) => self.signed_in(user),
                Err(err) if err.code == ErrorCode::Unauthorized => {
                    self.store.session.set(Session::SignedOut { notice: None });
                }
                Err(err) => self.store.session.set(Session::SignedOut {
                    notice: Some(err.message),
                }),
            }
        });
    }

    /// Signs in, or registers and signs in.
    pub async fn authenticate(
        self,
        credentials: Credentials,
        register: bool,
    ) -> Result<(), ApiError> {
        let user = if register {
            api::register(&credentials).await?
        } else {
            api::sign_in(&credentials).await?
        };
        self.signed_in(user);
        Ok(())
    }

    /// Ends the session on the server, then here.
    pub fn sign_out(self) {
        spawn_local(async move {
            match api::sign_out().await {
                Ok(()) => self.end_session(None),
                Err(err) if err.code == ErrorCode::Unauthorized => self.end_session(None),
                Err(err) => self.store.notice.set(Some(err.message)),
            }
        });
    }

    fn signed_in(self, user: UserSummary) {
        self.stop_socket();
        self.book.set_value(Bookkeeping::default());
        self.store.clear();
        self.store.session.set(Session::SignedIn(user));
        self.refresh_rooms(true);
        self.connect();
        let ticker = Interval::new(READ_EVERY.as_millis() as u32, move || {
            self.mark_read();
            self.drop_stale_uploads();
        });
        self.book.update_value(|b| b.ticker = Some(ticker));
    }

    fn end_session(self, notice: Option<String>) {
        self.stop_socket();
        self.book.set_value(Bookkeeping::default());
        self.store.clear();
        browser::show_room_in_address(None);
        self.store.session.set(Session::SignedOut { notice });
    }

    /// After a connection failed before `welcome`: was it because the session is gone
    /// (the upgrade answers 401, which a browser only reports as a failed connection)?
    fn check_session(self) {
        spawn_local(async move {
            if let Err(err) = api::me().await
                && err.code == ErrorCode::Unauthorized
                && self.store.me_untracked().is_some()
            {
                self.end_session(Some(SESSION_ENDED.to_owned()));
            }
        });
    }

    // ---- socket --------------------------------------------------------------------

    fn connect(self) {
        let Some(url) = browser::socket_url() else {
            self.store
                .notice
                .set(Some("This page has no address to connect to.".to_owned()));
            return;
        };
        let socket = Socket::connect(url, move |event| self.on_socket_event(event));
        if let Some(old) = self
            .socket
            .try_update_value(|s| s.replace(socket))
            .flatten()
        {
            old.stop();
        }
    }

    fn stop_socket(self) {
        if let Some(socket) = self.socket.try_update_value(Option::take).flatten() {
            socket.stop();
        }
    }

    /// Reconnects at once if the socket is waiting to retry.
    pub fn reconnect_now(self) {
        self.with_socket(Socket::reconnect_now);
    }

    /// The browser lost the network: the socket is dropped and retried.
    fn network_lost(self) {
        self.with_socket(Socket::network_lost);
    }

    fn with_socket(self, f: impl FnOnce(&Socket)) {
        self.socket.with_value(|s| s.as_ref().map(f));
    }

    fn send(self, frame: &ClientFrame) -> bool {
        self.socket
            .with_value(|s| s.as_ref().is_some_and(|socket| socket.send(frame)))
    }

    fn is_online(self) -> bool {
        self.socket
            .with_value(|s| s.as_ref().is_some_and(Socket::is_online))
    }

    fn on_socket_event(self, event: SocketEvent) {
        match event {
            SocketEvent::Connecting { retry } => self.store.connection.set(if retry {
                Connection::Reconnecting
            } else {
                Connection::Connecting
            }),
            SocketEvent::Frame(frame) => self.on_frame(frame),
            SocketEvent::Lost { welcomed, .. } => {
                self.store.connection.set(Connection::Reconnecting);
                self.book.update_value(|b| b.backfilling.clear());
                if !welcomed {
                    self.check_session();
                }
            }
            SocketEvent::SessionEnded => self.end_session(Some(SESSION_ENDED.to_owned())),
        }
    }

    fn on_frame(self, frame: ServerFrame) {
        match frame {
            ServerFrame::Welcome {
                protocol_version, ..
            } => self.on_welcome(protocol_version),
            ServerFrame::MessagePosted(message) => self.on_message(message),
            ServerFrame::MessageAcked {
                room,
                client_msg_id,
                id,
                seq,
            } => self.on_ack(Ack {
                room,
                client_msg_id,
                id,
                seq,
            }),
            ServerFrame::PresenceChanged { user, online, .. } => self.set_online(user, online),
            ServerFrame::ReadMarker { room, seq } => self.on_read_marker(room, seq),
            ServerFrame::TypingChanged {
                room,
                user,
                username,
                on,
            } => self.on_typing(room, user, username, on),
            ServerFrame::FileProgress {
                room,
                upload,
                user,
                file_name,
                stage,
                bytes,
                total,
                reason,
            } => self.on_file_progress(
                room,
                user,
                RemoteProgress {
                    upload,
                    uploader: String::new(),
                    file_name,
                    stage,
                    bytes,
                    total,
                    // Said to the other members: the uploader is the one not in the room.
                    reason: reason.map(|code| match code {
                        ErrorCode::NotAMember => "the uploader left the room".to_owned(),
                        code => code.describe().to_owned(),
                    }),
                },
            ),
            ServerFrame::History {
                room,
                messages,
                has_more,
            } => self.on_history(room, messages, has_more),
            ServerFrame::RoomJoined { room } => {
                if let Some(peer) = &room.peer {
                    self.set_online(peer.id, peer.online);
                }
                self.store.rooms.update(|rooms| {
                    rooms.insert(room.id, room);
                });
            }
            ServerFrame::RoomLeft { room } => self.forget_room(room),
            ServerFrame::MemberJoined { room, member } => self.on_member_joined(room, member),
            ServerFrame::MemberLeft { room, user } => self.on_member_left(room, user),
            ServerFrame::Error {
                code,
                message,
                frame,
                room,
                client_msg_id,
            } => self.on_error(code, message, frame, room, client_msg_id),
            ServerFrame::Pong { .. } => {}
            // The close with 4001 that follows ends the session here (`SocketEvent::SessionEnded`).
            ServerFrame::SessionEnded => {}
        }
    }

    /// A connection is ready: resume every loaded room and resend what was not acked.
    fn on_welcome(self, protocol_version: u32) {
        self.store.connection.set(Connection::Online);
        let resumed = self.book.with_value(|b| b.welcomes > 0);
        self.book.update_value(|b| {
            b.welcomes += 1;
            b.backfilling.clear();
        });
        if protocol_version != PROTOCOL_VERSION {
            self.store.notice.set(Some(
                "The server runs another version of Confab: reload the page.".to_owned(),
            ));
        }
        if resumed {
            // Unread counts of rooms not loaded here moved while we were away.
            self.refresh_rooms(false);
        }
        let held = self.store.timelines.with_untracked(|timelines| {
            timelines
                .iter()
                .map(|(room, t)| (*room, t.is_loaded(), t.last_seen(), t.unsent()))
                .collect::<Vec<_>>()
        });
        for (room, loaded, last_seen, unsent) in held {
            // A room still loading resumes when its first page arrives.
            if loaded {
                self.backfill(room, last_seen);
            }
            for (client_msg_id, body) in unsent {
                self.send(&ClientFrame::SendMessage {
                    room,
                    client_msg_id,
                    body,
                });
            }
        }
    }

    /// Asks for the messages after `after`, unless a backfill for the room is in flight.
    fn backfill(self, room: RoomId, after: Seq) {
        if self.book.with_value(|b| b.backfilling.contains(&room)) {
            return;
        }
        let frame = ClientFrame::Backfill {
            room,
            after_seq: after,
            limit: Some(BACKFILL_PAGE),
        };
        if self.send(&frame) {
            self.book.update_value(|b| {
                b.backfilling.insert(room);
            });
        }
    }

    /// Runs `f` on a loaded room's timeline; `None` (and no change notification) when the
    /// room is not loaded.
    fn update_timeline<R>(self, room: RoomId, f: impl FnOnce(&mut Timeline) -> R) -> Option<R> {
        if !self
            .store
            .timelines
            .with_untracked(|t| t.contains_key(&room))
        {
            return None;
        }
        self.store
            .timelines
            .try_update(|t| t.get_mut(&room).map(f))
            .flatten()
    }

    /// The newest seq the room list knows for a room.
    fn known_last_seq(self, room: RoomId) -> Seq {
        self.store
            .rooms
            .with_untracked(|r| r.get(&room).map_or(Seq(0), |s| s.last_seq))
    }

    /// Raises a room's `last_seq` (and `last_read_seq` for the user's own messages).
    fn bump_room(self, room: RoomId, seq: Seq, read: bool) {
        let known = self.store.rooms.with_untracked(|r| {
            r.get(&room)
                .map(|s| s.last_seq >= seq && (!read || s.last_read_seq >= seq))
        });
        match known {
            None => self.refresh_rooms(false),
            Some(true) => {}
            Some(false) => self.store.rooms.update(|rooms| {
                if let Some(summary) = rooms.get_mut(&room) {
                    summary.last_seq = summary.last_seq.max(seq);
                    if read {
                        summary.last_read_seq = summary.last_read_seq.max(seq);
                    }
                }
            }),
        }
    }

    fn on_message(self, message: MessagePosted) {
        let room = message.room;
        let seq = message.seq;
        let sender = message.sender;
        let mine = self.store.me_untracked().is_some_and(|me| me.id == sender);
        self.bump_room(room, seq, mine);
        self.clear_typist(room, sender);
        if let Some(file) = &message.file {
            // The upload's id is the stored file's: its bar gives way to the file.
            self.forget_upload(room, &UploadKey::Remote(UploadId(file.id.0.clone())));
        }
        let members_stale = self.store.members.with_untracked(|m| {
            m.get(&room)
                .is_some_and(|list| !list.iter().any(|member| member.id == sender))
        });
        if members_stale {
            self.load_members(room);
        }
        let gap = self.update_timeline(room, |t| {
            let gap = t.is_gap(seq).then(|| t.last_seen());
            t.insert(message);
            gap
        });
        if let Some(Some(last_seen)) = gap {
            self.backfill(room, last_seen);
        }
    }

    fn on_ack(self, ack: Ack) {
        let Some(me) = self.store.me_untracked() else {
            return;
        };
        let (room, seq) = (ack.room, ack.seq);
        self.bump_room(room, seq, true);
        let now = UnixMillis(now_millis());
        self.update_timeline(room, |t| t.acknowledge(ack, &me, now));
    }

    fn on_history(self, room: RoomId, messages: Vec<MessagePosted>, has_more: bool) {
        self.book.update_value(|b| {
            b.backfilling.remove(&room);
        });
        if let Some(newest) = messages.last().map(|m| m.seq) {
            self.bump_room(room, newest, false);
        }
        let progress = self.update_timeline(room, |t| {
            let before = t.last_seen();
            t.insert_all(messages);
            (before, t.last_seen())
        });
        if let Some((before, after)) = progress
            && after > before
            && (has_more || self.known_last_seq(room) > after)
        {
            self.backfill(room, after);
        }
    }

    fn on_error(
        self,
        code: ErrorCode,
        message: String,
        frame: Option<String>,
        room: Option<RoomId>,
        client_msg_id: Option<ClientMsgId>,
    ) {
        if let Some(id) = client_msg_id {
            let rooms: Vec<RoomId> = match room {
                Some(room) => vec![room],
                None => self
                    .store
                    .timelines
                    .with_untracked(|t| t.keys().copied().collect()),
            };
            for room in rooms {
                let failed = self.update_timeline(room, |t| t.fail(&id, message.clone()));
                if failed == Some(true) {
                    return;
                }
            }
        }
        let frame = frame.unwrap_or_default();
        if frame == "backfill"
            && let Some(room) = room
        {
            self.book.update_value(|b| {
                b.backfilling.remove(&room);
            });
        }
        if matches!(code, ErrorCode::NotAMember | ErrorCode::RoomNotFound)
            && let Some(room) = room
        {
            self.forget_room(room);
        }
        // Typing, read receipts and pings are best effort: a refusal is not news.
        if !matches!(frame.as_str(), "typing" | "read" | "ping") {
            self.store.notice.set(Some(message));
        }
    }

    /// Someone joined a room of ours: its member list (when loaded) gains them.
    fn on_member_joined(self, room: RoomId, member: Member) {
        self.set_online(member.id, member.online);
        let missing = self.store.members.with_untracked(|m| {
            m.get(&room)
                .is_some_and(|list| !list.iter().any(|known| known.id == member.id))
        });
        if missing {
            self.store.members.update(|m| {
                if let Some(list) = m.get_mut(&room) {
                    list.push(member);
                }
            });
        }
    }

    /// Someone left a room of ours.
    fn on_member_left(self, room: RoomId, user: UserId) {
        let listed = self.store.members.with_untracked(|m| {
            m.get(&room)
                .is_some_and(|list| list.iter().any(|known| known.id == user))
        });
        if listed {
            self.store.members.update(|m| {
                if let Some(list) = m.get_mut(&room) {
                    list.retain(|known| known.id != user);
                }
            });
        }
        self.clear_typist(room, user);
    }

    /// Records whether `user` is online, notifying readers only on a change.
    fn set_online(self, user: UserId, online: bool) {
        let known = self.store.online.with_untracked(|o| o.contains(&user));
        if known != online {
            self.store.online.update(|o| {
                if online {
                    o.insert(user);
                } else {
                    o.remove(&user);
                }
            });
        }
    }

    /// Another tab (or this one) read the room up to `seq`: its unread count follows.
    fn on_read_marker(self, room: RoomId, seq: Seq) {
        let behind = self
            .store
            .rooms
            .with_untracked(|r| r.get(&room).is_some_and(|s| s.last_read_seq < seq));
        if behind {
            self.store.rooms.update(|rooms| {
                if let Some(summary) = rooms.get_mut(&room) {
                    summary.last_read_seq = seq;
                    summary.last_seq = summary.last_seq.max(seq);
                }
            });
        }
        // Keeps this tab from telling the server what it already knows.
        self.book.update_value(|b| {
            let sent = b.read_sent.entry(room).or_insert(seq);
            *sent = (*sent).max(seq);
        });
    }

    fn on_typing(self, room: RoomId, user: UserId, username: String, on: bool) {
        if self.store.me_untracked().is_some_and(|me| me.id == user) {
            return;
        }
        if !on {
            self.clear_typist(room, user);
            return;
        }
        let expires_at = now_millis() + TYPING_TTL_MILLIS;
        self.store.typing.update(|typing| {
            typing.entry(room).or_default().insert(
                user,
                Typist {
                    username,
                    expires_at,
                },
            );
        });
        set_timeout(
            move || self.expire_typists(),
            Duration::from_millis(TYPING_TTL_MILLIS as u64 + 50),
        );
    }

    fn clear_typist(self, room: RoomId, user: UserId) {
        let present = self
            .store
            .typing
            .with_untracked(|t| t.get(&room).is_some_and(|m| m.contains_key(&user)));
        if present {
            self.store.typing.update(|t| {
                if let Some(m) = t.get_mut(&room) {
                    m.remove(&user);
                }
            });
        }
    }

    fn expire_typists(self) {
        let now = now_millis();
        let stale = self.store.typing.with_untracked(|t| {
            t.values()
                .flat_map(|m| m.values())
                .any(|typist| typist.expires_at <= now)
        });
        if stale {
            self.store.typing.update(|t| {
                for m in t.values_mut() {
                    m.retain(|_, typist| typist.expires_at > now);
                }
                t.retain(|_, m| !m.is_empty());
            });
        }
    }

    /// Sends `read` for the newest message of the open room while the page is visible; at
    /// most once per tick, so it is throttled by [`READ_EVERY`].
    fn mark_read(self) {
        let Some(room) = self.store.current.get_untracked() else {
            return;
        };
        // Scrolled up into the history, the user has not seen what arrived below.
        if browser::page_hidden() || !self.is_online() || !self.store.reading_newest.get_untracked()
        {
            return;
        }
        let Some(newest) = self
            .store
            .timelines
            .with_untracked(|t| t.get(&room).and_then(Timeline::newest))
        else {
            return;
        };
        // Compared with what this tab told the server, not with the local `last_read_seq`
        // (raised at once for the user's own messages), so the server hears of those too.
        let sent = self.book.with_value(|b| b.read_sent.get(&room).copied());
        if newest <= sent.unwrap_or(Seq(0)) {
            return;
        }
        if self.send(&ClientFrame::MarkRead { room, seq: newest }) {
            self.book.update_value(|b| {
                b.read_sent.insert(room, newest);
            });
            self.bump_room(room, newest, true);
        }
    }

    // ---- rooms ---------------------------------------------------------------------

    /// Reloads the room list; with `restore`, reopens the room named in the address.
    fn refresh_rooms(self, restore: bool) {
        spawn_local(async move {
            match api::rooms().await {
                Ok(list) => {
                    for peer in list.iter().filter_map(|r| r.peer.as_ref()) {
                        self.set_online(peer.id, peer.online);
                    }
                    self.store.rooms.update(|rooms| {
                        let old = std::mem::take(rooms);
                        for mut summary in list {
                            if let Some(known) = old.get(&summary.id) {
                                // A `read` this tab sent may not be reflected yet.
                                summary.last_read_seq =
                                    summary.last_read_seq.max(known.last_read_seq);
                                summary.last_seq = summary.last_seq.max(known.last_seq);
                            }
                            rooms.insert(summary.id, summary);
                        }
                    });
                    let gone: Vec<RoomId> = self.store.timelines.with_untracked(|t| {
                        t.keys()
                            .copied()
                            .filter(|id| self.store.rooms.with_untracked(|r| !r.contains_key(id)))
                            .collect()
                    });
                    for room in gone {
                        self.forget_room(room);
                    }
                    if restore
                        && let Some(room) = browser::room_in_address()
                        && self.store.rooms.with_untracked(|r| r.contains_key(&room))
                    {
                        self.open_room(room);
                    }
                }
                Err(err) if err.code == ErrorCode::Unauthorized => {
                    self.end_session(Some(SESSION_ENDED.to_owned()));
                }
                Err(err) => self
                    .store
                    .notice
                    .set(Some(format!("Could not load your rooms: {}", err.message))),
            }
        });
    }

    fn forget_room(self, room: RoomId) {
        if self.store.rooms.with_untracked(|r| r.contains_key(&room)) {
            self.store.rooms.update(|r| {
                r.remove(&room);
            });
        }
        if self
            .store
            .timelines
            .with_untracked(|t| t.contains_key(&room))
        {
            self.store.timelines.update(|t| {
                t.remove(&room);
            });
        }
        self.store.members.update(|m| {
            m.remove(&room);
        });
        self.clear_typists(room);
        // This tab's uploads there would be refused at their end: stop sending now.
        self.book.with_value(|b| {
            b.uploads
                .values()
                .filter(|(r, _)| *r == room)
                .for_each(|(_, upload)| upload.abort());
        });
        if self.store.uploads.with_untracked(|u| u.contains_key(&room)) {
            self.store.uploads.update(|u| {
                u.remove(&room);
            });
        }
        self.book.update_value(|b| {
            b.backfilling.remove(&room);
            b.read_sent.remove(&room);
        });
        if self.store.current.get_untracked() == Some(room) {
            self.store.current.set(None);
            browser::show_room_in_address(None);
        }
    }

    fn clear_typists(self, room: RoomId) {
        if self.store.typing.with_untracked(|t| t.contains_key(&room)) {
            self.store.typing.update(|t| {
                t.remove(&room);
            });
        }
    }

    /// Shows a room: loads its newest messages the first time, its members every time.
    pub fn open_room(self, room: RoomId) {
        if self.store.current.get_untracked() != Some(room) {
            // What was on screen in the room being left counts as read.
            self.mark_read();
            self.typing_stopped();
            self.store.current.set(Some(room));
            browser::show_room_in_address(Some(room));
        }
        self.store.sidebar_open.set(false);
        if !self.is_loaded(room) {
            self.load_room(room);
        }
        self.load_members(room);
    }

    /// Whether a room's newest page has arrived.
    pub fn is_loaded(self, room: RoomId) -> bool {
        self.store
            .timelines
            .with_untracked(|t| t.get(&room).is_some_and(Timeline::is_loaded))
    }

    fn load_room(self, room: RoomId) {
        let started = self.book.try_update_value(|b| b.loading.insert(room));
        if started != Some(true) {
            return;
        }
        spawn_local(async move {
            let query = HistoryQuery {
                limit: Some(PAGE),
                ..HistoryQuery::default()
            };
            let result = api::messages(room, &query).await;
            self.book.update_value(|b| {
                b.loading.remove(&room);
            });
            match result {
                Ok(page) => {
                    if !self.store.rooms.with_untracked(|r| r.contains_key(&room)) {
                        return;
                    }
                    let newest = page.messages.last().map(|m| m.seq);
                    self.store.timelines.update(|t| {
                        t.entry(room)
                            .or_default()
                            .adopt_newest_page(page.messages, page.has_more);
                    });
                    if let Some(newest) = newest {
                        self.bump_room(room, newest, false);
                    }
                    // Messages posted while the page was on its way.
                    let last_seen = self
                        .store
                        .timelines
                        .with_untracked(|t| t.get(&room).map(Timeline::last_seen));
                    if let Some(last_seen) = last_seen
                        && self.known_last_seq(room) > last_seen
                    {
                        self.backfill(room, last_seen);
                    }
                }
                Err(err) if err.code == ErrorCode::NotAMember => self.forget_room(room),
                Err(err) => self
                    .store
                    .notice
                    .set(Some(format!("Could not load messages: {}", err.message))),
            }
        });
    }

    /// Fetches the page before the oldest loaded message (the user scrolled to the top).
    /// Does nothing when everything is loaded or a page is already on its way.
    pub async fn load_older(self, room: RoomId) {
        let before = self.store.timelines.with_untracked(|t| {
            t.get(&room)
                .filter(|t| t.has_older() && !t.loading_older())
                .and_then(Timeline::oldest)
        });
        let Some(before) = before else {
            return;
        };
        self.update_timeline(room, |t| t.set_loading_older(true));
        let query = HistoryQuery {
            before: Some(before),
            after: None,
            limit: Some(PAGE),
        };
        match api::messages(room, &query).await {
            Ok(page) => {
                self.update_timeline(room, |t| t.insert_older(page.messages, page.has_more));
            }
            Err(err) => {
                self.update_timeline(room, |t| t.set_loading_older(false));
                self.store.notice.set(Some(format!(
                    "Could not load older messages: {}",
                    err.message
                )));
            }
        }
    }

    fn load_members(self, room: RoomId) {
        spawn_local(async move {
            match api::members(room).await {
                Ok(members) => {
                    for member in &members {
                        self.set_online(member.id, member.online);
                    }
                    self.store.members.update(|m| {
                        m.insert(room, members);
                    });
                }
                Err(err) if err.code == ErrorCode::NotAMember => self.forget_room(room),
                Err(_) => {}
            }
        });
    }

    /// Creates a group room and opens it. The error is for the form.
    pub async fn create_room(self, name: String) -> Result<(), String> {
        check_room_name(&name).map_err(|code| code.describe().to_owned())?;
        let summary = api::create_room(name.trim()).await.map_err(|e| e.message)?;
        self.add_room(summary);
        Ok(())
    }

    /// Joins a group room from the directory and opens it.
    pub async fn join_room(self, room: RoomId) -> Result<(), String> {
        let summary = api::join_room(room).await.map_err(|e| e.message)?;
        self.add_room(summary);
        Ok(())
    }

    fn add_room(self, summary: RoomSummary) {
        let id = summary.id;
        self.store.rooms.update(|rooms| {
            rooms.insert(id, summary);
        });
        self.open_room(id);
    }

    /// Opens the direct conversation with `user` (created on first use; it appears in the
    /// other user's room list by itself). The error is for the form.
    pub async fn start_direct(self, user: UserId) -> Result<(), String> {
        let summary = api::start_direct(user).await.map_err(|e| e.message)?;
        if let Some(peer) = &summary.peer {
            self.set_online(peer.id, peer.online);
        }
        self.add_room(summary);
        Ok(())
    }

    /// Other users whose name starts with `prefix`, to start a conversation with.
    pub async fn search_users(self, prefix: String) -> Result<Vec<UserSummary>, String> {
        api::search_users(prefix.trim())
            .await
            .map_err(|e| e.message)
    }

    // ---- files ---------------------------------------------------------------------

    /// Uploads files into a room, each with a progress bar until its message arrives.
    pub fn upload_files(self, room: RoomId, files: Vec<web_sys::File>) {
        for file in files {
            self.upload_file(room, &file);
        }
    }

    fn upload_file(self, room: RoomId, file: &web_sys::File) {
        let Some(id) = self.book.try_update_value(|b| {
            b.next_upload += 1;
            b.next_upload
        }) else {
            return;
        };
        let key = UploadKey::Local(id);
        let file_name = file.name();
        self.store.uploads.update(|u| {
            u.entry(room).or_default().push(UploadBar {
                key: key.clone(),
                file_name: file_name.clone(),
                uploader: None,
                bytes: 0,
                total: Some(file.size() as u64),
                failed: None,
                updated_at: now_millis(),
            });
        });
        let progress_key = key.clone();
        let started = Upload::start(
            room,
            file,
            move |sent, total| {
                self.update_upload(room, &progress_key, |bar| {
                    bar.bytes = sent;
                    bar.total = Some(total);
                });
            },
            move |outcome| {
                // Dropping the handle here would free the handler that is running: later.
                set_timeout(
                    move || {
                        self.book.update_value(|b| {
                            b.uploads.remove(&id);
                            let now = now_millis();
                            b.ended_uploads
                                .retain(|(_, _, at)| now - at < ENDED_UPLOAD_MILLIS);
                            b.ended_uploads.push((room, file_name, now));
                        });
                    },
                    Duration::ZERO,
                );
                match outcome {
                    Ok(message) => {
                        self.forget_upload(room, &UploadKey::Local(id));
                        self.on_message(message);
                    }
                    Err(err) => self.update_upload(room, &UploadKey::Local(id), |bar| {
                        bar.failed = Some(err.message);
                    }),
                }
            },
        );
        match started {
            Ok(upload) => self.book.update_value(|b| {
                b.uploads.insert(id, (room, upload));
            }),
            Err(err) => self.update_upload(room, &key, |bar| bar.failed = Some(err.message)),
        }
    }

    fn update_upload(self, room: RoomId, key: &UploadKey, f: impl FnOnce(&mut UploadBar)) {
        self.store.uploads.update(|u| {
            if let Some(bar) = u
                .get_mut(&room)
                .and_then(|bars| bars.iter_mut().find(|b| &b.key == key))
            {
                f(bar);
            }
        });
    }

    /// Removes an upload's bar: a failed one the user dismissed, or one of this tab's that
    /// the user cancelled (the request is aborted, the server keeps nothing).
    pub fn forget_upload(self, room: RoomId, key: &UploadKey) {
        if let UploadKey::Local(id) = key {
            self.book.with_value(|b| {
                if let Some((_, upload)) = b.uploads.get(id) {
                    upload.abort();
                }
            });
        }
        self.store.uploads.update(|u| {
            if let Some(bars) = u.get_mut(&room) {
                bars.retain(|b| &b.key != key);
            }
        });
    }

    /// Drops others' upload bars that have heard nothing for a while.
    fn drop_stale_uploads(self) {
        let stale_before = now_millis() - STALE_UPLOAD_MILLIS;
        let any = self.store.uploads.with_untracked(|u| {
            u.values().flatten().any(|b| {
                matches!(b.key, UploadKey::Remote(_))
                    && b.failed.is_none()
                    && b.updated_at < stale_before
            })
        });
        if any {
            self.store.uploads.update(|u| {
                for bars in u.values_mut() {
                    drop_stale_uploads(bars, stale_before);
                }
            });
        }
    }

    fn on_file_progress(self, room: RoomId, user: UserId, mut progress: RemoteProgress) {
        let me = self.store.me_untracked().map(|u| u.id);
        // This tab follows its own uploads by the browser's progress events.
        let own_in_flight = me == Some(user)
            && self.book.with_value(|b| {
                b.uploads.values().any(|(r, _)| *r == room)
                    || b.ended_uploads.iter().any(|(r, name, at)| {
                        *r == room
                            && *name == progress.file_name
                            && now_millis() - at < ENDED_UPLOAD_MILLIS
                    })
            });
        if own_in_flight || !self.store.rooms.with_untracked(|r| r.contains_key(&room)) {
            return;
        }
        progress.uploader = if me == Some(user) {
            "You (another tab)".to_owned()
        } else {
            self.store
                .members
                .with_untracked(|m| {
                    m.get(&room)
                        .and_then(|list| list.iter().find(|member| member.id == user))
                        .map(|member| member.username.clone())
                })
                .unwrap_or_else(|| "Someone".to_owned())
        };
        let failed = match progress.stage {
            FileStage::Failed => Some(UploadKey::Remote(progress.upload.clone())),
            _ => None,
        };
        let now = now_millis();
        self.store.uploads.update(|u| {
            apply_file_progress(u.entry(room).or_default(), progress, now);
        });
        // Someone else's failure is news for a moment, not for good.
        if let Some(key) = failed {
            set_timeout(
                move || self.forget_upload(room, &key),
                Duration::from_millis(FAILED_UPLOAD_SHOWN_MILLIS),
            );
        }
    }

    /// Leaves a room.
    pub fn leave_room(self, room: RoomId) {
        spawn_local(async move {
            match api::leave_room(room).await {
                Ok(()) => self.forget_room(room),
                Err(err) if err.code == ErrorCode::NotAMember => self.forget_room(room),
                Err(err) => self.store.notice.set(Some(err.message)),
            }
        });
    }

    /// The directory of group rooms.
    pub async fn directory(self) -> Result<Vec<DirectoryRoom>, String> {
        api::directory().await.map_err(|e| e.message)
    }

    // ---- composing -----------------------------------------------------------------

    /// Sends a message: checked here first, shown pending at once, resent after a
    /// reconnect until acked. The error is the reason it cannot be sent.
    pub fn send_message(self, room: RoomId, body: String) -> Result<(), String> {
        check_message_body(&body).map_err(|code| code.describe().to_owned())?;
        let client_msg_id = browser::new_client_msg_id();
        // The room may still be loading: the send waits in a timeline of its own until the
        // first page arrives.
        self.store.timelines.update(|t| {
            t.entry(room)
                .or_default()
                .add_pending(client_msg_id.clone(), body.clone());
        });
        self.typing_stopped();
        self.send(&ClientFrame::SendMessage {
            room,
            client_msg_id,
            body,
        });
        Ok(())
    }

    /// Sends a refused message again, with the same id.
    pub fn retry_message(self, room: RoomId, client_msg_id: ClientMsgId) {
        if let Some(Some(body)) = self.update_timeline(room, |t| t.retry(&client_msg_id)) {
            self.send(&ClientFrame::SendMessage {
                room,
                client_msg_id,
                body,
            });
        }
    }

    /// Gives up on a refused message.
    pub fn discard_message(self, room: RoomId, client_msg_id: ClientMsgId) {
        self.update_timeline(room, |t| t.discard(&client_msg_id));
    }

    /// The user typed in a room's composer: `typing {on: true}`, at most every 3 s.
    pub fn typing_activity(self, room: RoomId) {
        let now = now_millis();
        let due = self.book.with_value(|b| match b.typing_sent {
            Some((r, at)) if r == room => now - at >= TYPING_REFRESH_MILLIS,
            _ => true,
        });
        if due && self.send(&ClientFrame::SetTyping { room, on: true }) {
            self.book
                .update_value(|b| b.typing_sent = Some((room, now)));
        }
    }

    /// The user sent, cleared the composer or left it: `typing {on: false}` if we said on.
    pub fn typing_stopped(self) {
        if let Some(Some((room, _))) = self.book.try_update_value(|b| b.typing_sent.take()) {
            self.send(&ClientFrame::SetTyping { room, on: false });
        }
    }
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}
