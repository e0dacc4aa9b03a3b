//! The WebSocket client: one connection to `/ws` that takes [`ClientFrame`]s and yields
//! [`ServerFrame`]s.
//!
//! It owns the connection's life and nothing about chat: connect, keep alive with `ping`
//! (and notice a silent, dead connection), reconnect with exponential backoff and jitter
//! (reset once the server says `welcome`), and stop for good on close code 4001 (session
//! ended). What to do after a reconnect — backfill, resend unacknowledged messages — is the
//! caller's job, on `welcome`. Frames sent while disconnected are refused, not queued, so
//! nothing goes out twice by accident.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use confab_protocol::{ClientFrame, ServerFrame, close};
use gloo_timers::callback::{Interval, Timeout};
use leptos::logging::warn;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::browser::{now_millis, random};

/// How often the connection is checked, and a `ping` sent when one is due.
const CHECK_EVERY: Duration = Duration::from_secs(5);
/// A `ping` goes out after this long without one.
const PING_EVERY: i64 = 25_000;
/// A connection that stays silent this long after a `ping` is presumed dead.
const PONG_TIMEOUT: i64 = 10_000;
/// An attempt that has not brought a `welcome` after this long is abandoned.
const WELCOME_TIMEOUT: i64 = 15_000;

/// What the socket reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketEvent {
    /// A connection attempt started; `retry` is false for the first one.
    Connecting {
        /// Whether an earlier connection (or attempt) failed.
        retry: bool,
    },
    /// A frame from the server. `welcome` first, on every connection.
    Frame(ServerFrame),
    /// The connection closed or failed; another attempt follows after `retry_in`.
    Lost {
        /// The close code (1006 when the connection failed without one).
        code: u16,
        /// Whether the server had said `welcome` on this connection.
        welcomed: bool,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// The server closed with 4001: the session is over. The socket has stopped.
    SessionEnded,
}

/// Exponential backoff with jitter: 0.5 s doubling up to 10 s, each delay drawn from the
/// upper half of its step so many clients cut off together do not return together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The first step.
    pub const BASE: Duration = Duration::from_millis(500);
    /// The largest step.
    pub const MAX: Duration = Duration::from_secs(10);

    /// The delay before the next attempt, given a random number in `[0, 1)`.
    pub fn next_delay(&mut self, random: f64) -> Duration {
        let step = Self::BASE
            .saturating_mul(1 << self.failures.min(16))
            .min(Self::MAX);
        self.failures = self.failures.saturating_add(1);
        step.mul_f64(0.5 + 0.5 * random.clamp(0.0, 1.0))
    }

    /// Starts over after a successful connection.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A handle on the connection. Cloning it shares the one connection.
#[derive(Clone)]
pub struct Socket {
    inner: Rc<RefCell<Inner>>,
}

type Handler = Rc<dyn Fn(SocketEvent)>;

struct Inner {
    url: String,
    handler: Handler,
    conn: Option<Conn>,
    backoff: Backoff,
    retry: Option<Timeout>,
    check: Option<Interval>,
    stopped: bool,
    generation: u64,
    nonce: u64,
}

/// One `WebSocket` and the callbacks that must live as long as it does.
struct Conn {
    ws: WebSocket,
    generation: u64,
    welcomed: bool,
    opened_at: i64,
    last_heard: i64,
    last_ping: i64,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Conn {
    /// Detaches the callbacks and closes the socket. The callbacks are dropped on the next
    /// tick, never from inside one of them.
    fn retire(self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
        leptos::prelude::set_timeout(move || drop(self), Duration::ZERO);
    }
}

impl Socket {
    /// Connects to `url` and keeps connected until [`Socket::stop`] or a 4001 close,
    /// reporting everything to `handler`.
    pub fn connect(url: String, handler: impl Fn(SocketEvent) + 'static) -> Self {
        let inner = Rc::new(RefCell::new(Inner {
            url,
            handler: Rc::new(handler),
            conn: None,
            backoff: Backoff::default(),
            retry: None,
            check: None,
            stopped: false,
            generation: 0,
            nonce: 0,
        }));
        let weak = Rc::downgrade(&inner);
        let check = Interval::new(CHECK_EVERY.as_millis() as u32, move || {
            if let Some(inner) = weak.upgrade() {
                check(&inner);
            }
        });
        inner.borrow_mut().check = Some(check);
        open(&inner, false);
        Self { inner }
    }

    /// Sends a frame if the connection is open; `false` when it is not (or the frame could
    /// not be sent), in which case the caller resends what matters after the next
    /// `welcome`.
    pub fn send(&self, frame: &ClientFrame) -> bool {
        let inner = self.inner.borrow();
        let Some(conn) = inner.conn.as_ref() else {
            return false;
        };
        if conn.ws.ready_state() != WebSocket::OPEN {
            return false;
        }
        match serde_json::to_string(frame) {
            Ok(text) => conn.ws.send_with_str(&text).is_ok(),
            Err(_) => false,
        }
    }

    /// Whether the server has said `welcome` on the current connection.
    pub fn is_online(&self) -> bool {
        self.inner
            .borrow()
            .conn
            .as_ref()
            .is_some_and(|c| c.welcomed && c.ws.ready_state() == WebSocket::OPEN)
    }

    /// Skips the wait before the next attempt (the browser came back online, the tab became
    /// visible). Does nothing while connected.
    pub fn reconnect_now(&self) {
        let waiting = {
            let inner = self.inner.borrow();
            !inner.stopped && inner.conn.is_none()
        };
        if waiting {
            self.inner.borrow_mut().retry = None;
            open(&self.inner, true);
        }
    }

    /// The browser says the network is gone: the connection cannot be trusted, and
    /// waiting for a `ping` to go unanswered would show "online" for half a minute. It is
    /// dropped and retried with backoff (at once when the browser is back online).
    pub fn network_lost(&self) {
        let welcomed = {
            let inner = self.inner.borrow();
            match inner.conn.as_ref() {
                Some(conn) if !inner.stopped => conn.welcomed,
                _ => return,
            }
        };
        lost(&self.inner, 1006, welcomed);
    }

    /// Closes the connection for good: no more attempts, no more events.
    pub fn stop(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.stopped = true;
        inner.retry = None;
        inner.check = None;
        if let Some(conn) = inner.conn.take() {
            conn.retire();
        }
    }
}

/// Calls the handler with no borrow of `inner` held, so it may use the socket.
fn emit(inner: &Rc<RefCell<Inner>>, event: SocketEvent) {
    let handler = Rc::clone(&inner.borrow().handler);
    handler(event);
}

fn open(inner: &Rc<RefCell<Inner>>, retry: bool) {
    if inner.borrow().stopped {
        return;
    }
    emit(inner, SocketEvent::Connecting { retry });
    let (url, generation) = {
        let mut state = inner.borrow_mut();
        if state.stopped {
            return;
        }
        state.generation += 1;
        (state.url.clone(), state.generation)
    };
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(err) => {
            warn!("cannot open a WebSocket to {url}: {err:?}");
            lost(inner, 1006, false);
            return;
        }
    };
    let weak = Rc::downgrade(inner);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
        let weak = Weak::clone(&weak);
        move |event: MessageEvent| {
            if let Some(inner) = weak.upgrade() {
                on_message(&inner, generation, &event);
            }
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
        if let Some(inner) = weak.upgrade() {
            on_close(&inner, generation, &event);
        }
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let now = now_millis();
    let previous = inner.borrow_mut().conn.replace(Conn {
        ws,
        generation,
        welcomed: false,
        opened_at: now,
        last_heard: now,
        last_ping: now,
        _on_message: on_message,
        _on_close: on_close,
    });
    if let Some(previous) = previous {
        previous.retire();
    }
}

fn on_message(inner: &Rc<RefCell<Inner>>, generation: u64, event: &MessageEvent) {
    let Some(text) = event.data().as_string() else {
        warn!("ignoring a binary WebSocket message");
        return;
    };
    let frame = match serde_json::from_str::<ServerFrame>(&text) {
        Ok(frame) => frame,
        Err(err) => {
            warn!("ignoring a frame this client does not understand ({err}): {text:.200}");
            return;
        }
    };
    {
        let mut state = inner.borrow_mut();
        let state = &mut *state;
        let Some(conn) = state.conn.as_mut().filter(|c| c.generation == generation) else {
            return;
        };
        conn.last_heard = now_millis();
        if matches!(frame, ServerFrame::Welcome { .. }) {
            conn.welcomed = true;
            state.backoff.reset();
        }
    }
    emit(inner, SocketEvent::Frame(frame));
}

fn on_close(inner: &Rc<RefCell<Inner>>, generation: u64, event: &CloseEvent) {
    let welcomed = {
        let state = inner.borrow();
        match state.conn.as_ref() {
            Some(conn) if conn.generation == generation => conn.welcomed,
            _ => return,
        }
    };
    let code = event.code();
    if code == close::SESSION_ENDED {
        let conn = {
            let mut state = inner.borrow_mut();
            state.stopped = true;
            state.retry = None;
            state.check = None;
            state.conn.take()
        };
        if let Some(conn) = conn {
            conn.retire();
        }
        emit(inner, SocketEvent::SessionEnded);
        return;
    }
    lost(inner, code, welcomed);
}

/// Drops the current connection, if any, and schedules the next attempt.
fn lost(inner: &Rc<RefCell<Inner>>, code: u16, welcomed: bool) {
    let retry_in = {
        let mut state = inner.borrow_mut();
        if let Some(conn) = state.conn.take() {
            conn.retire();
        }
        if state.stopped {
            return;
        }
        let delay = state.backoff.next_delay(random());
        let weak = Rc::downgrade(inner);
        state.retry = Some(Timeout::new(delay.as_millis() as u32, move || {
            if let Some(inner) = weak.upgrade() {
                open(&inner, true);
            }
        }));
        delay
    };
    emit(
        inner,
        SocketEvent::Lost {
            code,
            welcomed,
            retry_in,
        },
    );
}

/// Sends a `ping` when one is due; gives up on a connection that stopped answering, or
/// on an attempt that hangs without a `welcome` (a black-holed network can keep a socket
/// "connecting" for minutes).
fn check(inner: &Rc<RefCell<Inner>>) {
    let now = now_millis();
    let (dead, welcomed) = {
        let mut state = inner.borrow_mut();
        let state = &mut *state;
        let Some(conn) = state.conn.as_mut() else {
            return;
        };
        let awaiting_pong = conn.last_ping > conn.last_heard;
        let dead = if !conn.welcomed && now - conn.opened_at > WELCOME_TIMEOUT {
            true
        } else if conn.ws.ready_state() != WebSocket::OPEN {
            false
        } else if awaiting_pong && now - conn.last_ping > PONG_TIMEOUT {
            true
        } else {
            if now - conn.last_ping >= PING_EVERY {
                state.nonce += 1;
                let ping = ClientFrame::Ping {
                    nonce: Some(state.nonce),
                };
                if let Ok(text) = serde_json::to_string(&ping) {
                    let _ = conn.ws.send_with_str(&text);
                }
                conn.last_ping = now;
            }
            false
        };
        (dead, conn.welcomed)
    };
    if dead {
        warn!("the connection stopped answering; reconnecting");
        lost(inner, 1006, welcomed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_to_ten_seconds_with_jitter() {
        let mut backoff = Backoff::default();
        let highs: Vec<u128> = (0..8)
            .map(|_| backoff.next_delay(1.0).as_millis())
            .collect();
        assert_eq!(
            highs,
            vec![500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]
        );

        backoff.reset();
        assert_eq!(backoff.next_delay(0.0), Duration::from_millis(250));
        assert_eq!(backoff.next_delay(0.5), Duration::from_millis(750));
    }

    #[test]
    fn backoff_survives_very_many_failures() {
        let mut backoff = Backoff::default();
        for _ in 0..100 {
            assert!(backoff.next_delay(0.99) <= Backoff::MAX);
        }
    }
}
