//! Typing indicators that can never stick. Every instance remembers, for the typing events
//! it delivers, when each `(room, user)` indicator lapses; a ticker tells the local
//! connections "stopped typing" once it has — so an indicator ends a few seconds after its
//! last refresh even when the typist's socket or whole instance dies without a word. A
//! message from the typist ends it at once, and refreshes are forwarded at most once a
//! second whatever a client sends.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use confab_protocol::{RoomId, UserId};

/// How long an indicator lasts after its last refresh (clients refresh every few seconds
/// while the user types, and expire it by themselves too).
pub const TYPING_TTL: Duration = Duration::from_secs(6);
/// Refreshes closer together than this are not forwarded.
pub const MIN_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Indicator {
    username: String,
    refreshed: Instant,
}

/// The live indicators this instance has delivered.
#[derive(Debug, Default)]
pub struct TypingTimers {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Indicators on, by room and typist.
    live: HashMap<(RoomId, UserId), Indicator>,
    /// When each typist's last `on` went out, kept for [`MIN_REFRESH`] even after an `off`,
    /// so alternating on/off cannot get past the throttle (a message clears it).
    last_on: HashMap<(RoomId, UserId), Instant>,
}

/// An indicator that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// The room.
    pub room: RoomId,
    /// The typist.
    pub user: UserId,
    /// Their name.
    pub username: String,
}

impl TypingTimers {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a typing event from `user` in `room` should be forwarded now: an `on` at
    /// most once per [`MIN_REFRESH`], an `off` only while an indicator is on.
    pub fn should_forward(&self, room: RoomId, user: UserId, on: bool, now: Instant) -> bool {
        let state = self.lock();
        if on {
            state
                .last_on
                .get(&(room, user))
                .is_none_or(|at| now.duration_since(*at) >= MIN_REFRESH)
        } else {
            state.live.contains_key(&(room, user))
        }
    }

    /// Records a delivered typing event.
    pub fn record(&self, room: RoomId, user: UserId, username: &str, on: bool, now: Instant) {
        let mut state = self.lock();
        if on {
            state.last_on.insert((room, user), now);
        }
        let live = &mut state.live;
        if on {
            live.insert(
                (room, user),
                Indicator {
                    username: username.to_owned(),
                    refreshed: now,
                },
            );
        } else {
            live.remove(&(room, user));
        }
    }

    /// Ends `user`'s indicator in `room` (they sent a message); returns it if it was live.
    pub fn end(&self, room: RoomId, user: UserId) -> Option<Ended> {
        let mut state = self.lock();
        // Whoever starts typing the next message right away is shown at once (messages have
        // their own limit, so this opens no way around the throttle).
        state.last_on.remove(&(room, user));
        state.live.remove(&(room, user)).map(|i| Ended {
            room,
            user,
            username: i.username,
        })
    }

    /// Ends every indicator of `user` (their last connection here closed).
    pub fn end_user(&self, user: UserId) -> Vec<Ended> {
        let mut state = self.lock();
        let live = &mut state.live;
        let rooms: Vec<RoomId> = live
            .keys()
            .filter(|(_, u)| *u == user)
            .map(|(room, _)| *room)
            .collect();
        rooms
            .into_iter()
            .filter_map(|room| {
                live.remove(&(room, user)).map(|i| Ended {
                    room,
                    user,
                    username: i.username,
                })
            })
            .collect()
    }

    /// Removes and returns the indicators not refreshed within `TYPING_TTL` of `now`.
    pub fn lapsed(&self, now: Instant) -> Vec<Ended> {
        let mut state = self.lock();
        state
            .last_on
            .retain(|_, at| now.duration_since(*at) < MIN_REFRESH);
        let live = &mut state.live;
        let due: Vec<(RoomId, UserId)> = live
            .iter()
            .filter(|(_, i)| now.duration_since(i.refreshed) >= TYPING_TTL)
            .map(|(key, _)| *key)
            .collect();
        due.into_iter()
            .filter_map(|(room, user)| {
                live.remove(&(room, user)).map(|i| Ended {
                    room,
                    user,
                    username: i.username,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_indicator_lapses_after_the_ttl_unless_refreshed() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        timers.record(RoomId(1), UserId(2), "bob", true, t0);
        assert!(timers.lapsed(t0 + TYPING_TTL / 2).is_empty());
        timers.record(RoomId(1), UserId(2), "bob", true, t0 + TYPING_TTL / 2);
        assert!(timers.lapsed(t0 + TYPING_TTL).is_empty());
        let ended = timers.lapsed(t0 + TYPING_TTL * 2);
        assert_eq!(
            ended,
            vec![Ended {
                room: RoomId(1),
                user: UserId(2),
                username: "bob".into()
            }]
        );
        assert!(timers.lapsed(t0 + TYPING_TTL * 3).is_empty());
    }

    #[test]
    fn refreshes_are_forwarded_at_most_once_per_interval() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        assert!(timers.should_forward(RoomId(1), UserId(2), true, t0));
        timers.record(RoomId(1), UserId(2), "bob", true, t0);
        assert!(!timers.should_forward(RoomId(1), UserId(2), true, t0 + MIN_REFRESH / 2));
        assert!(timers.should_forward(RoomId(1), UserId(2), true, t0 + MIN_REFRESH));
        assert!(timers.should_forward(RoomId(1), UserId(3), true, t0));
    }

    #[test]
    fn alternating_on_and_off_cannot_get_past_the_throttle() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        let (room, user) = (RoomId(1), UserId(2));
        let mut forwarded = 0;
        for i in 0..100u32 {
            let now = t0 + Duration::from_millis(u64::from(i) * 5);
            let on = i % 2 == 0;
            if timers.should_forward(room, user, on, now) {
                timers.record(room, user, "bob", on, now);
                forwarded += 1;
            }
        }
        assert_eq!(forwarded, 2, "one on and its off in half a second");
        assert!(
            !timers.should_forward(room, user, false, t0),
            "nothing to turn off"
        );
    }

    #[test]
    fn a_message_or_the_last_disconnect_ends_indicators() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        timers.record(RoomId(1), UserId(2), "bob", true, t0);
        timers.record(RoomId(3), UserId(2), "bob", true, t0);
        timers.record(RoomId(1), UserId(4), "eve", true, t0);
        assert!(timers.end(RoomId(1), UserId(2)).is_some());
        assert!(
            timers.should_forward(RoomId(1), UserId(2), true, t0),
            "typing the next message shows at once"
        );
        assert!(timers.end(RoomId(1), UserId(2)).is_none());
        let ended = timers.end_user(UserId(2));
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].room, RoomId(3));
        timers.record(RoomId(1), UserId(4), "eve", false, t0);
        assert!(timers.lapsed(t0 + TYPING_TTL).is_empty());
    }
}
