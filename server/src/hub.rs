//! Local fan-out: which connections on *this* instance belong to which rooms and users,
//! and delivery of already-serialized events to them.
//!
//! The hub knows nothing of the bus or the database. Delivery takes a snapshot of a room's
//! recipients (an `Arc<[Peer]>`, copied on membership change, not on delivery) and pushes
//! the same shared bytes into each connection's bounded queue without waiting: a
//! connection whose queue is full is a slow consumer and is told to close, so one stalled
//! reader never holds up a room or grows the server's memory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use confab_protocol::{BusTarget, RoomId, UserId};
use tokio::sync::{mpsc, watch};

/// Identifies one WebSocket connection on this instance.
pub type ConnId = u64;

/// A request to close one connection, shared by the hub and the connection's tasks.
/// Holds 0 until a close is requested, then the close code; the first request wins.
#[derive(Debug)]
pub struct CloseSignal(watch::Sender<u16>);

impl Default for CloseSignal {
    fn default() -> Self {
        Self(watch::Sender::new(0))
    }
}

impl CloseSignal {
    /// Asks the connection to close with `code`; the first request wins.
    pub fn close(&self, code: u16) {
        self.0.send_if_modified(|current| {
            let first = *current == 0;
            if first {
                *current = code;
            }
            first
        });
    }

    /// The requested close code, if any.
    pub fn code(&self) -> Option<u16> {
        Some(*self.0.borrow()).filter(|c| *c != 0)
    }

    /// Waits until a close is requested and returns its code.
    pub async fn requested(&self) -> u16 {
        let mut rx = self.0.subscribe();
        rx.wait_for(|c| *c != 0)
            .await
            .map(|c| *c)
            .unwrap_or(confab_protocol::close::GOING_AWAY)
    }
}

/// One local connection as the hub sees it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The connection.
    pub id: ConnId,
    /// Its user.
    pub user: UserId,
    /// The hash of the session it was opened with (sign-out closes it).
    pub session: Arc<str>,
    queue: mpsc::Sender<Utf8Bytes>,
    close: Arc<CloseSignal>,
    backlog: Arc<AtomicUsize>,
}

/// Most bytes of frames one connection may have queued or being written. Frames are
/// counted by their own length, shared or not, so this bounds what one slow reader can
/// pin: a few thousand frames of a few dozen bytes fit, a few history pages (up to
/// `limits::MAX_PAGE_BYTES` each) fit, an endless stream of them does not.
pub const MAX_BACKLOG_BYTES: usize = 16 * 1024 * 1024;

impl Peer {
    /// Queues a frame without waiting; a full queue — too many frames, or more than
    /// [`MAX_BACKLOG_BYTES`] — closes the connection as a slow consumer. Returns whether
    /// the frame was queued.
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        let len = frame.len();
        let before = self.backlog.fetch_add(len, Ordering::Relaxed);
        if before + len > MAX_BACKLOG_BYTES {
            self.backlog.fetch_sub(len, Ordering::Relaxed);
            self.slow_consumer();
            return false;
        }
        match self.queue.try_send(frame) {
            Ok(()) => true,
            Err(err) => {
                self.backlog.fetch_sub(len, Ordering::Relaxed);
                if matches!(err, mpsc::error::TrySendError::Full(_)) {
                    self.slow_consumer();
                }
                false
            }
        }
    }

    fn slow_consumer(&self) {
        if self.close.code().is_none() {
            tracing::warn!(conn = self.id, user = %self.user, "slow consumer: outbound queue full, closing");
            crate::metrics::SLOW_CONSUMERS.increment(1);
        }
        self.close.close(confab_protocol::close::SLOW_CONSUMER);
    }

    /// Asks the connection to close with `code`.
    pub fn close(&self, code: u16) {
        self.close.close(code);
    }
}

/// What a connection's tasks hold: the receiving end of its queue and its close signal.
#[derive(Debug)]
pub struct PeerEnd {
    /// Frames to write, in order.
    pub queue: mpsc::Receiver<Utf8Bytes>,
    /// Set when the connection must close.
    pub close: Arc<CloseSignal>,
    /// Bytes queued or being written, counted up by [`Peer::push`]; the writer counts
    /// them down with [`PeerEnd::written`].
    backlog: Arc<AtomicUsize>,
}

impl PeerEnd {
    /// `bytes` of frames reached the socket.
    pub fn written(&self, bytes: usize) {
        self.backlog.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Rooms and a user whose local presence changed: newly occupied on `register`, newly
/// empty on `unregister`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Occupancy {
    /// Rooms that changed.
    pub rooms: Vec<RoomId>,
    /// Whether the connection's user changed.
    pub user: bool,
}

/// The rooms of one user's local connections, as `Hub::rooms_of` saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRooms {
    /// Changes whenever the user's rooms may have changed: pass it back to
    /// `Hub::reconcile_user`, which applies nothing if it moved.
    pub stamp: u64,
    /// Rooms every connection of the user is in.
    pub every: HashSet<RoomId>,
    /// Rooms at least one connection of the user is in.
    pub some: HashSet<RoomId>,
}

/// What `Hub::reconcile_user` changed.
#[derive(Debug, Default)]
pub struct Reconciled {
    /// Rooms that had no local connection before.
    pub occupied: Vec<RoomId>,
    /// Rooms left with no local connection.
    pub vacated: Vec<RoomId>,
    /// Each connection that changed: the rooms it was added to, and removed from.
    pub changed: Vec<(Peer, Vec<RoomId>, Vec<RoomId>)>,
}

#[derive(Debug, Default)]
struct Inner {
    rooms: HashMap<RoomId, Arc<[Peer]>>,
    users: HashMap<UserId, Vec<Peer>>,
    conn_rooms: HashMap<ConnId, HashSet<RoomId>>,
    /// Per connected user, the stamp of the last change to their rooms (from `next_stamp`,
    /// never reused, so a user who leaves and comes back gets a new one).
    stamps: HashMap<UserId, u64>,
    next_stamp: u64,
}

impl Inner {
    /// Records that `user`'s rooms changed, or may have (a membership event arrived).
    fn touch(&mut self, user: UserId) {
        if self.users.contains_key(&user) {
            self.next_stamp += 1;
            self.stamps.insert(user, self.next_stamp);
        }
    }
}

/// The local registry of connections.
#[derive(Debug, Default)]
pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
}

impl Hub {
    // Sections under this lock are short and never await: a std mutex is right here.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a connection's queue (holding at most `capacity` frames) with `greeting`
    /// first in it, then registers it in `rooms` — so nothing can overtake the greeting.
    /// Returns the peer, its receiving end, and what became occupied: the rooms that had no
    /// local connection before, and whether the user had none (to subscribe to on the bus).
    pub fn register(
        &self,
        user: UserId,
        session: Arc<str>,
        rooms: &[RoomId],
        capacity: usize,
        greeting: Option<Utf8Bytes>,
    ) -> (Peer, PeerEnd, Occupancy) {
        let (tx, rx) = mpsc::channel(capacity.max(2));
        let backlog = Arc::new(AtomicUsize::new(0));
        if let Some(greeting) = greeting {
            backlog.fetch_add(greeting.len(), Ordering::Relaxed);
            let _ = tx.try_send(greeting);
        }
        let close = Arc::new(CloseSignal::default());
        let peer = Peer {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            user,
            session,
            queue: tx,
            close: close.clone(),
            backlog: backlog.clone(),
        };
        let mut inner = self.lock();
        let peers = inner.users.entry(user).or_default();
        let user_occupied = peers.is_empty();
        peers.push(peer.clone());
        inner
            .conn_rooms
            .insert(peer.id, rooms.iter().copied().collect());
        let rooms = rooms
            .iter()
            .filter(|room| add_to_room(&mut inner, **room, &peer))
            .copied()
            .collect();
        inner.touch(user);
        (
            peer,
            PeerEnd {
                queue: rx,
                close,
                backlog,
            },
            Occupancy {
                rooms,
                user: user_occupied,
            },
        )
    }

    /// Removes a connection. Returns what it left empty: the rooms with no local
    /// connection now, and whether its user has none.
    pub fn unregister(&self, peer: &Peer) -> Occupancy {
        let mut inner = self.lock();
        let mut user_vacated = false;
        if let Some(peers) = inner.users.get_mut(&peer.user) {
            peers.retain(|p| p.id != peer.id);
            if peers.is_empty() {
                inner.users.remove(&peer.user);
                inner.stamps.remove(&peer.user);
                user_vacated = true;
            }
        }
        let rooms = inner.conn_rooms.remove(&peer.id).unwrap_or_default();
        let rooms = rooms
            .into_iter()
            .filter(|room| remove_from_room(&mut inner, *room, peer.id))
            .collect();
        Occupancy {
            rooms,
            user: user_vacated,
        }
    }

    /// Adds every local connection of `user` to `room`. Returns whether the room had no
    /// local connection before.
    pub fn add_user_to_room(&self, user: UserId, room: RoomId) -> bool {
        let mut inner = self.lock();
        // Even when nothing changes: a reconcile that read the database before this
        // membership event must not apply what it read.
        inner.touch(user);
        let peers = inner.users.get(&user).cloned().unwrap_or_default();
        let mut occupied = false;
        for peer in &peers {
            if inner
                .conn_rooms
                .get_mut(&peer.id)
                .is_some_and(|rooms| rooms.insert(room))
            {
                occupied |= add_to_room(&mut inner, room, peer);
            }
        }
        occupied
    }

    /// Removes every local connection of `user` from `room`. Returns whether the room has
    /// no local connection left.
    pub fn remove_user_from_room(&self, user: UserId, room: RoomId) -> bool {
        let mut inner = self.lock();
        inner.touch(user);
        let ids: Vec<ConnId> = inner
            .users
            .get(&user)
            .map(|p| p.iter().map(|p| p.id).collect())
            .unwrap_or_default();
        let mut vacated = false;
        for id in ids {
            if inner
                .conn_rooms
                .get_mut(&id)
                .is_some_and(|rooms| rooms.remove(&room))
            {
                vacated |= remove_from_room(&mut inner, room, id);
            }
        }
        vacated
    }

    /// The rooms of the local connections of each of `users` that has any, with a stamp
    /// for `reconcile_user`.
    pub fn rooms_of(&self, users: &[UserId]) -> Vec<(UserId, LocalRooms)> {
        let inner = self.lock();
        users
            .iter()
            .filter_map(|user| {
                let stamp = *inner.stamps.get(user)?;
                let mut sets = inner
                    .users
                    .get(user)?
                    .iter()
                    .filter_map(|peer| inner.conn_rooms.get(&peer.id));
                let first = sets.next().cloned().unwrap_or_default();
                let (mut every, mut some) = (first.clone(), first);
                for rooms in sets {
                    every.retain(|room| rooms.contains(room));
                    some.extend(rooms.iter().copied());
                }
                Some((*user, LocalRooms { stamp, every, some }))
            })
            .collect()
    }

    /// Adds every local connection of `user` to the rooms of `join` it is not in, and
    /// removes it from those of `leave` — only if the user's rooms have not changed since
    /// `rooms_of` returned `stamp` (else `None`, and nothing is applied): what the caller
    /// read about them in between may be stale.
    pub fn reconcile_user(
        &self,
        user: UserId,
        stamp: u64,
        join: &[RoomId],
        leave: &[RoomId],
    ) -> Option<Reconciled> {
        let mut inner = self.lock();
        if inner.stamps.get(&user) != Some(&stamp) {
            return None;
        }
        let peers = inner.users.get(&user).cloned().unwrap_or_default();
        let mut done = Reconciled::default();
        for peer in peers {
            let (mut joined, mut left) = (Vec::new(), Vec::new());
            for room in join {
                if inner
                    .conn_rooms
                    .get_mut(&peer.id)
                    .is_some_and(|rooms| rooms.insert(*room))
                {
                    if add_to_room(&mut inner, *room, &peer) {
                        done.occupied.push(*room);
                    }
                    joined.push(*room);
                }
            }
            for room in leave {
                if inner
                    .conn_rooms
                    .get_mut(&peer.id)
                    .is_some_and(|rooms| rooms.remove(room))
                {
                    if remove_from_room(&mut inner, *room, peer.id) {
                        done.vacated.push(*room);
                    }
                    left.push(*room);
                }
            }
            if !joined.is_empty() || !left.is_empty() {
                done.changed.push((peer, joined, left));
            }
        }
        if !done.changed.is_empty() {
            inner.touch(user);
        }
        Some(done)
    }

    /// Whether connection `conn` receives `room`'s events.
    pub fn is_in_room(&self, conn: ConnId, room: RoomId) -> bool {
        self.lock()
            .conn_rooms
            .get(&conn)
            .is_some_and(|rooms| rooms.contains(&room))
    }

    /// Rooms with at least one local connection.
    pub fn occupied_rooms(&self) -> Vec<RoomId> {
        self.lock().rooms.keys().copied().collect()
    }

    /// Users with at least one local connection.
    pub fn connected_users(&self) -> Vec<UserId> {
        self.lock().users.keys().copied().collect()
    }

    /// The sessions with a connection here, each once, with their user.
    pub fn connected_sessions(&self) -> Vec<(UserId, Arc<str>)> {
        let inner = self.lock();
        let mut sessions: Vec<(UserId, Arc<str>)> = inner
            .users
            .iter()
            .flat_map(|(user, peers)| peers.iter().map(|p| (*user, p.session.clone())))
            .collect();
        sessions.sort();
        sessions.dedup();
        sessions
    }

    /// Whether `user` has a connection here.
    pub fn has_user(&self, user: UserId) -> bool {
        self.lock().users.contains_key(&user)
    }

    /// Queues `frame` for every local connection `target` names, once each. Returns how
    /// many connections it was queued for.
    pub fn deliver(&self, target: &BusTarget, frame: &Utf8Bytes) -> usize {
        let recipients: Arc<[Peer]> = {
            let inner = self.lock();
            match target {
                BusTarget::Room(room) => match inner.rooms.get(room) {
                    Some(peers) => peers.clone(),
                    None => return 0,
                },
                BusTarget::User(user) => match inner.users.get(user) {
                    Some(peers) => peers.as_slice().into(),
                    None => return 0,
                },
                BusTarget::Session { user, session } => match inner.users.get(user) {
                    Some(peers) => peers
                        .iter()
                        .filter(|p| *p.session == **session)
                        .cloned()
                        .collect(),
                    None => return 0,
                },
                BusTarget::Rooms(rooms) => {
                    let mut seen = HashSet::new();
                    rooms
                        .iter()
                        .filter_map(|room| inner.rooms.get(room))
                        .flat_map(|peers| peers.iter())
                        .filter(|peer| seen.insert(peer.id))
                        .cloned()
                        .collect()
                }
            }
        };
        recipients
            .iter()
            .filter(|peer| peer.push(frame.clone()))
            .count()
    }

    /// Closes every local connection opened with the session `session`.
    pub fn close_session(&self, user: UserId, session: &str, code: u16) {
        if let Some(peers) = self.lock().users.get(&user) {
            peers
                .iter()
                .filter(|p| &*p.session == session)
                .for_each(|p| p.close(code));
        }
    }

    /// Closes every local connection (shutdown).
    pub fn close_all(&self, code: u16) {
        for peers in self.lock().users.values() {
            peers.iter().for_each(|p| p.close(code));
        }
    }

    /// How many connections are registered.
    pub fn connection_count(&self) -> usize {
        self.lock().conn_rooms.len()
    }
}

/// Adds `peer` to `room`'s recipients; `true` when it is the room's first.
fn add_to_room(inner: &mut Inner, room: RoomId, peer: &Peer) -> bool {
    match inner.rooms.get_mut(&room) {
        Some(peers) => {
            let mut next = Vec::with_capacity(peers.len() + 1);
            next.extend(peers.iter().cloned());
            next.push(peer.clone());
            *peers = next.into();
            false
        }
        None => {
            inner.rooms.insert(room, Arc::from([peer.clone()]));
            true
        }
    }
}

/// Removes connection `id` from `room`'s recipients; `true` when the room is now empty.
fn remove_from_room(inner: &mut Inner, room: RoomId, id: ConnId) -> bool {
    let Some(peers) = inner.rooms.get_mut(&room) else {
        return false;
    };
    let next: Vec<Peer> = peers.iter().filter(|p| p.id != id).cloned().collect();
    if next.is_empty() {
        inner.rooms.remove(&room);
        true
    } else {
        *peers = next.into();
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_owned())
    }

    #[test]
    fn rooms_are_occupied_by_the_first_connection_and_vacated_by_the_last() {
        let hub = Hub::default();
        let (a, _a_end, occupied) =
            hub.register(UserId(1), "s1".into(), &[RoomId(1), RoomId(2)], 8, None);
        assert_eq!(
            (sorted(occupied.rooms), occupied.user),
            (vec![RoomId(1), RoomId(2)], true)
        );
        let (a2, _a2_end, occupied) = hub.register(UserId(1), "s1".into(), &[RoomId(2)], 8, None);
        assert_eq!(
            occupied,
            Occupancy {
                rooms: vec![],
                user: false
            }
        );
        let (b, _b_end, occupied) = hub.register(UserId(2), "s2".into(), &[RoomId(2)], 8, None);
        assert_eq!(
            occupied,
            Occupancy {
                rooms: vec![],
                user: true
            }
        );
        assert_eq!(
            hub.unregister(&a),
            Occupancy {
                rooms: vec![RoomId(1)],
                user: false
            }
        );
        assert_eq!(
            hub.unregister(&a2),
            Occupancy {
                rooms: vec![],
                user: true
            }
        );
        assert_eq!(
            hub.unregister(&b),
            Occupancy {
                rooms: vec![RoomId(2)],
                user: true
            }
        );
        assert!(hub.occupied_rooms().is_empty() && hub.connected_users().is_empty());
    }

    #[test]
    fn delivery_reaches_each_member_connection_once() {
        let hub = Hub::default();
        let (_a, mut a_end, _) = hub.register(UserId(1), "s1".into(), &[RoomId(1)], 8, None);
        let (_b, mut b_end, _) = hub.register(UserId(2), "s2".into(), &[RoomId(1)], 8, None);
        let (_c, mut c_end, _) = hub.register(UserId(3), "s3".into(), &[RoomId(9)], 8, None);
        assert_eq!(hub.deliver(&BusTarget::Room(RoomId(1)), &frame("hello")), 2);
        assert_eq!(a_end.queue.try_recv().ok().as_deref(), Some("hello"));
        assert_eq!(b_end.queue.try_recv().ok().as_deref(), Some("hello"));
        assert!(a_end.queue.try_recv().is_err());
        assert!(c_end.queue.try_recv().is_err());
    }

    #[test]
    fn joining_and_leaving_applies_to_all_of_a_users_connections() {
        let hub = Hub::default();
        let (a1, mut a1_end, _) = hub.register(UserId(1), "s1".into(), &[], 8, None);
        let (a2, mut a2_end, _) = hub.register(UserId(1), "s2".into(), &[], 8, None);
        assert!(hub.add_user_to_room(UserId(1), RoomId(5)));
        assert!(hub.is_in_room(a1.id, RoomId(5)) && hub.is_in_room(a2.id, RoomId(5)));
        assert_eq!(hub.deliver(&BusTarget::Room(RoomId(5)), &frame("x")), 2);
        assert!(a1_end.queue.try_recv().is_ok() && a2_end.queue.try_recv().is_ok());
        assert!(hub.remove_user_from_room(UserId(1), RoomId(5)));
        assert_eq!(hub.deliver(&BusTarget::Room(RoomId(5)), &frame("y")), 0);
    }

    #[test]
    fn a_multi_room_delivery_reaches_each_connection_once() {
        let hub = Hub::default();
        let (_a, mut a_end, _) =
            hub.register(UserId(1), "s1".into(), &[RoomId(1), RoomId(2)], 8, None);
        let (_b, mut b_end, _) = hub.register(UserId(2), "s2".into(), &[RoomId(2)], 8, None);
        let (_c, mut c_end, _) = hub.register(UserId(3), "s3".into(), &[RoomId(3)], 8, None);
        let target = BusTarget::Rooms(vec![RoomId(1), RoomId(2), RoomId(9)]);
        assert_eq!(hub.deliver(&target, &frame("status")), 2);
        assert!(a_end.queue.try_recv().is_ok() && a_end.queue.try_recv().is_err());
        assert!(b_end.queue.try_recv().is_ok() && b_end.queue.try_recv().is_err());
        assert!(c_end.queue.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_queue_closes_the_connection_as_a_slow_consumer() {
        let hub = Hub::default();
        let (_a, a_end, _) = hub.register(UserId(1), "s1".into(), &[RoomId(1)], 2, None);
        assert_eq!(hub.deliver(&BusTarget::Room(RoomId(1)), &frame("1")), 1);
        assert_eq!(hub.deliver(&BusTarget::Room(RoomId(1)), &frame("2")), 1);
        assert_eq!(hub.deliver(&BusTarget::Room(RoomId(1)), &frame("3")), 0);
        assert_eq!(
            a_end.close.requested().await,
            confab_protocol::close::SLOW_CONSUMER
        );
    }

    #[test]
    fn sign_out_closes_only_that_sessions_connections() {
        let hub = Hub::default();
        let (_a1, a1_end, _) = hub.register(UserId(1), "s1".into(), &[], 8, None);
        let (_a2, a2_end, _) = hub.register(UserId(1), "s2".into(), &[], 8, None);
        hub.close_session(UserId(1), "s1", confab_protocol::close::SESSION_ENDED);
        assert_eq!(
            a1_end.close.code(),
            Some(confab_protocol::close::SESSION_ENDED)
        );
        assert_eq!(a2_end.close.code(), None);
    }

    #[test]
    fn a_reconcile_applies_only_while_the_users_rooms_are_unchanged() {
        let hub = Hub::default();
        let (a1, _a1_end, _) =
            hub.register(UserId(1), "s1".into(), &[RoomId(1), RoomId(2)], 8, None);
        let (a2, _a2_end, _) = hub.register(UserId(1), "s2".into(), &[RoomId(2)], 8, None);
        let (_b, _b_end, _) = hub.register(UserId(2), "s3".into(), &[RoomId(2)], 8, None);
        let [(user, seen)] = hub.rooms_of(&[UserId(1)]).try_into().unwrap();
        assert_eq!(user, UserId(1));
        assert_eq!(seen.every, HashSet::from([RoomId(2)]));
        assert_eq!(seen.some, HashSet::from([RoomId(1), RoomId(2)]));

        // A membership event in between makes what was read stale.
        hub.remove_user_from_room(UserId(1), RoomId(7));
        assert!(
            hub.reconcile_user(UserId(1), seen.stamp, &[RoomId(3)], &[RoomId(1)])
                .is_none()
        );
        assert!(!hub.is_in_room(a1.id, RoomId(3)));

        let [(_, seen)] = hub.rooms_of(&[UserId(1)]).try_into().unwrap();
        let done = hub
            .reconcile_user(UserId(1), seen.stamp, &[RoomId(1), RoomId(3)], &[RoomId(2)])
            .unwrap();
        assert_eq!(sorted(done.occupied), vec![RoomId(3)]);
        assert!(done.vacated.is_empty(), "user 2 is still in room 2");
        let mut changed: Vec<(ConnId, Vec<RoomId>, Vec<RoomId>)> = done
            .changed
            .into_iter()
            .map(|(peer, joined, left)| (peer.id, sorted(joined), left))
            .collect();
        changed.sort();
        assert_eq!(
            changed,
            vec![
                (a1.id, vec![RoomId(3)], vec![RoomId(2)]),
                (a2.id, vec![RoomId(1), RoomId(3)], vec![RoomId(2)]),
            ]
        );
        assert!(hub.is_in_room(a2.id, RoomId(1)) && !hub.is_in_room(a2.id, RoomId(2)));
        // Its own change moves the stamp too.
        assert!(
            hub.reconcile_user(UserId(1), seen.stamp, &[], &[RoomId(1)])
                .is_none()
        );
    }

    fn sorted(mut rooms: Vec<RoomId>) -> Vec<RoomId> {
        rooms.sort();
        rooms
    }
}
