//! JSON bodies of the HTTP API under `/api`, shared so the client cannot drift from the
//! server. Errors are [`crate::ApiError`]. Routes are listed in `protocol/README.md`.

use serde::{Deserialize, Serialize};

use crate::frames::MessagePosted;
use crate::ids::{RoomId, Seq, UnixMillis, UserId};

/// `POST /api/auth/register` and `POST /api/auth/sign-in`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// 3-32 characters from `A-Z a-z 0-9 _ . -`, unique ignoring case.
    pub username: String,
    /// 8-256 characters.
    pub password: String,
}

/// A user as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user's id.
    pub id: UserId,
    /// The user's name, as registered.
    pub username: String,
}

/// Whether a room is a named group anyone can join or a conversation between two users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// A named room anyone signed in can find and join.
    Group,
    /// A private conversation between exactly two users.
    Direct,
}

impl RoomKind {
    /// The kind as stored, e.g. `"group"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Group => "group",
            Self::Direct => "direct",
        }
    }
}

/// A room in the signed-in user's room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    /// The room's id.
    pub id: RoomId,
    /// Group: its name. Direct: the other user's name.
    pub name: String,
    /// Group or direct.
    pub kind: RoomKind,
    /// The seq of the newest message (0 when empty).
    pub last_seq: Seq,
    /// The newest seq this user has read.
    pub last_read_seq: Seq,
    /// Direct rooms: the other user and whether they are online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Presence>,
}

impl RoomSummary {
    /// Messages this user has not read yet.
    pub fn unread(&self) -> i64 {
        (self.last_seq.0 - self.last_read_seq.0).max(0)
    }
}

/// A group room in the directory (`GET /api/rooms/directory`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryRoom {
    /// The room's id.
    pub id: RoomId,
    /// The room's name.
    pub name: String,
    /// How many members it has.
    pub member_count: i64,
    /// Whether the signed-in user is one of them.
    pub joined: bool,
}

/// `POST /api/rooms`: create a group room; the creator joins it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoom {
    /// 1-64 characters after trimming, unique among group rooms ignoring case.
    pub name: String,
}

/// A member of a room (`GET /api/rooms/{id}/members`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    pub id: UserId,
    /// The member's name.
    pub username: String,
    /// When they joined.
    pub joined_at: UnixMillis,
    /// Whether they have a live connection now.
    pub online: bool,
    /// When they were last seen online (absent if never, or while online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<UnixMillis>,
}

/// A user and whether they are online.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// The user.
    pub id: UserId,
    /// Their name.
    pub username: String,
    /// Whether they have a live connection now.
    pub online: bool,
    /// When they were last seen online (absent if never, or while online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<UnixMillis>,
}

/// `POST /api/rooms/direct`: open the direct conversation with a user (created on first
/// use; the same room whoever starts it, however often).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartDirect {
    /// The other user.
    pub user: UserId,
}

/// Query of `GET /api/users`: users whose name starts with `q` (ignoring case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSearch {
    /// The start of the name; empty lists the first users by name.
    #[serde(default)]
    pub q: String,
}

/// Query of `GET /api/rooms/{id}/messages`: at most one of `before` / `after`.
/// Neither: the newest page. `before=S`: the page just older than seq S.
/// `after=S`: the page just newer than seq S.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// Exclusive upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Seq>,
    /// Exclusive lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Seq>,
    /// Page size, 1 to `limits::MAX_PAGE` (default `limits::DEFAULT_PAGE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// Query of `POST /api/rooms/{id}/files` (the body is the file's bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadQuery {
    /// The file's name on the uploader's side; cleaned by `limits::clean_file_name` and
    /// kept as metadata only.
    #[serde(default)]
    pub name: String,
}

/// A page of history, ascending by seq.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// The room read.
    pub room: RoomId,
    /// The messages, ascending by seq.
    pub messages: Vec<MessagePosted>,
    /// Whether more messages lie beyond this page in the direction asked for (older for
    /// `before` and for the newest page, newer for `after`).
    pub has_more: bool,
}
