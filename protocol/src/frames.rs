//! WebSocket frames: JSON text messages, internally tagged by `type`.
//!
//! Client frames are commands (`SendMessage` is `{"type":"send",...}`); server frames are
//! events (`MessagePosted` is `{"type":"message",...}`). `protocol/README.md` shows every
//! frame as example JSON; `tests/golden.rs` pins each wire shape.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;
use crate::api::{Member, RoomSummary, UserSummary};
use crate::ids::{
    ClientMsgId, FileId, InstanceId, MessageId, RoomId, Seq, UnixMillis, UploadId, UserId,
};

/// A frame the browser sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Become a member of a group room and start receiving its events on every connection
    /// of this user. Answered by `room_joined`. Joining a room twice is harmless.
    #[serde(rename = "join")]
    JoinRoom {
        /// The group room to join.
        room: RoomId,
    },
    /// Stop being a member of a room. Answered by `room_left`.
    #[serde(rename = "leave")]
    LeaveRoom {
        /// The room to leave.
        room: RoomId,
    },
    /// Post a message. Answered by `ack` once the message is committed, then delivered as
    /// `message` to every connection of every member, this one included.
    #[serde(rename = "send")]
    SendMessage {
        /// The room to post to; the sender must be a member.
        room: RoomId,
        /// The sender's id for this send: a retry with the same id is stored once.
        client_msg_id: ClientMsgId,
        /// The text, rendered as plain text by clients (see `limits::check_message_body`).
        body: String,
    },
    /// The user started (`on: true`) or stopped typing in a room.
    #[serde(rename = "typing")]
    SetTyping {
        /// The room being typed in.
        room: RoomId,
        /// Whether the user is typing.
        on: bool,
    },
    /// The user has seen the room's messages up to and including `seq`.
    #[serde(rename = "read")]
    MarkRead {
        /// The room read.
        room: RoomId,
        /// The last seq seen.
        seq: Seq,
    },
    /// Ask for the messages after `after_seq` (to resume after a reconnect or fill a gap).
    /// Answered by `history`; call again while `has_more` is true.
    Backfill {
        /// The room to read.
        room: RoomId,
        /// Exclusive lower bound: messages with a greater seq are returned.
        after_seq: Seq,
        /// Page size, 1 to `limits::MAX_PAGE`; `limits::DEFAULT_PAGE` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Keep-alive and latency probe. Answered by `pong` with the same nonce.
    Ping {
        /// Echoed back in the `pong`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<u64>,
    },
}

impl ClientFrame {
    /// Every `type` a client frame may have, for telling an unknown frame from a broken one.
    pub const TYPES: [&'static str; 7] = [
        "join", "leave", "send", "typing", "read", "backfill", "ping",
    ];

    /// This frame's `type` on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::JoinRoom { .. } => "join",
            Self::LeaveRoom { .. } => "leave",
            Self::SendMessage { .. } => "send",
            Self::SetTyping { .. } => "typing",
            Self::MarkRead { .. } => "read",
            Self::Backfill { .. } => "backfill",
            Self::Ping { .. } => "ping",
        }
    }

    /// The room this frame is about, if any.
    pub fn room(&self) -> Option<RoomId> {
        match self {
            Self::JoinRoom { room }
            | Self::LeaveRoom { room }
            | Self::SendMessage { room, .. }
            | Self::SetTyping { room, .. }
            | Self::MarkRead { room, .. }
            | Self::Backfill { room, .. } => Some(*room),
            Self::Ping { .. } => None,
        }
    }

    /// Decodes one WebSocket text message, telling malformed JSON, an unknown `type` and a
    /// known `type` with bad fields apart so the `error` frame can say which.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        match serde_json::from_str::<Self>(text) {
            Ok(frame) => Ok(frame),
            Err(err) => Err(DecodeError::classify(text, &err)),
        }
    }
}

/// Why a client frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// `MalformedFrame`, `UnknownFrame` or `InvalidFrame`.
    pub code: ErrorCode,
    /// The frame's `type`, when it had one (truncated to 64 bytes).
    pub frame: Option<String>,
    /// What was wrong, for people.
    pub message: String,
}

impl DecodeError {
    fn classify(text: &str, err: &serde_json::Error) -> Self {
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "type")]
            kind: Option<String>,
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
            return Self {
                code: ErrorCode::MalformedFrame,
                frame: None,
                message: ErrorCode::MalformedFrame.describe().to_owned(),
            };
        }
        let kind = serde_json::from_str::<Head>(text).ok().and_then(|h| h.kind);
        match kind {
            Some(kind) if ClientFrame::TYPES.contains(&kind.as_str()) => Self {
                code: ErrorCode::InvalidFrame,
                message: format!("invalid `{kind}` frame: {err}"),
                frame: Some(kind),
            },
            kind => Self {
                code: ErrorCode::UnknownFrame,
                message: match &kind {
                    Some(kind) => format!("unknown frame type `{}`", truncated(kind)),
                    None => "the frame has no string `type`".to_owned(),
                },
                frame: kind.map(|k| truncated(&k).to_owned()),
            },
        }
    }
}

fn truncated(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A frame the server sends to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Welcome {
        /// The signed-in user.
        user: UserSummary,
        /// The instance serving this connection.
        instance: InstanceId,
        /// [`crate::PROTOCOL_VERSION`] of the server.
        protocol_version: u32,
    },
    /// A committed message, delivered once to every connection of every member.
    #[serde(rename = "message")]
    MessagePosted(MessagePosted),
    /// The sender's message is committed: it has this id and seq.
    #[serde(rename = "ack")]
    MessageAcked {
        /// The room posted to.
        room: RoomId,
        /// The sender's id for the send.
        client_msg_id: ClientMsgId,
        /// The stored message's id.
        id: MessageId,
        /// The stored message's seq in its room.
        seq: Seq,
    },
    /// The user's read marker in a room moved (from any of their connections), so every
    /// tab clears the room's unread count.
    #[serde(rename = "read")]
    ReadMarker {
        /// The room.
        room: RoomId,
        /// The newest seq the user has read.
        seq: Seq,
    },
    /// A user who shares a room with you came online or went offline (all their
    /// connections on every instance counted as one).
    #[serde(rename = "status")]
    PresenceChanged {
        /// Whose presence changed.
        user: UserId,
        /// Their username.
        username: String,
        /// Whether they have at least one live connection.
        online: bool,
        /// When they were last seen online (absent while online).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_seen: Option<UnixMillis>,
    },
    /// A member started or stopped typing. Receivers expire `on` by themselves after a
    /// few seconds without a refresh, so an indicator never sticks.
    #[serde(rename = "typing")]
    TypingChanged {
        /// The room typed in.
        room: RoomId,
        /// Who is typing.
        user: UserId,
        /// Their username.
        username: String,
        /// Whether they are typing.
        on: bool,
    },
    /// Progress of a file upload into a room, sent to every member while the bytes
    /// arrive: `started`, then `progress` at most every 250 ms or 5 % of `total`, then
    /// `completed` (followed by the `file` message) or `failed`. Best effort: a client
    /// that misses some still gets the `file` message, which is what counts.
    FileProgress {
        /// The room uploaded to.
        room: RoomId,
        /// The upload; once completed, the stored file has this id ([`FileRef::id`]).
        upload: UploadId,
        /// The uploader.
        user: UserId,
        /// The file's name as the uploader gave it, cleaned (see
        /// `limits::clean_file_name`): metadata, shown as text only.
        file_name: String,
        /// Where the upload is.
        stage: FileStage,
        /// Bytes received so far.
        bytes: u64,
        /// The announced size, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
        /// Why it failed (with `stage: failed`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<ErrorCode>,
    },
    /// A page of a room's messages in ascending seq, answering `backfill`.
    History {
        /// The room read.
        room: RoomId,
        /// The messages, ascending by seq.
        messages: Vec<MessagePosted>,
        /// Whether more messages follow the last one returned.
        has_more: bool,
    },
    /// The user became a member of a room (on this or another connection).
    RoomJoined {
        /// The room joined.
        room: RoomSummary,
    },
    /// The user is no longer a member of a room.
    RoomLeft {
        /// The room left.
        room: RoomId,
    },
    /// This connection's session was signed out (from any tab, on any instance) or
    /// expired; the socket closes with 4001 right after. Sign in again.
    SessionEnded,
    /// Someone became a member of a room you are in (member lists update live).
    MemberJoined {
        /// The room.
        room: RoomId,
        /// The new member, with whether they are online.
        member: Member,
    },
    /// Someone left a room you are in.
    MemberLeft {
        /// The room.
        room: RoomId,
        /// Who left.
        user: UserId,
    },
    /// A frame was refused. The connection stays open.
    Error {
        /// Stable machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// The `type` of the frame this answers, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        frame: Option<String>,
        /// The room the refused frame named, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        /// The `client_msg_id` of a refused `send`, so the client can mark that message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<ClientMsgId>,
    },
    /// Answer to `ping`.
    Pong {
        /// The ping's nonce.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<u64>,
    },
}

/// What kind of content a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Plain text in `body`.
    Text,
    /// A shared file: `file` describes it and `body` repeats its name.
    File,
}

impl MessageKind {
    /// The kind as stored and sent, e.g. `"text"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::File => "file",
        }
    }
}

/// A committed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePosted {
    /// Unique message id.
    pub id: MessageId,
    /// The room it was posted to.
    pub room: RoomId,
    /// Its position in the room: strictly increasing, gapless from 1.
    pub seq: Seq,
    /// Who posted it.
    pub sender: UserId,
    /// The sender's username.
    pub sender_name: String,
    /// What kind of message this is.
    pub kind: MessageKind,
    /// The text: always shown as text, never interpreted as HTML.
    pub body: String,
    /// When the server committed it.
    pub sent_at: UnixMillis,
    /// The sender's id for the send, so the sender's other tabs can match it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<ClientMsgId>,
    /// The shared file, for `kind: file` messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
}

/// A stored file as messages carry it. Download it from [`FileRef::download_path`]
/// (members of its room only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The file's id, generated by the server.
    pub id: FileId,
    /// The uploader's file name, cleaned (see `limits::clean_file_name`): metadata only,
    /// always shown as text.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its MIME type, sniffed by the server from the content (never taken from the
    /// client): e.g. `image/png`, `text/plain`, `application/octet-stream`.
    pub mime: String,
}

impl FileRef {
    /// Where members download it: `/api/files/{id}`.
    pub fn download_path(&self) -> String {
        format!("/api/files/{}", self.id)
    }

    /// Whether it is a raster image the server serves inline (so clients may show a
    /// thumbnail): see [`crate::limits::INLINE_IMAGE_TYPES`].
    pub fn is_inline_image(&self) -> bool {
        crate::limits::INLINE_IMAGE_TYPES.contains(&self.mime.as_str())
    }
}

/// Where a file upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStage {
    /// The upload was accepted; its bytes are arriving (`bytes` is 0).
    Started,
    /// More bytes arrived.
    Progress,
    /// Stored; the `file` message follows.
    Completed,
    /// Aborted, with `reason`; nothing of it is kept. May come without `started` when
    /// the upload was refused before its first byte (its announced size is over the cap).
    Failed,
}

impl ServerFrame {
    /// Builds the `error` frame answering a refused client frame.
    pub fn error_for(code: ErrorCode, frame: &ClientFrame) -> Self {
        Self::Error {
            code,
            message: code.describe().to_owned(),
            frame: Some(frame.type_name().to_owned()),
            room: frame.room(),
            client_msg_id: match frame {
                ClientFrame::SendMessage { client_msg_id, .. } => Some(client_msg_id.clone()),
                _ => None,
            },
        }
    }

    /// Builds the `error` frame answering a frame that could not be decoded.
    pub fn decode_error(err: DecodeError) -> Self {
        Self::Error {
            code: err.code,
            message: err.message,
            frame: err.frame,
            room: None,
            client_msg_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_tells_malformed_unknown_and_invalid_apart() {
        let err = ClientFrame::decode("{not json").err();
        assert_eq!(err.map(|e| e.code), Some(ErrorCode::MalformedFrame));

        let err = ClientFrame::decode(r#"{"type":"shout","room":1}"#).err();
        assert_eq!(
            err.map(|e| (e.code, e.frame)),
            Some((ErrorCode::UnknownFrame, Some("shout".to_owned())))
        );

        let err = ClientFrame::decode(r#"{"room":1}"#).err();
        assert_eq!(
            err.map(|e| (e.code, e.frame)),
            Some((ErrorCode::UnknownFrame, None))
        );

        let err = ClientFrame::decode("[1,2]").err();
        assert_eq!(err.map(|e| e.code), Some(ErrorCode::UnknownFrame));

        let err = ClientFrame::decode(r#"{"type":"send","room":1}"#).err();
        assert_eq!(
            err.map(|e| (e.code, e.frame)),
            Some((ErrorCode::InvalidFrame, Some("send".to_owned())))
        );

        let err =
            ClientFrame::decode(r#"{"type":"send","room":"x","client_msg_id":"a","body":"b"}"#)
                .err();
        assert_eq!(err.map(|e| e.code), Some(ErrorCode::InvalidFrame));
    }

    #[test]
    fn type_names_cover_every_variant() {
        let frames = [
            ClientFrame::JoinRoom { room: RoomId(1) },
            ClientFrame::LeaveRoom { room: RoomId(1) },
            ClientFrame::SendMessage {
                room: RoomId(1),
                client_msg_id: ClientMsgId("a".into()),
                body: "b".into(),
            },
            ClientFrame::SetTyping {
                room: RoomId(1),
                on: true,
            },
            ClientFrame::MarkRead {
                room: RoomId(1),
                seq: Seq(1),
            },
            ClientFrame::Backfill {
                room: RoomId(1),
                after_seq: Seq(0),
                limit: None,
            },
            ClientFrame::Ping { nonce: None },
        ];
        for frame in frames {
            let json = serde_json::to_string(&frame).unwrap_or_default();
            assert!(json.starts_with(&format!("{{\"type\":\"{}\"", frame.type_name())));
            assert!(ClientFrame::TYPES.contains(&frame.type_name()));
        }
    }

    #[test]
    fn long_unknown_types_are_truncated_on_a_char_boundary() {
        let kind = "é".repeat(100);
        let err = ClientFrame::decode(&format!(r#"{{"type":"{kind}"}}"#)).err();
        let frame = err.and_then(|e| e.frame).unwrap_or_default();
        assert!(frame.len() <= 64 && !frame.is_empty());
    }
}
