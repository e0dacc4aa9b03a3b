//! Storage behaviour that must be identical on SQLite and PostgreSQL (this module runs on
//! whichever backend the suite runs on), and PostgreSQL's own failure modes.

use std::time::Duration;

use confab_protocol::api::HistoryPage;
use confab_protocol::{ApiError, ErrorCode, ServerFrame};
use confab_server::{Application, Config};
use sqlx::Connection;

use crate::helpers::{TestApp, spawn_app, test_config};
use crate::services::PgServer;

/// Text people really send: emoji with joiners and skin tones, flags, CJK, combining
/// marks, right-to-left scripts with bidi marks, astral symbols, tabs and newlines.
const SAMPLES: &[&str] = &[
    "👩🏽‍💻👨‍👩‍👧‍👦🏳️‍🌈🇯🇵",
    "漢字かな交じり文 한국어 中文",
    "e\u{301}n\u{303}o\u{308} Z\u{335}\u{321}a\u{336}l\u{337}g\u{334}o",
    "مرحبا بالعالم \u{200f}שלום עולם\u{200e} abc",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𓀀 \u{10FFFD}",
    "tab\tand\nnewline and \u{feff}BOM and \u{200b}zero width",
    "<script>alert('x')</script> & \"quotes\" 'single' \\ backslash",
];

#[tokio::test]
async fn any_text_a_user_can_send_comes_back_byte_identical() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("unicode ✓ 房间").await;
    let mut ws = alice.connect().await;
    for (i, text) in SAMPLES.iter().enumerate() {
        ws.say(room.id, &format!("u{i}"), text).await;
        let echoed = ws
            .next_matching(|f| match f {
                ServerFrame::MessagePosted(m) => Some(m.body),
                _ => None,
            })
            .await;
        assert_eq!(
            echoed.as_bytes(),
            text.as_bytes(),
            "live delivery of sample {i}"
        );
    }
    let page: HistoryPage = alice
        .get(&format!("/api/rooms/{}/messages", room.id))
        .await
        .json()
        .await
        .unwrap();
    let stored: Vec<&str> = page.messages.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(
        stored, SAMPLES,
        "history returns every sample byte for byte"
    );
    let rooms: Vec<confab_protocol::api::RoomSummary> =
        alice.get("/api/rooms").await.json().await.unwrap();
    assert_eq!(rooms[0].name, "unicode ✓ 房间");
}

#[tokio::test]
async fn control_characters_are_refused_the_same_way_on_every_backend_and_never_500() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut ws = alice.connect().await;
    for (i, text) in ["nul\u{0}byte", "esc\u{1b}[2J", "c1\u{85}", "del\u{7f}"]
        .iter()
        .enumerate()
    {
        ws.say(room.id, &format!("c{i}"), text).await;
        match ws.next_frame().await {
            ServerFrame::Error { code, .. } => {
                assert_eq!(code, ErrorCode::InvalidCharacters, "sample {i}")
            }
            other => panic!("expected an error for sample {i}, got {other:?}"),
        }
    }
    // Over HTTP too: a room name with NUL is a 422, not a 500 from the database.
    let response = alice
        .post("/api/rooms", &serde_json::json!({ "name": "bad\u{0}name" }))
        .await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::InvalidRoomName
    );
    let response = alice
        .post(
            "/api/auth/register",
            &serde_json::json!({ "username": "nul\u{0}", "password": "long enough pw" }),
        )
        .await;
    assert_eq!(response.status(), 422);
}

#[tokio::test]
async fn a_database_ahead_of_the_binary_is_refused_with_a_clear_message() {
    let (config, _dir) = test_config().await;
    // Bring the schema up to date, then record a migration this binary does not know.
    let app = TestApp::start(config.clone()).await;
    drop(app);
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", config.data_dir.join("confab.db").display()));
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ($1, 'from the future', $2, $3, 0)",
    )
    .bind(29_991_231_000_000_i64)
    .bind(true)
    .bind(vec![0u8])
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let err = match Application::build(config).await {
        Ok(_) => panic!("a newer schema must be refused"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("newer than this binary") && err.contains("29991231000000"),
        "{err}"
    );
}

#[tokio::test]
async fn postgres_stopped_and_restarted_under_a_running_server_gives_clean_errors_then_recovers() {
    let mut pg = PgServer::start();
    let url = pg.create_database("recovery").await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path());
    config.dist_dir = dir.path().join("no-dist");
    config.database_url = Some(url);
    config.db_acquire_timeout_secs = 2;
    config.log = "error".into();
    let app = TestApp::start(config).await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let mut ws = alice.connect().await;
    ws.say(room.id, "before", "before the outage").await;
    ws.next_matching(|f| matches!(f, ServerFrame::MessageAcked { .. }).then_some(()))
        .await;

    pg.stop();
    let response = alice.get("/api/rooms").await;
    assert_eq!(
        response.status(),
        503,
        "HTTP answers 503 while the database is down"
    );
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::Unavailable
    );
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    ws.say(room.id, "during", "during the outage").await;
    let refused = ws
        .next_matching(|f| match f {
            ServerFrame::Error { code, frame, .. } => Some((code, frame)),
            ServerFrame::MessageAcked { .. } => {
                panic!("nothing can be committed while the database is down")
            }
            _ => None,
        })
        .await;
    assert_eq!(refused, (ErrorCode::Unavailable, Some("send".to_owned())));
    ws.assert_alive(1).await;

    pg.restart();
    let mut recovered = false;
    for _ in 0..100 {
        if alice.get("/api/rooms").await.status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "service resumes without restarting the server");
    ws.say(room.id, "after", "after the outage").await;
    let seq = ws
        .next_matching(|f| match f {
            ServerFrame::MessageAcked { seq, .. } => Some(seq.0),
            ServerFrame::Error { code, message, .. } => panic!("{code}: {message}"),
            _ => None,
        })
        .await;
    assert_eq!(
        seq, 2,
        "nothing was stored during the outage and the seq continues"
    );
}
