//! Newtype identifiers, so a room id is never passed where a user id belongs.
//!
//! Database ids are 64-bit integers; they travel as JSON numbers (all stay far below 2^53,
//! the largest integer a JavaScript number holds exactly).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int_id!(
    /// A registered user.
    UserId
);
int_id!(
    /// A room: a named group room or a direct conversation between two users.
    RoomId
);
int_id!(
    /// A stored message, unique across all rooms.
    MessageId
);
int_id!(
    /// A message's position in its room: strictly increasing and gapless from 1, assigned
    /// by the database when the message is committed. `Seq(0)` means "before the first".
    Seq
);
int_id!(
    /// Milliseconds since the Unix epoch, UTC.
    UnixMillis
);

/// A client-chosen id for a send, unique per sender: a retried send with the same id is
/// stored once and acknowledged with the same message id and seq.
/// 1 to [`crate::limits::MAX_CLIENT_MSG_ID_LEN`] ASCII letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(pub String);

impl ClientMsgId {
    /// Whether this id has an accepted length and alphabet.
    pub fn is_valid(&self) -> bool {
        !self.0.is_empty()
            && self.0.len() <= crate::limits::MAX_CLIENT_MSG_ID_LEN
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

impl fmt::Display for ClientMsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The name of one running server instance, unique within a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub String);

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One file upload in progress, named by the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UploadId(pub String);

/// A stored file, named by the server: 32 lowercase hex characters (128 random bits).
/// It is also the file's storage key, so nothing a client says ever becomes a path; and it
/// equals the [`UploadId`] of the upload that stored it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileId(pub String);

impl FileId {
    /// Whether this is a well-formed file id (32 lowercase hex characters).
    pub fn is_valid(&self) -> bool {
        self.0.len() == 32
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
