//! The one error type of HTTP handlers, and how each error becomes a response: client
//! mistakes as 4xx JSON `{code, message}` with a stable code; server failures logged here
//! and sent as an opaque 500 (or 503 when a dependency is down), never with sqlx's text.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use confab_protocol::{ApiError, ErrorCode};

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The client's request was refused for a documented reason.
    #[error("{message}")]
    Client {
        /// Stable code.
        code: ErrorCode,
        /// Human explanation.
        message: String,
    },
    /// A database call failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Something else failed on the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::Client {
            code,
            message: code.describe().to_owned(),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // A body over the request body limit is not malformed: 413, as for a file.
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::Client {
                code: ErrorCode::FileTooLarge,
                message: "the request body is larger than this server accepts".to_owned(),
            };
        }
        Self::Client {
            code: ErrorCode::BadRequest,
            message: rejection.body_text(),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Client {
            code: ErrorCode::BadRequest,
            message: rejection.body_text(),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        Self::Client {
            code: ErrorCode::NotFound,
            message: rejection.body_text(),
        }
    }
}

/// The HTTP status that goes with an error code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::Unauthorized => StatusCode::UNAUTHORIZED,
        C::ForbiddenOrigin | C::NotAMember => StatusCode::FORBIDDEN,
        C::RoomNotFound | C::UserNotFound | C::NotFound => StatusCode::NOT_FOUND,
        C::UsernameTaken | C::RoomNameTaken => StatusCode::CONFLICT,
        C::RateLimited | C::TooManyConnections => StatusCode::TOO_MANY_REQUESTS,
        C::FileTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        C::MalformedFrame
        | C::UnknownFrame
        | C::InvalidFrame
        | C::BinaryFrame
        | C::BadRequest
        | C::DirectWithSelf
        | C::UploadAborted
        | C::InvalidPage => StatusCode::BAD_REQUEST,
        C::WrongRoomKind
        | C::EmptyMessage
        | C::MessageTooLong
        | C::InvalidCharacters
        | C::InvalidClientMsgId
        | C::ClientMsgIdTaken
        | C::InvalidUsername
        | C::InvalidPassword
        | C::InvalidRoomName
        | C::EmptyFile
        | C::InvalidFileName => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The code a failed database call is reported with: `unavailable` when the database
/// cannot be reached (retrying later helps), `internal` otherwise.
pub fn database_error_code(err: &sqlx::Error) -> ErrorCode {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => ErrorCode::Unavailable,
        _ => ErrorCode::Internal,
    }
}

impl AppError {
    /// The stable code this error is reported with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Client { code, .. } => *code,
            Self::Database(err) => database_error_code(err),
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let code = self.code();
        let message = match &self {
            Self::Client { message, .. } => message.clone(),
            Self::Database(err) => {
                tracing::error!(error = %err, "database error");
                code.describe().to_owned()
            }
            Self::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                code.describe().to_owned()
            }
        };
        (status_of(code), Json(ApiError { code, message })).into_response()
    }
}
