//! The `confab` binary: parse flags, start logging, build the server, run it until
//! SIGTERM or Ctrl-C.

use clap::Parser;
use confab_server::{Application, Config, shutdown_signal, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    telemetry::init(&config.log);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match app.run_until(shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("server failed: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
