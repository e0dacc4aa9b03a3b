//! History: paging by seq over HTTP, backfill over the socket, and survival of restarts.

use confab_protocol::api::HistoryPage;
use confab_protocol::{ClientFrame, ErrorCode, Seq, ServerFrame};

use crate::helpers::{TestUser, WsClient, spawn_app};

async fn post_n(ws: &mut WsClient, room: confab_protocol::RoomId, n: usize) {
    for i in 1..=n {
        ws.say(room, &format!("m-{i}"), &format!("message {i}"))
            .await;
        ws.next_matching(|f| matches!(f, ServerFrame::MessageAcked { .. }).then_some(()))
            .await;
    }
}

async fn page(user: &TestUser, room: confab_protocol::RoomId, query: &str) -> HistoryPage {
    let response = user
        .get(&format!("/api/rooms/{room}/messages{query}"))
        .await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

fn seqs(page: &HistoryPage) -> Vec<i64> {
    page.messages.iter().map(|m| m.seq.0).collect()
}

#[tokio::test]
async fn history_pages_by_seq_before_and_after() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut a = alice.connect().await;
    post_n(&mut a, room.id, 12).await;

    let newest = page(&alice, room.id, "?limit=5").await;
    assert_eq!((seqs(&newest), newest.has_more), ((8..=12).collect(), true));
    let older = page(&alice, room.id, "?before=8&limit=5").await;
    assert_eq!((seqs(&older), older.has_more), ((3..=7).collect(), true));
    let oldest = page(&alice, room.id, "?before=3&limit=5").await;
    assert_eq!((seqs(&oldest), oldest.has_more), (vec![1, 2], false));
    let after = page(&alice, room.id, "?after=10").await;
    assert_eq!((seqs(&after), after.has_more), (vec![11, 12], false));
    let after = page(&alice, room.id, "?after=0&limit=4").await;
    assert_eq!((seqs(&after), after.has_more), (vec![1, 2, 3, 4], true));
    assert_eq!(after.messages[0].body, "message 1");

    for bad in ["?limit=0", "?limit=201", "?before=3&after=1"] {
        let response = alice
            .get(&format!("/api/rooms/{}/messages{bad}", room.id))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(
            response
                .json::<confab_protocol::ApiError>()
                .await
                .unwrap()
                .code,
            ErrorCode::InvalidPage
        );
    }
    let response = alice
        .get(&format!("/api/rooms/{}/messages?limit=abc", room.id))
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn backfill_returns_what_came_after_the_last_seen_seq() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut a = alice.connect().await;
    post_n(&mut a, room.id, 7).await;
    let mut fresh = alice.connect().await;
    fresh
        .send(&ClientFrame::Backfill {
            room: room.id,
            after_seq: Seq(3),
            limit: Some(3),
        })
        .await;
    match fresh.next_frame().await {
        ServerFrame::History {
            room: r,
            messages,
            has_more,
        } => {
            assert_eq!(r, room.id);
            assert_eq!(
                messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
                vec![4, 5, 6]
            );
            assert!(has_more);
        }
        other => panic!("expected history, got {other:?}"),
    }
    fresh
        .send(&ClientFrame::Backfill {
            room: room.id,
            after_seq: Seq(6),
            limit: None,
        })
        .await;
    match fresh.next_frame().await {
        ServerFrame::History {
            messages, has_more, ..
        } => {
            assert_eq!(
                messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
                vec![7]
            );
            assert!(!has_more);
        }
        other => panic!("expected history, got {other:?}"),
    }
}

#[tokio::test]
async fn history_and_accounts_survive_a_server_restart() {
    let mut app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut a = alice.connect().await;
    post_n(&mut a, room.id, 5).await;
    drop(a);

    app.restart().await;

    // The old session still works against the new process (it is in the database).
    let mut alice = alice;
    alice.app_address = app.address;
    let after = page(&alice, room.id, "").await;
    assert_eq!(seqs(&after), vec![1, 2, 3, 4, 5]);
    assert_eq!(after.messages[4].body, "message 5");

    // Sequencing continues where it stopped.
    let mut a = alice.connect().await;
    a.say(room.id, "after-restart", "still here").await;
    let seq = a
        .next_matching(|f| match f {
            ServerFrame::MessageAcked { seq, .. } => Some(seq),
            _ => None,
        })
        .await;
    assert_eq!(seq, Seq(6));
}

#[tokio::test]
async fn pages_of_big_messages_stop_near_a_megabyte_and_say_there_is_more() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut a = alice.connect().await;
    // 4,000 four-byte emoji: 16,000 bytes a message; 150 of them are 2.4 MB.
    let body = "😀".repeat(4_000);
    for i in 1..=150 {
        a.say(room.id, &format!("big-{i}"), &body).await;
    }
    let mut acked = 0;
    while acked < 150 {
        if let ServerFrame::MessageAcked { .. } = a.next_frame().await {
            acked += 1;
        }
    }

    let newest = page(&alice, room.id, "?limit=200").await;
    let n = newest.messages.len();
    assert!(
        (60..150).contains(&n),
        "about a megabyte of bodies: {n} messages"
    );
    assert!(newest.has_more);
    assert_eq!(seqs(&newest).last(), Some(&150), "the newest are kept");
    let bytes: usize = newest.messages.iter().map(|m| m.body.len()).sum();
    assert!(bytes <= confab_protocol::limits::MAX_PAGE_BYTES);

    // Backfill from the start is cut the same way, from the cursor on; asking again
    // from where it stopped gets the rest, nothing twice.
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        a.send(&ClientFrame::Backfill {
            room: room.id,
            after_seq: Seq(after),
            limit: Some(200),
        })
        .await;
        let (messages, has_more) = a
            .next_matching(|f| match f {
                ServerFrame::History {
                    messages, has_more, ..
                } => Some((messages, has_more)),
                _ => None,
            })
            .await;
        assert!(!messages.is_empty());
        after = messages.last().unwrap().seq.0;
        seen.extend(messages.iter().map(|m| m.seq.0));
        if !has_more {
            break;
        }
    }
    assert_eq!(seen, (1..=150).collect::<Vec<_>>());
}
