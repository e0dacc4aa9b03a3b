//! The Confab browser client, a Leptos CSR app that Trunk builds into `dist/`.
//!
//! - `components/`: one `#[component]` per file, views only;
//! - `chat`: the controller components call: applies frames and answers to the state;
//! - `state`: the signals and the data behind them (timelines, pending sends);
//! - `ws`: the WebSocket client (typed frames, keep-alive, reconnect with backoff);
//! - `api`: the HTTP calls; `upload`: file uploads with progress;
//! - `browser`: clock, randomness and document helpers.
//!
//! Wire types come from `confab-protocol`; none is redefined here.

pub mod api;
pub mod browser;
pub mod chat;
pub mod components;
pub mod state;
pub mod upload;
pub mod ws;

pub use components::app::App;
