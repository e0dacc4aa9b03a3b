//! Who is online. A user is online while they have at least one live connection on any
//! instance; several tabs and devices count as one. Each change is announced once, as a
//! `status` frame, to the connections of everyone who shares a room with that user.
//!
//! With Redis, presence is a lease per instance and user (see `leases`), renewed while the
//! connections live, so a killed instance's users go offline within the TTL and a
//! restarted one brings nobody back until they reconnect. Alone, the hub's own count of
//! connections is the truth and nothing can lapse.
//!
//! Changes of one user are applied in order by one worker (users are spread over a few
//! workers), so a quick connect–disconnect–connect can never be announced out of order.
//!
//! Redis going away must not leave anyone online for good. A release that fails is
//! retried once Redis answers again (the lease the sweep would have found may be gone with
//! a restart), and a user is announced offline when no instance holds a live lease on them
//! any more; a user whose lease could not be taken is announced online by the next
//! renewal. Changes found while Redis is failing, or soon after it came back, are held
//! until every instance has had time to resubscribe to the bus and renew its leases, so
//! none misses them (see `Health`).

mod leases;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use confab_protocol::{BusTarget, InstanceId, ServerFrame, UnixMillis, UserId};
use tokio::sync::mpsc;

use crate::bus::redis::RESUBSCRIBED_WITHIN;
use crate::db::{self, Db};
use crate::realtime::Realtime;

pub use leases::{RedisLeases, Released};

/// Rooms bigger than this do not carry their members' presence: announcing every
/// sign-in to thousands of members costs more than it tells them (their member lists still
/// show who is online when opened).
pub const MAX_ROOM_MEMBERS_FOR_PRESENCE: i64 = 1000;
/// Workers applying presence changes (each user always goes to the same one).
const WORKERS: usize = 4;
/// How long a request waits for Redis to say who is online before it goes on with this
/// instance's own users.
const READ_TIMEOUT: Duration = Duration::from_secs(1);

/// What a worker applies.
#[derive(Debug)]
enum Change {
    /// The user's first connection on this instance opened.
    Connected(UserId),
    /// The user's last connection on this instance closed.
    Disconnected(UserId),
    /// Renew this instance's leases on these users (if still connected here).
    Renew(Vec<UserId>),
    /// Make the announcements owed to these users, now that Redis has settled.
    Settle(Vec<UserId>),
}

/// An announcement held back until Redis has settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owed {
    /// Online: the user is connected here.
    Online,
    /// Offline: the user's last connection here closed. This instance may still hold a
    /// lease on them (its release failed), and they may be online elsewhere.
    Offline,
}

/// Whether Redis answers, and since when. Announcements wait while it fails and for a
/// while after it came back: another instance may still be resubscribing to the bus (and
/// would miss them) or renewing its leases (whose users would look offline).
#[derive(Debug, Default)]
struct Health {
    failing: bool,
    back_since: Option<Instant>,
}

impl Health {
    fn failed(&mut self) {
        self.failing = true;
        self.back_since = None;
    }

    fn answered(&mut self, now: Instant) {
        if self.failing {
            self.failing = false;
            self.back_since = Some(now);
        }
    }

    fn settled(&self, now: Instant, after: Duration) -> bool {
        !self.failing
            && self
                .back_since
                .is_none_or(|since| now.duration_since(since) >= after)
    }
}

/// Cheap-to-clone handle to this instance's presence.
#[derive(Debug, Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    leases: Option<RedisLeases>,
    db: Db,
    realtime: Realtime,
    ttl: Duration,
    workers: Vec<mpsc::UnboundedSender<Change>>,
    health: Mutex<Health>,
    /// How long Redis must have answered before held announcements are made.
    settle_after: Duration,
    /// Announcements held until Redis settles, by user.
    owed: Mutex<HashMap<UserId, Owed>>,
}

impl Presence {
    /// Starts presence for this instance: shared leases in Redis when `redis` is given,
    /// else the local hub alone. `ttl` is how long a lease outlives its last renewal.
    pub fn start(
        redis: Option<redis::Client>,
        instance: InstanceId,
        ttl: Duration,
        db: Db,
        realtime: Realtime,
    ) -> Result<Self, redis::RedisError> {
        let leases = match redis {
            Some(client) => Some(RedisLeases::new(client, instance, ttl)?),
            None => None,
        };
        let mut receivers = Vec::with_capacity(WORKERS);
        let mut workers = Vec::with_capacity(WORKERS);
        for _ in 0..WORKERS {
            let (tx, rx) = mpsc::unbounded_channel();
            workers.push(tx);
            receivers.push(rx);
        }
        let presence = Self {
            inner: Arc::new(Inner {
                leases,
                db,
                realtime,
                ttl,
                workers,
                health: Mutex::default(),
                // Every instance resubscribed, and renewed its leases once.
                settle_after: RESUBSCRIBED_WITHIN + renew_interval(ttl),
                owed: Mutex::default(),
            }),
        };
        for rx in receivers {
            tokio::spawn(presence.clone().work(rx));
        }
        // Weak: realtime lives as long as presence does, not the other way round.
        let weak = Arc::downgrade(&presence.inner);
        presence
            .inner
            .realtime
            .answer_online_with(Arc::new(move |users: Vec<UserId>| {
                let weak = weak.clone();
                Box::pin(async move {
                    match weak.upgrade() {
                        Some(inner) => Presence { inner }.online(&users).await,
                        None => HashSet::new(),
                    }
                })
            }));
        if presence.inner.leases.is_some() {
            tokio::spawn(presence.clone().maintain());
        }
        Ok(presence)
    }

    fn worker(&self, user: UserId) -> &mpsc::UnboundedSender<Change> {
        &self.inner.workers[worker_index(user)]
    }

    /// Sends `users` to their workers, each worker's share as one change.
    fn send_sharded(
        &self,
        users: impl IntoIterator<Item = UserId>,
        change: fn(Vec<UserId>) -> Change,
    ) {
        let mut shards: Vec<Vec<UserId>> = vec![Vec::new(); WORKERS];
        for user in users {
            shards[worker_index(user)].push(user);
        }
        for (worker, users) in self.inner.workers.iter().zip(shards) {
            if !users.is_empty() {
                let _ = worker.send(change(users));
            }
        }
    }

    // Short sections that never await: std mutexes are right here.
    fn health(&self) -> MutexGuard<'_, Health> {
        self.inner
            .health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn owed(&self) -> MutexGuard<'_, HashMap<UserId, Owed>> {
        self.inner
            .owed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn settled(&self) -> bool {
        self.health()
            .settled(Instant::now(), self.inner.settle_after)
    }

    /// `user`'s first connection on this instance opened.
    pub fn connected(&self, user: UserId) {
        let _ = self.worker(user).send(Change::Connected(user));
    }

    /// `user`'s last connection on this instance closed.
    pub fn disconnected(&self, user: UserId) {
        let _ = self.worker(user).send(Change::Disconnected(user));
    }

    /// Which of `users` are online now, on any instance. When presence cannot be read
    /// (Redis down or slow), only this instance's own users count; they always do, even
    /// before their leases are renewed after a Redis restart. Requests wait on this (a join,
    /// a member list, a new direct room), so it never waits on a Redis known to be failing
    /// and gives up on one that does not answer within [`READ_TIMEOUT`].
    pub async fn online(&self, users: &[UserId]) -> HashSet<UserId> {
        let hub = self.inner.realtime.hub();
        let local = || users.iter().copied().filter(|u| hub.has_user(*u));
        let Some(leases) = &self.inner.leases else {
            return local().collect();
        };
        if self.health().failing {
            return local().collect();
        }
        let read = tokio::time::timeout(READ_TIMEOUT, leases.online(users, db::now())).await;
        match read
            .unwrap_or_else(|_| Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()))
        {
            Ok(mut online) => {
                online.extend(local());
                online
            }
            // Not counted as an outage: one slow read must not hold announcements back
            // (the sweep, every few seconds, is what tells).
            Err(err) => {
                tracing::warn!(error = %err, "cannot read presence from redis");
                local().collect()
            }
        }
    }

    async fn work(self, mut changes: mpsc::UnboundedReceiver<Change>) {
        while let Some(change) = changes.recv().await {
            match change {
                Change::Connected(user) => {
                    // Whatever was owed them is moot: they are here again.
                    self.owed().remove(&user);
                    if self.came_online(user).await {
                        self.announce_or_owe(user, Owed::Online).await;
                    }
                }
                Change::Disconnected(user) => {
                    self.owed().remove(&user);
                    match self.release(user).await {
                        // No lease left, even if this one was lost (a Redis restart):
                        // nobody else would announce them.
                        Some(Released::Last | Released::NoneLeft) => {
                            self.announce_or_owe(user, Owed::Offline).await;
                        }
                        Some(Released::OthersHold) => {}
                        // Retried once Redis has settled: the lease a sweep would find
                        // may not survive the outage.
                        None => {
                            if !self.inner.realtime.hub().has_user(user) {
                                self.owed().insert(user, Owed::Offline);
                            }
                        }
                    }
                }
                Change::Renew(users) => self.renew(users).await,
                Change::Settle(users) => {
                    for user in users {
                        self.settle(user).await;
                    }
                }
            }
        }
    }

    async fn came_online(&self, user: UserId) -> bool {
        let Some(leases) = &self.inner.leases else {
            return true;
        };
        match leases.acquire(user, db::now()).await {
            Ok(came_online) => {
                self.health().answered(Instant::now());
                came_online
            }
            Err(err) => {
                // The next renewal takes the lease and announces them once Redis is back.
                self.health().failed();
                tracing::warn!(%user, error = %err, "cannot take a presence lease");
                false
            }
        }
    }

    /// Gives up this instance's lease on `user`; `None` when Redis did not answer.
    async fn release(&self, user: UserId) -> Option<Released> {
        let Some(leases) = &self.inner.leases else {
            return Some(Released::Last);
        };
        match leases.release(user, db::now()).await {
            Ok(released) => {
                self.health().answered(Instant::now());
                Some(released)
            }
            Err(err) => {
                self.health().failed();
                tracing::warn!(%user, error = %err, "cannot release a presence lease; retrying later");
                None
            }
        }
    }

    /// Announces a change now, or once Redis has settled if it has not.
    async fn announce_or_owe(&self, user: UserId, change: Owed) {
        if !self.settled() {
            self.owed().insert(user, change);
            return;
        }
        match change {
            Owed::Online => self.announce(user, true, None).await,
            Owed::Offline => self.offline(user).await,
        }
    }

    /// Makes the announcement owed to `user`, if it still holds: online while they are
    /// connected here; offline while they are not, once no instance holds a live lease on
    /// them (this one's is given up first, if its release failed before).
    async fn settle(&self, user: UserId) {
        let Some(owed) = self.owed().remove(&user) else {
            return;
        };
        let here = self.inner.realtime.hub().has_user(user);
        match (owed, here) {
            (Owed::Online, true) => self.announce(user, true, None).await,
            // Left since, or came back: that change decided.
            (Owed::Online, false) | (Owed::Offline, true) => {}
            (Owed::Offline, false) => match self.release(user).await {
                Some(Released::Last | Released::NoneLeft) => self.offline(user).await,
                // Online on another instance (which announces them if it must).
                Some(Released::OthersHold) => {}
                None => {
                    self.owed().insert(user, Owed::Offline);
                }
            },
        }
    }

    async fn renew(&self, users: Vec<UserId>) {
        let Some(leases) = &self.inner.leases else {
            return;
        };
        // Checked now, in order with this worker's other changes: a user who left after
        // the renewal was queued is not brought back.
        let hub = self.inner.realtime.hub();
        let users: Vec<UserId> = users.into_iter().filter(|u| hub.has_user(*u)).collect();
        match leases.renew(&users, db::now()).await {
            Ok(lapsed) => {
                self.health().answered(Instant::now());
                // Among them, after a Redis restart, users whose lease could not be taken
                // when they connected.
                for user in lapsed {
                    self.announce_or_owe(user, Owed::Online).await;
                }
            }
            Err(err) => {
                self.health().failed();
                tracing::warn!(error = %err, "cannot renew presence leases");
            }
        }
    }

    /// Records when the user was last seen and tells the users who share a room with them.
    async fn offline(&self, user: UserId) {
        let at = db::now();
        if let Err(err) = db::users::touch_last_seen(&self.inner.db, user, at).await {
            tracing::warn!(%user, error = %err, "cannot record last_seen");
        }
        self.announce(user, false, Some(at)).await;
    }

    async fn announce(&self, user: UserId, online: bool, last_seen: Option<UnixMillis>) {
        let db = &self.inner.db;
        let found = async {
            let rooms = db::rooms::presence_rooms(db, user, MAX_ROOM_MEMBERS_FOR_PRESENCE).await?;
            let name = db::users::name(db, user).await?;
            Ok::<_, sqlx::Error>((rooms, name))
        };
        match found.await {
            Ok((rooms, Some(username))) if !rooms.is_empty() => {
                crate::metrics::PRESENCE_CHANGES.increment(1);
                self.inner.realtime.publish(
                    BusTarget::Rooms(rooms),
                    ServerFrame::PresenceChanged {
                        user,
                        username,
                        online,
                        last_seen,
                    },
                );
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(%user, error = %err, "cannot announce a presence change"),
        }
    }

    /// Renews this instance's leases a few times per TTL, sweeps every instance's lapsed
    /// ones (the sweep is atomic: each lapse is announced by one instance), and makes the
    /// announcements held back once Redis has settled.
    async fn maintain(self) {
        let Some(leases) = &self.inner.leases else {
            return;
        };
        let renew_every = renew_interval(self.inner.ttl);
        let sweep_every = (self.inner.ttl / 5).max(Duration::from_millis(200));
        let mut renew = tokio::time::interval(renew_every);
        let mut sweep = tokio::time::interval(sweep_every);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Still connecting at start-up is no outage: the other instances hear us.
        let mut bus_was_up = false;
        loop {
            tokio::select! {
                _ = renew.tick() => {
                    self.send_sharded(self.inner.realtime.hub().connected_users(), Change::Renew);
                }
                _ = sweep.tick() => {
                    // When our own bus is down, Redis is (or was just) away for the
                    // others too: they may not hear what is announced either.
                    if self.inner.realtime.bus().is_connected() {
                        bus_was_up = true;
                    } else if bus_was_up {
                        self.health().failed();
                    }
                    match leases.sweep(db::now()).await {
                        Ok(gone) => {
                            self.health().answered(Instant::now());
                            for user in gone {
                                tracing::info!(%user, "presence lease lapsed");
                                self.announce_or_owe(user, Owed::Offline).await;
                            }
                            if self.settled() {
                                let owed: Vec<UserId> = self.owed().keys().copied().collect();
                                self.send_sharded(owed, Change::Settle);
                            }
                        }
                        Err(err) => {
                            self.health().failed();
                            tracing::debug!(error = %err, "cannot sweep presence leases");
                        }
                    }
                }
            }
        }
    }
}

/// The worker that applies `user`'s changes.
fn worker_index(user: UserId) -> usize {
    usize::try_from(user.0.rem_euclid(WORKERS as i64)).unwrap_or(0)
}

/// How often an instance renews its leases: a few times per TTL.
fn renew_interval(ttl: Duration) -> Duration {
    ttl / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_wait_until_redis_has_answered_for_a_while_after_failing() {
        let after = Duration::from_secs(10);
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut health = Health::default();
        assert!(health.settled(start, after), "settled from the start");
        health.answered(at(1));
        assert!(health.settled(at(1), after), "answers alone change nothing");

        health.failed();
        assert!(!health.settled(at(30), after), "not while failing");
        health.answered(at(31));
        health.answered(at(35));
        assert!(!health.settled(at(40), after));
        assert!(
            health.settled(at(41), after),
            "counted from the first answer"
        );
        health.failed();
        assert!(!health.settled(at(60), after), "a new failure starts over");
    }
}
