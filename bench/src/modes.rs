//! The three runs: `fanout` (a rate ramp over many rooms on several instances), `big_room`
//! (one message at a time to a 10,000-member room across instances) and `idle` (as many
//! authenticated idle sockets as one instance holds, and their memory).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use confab_protocol::{ClientFrame, ClientMsgId, RoomId};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{self, Conn, Dial, Shared};
use crate::report::{self, Rss, WindowReport};
use crate::seed::{self, BoxError, Plan, Seeded};
use crate::tally::{Percentiles, percentiles_ms};

/// What every mode needs to know.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// The database the instances use (`postgres://…` or `sqlite://…`); users are seeded
    /// into it directly.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// An instance's address, e.g. `127.0.0.1:8080` (repeat for several).
    #[arg(long = "server", required = true)]
    pub servers: Vec<SocketAddr>,
    /// A server process id whose memory and CPU are reported (repeatable).
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    /// Another process whose CPU (with its children's: PostgreSQL's backends) is reported
    /// per window, e.g. Redis or the PostgreSQL postmaster (repeatable).
    #[arg(long = "cpu-pid")]
    pub cpu_pids: Vec<u32>,
    /// Source addresses to connect from: 127.0.0.2, 127.0.0.3, … (0: the kernel picks).
    #[arg(long, default_value_t = 8)]
    pub source_ips: u8,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 128)]
    pub connect_concurrency: usize,
}

impl Common {
    /// Every process whose CPU is reported.
    fn watched(&self) -> Vec<u32> {
        self.pids.iter().chain(&self.cpu_pids).copied().collect()
    }
}

/// How the connection phase went.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectReport {
    /// Connections open (welcome received).
    pub opened: usize,
    /// Connections that could not be opened.
    pub failed: usize,
    /// Wall time to open them all, seconds.
    pub total_s: f64,
    /// Time from TCP connect to `welcome`, per connection.
    pub each_ms: Percentiles,
}

/// Opens a connection per seeded user, user `i` on `instance_of(i)`; keeps plan order
/// (`None` where a connection failed).
async fn connect_all(
    common: &Common,
    seeded: &Seeded,
    instance_of: impl Fn(usize) -> usize,
    read_buffer: usize,
    shared: &Arc<Shared>,
) -> (Vec<Option<Conn>>, ConnectReport) {
    let started = Instant::now();
    let limit = Arc::new(Semaphore::new(common.connect_concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, user) in seeded.users.iter().enumerate() {
        let dial = Dial {
            server: common.servers[instance_of(i) % common.servers.len()],
            source: (common.source_ips > 0)
                .then(|| Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(common.source_ips)) as u8)),
            cookie: Seeded::cookie(user),
            read_buffer,
        };
        let (limit, shared, room) = (limit.clone(), shared.clone(), user.room);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let mut last_err = None;
            for attempt in 0..3u64 {
                match client::open(&dial).await {
                    Ok((ws, took)) => return (i, Ok((client::spawn(ws, room, shared), took))),
                    Err(err) => last_err = Some(err),
                }
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
            (i, Err(last_err.map(|e| e.to_string()).unwrap_or_default()))
        });
    }
    let mut conns: Vec<Option<Conn>> = vec![None; seeded.users.len()];
    let mut took_us = Vec::with_capacity(seeded.users.len());
    let mut failed = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, Ok((conn, took)))) => {
                conns[i] = Some(conn);
                took_us.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            Ok((_, Err(err))) => {
                if failed < 5 {
                    eprintln!("bench: a connection failed: {err}");
                }
                failed += 1;
            }
            Err(err) => {
                eprintln!("bench: a connect task failed: {err}");
                failed += 1;
            }
        }
    }
    let report = ConnectReport {
        opened: took_us.len(),
        failed,
        total_s: started.elapsed().as_secs_f64(),
        each_ms: percentiles_ms(&mut took_us),
    };
    eprintln!(
        "bench: {} connections open ({} failed) in {:.1} s; each p50 {:.1} ms p99 {:.1} ms",
        report.opened, report.failed, report.total_s, report.each_ms.p50, report.each_ms.p99
    );
    (conns, report)
}

/// Waits until the watched processes are quiet (under 0.1 CPU-seconds per second, all
/// together) or two minutes pass: what connecting set off — presence announcements, their
/// queries — must not run into the measurement.
async fn settle(watched: &[u32]) {
    let started = Instant::now();
    let mut before = report::cpu_snapshot(watched);
    while started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = report::cpu_snapshot(watched);
        let busy: f64 = report::cpu_between(&before, &after)
            .iter()
            .filter(|c| c.pid != 0)
            .map(|c| c.cpu_s)
            .sum();
        if busy < 0.1 {
            break;
        }
        before = after;
    }
    eprintln!(
        "bench: servers settled after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Queues a `send` from `conn` in window `w`; `n` makes its `client_msg_id` unique.
fn send(conn: &Conn, shared: &Shared, w: u32, n: u64, sent_us: u64, body_bytes: usize) {
    let Some(room) = conn.room else { return };
    let frame = ClientFrame::SendMessage {
        room: RoomId(room),
        client_msg_id: ClientMsgId(client::make_id(w, n, sent_us)),
        body: client::make_body(w, sent_us, body_bytes),
    };
    let Ok(text) = serde_json::to_string(&frame) else {
        return;
    };
    if conn.outbox.send(text).is_ok() {
        shared
            .window(w as usize)
            .sent
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// Waits until window `w` is fully acked and delivered, or `timeout` passes.
async fn drain(shared: &Shared, w: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let counters = shared.window(w as usize);
    while Instant::now() < deadline {
        let sent = counters.sent.load(Ordering::Relaxed);
        let acked = counters.acked.load(Ordering::Relaxed);
        let expected = counters.expected.load(Ordering::Relaxed);
        let delivered = counters.delivered.load(Ordering::Relaxed);
        if acked >= sent && delivered >= expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Sends at `rate` messages/s for `seconds`, round-robin over `senders`, in window `w`.
/// Each body carries its scheduled send time, so a driver that falls behind shows up as
/// latency rather than hiding it.
async fn send_at_rate(
    senders: &[Conn],
    shared: &Shared,
    w: u32,
    rate: f64,
    seconds: f64,
    body_bytes: usize,
    next: &mut usize,
) {
    let start_us = shared.now_us();
    let end_us = start_us + (seconds * 1e6) as u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sent = 0u64;
    loop {
        tick.tick().await;
        let now = shared.now_us().min(end_us);
        let due = ((now - start_us) as f64 * rate / 1e6) as u64;
        while sent < due {
            let scheduled = start_us + (sent as f64 * 1e6 / rate) as u64;
            send(
                &senders[*next % senders.len()],
                shared,
                w,
                sent,
                scheduled,
                body_bytes,
            );
            *next += 1;
            sent += 1;
        }
        if now >= end_us {
            return;
        }
    }
}

/// `fanout`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    #[command(flatten)]
    common: Common,
    /// Clients (one seeded user each), spread over the instances.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Rooms; client `i` is in room `i % rooms`, and every room spans every instance.
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// First step's send rate, messages per second (over all rooms).
    #[arg(long, default_value_t = 500.0)]
    start_rate: f64,
    /// Each step's rate is the previous one's times this.
    #[arg(long, default_value_t = 1.25)]
    factor: f64,
    /// Highest rate tried.
    #[arg(long, default_value_t = 50_000.0)]
    max_rate: f64,
    /// Length of each step, seconds.
    #[arg(long, default_value_t = 10.0)]
    step_secs: f64,
    /// Warm-up at the first rate before measuring, seconds.
    #[arg(long, default_value_t = 5.0)]
    warmup_secs: f64,
    /// Approximate message body length, bytes.
    #[arg(long, default_value_t = 64)]
    body_bytes: usize,
    /// A step fails when its p99 exceeds this, milliseconds.
    #[arg(long, default_value_t = 100.0)]
    p99_ms: f64,
    /// Keep stepping after a failed step (up to `--max-rate`) instead of stopping.
    #[arg(long)]
    keep_going: bool,
}

/// `fanout`'s report.
#[derive(Debug, Serialize)]
struct FanoutReport {
    mode: &'static str,
    instances: usize,
    clients: usize,
    rooms: usize,
    body_bytes: usize,
    connect: ConnectReport,
    /// The passing step with the most deliveries per second.
    best: Option<WindowReport>,
    steps: Vec<WindowReport>,
    closed_connections: u64,
    error_frames: u64,
    server_rss: Vec<Rss>,
}

/// Raises the rate step by step until p99 exceeds the bar or anything is lost.
pub async fn fanout(args: FanoutArgs) -> Result<(), BoxError> {
    let common = &args.common;
    let instances = common.servers.len();
    let seeded = seed::seed(
        &common.database_url,
        Plan {
            users: args.clients,
            rooms: args.rooms,
        },
    )
    .await?;
    eprintln!(
        "bench: seeded {} users in {} rooms",
        seeded.users.len(),
        seeded.rooms.len()
    );
    let max_steps = 64;
    let shared = Shared::new(max_steps + 1, &seeded.rooms);
    let rooms = args.rooms.max(1);
    let (conns, connect) = connect_all(common, &seeded, |i| i / rooms, 8 * 1024, &shared).await;
    let conns: Vec<Conn> = conns.into_iter().flatten().collect();
    if conns.is_empty() {
        return Err("no connection opened".into());
    }
    // Presence announcements of the connection phase settle before anything is timed.
    settle(&common.watched()).await;
    let mut next = 0usize;
    if args.warmup_secs > 0.0 {
        send_at_rate(
            &conns,
            &shared,
            0,
            args.start_rate,
            args.warmup_secs,
            args.body_bytes,
            &mut next,
        )
        .await;
        drain(&shared, 0, Duration::from_secs(10)).await;
        let _ = report::collect(&conns, &shared, 0, args.start_rate, args.warmup_secs);
        eprintln!("bench: warm-up done");
    }
    let watched = common.watched();
    let mut steps = Vec::new();
    let mut rate = args.start_rate;
    for w in 1..=max_steps as u32 {
        if rate > args.max_rate {
            break;
        }
        let cpu_before = report::cpu_snapshot(&watched);
        send_at_rate(
            &conns,
            &shared,
            w,
            rate,
            args.step_secs,
            args.body_bytes,
            &mut next,
        )
        .await;
        drain(&shared, w, Duration::from_secs(5)).await;
        let (mut step, _, _) = report::collect(&conns, &shared, w, rate, args.step_secs);
        step.cpu = report::cpu_between(&cpu_before, &report::cpu_snapshot(&watched));
        let passed = step.passes(args.p99_ms);
        eprintln!(
            "bench: {} {}",
            report::human(&step),
            if passed { "ok" } else { "FAIL" }
        );
        steps.push(step);
        if !passed && !args.keep_going {
            break;
        }
        rate *= args.factor;
    }
    let best = steps
        .iter()
        .filter(|s| s.passes(args.p99_ms))
        .max_by(|a, b| a.deliveries_per_s.total_cmp(&b.deliveries_per_s))
        .cloned();
    match &best {
        Some(best) => eprintln!(
            "bench: best sustained: {:.0} deliveries/s at {:.0} msgs/s, p99 {:.1} ms, lost 0",
            best.deliveries_per_s, best.rate, best.latency_ms.p99
        ),
        None => eprintln!("bench: no step passed"),
    }
    let out = FanoutReport {
        mode: "fanout",
        instances,
        clients: conns.len(),
        rooms: args.rooms,
        body_bytes: args.body_bytes,
        connect,
        best,
        steps,
        closed_connections: shared.closed.load(Ordering::Relaxed),
        error_frames: shared.errors.load(Ordering::Relaxed),
        server_rss: report::rss_all(&common.pids),
    };
    report::emit(&out);
    Ok(())
}

/// `big-room`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct BigRoomArgs {
    #[command(flatten)]
    common: Common,
    /// Members of the room, each connected, alternating between the instances.
    #[arg(long, default_value_t = 10_000)]
    members: usize,
    /// Messages measured, sent one at a time.
    #[arg(long, default_value_t = 50)]
    messages: usize,
    /// Messages sent first and not measured.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Approximate message body length, bytes.
    #[arg(long, default_value_t = 64)]
    body_bytes: usize,
    /// Pause between messages, milliseconds.
    #[arg(long, default_value_t = 50)]
    pause_ms: u64,
}

/// `big-room`'s report.
#[derive(Debug, Serialize)]
struct BigRoomReport {
    mode: &'static str,
    instances: usize,
    members: usize,
    messages: usize,
    connect: ConnectReport,
    /// Per message: send until the last member had it.
    to_last_member_ms: Percentiles,
    /// Every delivery of every measured message.
    all: WindowReport,
    closed_connections: u64,
    error_frames: u64,
    server_rss: Vec<Rss>,
}

/// One message at a time into one big room; times each until its last member has it.
pub async fn big_room(args: BigRoomArgs) -> Result<(), BoxError> {
    let common = &args.common;
    let instances = common.servers.len();
    let seeded = seed::seed(
        &common.database_url,
        Plan {
            users: args.members,
            rooms: 1,
        },
    )
    .await?;
    eprintln!("bench: seeded {} users in one room", seeded.users.len());
    let total = args.warmup + args.messages;
    let shared = Shared::new(total + 1, &seeded.rooms);
    let (conns, connect) = connect_all(common, &seeded, |i| i, 4 * 1024, &shared).await;
    let conns: Vec<Conn> = conns.into_iter().flatten().collect();
    if conns.len() < 2 {
        return Err("fewer than two connections opened".into());
    }
    settle(&common.watched()).await;
    let mut to_last_us = Vec::with_capacity(args.messages);
    let mut all = crate::tally::Window::default();
    let mut acks = Vec::new();
    let watched = common.watched();
    let mut cpu_before = report::cpu_snapshot(&watched);
    let (mut sent, mut acked, mut expected) = (0, 0, 0);
    for k in 0..total {
        let w = u32::try_from(k + 1).unwrap_or(u32::MAX);
        // Senders alternate between the first two connections: one on each instance.
        let sender = &conns[k % 2];
        send(
            sender,
            &shared,
            w,
            k as u64,
            shared.now_us(),
            args.body_bytes,
        );
        drain(&shared, w, Duration::from_secs(10)).await;
        let (_, window, ack) = report::collect(&conns, &shared, w, 0.0, 0.0);
        if k + 1 == args.warmup {
            cpu_before = report::cpu_snapshot(&watched);
        }
        if k >= args.warmup {
            acks.extend(ack);
            let counters = shared.window(w as usize);
            sent += counters.sent.load(Ordering::Relaxed);
            acked += counters.acked.load(Ordering::Relaxed);
            expected += counters.expected.load(Ordering::Relaxed);
            let complete = window.delivered >= counters.expected.load(Ordering::Relaxed);
            // An incomplete message counts as never reaching its last member.
            to_last_us.push(if complete {
                window.max_latency_us()
            } else {
                u32::MAX
            });
            all.merge(window);
        }
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    let cpu = report::cpu_between(&cpu_before, &report::cpu_snapshot(&watched));
    let to_last_member_ms = percentiles_ms(&mut to_last_us);
    let latency_ms = percentiles_ms(&mut all.latencies_us);
    let all = WindowReport {
        rate: 0.0,
        seconds: 0.0,
        sent,
        acked,
        expected,
        delivered: all.delivered,
        lost: crate::tally::lost(expected, all.delivered),
        duplicated: all.duplicated,
        out_of_order: all.out_of_order,
        deliveries_per_s: 0.0,
        latency_ms,
        ack_latency_ms: percentiles_ms(&mut acks),
        cpu,
    };
    eprintln!(
        "bench: {} members, {} messages: to the last member p50 {:.1} ms p99 {:.1} ms max {:.1} ms; every delivery p50 {:.1} ms p99 {:.1} ms; delivered {}/{} lost {} dup {} ooo {}",
        conns.len(),
        args.messages,
        to_last_member_ms.p50,
        to_last_member_ms.p99,
        to_last_member_ms.max,
        all.latency_ms.p50,
        all.latency_ms.p99,
        all.delivered,
        all.expected,
        all.lost,
        all.duplicated,
        all.out_of_order
    );
    let out = BigRoomReport {
        mode: "big-room",
        instances,
        members: conns.len(),
        messages: args.messages,
        connect,
        to_last_member_ms,
        all,
        closed_connections: shared.closed.load(Ordering::Relaxed),
        error_frames: shared.errors.load(Ordering::Relaxed),
        server_rss: report::rss_all(&common.pids),
    };
    report::emit(&out);
    Ok(())
}

/// `idle`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct IdleArgs {
    #[command(flatten)]
    common: Common,
    /// Sockets to open (one seeded user each) on the first `--server`.
    #[arg(long, default_value_t = 10_000)]
    connections: usize,
    /// Members per room (rooms of more than 1,000 carry no presence traffic).
    #[arg(long, default_value_t = 2000)]
    room_size: usize,
    /// How long to hold the sockets open before measuring again, seconds.
    #[arg(long, default_value_t = 10)]
    hold_secs: u64,
}

/// `idle`'s report.
#[derive(Debug, Serialize)]
struct IdleReport {
    mode: &'static str,
    connect: ConnectReport,
    /// Sockets alive at the end (answered a ping, on a sample; all of them if few).
    pinged: usize,
    pongs: u64,
    closed_connections: u64,
    rss_before: Option<Rss>,
    rss_after: Option<Rss>,
    /// `(rss_after - rss_before) / opened`, KiB.
    rss_per_connection_kib: Option<f64>,
}

/// Opens as many idle authenticated sockets as asked on one instance; reports its memory.
pub async fn idle(args: IdleArgs) -> Result<(), BoxError> {
    let common = &args.common;
    let pid = common.pids.first().copied();
    let rooms = args.connections.div_ceil(args.room_size.max(1));
    let seeded = seed::seed(
        &common.database_url,
        Plan {
            users: args.connections,
            rooms,
        },
    )
    .await?;
    eprintln!(
        "bench: seeded {} users in {} rooms",
        seeded.users.len(),
        rooms
    );
    let shared = Shared::new(1, &seeded.rooms);
    let rss_before = pid.and_then(report::rss);
    let (conns, connect) = connect_all(common, &seeded, |_| 0, 4 * 1024, &shared).await;
    let conns: Vec<Conn> = conns.into_iter().flatten().collect();
    settle(&common.watched()).await;
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    let sample: Vec<&Conn> = conns.iter().step_by((conns.len() / 1000).max(1)).collect();
    for (n, conn) in sample.iter().enumerate() {
        if let Ok(text) = serde_json::to_string(&ClientFrame::Ping {
            nonce: Some(n as u64),
        }) {
            let _ = conn.outbox.send(text);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while shared.pongs.load(Ordering::Relaxed) < sample.len() as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rss_after = pid.and_then(report::rss);
    let rss_per_connection_kib = match (rss_before, rss_after) {
        (Some(before), Some(after)) if !conns.is_empty() => {
            Some(after.rss_kib.saturating_sub(before.rss_kib) as f64 / conns.len() as f64)
        }
        _ => None,
    };
    eprintln!(
        "bench: {} idle sockets; server RSS {} -> {} KiB: {} KiB per connection; {}/{} pinged answered; {} closed",
        conns.len(),
        rss_before.map_or(0, |r| r.rss_kib),
        rss_after.map_or(0, |r| r.rss_kib),
        rss_per_connection_kib.map_or("?".into(), |k| format!("{k:.2}")),
        shared.pongs.load(Ordering::Relaxed),
        sample.len(),
        shared.closed.load(Ordering::Relaxed),
    );
    let out = IdleReport {
        mode: "idle",
        connect,
        pinged: sample.len(),
        pongs: shared.pongs.load(Ordering::Relaxed),
        closed_connections: shared.closed.load(Ordering::Relaxed),
        rss_before,
        rss_after,
        rss_per_connection_kib,
    };
    report::emit(&out);
    Ok(())
}

/// `seed`'s settings.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// The database (`postgres://…` or `sqlite://…?mode=rwc`).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Users to create, each with a session.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Group rooms; user `i` joins room `i % rooms`.
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Where to write `user_id,username,room_id,cookie` lines.
    #[arg(long)]
    out: std::path::PathBuf,
}

/// Seeds users, sessions, rooms and memberships and writes their cookies to a file.
pub async fn seed_only(args: SeedArgs) -> Result<(), BoxError> {
    let started = Instant::now();
    let seeded = seed::seed(
        &args.database_url,
        Plan {
            users: args.users,
            rooms: args.rooms,
        },
    )
    .await?;
    let mut csv = String::from("user_id,username,room_id,cookie\n");
    for user in &seeded.users {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            user.id,
            user.username,
            user.room.map(|r| r.to_string()).unwrap_or_default(),
            Seeded::cookie(user)
        ));
    }
    std::fs::write(&args.out, csv)?;
    eprintln!(
        "bench: seeded {} users in {} rooms in {:.2} s; cookies in {} (password: {})",
        seeded.users.len(),
        seeded.rooms.len(),
        started.elapsed().as_secs_f64(),
        args.out.display(),
        seed::SEED_PASSWORD
    );
    Ok(())
}
