//! What one instance tells the others over the bus: an event, whom it is for, and which
//! instance it came from (so the origin, which already delivered it locally, skips its
//! own echo and every connection gets each event exactly once).

use serde::{Deserialize, Serialize};

use crate::frames::ServerFrame;
use crate::ids::{InstanceId, RoomId, UserId};

/// Who receives an event carried by the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusTarget {
    /// Every connection of every member of the room.
    Room(RoomId),
    /// Every connection of one user.
    User(UserId),
}

/// One event on its way between instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusEnvelope {
    /// The instance that published it.
    pub origin: InstanceId,
    /// Who receives it.
    pub target: BusTarget,
    /// The event itself, as connections receive it.
    pub event: ServerFrame,
}
