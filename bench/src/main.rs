//! `bench`: Confab's own load tool. It seeds users, sessions, rooms and memberships
//! straight into the instances' database, opens one WebSocket per user against one or more
//! running `confab` instances, drives a load and reports ONE JSON line on stdout plus a
//! human summary on stderr. `scripts/bench.sh` starts the instances, Redis and PostgreSQL
//! a run needs; see `bench/README.md` and `BENCHMARKS.md`.

mod client;
mod modes;
mod report;
mod seed;
mod tally;

use clap::{Parser, Subcommand};

/// Confab's load tool.
#[derive(Debug, Parser)]
#[command(name = "bench", version, about)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Rate ramp over many rooms spread across instances: raise the send rate step by
    /// step until p99 exceeds the bar or anything is lost; report the best step.
    Fanout(modes::FanoutArgs),
    /// One big room across instances, one message at a time: time until its last member
    /// has each message.
    BigRoom(modes::BigRoomArgs),
    /// As many idle authenticated WebSockets as possible on one instance, and the
    /// server's memory per connection.
    Idle(modes::IdleArgs),
    /// Only seed users (with sessions), rooms and memberships; write their cookies to a
    /// CSV file.
    Seed(modes::SeedArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Each socket is a file descriptor: raise the soft limit to the hard one.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => eprintln!("bench: open-file limit {limit}"),
        Err(err) => eprintln!("bench: cannot raise the open-file limit: {err}"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("bench: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.mode {
            Mode::Fanout(args) => modes::fanout(args).await,
            Mode::BigRoom(args) => modes::big_room(args).await,
            Mode::Idle(args) => modes::idle(args).await,
            Mode::Seed(args) => modes::seed_only(args).await,
        }
    });
    // Connection tasks are still running; dropping the runtime would wait on none of
    // them, but shutting down in the background avoids closing thousands of sockets one
    // by one before exiting.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
