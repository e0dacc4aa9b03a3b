//! Integration tests of the Confab server: a real server on port 0 with its own data
//! directory, real HTTP and WebSocket clients. One binary, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod auth;
mod bad_input;
mod chat;
mod client;
mod cluster;
mod concurrency;
mod files;
mod helpers;
mod history;
mod presence;
mod rooms;
mod services;
mod storage;
