//! What the client knows: the reactive signals components read, shared through context,
//! and the plain data behind them — a room's timeline of messages, a send waiting for its
//! `ack`, who is typing.
//!
//! This module owns the *shape* of the state and the rules that keep it consistent
//! (messages ordered by seq and never duplicated, the last seq seen without a gap). It does
//! not talk to the network: `chat.rs` applies what `ws.rs` and `api.rs` bring.

use std::collections::{BTreeMap, HashMap, HashSet};

use confab_protocol::api::{Member, RoomKind, RoomSummary, UserSummary};
use confab_protocol::{
    ClientMsgId, FileStage, MessageId, MessageKind, MessagePosted, RoomId, Seq, UnixMillis,
    UploadId, UserId,
};
use leptos::prelude::*;

/// Whether someone is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// Asking the server (`GET /api/auth/me`) whether the cookie still holds a session.
    Checking,
    /// Nobody is signed in; `notice` says why when it was not the user's choice.
    SignedOut {
        /// Shown above the sign-in form, e.g. "Your session ended".
        notice: Option<String>,
    },
    /// This user is signed in.
    SignedIn(UserSummary),
}

/// The state of the WebSocket, as the connection banner shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// No socket: signed out.
    Idle,
    /// The first connection attempt since signing in.
    Connecting,
    /// The server said `welcome`: frames flow.
    Online,
    /// The connection was lost; another attempt is scheduled or under way.
    Reconnecting,
}

impl Connection {
    /// The banner's text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "Offline",
            Self::Connecting => "Connecting…",
            Self::Online => "Online",
            Self::Reconnecting => "Reconnecting…",
        }
    }
}

/// A message the user sent that the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMessage {
    /// The id the server dedupes retries by: resends reuse it.
    pub client_msg_id: ClientMsgId,
    /// The text as typed.
    pub body: String,
    /// Why the server refused it, once it did (an `error` frame naming this id).
    pub failed: Option<String>,
}

/// One room's messages as far as this client has loaded them, plus the user's sends
/// waiting for an `ack`.
///
/// Messages are keyed by seq, so however often a message arrives (live, by backfill, by
/// HTTP history, as a resend's echo) it is shown once and in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    messages: BTreeMap<Seq, MessagePosted>,
    pending: Vec<PendingMessage>,
    /// The highest seq up to which no message is missing (from the oldest loaded one).
    contiguous: Seq,
    /// Whether older messages than the oldest loaded exist on the server.
    has_older: bool,
    /// Whether a page of older messages is being fetched.
    loading_older: bool,
    /// Whether the newest page has arrived. Before that the timeline only holds the
    /// user's sends (a message can be written while the room loads).
    loaded: bool,
}

impl Default for Timeline {
    fn default() -> Self {
        Self {
            messages: BTreeMap::new(),
            pending: Vec::new(),
            contiguous: Seq(0),
            has_older: false,
            loading_older: false,
            loaded: false,
        }
    }
}

impl Timeline {
    /// A timeline starting from the newest page of a room's history (ascending by seq).
    pub fn from_newest_page(messages: Vec<MessagePosted>, has_older: bool) -> Self {
        let mut timeline = Self::default();
        timeline.adopt_newest_page(messages, has_older);
        timeline
    }

    /// Takes in the newest page of history: from now on the timeline is loaded and resumes
    /// after the page's last message. Messages or sends already held are kept.
    pub fn adopt_newest_page(&mut self, messages: Vec<MessagePosted>, has_older: bool) {
        if self.loaded {
            self.insert_all(messages);
            return;
        }
        self.contiguous = messages.first().map_or(Seq(0), |m| Seq(m.seq.0 - 1));
        self.has_older = has_older;
        self.loaded = true;
        self.insert_all(messages);
        self.advance();
    }

    /// Whether the newest page has arrived.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Adds or replaces a message. A pending send with the same `client_msg_id` is done.
    pub fn insert(&mut self, message: MessagePosted) {
        if let Some(id) = &message.client_msg_id {
            self.pending.retain(|p| &p.client_msg_id != id);
        }
        self.messages.insert(message.seq, message);
        self.advance();
    }

    /// Adds several messages (a history page or a backfill).
    pub fn insert_all(&mut self, messages: impl IntoIterator<Item = MessagePosted>) {
        for message in messages {
            self.insert(message);
        }
    }

    /// Adds a page of older messages fetched because the user scrolled up.
    pub fn insert_older(&mut self, messages: Vec<MessagePosted>, has_more: bool) {
        self.insert_all(messages);
        self.has_older = has_more;
        self.loading_older = false;
    }

    fn advance(&mut self) {
        while self.messages.contains_key(&Seq(self.contiguous.0 + 1)) {
            self.contiguous.0 += 1;
        }
    }

    /// The last seq seen with nothing missing before it: where a backfill resumes.
    pub fn last_seen(&self) -> Seq {
        self.contiguous
    }

    /// The highest seq held, gap or not: what the user has seen when the room is open.
    pub fn newest(&self) -> Option<Seq> {
        self.messages.keys().next_back().copied()
    }

    /// The lowest seq held: the `before` cursor for the next older page.
    pub fn oldest(&self) -> Option<Seq> {
        self.messages.keys().next().copied()
    }

    /// Whether `seq` would leave a hole after [`Self::last_seen`] (never before the newest
    /// page has arrived: that page decides where the timeline starts).
    pub fn is_gap(&self, seq: Seq) -> bool {
        self.loaded && seq.0 > self.contiguous.0 + 1
    }

    /// Whether older history remains on the server.
    pub fn has_older(&self) -> bool {
        self.has_older
    }

    /// Whether an older page is being fetched.
    pub fn loading_older(&self) -> bool {
        self.loading_older
    }

    /// Marks that an older page is (or is no longer) being fetched.
    pub fn set_loading_older(&mut self, loading: bool) {
        self.loading_older = loading;
    }

    /// Whether a message with this seq is held.
    pub fn contains(&self, seq: Seq) -> bool {
        self.messages.contains_key(&seq)
    }

    /// The messages held, ascending by seq.
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &MessagePosted> {
        self.messages.values()
    }

    /// The user's sends still waiting for the server, oldest first.
    pub fn pending(&self) -> &[PendingMessage] {
        &self.pending
    }

    /// Records a send before it goes out.
    pub fn add_pending(&mut self, client_msg_id: ClientMsgId, body: String) {
        self.pending.push(PendingMessage {
            client_msg_id,
            body,
            failed: None,
        });
    }

    /// Applies an `ack`: the pending send becomes a message at `seq`, written from what was
    /// sent, until the server's own `message` replaces it (same seq).
    pub fn acknowledge(&mut self, ack: Ack, me: &UserSummary, now: UnixMillis) {
        let Some(index) = self
            .pending
            .iter()
            .position(|p| p.client_msg_id == ack.client_msg_id)
        else {
            return;
        };
        let pending = self.pending.remove(index);
        if self.messages.contains_key(&ack.seq) {
            return;
        }
        self.insert(MessagePosted {
            id: ack.id,
            room: ack.room,
            seq: ack.seq,
            sender: me.id,
            sender_name: me.username.clone(),
            kind: MessageKind::Text,
            body: pending.body,
            sent_at: now,
            client_msg_id: Some(pending.client_msg_id),
            file: None,
        });
    }

    /// Marks a pending send refused; it stays visible with the reason until retried or
    /// discarded.
    pub fn fail(&mut self, client_msg_id: &ClientMsgId, reason: String) -> bool {
        match self
            .pending
            .iter_mut()
            .find(|p| &p.client_msg_id == client_msg_id)
        {
            Some(pending) => {
                pending.failed = Some(reason);
                true
            }
            None => false,
        }
    }

    /// Clears a failed send's reason so it can go out again with the same id; returns its
    /// body.
    pub fn retry(&mut self, client_msg_id: &ClientMsgId) -> Option<String> {
        let pending = self
            .pending
            .iter_mut()
            .find(|p| &p.client_msg_id == client_msg_id)?;
        pending.failed = None;
        Some(pending.body.clone())
    }

    /// Forgets a pending send.
    pub fn discard(&mut self, client_msg_id: &ClientMsgId) {
        self.pending.retain(|p| &p.client_msg_id != client_msg_id);
    }

    /// The sends to repeat after a reconnect (not the refused ones), with their ids.
    pub fn unsent(&self) -> Vec<(ClientMsgId, String)> {
        self.pending
            .iter()
            .filter(|p| p.failed.is_none())
            .map(|p| (p.client_msg_id.clone(), p.body.clone()))
            .collect()
    }

    /// The rows to show, in order: messages (each knowing whether it starts a new group or
    /// a new day) then pending sends. `day_of` maps a time to a local calendar day.
    pub fn rows(&self, me: Option<UserId>, day_of: impl Fn(UnixMillis) -> i64) -> Vec<Row> {
        /// Consecutive messages by one sender closer than this share one header.
        const GROUP_MILLIS: i64 = 5 * 60 * 1000;
        let mut rows = Vec::with_capacity(self.messages.len() + self.pending.len());
        let mut previous: Option<(&MessagePosted, i64)> = None;
        for message in self.messages.values() {
            let day = day_of(message.sent_at);
            let new_day = previous.is_none_or(|(_, d)| d != day);
            let continues = !new_day
                && previous.is_some_and(|(p, _)| {
                    p.sender == message.sender && message.sent_at.0 - p.sent_at.0 < GROUP_MILLIS
                });
            rows.push(Row::Posted {
                message: message.clone(),
                mine: me == Some(message.sender),
                show_header: !continues,
                new_day,
            });
            previous = Some((message, day));
        }
        rows.extend(self.pending.iter().cloned().map(Row::Pending));
        rows
    }
}

/// The fields of an `ack` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The room posted to.
    pub room: RoomId,
    /// The send's id.
    pub client_msg_id: ClientMsgId,
    /// The stored message's id.
    pub id: MessageId,
    /// The stored message's seq.
    pub seq: Seq,
}

/// One row of the message list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A committed message.
    Posted {
        /// The message.
        message: MessagePosted,
        /// Whether the signed-in user sent it.
        mine: bool,
        /// Whether it starts a group (shows sender and time prominently).
        show_header: bool,
        /// Whether it is the first message of a local calendar day.
        new_day: bool,
    },
    /// A send waiting for the server.
    Pending(PendingMessage),
}

/// Identifies a row for keyed rendering: a row is rebuilt when what it shows changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    /// A committed message by seq, with what its look depends on.
    Posted(Seq, MessageId, UnixMillis, bool, bool),
    /// A pending send by its id, and whether it failed.
    Pending(ClientMsgId, Option<String>),
}

impl Row {
    /// This row's key.
    pub fn key(&self) -> RowKey {
        match self {
            Self::Posted {
                message,
                show_header,
                new_day,
                ..
            } => RowKey::Posted(
                message.seq,
                message.id,
                message.sent_at,
                *show_header,
                *new_day,
            ),
            Self::Pending(p) => RowKey::Pending(p.client_msg_id.clone(), p.failed.clone()),
        }
    }
}

/// Which upload a progress bar follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UploadKey {
    /// One of this tab's uploads, followed through the browser's upload progress.
    Local(u32),
    /// Someone else's (or another tab's), followed through `file_progress` frames.
    Remote(UploadId),
}

/// An upload in progress (or just failed), shown as a progress bar in its room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UploadBar {
    /// Which upload.
    pub key: UploadKey,
    /// The file's name, shown as text.
    pub file_name: String,
    /// Who uploads it; `None` for this tab's own uploads.
    pub uploader: Option<String>,
    /// Bytes sent so far.
    pub bytes: u64,
    /// The file's size, when known.
    pub total: Option<u64>,
    /// Why it failed, once it did.
    pub failed: Option<String>,
    /// When it last moved (ms since the epoch, local clock): a bar that stops hearing
    /// from its upload is dropped (its instance may have died mid-upload).
    pub updated_at: i64,
}

/// What a `file_progress` frame says of someone's upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProgress {
    /// The upload.
    pub upload: UploadId,
    /// Who uploads it.
    pub uploader: String,
    /// The file's name.
    pub file_name: String,
    /// Where it is.
    pub stage: FileStage,
    /// Bytes received by the server so far.
    pub bytes: u64,
    /// The file's size, when announced.
    pub total: Option<u64>,
    /// Why it failed (with `stage: failed`), for people.
    pub reason: Option<String>,
}

/// Applies a `file_progress` frame to a room's upload bars: started and progress move a
/// bar (never backwards: frames from the bus may overtake each other), completed removes
/// it (the `file` message takes its place), failed keeps it with the reason.
pub fn apply_file_progress(bars: &mut Vec<UploadBar>, progress: RemoteProgress, now: i64) {
    let key = UploadKey::Remote(progress.upload);
    let index = bars.iter().position(|b| b.key == key);
    match progress.stage {
        FileStage::Completed => {
            bars.retain(|b| b.key != key);
        }
        stage => {
            let bar = match index {
                Some(i) => &mut bars[i],
                None => {
                    bars.push(UploadBar {
                        key,
                        file_name: progress.file_name,
                        uploader: Some(progress.uploader),
                        bytes: 0,
                        total: None,
                        failed: None,
                        updated_at: now,
                    });
                    let last = bars.len() - 1;
                    &mut bars[last]
                }
            };
            bar.bytes = bar.bytes.max(progress.bytes);
            bar.updated_at = now;
            bar.total = progress.total.or(bar.total);
            if stage == FileStage::Failed {
                bar.failed = Some(
                    progress
                        .reason
                        .unwrap_or_else(|| "the upload failed".into()),
                );
            }
        }
    }
}

/// Drops the bars of others' uploads that have not moved since `stale_before` (their
/// `completed` or `failed` was lost, or their instance died mid-upload). This tab's own
/// uploads and failures on screen are left alone. Returns whether any went.
pub fn drop_stale_uploads(bars: &mut Vec<UploadBar>, stale_before: i64) -> bool {
    let before = bars.len();
    bars.retain(|b| {
        !matches!(b.key, UploadKey::Remote(_)) || b.failed.is_some() || b.updated_at >= stale_before
    });
    bars.len() != before
}

/// Someone typing in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typist {
    /// Their name.
    pub username: String,
    /// When the indicator lapses without a refresh (ms since the epoch, local clock).
    pub expires_at: i64,
}

/// The rooms in the order the sidebar lists them: group rooms, then direct conversations,
/// each by name ignoring case.
pub fn sorted_rooms(rooms: &BTreeMap<RoomId, RoomSummary>) -> Vec<RoomSummary> {
    let mut list: Vec<RoomSummary> = rooms.values().cloned().collect();
    list.sort_by_cached_key(|r| (r.kind == RoomKind::Direct, r.name.to_lowercase(), r.id));
    list
}

/// "alice is typing…", "alice and bob are typing…", "alice and 2 others are typing…".
pub fn typing_text(names: &[String]) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("{one} is typing…")),
        [a, b] => Some(format!("{a} and {b} are typing…")),
        [a, rest @ ..] => Some(format!("{a} and {} others are typing…", rest.len())),
    }
}

/// Server and protocol messages are lower-case fragments ("that username is taken"); the
/// page shows them as sentences.
pub fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// Every signal of the client, shared through context. Each is a cheap copyable handle.
#[derive(Debug, Clone, Copy)]
pub struct Store {
    /// Who is signed in.
    pub session: RwSignal<Session>,
    /// The WebSocket's state.
    pub connection: RwSignal<Connection>,
    /// The user's rooms.
    pub rooms: RwSignal<BTreeMap<RoomId, RoomSummary>>,
    /// The open room.
    pub current: RwSignal<Option<RoomId>>,
    /// Loaded messages of each room opened since signing in.
    pub timelines: RwSignal<HashMap<RoomId, Timeline>>,
    /// Members of rooms that were opened.
    pub members: RwSignal<HashMap<RoomId, Vec<Member>>>,
    /// Users known to be online (from `status` frames).
    pub online: RwSignal<HashSet<UserId>>,
    /// Who is typing, per room.
    pub typing: RwSignal<HashMap<RoomId, BTreeMap<UserId, Typist>>>,
    /// Uploads in progress, per room.
    pub uploads: RwSignal<HashMap<RoomId, Vec<UploadBar>>>,
    /// A message for the user that belongs to no form (a failed load, a refused frame).
    pub notice: RwSignal<Option<String>>,
    /// On a narrow screen: whether the room list covers the room view.
    pub sidebar_open: RwSignal<bool>,
    /// Whether the open room's newest messages are in view (the list is scrolled to the
    /// bottom): only then is the room marked read.
    pub reading_newest: RwSignal<bool>,
    /// Whether the member panel is shown.
    pub members_open: RwSignal<bool>,
}

impl Store {
    /// Fresh state: nobody signed in yet (checking).
    pub fn new() -> Self {
        Self {
            session: RwSignal::new(Session::Checking),
            connection: RwSignal::new(Connection::Idle),
            rooms: RwSignal::new(BTreeMap::new()),
            current: RwSignal::new(None),
            timelines: RwSignal::new(HashMap::new()),
            members: RwSignal::new(HashMap::new()),
            online: RwSignal::new(HashSet::new()),
            typing: RwSignal::new(HashMap::new()),
            uploads: RwSignal::new(HashMap::new()),
            notice: RwSignal::new(None),
            sidebar_open: RwSignal::new(false),
            reading_newest: RwSignal::new(true),
            members_open: RwSignal::new(false),
        }
    }

    /// The signed-in user (tracked).
    pub fn me(&self) -> Option<UserSummary> {
        self.session.with(|s| match s {
            Session::SignedIn(user) => Some(user.clone()),
            _ => None,
        })
    }

    /// The signed-in user, without subscribing the caller to changes.
    pub fn me_untracked(&self) -> Option<UserSummary> {
        self.session.with_untracked(|s| match s {
            Session::SignedIn(user) => Some(user.clone()),
            _ => None,
        })
    }

    /// Forgets everything about the signed-in user's rooms (sign-out, session ended).
    pub fn clear(&self) {
        self.connection.set(Connection::Idle);
        self.rooms.set(BTreeMap::new());
        self.current.set(None);
        self.timelines.set(HashMap::new());
        self.members.set(HashMap::new());
        self.online.set(HashSet::new());
        self.typing.set(HashMap::new());
        self.uploads.set(HashMap::new());
        self.notice.set(None);
        self.sidebar_open.set(false);
        self.members_open.set(false);
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: i64) -> MessagePosted {
        MessagePosted {
            id: MessageId(1000 + seq),
            room: RoomId(3),
            seq: Seq(seq),
            sender: UserId(7),
            sender_name: "alice".into(),
            kind: MessageKind::Text,
            body: format!("message {seq}"),
            sent_at: UnixMillis(1_796_300_000_000 + seq * 1000),
            client_msg_id: None,
            file: None,
        }
    }

    fn seqs(t: &Timeline) -> Vec<i64> {
        t.messages().map(|m| m.seq.0).collect()
    }

    fn alice() -> UserSummary {
        UserSummary {
            id: UserId(7),
            username: "alice".into(),
        }
    }

    #[test]
    fn a_newest_page_is_contiguous_up_to_its_last_message() {
        let t = Timeline::from_newest_page((51..=100).map(msg).collect(), true);
        assert_eq!(t.last_seen(), Seq(100));
        assert_eq!(t.oldest(), Some(Seq(51)));
        assert!(t.has_older());
        assert!(!t.is_gap(Seq(101)));
        assert!(t.is_gap(Seq(102)));
    }

    #[test]
    fn an_empty_room_resumes_from_zero() {
        let t = Timeline::from_newest_page(Vec::new(), false);
        assert_eq!(t.last_seen(), Seq(0));
        assert!(!t.is_gap(Seq(1)));
        assert!(t.is_gap(Seq(2)));
    }

    #[test]
    fn messages_arriving_twice_or_out_of_order_are_shown_once_in_order() {
        let mut t = Timeline::from_newest_page(vec![msg(1), msg(2)], false);
        assert!(t.is_gap(Seq(4)));
        t.insert(msg(4));
        assert_eq!(t.last_seen(), Seq(2), "3 is missing");
        t.insert(msg(2));
        t.insert_all(vec![msg(3), msg(4)]);
        assert_eq!(seqs(&t), vec![1, 2, 3, 4]);
        assert_eq!(t.last_seen(), Seq(4));
        assert_eq!(t.newest(), Some(Seq(4)));
    }

    #[test]
    fn older_pages_prepend_without_moving_the_resume_point() {
        let mut t = Timeline::from_newest_page((51..=100).map(msg).collect(), true);
        t.set_loading_older(true);
        t.insert_older((1..=50).map(msg).collect(), false);
        assert_eq!(t.oldest(), Some(Seq(1)));
        assert_eq!(t.last_seen(), Seq(100));
        assert!(!t.has_older() && !t.loading_older());
    }

    #[test]
    fn an_ack_turns_a_pending_send_into_a_message_that_the_echo_replaces() {
        let mut t = Timeline::from_newest_page(vec![msg(1)], false);
        let id = ClientMsgId("c-0123456789abcdef".into());
        t.add_pending(id.clone(), "hi".into());
        assert_eq!(t.unsent(), vec![(id.clone(), "hi".to_owned())]);

        let ack = Ack {
            room: RoomId(3),
            client_msg_id: id.clone(),
            id: MessageId(5000),
            seq: Seq(2),
        };
        t.acknowledge(ack, &alice(), UnixMillis(1));
        assert!(t.pending().is_empty());
        assert_eq!(seqs(&t), vec![1, 2]);
        assert_eq!(t.last_seen(), Seq(2));

        let mut echo = msg(2);
        echo.id = MessageId(5000);
        echo.body = "hi".into();
        echo.client_msg_id = Some(id);
        t.insert(echo.clone());
        assert_eq!(seqs(&t), vec![1, 2]);
        assert_eq!(t.messages().last(), Some(&echo));
    }

    #[test]
    fn a_send_written_while_the_room_loads_survives_the_first_page() {
        let mut t = Timeline::default();
        let id = ClientMsgId("c-early".into());
        t.add_pending(id.clone(), "early".into());
        assert!(!t.is_loaded());
        assert!(!t.is_gap(Seq(40)), "no gaps before the first page");
        let ack = Ack {
            room: RoomId(3),
            client_msg_id: id,
            id: MessageId(5000),
            seq: Seq(101),
        };
        t.acknowledge(ack, &alice(), UnixMillis(1));
        t.adopt_newest_page((51..=100).map(msg).collect(), true);
        assert!(t.is_loaded() && t.has_older());
        assert_eq!(t.last_seen(), Seq(101));
        assert_eq!(t.oldest(), Some(Seq(51)));
        assert!(t.pending().is_empty());
    }

    #[test]
    fn the_echo_arriving_before_the_ack_clears_the_pending_send() {
        let mut t = Timeline::default();
        let id = ClientMsgId("c-abc".into());
        t.add_pending(id.clone(), "hi".into());
        let mut echo = msg(1);
        echo.client_msg_id = Some(id.clone());
        t.insert(echo);
        assert!(t.pending().is_empty());
        let ack = Ack {
            room: RoomId(3),
            client_msg_id: id,
            id: MessageId(1001),
            seq: Seq(1),
        };
        t.acknowledge(ack, &alice(), UnixMillis(1));
        assert_eq!(seqs(&t), vec![1]);
    }

    #[test]
    fn a_refused_send_is_kept_with_its_reason_and_not_resent() {
        let mut t = Timeline::default();
        let id = ClientMsgId("c-abc".into());
        t.add_pending(id.clone(), "hi".into());
        assert!(t.fail(&id, "slow down".into()));
        assert!(t.unsent().is_empty());
        assert_eq!(t.pending()[0].failed.as_deref(), Some("slow down"));
        assert_eq!(t.retry(&id).as_deref(), Some("hi"));
        assert_eq!(t.unsent().len(), 1);
        t.discard(&id);
        assert!(t.pending().is_empty());
    }

    #[test]
    fn rows_group_consecutive_messages_and_mark_new_days() {
        let mut t = Timeline::from_newest_page(vec![msg(1), msg(2), msg(3)], false);
        let mut bob = msg(4);
        bob.sender = UserId(8);
        t.insert(bob);
        let rows = t.rows(Some(UserId(7)), |ms| {
            if ms.0 < 1_796_300_002_500 { 1 } else { 2 }
        });
        let shape: Vec<(bool, bool, bool)> = rows
            .iter()
            .filter_map(|r| match r {
                Row::Posted {
                    mine,
                    show_header,
                    new_day,
                    ..
                } => Some((*mine, *show_header, *new_day)),
                Row::Pending(_) => None,
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (true, true, true),
                (true, false, false),
                (true, true, true),
                (false, true, false)
            ]
        );
    }

    fn progress(stage: FileStage, bytes: u64) -> RemoteProgress {
        RemoteProgress {
            upload: UploadId("u-1".into()),
            uploader: "bob".into(),
            file_name: "holiday.png".into(),
            stage,
            bytes,
            total: Some(1000),
            reason: (stage == FileStage::Failed).then(|| "file too large".to_owned()),
        }
    }

    #[test]
    fn file_progress_moves_a_bar_forward_only_and_completion_removes_it() {
        let mut bars = Vec::new();
        apply_file_progress(&mut bars, progress(FileStage::Started, 0), 1);
        apply_file_progress(&mut bars, progress(FileStage::Progress, 600), 2);
        apply_file_progress(&mut bars, progress(FileStage::Progress, 300), 3);
        assert_eq!(bars.len(), 1);
        assert_eq!((bars[0].bytes, bars[0].total), (600, Some(1000)));
        assert_eq!(bars[0].uploader.as_deref(), Some("bob"));
        apply_file_progress(&mut bars, progress(FileStage::Completed, 1000), 4);
        assert!(bars.is_empty());
    }

    #[test]
    fn bars_of_others_uploads_that_stopped_moving_are_dropped_but_not_failures_or_own() {
        let mut bars = Vec::new();
        apply_file_progress(&mut bars, progress(FileStage::Progress, 100), 1_000);
        let mut failed = progress(FileStage::Failed, 0);
        failed.upload = UploadId("u-2".into());
        apply_file_progress(&mut bars, failed, 1_000);
        bars.push(UploadBar {
            key: UploadKey::Local(1),
            file_name: "mine.bin".into(),
            uploader: None,
            bytes: 0,
            total: None,
            failed: None,
            updated_at: 0,
        });
        assert!(!drop_stale_uploads(&mut bars, 500));
        assert!(drop_stale_uploads(&mut bars, 5_000));
        let left: Vec<&UploadKey> = bars.iter().map(|b| &b.key).collect();
        assert_eq!(
            left,
            [
                &UploadKey::Remote(UploadId("u-2".into())),
                &UploadKey::Local(1)
            ]
        );
    }

    #[test]
    fn a_failed_upload_keeps_its_bar_with_the_reason_even_without_a_start() {
        let mut bars = Vec::new();
        apply_file_progress(&mut bars, progress(FileStage::Failed, 0), 1);
        assert_eq!(bars.len(), 1);
        assert_eq!(bars[0].failed.as_deref(), Some("file too large"));
    }

    #[test]
    fn typing_text_names_one_two_or_counts_the_rest() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(typing_text(&[]), None);
        assert_eq!(
            typing_text(&names(&["bob"])).as_deref(),
            Some("bob is typing…")
        );
        assert_eq!(
            typing_text(&names(&["bob", "carol"])).as_deref(),
            Some("bob and carol are typing…")
        );
        assert_eq!(
            typing_text(&names(&["bob", "carol", "dave"])).as_deref(),
            Some("bob and 2 others are typing…")
        );
    }

    #[test]
    fn messages_become_sentences() {
        assert_eq!(
            sentence("that username is taken"),
            "That username is taken."
        );
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn rooms_are_listed_groups_first_by_name() {
        let room = |id, name: &str, kind| RoomSummary {
            id: RoomId(id),
            name: name.into(),
            kind,
            last_seq: Seq(0),
            last_read_seq: Seq(0),
            peer: None,
        };
        let rooms = BTreeMap::from([
            (RoomId(1), room(1, "zeta", RoomKind::Group)),
            (RoomId(2), room(2, "Alpha", RoomKind::Group)),
            (RoomId(3), room(3, "bob", RoomKind::Direct)),
        ]);
        let names: Vec<String> = sorted_rooms(&rooms).into_iter().map(|r| r.name).collect();
        assert_eq!(names, vec!["Alpha", "zeta", "bob"]);
    }
}
