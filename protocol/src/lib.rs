//! The Confab wire protocol: every frame the browser client and the server exchange over
//! the WebSocket at `/ws`, the JSON bodies of the HTTP API, the envelope instances pass
//! each other over the bus, and the limits both sides enforce.
//!
//! This crate is data only. It owns the *shape* of what crosses a process boundary and
//! nothing about how it travels: no tokio, axum, sqlx or leptos, so it builds for
//! `wasm32-unknown-unknown` and native alike. Golden JSON fixtures in `tests/` fail the
//! build when a frame's wire shape changes by accident.

pub mod api;
pub mod bus;
pub mod close;
pub mod error;
pub mod frames;
pub mod ids;
pub mod limits;

pub use bus::{BusEnvelope, BusTarget};
pub use error::{ApiError, ErrorCode};
pub use frames::{
    ClientFrame, DecodeError, FileRef, FileStage, MessageKind, MessagePosted, ServerFrame,
};
pub use ids::{
    ClientMsgId, FileId, InstanceId, MessageId, RoomId, Seq, UnixMillis, UploadId, UserId,
};

/// Version of this protocol. The server announces it in `welcome`; a client built for a
/// different version reloads instead of guessing at frames it does not know.
pub const PROTOCOL_VERSION: u32 = 1;
