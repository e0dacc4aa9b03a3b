//! Golden wire shapes: every frame, API body and bus envelope is compared with a JSON file
//! under `tests/fixtures/`. A failing test here means a wire format changed: if that was
//! intended, bump `PROTOCOL_VERSION` where clients break, regenerate the fixtures with
//! `UPDATE_GOLDEN=1 cargo test -p confab-protocol --test golden` and update the README.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use confab_protocol::api::{
    CreateRoom, Credentials, DirectoryRoom, HistoryPage, HistoryQuery, Member, Presence, RoomKind,
    RoomSummary, StartDirect, UploadQuery, UserSearch, UserSummary,
};
use confab_protocol::{
    ApiError, BusEnvelope, BusTarget, ClientFrame, ClientMsgId, ErrorCode, FileId, FileRef,
    FileStage, InstanceId, MessageId, MessageKind, MessagePosted, RoomId, Seq, ServerFrame,
    UnixMillis, UploadId, UserId,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn alice() -> UserSummary {
    UserSummary {
        id: UserId(7),
        username: "alice".into(),
    }
}

fn message() -> MessagePosted {
    MessagePosted {
        id: MessageId(1042),
        room: RoomId(3),
        seq: Seq(17),
        sender: UserId(7),
        sender_name: "alice".into(),
        kind: MessageKind::Text,
        body: "Hello <b>world</b> 👋".into(),
        sent_at: UnixMillis(1_796_300_000_000),
        client_msg_id: Some(ClientMsgId("c-5f1d2a".into())),
        file: None,
    }
}

fn file_message() -> MessagePosted {
    MessagePosted {
        id: MessageId(1043),
        room: RoomId(3),
        seq: Seq(18),
        sender: UserId(7),
        sender_name: "alice".into(),
        kind: MessageKind::File,
        body: "holiday.png".into(),
        sent_at: UnixMillis(1_796_300_004_000),
        client_msg_id: None,
        file: Some(FileRef {
            id: FileId("0f3c2a9e5b7d41c88e6a1f2b3c4d5e6f".into()),
            name: "holiday.png".into(),
            size: 2_097_152,
            mime: "image/png".into(),
        }),
    }
}

fn room_summary() -> RoomSummary {
    RoomSummary {
        id: RoomId(3),
        name: "general".into(),
        kind: RoomKind::Group,
        last_seq: Seq(17),
        last_read_seq: Seq(15),
        peer: None,
    }
}

fn direct_summary() -> RoomSummary {
    RoomSummary {
        id: RoomId(9),
        name: "bob".into(),
        kind: RoomKind::Direct,
        last_seq: Seq(4),
        last_read_seq: Seq(4),
        peer: Some(Presence {
            id: UserId(8),
            username: "bob".into(),
            online: true,
            last_seen: None,
        }),
    }
}

fn client_frames() -> Vec<(&'static str, ClientFrame)> {
    vec![
        ("client_join", ClientFrame::JoinRoom { room: RoomId(3) }),
        ("client_leave", ClientFrame::LeaveRoom { room: RoomId(3) }),
        (
            "client_send",
            ClientFrame::SendMessage {
                room: RoomId(3),
                client_msg_id: ClientMsgId("c-5f1d2a".into()),
                body: "Hello <b>world</b> 👋".into(),
            },
        ),
        (
            "client_typing",
            ClientFrame::SetTyping {
                room: RoomId(3),
                on: true,
            },
        ),
        (
            "client_read",
            ClientFrame::MarkRead {
                room: RoomId(3),
                seq: Seq(17),
            },
        ),
        (
            "client_backfill",
            ClientFrame::Backfill {
                room: RoomId(3),
                after_seq: Seq(12),
                limit: Some(100),
            },
        ),
        ("client_ping", ClientFrame::Ping { nonce: Some(42) }),
    ]
}

fn server_frames() -> Vec<(&'static str, ServerFrame)> {
    vec![
        (
            "server_welcome",
            ServerFrame::Welcome {
                user: alice(),
                instance: InstanceId("confab-a".into()),
                protocol_version: confab_protocol::PROTOCOL_VERSION,
            },
        ),
        ("server_message", ServerFrame::MessagePosted(message())),
        (
            "server_message_file",
            ServerFrame::MessagePosted(file_message()),
        ),
        (
            "server_ack",
            ServerFrame::MessageAcked {
                room: RoomId(3),
                client_msg_id: ClientMsgId("c-5f1d2a".into()),
                id: MessageId(1042),
                seq: Seq(17),
            },
        ),
        (
            "server_status",
            ServerFrame::PresenceChanged {
                user: UserId(8),
                username: "bob".into(),
                online: false,
                last_seen: Some(UnixMillis(1_796_300_000_000)),
            },
        ),
        (
            "server_typing",
            ServerFrame::TypingChanged {
                room: RoomId(3),
                user: UserId(8),
                username: "bob".into(),
                on: true,
            },
        ),
        (
            "server_file_progress",
            ServerFrame::FileProgress {
                room: RoomId(3),
                upload: UploadId("u-01HZX3".into()),
                user: UserId(7),
                file_name: "holiday.png".into(),
                stage: FileStage::Progress,
                bytes: 524_288,
                total: Some(2_097_152),
                reason: None,
            },
        ),
        (
            "server_file_progress_failed",
            ServerFrame::FileProgress {
                room: RoomId(3),
                upload: UploadId("0f3c2a9e5b7d41c88e6a1f2b3c4d5e6f".into()),
                user: UserId(7),
                file_name: "holiday.png".into(),
                stage: FileStage::Failed,
                bytes: 26_214_400,
                total: None,
                reason: Some(ErrorCode::FileTooLarge),
            },
        ),
        (
            "server_history",
            ServerFrame::History {
                room: RoomId(3),
                messages: vec![message()],
                has_more: false,
            },
        ),
        (
            "server_room_joined",
            ServerFrame::RoomJoined {
                room: room_summary(),
            },
        ),
        (
            "server_read",
            ServerFrame::ReadMarker {
                room: RoomId(3),
                seq: Seq(17),
            },
        ),
        ("server_session_ended", ServerFrame::SessionEnded),
        (
            "server_member_joined",
            ServerFrame::MemberJoined {
                room: RoomId(3),
                member: Member {
                    id: UserId(8),
                    username: "bob".into(),
                    joined_at: UnixMillis(1_796_200_000_000),
                    online: true,
                    last_seen: None,
                },
            },
        ),
        (
            "server_member_left",
            ServerFrame::MemberLeft {
                room: RoomId(3),
                user: UserId(8),
            },
        ),
        (
            "server_room_left",
            ServerFrame::RoomLeft { room: RoomId(3) },
        ),
        (
            "server_error",
            ServerFrame::Error {
                code: ErrorCode::NotAMember,
                message: ErrorCode::NotAMember.describe().into(),
                frame: Some("send".into()),
                room: Some(RoomId(4)),
                client_msg_id: Some(ClientMsgId("c-77".into())),
            },
        ),
        ("server_pong", ServerFrame::Pong { nonce: Some(42) }),
    ]
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"))
}

/// Compares `value`'s JSON with its fixture and checks the fixture decodes back to `value`.
fn check<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(name: &str, value: &T) {
    let json = serde_json::to_string_pretty(value).expect("serializes") + "\n";
    let path = fixture_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &json).expect("writes fixture");
    }
    let golden = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("missing fixture {}: {e}", path.display()));
    assert_eq!(json, golden, "wire shape of `{name}` changed");
    let decoded: T = serde_json::from_str(&golden).expect("fixture decodes");
    assert_eq!(&decoded, value, "`{name}` does not round-trip");
}

#[test]
fn client_frames_match_their_golden_json() {
    for (name, frame) in client_frames() {
        check(name, &frame);
        let text = std::fs::read_to_string(fixture_path(name)).expect("fixture");
        assert_eq!(
            ClientFrame::decode(&text).as_ref(),
            Ok(&frame),
            "decode of `{name}`"
        );
    }
}

#[test]
fn every_client_frame_type_has_a_fixture() {
    let covered: Vec<&str> = client_frames().iter().map(|(_, f)| f.type_name()).collect();
    for kind in ClientFrame::TYPES {
        assert!(
            covered.contains(&kind),
            "no fixture for client frame `{kind}`"
        );
    }
}

#[test]
fn server_frames_match_their_golden_json() {
    for (name, frame) in server_frames() {
        check(name, &frame);
    }
}

#[test]
fn bus_envelope_matches_its_golden_json() {
    check(
        "bus_envelope",
        &BusEnvelope {
            origin: InstanceId("confab-a".into()),
            target: BusTarget::Room(RoomId(3)),
        },
    );
    check(
        "bus_envelope_user",
        &BusEnvelope {
            origin: InstanceId("confab-b".into()),
            target: BusTarget::User(UserId(7)),
        },
    );
    check(
        "bus_envelope_session",
        &BusEnvelope {
            origin: InstanceId("confab-a".into()),
            target: BusTarget::Session {
                user: UserId(7),
                session: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            },
        },
    );
    check(
        "bus_envelope_rooms",
        &BusEnvelope {
            origin: InstanceId("confab-a".into()),
            target: BusTarget::Rooms(vec![RoomId(3), RoomId(9)]),
        },
    );
    let event = serde_json::to_string(&ServerFrame::RoomLeft { room: RoomId(3) }).unwrap();
    let wire = BusEnvelope {
        origin: InstanceId("confab-b".into()),
        target: BusTarget::User(UserId(7)),
    }
    .encode(&event)
    .unwrap();
    assert_eq!(
        wire,
        "{\"origin\":\"confab-b\",\"target\":{\"user\":7}}\n{\"type\":\"room_left\",\"room\":3}"
    );
}

#[test]
fn api_bodies_match_their_golden_json() {
    check(
        "api_credentials",
        &Credentials {
            username: "alice".into(),
            password: "correct horse".into(),
        },
    );
    check("api_user", &alice());
    check("api_room_summary", &room_summary());
    check(
        "api_directory_room",
        &DirectoryRoom {
            id: RoomId(3),
            name: "general".into(),
            member_count: 12,
            joined: true,
        },
    );
    check(
        "api_create_room",
        &CreateRoom {
            name: "general".into(),
        },
    );
    check(
        "api_member",
        &Member {
            id: UserId(8),
            username: "bob".into(),
            joined_at: UnixMillis(1_796_200_000_000),
            online: false,
            last_seen: Some(UnixMillis(1_796_300_000_000)),
        },
    );
    check("api_direct_room_summary", &direct_summary());
    check("api_start_direct", &StartDirect { user: UserId(8) });
    check("api_user_search", &UserSearch { q: "bo".into() });
    check(
        "api_history_query",
        &HistoryQuery {
            before: Some(Seq(18)),
            after: None,
            limit: Some(50),
        },
    );
    check(
        "api_history_page",
        &HistoryPage {
            room: RoomId(3),
            messages: vec![message()],
            has_more: true,
        },
    );
    check(
        "api_upload_query",
        &UploadQuery {
            name: "holiday.png".into(),
        },
    );
    check("api_error", &ApiError::from(ErrorCode::UsernameTaken));
}
