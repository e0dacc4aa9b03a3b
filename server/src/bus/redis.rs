//! The Redis bus: one pub-sub connection that subscribes to a channel per room and per
//! user this instance serves, and one connection that publishes, each in its own task.
//!
//! Both reconnect by themselves with capped exponential backoff and no retry limit. After
//! every (re)connection the subscriber subscribes again to every channel it should hold
//! and reports `Reconnected`, so the instance can read from the database whatever was
//! published while it was deaf. Publishes that fail are retried once the connection is
//! back; past a bounded queue they are dropped and counted (room messages are then
//! repaired from the database by the receivers).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use confab_protocol::{BusEnvelope, BusTarget, RoomId};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::metrics;

/// Publishes waiting for the publisher connection; past this they are dropped.
const PUBLISH_QUEUE: usize = 65_536;
/// Most publishes sent in one pipeline.
const PUBLISH_BATCH: usize = 512;
/// How often the subscriber pings Redis to notice a dead connection.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a connect, subscribe or ping may take.
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// How soon after Redis answers again every instance's subscriber is back at the latest:
/// it may have been waiting out its longest backoff, or in a connect attempt that then
/// timed out. Events published before that may miss some instance, so whoever must be
/// heard by all (a presence change after an outage) waits this long.
pub const RESUBSCRIBED_WITHIN: Duration =
    Duration::from_secs(Backoff::CAP.as_secs() + IO_TIMEOUT.as_secs());

/// What the bus hands to the instance.
#[derive(Debug)]
pub enum Inbound {
    /// An event from an instance (possibly this one: the caller filters its echo).
    Envelope {
        /// Origin and target.
        header: BusEnvelope,
        /// The event's JSON, as connections receive it.
        event: String,
    },
    /// The subscription is (re)established: whatever was published meanwhile is lost.
    Reconnected,
    /// A room's channel was just subscribed to (its first local member arrived): what was
    /// published to it before Redis confirmed the subscription was not received.
    RoomSubscribed(RoomId),
}

/// Receives what arrives on the bus.
pub type Handler = Arc<dyn Fn(Inbound) + Send + Sync>;

enum Subscription {
    Subscribe(String),
    Unsubscribe(String),
}

/// Handle to the Redis bus tasks. Cheap to clone.
#[derive(Clone)]
pub struct RedisBus {
    shared: Arc<Shared>,
}

struct Shared {
    subscriptions: mpsc::UnboundedSender<Subscription>,
    publishes: mpsc::Sender<(String, String)>,
    subscriber_up: AtomicBool,
    publisher_up: AtomicBool,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// The channel of events for several rooms at once (presence changes): every instance
/// listens to it all the time; they are few, one per user going on- or offline.
const ROOMS_CHANNEL: &str = "confab:rooms";

/// The channel that carries `target`'s events.
fn channel(target: &BusTarget) -> String {
    match target {
        BusTarget::Room(room) => format!("confab:room:{room}"),
        BusTarget::User(user) | BusTarget::Session { user, .. } => format!("confab:user:{user}"),
        BusTarget::Rooms(_) => ROOMS_CHANNEL.to_owned(),
    }
}

/// The room whose channel this is, if it is a room's.
fn room_of(channel: &str) -> Option<RoomId> {
    channel
        .strip_prefix("confab:room:")
        .and_then(|id| id.parse().ok())
        .map(RoomId)
}

impl RedisBus {
    /// Checks a Redis URL.
    pub fn client(url: &str) -> Result<redis::Client, redis::RedisError> {
        redis::Client::open(url)
    }

    /// Starts the bus tasks. Does not wait for Redis: the instance serves its own
    /// connections meanwhile, and `/readyz` says the bus is down until it is up.
    pub fn start(client: redis::Client, handler: Handler) -> Self {
        let (sub_tx, sub_rx) = mpsc::unbounded_channel();
        let (pub_tx, pub_rx) = mpsc::channel(PUBLISH_QUEUE);
        let shared = Arc::new(Shared {
            subscriptions: sub_tx,
            publishes: pub_tx,
            subscriber_up: AtomicBool::new(false),
            publisher_up: AtomicBool::new(false),
        });
        tokio::spawn(subscriber(client.clone(), sub_rx, handler, shared.clone()));
        tokio::spawn(publisher(client, pub_rx, shared.clone()));
        Self { shared }
    }

    /// Queues an event for the other instances. Never waits.
    pub fn publish(&self, header: &BusEnvelope, event_json: &str) {
        let Ok(wire) = header.encode(event_json) else {
            return;
        };
        match self
            .shared
            .publishes
            .try_send((channel(&header.target), wire))
        {
            Ok(()) => metrics::BUS_PUBLISHED.increment(1),
            Err(_) => metrics::BUS_DROPPED.increment(1),
        }
    }

    /// Starts receiving `target`'s events.
    pub fn subscribe(&self, target: BusTarget) {
        let _ = self
            .shared
            .subscriptions
            .send(Subscription::Subscribe(channel(&target)));
    }

    /// Stops receiving `target`'s events.
    pub fn unsubscribe(&self, target: BusTarget) {
        let _ = self
            .shared
            .subscriptions
            .send(Subscription::Unsubscribe(channel(&target)));
    }

    /// Whether both connections are up.
    pub fn is_connected(&self) -> bool {
        self.shared.subscriber_up.load(Ordering::Acquire)
            && self.shared.publisher_up.load(Ordering::Acquire)
    }
}

/// Capped exponential backoff: 100 ms doubling to 5 s, forever.
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);
    const CAP: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Self(Self::FIRST)
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Self::CAP);
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

async fn subscriber(
    client: redis::Client,
    mut requests: mpsc::UnboundedReceiver<Subscription>,
    handler: Handler,
    shared: Arc<Shared>,
) {
    let mut wanted: HashSet<String> = HashSet::from([ROOMS_CHANNEL.to_owned()]);
    let mut backoff = Backoff::new();
    let mut connected_before = false;
    loop {
        // Whatever was asked while disconnected is applied to the wanted set.
        while let Ok(request) = requests.try_recv() {
            apply(&mut wanted, request);
        }
        let pubsub = match tokio::time::timeout(IO_TIMEOUT, client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "redis subscriber cannot connect; retrying");
                backoff.wait().await;
                continue;
            }
            Err(_) => {
                tracing::warn!("redis subscriber connect timed out; retrying");
                backoff.wait().await;
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        if !wanted.is_empty() {
            let channels: Vec<&String> = wanted.iter().collect();
            if !matches!(
                tokio::time::timeout(IO_TIMEOUT, sink.subscribe(channels)).await,
                Ok(Ok(()))
            ) {
                tracing::warn!("redis resubscribe failed; retrying");
                backoff.wait().await;
                continue;
            }
        }
        backoff.reset();
        shared.subscriber_up.store(true, Ordering::Release);
        if connected_before {
            metrics::REDIS_RECONNECTS.increment(1);
            tracing::info!(
                channels = wanted.len(),
                "redis bus reconnected and resubscribed"
            );
        }
        connected_before = true;
        handler(Inbound::Reconnected);

        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await;
        loop {
            tokio::select! {
                request = requests.recv() => {
                    let Some(request) = request else { return };
                    let (channel, subscribe) = match &request {
                        Subscription::Subscribe(c) => (c.clone(), !wanted.contains(c)),
                        Subscription::Unsubscribe(c) => (c.clone(), false),
                    };
                    let changed = apply(&mut wanted, request);
                    if !changed {
                        continue;
                    }
                    let sent = if subscribe {
                        tokio::time::timeout(IO_TIMEOUT, sink.subscribe(&channel)).await
                    } else {
                        tokio::time::timeout(IO_TIMEOUT, sink.unsubscribe(&channel)).await
                    };
                    if !matches!(sent, Ok(Ok(()))) {
                        break;
                    }
                    if subscribe && let Some(room) = room_of(&channel) {
                        handler(Inbound::RoomSubscribed(room));
                    }
                }
                message = stream.next() => {
                    let Some(message) = message else { break };
                    match std::str::from_utf8(message.get_payload_bytes()).map(BusEnvelope::decode) {
                        Ok(Ok((header, event))) => {
                            metrics::BUS_RECEIVED.increment(1);
                            handler(Inbound::Envelope { header, event: event.to_owned() });
                        }
                        _ => tracing::warn!(channel = message.get_channel_name(), "ignoring a malformed bus message"),
                    }
                }
                _ = heartbeat.tick() => {
                    // On a subscribed RESP2 connection PING answers `["pong", ""]`, not a
                    // status: any answer proves the connection alive.
                    let pong = tokio::time::timeout(IO_TIMEOUT, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        break;
                    }
                }
            }
        }
        shared.subscriber_up.store(false, Ordering::Release);
        tracing::warn!("redis subscription lost; reconnecting");
    }
}

/// Applies a request to the wanted set; `true` when it changed it.
fn apply(wanted: &mut HashSet<String>, request: Subscription) -> bool {
    match request {
        Subscription::Subscribe(channel) => wanted.insert(channel),
        Subscription::Unsubscribe(channel) => wanted.remove(&channel),
    }
}

async fn publisher(
    client: redis::Client,
    mut queue: mpsc::Receiver<(String, String)>,
    shared: Arc<Shared>,
) {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(IO_TIMEOUT))
        .set_response_timeout(Some(IO_TIMEOUT));
    let mut backoff = Backoff::new();
    let mut batch: Vec<(String, String)> = Vec::with_capacity(PUBLISH_BATCH);
    loop {
        let mut conn = match client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(error = %err, "redis publisher cannot connect; retrying");
                backoff.wait().await;
                continue;
            }
        };
        backoff.reset();
        shared.publisher_up.store(true, Ordering::Release);
        loop {
            if batch.is_empty() && queue.recv_many(&mut batch, PUBLISH_BATCH).await == 0 {
                return;
            }
            let mut pipe = redis::pipe();
            for (channel, payload) in &batch {
                pipe.publish(channel, payload).ignore();
            }
            match pipe.query_async::<()>(&mut conn).await {
                Ok(()) => batch.clear(),
                // Keep the batch: it is sent again once the connection is back.
                Err(err) => {
                    tracing::warn!(error = %err, pending = batch.len(), "redis publish failed; reconnecting");
                    break;
                }
            }
        }
        shared.publisher_up.store(false, Ordering::Release);
    }
}
