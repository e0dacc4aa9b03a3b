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

mod leases;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::{BusTarget, InstanceId, ServerFrame, UnixMillis, UserId};
use tokio::sync::mpsc;

use crate::db::{self, Db};
use crate::realtime::Realtime;

pub use leases::RedisLeases;

/// Rooms bigger than this do not carry their members' presence: announcing every
/// sign-in to thousands of members costs more than it tells them (their member lists still
/// show who is online when opened).
pub const MAX_ROOM_MEMBERS_FOR_PRESENCE: i64 = 1000;
/// Workers applying presence changes (each user always goes to the same one).
const WORKERS: usize = 4;

/// What a worker applies.
#[derive(Debug)]
enum Change {
    /// The user's first connection on this instance opened.
    Connected(UserId),
    /// The user's last connection on this instance closed.
    Disconnected(UserId),
    /// Renew this instance's leases on these users (if still connected here).
    Renew(Vec<UserId>),
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
            }),
        };
        for rx in receivers {
            tokio::spawn(presence.clone().work(rx));
        }
        if presence.inner.leases.is_some() {
            tokio::spawn(presence.clone().maintain());
        }
        Ok(presence)
    }

    fn worker(&self, user: UserId) -> &mpsc::UnboundedSender<Change> {
        let index = usize::try_from(user.0.rem_euclid(WORKERS as i64)).unwrap_or(0);
        &self.inner.workers[index]
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
    /// (Redis down), only this instance's own users count.
    pub async fn online(&self, users: &[UserId]) -> HashSet<UserId> {
        let hub = self.inner.realtime.hub();
        let local = || users.iter().copied().filter(|u| hub.has_user(*u)).collect();
        match &self.inner.leases {
            None => local(),
            Some(leases) => match leases.online(users, db::now()).await {
                Ok(online) => online,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read presence from redis");
                    local()
                }
            },
        }
    }

    async fn work(self, mut changes: mpsc::UnboundedReceiver<Change>) {
        while let Some(change) = changes.recv().await {
            match change {
                Change::Connected(user) => {
                    if self.came_online(user).await {
                        self.announce(user, true, None).await;
                    }
                }
                Change::Disconnected(user) => {
                    if self.went_offline(user).await {
                        self.offline(user).await;
                    }
                }
                Change::Renew(users) => self.renew(users).await,
            }
        }
    }

    async fn came_online(&self, user: UserId) -> bool {
        let Some(leases) = &self.inner.leases else {
            return true;
        };
        match leases.acquire(user, db::now()).await {
            Ok(came_online) => came_online,
            Err(err) => {
                // The next renewal takes the lease and announces them once Redis is back.
                tracing::warn!(%user, error = %err, "cannot take a presence lease");
                false
            }
        }
    }

    async fn went_offline(&self, user: UserId) -> bool {
        let Some(leases) = &self.inner.leases else {
            return true;
        };
        match leases.release(user, db::now()).await {
            Ok(went_offline) => went_offline,
            Err(err) => {
                // The lease lapses by itself; a sweep announces them.
                tracing::warn!(%user, error = %err, "cannot release a presence lease");
                false
            }
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
                for user in lapsed {
                    self.announce(user, true, None).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot renew presence leases"),
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

    /// Renews this instance's leases a few times per TTL, and sweeps every instance's
    /// lapsed ones (the sweep is atomic: each lapse is announced by one instance).
    async fn maintain(self) {
        let Some(leases) = &self.inner.leases else {
            return;
        };
        let renew_every = self.inner.ttl / 3;
        let sweep_every = (self.inner.ttl / 5).max(Duration::from_millis(200));
        let mut renew = tokio::time::interval(renew_every);
        let mut sweep = tokio::time::interval(sweep_every);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = renew.tick() => {
                    let mut shards: Vec<Vec<UserId>> = vec![Vec::new(); WORKERS];
                    for user in self.inner.realtime.hub().connected_users() {
                        let index = usize::try_from(user.0.rem_euclid(WORKERS as i64)).unwrap_or(0);
                        shards[index].push(user);
                    }
                    for (worker, users) in self.inner.workers.iter().zip(shards) {
                        if !users.is_empty() {
                            let _ = worker.send(Change::Renew(users));
                        }
                    }
                }
                _ = sweep.tick() => {
                    match leases.sweep(db::now()).await {
                        Ok(gone) => {
                            for user in gone {
                                tracing::info!(%user, "presence lease lapsed");
                                self.offline(user).await;
                            }
                        }
                        Err(err) => tracing::debug!(error = %err, "cannot sweep presence leases"),
                    }
                }
            }
        }
    }
}
