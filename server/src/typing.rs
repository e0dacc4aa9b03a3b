//! Typing indicators that can never stick. Every instance remembers, for the typing events
//! it delivers, when each `(room, user)` indicator lapses; a ticker tells the local
//! connections "stopped typing" once it has — so an indicator ends a few seconds after its
//! last refresh even when the typist's socket or whole instance dies without a word. A
//! message from the typist ends it at once. Refreshes of a live indicator are forwarded at
//! most once a second whatever a client sends, and turning it back on after an `off` draws
//! on a small per-typist budget, so clearing the composer and typing again shows at once
//! while a client flipping on/off cannot make every receiver repaint many times a second;
//! a restart over budget is held, not dropped, and goes out when the budget allows (unless
//! an `off` or a message came first) — the typist's client thinks it said "on".

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use confab_protocol::{RoomId, UserId};

/// How long an indicator lasts after its last refresh (clients refresh every few seconds
/// while the user types, and expire it by themselves too).
pub const TYPING_TTL: Duration = Duration::from_secs(6);
/// Refreshes closer together than this are not forwarded.
pub const MIN_REFRESH: Duration = Duration::from_secs(1);
/// How many times in a row a typist's indicator may be turned on again after an `off`
/// before restarts are held back to one per [`MIN_REFRESH`].
pub const RESTART_BURST: f64 = 3.0;

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
    /// When this instance last forwarded an `on` from each typist that has not been turned
    /// off since (kept for [`TYPING_TTL`]): refreshes are measured from it, at once, without
    /// waiting for the event to come back over the bus.
    admitted: HashMap<(RoomId, UserId), Instant>,
    /// Each typist's budget for turning an indicator on while none is live; a typist with
    /// no entry has a full one (a message refills it).
    restarts: HashMap<(RoomId, UserId), Budget>,
    /// Restarts over budget, with the typist's name, until the budget allows them.
    held: HashMap<(RoomId, UserId), String>,
}

/// A held restart that is now due: forward `typing on` for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    /// The room.
    pub room: RoomId,
    /// The typist.
    pub user: UserId,
    /// Their name.
    pub username: String,
}

/// A token bucket of [`RESTART_BURST`] restarts, refilled at one per [`MIN_REFRESH`].
#[derive(Debug, Clone, Copy)]
struct Budget {
    tokens: f64,
    at: Instant,
}

impl Budget {
    fn full(now: Instant) -> Self {
        Budget {
            tokens: RESTART_BURST,
            at: now,
        }
    }

    /// The budget as it stands at `now`.
    fn refilled(self, now: Instant) -> Self {
        let earned =
            now.saturating_duration_since(self.at).as_secs_f64() / MIN_REFRESH.as_secs_f64();
        Budget {
            tokens: (self.tokens + earned).min(RESTART_BURST),
            at: now.max(self.at),
        }
    }
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

impl State {
    /// Takes one restart from the typist's budget; `false` when it is empty.
    fn take_restart(&mut self, key: (RoomId, UserId), now: Instant) -> bool {
        let budget = self
            .restarts
            .get(&key)
            .map_or_else(|| Budget::full(now), |b| b.refilled(now));
        if budget.tokens < 1.0 {
            return false;
        }
        self.restarts.insert(
            key,
            Budget {
                tokens: budget.tokens - 1.0,
                ..budget
            },
        );
        true
    }
}

impl TypingTimers {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a typing event from `user` in `room` should be forwarded now (and, if it is
    /// an `on` with no indicator live, takes it from the typist's restart budget): a
    /// refresh at most once per [`MIN_REFRESH`], a restart while the budget lasts (else it
    /// is held for [`TypingTimers::due_restarts`]), an `off` only while an indicator is on.
    pub fn should_forward(
        &self,
        room: RoomId,
        user: UserId,
        username: &str,
        on: bool,
        now: Instant,
    ) -> bool {
        let mut state = self.lock();
        let key = (room, user);
        if !on {
            let held = state.held.remove(&key).is_some();
            let said_on = state.admitted.remove(&key).is_some();
            return !held && (said_on || state.live.contains_key(&key));
        }
        if let Some(at) = state.admitted.get(&key) {
            if now.saturating_duration_since(*at) < MIN_REFRESH {
                return false;
            }
        } else if !state.take_restart(key, now) {
            state.held.insert(key, username.to_owned());
            return false;
        }
        state.admitted.insert(key, now);
        true
    }

    /// The held restarts the budget now allows, taken from it: each is to be forwarded.
    pub fn due_restarts(&self, now: Instant) -> Vec<Restart> {
        let mut state = self.lock();
        let keys: Vec<(RoomId, UserId)> = state.held.keys().copied().collect();
        let mut due = Vec::new();
        for key in keys {
            if state.take_restart(key, now)
                && let Some(username) = state.held.remove(&key)
            {
                state.admitted.insert(key, now);
                due.push(Restart {
                    room: key.0,
                    user: key.1,
                    username,
                });
            }
        }
        due
    }

    /// Records a delivered typing event.
    pub fn record(&self, room: RoomId, user: UserId, username: &str, on: bool, now: Instant) {
        let mut state = self.lock();
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
        state.admitted.remove(&(room, user));
        state.restarts.remove(&(room, user));
        state.held.remove(&(room, user));
        state.live.remove(&(room, user)).map(|i| Ended {
            room,
            user,
            username: i.username,
        })
    }

    /// Ends every indicator of `user` (their last connection here closed).
    pub fn end_user(&self, user: UserId) -> Vec<Ended> {
        let mut state = self.lock();
        state.held.retain(|(_, typist), _| *typist != user);
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
            .admitted
            .retain(|_, at| now.saturating_duration_since(*at) < TYPING_TTL);
        state
            .restarts
            .retain(|_, b| b.refilled(now).tokens < RESTART_BURST);
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
        assert!(timers.should_forward(RoomId(1), UserId(2), "bob", true, t0));
        timers.record(RoomId(1), UserId(2), "bob", true, t0);
        assert!(!timers.should_forward(RoomId(1), UserId(2), "bob", true, t0 + MIN_REFRESH / 2));
        assert!(timers.should_forward(RoomId(1), UserId(2), "bob", true, t0 + MIN_REFRESH));
        assert!(timers.should_forward(RoomId(1), UserId(3), "bob", true, t0));
    }

    #[test]
    fn alternating_on_and_off_cannot_get_past_the_throttle() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        let (room, user) = (RoomId(1), UserId(2));
        let forwarded_within = |from: u32, to: u32| {
            let mut forwarded = 0;
            for i in from..to {
                let now = t0 + Duration::from_millis(u64::from(i) * 5);
                let on = i % 2 == 0;
                if timers.should_forward(room, user, "bob", on, now) {
                    timers.record(room, user, "bob", on, now);
                    forwarded += 1;
                }
            }
            forwarded
        };
        assert_eq!(
            forwarded_within(0, 100),
            6,
            "the burst: three ons and their offs in the first half second"
        );
        // 9.5 s more of flipping 200 times a second: one restart per second, each with its off.
        let later = forwarded_within(100, 2000);
        assert!((18..=20).contains(&later), "{later} forwarded");
        assert!(
            !timers.should_forward(room, user, "bob", false, t0 + Duration::from_secs(10)),
            "nothing to turn off"
        );
    }

    #[test]
    fn a_burst_of_ons_is_forwarded_once_before_any_comes_back_over_the_bus() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        let forwarded = (0..10u64)
            .filter(|i| {
                let now = t0 + Duration::from_millis(i * 10);
                timers.should_forward(RoomId(1), UserId(2), "bob", true, now)
            })
            .count();
        assert_eq!(forwarded, 1);
    }

    #[test]
    fn a_restart_over_budget_is_held_until_the_budget_allows_unless_turned_off_first() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        let (room, user) = (RoomId(1), UserId(2));
        let ms = |n| t0 + Duration::from_millis(n);
        for i in 0..3 {
            assert!(timers.should_forward(room, user, "bob", true, ms(i * 20)));
            assert!(timers.should_forward(room, user, "bob", false, ms(i * 20 + 10)));
        }
        assert!(
            !timers.should_forward(room, user, "bob", true, ms(60)),
            "the fourth restart in 60 ms is over budget"
        );
        assert!(timers.due_restarts(ms(500)).is_empty(), "not yet");
        assert_eq!(
            timers.due_restarts(ms(1000)),
            vec![Restart {
                room,
                user,
                username: "bob".into()
            }],
            "it goes out once a restart is earned"
        );
        assert!(timers.due_restarts(ms(3000)).is_empty(), "and only once");
        assert!(
            !timers.should_forward(room, user, "bob", true, ms(1100)),
            "it counts as said: a refresh 100 ms later is throttled"
        );

        // Off, on again at once (held: the budget is spent), then off before it is due.
        assert!(timers.should_forward(room, user, "bob", false, ms(1200)));
        assert!(!timers.should_forward(room, user, "bob", true, ms(1210)));
        assert!(
            !timers.should_forward(room, user, "bob", false, ms(1220)),
            "nothing went out to turn off"
        );
        assert!(timers.due_restarts(ms(10_000)).is_empty());
    }

    #[test]
    fn clearing_the_composer_and_typing_again_shows_at_once() {
        let timers = TypingTimers::default();
        let t0 = Instant::now();
        let (room, user) = (RoomId(1), UserId(2));
        let ms = |n| t0 + Duration::from_millis(n);
        assert!(timers.should_forward(room, user, "bob", true, t0));
        timers.record(room, user, "bob", true, t0);
        assert!(timers.should_forward(room, user, "bob", false, ms(300)));
        timers.record(room, user, "bob", false, ms(300));
        assert!(
            timers.should_forward(room, user, "bob", true, ms(400)),
            "typing again 100 ms after clearing is shown"
        );
        timers.record(room, user, "bob", true, ms(400));
        assert!(
            !timers.should_forward(room, user, "bob", true, ms(900)),
            "a live indicator is still refreshed at most once a second"
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
            timers.should_forward(RoomId(1), UserId(2), "bob", true, t0),
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
