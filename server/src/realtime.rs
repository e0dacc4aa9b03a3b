//! Publishing events: serialize once, deliver to this instance's connections through the
//! hub, and hand the envelope to the bus for the other instances — which deliver it to
//! theirs and ignore their own echo. Each connection so gets each event exactly once,
//! whichever instance it is on. Membership changes that arrive as events (`room_joined`,
//! `room_left` for a user) also move that user's local connections in or out of the room.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use confab_protocol::{BusEnvelope, BusTarget, InstanceId, RoomId, ServerFrame, UserId};

use crate::bus::Bus;
use crate::hub::{Hub, Peer, PeerEnd};

/// Cheap-to-clone handle to this instance's hub and bus.
#[derive(Debug, Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    hub: Hub,
    bus: Bus,
    instance: InstanceId,
    queue_capacity: usize,
}

/// Serializes a frame for the wire. Our frame types always serialize; should one ever
/// fail, the event is dropped and logged rather than taking the server down.
pub fn encode(frame: &ServerFrame) -> Option<Utf8Bytes> {
    match serde_json::to_string(frame) {
        Ok(text) => Some(Utf8Bytes::from(text)),
        Err(err) => {
            tracing::error!(error = %err, "cannot serialize a server frame");
            None
        }
    }
}

impl Realtime {
    /// A realtime layer for `instance` over `bus`; connections queue at most
    /// `queue_capacity` outbound frames.
    pub fn new(instance: InstanceId, bus: Bus, queue_capacity: usize) -> Self {
        Self { inner: Arc::new(Inner { hub: Hub::default(), bus, instance, queue_capacity }) }
    }

    /// This instance's id.
    pub fn instance(&self) -> &InstanceId {
        &self.inner.instance
    }

    /// The local hub.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The bus.
    pub fn bus(&self) -> &Bus {
        &self.inner.bus
    }

    /// Registers a new connection of `user` in `rooms`, with `greeting` as its first frame.
    pub fn connect(
        &self,
        user: UserId,
        session: Arc<str>,
        rooms: &[RoomId],
        greeting: &ServerFrame,
    ) -> (Peer, PeerEnd) {
        let (peer, end, occupied) = self.inner.hub.register(
            user,
            session,
            rooms,
            self.inner.queue_capacity,
            encode(greeting),
        );
        occupied.into_iter().for_each(|room| self.inner.bus.subscribe_room(room));
        (peer, end)
    }

    /// Unregisters a connection.
    pub fn disconnect(&self, peer: &Peer) {
        let vacated = self.inner.hub.unregister(peer);
        vacated.into_iter().for_each(|room| self.inner.bus.unsubscribe_room(room));
    }

    /// Makes sure every local connection of `user` receives `room`'s events.
    pub fn add_user_to_room(&self, user: UserId, room: RoomId) {
        if self.inner.hub.add_user_to_room(user, room) {
            self.inner.bus.subscribe_room(room);
        }
    }

    /// Delivers `event` to every connection `target` names, on every instance.
    pub fn publish(&self, target: BusTarget, event: ServerFrame) {
        let Some(bytes) = encode(&event) else { return };
        self.apply(target, &event, &bytes);
        self.inner.bus.publish(&BusEnvelope {
            origin: self.inner.instance.clone(),
            target,
            event,
        });
    }

    /// Delivers an envelope that arrived from the bus; our own echo is ignored, since it
    /// was delivered locally when published.
    pub fn receive(&self, envelope: BusEnvelope) {
        if envelope.origin == self.inner.instance {
            return;
        }
        let Some(bytes) = encode(&envelope.event) else { return };
        self.apply(envelope.target, &envelope.event, &bytes);
    }

    fn apply(&self, target: BusTarget, event: &ServerFrame, bytes: &Utf8Bytes) {
        match (target, event) {
            (BusTarget::User(user), ServerFrame::RoomJoined { room }) => {
                self.add_user_to_room(user, room.id);
            }
            (BusTarget::User(user), ServerFrame::RoomLeft { room }) => {
                if self.inner.hub.remove_user_from_room(user, *room) {
                    self.inner.bus.unsubscribe_room(*room);
                }
            }
            _ => {}
        }
        self.inner.hub.deliver(target, bytes);
    }
}
