//! The Confab server as a library: `Application::build` opens storage, binds and returns a
//! server to run, so the binary and the integration tests run exactly the same code.

pub mod auth;
pub mod bus;
pub mod config;
pub mod db;
pub mod error;
pub mod files;
pub mod hub;
pub mod metrics;
pub mod ordering;
pub mod origin;
pub mod presence;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod typing;
pub mod ws;

pub use config::Config;
pub use startup::{Application, StartError, shutdown_signal};
