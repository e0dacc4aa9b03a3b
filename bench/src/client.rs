//! The simulated clients: one WebSocket per seeded user, opened from a chosen 127.0.0.x
//! source address with the session cookie and an `Origin` the server accepts, each served
//! by one task that sends what the driver queues and classifies what arrives.
//!
//! Arrivals are decoded with a small borrowed view of the frame (type, room, seq, body,
//! client_msg_id) rather than the full `ServerFrame`, so the tool spends as little of the
//! shared CPU as it can on reading. Bodies carry `"<window> <sent_us> …"`: the measurement
//! window and the send time on this process's monotonic clock, so latency is measured on
//! one clock. Counting itself is `tally`'s.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::seed::BoxError;
use crate::tally::{SeqTracker, Window};

/// How long a connection may take to bring its `welcome`.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(60);

/// Counters of one measurement window, shared by every connection.
#[derive(Debug, Default)]
pub struct WindowCounters {
    /// Sends queued.
    pub sent: AtomicU64,
    /// Acks received.
    pub acked: AtomicU64,
    /// Deliveries expected: for each ack, the connected members of its room.
    pub expected: AtomicU64,
    /// Unique deliveries.
    pub delivered: AtomicU64,
}

/// What every connection task shares with the driver.
#[derive(Debug)]
pub struct Shared {
    /// The clock every timestamp is taken on.
    pub epoch: Instant,
    /// Counters per window (window 0 is the warm-up).
    pub windows: Vec<WindowCounters>,
    /// Connected members per room id.
    pub members: HashMap<i64, AtomicU64>,
    /// `error` frames received.
    pub errors: AtomicU64,
    /// Connections the server closed or that failed while open.
    pub closed: AtomicU64,
    /// `pong` frames received.
    pub pongs: AtomicU64,
}

impl Shared {
    /// Shared state for `windows` windows and the given rooms.
    pub fn new(windows: usize, rooms: &[i64]) -> Arc<Self> {
        Arc::new(Self {
            epoch: Instant::now(),
            windows: (0..windows).map(|_| WindowCounters::default()).collect(),
            members: rooms.iter().map(|r| (*r, AtomicU64::new(0))).collect(),
            errors: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            pongs: AtomicU64::new(0),
        })
    }

    /// Microseconds since the epoch.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The counters of window `w` (the last one for out-of-range windows).
    pub fn window(&self, w: usize) -> &WindowCounters {
        &self.windows[w.min(self.windows.len() - 1)]
    }
}

/// What one connection has seen, per room and per window.
#[derive(Debug, Default)]
pub struct ConnTally {
    // A connection is in one room or a few, and windows come one after another: short
    // vectors searched from the newest end beat hashing on every frame.
    trackers: Vec<(i64, SeqTracker)>,
    windows: Vec<(u32, Window)>,
    acks: HashMap<u32, Vec<u32>>,
}

impl ConnTally {
    /// Takes window `w`'s deliveries and its send-to-ack latencies (µs) out of this
    /// connection's tally.
    pub fn take(&mut self, w: u32) -> (Window, Vec<u32>) {
        let window = match self.windows.iter().position(|(k, _)| *k == w) {
            Some(i) => self.windows.swap_remove(i).1,
            None => Window::default(),
        };
        (window, self.acks.remove(&w).unwrap_or_default())
    }

    fn tracker(&mut self, room: i64) -> &mut SeqTracker {
        let i = match self.trackers.iter().position(|(r, _)| *r == room) {
            Some(i) => i,
            None => {
                self.trackers.push((room, SeqTracker::new(0)));
                self.trackers.len() - 1
            }
        };
        &mut self.trackers[i].1
    }

    fn window(&mut self, w: u32) -> &mut Window {
        let i = match self.windows.iter().rposition(|(k, _)| *k == w) {
            Some(i) => i,
            None => {
                self.windows.push((w, Window::default()));
                self.windows.len() - 1
            }
        };
        &mut self.windows[i].1
    }
}

/// The driver's handle on one open connection.
#[derive(Debug, Clone)]
pub struct Conn {
    /// The seeded user's room.
    pub room: Option<i64>,
    /// Text frames to send.
    pub outbox: mpsc::UnboundedSender<String>,
    /// What it has seen.
    pub tally: Arc<Mutex<ConnTally>>,
}

impl Conn {
    /// Locks the tally (never poisoned in practice; recovered if it is).
    pub fn tally(&self) -> MutexGuard<'_, ConnTally> {
        self.tally
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How to open one connection.
#[derive(Debug, Clone)]
pub struct Dial {
    /// The instance.
    pub server: SocketAddr,
    /// The local address to connect from (`None`: the kernel's choice).
    pub source: Option<Ipv4Addr>,
    /// The `Cookie` header.
    pub cookie: String,
    /// Client-side read buffer (tungstenite allocates it eagerly per socket).
    pub read_buffer: usize,
}

/// Opens a WebSocket and waits for its `welcome`; returns it with the time that took.
pub async fn open(dial: &Dial) -> Result<(WebSocketStream<TcpStream>, Duration), BoxError> {
    let started = Instant::now();
    let socket = TcpSocket::new_v4()?;
    if let Some(source) = dial.source {
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    }
    let stream = socket.connect(dial.server).await?;
    stream.set_nodelay(true)?;
    let mut request = format!("ws://{}/ws", dial.server).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert("cookie", HeaderValue::from_str(&dial.cookie)?);
    headers.insert(
        "origin",
        HeaderValue::from_str(&format!("http://{}", dial.server))?,
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(dial.read_buffer)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    let welcome = tokio::time::timeout(WELCOME_TIMEOUT, async {
        while let Some(message) = ws.next().await {
            if let Message::Text(text) = message? {
                let frame: Incoming<'_> = serde_json::from_str(text.as_str())?;
                return if frame.kind == "welcome" {
                    Ok(())
                } else {
                    Err(BoxError::from(format!("first frame was {}", frame.kind)))
                };
            }
        }
        Err(BoxError::from("closed before welcome"))
    })
    .await;
    match welcome {
        Ok(Ok(())) => Ok((ws, started.elapsed())),
        Ok(Err(err)) => Err(err),
        Err(_) => Err("no welcome in time".into()),
    }
}

/// Starts the task that serves an open connection; returns the driver's handle.
pub fn spawn(ws: WebSocketStream<TcpStream>, room: Option<i64>, shared: Arc<Shared>) -> Conn {
    let (outbox, inbox) = mpsc::unbounded_channel();
    let tally = Arc::new(Mutex::new(ConnTally::default()));
    if let Some(members) = room.and_then(|r| shared.members.get(&r)) {
        members.fetch_add(1, Ordering::Relaxed);
    }
    tokio::spawn(serve(ws, inbox, tally.clone(), shared));
    Conn {
        room,
        outbox,
        tally,
    }
}

/// The fields of a server frame the tool reads.
#[derive(serde::Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    room: Option<i64>,
    seq: Option<i64>,
    #[serde(borrow)]
    body: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_msg_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
}

/// The window and send time a body carries.
pub fn parse_body(body: &str) -> Option<(u32, u64)> {
    let mut parts = body.split(' ');
    let window = parts.next()?.parse().ok()?;
    let sent_us = parts.next()?.parse().ok()?;
    Some((window, sent_us))
}

/// A body for window `window` sent at `sent_us`, padded to about `len` bytes.
pub fn make_body(window: u32, sent_us: u64, len: usize) -> String {
    let mut body = format!("{window} {sent_us} ");
    while body.len() < len {
        body.push('x');
    }
    body
}

/// The `client_msg_id` of send `n` of window `window`, sent at `sent_us`.
pub fn make_id(window: u32, n: u64, sent_us: u64) -> String {
    format!("w{window}-{n}-{sent_us}")
}

/// The window and send time a `client_msg_id` made by [`make_id`] carries.
pub fn parse_id(id: &str) -> Option<(u32, u64)> {
    let mut parts = id.strip_prefix('w')?.split('-');
    let window = parts.next()?.parse().ok()?;
    let sent_us = parts.nth(1)?.parse().ok()?;
    Some((window, sent_us))
}

async fn serve(
    mut ws: WebSocketStream<TcpStream>,
    mut inbox: mpsc::UnboundedReceiver<String>,
    tally: Arc<Mutex<ConnTally>>,
    shared: Arc<Shared>,
) {
    loop {
        tokio::select! {
            outgoing = inbox.recv() => {
                let Some(text) = outgoing else { break };
                if ws.send(Message::text(text)).await.is_err() {
                    shared.closed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => receive(text.as_str(), &tally, &shared),
                Some(Ok(Message::Close(frame))) => {
                    shared.closed.fetch_add(1, Ordering::Relaxed);
                    if let Some(frame) = frame {
                        eprintln!("bench: server closed a connection: {} {}", frame.code, frame.reason);
                    }
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    shared.closed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
    let _ = ws.close(None).await;
}

fn receive(text: &str, tally: &Mutex<ConnTally>, shared: &Shared) {
    let Ok(frame) = serde_json::from_str::<Incoming<'_>>(text) else {
        shared.errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    match frame.kind.as_ref() {
        "message" => {
            let now = shared.now_us();
            let (Some(room), Some(seq)) = (frame.room, frame.seq) else {
                return;
            };
            let Some((window, sent_us)) = frame.body.as_deref().and_then(parse_body) else {
                return;
            };
            let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
            let receipt = tally.tracker(room).record(seq);
            tally
                .window(window)
                .record(receipt, now.saturating_sub(sent_us));
            drop(tally);
            if receipt.is_delivery() {
                shared
                    .window(window as usize)
                    .delivered
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        "ack" => {
            let now = shared.now_us();
            let Some((window, sent_us)) = frame.client_msg_id.as_deref().and_then(parse_id) else {
                return;
            };
            let took = u32::try_from(now.saturating_sub(sent_us)).unwrap_or(u32::MAX);
            tally
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .acks
                .entry(window)
                .or_default()
                .push(took);
            let counters = shared.window(window as usize);
            counters.acked.fetch_add(1, Ordering::Relaxed);
            let members = frame
                .room
                .and_then(|r| shared.members.get(&r))
                .map_or(0, |m| m.load(Ordering::Relaxed));
            counters.expected.fetch_add(members, Ordering::Relaxed);
        }
        "pong" => {
            shared.pongs.fetch_add(1, Ordering::Relaxed);
        }
        "error" if shared.errors.fetch_add(1, Ordering::Relaxed) < 5 => {
            eprintln!(
                "bench: error frame: {}",
                frame.code.as_deref().unwrap_or("?")
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_their_window_and_send_time() {
        let body = make_body(3, 123_456, 40);
        assert!(body.len() >= 40);
        assert_eq!(parse_body(&body), Some((3, 123_456)));
        assert_eq!(parse_body("hello"), None);
        assert_eq!(parse_id(&make_id(12, 7, 99)), Some((12, 99)));
        assert_eq!(parse_id("c-1"), None);
    }

    #[test]
    fn a_message_frame_counts_once_and_its_duplicate_does_not() {
        let shared = Shared::new(2, &[7]);
        let tally = Mutex::new(ConnTally::default());
        let frame = r#"{"type":"message","id":1,"room":7,"seq":1,"sender":1,"sender_name":"a",
            "kind":"text","body":"1 0 xx","sent_at":0,"client_msg_id":"w1-0"}"#;
        receive(frame, &tally, &shared);
        receive(frame, &tally, &shared);
        let (window, _) = tally.lock().expect("lock").take(1);
        assert_eq!((window.delivered, window.duplicated), (1, 1));
        assert_eq!(shared.windows[1].delivered.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn an_ack_expects_one_delivery_per_connected_member() {
        let shared = Shared::new(2, &[7]);
        shared.members[&7].store(40, Ordering::Relaxed);
        let tally = Mutex::new(ConnTally::default());
        receive(
            r#"{"type":"ack","room":7,"client_msg_id":"w1-3-0","id":9,"seq":4}"#,
            &tally,
            &shared,
        );
        assert_eq!(shared.windows[1].acked.load(Ordering::Relaxed), 1);
        assert_eq!(shared.windows[1].expected.load(Ordering::Relaxed), 40);
        assert_eq!(tally.lock().expect("lock").take(1).1.len(), 1);
    }
}
