//! How fast one user may post: a token bucket per user on this instance (GCRA, from the
//! `governor` crate), shared by all of that user's connections here and by their uploads.
//! A person never notices it; a runaway script or a flooding client gets `rate_limited`
//! errors instead of filling a room. Each instance counts for itself, so a user spread over
//! several instances gets the allowance on each — a bound, not an exact quota.
//!
//! Typing and read markers have their own throttles (`typing`, client side); this one is
//! for what is stored: messages and files. Every connection also has a [`FrameBudget`]
//! for all the frames it sends, so no client can keep the server busy with cheap ones
//! (backfills, typing, pings) either.
//!
//! Sign-in attempts are limited per username ([`SignInLimiter`]), so a password cannot be
//! guessed online at the speed of the server's argon2, and each refused guess costs no hash.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::UserId;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// How much a user may post in one go after a quiet spell, as a multiple of the rate.
pub const BURST_FACTOR: u32 = 3;
/// How often buckets that have refilled are forgotten, so memory follows active users.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// One bucket per key, or no limit at all: what [`PostLimiter`] and [`SignInLimiter`]
/// share.
#[derive(Clone)]
struct Limit<K: Clone + Eq + std::hash::Hash> {
    buckets: Option<Arc<DefaultKeyedRateLimiter<K>>>,
}

impl<K> Limit<K>
where
    K: Clone + Eq + std::hash::Hash + Send + Sync + 'static,
{
    /// `quota` per key; `None` means no limit.
    fn new(quota: Option<Quota>) -> Self {
        Self {
            buckets: quota.map(keyed),
        }
    }

    /// Takes one from `key`'s allowance; `false` when it is used up for now.
    fn allow(&self, key: &K) -> bool {
        self.buckets
            .as_ref()
            .is_none_or(|buckets| buckets.check_key(key).is_ok())
    }
}

impl<K: Clone + Eq + std::hash::Hash> std::fmt::Debug for Limit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limit")
            .field("limited", &self.buckets.is_some())
            .finish()
    }
}

/// Cheap-to-clone handle to this instance's posting limits.
#[derive(Debug, Clone)]
pub struct PostLimiter(Limit<UserId>);

impl PostLimiter {
    /// `per_second` posts per user, in bursts of up to [`BURST_FACTOR`] times that; 0
    /// means no limit. Must run inside a tokio runtime (it starts its clean-up task).
    pub fn new(per_second: u32) -> Self {
        Self(Limit::new(NonZeroU32::new(per_second).map(|rate| {
            let burst =
                rate.saturating_mul(NonZeroU32::new(BURST_FACTOR).unwrap_or(NonZeroU32::MIN));
            Quota::per_second(rate).allow_burst(burst)
        })))
    }

    /// Takes one post from `user`'s allowance; `false` when it is used up for now.
    pub fn allow(&self, user: UserId) -> bool {
        self.0.allow(&user)
    }
}

/// Cheap-to-clone handle to this instance's sign-in limits: one bucket per username (as
/// sign-in looks it up: ignoring case), whether the name exists or not, so the answer
/// does not tell which names do.
#[derive(Debug, Clone)]
pub struct SignInLimiter(Limit<String>);

impl SignInLimiter {
    /// `per_minute` attempts per username, in bursts of as many (refilled one every
    /// `60 / per_minute` seconds); 0 means no limit. Must run inside a tokio runtime (it
    /// starts its clean-up task).
    pub fn new(per_minute: u32) -> Self {
        Self(Limit::new(
            NonZeroU32::new(per_minute).map(Quota::per_minute),
        ))
    }

    /// Takes one attempt from `username`'s allowance; `false` when it is used up for now.
    pub fn allow(&self, username: &str) -> bool {
        self.0.allow(&username.to_lowercase())
    }
}

/// A keyed limiter whose refilled buckets are forgotten every [`FORGET_EVERY`] by a task
/// that ends once the limiter is dropped.
fn keyed<K>(quota: Quota) -> Arc<DefaultKeyedRateLimiter<K>>
where
    K: Clone + Eq + std::hash::Hash + Send + Sync + 'static,
{
    let buckets = Arc::new(RateLimiter::keyed(quota));
    let weak = Arc::downgrade(&buckets);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FORGET_EVERY);
        loop {
            tick.tick().await;
            let Some(buckets) = weak.upgrade() else {
                return;
            };
            buckets.retain_recent();
            buckets.shrink_to_fit();
        }
    });
    buckets
}

/// How many frames a connection may send in one go, as a multiple of its rate (a
/// reconnect resends and backfills at once).
pub const FRAME_BURST_FACTOR: u32 = 5;

/// One connection's allowance of frames of any kind.
pub struct FrameBudget(Option<DefaultDirectRateLimiter>);

impl std::fmt::Debug for FrameBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameBudget")
    }
}

impl FrameBudget {
    /// `per_second` frames, in bursts of [`FRAME_BURST_FACTOR`] times that; 0: no limit.
    pub fn new(per_second: u32) -> Self {
        Self(NonZeroU32::new(per_second).map(|rate| {
            let factor = NonZeroU32::new(FRAME_BURST_FACTOR).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(rate.saturating_mul(factor)))
        }))
    }

    /// Takes one frame from the allowance; `false` when it is used up for now.
    pub fn allow(&self) -> bool {
        self.0
            .as_ref()
            .is_none_or(|limiter| limiter.check().is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_is_allowed_then_refused_per_user_and_zero_means_unlimited() {
        let limiter = PostLimiter::new(2);
        let allowed = (0..20).filter(|_| limiter.allow(UserId(1))).count();
        assert_eq!(allowed, 6, "a burst of 3 x 2 posts");
        assert!(
            limiter.allow(UserId(2)),
            "another user has their own bucket"
        );
        let unlimited = PostLimiter::new(0);
        assert!((0..1000).all(|_| unlimited.allow(UserId(1))));
    }

    #[tokio::test]
    async fn sign_ins_are_limited_per_username_ignoring_case_and_zero_means_unlimited() {
        let limiter = SignInLimiter::new(10);
        let allowed = (0..20)
            .filter(|i| limiter.allow(if i % 2 == 0 { "Alice" } else { "alice" }))
            .count();
        assert_eq!(allowed, 10, "a burst of 10 attempts, whatever the case");
        assert!(limiter.allow("bob"), "another username has its own bucket");
        let unlimited = SignInLimiter::new(0);
        assert!((0..1000).all(|_| unlimited.allow("alice")));
    }

    #[test]
    fn a_connection_may_send_a_burst_of_frames_and_no_more_at_once() {
        let budget = FrameBudget::new(40);
        let allowed = (0..1000).filter(|_| budget.allow()).count();
        assert_eq!(allowed, 200);
        assert!((0..1000).all(|_| FrameBudget::new(0).allow()));
    }
}
