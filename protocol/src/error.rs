//! Stable, machine-readable error codes. They appear in `error` frames and in the JSON
//! body `{code, message}` of every HTTP 4xx/5xx, and never change meaning once released:
//! clients branch on the code, people read the message.

use serde::{Deserialize, Serialize};

/// Why a request or frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The WebSocket text was not valid JSON.
    MalformedFrame,
    /// The frame's `type` is missing or not one this server knows.
    UnknownFrame,
    /// The frame's `type` is known but its fields are missing or of the wrong type.
    InvalidFrame,
    /// A binary WebSocket message: only JSON text frames are spoken.
    BinaryFrame,
    /// The room does not exist.
    RoomNotFound,
    /// The user is not a member of the room.
    NotAMember,
    /// The operation does not apply to this kind of room (e.g. joining a direct room).
    WrongRoomKind,
    /// The message body is empty, or only whitespace and invisible characters.
    EmptyMessage,
    /// The message body is longer than the documented limit.
    MessageTooLong,
    /// The message body contains control characters.
    InvalidCharacters,
    /// The `client_msg_id` is empty, too long or has characters outside `A-Za-z0-9-_`.
    InvalidClientMsgId,
    /// This sender used the `client_msg_id` for a message in another room already.
    ClientMsgIdTaken,
    /// A history or backfill page limit or cursor is out of range.
    InvalidPage,
    /// Too many frames or requests in a short time; slow down and retry.
    RateLimited,
    /// The user already has as many sockets open on this instance as it allows.
    TooManyConnections,
    /// HTTP: no valid session cookie, or the username or password is wrong.
    Unauthorized,
    /// HTTP: the WebSocket upgrade came from an origin that is not allowed.
    ForbiddenOrigin,
    /// The username does not match the documented rules.
    InvalidUsername,
    /// The password is too short or too long.
    InvalidPassword,
    /// Someone already has this username (ignoring case).
    UsernameTaken,
    /// The room name does not match the documented rules.
    InvalidRoomName,
    /// A group room with this name exists already (ignoring case).
    RoomNameTaken,
    /// No user has this id.
    UserNotFound,
    /// The upload is larger than the server's size cap (`--max-upload-bytes`), or an
    /// HTTP JSON request body is larger than the server reads (2 MiB); HTTP 413.
    FileTooLarge,
    /// The upload has no bytes.
    EmptyFile,
    /// The file name is missing or has nothing left once cleaned (see
    /// `limits::clean_file_name`).
    InvalidFileName,
    /// The upload ended before all its bytes arrived (the client went away or sent less
    /// than it announced), or stalled; nothing was kept.
    UploadAborted,
    /// A direct conversation needs another user than yourself.
    DirectWithSelf,
    /// The HTTP request body or query is malformed.
    BadRequest,
    /// No such resource.
    NotFound,
    /// A dependency (database, bus) is unavailable right now; retry shortly.
    Unavailable,
    /// Something failed on the server; details are in its log, not here.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `"not_a_member"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedFrame => "malformed_frame",
            Self::UnknownFrame => "unknown_frame",
            Self::InvalidFrame => "invalid_frame",
            Self::BinaryFrame => "binary_frame",
            Self::RoomNotFound => "room_not_found",
            Self::NotAMember => "not_a_member",
            Self::WrongRoomKind => "wrong_room_kind",
            Self::EmptyMessage => "empty_message",
            Self::MessageTooLong => "message_too_long",
            Self::InvalidCharacters => "invalid_characters",
            Self::InvalidClientMsgId => "invalid_client_msg_id",
            Self::ClientMsgIdTaken => "client_msg_id_taken",
            Self::InvalidPage => "invalid_page",
            Self::RateLimited => "rate_limited",
            Self::TooManyConnections => "too_many_connections",
            Self::Unauthorized => "unauthorized",
            Self::ForbiddenOrigin => "forbidden_origin",
            Self::InvalidUsername => "invalid_username",
            Self::InvalidPassword => "invalid_password",
            Self::UsernameTaken => "username_taken",
            Self::InvalidRoomName => "invalid_room_name",
            Self::RoomNameTaken => "room_name_taken",
            Self::UserNotFound => "user_not_found",
            Self::FileTooLarge => "file_too_large",
            Self::EmptyFile => "empty_file",
            Self::InvalidFileName => "invalid_file_name",
            Self::UploadAborted => "upload_aborted",
            Self::DirectWithSelf => "direct_with_self",
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    /// A default human-readable explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Self::MalformedFrame => "the frame is not valid JSON",
            Self::UnknownFrame => "the frame type is missing or unknown",
            Self::InvalidFrame => "the frame's fields are missing or invalid",
            Self::BinaryFrame => "binary frames are not supported; send JSON text",
            Self::RoomNotFound => "no such room",
            Self::NotAMember => "you are not a member of this room",
            Self::WrongRoomKind => "this operation does not apply to this kind of room",
            Self::EmptyMessage => "the message is empty",
            Self::MessageTooLong => "the message is longer than 4000 characters",
            Self::InvalidCharacters => "the text contains control characters",
            Self::InvalidClientMsgId => {
                "client_msg_id must be 1-64 characters from A-Z a-z 0-9 - _"
            }
            Self::ClientMsgIdTaken => "this client_msg_id was used for a message in another room",
            Self::InvalidPage => "the page limit or cursor is out of range",
            Self::RateLimited => "too many requests; slow down",
            Self::TooManyConnections => {
                "too many connections open for this user here; close some tabs"
            }
            Self::Unauthorized => "invalid username or password, or not signed in",
            Self::ForbiddenOrigin => "this origin is not allowed",
            Self::InvalidUsername => "usernames are 3-32 characters from A-Z a-z 0-9 _ . -",
            Self::InvalidPassword => "passwords are 8-256 characters",
            Self::UsernameTaken => "that username is taken",
            Self::InvalidRoomName => {
                "room names are 1-64 visible characters (no control or invisible characters)"
            }
            Self::RoomNameTaken => "a room with that name exists",
            Self::UserNotFound => "no such user",
            Self::FileTooLarge => "the file is larger than this server accepts",
            Self::EmptyFile => "the file is empty",
            Self::InvalidFileName => "the file needs a name",
            Self::UploadAborted => "the upload ended before all of the file arrived",
            Self::DirectWithSelf => "a direct conversation needs another user",
            Self::BadRequest => "the request is malformed",
            Self::NotFound => "not found",
            Self::Unavailable => "the service is temporarily unavailable; retry shortly",
            Self::Internal => "internal error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON body of every HTTP error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable machine-readable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self {
            code,
            message: code.describe().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_matches_the_serialized_code() {
        let all = [
            ErrorCode::MalformedFrame,
            ErrorCode::UnknownFrame,
            ErrorCode::InvalidFrame,
            ErrorCode::BinaryFrame,
            ErrorCode::RoomNotFound,
            ErrorCode::NotAMember,
            ErrorCode::WrongRoomKind,
            ErrorCode::EmptyMessage,
            ErrorCode::MessageTooLong,
            ErrorCode::InvalidCharacters,
            ErrorCode::InvalidClientMsgId,
            ErrorCode::ClientMsgIdTaken,
            ErrorCode::InvalidPage,
            ErrorCode::RateLimited,
            ErrorCode::TooManyConnections,
            ErrorCode::Unauthorized,
            ErrorCode::ForbiddenOrigin,
            ErrorCode::InvalidUsername,
            ErrorCode::InvalidPassword,
            ErrorCode::UsernameTaken,
            ErrorCode::InvalidRoomName,
            ErrorCode::RoomNameTaken,
            ErrorCode::UserNotFound,
            ErrorCode::FileTooLarge,
            ErrorCode::EmptyFile,
            ErrorCode::InvalidFileName,
            ErrorCode::UploadAborted,
            ErrorCode::DirectWithSelf,
            ErrorCode::BadRequest,
            ErrorCode::NotFound,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ];
        for code in all {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
