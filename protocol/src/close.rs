//! WebSocket close codes the server uses, so clients can tell a crash from a decision.

/// The server is shutting down (SIGTERM): reconnect, to another instance if there is one.
pub const GOING_AWAY: u16 = 1001;

/// A WebSocket message larger than [`crate::limits::MAX_FRAME_BYTES`] arrived.
pub const MESSAGE_TOO_BIG: u16 = 1009;

/// The connection fell too far behind: its bounded outbound queue overflowed. Reconnect
/// and resume from the last seq seen in each room; nothing committed is lost.
pub const SLOW_CONSUMER: u16 = 4008;

/// The session behind this connection ended (signed out): sign in again.
pub const SESSION_ENDED: u16 = 4001;

/// Nothing was heard from the client (not even a pong to the server's pings) for the idle
/// timeout: the connection is presumed dead. Reconnect and resume.
pub const IDLE: u16 = 4002;
