//! The bus between instances. This module is the only place that knows which transport
//! runs and what its channels are called; everything else publishes an event for a
//! `BusTarget` and receives the other instances' events through a handler.
//!
//! In-process (the default) there are no other instances: publishing is a no-op, because
//! the origin instance always delivers to its own connections directly (see `realtime`),
//! and subscriptions cost nothing.

pub mod redis;

use confab_protocol::{BusEnvelope, BusTarget};

pub use self::redis::{Handler, Inbound, RedisBus};

/// The configured transport.
#[derive(Debug, Clone, Default)]
pub enum Bus {
    /// One instance alone: nothing leaves the process.
    #[default]
    InProcess,
    /// Redis pub-sub between any number of instances.
    Redis(RedisBus),
}

impl Bus {
    /// Sends an event (already serialized) to the other instances that serve its target.
    pub fn publish(&self, header: &BusEnvelope, event_json: &str) {
        match self {
            Self::InProcess => {}
            Self::Redis(bus) => bus.publish(header, event_json),
        }
    }

    /// Starts receiving `target`'s events (this instance now serves it).
    pub fn subscribe(&self, target: BusTarget) {
        match self {
            Self::InProcess => {}
            Self::Redis(bus) => bus.subscribe(target),
        }
    }

    /// Stops receiving `target`'s events (this instance no longer serves it).
    pub fn unsubscribe(&self, target: BusTarget) {
        match self {
            Self::InProcess => {}
            Self::Redis(bus) => bus.unsubscribe(target),
        }
    }

    /// Whether the bus can reach the other instances right now (for `/readyz`).
    pub fn is_connected(&self) -> bool {
        match self {
            Self::InProcess => true,
            Self::Redis(bus) => bus.is_connected(),
        }
    }
}
