//! What one instance tells the others over the bus: an event, whom it is for, and which
//! instance it came from (so the origin, which already delivered it locally, skips its
//! own echo and every connection gets each event exactly once).
//!
//! Wire form: the envelope as one line of JSON, a newline, then the event exactly as
//! connections receive it. The event is serialized once, by the origin; receivers decode
//! the header, and forward the event bytes to their connections without re-encoding them.

use serde::{Deserialize, Serialize};

use crate::ids::{InstanceId, RoomId, UserId};

/// Who receives an event carried by the bus.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusTarget {
    /// Every connection of every member of the room.
    Room(RoomId),
    /// Every connection of one user.
    User(UserId),
    /// Every connection of every member of any of these rooms, once each — a user's
    /// presence goes to everyone who shares a room with them.
    Rooms(Vec<RoomId>),
    /// The connections of one sign-in session of a user (by the SHA-256 of its token, as
    /// stored): they are closed after the event, which is how a sign-out on one instance
    /// ends the session's sockets on every instance.
    Session {
        /// The session's user (the event travels on their channel).
        user: UserId,
        /// The hex SHA-256 of the session's token.
        session: String,
    },
}

/// The header of one event on its way between instances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusEnvelope {
    /// The instance that published it.
    pub origin: InstanceId,
    /// Who receives it.
    pub target: BusTarget,
}

impl BusEnvelope {
    /// The wire form: this header's JSON, `\n`, then `event_json` (a serialized
    /// `ServerFrame`, which never contains a raw newline).
    pub fn encode(&self, event_json: &str) -> Result<String, serde_json::Error> {
        let mut out = serde_json::to_string(self)?;
        out.reserve(event_json.len() + 1);
        out.push('\n');
        out.push_str(event_json);
        Ok(out)
    }

    /// Splits a wire message into its header and the event's JSON.
    pub fn decode(wire: &str) -> Result<(Self, &str), serde_json::Error> {
        let (header, event) = wire.split_once('\n').unwrap_or((wire, ""));
        Ok((serde_json::from_str(header)?, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::ServerFrame;

    #[test]
    fn an_envelope_round_trips_with_its_event_bytes_untouched() {
        let header = BusEnvelope {
            origin: InstanceId("a".into()),
            target: BusTarget::Room(RoomId(3)),
        };
        let event =
            serde_json::to_string(&ServerFrame::Pong { nonce: Some(1) }).unwrap_or_default();
        let wire = header.encode(&event).unwrap_or_default();
        let (decoded, body) = BusEnvelope::decode(&wire).unwrap_or((header.clone(), ""));
        assert_eq!((decoded, body), (header, event.as_str()));
        assert!(BusEnvelope::decode("not json\n{}").is_err());
    }
}
