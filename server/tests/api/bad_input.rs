//! Bad input on the socket: each gets an `error` frame with a stable code naming the frame
//! it answers (or close code 1009 for an over-size frame), the same socket keeps working,
//! and no one else sees anything of it.

use std::time::Duration;

use confab_protocol::{ClientFrame, ClientMsgId, ErrorCode, RoomId, ServerFrame, limits};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{WsClient, spawn_app};

async fn expect_error(
    ws: &mut WsClient,
) -> (
    ErrorCode,
    Option<String>,
    Option<RoomId>,
    Option<ClientMsgId>,
) {
    match ws.next_frame().await {
        ServerFrame::Error {
            code,
            frame,
            room,
            client_msg_id,
            message,
        } => {
            assert!(!message.is_empty());
            (code, frame, room, client_msg_id)
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[tokio::test]
async fn each_bad_frame_gets_its_error_code_and_the_socket_keeps_working() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    let other_room = bob.create_room("bobs-room").await;
    let mut a = alice.connect().await;
    let mut b = bob.connect().await;

    a.send_text("{this is not json").await;
    assert_eq!(
        expect_error(&mut a).await,
        (ErrorCode::MalformedFrame, None, None, None)
    );
    a.assert_alive(1).await;

    a.send_text(r#"{"type":"shout","room":1}"#).await;
    assert_eq!(
        expect_error(&mut a).await,
        (ErrorCode::UnknownFrame, Some("shout".into()), None, None)
    );
    a.assert_alive(2).await;

    a.send_text(r#"{"type":"send","room":"general"}"#).await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::InvalidFrame);
    a.assert_alive(3).await;

    a.say(other_room.id, "x-1", "not my room").await;
    assert_eq!(
        expect_error(&mut a).await,
        (
            ErrorCode::NotAMember,
            Some("send".into()),
            Some(other_room.id),
            Some(ClientMsgId("x-1".into()))
        )
    );
    a.say(RoomId(999), "x-2", "no such room").await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::RoomNotFound);
    a.send(&ClientFrame::SetTyping {
        room: other_room.id,
        on: true,
    })
    .await;
    assert_eq!(
        expect_error(&mut a).await,
        (
            ErrorCode::NotAMember,
            Some("typing".into()),
            Some(other_room.id),
            None
        )
    );
    a.send(&ClientFrame::MarkRead {
        room: other_room.id,
        seq: confab_protocol::Seq(1),
    })
    .await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::NotAMember);
    a.assert_alive(4).await;

    a.say(room.id, "x-3", "   \n ").await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::EmptyMessage);
    // Only invisible characters (zero-width spaces, a byte-order mark, a Hangul filler)
    // would show as a blank message.
    a.say(room.id, "x-3b", "\u{200b}\u{200b}\u{feff}\u{3164}")
        .await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::EmptyMessage);
    a.say(room.id, "x-4", &"a".repeat(limits::MAX_MESSAGE_CHARS + 1))
        .await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::MessageTooLong);
    a.say(room.id, "x-5", "bell\u{7}").await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::InvalidCharacters);
    a.say(room.id, "bad id with spaces", "hello").await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::InvalidClientMsgId);
    a.send(&ClientFrame::Backfill {
        room: room.id,
        after_seq: confab_protocol::Seq(0),
        limit: Some(0),
    })
    .await;
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::InvalidPage);
    a.stream
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .unwrap();
    assert_eq!(expect_error(&mut a).await.0, ErrorCode::BinaryFrame);
    a.assert_alive(5).await;

    // Bob saw none of it, and the room is still empty.
    b.expect_silence(Duration::from_millis(300)).await;
    let page: confab_protocol::api::HistoryPage = bob
        .get(&format!("/api/rooms/{}/messages", room.id))
        .await
        .json()
        .await
        .unwrap();
    assert!(page.messages.is_empty());

    // The longest allowed message goes through.
    let longest = "é".repeat(limits::MAX_MESSAGE_CHARS);
    a.say(room.id, "ok-1", &longest).await;
    let got = b
        .next_matching(|f| match f {
            ServerFrame::MessagePosted(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(got.body, longest);
}

#[tokio::test]
async fn an_oversize_frame_closes_with_1009_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut a = alice.connect().await;
    let huge = format!(
        r#"{{"type":"send","room":{},"client_msg_id":"big","body":"{}"}}"#,
        room.id,
        "a".repeat(limits::MAX_FRAME_BYTES + 1)
    );
    let _ = a.stream.send(Message::text(huge)).await;
    assert_eq!(
        a.closed_with().await.map(u16::from),
        Some(confab_protocol::close::MESSAGE_TOO_BIG)
    );

    let mut again = alice.connect().await;
    again.assert_alive(9).await;
    let page: confab_protocol::api::HistoryPage = alice
        .get(&format!("/api/rooms/{}/messages", room.id))
        .await
        .json()
        .await
        .unwrap();
    assert!(page.messages.is_empty());
}

#[tokio::test]
async fn a_user_posting_faster_than_the_limit_gets_rate_limited_and_keeps_the_socket() {
    let (mut config, _dir) = crate::helpers::test_config().await;
    config.max_posts_per_sec = 5;
    let app = crate::helpers::TestApp::start(config).await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await.id;
    let mut ws = alice.connect().await;

    for n in 0..40 {
        ws.say(room, &format!("burst-{n}"), "spam").await;
    }
    let (mut acked, mut limited) = (0, 0);
    while acked + limited < 40 {
        match ws.next_frame().await {
            ServerFrame::MessageAcked { .. } => acked += 1,
            ServerFrame::Error { code, frame, .. } => {
                assert_eq!(code, ErrorCode::RateLimited);
                assert_eq!(frame.as_deref(), Some("send"));
                limited += 1;
            }
            _ => {}
        }
    }
    assert!(
        (15..40).contains(&acked),
        "a burst of 3 x 5 goes through, the rest is refused: {acked} acked"
    );
    assert_eq!(limited, 40 - acked);
    ws.assert_alive(7).await;

    // The allowance refills.
    tokio::time::sleep(Duration::from_millis(600)).await;
    ws.say(room, "later", "calm again").await;
    let acked_later = ws
        .next_matching(|f| match f {
            ServerFrame::MessageAcked { client_msg_id, .. } => Some(client_msg_id),
            ServerFrame::Error { code, .. } => panic!("still limited: {code}"),
            _ => None,
        })
        .await;
    assert_eq!(acked_later.0, "later");
    let page: confab_protocol::api::HistoryPage = alice
        .get(&format!("/api/rooms/{room}/messages?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        page.messages.len(),
        acked + 1,
        "refused sends are not stored"
    );
}

/// The server-side TCP state of the connection from `client` to `server` (from
/// `/proc/net/tcp`): `Some("01")` while established.
fn server_side_tcp_state(
    server: std::net::SocketAddr,
    client: std::net::SocketAddr,
) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let hex = |addr: std::net::SocketAddr| {
        let std::net::SocketAddr::V4(v4) = addr else {
            return String::new();
        };
        format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        )
    };
    let (local, remote) = (hex(server), hex(client));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()) && fields.get(2) == Some(&remote.as_str()))
            .then(|| fields.get(3).map(|s| (*s).to_owned()))
            .flatten()
    })
}

#[tokio::test]
async fn a_slow_consumer_that_never_reads_again_is_dropped_not_kept_as_a_ghost() {
    let (mut config, _dir) = crate::helpers::test_config().await;
    config.outbound_queue = 32;
    let app = crate::helpers::TestApp::start(config).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("firehose").await.id;
    bob.join(room).await;
    let mut sender = alice.connect().await;
    let stalled = bob.connect().await; // never reads again
    let client = match stalled.stream.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.local_addr().unwrap(),
        _ => unreachable!("plain TCP in tests"),
    };
    assert_eq!(
        server_side_tcp_state(app.address, client).as_deref(),
        Some("01")
    );

    // Far more than the queue and the socket buffers hold; the sender reads as it goes
    // (its own queue is as small).
    let body = "y".repeat(3_900);
    for chunk in 0..300 {
        for n in 0..8 {
            sender.say(room, &format!("f{chunk}-{n}"), &body).await;
        }
        let mut seen = 0;
        while seen < 16 {
            if matches!(
                sender.next_frame().await,
                ServerFrame::MessageAcked { .. } | ServerFrame::MessagePosted(_)
            ) {
                seen += 1;
            }
        }
    }
    // Within the slow consumer's grace (10 s) plus slack, the server lets go of it.
    let deadline = std::time::Instant::now() + Duration::from_secs(25);
    while server_side_tcp_state(app.address, client).as_deref() == Some("01") {
        assert!(
            std::time::Instant::now() < deadline,
            "the stalled connection is still established on the server"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    sender.assert_alive(5).await;
    drop(stalled);
}

#[tokio::test]
async fn a_connection_flooding_frames_gets_rate_limited_beyond_its_burst_and_keeps_working() {
    let (mut config, _dir) = crate::helpers::test_config().await;
    config.max_frames_per_sec = 10; // bursts of 50
    let app = crate::helpers::TestApp::start(config).await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await.id;
    let mut ws = alice.connect().await;

    let backfill = ClientFrame::Backfill {
        room,
        after_seq: confab_protocol::Seq(0),
        limit: Some(1),
    };
    for _ in 0..300 {
        ws.send(&backfill).await;
    }
    let (mut answered, mut limited) = (0, 0);
    while answered + limited < 300 {
        match ws.next_frame().await {
            ServerFrame::History { .. } => answered += 1,
            ServerFrame::Error { code, frame, .. } => {
                assert_eq!(
                    (code, frame.as_deref()),
                    (ErrorCode::RateLimited, Some("backfill"))
                );
                limited += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        (50..300).contains(&answered),
        "the burst is served, the flood refused: {answered} served"
    );
    // Typing past the budget is dropped without a word; the socket still works.
    for _ in 0..300 {
        ws.send(&ClientFrame::SetTyping { room, on: true }).await;
    }
    // (its own connection is the only one in the room: nobody to see the indicator)
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    ws.send(&ClientFrame::Ping { nonce: Some(11) }).await;
    loop {
        match ws.next_frame().await {
            ServerFrame::Pong { nonce } => {
                assert_eq!(nonce, Some(11));
                break;
            }
            ServerFrame::Error { code, frame, .. } => {
                panic!("a dropped typing frame was answered: {code} {frame:?}")
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_connection_silent_past_the_idle_timeout_is_closed_and_its_user_goes_offline() {
    let (mut config, _dir) = crate::helpers::test_config().await;
    config.idle_timeout_secs = 2; // the server pings every 0.8 s
    let app = crate::helpers::TestApp::start(config).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await.id;
    bob.join(room).await;
    let mut listening = bob.connect().await.seeing_presence();
    let silent = alice.connect().await; // never reads, so never answers a ping
    let client = match silent.stream.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.local_addr().unwrap(),
        _ => unreachable!("plain TCP in tests"),
    };

    let mut alice_online = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while alice_online.last() != Some(&false) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice never went offline"
        );
        if let ServerFrame::PresenceChanged { user, online, .. } = listening.next_frame().await
            && user == alice.user.id
        {
            alice_online.push(online);
        }
    }
    assert_eq!(alice_online, [true, false]);
    // The server let go of the socket (a close frame cannot reach a peer that does not
    // read, so the connection's server side is what tells).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server_side_tcp_state(app.address, client).as_deref() == Some("01") {
        assert!(
            std::time::Instant::now() < deadline,
            "the silent connection is still established on the server"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(silent);
    // Bob kept reading (his client answered every ping): still connected, well past the
    // timeout.
    listening.expect_silence(Duration::from_secs(3)).await;
    listening.assert_alive(2).await;
}
