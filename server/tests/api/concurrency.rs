//! Many senders at once into one room: seqs stay gapless and unique, every member gets
//! every message exactly once in seq order, and no sender sees a database error.

use std::collections::HashMap;

use confab_protocol::api::HistoryPage;
use confab_protocol::{RoomId, ServerFrame};

use crate::helpers::{TestUser, WsClient, spawn_app};

const SENDERS: usize = 50;
const PER_SENDER: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_senders_get_gapless_seqs_and_everyone_receives_everything_in_order() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let room = owner.create_room("busy").await;
    let mut users: Vec<TestUser> = Vec::new();
    for i in 0..SENDERS {
        let user = app.register(&format!("sender{i:02}")).await;
        user.join(room.id).await;
        users.push(user);
    }
    let mut sockets = Vec::new();
    for user in &users {
        sockets.push(user.connect().await);
    }
    let total = SENDERS * PER_SENDER;

    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(send_and_receive(ws, room.id, i, total)))
        .collect();
    let mut all_acks = Vec::new();
    for task in tasks {
        let (acks, received) = task.await.unwrap();
        assert_eq!(
            received,
            (1..=total as i64).collect::<Vec<_>>(),
            "every member gets every seq once, in order"
        );
        all_acks.extend(acks);
    }
    all_acks.sort_unstable();
    assert_eq!(
        all_acks,
        (1..=total as i64).collect::<Vec<_>>(),
        "acked seqs are 1..N with no gap or duplicate"
    );

    // The database holds exactly those rows.
    let mut seqs = Vec::new();
    let mut after = 0;
    loop {
        let page: HistoryPage = owner
            .get(&format!(
                "/api/rooms/{}/messages?after={after}&limit=200",
                room.id
            ))
            .await
            .json()
            .await
            .unwrap();
        seqs.extend(page.messages.iter().map(|m| m.seq.0));
        after = seqs.last().copied().unwrap_or(after);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
}

/// Sends `PER_SENDER` messages without waiting for acks while reading everything; returns
/// the acked seqs and the seqs of the messages received, in arrival order.
async fn send_and_receive(
    mut ws: WsClient,
    room: RoomId,
    sender: usize,
    total: usize,
) -> (Vec<i64>, Vec<i64>) {
    for n in 0..PER_SENDER {
        ws.say(
            room,
            &format!("s{sender}-{n}"),
            &format!("message {n} from {sender}"),
        )
        .await;
    }
    let mut acks = HashMap::new();
    let mut received = Vec::with_capacity(total);
    while acks.len() < PER_SENDER || received.len() < total {
        match ws.next_frame().await {
            ServerFrame::MessageAcked {
                client_msg_id, seq, ..
            } => {
                assert!(
                    acks.insert(client_msg_id, seq.0).is_none(),
                    "one ack per send"
                );
            }
            ServerFrame::MessagePosted(m) => received.push(m.seq.0),
            ServerFrame::Error { code, message, .. } => {
                panic!("sender {sender} got error {code}: {message}")
            }
            _ => {}
        }
    }
    (acks.into_values().collect(), received)
}
