//! How many sockets one user may hold open on this instance. Every open socket costs
//! memory and a descriptor, and a tab that reconnects in a loop (or a script) could
//! otherwise pile up thousands under one session. A slot is taken before the upgrade
//! and given back when the connection ends — or when the upgrade never happens — so
//! concurrent handshakes cannot get past the cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use confab_protocol::UserId;

/// The open-socket count of every user with one here.
#[derive(Debug)]
pub struct UserSlots {
    /// At most this many per user; 0: no limit.
    max: usize,
    held: Mutex<HashMap<UserId, usize>>,
}

/// One of a user's sockets, counted until dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<UserSlots>,
    user: UserId,
}

impl UserSlots {
    /// At most `max` sockets per user (0: no limit).
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            held: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, usize>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for one more socket of `user`, unless they hold the most allowed.
    pub fn take(self: &Arc<Self>, user: UserId) -> Option<Slot> {
        let mut held = self.lock();
        let count = held.entry(user).or_default();
        if self.max > 0 && *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: Arc::clone(self),
            user,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.lock();
        if let Some(count) = held.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_max_slots_and_a_dropped_one_comes_back() {
        let slots = UserSlots::new(2);
        let first = slots.take(UserId(1)).expect("first");
        let _second = slots.take(UserId(1)).expect("second");
        assert!(slots.take(UserId(1)).is_none(), "a third is refused");
        assert!(slots.take(UserId(2)).is_some(), "others have their own");
        drop(first);
        assert!(
            slots.take(UserId(1)).is_some(),
            "a closed socket frees its slot"
        );
    }

    #[test]
    fn zero_means_no_limit_and_nothing_is_kept_for_users_without_sockets() {
        let unlimited = UserSlots::new(0);
        let held: Vec<Slot> = (0..1000)
            .filter_map(|_| unlimited.take(UserId(1)))
            .collect();
        assert_eq!(held.len(), 1000);
        drop(held);
        assert!(unlimited.lock().is_empty());
    }
}
