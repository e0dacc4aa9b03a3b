//! Presence, typing, direct conversations and unread counts: correct with several tabs,
//! several instances and crashed instances.

use std::time::{Duration, Instant};

use confab_protocol::api::{Member, RoomKind, RoomSummary, StartDirect, UserSummary};
use confab_protocol::{ClientFrame, ErrorCode, RoomId, Seq, ServerFrame, UnixMillis, UserId};
use reqwest::StatusCode;

use crate::cluster::{
    ServerProcess, late_instance, let_late_instance_in, spawn_cluster, spawn_cluster_with,
    wait_ready,
};
use crate::helpers::{TestUser, WsClient, spawn_app};
use crate::services::RedisServer;

/// Generous bound for "goes offline within the lease TTL" after a crash: the lease is 3 s
/// in these tests, the requirement 30 s.
const CRASH_OFFLINE_WITHIN: Duration = Duration::from_secs(30);

/// The next `status` frame about `user` (others are skipped): (online, last_seen).
async fn next_status_of(ws: &mut WsClient, user: UserId) -> (bool, Option<UnixMillis>) {
    ws.next_matching(|f| match f {
        ServerFrame::PresenceChanged {
            user: u,
            online,
            last_seen,
            ..
        } if u == user => Some((online, last_seen)),
        _ => None,
    })
    .await
}

/// Asserts no `status` frame about `user` arrives within `wait` (other frames are fine).
async fn no_status_of(ws: &mut WsClient, user: UserId, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next_frame()).await;
        match frame {
            Err(_) => return,
            Ok(ServerFrame::PresenceChanged {
                user: u, online, ..
            }) if u == user => {
                panic!("unexpected status of {user}: online={online}")
            }
            Ok(_) => {}
        }
    }
}

/// The next typing frame about `user` in `room`: whether it is on.
async fn next_typing_of(ws: &mut WsClient, room: RoomId, user: UserId) -> bool {
    ws.next_matching(|f| match f {
        ServerFrame::TypingChanged {
            room: r,
            user: u,
            on,
            ..
        } if r == room && u == user => Some(on),
        _ => None,
    })
    .await
}

async fn members(user: &TestUser, room: RoomId) -> Vec<Member> {
    let response = user.get(&format!("/api/rooms/{room}/members")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn rooms(user: &TestUser) -> Vec<RoomSummary> {
    let response = user.get("/api/rooms").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn start_direct(user: &TestUser, other: UserId) -> reqwest::Response {
    user.post("/api/rooms/direct", &StartDirect { user: other })
        .await
}

/// Two users sharing a room, on one instance.
async fn pair_in_a_room(app: &crate::helpers::TestApp) -> (TestUser, TestUser, RoomId) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    (alice, bob, room.id)
}

// ---- presence ---------------------------------------------------------------------------

#[tokio::test]
async fn several_tabs_count_as_one_and_only_closing_the_last_announces_offline() {
    let app = spawn_app().await;
    let (alice, bob, room) = pair_in_a_room(&app).await;
    let mut watcher = bob.connect().await.seeing_presence();

    let first = alice.connect().await;
    assert_eq!(
        next_status_of(&mut watcher, alice.user.id).await,
        (true, None)
    );
    assert!(
        members(&bob, room)
            .await
            .iter()
            .any(|m| m.id == alice.user.id && m.online),
        "the member list shows alice online"
    );

    let second = alice.connect().await;
    no_status_of(&mut watcher, alice.user.id, Duration::from_millis(500)).await;
    drop(first);
    no_status_of(&mut watcher, alice.user.id, Duration::from_millis(500)).await;
    drop(second);
    let (online, last_seen) = next_status_of(&mut watcher, alice.user.id).await;
    assert!(!online);
    let last_seen = last_seen.expect("offline carries last_seen");
    no_status_of(&mut watcher, alice.user.id, Duration::from_millis(500)).await;

    let listed = members(&bob, room).await;
    let alice_row = listed.iter().find(|m| m.id == alice.user.id).unwrap();
    assert!(!alice_row.online);
    assert_eq!(alice_row.last_seen, Some(last_seen), "last_seen is kept");
}

#[tokio::test]
async fn tabs_on_different_instances_count_as_one_presence() {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let (alice, bob, _room) = pair_in_a_room(&cluster.apps[0]).await;
    let mut watcher = bob.via(a).connect().await.seeing_presence();

    let on_a = alice.via(a).connect().await;
    assert!(next_status_of(&mut watcher, alice.user.id).await.0);
    let on_b = alice.via(b).connect().await;
    no_status_of(&mut watcher, alice.user.id, Duration::from_millis(700)).await;
    drop(on_a);
    no_status_of(&mut watcher, alice.user.id, Duration::from_millis(700)).await;
    drop(on_b);
    assert!(!next_status_of(&mut watcher, alice.user.id).await.0);
    no_status_of(&mut watcher, alice.user.id, Duration::from_millis(700)).await;
}

#[tokio::test]
async fn status_frames_do_not_reach_users_who_share_no_room() {
    let app = spawn_app().await;
    let (alice, bob, _room) = pair_in_a_room(&app).await;
    let carol = app.register("carol").await;
    let mut sharing = bob.connect().await.seeing_presence();
    let mut stranger = carol.connect().await.seeing_presence();

    let tab = alice.connect().await;
    assert!(next_status_of(&mut sharing, alice.user.id).await.0);
    drop(tab);
    assert!(!next_status_of(&mut sharing, alice.user.id).await.0);
    no_status_of(&mut stranger, alice.user.id, Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_instances_users_go_offline_and_their_typing_ends_and_a_restart_brings_nobody_back()
 {
    let cluster = spawn_cluster(1).await;
    let survivor = cluster.apps[0].address;
    let dir = tempfile::tempdir().unwrap();
    let spawn_victim = || {
        ServerProcess::spawn_with(
            &cluster.database_url,
            &cluster.redis.url(),
            dir.path(),
            "victim",
            &["--presence-ttl-secs", "3"],
        )
    };
    let victim = spawn_victim();
    wait_ready(victim.address).await;
    let (alice, bob, room) = pair_in_a_room(&cluster.apps[0]).await;
    let mut watcher = bob.via(survivor).connect().await.seeing_presence();

    let mut doomed = alice.via(victim.address).connect().await;
    assert!(next_status_of(&mut watcher, alice.user.id).await.0);
    doomed
        .send(&ClientFrame::SetTyping { room, on: true })
        .await;
    assert!(next_typing_of(&mut watcher, room, alice.user.id).await);

    victim.kill_hard();
    let killed_at = Instant::now();
    // Both arrive, in whichever order the lease sweep and the typing timer fire.
    let (mut typing_ended, mut offline) = (false, None);
    while !typing_ended || offline.is_none() {
        match tokio::time::timeout(CRASH_OFFLINE_WITHIN, watcher.next_frame())
            .await
            .expect("offline and typing ended within the lease")
        {
            ServerFrame::TypingChanged { user, on, .. } if user == alice.user.id => {
                assert!(!on, "the indicator ends without its typist's instance");
                typing_ended = true;
            }
            ServerFrame::PresenceChanged {
                user,
                online,
                last_seen,
                ..
            } if user == alice.user.id => {
                assert!(!online && last_seen.is_some());
                assert!(offline.is_none(), "offline is announced once");
                offline = Some(killed_at.elapsed());
            }
            _ => {}
        }
    }
    assert!(killed_at.elapsed() < CRASH_OFFLINE_WITHIN);
    drop(doomed);

    // The same instance comes back; alice has not reconnected.
    let restarted = spawn_victim();
    wait_ready(restarted.address).await;
    no_status_of(&mut watcher, alice.user.id, Duration::from_secs(4)).await;
    let listed = members(&bob.via(restarted.address), room).await;
    assert!(!listed.iter().any(|m| m.id == alice.user.id && m.online));
}

/// Lease TTL of the instances in the Redis-outage tests: short, so renewals and sweeps
/// come quickly.
const OUTAGE_TTL_SECS: u64 = 2;

/// How long a presence change made during a Redis outage may take to be announced once
/// Redis is back: the instances first give each other time to resubscribe and renew.
const AFTER_OUTAGE_WITHIN: Duration = Duration::from_secs(30);

/// The next `status` frame about `user` within `wait`, if any: (online, last_seen).
async fn status_of_within(
    ws: &mut WsClient,
    user: UserId,
    wait: Duration,
) -> Option<(bool, Option<UnixMillis>)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_frame_within(left).await? {
            ServerFrame::PresenceChanged {
                user: u,
                online,
                last_seen,
                ..
            } if u == user => return Some((online, last_seen)),
            _ => {}
        }
    }
}

/// Waits until `key` exists in Redis.
async fn wait_for_key(redis: &RedisServer, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while redis.cli(&["EXISTS", key]).as_deref() != Some("1") {
        assert!(Instant::now() < deadline, "{key} never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Closes a socket from the client side and waits for the server's close: by then the
/// server has unregistered the connection and queued its presence change.
async fn close(mut ws: WsClient) {
    let _ = ws.stream.close(None).await;
    let _ = ws.closed_with().await;
}

#[tokio::test]
async fn a_user_who_leaves_while_redis_is_down_is_announced_offline_after_it_restarts_empty() {
    let mut cluster = spawn_cluster_with(2, |_, c, _| c.presence_ttl_secs = OUTAGE_TTL_SECS).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let (xavier, yvonne, room) = pair_in_a_room(&cluster.apps[0]).await;
    let mut watcher = yvonne.via(a).connect().await.seeing_presence();
    let tab = xavier.via(b).connect().await;
    assert!(next_status_of(&mut watcher, xavier.user.id).await.0);

    cluster.stop_redis().await;
    close(tab).await;
    cluster.start_redis().await;

    let (online, last_seen) = status_of_within(&mut watcher, xavier.user.id, AFTER_OUTAGE_WITHIN)
        .await
        .expect("offline is announced once Redis is back");
    assert!(!online && last_seen.is_some());
    let listed = members(&yvonne.via(a), room).await;
    assert!(listed.iter().any(|m| m.id == xavier.user.id && !m.online));
}

#[tokio::test]
async fn a_user_who_moves_to_another_instance_while_redis_is_down_is_never_announced_offline() {
    let mut cluster = spawn_cluster_with(3, |_, c, _| c.presence_ttl_secs = OUTAGE_TTL_SECS).await;
    let [a, b, c] = [0, 1, 2].map(|i| cluster.apps[i].address);
    let (xavier, yvonne, room) = pair_in_a_room(&cluster.apps[0]).await;
    let mut watcher = yvonne.via(a).connect().await.seeing_presence();
    let tab = xavier.via(c).connect().await;
    assert!(next_status_of(&mut watcher, xavier.user.id).await.0);

    cluster.stop_redis().await;
    close(tab).await;
    let _moved = xavier.via(b).connect().await;
    cluster.start_redis().await;

    // Long enough for instance c to retry its release and decide.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match status_of_within(&mut watcher, xavier.user.id, left).await {
            None => break,
            Some((online, _)) => assert!(online, "xavier never looks offline"),
        }
    }
    let listed = members(&yvonne.via(c), room).await;
    assert!(listed.iter().any(|m| m.id == xavier.user.id && m.online));
}

#[tokio::test]
async fn a_user_who_connects_while_redis_is_down_is_announced_online_once_it_is_back() {
    let mut cluster = spawn_cluster_with(2, |i, config, redis| {
        config.presence_ttl_secs = OUTAGE_TTL_SECS;
        if i == 0 {
            late_instance(config, redis);
        }
    })
    .await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let (xavier, yvonne, room) = pair_in_a_room(&cluster.apps[0]).await;
    let mut watcher = yvonne.via(a).connect().await.seeing_presence();

    cluster.stop_redis().await;
    let _tab = xavier.via(b).connect().await;
    // Redis comes back empty; instance b renews xavier's lease (the lease it could not
    // take when he connected) before instance a is back.
    cluster.redis.restart();
    wait_ready(b).await;
    wait_for_key(
        &cluster.redis,
        &format!("confab:presence:user:{}", xavier.user.id),
    )
    .await;
    let_late_instance_in(&cluster.redis);
    cluster.wait_until_ready().await;

    let (online, _) = status_of_within(&mut watcher, xavier.user.id, AFTER_OUTAGE_WITHIN)
        .await
        .expect("online is announced once Redis is back");
    assert!(online);
    let listed = members(&yvonne.via(a), room).await;
    assert!(listed.iter().any(|m| m.id == xavier.user.id && m.online));
}

#[tokio::test]
async fn joining_and_starting_a_direct_conversation_answer_at_once_while_redis_is_down() {
    let mut cluster = spawn_cluster(2).await;
    let a = cluster.apps[0].address;
    let (xavier, yvonne, _) = pair_in_a_room(&cluster.apps[0]).await;
    let open = yvonne.create_room("open while down").await;
    let other = yvonne.create_room("joined on the socket").await;
    let mut tab = xavier.via(a).connect().await;
    cluster.stop_redis().await;

    // Each of these reads who is online; none may wait for Redis to come back.
    let prompt = Duration::from_secs(3);
    let joined = tokio::time::timeout(prompt, xavier.via(a).join(open.id))
        .await
        .expect("an HTTP join answers while Redis is down");
    assert_eq!(joined.id, open.id);
    let started = Instant::now();
    tab.send(&ClientFrame::JoinRoom { room: other.id }).await;
    tab.assert_alive(7).await;
    assert!(
        started.elapsed() < prompt,
        "the socket kept answering: {:?}",
        started.elapsed()
    );
    let direct = tokio::time::timeout(prompt, start_direct(&xavier.via(a), yvonne.user.id))
        .await
        .expect("a new direct conversation answers while Redis is down");
    assert_eq!(direct.status(), StatusCode::CREATED);
    let listed = tokio::time::timeout(prompt, members(&yvonne.via(a), open.id))
        .await
        .expect("a member list answers while Redis is down");
    assert!(
        listed.iter().any(|m| m.id == xavier.user.id && m.online),
        "this instance's own users still count as online"
    );
}

// ---- typing -----------------------------------------------------------------------------

#[tokio::test]
async fn a_typing_indicator_lapses_by_itself_when_never_refreshed() {
    let app = spawn_app().await;
    let (alice, bob, room) = pair_in_a_room(&app).await;
    let mut typist = alice.connect().await;
    let mut watcher = bob.connect().await;

    typist
        .send(&ClientFrame::SetTyping { room, on: true })
        .await;
    assert!(next_typing_of(&mut watcher, room, alice.user.id).await);
    let started = Instant::now();
    assert!(!next_typing_of(&mut watcher, room, alice.user.id).await);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "it lapses after its TTL, not at once"
    );
    typist.assert_alive(1).await;
}

#[tokio::test]
async fn a_typists_dead_socket_or_message_ends_the_indicator_and_refreshes_are_throttled() {
    let app = spawn_app().await;
    let (alice, bob, room) = pair_in_a_room(&app).await;
    let mut watcher = bob.connect().await;

    // A burst of refreshes is forwarded once.
    let mut typist = alice.connect().await;
    for _ in 0..10 {
        typist
            .send(&ClientFrame::SetTyping { room, on: true })
            .await;
    }
    assert!(next_typing_of(&mut watcher, room, alice.user.id).await);
    // Sending a message ends it: the "off" comes before the message.
    typist.say(room, "m1", "done typing").await;
    let mut order = Vec::new();
    while order.len() < 2 {
        match watcher.next_frame().await {
            ServerFrame::TypingChanged { on, .. } => order.push(format!("typing {on}")),
            ServerFrame::MessagePosted(m) => order.push(m.body),
            _ => {}
        }
    }
    assert_eq!(order, ["typing false", "done typing"]);

    // The socket dies without a word.
    typist
        .send(&ClientFrame::SetTyping { room, on: true })
        .await;
    assert!(next_typing_of(&mut watcher, room, alice.user.id).await);
    drop(typist);
    assert!(!next_typing_of(&mut watcher, room, alice.user.id).await);
    watcher.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn clearing_the_composer_and_typing_again_at_once_shows_the_indicator_again() {
    let app = spawn_app().await;
    let (alice, bob, room) = pair_in_a_room(&app).await;
    let mut watcher = bob.connect().await;
    let mut typist = alice.connect().await;

    // on, off and on again well within a second: what a person does who deletes a draft.
    for on in [true, false, true] {
        typist.send(&ClientFrame::SetTyping { room, on }).await;
        assert_eq!(next_typing_of(&mut watcher, room, alice.user.id).await, on);
    }
    typist.assert_alive(1).await;
}

#[tokio::test]
async fn typing_again_after_many_quick_clears_is_shown_late_rather_than_never() {
    let app = spawn_app().await;
    let (alice, bob, room) = pair_in_a_room(&app).await;
    let mut watcher = bob.connect().await;
    let mut typist = alice.connect().await;

    for _ in 0..4 {
        for on in [true, false] {
            typist.send(&ClientFrame::SetTyping { room, on }).await;
        }
    }
    // The client believes it said "on" now and will not say it again for seconds.
    typist
        .send(&ClientFrame::SetTyping { room, on: true })
        .await;
    let mut seen = Vec::new();
    while let Some(frame) = watcher.next_frame_within(Duration::from_secs(3)).await {
        if let ServerFrame::TypingChanged { on, .. } = frame {
            seen.push(on);
        }
    }
    assert_eq!(
        seen,
        [true, false, true, false, true, false, true],
        "three restarts at once, the last one when the budget allows"
    );
}

#[tokio::test]
async fn typing_in_a_room_you_are_not_in_is_refused() {
    let app = spawn_app().await;
    let (alice, _bob, room) = pair_in_a_room(&app).await;
    let carol = app.register("carol").await;
    let mut outsider = carol.connect().await;
    let mut member = alice.connect().await;
    outsider
        .send(&ClientFrame::SetTyping { room, on: true })
        .await;
    match outsider.next_frame().await {
        ServerFrame::Error { code, frame, .. } => {
            assert_eq!(code, ErrorCode::NotAMember);
            assert_eq!(frame.as_deref(), Some("typing"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    member.expect_silence(Duration::from_millis(300)).await;
}

// ---- direct conversations --------------------------------------------------------------

#[tokio::test]
async fn both_users_starting_a_direct_conversation_at_once_on_two_instances_get_one_room() {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    for round in 0..5 {
        let alice = cluster.apps[0].register(&format!("alice{round}")).await;
        let bob = cluster.apps[1]
            .register(&format!("bob{round}"))
            .await
            .via(b);
        let alice = alice.via(a);
        let (from_alice, from_bob) = tokio::join!(
            start_direct(&alice, bob.user.id),
            start_direct(&bob, alice.user.id)
        );
        let mut statuses = [from_alice.status(), from_bob.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
        let seen_by_alice: RoomSummary = from_alice.json().await.unwrap();
        let seen_by_bob: RoomSummary = from_bob.json().await.unwrap();
        assert_eq!(seen_by_alice.id, seen_by_bob.id, "one room");
        assert_eq!(seen_by_alice.kind, RoomKind::Direct);
        assert_eq!(seen_by_alice.name, bob.user.username);
        assert_eq!(seen_by_bob.name, alice.user.username);
        for user in [&alice, &bob] {
            let direct: Vec<RoomSummary> = rooms(user)
                .await
                .into_iter()
                .filter(|r| r.kind == RoomKind::Direct)
                .collect();
            assert_eq!(
                direct.len(),
                1,
                "exactly one direct room for {}",
                user.user.username
            );
        }
        // Starting it again is idempotent.
        let again = start_direct(&alice, bob.user.id).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(
            again.json::<RoomSummary>().await.unwrap().id,
            seen_by_alice.id
        );
    }
}

#[tokio::test]
async fn a_new_direct_conversation_appears_live_on_every_connection_of_both_users_and_stays_private()
 {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[0].register("bob").await;
    let carol = cluster.apps[0].register("carol").await;
    let mut alice_ws = alice.via(a).connect().await;
    let mut bob_on_a = bob.via(a).connect().await;
    let mut bob_on_b = bob.via(b).connect().await;
    let mut carol_ws = carol.via(b).connect().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let response = start_direct(&alice, bob.user.id).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let room: RoomSummary = response.json().await.unwrap();
    for ws in [&mut bob_on_a, &mut bob_on_b] {
        let joined = ws
            .next_matching(|f| match f {
                ServerFrame::RoomJoined { room } => Some(room),
                _ => None,
            })
            .await;
        assert_eq!(joined.id, room.id);
        assert_eq!(joined.kind, RoomKind::Direct);
        assert_eq!(
            joined.name, alice.user.username,
            "named after the other user"
        );
        assert_eq!(
            joined.peer.as_ref().map(|p| (p.id, p.online)),
            Some((alice.user.id, true))
        );
    }

    alice_ws.say(room.id, "dm-1", "just between us").await;
    for ws in [&mut bob_on_a, &mut bob_on_b] {
        let got = ws
            .next_matching(|f| match f {
                ServerFrame::MessagePosted(m) => Some(m),
                _ => None,
            })
            .await;
        assert_eq!(got.body, "just between us");
    }

    // Carol sees nothing, can read nothing, post nothing, join nothing.
    carol_ws.expect_silence(Duration::from_millis(400)).await;
    let history = carol.get(&format!("/api/rooms/{}/messages", room.id)).await;
    assert_eq!(history.status(), StatusCode::FORBIDDEN);
    carol_ws.say(room.id, "sneak", "hello?").await;
    match carol_ws.next_frame().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NotAMember),
        other => panic!("expected an error, got {other:?}"),
    }
    let join = carol
        .post_empty(&format!("/api/rooms/{}/join", room.id))
        .await;
    assert!(join.status().is_client_error());
    let directory = carol.get("/api/rooms/directory").await;
    let listed: serde_json::Value = directory.json().await.unwrap();
    assert!(
        !listed.to_string().contains(&format!("\"id\":{}", room.id)),
        "direct rooms are not in the directory: {listed}"
    );
    // Nor can one of its two users leave it.
    let leave = bob
        .post_empty(&format!("/api/rooms/{}/leave", room.id))
        .await;
    assert_eq!(leave.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_direct_conversation_needs_another_existing_user() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let with_self = start_direct(&alice, alice.user.id).await;
    assert_eq!(with_self.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = with_self.json().await.unwrap();
    assert_eq!(body["code"], "direct_with_self");
    let with_nobody = start_direct(&alice, UserId(987_654)).await;
    assert_eq!(with_nobody.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = with_nobody.json().await.unwrap();
    assert_eq!(body["code"], "user_not_found");
    let malformed = alice
        .post("/api/rooms/direct", &serde_json::json!({ "user": "bob" }))
        .await;
    assert!(malformed.status().is_client_error());
}

#[tokio::test]
async fn users_are_found_by_the_start_of_their_name_ignoring_case() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    app.register("Bob_one").await;
    app.register("bobby").await;
    app.register("carol").await;
    let found: Vec<UserSummary> = alice.get("/api/users?q=BOB").await.json().await.unwrap();
    let names: Vec<&str> = found.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["Bob_one", "bobby"]);
    let none: Vec<UserSummary> = alice.get("/api/users?q=%25").await.json().await.unwrap();
    assert!(none.is_empty(), "wildcards match nobody");
    let not_me: Vec<UserSummary> = alice.get("/api/users?q=ali").await.json().await.unwrap();
    assert!(not_me.is_empty(), "the searcher is left out");
    let anonymous = reqwest::get(app.url("/api/users?q=b")).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

// ---- unread counts ---------------------------------------------------------------------

#[tokio::test]
async fn reading_in_one_tab_clears_the_count_in_the_users_tabs_on_every_instance() {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let (alice, bob, room) = pair_in_a_room(&cluster.apps[0]).await;
    let mut sender = alice.via(a).connect().await;
    let mut tab_a = bob.via(a).connect().await;
    let mut tab_b = bob.via(b).connect().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    for n in 1..=3 {
        sender
            .say(room, &format!("u{n}"), &format!("news {n}"))
            .await;
    }
    for ws in [&mut tab_a, &mut tab_b] {
        for _ in 0..3 {
            ws.next_matching(|f| matches!(f, ServerFrame::MessagePosted(_)).then_some(()))
                .await;
        }
    }
    let unread = |list: Vec<RoomSummary>| {
        list.into_iter()
            .find(|r| r.id == room)
            .map(|r| r.unread())
            .unwrap()
    };
    assert_eq!(unread(rooms(&bob.via(b)).await), 3);
    assert_eq!(
        unread(rooms(&alice.via(b)).await),
        0,
        "your own messages are read"
    );

    tab_a
        .send(&ClientFrame::MarkRead { room, seq: Seq(2) })
        .await;
    for ws in [&mut tab_a, &mut tab_b] {
        let marker = ws
            .next_matching(|f| match f {
                ServerFrame::ReadMarker { room, seq } => Some((room, seq)),
                _ => None,
            })
            .await;
        assert_eq!(marker, (room, Seq(2)));
    }
    assert_eq!(unread(rooms(&bob.via(b)).await), 1);

    // A read marker never moves back, nor past the newest message.
    tab_b
        .send(&ClientFrame::MarkRead { room, seq: Seq(1) })
        .await;
    tab_b
        .send(&ClientFrame::MarkRead { room, seq: Seq(99) })
        .await;
    let markers: Vec<Seq> = {
        let mut got = Vec::new();
        while got.len() < 2 {
            if let ServerFrame::ReadMarker { seq, .. } = tab_a.next_frame().await {
                got.push(seq);
            }
        }
        got
    };
    assert_eq!(markers, [Seq(2), Seq(3)]);
    assert_eq!(unread(rooms(&bob.via(a)).await), 0);
}

// ---- member lists ----------------------------------------------------------------------

#[tokio::test]
async fn joining_and_leaving_a_room_updates_its_members_live_with_their_presence() {
    let cluster = spawn_cluster(2).await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[0].register("bob").await.via(b);
    let room = alice.create_room("general").await.id;
    let mut watcher = alice.via(a).connect().await;
    let _bob_online = bob.connect().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    bob.join(room).await;
    let (in_room, member) = watcher
        .next_matching(|f| match f {
            ServerFrame::MemberJoined { room, member } => Some((room, member)),
            _ => None,
        })
        .await;
    assert_eq!(in_room, room);
    assert_eq!(
        (member.id, member.username.as_str(), member.online),
        (bob.user.id, bob.user.username.as_str(), true)
    );

    let left = bob.post_empty(&format!("/api/rooms/{room}/leave")).await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    let gone = watcher
        .next_matching(|f| match f {
            ServerFrame::MemberLeft { room, user } => Some((room, user)),
            _ => None,
        })
        .await;
    assert_eq!(gone, (room, bob.user.id));
}
