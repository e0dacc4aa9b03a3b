//! Presence leases in Redis, shared by every instance: a user is online while any
//! instance holds an unexpired lease for them. Instances renew the leases of their
//! connected users well within the TTL, so a crashed instance's leases simply lapse, and
//! whichever instance's sweep finds a user with no lease left announces them offline.
//!
//! Every transition is one Lua script, atomic in Redis, so with any number of instances,
//! tabs and races each online→offline and offline→online change is reported to exactly
//! one caller.
//!
//! Layout: `confab:presence:user:<id>` is a sorted set of instance ids scored by lease
//! expiry (Unix ms); `confab:presence:expiry` scores each user by their latest expiry, for
//! the sweep and for "who is online" in one round trip.

use std::collections::HashSet;
use std::time::Duration;

use confab_protocol::{InstanceId, UnixMillis, UserId};
use redis::aio::ConnectionManager;

/// The index of every user's latest lease expiry.
const EXPIRY_INDEX: &str = "confab:presence:expiry";
/// Users swept per script call.
const SWEEP_BATCH: usize = 500;

fn user_key(user: UserId) -> String {
    format!("confab:presence:user:{user}")
}

/// KEYS: user key, index. ARGV: instance, now, expiry, user, key ttl ms.
/// Returns 1 when the user had no live lease before (they just came online).
const ACQUIRE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[4])
if before == 0 then return 1 end
return 0
";

/// KEYS: user key, index. ARGV: instance, now, user.
/// Returns 1 when this release took the user's last live lease (they just went offline),
/// 2 when no live lease is left but this instance held none either (it lapsed, or a Redis
/// restart lost it), 0 when another instance still holds one.
const RELEASE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local had = redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[3])
  if had == 1 then return 1 end
  return 2
end
return 0
";

/// KEYS: index. ARGV: instance, now, expiry, key ttl ms, then user ids.
/// Renews this instance's lease of each user; returns those who had no live lease left
/// (swept while this instance could not reach Redis): they are online again.
const RENEW: &str = r"
local lapsed = {}
for i = 5, #ARGV do
  local key = 'confab:presence:user:' .. ARGV[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
  if redis.call('ZCARD', key) == 0 then table.insert(lapsed, ARGV[i]) end
  redis.call('ZADD', key, ARGV[3], ARGV[1])
  redis.call('PEXPIRE', key, ARGV[4])
  redis.call('ZADD', KEYS[1], 'GT', ARGV[3], ARGV[i])
end
return lapsed
";

/// KEYS: index. ARGV: now, batch size.
/// Drops lapsed leases; returns the users left with none (they just went offline).
const SWEEP: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local gone = {}
for _, user in ipairs(due) do
  local key = 'confab:presence:user:' .. user
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if #top == 0 then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], user)
    table.insert(gone, user)
  else
    redis.call('ZADD', KEYS[1], top[2], user)
  end
end
return gone
";

/// What giving up a lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// It was the user's last live lease: they just went offline.
    Last,
    /// Another instance still holds a live lease on the user: they are online there.
    OthersHold,
    /// No live lease is left, and this instance held none either: it lapsed (and a sweep
    /// may have announced them offline already), or a Redis restart lost it.
    NoneLeft,
}

/// This instance's handle on the shared leases.
pub struct RedisLeases {
    conn: ConnectionManager,
    instance: InstanceId,
    ttl: Duration,
    acquire: redis::Script,
    release: redis::Script,
    renew: redis::Script,
    sweep: redis::Script,
}

impl std::fmt::Debug for RedisLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLeases")
            .field("instance", &self.instance)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl RedisLeases {
    /// Leases of `instance`, valid for `ttl` after each renewal. Connects lazily and
    /// reconnects by itself; until Redis answers, every call fails.
    pub fn new(
        client: redis::Client,
        instance: InstanceId,
        ttl: Duration,
    ) -> Result<Self, redis::RedisError> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_max_delay(Duration::from_secs(5));
        Ok(Self {
            conn: ConnectionManager::new_lazy_with_config(client, config)?,
            instance,
            ttl,
            acquire: redis::Script::new(ACQUIRE),
            release: redis::Script::new(RELEASE),
            renew: redis::Script::new(RENEW),
            sweep: redis::Script::new(SWEEP),
        })
    }

    fn expiry(&self, now: UnixMillis) -> i64 {
        now.0 + millis(self.ttl)
    }

    /// Redis keeps a user's lease set a while past its leases, never forever.
    fn key_ttl(&self) -> i64 {
        millis(self.ttl) * 4
    }

    /// Takes this instance's lease on `user`; `true` when they were offline before.
    pub async fn acquire(&self, user: UserId, now: UnixMillis) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let came_online: i64 = self
            .acquire
            .key(user_key(user))
            .key(EXPIRY_INDEX)
            .arg(self.instance.0.as_str())
            .arg(now.0)
            .arg(self.expiry(now))
            .arg(user.0)
            .arg(self.key_ttl())
            .invoke_async(&mut conn)
            .await?;
        Ok(came_online == 1)
    }

    /// Gives up this instance's lease on `user`, and says whether any is left.
    pub async fn release(&self, user: UserId, now: UnixMillis) -> redis::RedisResult<Released> {
        let mut conn = self.conn.clone();
        let found: i64 = self
            .release
            .key(user_key(user))
            .key(EXPIRY_INDEX)
            .arg(self.instance.0.as_str())
            .arg(now.0)
            .arg(user.0)
            .invoke_async(&mut conn)
            .await?;
        Ok(match found {
            1 => Released::Last,
            2 => Released::NoneLeft,
            _ => Released::OthersHold,
        })
    }

    /// Renews this instance's leases on `users`; returns those who had lapsed.
    pub async fn renew(
        &self,
        users: &[UserId],
        now: UnixMillis,
    ) -> redis::RedisResult<Vec<UserId>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let mut call = self.renew.key(EXPIRY_INDEX);
        call.arg(self.instance.0.as_str())
            .arg(now.0)
            .arg(self.expiry(now))
            .arg(self.key_ttl());
        for user in users {
            call.arg(user.0);
        }
        let lapsed: Vec<i64> = call.invoke_async(&mut conn).await?;
        Ok(lapsed.into_iter().map(UserId).collect())
    }

    /// Drops every lapsed lease (any instance's); returns the users left with none.
    pub async fn sweep(&self, now: UnixMillis) -> redis::RedisResult<Vec<UserId>> {
        let mut conn = self.conn.clone();
        let mut gone = Vec::new();
        loop {
            let batch: Vec<i64> = self
                .sweep
                .key(EXPIRY_INDEX)
                .arg(now.0)
                .arg(SWEEP_BATCH)
                .invoke_async(&mut conn)
                .await?;
            let full = batch.len() >= SWEEP_BATCH;
            gone.extend(batch.into_iter().map(UserId));
            if !full {
                return Ok(gone);
            }
        }
    }

    /// Which of `users` hold a live lease on any instance.
    pub async fn online(
        &self,
        users: &[UserId],
        now: UnixMillis,
    ) -> redis::RedisResult<HashSet<UserId>> {
        if users.is_empty() {
            return Ok(HashSet::new());
        }
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("ZMSCORE");
        cmd.arg(EXPIRY_INDEX);
        for user in users {
            cmd.arg(user.0);
        }
        let scores: Vec<Option<f64>> = cmd.query_async(&mut conn).await?;
        Ok(users
            .iter()
            .zip(scores)
            .filter(|(_, score)| score.is_some_and(|s| s > now.0 as f64))
            .map(|(user, _)| *user)
            .collect())
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
