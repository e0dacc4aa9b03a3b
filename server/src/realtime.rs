//! Publishing events: serialize once, deliver to this instance's connections through the
//! hub, and hand the envelope to the bus for the other instances — which deliver it to
//! theirs and ignore their own echo. Each connection so gets each event exactly once,
//! whichever instance it is on.
//!
//! Room messages are released to connections strictly in seq order (see `ordering`): one
//! arriving early waits for the gap before it to be filled, by the late publish or, after
//! a short wait, by reading the missing seqs from the database — so a publish lost on the
//! bus is repaired here, not by the clients. Membership changes that arrive as events
//! (`room_joined`, `room_left` for a user) also move that user's local connections in or
//! out of the room. Typing events also start (or end) the instance's typing timers, which
//! end every indicator by themselves (see `typing`).
//!
//! When the bus comes back after an outage, whatever was published meanwhile is lost. The
//! database has all of it: first every local connection's rooms are reconciled with the
//! stored memberships (rooms joined meanwhile are added and announced with `room_joined`,
//! rooms left are removed with `room_left`, read markers are told again), then every room
//! served here is caught up from its released seq.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use confab_protocol::api::RoomSummary;
use confab_protocol::{
    BusEnvelope, BusTarget, InstanceId, RoomId, Seq, ServerFrame, UserId, limits,
};

use crate::bus::{Bus, Inbound, RedisBus};
use crate::db::{self, Db};
use crate::hub::{Hub, Peer, PeerEnd};
use crate::metrics;
use crate::ordering::{Accepted, RoomOrder};
use crate::typing::{Ended, TypingTimers};

/// How long a message held back behind a gap waits for the late publish before the gap is
/// read from the database.
const GAP_WAIT: Duration = Duration::from_millis(250);
/// How often lapsed typing indicators are looked for.
const TYPING_TICK: Duration = Duration::from_millis(500);
/// Users whose memberships are read in one query when reconciling after a bus outage.
const RECONCILE_CHUNK: usize = 500;
/// Passes over the users still to reconcile (a pass skips those whose rooms changed while
/// they were being read, and waits a second after a database error) before giving up.
const RECONCILE_PASSES: usize = 30;

/// Answers which of some users are online now. Presence knows, and sets it with
/// [`Realtime::answer_online_with`]; realtime asks when it builds a direct room's summary
/// itself (the other user's presence is part of it).
pub type OnlineQuery =
    Arc<dyn Fn(Vec<UserId>) -> Pin<Box<dyn Future<Output = HashSet<UserId>> + Send>> + Send + Sync>;

/// Holds the [`OnlineQuery`], once set.
#[derive(Default)]
struct OnlineCell(OnceLock<OnlineQuery>);

impl std::fmt::Debug for OnlineCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineCell")
            .field("set", &self.0.get().is_some())
            .finish()
    }
}

/// Cheap-to-clone handle to this instance's hub and bus.
#[derive(Debug, Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    hub: Hub,
    bus: Bus,
    db: Db,
    instance: InstanceId,
    queue_capacity: usize,
    /// Release order of each room with a local connection. Lock order: `orders`, then the
    /// hub's lock — never the other way round.
    orders: Mutex<HashMap<RoomId, RoomOrder<Utf8Bytes>>>,
    /// Typing indicators delivered here and not yet ended.
    typing: TypingTimers,
    /// Held for a whole reconcile, across its database reads: one at a time, so an older
    /// read of the memberships never lands after a newer one.
    reconciling: tokio::sync::Mutex<()>,
    /// Who is online, for the summaries a reconcile sends.
    online: OnlineCell,
}

/// Serializes a frame for the wire. Our frame types always serialize; should one ever
/// fail, the event is dropped and logged rather than taking the server down.
pub fn encode(frame: &ServerFrame) -> Option<Utf8Bytes> {
    match serde_json::to_string(frame) {
        Ok(text) => Some(Utf8Bytes::from(text)),
        Err(err) => {
            tracing::error!(error = %err, "cannot serialize a server frame");
            None
        }
    }
}

impl Realtime {
    /// A realtime layer for `instance`, over Redis when `redis` is given (else
    /// in-process); connections queue at most `queue_capacity` outbound frames; gaps are
    /// repaired from `db`.
    pub fn new(
        instance: InstanceId,
        redis: Option<redis::Client>,
        queue_capacity: usize,
        db: Db,
    ) -> Self {
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| {
            let bus = match redis {
                None => Bus::InProcess,
                Some(client) => {
                    let weak = weak.clone();
                    Bus::Redis(RedisBus::start(
                        client,
                        Arc::new(move |inbound| {
                            if let Some(inner) = weak.upgrade() {
                                Realtime { inner }.on_bus(inbound);
                            }
                        }),
                    ))
                }
            };
            Inner {
                hub: Hub::default(),
                bus,
                db,
                instance,
                queue_capacity,
                orders: Mutex::default(),
                typing: TypingTimers::default(),
                reconciling: tokio::sync::Mutex::new(()),
                online: OnlineCell::default(),
            }
        });
        tokio::spawn(end_lapsed_typing(Arc::downgrade(&inner)));
        Self { inner }
    }

    // Short sections that never await: a std mutex is right here.
    fn orders(&self) -> MutexGuard<'_, HashMap<RoomId, RoomOrder<Utf8Bytes>>> {
        self.inner
            .orders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This instance's id.
    pub fn instance(&self) -> &InstanceId {
        &self.inner.instance
    }

    /// The local hub.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The bus.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// The typing timers.
    pub fn typing(&self) -> &TypingTimers {
        &self.inner.typing
    }

    /// Sets how to ask who is online (presence does, at start; later calls are ignored).
    pub fn answer_online_with(&self, query: OnlineQuery) {
        let _ = self.inner.online.0.set(query);
    }

    /// Registers a new connection of `user` in `rooms` (each with its newest seq as read
    /// before connecting), with `greeting` as its first frame. The flag says whether it is
    /// the user's first connection on this instance.
    pub fn connect(
        &self,
        user: UserId,
        session: Arc<str>,
        rooms: &[(RoomId, Seq)],
        greeting: &ServerFrame,
    ) -> (Peer, PeerEnd, bool) {
        let ids: Vec<RoomId> = rooms.iter().map(|(room, _)| *room).collect();
        let mut orders = self.orders();
        let (peer, end, occupied) = self.inner.hub.register(
            user,
            session,
            &ids,
            self.inner.queue_capacity,
            encode(greeting),
        );
        for (room, last_seq) in rooms {
            if occupied.rooms.contains(room) {
                orders.insert(*room, RoomOrder::new(*last_seq));
            }
        }
        drop(orders);
        if occupied.user {
            self.inner.bus.subscribe(BusTarget::User(user));
        }
        for room in occupied.rooms {
            self.inner.bus.subscribe(BusTarget::Room(room));
        }
        metrics::OPEN_CONNECTIONS.increment(1.0);
        (peer, end, occupied.user)
    }

    /// Unregisters a connection. Returns whether it was its user's last on this instance;
    /// then whatever they were typing ends for everyone.
    pub fn disconnect(&self, peer: &Peer) -> bool {
        let mut orders = self.orders();
        let vacated = self.inner.hub.unregister(peer);
        for room in &vacated.rooms {
            orders.remove(room);
        }
        drop(orders);
        if vacated.user {
            self.inner.bus.unsubscribe(BusTarget::User(peer.user));
        }
        for room in vacated.rooms {
            self.inner.bus.unsubscribe(BusTarget::Room(room));
        }
        metrics::OPEN_CONNECTIONS.decrement(1.0);
        if vacated.user {
            for ended in self.inner.typing.end_user(peer.user) {
                self.publish(BusTarget::Room(ended.room), typing_off(ended));
            }
        }
        vacated.user
    }

    /// Makes sure every local connection of `user` receives `room`'s events; `last_seq`
    /// is the room's newest seq as read before.
    pub fn add_user_to_room(&self, user: UserId, room: RoomId, last_seq: Seq) {
        let mut orders = self.orders();
        if self.inner.hub.add_user_to_room(user, room) {
            orders.insert(room, RoomOrder::new(last_seq));
            drop(orders);
            self.inner.bus.subscribe(BusTarget::Room(room));
        }
    }

    fn remove_user_from_room(&self, user: UserId, room: RoomId) {
        let mut orders = self.orders();
        if self.inner.hub.remove_user_from_room(user, room) {
            orders.remove(&room);
            drop(orders);
            self.inner.bus.unsubscribe(BusTarget::Room(room));
        }
    }

    /// Delivers `event` to every connection `target` names, on every instance.
    pub fn publish(&self, target: BusTarget, event: ServerFrame) {
        let Some(bytes) = encode(&event) else { return };
        self.apply(&target, &event, bytes.clone());
        let header = BusEnvelope {
            origin: self.inner.instance.clone(),
            target,
        };
        self.inner.bus.publish(&header, bytes.as_str());
    }

    /// Handles what the bus brings: another instance's event (our own echo is ignored,
    /// since it was delivered locally when published), or news that the subscription was
    /// re-established, after which every room served here is caught up from the database.
    fn on_bus(&self, inbound: Inbound) {
        match inbound {
            Inbound::Envelope { header, event } => {
                if header.origin == self.inner.instance {
                    return;
                }
                match serde_json::from_str::<ServerFrame>(&event) {
                    // The origin's bytes go out as they are: no second serialization.
                    Ok(frame) => self.apply(&header.target, &frame, Utf8Bytes::from(event)),
                    Err(err) => tracing::warn!(error = %err, "ignoring an undecodable bus event"),
                }
            }
            Inbound::Reconnected => {
                tokio::spawn(self.clone().after_reconnect());
            }
            // A member who connected just before the subscription took effect may have
            // missed a message published in between: the database has it.
            Inbound::RoomSubscribed(room) => {
                tokio::spawn(self.clone().catch_up(room));
            }
        }
    }

    fn apply(&self, target: &BusTarget, event: &ServerFrame, bytes: Utf8Bytes) {
        match (target, event) {
            (BusTarget::Room(room), ServerFrame::MessagePosted(message)) => {
                if let Some(ended) = self.inner.typing.end(*room, message.sender) {
                    self.deliver_local(typing_off(ended));
                }
                self.release_in_order(*room, message.seq, bytes);
                return;
            }
            (
                BusTarget::Room(_),
                ServerFrame::TypingChanged {
                    room,
                    user,
                    username,
                    on,
                },
            ) => {
                self.inner
                    .typing
                    .record(*room, *user, username, *on, Instant::now());
            }
            (BusTarget::User(user), ServerFrame::RoomJoined { room }) => {
                self.add_user_to_room(*user, room.id, room.last_seq);
            }
            (BusTarget::User(user), ServerFrame::RoomLeft { room }) => {
                self.remove_user_from_room(*user, *room);
            }
            (BusTarget::Session { user, session }, _) => {
                // Told why, then closed: the writer sends what is queued before the close.
                self.inner.hub.deliver(target, &bytes);
                self.inner
                    .hub
                    .close_session(*user, session, confab_protocol::close::SESSION_ENDED);
                return;
            }
            _ => {}
        }
        self.inner.hub.deliver(target, &bytes);
    }

    /// Delivers a room event to this instance's connections only.
    fn deliver_local(&self, event: ServerFrame) {
        let room = match &event {
            ServerFrame::TypingChanged { room, .. } => *room,
            _ => return,
        };
        if let Some(bytes) = encode(&event) {
            self.inner.hub.deliver(&BusTarget::Room(room), &bytes);
        }
    }

    /// Releases a room message to local connections once every earlier seq has been.
    fn release_in_order(&self, room: RoomId, seq: Seq, bytes: Utf8Bytes) {
        let mut orders = self.orders();
        // No local connection in the room: nobody here to deliver to.
        let Some(order) = orders.get_mut(&room) else {
            return;
        };
        match order.accept(seq, bytes) {
            Accepted::Release(frames) => {
                frames.iter().for_each(|frame| {
                    self.inner.hub.deliver(&BusTarget::Room(room), frame);
                });
            }
            Accepted::HeldBack { start_repair } => {
                let urgent = order.overfull();
                if start_repair {
                    drop(orders);
                    tokio::spawn(self.clone().repair_gap(room, urgent));
                }
            }
            Accepted::Duplicate => {}
        }
    }

    /// Reads the messages after the room's released seq from the database and releases
    /// them. Returns how many were read and whether more follow, or `None` when the room
    /// is no longer served here.
    async fn pull(&self, room: RoomId) -> Result<Option<(usize, bool)>, sqlx::Error> {
        let Some(from) = self.orders().get(&room).map(RoomOrder::released) else {
            return Ok(None);
        };
        let (messages, has_more) = db::messages::page(
            &self.inner.db,
            room,
            db::messages::Page::After(from),
            limits::MAX_PAGE,
        )
        .await?;
        let fetched = messages.len();
        let mut release = Vec::new();
        {
            let mut orders = self.orders();
            let Some(order) = orders.get_mut(&room) else {
                return Ok(None);
            };
            for message in messages {
                let seq = message.seq;
                let Some(bytes) = encode(&ServerFrame::MessagePosted(message)) else {
                    continue;
                };
                if let Accepted::Release(frames) = order.accept(seq, bytes) {
                    release.extend(frames);
                }
            }
            if fetched == 0 && order.has_gap() {
                tracing::warn!(%room, after = %from, "gap not in the database; skipping it");
                release.extend(order.skip_gap());
            }
            // Delivered under the lock, so nothing released later can overtake these.
            release.iter().for_each(|frame| {
                self.inner.hub.deliver(&BusTarget::Room(room), frame);
            });
        }
        if !release.is_empty() {
            metrics::GAP_REPAIRS.increment(1);
        }
        Ok(Some((fetched, has_more)))
    }

    /// Fills a room's gap from the database if the late publish does not arrive in time.
    async fn repair_gap(self, room: RoomId, urgent: bool) {
        let mut wait = !urgent;
        loop {
            if wait {
                tokio::time::sleep(GAP_WAIT).await;
            }
            match self.orders().get_mut(&room) {
                None => return,
                Some(order) if !order.has_gap() => {
                    order.repair_done();
                    return;
                }
                Some(_) => {}
            }
            match self.pull(room).await {
                Ok(None) => return,
                Ok(Some(_)) => {}
                Err(err) => {
                    tracing::warn!(%room, error = %err, "cannot read a gap from the database; retrying");
                    wait = true;
                    continue;
                }
            }
            let again = self
                .orders()
                .get_mut(&room)
                .is_some_and(|order| order.repair_done());
            if !again {
                return;
            }
            wait = false;
        }
    }

    /// Repairs what the bus lost while it was down. Memberships first, so that a room left
    /// meanwhile gets none of its missed messages; then every room served here, those just
    /// joined included, is caught up.
    async fn after_reconnect(self) {
        self.end_signed_out_sessions().await;
        self.reconcile_memberships().await;
        let rooms: Vec<RoomId> = self.orders().keys().copied().collect();
        for room in rooms {
            tokio::spawn(self.clone().catch_up(room));
        }
    }

    /// Closes the local connections of sessions signed out (or expired) while the bus was
    /// down: the `session_ended` published then never arrived.
    async fn end_signed_out_sessions(&self) {
        let sessions = self.inner.hub.connected_sessions();
        for chunk in sessions.chunks(RECONCILE_CHUNK) {
            let hashes: Vec<&str> = chunk.iter().map(|(_, s)| &**s).collect();
            let valid = match db::sessions::still_valid(&self.inner.db, &hashes).await {
                Ok(valid) => valid,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot check sessions after a bus outage");
                    return;
                }
            };
            for (user, session) in chunk.iter().filter(|(_, s)| !valid.contains(&**s)) {
                let target = BusTarget::Session {
                    user: *user,
                    session: session.to_string(),
                };
                if let Some(bytes) = encode(&ServerFrame::SessionEnded) {
                    self.apply(&target, &ServerFrame::SessionEnded, bytes);
                }
            }
        }
    }

    /// Brings the rooms of every local connection in line with the stored memberships:
    /// `room_joined` and `room_left` published while the bus was down never arrived.
    async fn reconcile_memberships(&self) {
        // Held across the reads on purpose, see `Inner::reconciling`.
        let _one_at_a_time = self.inner.reconciling.lock().await;
        let mut users = self.inner.hub.connected_users();
        let mut changed = 0;
        for _pass in 0..RECONCILE_PASSES {
            if users.is_empty() {
                break;
            }
            let mut again = Vec::new();
            let mut failed = false;
            for chunk in users.chunks(RECONCILE_CHUNK) {
                match self.reconcile_chunk(chunk).await {
                    Ok((stale, count)) => {
                        again.extend(stale);
                        changed += count;
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot read memberships to reconcile; retrying");
                        again.extend_from_slice(chunk);
                        failed = true;
                    }
                }
            }
            users = again;
            if failed {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if !users.is_empty() {
            tracing::warn!(
                users = users.len(),
                "gave up reconciling some users' rooms with the database"
            );
        }
        if changed > 0 {
            tracing::info!(
                changed,
                "rooms joined or left while the bus was down applied to local connections"
            );
        }
    }

    /// Reconciles the users of one chunk. Returns those whose rooms changed while they
    /// were being read (to do again), and how many users' rooms this changed.
    async fn reconcile_chunk(&self, users: &[UserId]) -> Result<(Vec<UserId>, usize), sqlx::Error> {
        let db = &self.inner.db;
        // Read before the database: a membership event applied after this moves the
        // user's stamp, and what is read below is then not applied to them.
        let local = self.inner.hub.rooms_of(users);
        let ids: Vec<UserId> = local.iter().map(|(user, _)| *user).collect();
        let mut stored: HashMap<UserId, HashMap<RoomId, Seq>> = HashMap::new();
        for (user, room, read) in db::rooms::memberships_of(db, &ids).await? {
            stored.entry(user).or_default().insert(room, read);
        }
        let (mut stale, mut changed) = (Vec::new(), 0);
        for (user, seen) in local {
            let rooms = stored.remove(&user).unwrap_or_default();
            let leave: Vec<RoomId> = seen
                .some
                .iter()
                .filter(|room| !rooms.contains_key(room))
                .copied()
                .collect();
            let mut joined = Vec::new();
            for room in rooms.keys().filter(|room| !seen.every.contains(room)) {
                // `None`: left since the read above; nothing to add then.
                if let Some(summary) = db::rooms::summary(db, user, *room).await? {
                    joined.push(summary);
                }
            }
            self.fill_peer_presence(&mut joined).await;
            if !joined.is_empty() || !leave.is_empty() {
                if !self.apply_reconciled(user, seen.stamp, joined, &leave) {
                    stale.push(user);
                    continue;
                }
                changed += 1;
            }
            // Read markers moved meanwhile, by a tab on another instance, were lost too.
            // Telling one again is harmless: a marker never moves back.
            for (room, seq) in &rooms {
                if seq.0 > 0
                    && seen.some.contains(room)
                    && let Some(bytes) = encode(&ServerFrame::ReadMarker {
                        room: *room,
                        seq: *seq,
                    })
                {
                    self.inner.hub.deliver(&BusTarget::User(user), &bytes);
                }
            }
        }
        Ok((stale, changed))
    }

    /// Applies one user's reconciled rooms unless they changed since `stamp`; `false`
    /// then. Subscriptions and release orders follow, as for any join or leave.
    fn apply_reconciled(
        &self,
        user: UserId,
        stamp: u64,
        joined: Vec<RoomSummary>,
        leave: &[RoomId],
    ) -> bool {
        let join: Vec<RoomId> = joined.iter().map(|room| room.id).collect();
        let mut orders = self.orders();
        let Some(done) = self.inner.hub.reconcile_user(user, stamp, &join, leave) else {
            return false;
        };
        for room in &joined {
            if done.occupied.contains(&room.id) {
                orders.insert(room.id, RoomOrder::new(room.last_seq));
            }
        }
        for room in &done.vacated {
            orders.remove(room);
        }
        // Queued under the lock, as released messages are: `room_joined` goes before the
        // room's first message, `room_left` after its last.
        let joined: HashMap<RoomId, Utf8Bytes> = joined
            .into_iter()
            .filter_map(|room| {
                let id = room.id;
                encode(&ServerFrame::RoomJoined { room }).map(|bytes| (id, bytes))
            })
            .collect();
        for (peer, added, removed) in &done.changed {
            for room in added {
                if let Some(bytes) = joined.get(room) {
                    peer.push(bytes.clone());
                }
            }
            for room in removed {
                if let Some(bytes) = encode(&ServerFrame::RoomLeft { room: *room }) {
                    peer.push(bytes);
                }
            }
        }
        drop(orders);
        for room in done.occupied {
            self.inner.bus.subscribe(BusTarget::Room(room));
        }
        for room in done.vacated {
            self.inner.bus.unsubscribe(BusTarget::Room(room));
        }
        true
    }

    /// Sets whether each direct room's other user is online now.
    async fn fill_peer_presence(&self, rooms: &mut [RoomSummary]) {
        let Some(online) = self.inner.online.0.get() else {
            return;
        };
        let peers: Vec<UserId> = rooms
            .iter()
            .filter_map(|room| room.peer.as_ref().map(|peer| peer.id))
            .collect();
        if peers.is_empty() {
            return;
        }
        let online = online(peers).await;
        for peer in rooms.iter_mut().filter_map(|room| room.peer.as_mut()) {
            peer.online = online.contains(&peer.id);
        }
    }

    /// Releases everything committed in a room since its released seq (after the bus was
    /// down, its publishes are lost; the database has them all).
    async fn catch_up(self, room: RoomId) {
        for _attempt in 0..60 {
            match self.pull(room).await {
                Ok(Some((_, true))) => continue,
                Ok(Some((_, false)) | None) => return,
                Err(err) => {
                    tracing::warn!(%room, error = %err, "cannot catch up from the database; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

fn typing_off(ended: Ended) -> ServerFrame {
    ServerFrame::TypingChanged {
        room: ended.room,
        user: ended.user,
        username: ended.username,
        on: false,
    }
}

/// Tells local connections that indicators nobody refreshed have ended. Every instance
/// does this for the indicators it delivered, so none outlives a dead typist or instance.
/// It also forwards the typing restarts of this instance's typists that were held back
/// over their budget, once it allows them.
async fn end_lapsed_typing(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(TYPING_TICK);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let realtime = Realtime { inner };
        let now = Instant::now();
        for ended in realtime.inner.typing.lapsed(now) {
            realtime.deliver_local(typing_off(ended));
        }
        for restart in realtime.inner.typing.due_restarts(now) {
            realtime.publish(
                BusTarget::Room(restart.room),
                ServerFrame::TypingChanged {
                    room: restart.room,
                    user: restart.user,
                    username: restart.username,
                    on: true,
                },
            );
        }
    }
}
