//! Several instances behind one PostgreSQL database and one Redis: they behave as one
//! server. Messages cross instances exactly once and in seq order, survive Redis
//! restarts, killed pub-sub connections and SIGKILLed instances, and one slow reader
//! cannot hurt anyone else.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_protocol::api::{RoomSummary, StartDirect};
use confab_protocol::{ClientFrame, ErrorCode, MessagePosted, RoomId, Seq, ServerFrame};
use confab_server::Config;

use crate::helpers::{TestApp, WsClient};
use crate::services::{PgCluster, RedisServer, free_port};

/// Instances sharing one fresh PostgreSQL database and one Redis.
pub struct Cluster {
    pub redis: RedisServer,
    pub database_url: String,
    pub apps: Vec<TestApp>,
    _dirs: Vec<Arc<tempfile::TempDir>>,
}

pub async fn spawn_cluster(instances: usize) -> Cluster {
    spawn_cluster_with(instances, |_, _, _| {}).await
}

/// Like [`spawn_cluster`], with the configuration of instance `i` changed by
/// `tweak(i, config, redis)`.
pub async fn spawn_cluster_with(
    instances: usize,
    tweak: impl Fn(usize, &mut Config, &RedisServer),
) -> Cluster {
    let redis = RedisServer::start();
    let database_url = PgCluster::get().fresh_database().await;
    let mut apps = Vec::new();
    let mut dirs = Vec::new();
    for i in 0..instances {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = Config::for_data_dir(dir.path());
        config.dist_dir = dir.path().join("no-dist");
        config.database_url = Some(database_url.clone());
        config.redis_url = Some(redis.url());
        config.instance_id = Some(format!("instance-{}", (b'a' + i as u8) as char));
        config.max_posts_per_sec = 0;
        config.max_frames_per_sec = 0;
        config.log = "warn".into();
        tweak(i, &mut config, &redis);
        apps.push(TestApp::start(config).await);
        dirs.push(dir);
    }
    let cluster = Cluster {
        redis,
        database_url,
        apps,
        _dirs: dirs,
    };
    cluster.wait_until_ready().await;
    cluster
}

impl Cluster {
    /// Waits until every instance reports its bus up.
    pub async fn wait_until_ready(&self) {
        for app in &self.apps {
            wait_ready(app.address).await;
        }
    }

    /// Stops Redis and waits until every instance reports its bus down.
    pub async fn stop_redis(&mut self) {
        self.redis.stop();
        for app in &self.apps {
            wait_bus_down(app.address).await;
        }
    }

    /// Starts Redis again, empty, and waits until every instance reports its bus up.
    pub async fn start_redis(&mut self) {
        self.redis.restart();
        self.wait_until_ready().await;
    }
}

/// Waits until an instance's `/readyz` says its bus is down.
pub async fn wait_bus_down(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let down = reqwest::get(format!("http://{address}/readyz"))
            .await
            .map(|r| r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE);
        if down.unwrap_or(false) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "instance {address} never reported its bus down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn wait_ready(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = reqwest::get(format!("http://{address}/readyz"))
            .await
            .map(|r| r.status().is_success());
        if ready.unwrap_or(false) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "instance {address} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn next_message(ws: &mut WsClient) -> MessagePosted {
    ws.next_matching(|f| match f {
        ServerFrame::MessagePosted(m) => Some(m),
        _ => None,
    })
    .await
}

/// Waits until a subscription for `channel` is (or is no longer) on Redis.
pub async fn wait_for_channel(redis: &RedisServer, channel: &str, present: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let channels = redis
            .cli(&["PUBSUB", "CHANNELS", "confab:*"])
            .unwrap_or_default();
        if channels.lines().any(|c| c == channel) == present {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "channel {channel} present={present} never happened: {channels}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Redis user of a late instance (see [`late_instance`]) and its password.
const LATE_USER: (&str, &str) = ("late", "late-password");

/// Makes an instance authenticate to Redis as a user that Redis forgets when it restarts
/// empty: it then cannot reconnect until [`let_late_instance_in`]. So a test decides that
/// it comes back after the others, as an instance still waiting out its backoff would.
pub fn late_instance(config: &mut Config, redis: &RedisServer) {
    let_late_instance_in(redis);
    let (user, password) = LATE_USER;
    config.redis_url = Some(format!(
        "redis://{user}:{password}@127.0.0.1:{}",
        redis.port
    ));
}

/// Lets the late instance connect to Redis again (see [`late_instance`]).
pub fn let_late_instance_in(redis: &RedisServer) {
    let (user, password) = LATE_USER;
    let password = format!(">{password}");
    let args = [
        "ACL",
        "SETUSER",
        user,
        "on",
        &password,
        "allkeys",
        "allchannels",
        "+@all",
    ];
    assert_eq!(redis.cli(&args).as_deref(), Some("OK"));
}

/// Waits until Redis has run at least `count` PUBLISH commands since it (re)started.
pub async fn wait_for_publishes(redis: &RedisServer, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = redis.cli(&["INFO", "commandstats"]).unwrap_or_default();
        let calls: u64 = stats
            .lines()
            .find_map(|line| line.strip_prefix("cmdstat_publish:calls="))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if calls >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Redis never ran {count} publishes: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `count` connections subscribe to `channel` on Redis.
pub async fn wait_for_subscribers(redis: &RedisServer, channel: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = redis
            .cli(&["PUBSUB", "NUMSUB", channel])
            .unwrap_or_default();
        let now: Option<usize> = reply.lines().nth(1).and_then(|n| n.trim().parse().ok());
        if now == Some(count) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{channel} never had {count} subscribers: {reply}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_message_sent_on_one_instance_reaches_members_on_every_instance_exactly_once() {
    let cluster = spawn_cluster(3).await;
    let [a, b, c] = [0, 1, 2].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[1].register("bob").await.via(b);
    let carol = cluster.apps[2].register("carol").await.via(c);
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    carol.join(room.id).await;
    let mut wa = alice.via(a).connect().await;
    let mut wa2 = alice.via(c).connect().await; // alice's second tab, on another instance
    let mut wb = bob.connect().await;
    let mut wc = carol.connect().await;
    wait_for_channel(&cluster.redis, &format!("confab:room:{}", room.id), true).await;
    // Give every instance's subscription a moment to be active on Redis.
    for app in &cluster.apps {
        wait_ready(app.address).await;
    }

    wa.say(room.id, "hello-1", "hello everyone").await;
    let mut seen = Vec::new();
    for ws in [&mut wa, &mut wa2, &mut wb, &mut wc] {
        seen.push(next_message(ws).await);
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "same id and seq everywhere: {seen:?}"
    );
    assert_eq!(seen[0].seq, Seq(1));
    for ws in [&mut wa2, &mut wb, &mut wc] {
        ws.expect_silence(Duration::from_millis(400)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_clients_on_three_instances_in_three_rooms_each_get_their_rooms_messages_once_in_order()
 {
    const PER_CLIENT: usize = 100;
    let cluster = spawn_cluster(3).await;
    let owner = cluster.apps[0].register("owner").await;
    let rooms: Vec<RoomId> = [
        owner.create_room("r0").await.id,
        owner.create_room("r1").await.id,
        owner.create_room("r2").await.id,
    ]
    .to_vec();
    let mut clients = Vec::new();
    for i in 0..30 {
        let app = &cluster.apps[i % 3];
        let user = app.register(&format!("user{i:02}")).await;
        let room = rooms[i / 10];
        user.join(room).await;
        clients.push((user, room));
    }
    let mut sockets = Vec::new();
    for (user, room) in &clients {
        sockets.push((user.connect().await, *room));
    }
    for room in &rooms {
        wait_for_channel(&cluster.redis, &format!("confab:room:{room}"), true).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let per_room = 10 * PER_CLIENT;
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, (mut ws, room))| {
            tokio::spawn(async move {
                for n in 0..PER_CLIENT {
                    ws.say(room, &format!("c{i}-{n}"), &format!("{n} from {i}"))
                        .await;
                }
                let mut seqs = Vec::with_capacity(per_room);
                while seqs.len() < per_room {
                    match ws.next_frame().await {
                        ServerFrame::MessagePosted(m) => {
                            assert_eq!(m.room, room, "client {i} got another room's message");
                            seqs.push(m.seq.0);
                        }
                        ServerFrame::Error { code, message, .. } => {
                            panic!("client {i}: {code} {message}")
                        }
                        _ => {}
                    }
                }
                ws.expect_silence(Duration::from_millis(300)).await;
                (i, seqs)
            })
        })
        .collect();
    for task in tasks {
        let (i, seqs) = task.await.unwrap();
        assert_eq!(
            seqs,
            (1..=per_room as i64).collect::<Vec<_>>(),
            "client {i}: each message once, in seq order"
        );
    }
}

/// Sends `count` messages from `sender` with a pause between them while `disrupt` runs
/// midway, and checks every receiver ends with seqs 1..=count exactly once, in order.
async fn stream_through_a_fault(cluster: &mut Cluster, disrupt: impl FnOnce(&mut RedisServer)) {
    const COUNT: usize = 60;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[1].register("bob").await.via(b);
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    let mut sender = alice.via(a).connect().await;
    let mut receiver = bob.connect().await;
    wait_for_channel(&cluster.redis, &format!("confab:room:{}", room.id), true).await;

    let reader = tokio::spawn(async move {
        let mut seqs = Vec::new();
        while seqs.len() < COUNT {
            if let ServerFrame::MessagePosted(m) = receiver.next_frame().await {
                seqs.push(m.seq.0);
            }
        }
        receiver.expect_silence(Duration::from_millis(500)).await;
        seqs
    });
    let mut disrupt = Some(disrupt);
    for n in 0..COUNT {
        if n == COUNT / 3
            && let Some(disrupt) = disrupt.take()
        {
            disrupt(&mut cluster.redis);
        }
        sender
            .say(room.id, &format!("m{n}"), &format!("message {n}"))
            .await;
        sender
            .next_matching(|f| matches!(f, ServerFrame::MessageAcked { .. }).then_some(()))
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seqs = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("receiver catches up")
        .unwrap();
    assert_eq!(seqs, (1..=COUNT as i64).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_redis_restart_mid_stream_loses_and_duplicates_nothing() {
    let mut cluster = spawn_cluster(2).await;
    stream_through_a_fault(&mut cluster, |redis| redis.restart()).await;
    cluster.wait_until_ready().await;
    let metrics = reqwest::get(cluster.apps[1].url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let local = confab_server::metrics::render();
    assert!(
        metrics.contains("confab_redis_reconnects_total"),
        "http: {metrics} local: {local}"
    );
}

#[tokio::test]
async fn killed_pubsub_connections_mid_stream_lose_and_duplicate_nothing() {
    let mut cluster = spawn_cluster(2).await;
    stream_through_a_fault(&mut cluster, |redis| {
        let killed = redis
            .cli(&["CLIENT", "KILL", "TYPE", "pubsub"])
            .unwrap_or_default();
        assert_ne!(killed, "0", "some pub-sub clients were killed");
    })
    .await;
}

#[tokio::test]
async fn readyz_reports_redis_down_while_it_is_down() {
    let mut cluster = spawn_cluster(1).await;
    let url = cluster.apps[0].url("/readyz");
    cluster.redis.stop();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = reqwest::get(&url).await.unwrap();
        if response.status() == 503 {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(
                (body["database"].as_bool(), body["bus"].as_bool()),
                (Some(true), Some(false))
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "readyz never reported the bus down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.redis.restart();
    cluster.wait_until_ready().await;
}

#[tokio::test]
async fn channel_subscriptions_follow_local_membership() {
    let cluster = spawn_cluster(2).await;
    let alice = cluster.apps[0].register("alice").await;
    let room = alice.create_room("general").await;
    let channel = format!("confab:room:{}", room.id);
    let user_channel = format!("confab:user:{}", alice.user.id);
    wait_for_channel(&cluster.redis, &channel, false).await;

    let first = alice.connect().await;
    wait_for_channel(&cluster.redis, &channel, true).await;
    wait_for_channel(&cluster.redis, &user_channel, true).await;
    let second = alice.connect().await;
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    wait_for_channel(&cluster.redis, &channel, true).await;
    drop(second);
    wait_for_channel(&cluster.redis, &channel, false).await;
    wait_for_channel(&cluster.redis, &user_channel, false).await;

    // Leaving the room unsubscribes too, while the user stays connected.
    let mut ws = alice.connect().await;
    wait_for_channel(&cluster.redis, &channel, true).await;
    ws.send(&ClientFrame::LeaveRoom { room: room.id }).await;
    assert_eq!(
        ws.next_frame().await,
        ServerFrame::RoomLeft { room: room.id }
    );
    wait_for_channel(&cluster.redis, &channel, false).await;
    wait_for_channel(&cluster.redis, &user_channel, true).await;
    let all = cluster
        .redis
        .cli(&["PUBSUB", "CHANNELS", "confab:room:*"])
        .unwrap_or_default();
    assert!(all.trim().is_empty(), "no room channel left: {all}");
}

#[tokio::test]
async fn joining_on_one_instance_is_announced_to_the_users_sockets_on_another() {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[0].register("bob").await;
    let room = alice.create_room("general").await;
    let mut wb = bob.via(b).connect().await;
    wait_for_channel(
        &cluster.redis,
        &format!("confab:user:{}", bob.user.id),
        true,
    )
    .await;
    bob.via(a).join(room.id).await;
    match wb.next_frame().await {
        ServerFrame::RoomJoined { room: joined } => assert_eq!(joined.id, room.id),
        other => panic!("expected room_joined, got {other:?}"),
    }
    let mut wa = alice.via(a).connect().await;
    wait_for_channel(&cluster.redis, &format!("confab:room:{}", room.id), true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    wa.say(room.id, "x", "hi bob").await;
    assert_eq!(next_message(&mut wb).await.body, "hi bob");
}

/// A `confab` process, so it can be SIGKILLed.
pub struct ServerProcess {
    pub child: Child,
    pub address: SocketAddr,
}

impl ServerProcess {
    pub fn spawn(
        database_url: &str,
        redis_url: &str,
        data_dir: &std::path::Path,
        instance: &str,
    ) -> Self {
        Self::spawn_with(database_url, redis_url, data_dir, instance, &[])
    }

    /// Like [`ServerProcess::spawn`], with more command-line arguments.
    pub fn spawn_with(
        database_url: &str,
        redis_url: &str,
        data_dir: &std::path::Path,
        instance: &str,
        extra: &[&str],
    ) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_confab"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
            .args(["--max-posts-per-sec", "0", "--max-frames-per-sec", "0"])
            .args([
                "--database-url",
                database_url,
                "--redis-url",
                redis_url,
                "--instance-id",
                instance,
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("confab starts");
        Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl ServerProcess {
    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill_hard(mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_instances_clients_resume_on_another_with_nothing_lost_or_duplicated() {
    const COUNT: usize = 80;
    let cluster = spawn_cluster(1).await;
    let dir = tempfile::tempdir().unwrap();
    let victim = ServerProcess::spawn(
        &cluster.database_url,
        &cluster.redis.url(),
        dir.path(),
        "victim",
    );
    wait_ready(victim.address).await;
    let survivor = cluster.apps[0].address;

    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[0].register("bob").await;
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    let mut sender = alice.connect().await;
    let mut on_victim = bob.via(victim.address).connect().await;
    wait_for_channel(&cluster.redis, &format!("confab:room:{}", room.id), true).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut victim = Some(victim);
    let send = tokio::spawn(async move {
        for n in 0..COUNT {
            sender
                .say(room.id, &format!("m{n}"), &format!("message {n}"))
                .await;
            sender
                .next_matching(|f| matches!(f, ServerFrame::MessageAcked { .. }).then_some(()))
                .await;
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    });

    // Bob's client: read until the instance dies, then resume on the survivor from the
    // last seq seen, as the browser client does.
    let mut seqs: Vec<i64> = Vec::new();
    while seqs.len() < COUNT / 3 {
        if let ServerFrame::MessagePosted(m) = on_victim.next_frame().await {
            seqs.push(m.seq.0);
        }
    }
    let mut killed = victim.take().unwrap();
    let _ = Command::new("kill")
        .args(["-KILL", &killed.child.id().to_string()])
        .status();
    let _ = killed.child.wait();
    // Whatever was already buffered on the dead socket still counts.
    while let Ok(Some(Ok(message))) = tokio::time::timeout(
        Duration::from_millis(200),
        futures_util::StreamExt::next(&mut on_victim.stream),
    )
    .await
    {
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message
            && let Ok(ServerFrame::MessagePosted(m)) = serde_json::from_str(text.as_str())
        {
            seqs.push(m.seq.0);
        }
    }
    drop(killed);

    let mut resumed = bob.via(survivor).connect().await;
    let mut last = seqs.last().copied().unwrap_or(0);
    resumed
        .send(&ClientFrame::Backfill {
            room: room.id,
            after_seq: Seq(last),
            limit: None,
        })
        .await;
    let mut seen: HashSet<i64> = seqs.iter().copied().collect();
    while seqs.len() < COUNT {
        match resumed.next_frame().await {
            ServerFrame::History { messages, .. } => {
                for m in messages {
                    if seen.insert(m.seq.0) {
                        seqs.push(m.seq.0);
                        last = m.seq.0;
                    }
                }
            }
            // Live messages overlapping the backfill are dropped by seq, as the client does.
            ServerFrame::MessagePosted(m) if m.seq.0 > last && seen.insert(m.seq.0) => {
                assert_eq!(m.seq.0, last + 1, "no gap in live delivery after resuming");
                seqs.push(m.seq.0);
                last = m.seq.0;
            }
            _ => {}
        }
    }
    send.await.unwrap();
    assert_eq!(
        seqs,
        (1..=COUNT as i64).collect::<Vec<_>>(),
        "nothing lost or duplicated, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_while_memory_stays_bounded_and_others_get_everything()
 {
    const COUNT: usize = 50_000;
    let cluster = spawn_cluster(1).await;
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        &cluster.database_url,
        &cluster.redis.url(),
        dir.path(),
        "solo",
    );
    wait_ready(server.address).await;
    let app = &cluster.apps[0];
    let alice = app.register("alice").await.via(server.address);
    let bob = app.register("bob").await.via(server.address);
    let carol = app.register("carol").await.via(server.address);
    let room = alice.create_room("firehose").await;
    bob.join(room.id).await;
    carol.join(room.id).await;
    let mut sender = alice.connect().await;
    let mut stalled = bob.connect().await; // stops reading
    let mut reader = carol.connect().await;

    // Bob reads again as soon as the server has given up on him (the metric says so),
    // within the grace a cut-off client has: he finds his socket closed with 4008.
    let metrics_url = format!("http://{}/metrics", server.address);
    let stalled_closed = tokio::spawn(async move {
        loop {
            let text = reqwest::get(&metrics_url)
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.lines().any(|l| {
                l.starts_with("confab_slow_consumer_disconnects_total") && !l.ends_with(" 0")
            }) {
                return stalled.closed_with().await.map(u16::from);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let read_all = tokio::spawn(async move {
        let mut next = 1;
        while next <= COUNT as i64 {
            if let ServerFrame::MessagePosted(m) = reader.next_frame().await {
                assert_eq!(m.seq.0, next, "in order, no gap, no duplicate");
                next += 1;
            }
        }
    });
    let body = "x".repeat(200);
    let mut rss_samples = Vec::new();
    let mut acked = 0;
    for chunk in 0..(COUNT / 500) {
        for n in 0..500 {
            sender.say(room.id, &format!("m{chunk}-{n}"), &body).await;
        }
        while acked < (chunk + 1) * 500 {
            if let ServerFrame::MessageAcked { .. } = sender.next_frame().await {
                acked += 1;
            }
        }
        if chunk % 10 == 9 {
            rss_samples.push(server.rss_kib());
        }
    }
    tokio::time::timeout(Duration::from_secs(120), read_all)
        .await
        .expect("reader gets everything")
        .unwrap();

    let code = tokio::time::timeout(Duration::from_secs(60), stalled_closed)
        .await
        .expect("the slow consumer is cut off")
        .unwrap();
    assert_eq!(code, Some(confab_protocol::close::SLOW_CONSUMER));
    let metrics = reqwest::get(format!("http://{}/metrics", server.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("confab_slow_consumer_disconnects_total") && !l.ends_with(" 0")),
        "{metrics}"
    );
    // Memory: after the slow consumer is cut off, the server does not keep growing with
    // the message count (samples every 5,000 messages).
    let first = rss_samples.first().copied().unwrap_or(0);
    let peak = rss_samples.iter().copied().max().unwrap_or(0);
    assert!(
        peak < first + 64 * 1024,
        "RSS grew from {first} KiB to {peak} KiB: {rss_samples:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_with_twenty_concurrent_senders_each_keep_seqs_gapless_and_deliver_everything_once_in_order()
 {
    const PER_INSTANCE: usize = 20;
    const PER_SENDER: usize = 50;
    let cluster = spawn_cluster(2).await;
    let owner = cluster.apps[0].register("owner").await;
    let room = owner.create_room("contended").await;
    let mut sockets = Vec::new();
    for i in 0..2 * PER_INSTANCE {
        let user = cluster.apps[i % 2].register(&format!("sender{i:02}")).await;
        user.join(room.id).await;
        sockets.push(user.connect().await);
    }
    wait_for_channel(&cluster.redis, &format!("confab:room:{}", room.id), true).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let total = 2 * PER_INSTANCE * PER_SENDER;
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            tokio::spawn(async move {
                for n in 0..PER_SENDER {
                    ws.say(room.id, &format!("s{i}-{n}"), &format!("{n} from {i}"))
                        .await;
                }
                let (mut acks, mut seqs) = (Vec::new(), Vec::new());
                while acks.len() < PER_SENDER || seqs.len() < total {
                    match ws.next_frame().await {
                        ServerFrame::MessageAcked { seq, .. } => acks.push(seq.0),
                        ServerFrame::MessagePosted(m) => seqs.push(m.seq.0),
                        ServerFrame::Error { code, message, .. } => {
                            panic!("sender {i}: {code} {message}")
                        }
                        _ => {}
                    }
                }
                (i, acks, seqs)
            })
        })
        .collect();
    let mut all_acks = Vec::new();
    for task in tasks {
        let (i, acks, seqs) = task.await.unwrap();
        assert_eq!(
            seqs,
            (1..=total as i64).collect::<Vec<_>>(),
            "sender {i} receives everything once, in order"
        );
        all_acks.extend(acks);
    }
    all_acks.sort_unstable();
    assert_eq!(
        all_acks,
        (1..=total as i64).collect::<Vec<_>>(),
        "no duplicate and no gap in the committed seqs"
    );
}

#[tokio::test]
async fn an_idle_instance_keeps_its_redis_subscription_across_heartbeats() {
    let cluster = spawn_cluster(1).await;
    // Two heartbeats (5 s each) pass with nothing to deliver.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let clients = cluster
        .redis
        .cli(&["CLIENT", "LIST", "TYPE", "pubsub"])
        .unwrap_or_default();
    let ages: Vec<u64> = clients
        .lines()
        .filter_map(|line| {
            line.split(' ')
                .find_map(|field| field.strip_prefix("age="))
                .and_then(|age| age.parse().ok())
        })
        .collect();
    assert_eq!(ages.len(), 1, "one subscriber connection: {clients}");
    assert!(
        ages[0] >= 11,
        "the subscription was never dropped and remade: {clients}"
    );
}

#[tokio::test]
async fn signing_out_on_one_instance_ends_that_sessions_sockets_on_every_instance() {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    // A second session of alice's (another browser), which must survive.
    let other_browser = reqwest::Client::new()
        .post(format!("http://{a}/api/auth/sign-in"))
        .json(&serde_json::json!({ "username": alice.user.username, "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    let other_cookie = crate::helpers::session_cookie(&other_browser).unwrap();
    let other = crate::helpers::TestUser {
        app_address: b,
        http: reqwest::Client::new(),
        cookie: other_cookie,
        user: alice.user.clone(),
    };
    let mut on_a = alice.via(a).connect().await;
    let mut on_b = alice.via(b).connect().await;
    let mut survivor = other.connect().await;
    wait_for_channel(
        &cluster.redis,
        &format!("confab:user:{}", alice.user.id),
        true,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let response = alice.via(a).post_empty("/api/auth/sign-out").await;
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    for ws in [&mut on_a, &mut on_b] {
        assert_eq!(ws.next_frame().await, ServerFrame::SessionEnded);
        assert_eq!(
            ws.closed_with().await.map(u16::from),
            Some(confab_protocol::close::SESSION_ENDED)
        );
    }
    survivor.assert_alive(9).await;
    let me = alice.via(b).get("/api/auth/me").await;
    assert_eq!(me.status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// The `room_joined` and `room_left` frames `ws` receives until it has seen one of each
/// room in `joined` and `left` (other frames are skipped): the summaries of those joined.
async fn membership_changes(
    ws: &mut WsClient,
    joined: &[RoomId],
    left: &[RoomId],
) -> HashMap<RoomId, RoomSummary> {
    let (mut summaries, mut gone) = (HashMap::new(), HashSet::new());
    while summaries.len() < joined.len() || gone.len() < left.len() {
        match ws.next_frame().await {
            ServerFrame::RoomJoined { room } if joined.contains(&room.id) => {
                summaries.insert(room.id, room);
            }
            ServerFrame::RoomLeft { room } if left.contains(&room) => {
                gone.insert(room);
            }
            _ => {}
        }
    }
    summaries
}

#[tokio::test]
async fn rooms_joined_and_left_while_redis_was_down_follow_the_users_sockets_on_other_instances() {
    let mut cluster = spawn_cluster_with(2, |i, config, redis| {
        if i == 1 {
            late_instance(config, redis);
        }
    })
    .await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[0].register("bob").await;
    let joined = alice.create_room("joined").await.id;
    let left = alice.create_room("left").await.id;
    bob.join(left).await;
    let mut sender = alice.via(a).connect().await;
    let mut on_b = bob.via(b).connect().await;
    wait_for_subscribers(&cluster.redis, &format!("confab:room:{left}"), 2).await;

    // Bob joins one room and leaves the other on instance a while Redis is down.
    cluster.stop_redis().await;
    bob.via(a).join(joined).await;
    let response = bob
        .via(a)
        .post_empty(&format!("/api/rooms/{left}/leave"))
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    // Redis comes back empty, and instance a publishes what it queued (room_joined and
    // member_joined, room_left and member_left) before instance b is back.
    cluster.redis.restart();
    wait_ready(a).await;
    wait_for_publishes(&cluster.redis, 4).await;
    let_late_instance_in(&cluster.redis);
    cluster.wait_until_ready().await;

    // His socket on instance b is told, and follows: subscriptions too.
    let summaries = membership_changes(&mut on_b, &[joined], &[left]).await;
    assert_eq!(summaries[&joined].name, "joined");
    wait_for_subscribers(&cluster.redis, &format!("confab:room:{joined}"), 2).await;
    wait_for_subscribers(&cluster.redis, &format!("confab:room:{left}"), 1).await;
    sender.say(left, "l1", "after bob left").await;
    sender.say(joined, "j1", "welcome bob").await;
    let got = next_message(&mut on_b).await;
    assert_eq!((got.room, got.body.as_str()), (joined, "welcome bob"));
    on_b.send(&ClientFrame::SetTyping {
        room: left,
        on: true,
    })
    .await;
    let refused = on_b
        .next_matching(|f| match f {
            ServerFrame::Error { code, .. } => Some(code),
            _ => None,
        })
        .await;
    assert_eq!(refused, ErrorCode::NotAMember);
    on_b.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn read_markers_and_direct_rooms_made_while_redis_was_down_reach_the_users_tabs_on_other_instances()
 {
    let mut cluster = spawn_cluster_with(2, |i, config, redis| {
        if i == 1 {
            late_instance(config, redis);
        }
    })
    .await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[0].register("bob").await;
    let room = alice.create_room("general").await.id;
    bob.join(room).await;
    let mut sender = alice.via(a).connect().await;
    let mut tab_a = bob.via(a).connect().await;
    let mut tab_b = bob.via(b).connect().await;
    wait_for_subscribers(&cluster.redis, &format!("confab:room:{room}"), 2).await;
    for n in 1..=2 {
        sender
            .say(room, &format!("m{n}"), &format!("news {n}"))
            .await;
    }
    for ws in [&mut tab_a, &mut tab_b] {
        for _ in 0..2 {
            next_message(ws).await;
        }
    }

    cluster.stop_redis().await;
    tab_a
        .send(&ClientFrame::MarkRead { room, seq: Seq(2) })
        .await;
    tab_a
        .next_matching(|f| matches!(f, ServerFrame::ReadMarker { .. }).then_some(()))
        .await;
    let direct = alice
        .via(a)
        .post("/api/rooms/direct", &StartDirect { user: bob.user.id })
        .await;
    assert_eq!(direct.status(), reqwest::StatusCode::CREATED);
    let direct: RoomSummary = direct.json().await.unwrap();
    // Instance a publishes the read marker and both users' room_joined before b is back.
    cluster.redis.restart();
    wait_ready(a).await;
    wait_for_publishes(&cluster.redis, 3).await;
    let_late_instance_in(&cluster.redis);
    cluster.wait_until_ready().await;

    let (mut marker, mut summary) = (None, None);
    while marker.is_none() || summary.is_none() {
        match tab_b.next_frame().await {
            ServerFrame::ReadMarker { room: r, seq } if r == room => marker = Some(seq),
            ServerFrame::RoomJoined { room } if room.id == direct.id => summary = Some(room),
            _ => {}
        }
    }
    assert_eq!(marker, Some(Seq(2)));
    let summary = summary.unwrap();
    assert_eq!(
        summary.name, alice.user.username,
        "named after the other user"
    );
    assert_eq!(summary.peer.map(|p| p.id), Some(alice.user.id));
    wait_for_subscribers(&cluster.redis, &format!("confab:room:{}", direct.id), 2).await;
    sender.say(direct.id, "dm", "just us").await;
    assert_eq!(next_message(&mut tab_b).await.body, "just us");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_asks_for_much_and_reads_nothing_is_cut_off_before_it_pins_much_memory() {
    let cluster = spawn_cluster(1).await;
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::spawn(
        &cluster.database_url,
        &cluster.redis.url(),
        dir.path(),
        "solo",
    );
    wait_ready(server.address).await;
    let alice = cluster.apps[0].register("alice").await.via(server.address);
    let room = alice.create_room("heavy").await.id;
    let mut writer = alice.connect().await;
    // 200 messages of 4,000 four-byte characters: 3.2 MB of history.
    let body = "😀".repeat(4_000);
    for n in 0..200 {
        writer.say(room, &format!("h{n}"), &body).await;
    }
    let mut acked = 0;
    while acked < 200 {
        if let ServerFrame::MessageAcked { .. } = writer.next_frame().await {
            acked += 1;
        }
    }
    drop(writer);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();

    // Asks for the whole history 100 times over (about 100 MB of answers) and never reads.
    let mut hog = alice.connect().await;
    for _ in 0..100 {
        hog.send(&ClientFrame::Backfill {
            room,
            after_seq: Seq(0),
            limit: Some(200),
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss_kib();
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
    // It was closed as a slow consumer (it finds out when it reads).
    let code = hog.closed_with().await.map(u16::from);
    assert!(
        code.is_none() || code == Some(confab_protocol::close::SLOW_CONSUMER),
        "{code:?}"
    );
}

#[tokio::test]
async fn a_sign_out_while_redis_is_down_still_ends_the_sessions_sockets_elsewhere_once_it_is_back()
{
    // Instance b comes back after a's publisher has resent what it queued: the
    // session_ended is lost for b, which must find out from the database.
    let mut cluster = spawn_cluster_with(2, |i, config, redis| {
        if i == 1 {
            late_instance(config, redis);
        }
    })
    .await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let mut on_a = alice.via(a).connect().await;
    let mut on_b = alice.via(b).connect().await;
    wait_for_channel(
        &cluster.redis,
        &format!("confab:user:{}", alice.user.id),
        true,
    )
    .await;

    cluster.stop_redis().await;
    let response = alice.via(a).post_empty("/api/auth/sign-out").await;
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(on_a.next_frame().await, ServerFrame::SessionEnded);
    on_b.assert_alive(1).await; // nothing can tell instance b yet

    cluster.redis.restart();
    wait_ready(a).await;
    wait_for_publishes(&cluster.redis, 1).await;
    let_late_instance_in(&cluster.redis);
    cluster.wait_until_ready().await;

    assert_eq!(
        on_b.next_frame_within(Duration::from_secs(20)).await,
        Some(ServerFrame::SessionEnded)
    );
    assert_eq!(
        on_b.closed_with().await.map(u16::from),
        Some(confab_protocol::close::SESSION_ENDED)
    );
}
