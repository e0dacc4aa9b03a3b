//! Chatting over WebSockets: delivery to members exactly once, acks, idempotent retries,
//! privacy of rooms, joining and leaving live.

use std::time::Duration;

use confab_protocol::{ClientFrame, ClientMsgId, ErrorCode, MessagePosted, ServerFrame};

use crate::helpers::{WsClient, spawn_app};

async fn next_message(ws: &mut WsClient) -> MessagePosted {
    ws.next_matching(|f| match f {
        ServerFrame::MessagePosted(m) => Some(m),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn two_members_chat_and_each_gets_the_others_message_exactly_once() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    let mut a = alice.connect().await;
    let mut b = bob.connect().await;

    let id = a.say(room.id, "a-1", "hi bob <b>not bold</b>").await;
    let ack = a.next_frame().await;
    let ServerFrame::MessageAcked {
        client_msg_id,
        id: msg_id,
        seq,
        room: acked_room,
    } = ack
    else {
        panic!("expected ack first, got {ack:?}");
    };
    assert_eq!((client_msg_id, acked_room, seq.0), (id.clone(), room.id, 1));
    let own = next_message(&mut a).await;
    let got = next_message(&mut b).await;
    assert_eq!(own, got);
    assert_eq!(
        (got.id, got.seq.0, got.body.as_str()),
        (msg_id, 1, "hi bob <b>not bold</b>")
    );
    assert_eq!(
        (got.sender, got.sender_name.as_str()),
        (alice.user.id, "alice")
    );
    assert_eq!(got.client_msg_id, Some(id));

    b.say(room.id, "b-1", "hello alice").await;
    let reply = next_message(&mut a).await;
    assert_eq!(
        (reply.seq.0, reply.body.as_str(), reply.sender),
        (2, "hello alice", bob.user.id)
    );
    let b_copy = next_message(&mut b).await;
    assert_eq!(b_copy, reply);

    // Exactly once: nothing else arrives on either socket.
    a.expect_silence(Duration::from_millis(300)).await;
    b.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_non_member_can_neither_read_nor_post_nor_see_the_rooms_messages() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let eve = app.register("eve").await;
    let room = alice.create_room("private-ish").await;
    let mut a = alice.connect().await;
    let mut e = eve.connect().await;

    a.say(room.id, "a-1", "secret").await;
    next_message(&mut a).await;

    let response = eve.get(&format!("/api/rooms/{}/messages", room.id)).await;
    assert_eq!(response.status(), 403);
    assert_eq!(
        response
            .json::<confab_protocol::ApiError>()
            .await
            .unwrap()
            .code,
        ErrorCode::NotAMember
    );

    let id = e.say(room.id, "e-1", "let me in").await;
    match e.next_frame().await {
        ServerFrame::Error {
            code,
            frame,
            room: r,
            client_msg_id,
            ..
        } => {
            assert_eq!(
                (code, frame.as_deref(), r, client_msg_id),
                (ErrorCode::NotAMember, Some("send"), Some(room.id), Some(id))
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    e.send(&ClientFrame::Backfill {
        room: room.id,
        after_seq: confab_protocol::Seq(0),
        limit: None,
    })
    .await;
    assert!(matches!(
        e.next_frame().await,
        ServerFrame::Error {
            code: ErrorCode::NotAMember,
            ..
        }
    ));

    a.say(room.id, "a-2", "still secret").await;
    next_message(&mut a).await;
    e.expect_silence(Duration::from_millis(300)).await;

    // Eve's refused send was not stored.
    let page: confab_protocol::api::HistoryPage = alice
        .get(&format!("/api/rooms/{}/messages", room.id))
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = page.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["secret", "still secret"]);
}

#[tokio::test]
async fn a_retried_send_is_stored_once_and_acked_with_the_same_id_and_seq() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await;
    bob.join(room.id).await;
    let mut a = alice.connect().await;
    let mut b = bob.connect().await;

    let mut acks = Vec::new();
    for _ in 0..3 {
        a.say(room.id, "retry-1", "only once").await;
        acks.push(
            a.next_matching(|f| match f {
                ServerFrame::MessageAcked { id, seq, .. } => Some((id, seq)),
                _ => None,
            })
            .await,
        );
    }
    assert!(acks.windows(2).all(|w| w[0] == w[1]), "{acks:?}");

    // A retry from another connection of the same user (e.g. after a reconnect) too.
    let mut a2 = alice.connect().await;
    a2.say(room.id, "retry-1", "only once").await;
    let again = a2
        .next_matching(|f| match f {
            ServerFrame::MessageAcked { id, seq, .. } => Some((id, seq)),
            _ => None,
        })
        .await;
    assert_eq!(again, acks[0]);

    let first = next_message(&mut b).await;
    assert_eq!((first.id, first.seq), acks[0]);
    b.expect_silence(Duration::from_millis(300)).await;
    let page: confab_protocol::api::HistoryPage = bob
        .get(&format!("/api/rooms/{}/messages", room.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
}

#[tokio::test]
async fn joining_over_the_socket_starts_delivery_and_leaving_stops_it() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await;
    let mut a = alice.connect().await;
    let mut b = bob.connect().await;
    let mut b2 = bob.connect().await;

    b.send(&ClientFrame::JoinRoom { room: room.id }).await;
    for ws in [&mut b, &mut b2] {
        match ws.next_frame().await {
            ServerFrame::RoomJoined { room: joined } => assert_eq!(joined.id, room.id),
            other => panic!("expected room_joined, got {other:?}"),
        }
    }
    // Every member's connection, the joiner's included, hears of the new member once.
    for ws in [&mut a, &mut b, &mut b2] {
        match ws.next_frame().await {
            ServerFrame::MemberJoined { room: r, member } => {
                assert_eq!((r, member.id), (room.id, bob.user.id));
            }
            other => panic!("expected member_joined, got {other:?}"),
        }
    }
    // Joining again is harmless and answers only the asking connection.
    b.send(&ClientFrame::JoinRoom { room: room.id }).await;
    assert!(matches!(
        b.next_frame().await,
        ServerFrame::RoomJoined { .. }
    ));
    b2.expect_silence(Duration::from_millis(200)).await;

    a.say(room.id, "a-1", "welcome").await;
    assert_eq!(next_message(&mut b).await.body, "welcome");
    assert_eq!(next_message(&mut b2).await.body, "welcome");

    b2.send(&ClientFrame::LeaveRoom { room: room.id }).await;
    assert_eq!(
        b.next_frame().await,
        ServerFrame::RoomLeft { room: room.id }
    );
    assert_eq!(
        b2.next_frame().await,
        ServerFrame::RoomLeft { room: room.id }
    );
    let left = a
        .next_matching(|f| match f {
            ServerFrame::MemberLeft { room, user } => Some((room, user)),
            _ => None,
        })
        .await;
    assert_eq!(left, (room.id, bob.user.id));
    a.say(room.id, "a-2", "bye").await;
    next_message(&mut a).await;
    b.expect_silence(Duration::from_millis(300)).await;
    b2.expect_silence(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_room_created_over_http_is_announced_to_the_creators_sockets() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut a = alice.connect().await;
    let room = alice.create_room("general").await;
    assert_eq!(
        a.next_frame().await,
        ServerFrame::RoomJoined { room: room.clone() }
    );
    a.say(room.id, "a-1", "first").await;
    assert_eq!(next_message(&mut a).await.seq.0, 1);
}

#[tokio::test]
async fn a_client_msg_id_reused_in_another_room_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let first = alice.create_room("first").await;
    let second = alice.create_room("second").await;
    let mut ws = alice.connect().await;

    ws.say(first.id, "same-id", "in the first room").await;
    let acked = ws
        .next_matching(|f| match f {
            ServerFrame::MessageAcked { room, seq, .. } => Some((room, seq)),
            _ => None,
        })
        .await;
    assert_eq!(acked, (first.id, confab_protocol::Seq(1)));

    ws.say(second.id, "same-id", "in the second room").await;
    let refused = ws
        .next_matching(|f| match f {
            ServerFrame::Error {
                code,
                room,
                client_msg_id,
                ..
            } => Some((code, room, client_msg_id)),
            ServerFrame::MessageAcked { room, .. } => panic!("acked in room {room}"),
            _ => None,
        })
        .await;
    assert_eq!(
        refused,
        (
            ErrorCode::ClientMsgIdTaken,
            Some(second.id),
            Some(ClientMsgId("same-id".into()))
        )
    );
    let page: confab_protocol::api::HistoryPage = alice
        .get(&format!("/api/rooms/{}/messages", second.id))
        .await
        .json()
        .await
        .unwrap();
    assert!(page.messages.is_empty());
    ws.assert_alive(3).await;
}
