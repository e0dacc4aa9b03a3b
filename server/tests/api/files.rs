//! Sharing files: uploads streamed into a room while every member watches their progress
//! (on this instance or another), stored byte for byte under generated ids, served only to
//! members with safe headers; over-size, aborted and hostile uploads leave nothing behind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use confab_protocol::api::{HistoryPage, UserSummary};
use confab_protocol::{
    ApiError, ClientFrame, ErrorCode, FileStage, MessageKind, MessagePosted, RoomId, Seq,
    ServerFrame, UploadId, UserId,
};
use confab_server::Config;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::helpers::{TestApp, TestUser, WsClient, spawn_app, test_config};
use crate::services::{PgCluster, RedisServer};

/// A `file_progress` frame's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Progress {
    room: RoomId,
    upload: UploadId,
    user: UserId,
    file_name: String,
    stage: FileStage,
    bytes: u64,
    total: Option<u64>,
    reason: Option<ErrorCode>,
}

fn progress_of(frame: ServerFrame) -> Option<Progress> {
    match frame {
        ServerFrame::FileProgress {
            room,
            upload,
            user,
            file_name,
            stage,
            bytes,
            total,
            reason,
        } => Some(Progress {
            room,
            upload,
            user,
            file_name,
            stage,
            bytes,
            total,
            reason,
        }),
        _ => None,
    }
}

async fn next_progress(ws: &mut WsClient) -> Progress {
    ws.next_matching(progress_of).await
}

async fn next_message(ws: &mut WsClient) -> MessagePosted {
    ws.next_matching(|f| match f {
        ServerFrame::MessagePosted(m) => Some(m),
        _ => None,
    })
    .await
}

/// Every `file_progress` frame of one upload up to its `completed` or `failed` one.
async fn progress_until_done(ws: &mut WsClient) -> Vec<Progress> {
    let mut seen = Vec::new();
    loop {
        let progress = next_progress(ws).await;
        let done = matches!(progress.stage, FileStage::Completed | FileStage::Failed);
        seen.push(progress);
        if done {
            return seen;
        }
    }
}

/// The frames that arrive before the answer to a ping: what the socket received so far.
async fn frames_until_pong(ws: &mut WsClient, nonce: u64) -> Vec<ServerFrame> {
    ws.send(&ClientFrame::Ping { nonce: Some(nonce) }).await;
    let mut frames = Vec::new();
    loop {
        match ws.next_frame().await {
            ServerFrame::Pong { nonce: got } if got == Some(nonce) => return frames,
            frame => frames.push(frame),
        }
    }
}

/// Deterministic bytes that sniff as a PNG: the PNG signature and header chunk, then
/// pseudo-random filler.
fn png_bytes(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    let mut state: u32 = 0x1234_5678;
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.push(state.to_le_bytes()[0]);
    }
    bytes.truncate(len);
    bytes
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What the files directory holds (names of its entries).
fn stored_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn files_dir(app: &TestApp) -> PathBuf {
    app.config.files_dir()
}

fn upload_url(user: &TestUser, room: RoomId) -> String {
    user.url(&format!("/api/rooms/{room}/files"))
}

/// Uploads `bytes` in one go (with a Content-Length).
async fn upload(user: &TestUser, room: RoomId, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    user.http
        .post(upload_url(user, room))
        .query(&[("name", name)])
        .header("cookie", &user.cookie)
        .body(bytes)
        .send()
        .await
        .expect("upload request")
}

/// Uploads `bytes` in `chunk`-sized pieces with `pause` between them, announcing the
/// length (Content-Length) or not (chunked transfer encoding).
async fn slow_upload(
    user: &TestUser,
    room: RoomId,
    name: &str,
    bytes: Vec<u8>,
    chunk: usize,
    pause: Duration,
    announce_length: bool,
) -> reqwest::Result<reqwest::Response> {
    let len = bytes.len();
    let pieces: Vec<Bytes> = bytes.chunks(chunk).map(Bytes::copy_from_slice).collect();
    let stream = futures_util::stream::iter(pieces).then(move |piece| async move {
        tokio::time::sleep(pause).await;
        Ok::<_, std::io::Error>(piece)
    });
    let mut request = user
        .http
        .post(upload_url(user, room))
        .query(&[("name", name)])
        .header("cookie", &user.cookie)
        .body(reqwest::Body::wrap_stream(stream));
    if announce_length {
        request = request.header(CONTENT_LENGTH, len);
    }
    request.send().await
}

async fn error_of(response: reqwest::Response) -> (StatusCode, ErrorCode) {
    let status = response.status();
    let body: ApiError = response.json().await.expect("JSON error body");
    (status, body.code)
}

/// Two members of one room, both connected.
struct Room {
    alice: TestUser,
    bob: TestUser,
    room: RoomId,
    a: WsClient,
    b: WsClient,
}

async fn room_of_two(app: &TestApp) -> Room {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("general").await.id;
    bob.join(room).await;
    let a = alice.connect().await;
    let b = bob.connect().await;
    Room {
        alice,
        bob,
        room,
        a,
        b,
    }
}

/// Checks one completed upload's frames: `started` at 0, at least one `progress` in
/// between (strictly growing, short of the total), `completed` with every byte, all for
/// the same upload, room, uploader and name.
fn assert_announced(seen: &[Progress], room: RoomId, user: &UserSummary, name: &str, len: u64) {
    let stages: Vec<FileStage> = seen.iter().map(|p| p.stage).collect();
    assert_eq!(stages.first(), Some(&FileStage::Started), "{seen:?}");
    assert_eq!(stages.last(), Some(&FileStage::Completed), "{seen:?}");
    let middle = &seen[1..seen.len() - 1];
    assert!(!middle.is_empty(), "at least one progress event: {seen:?}");
    assert!(middle.iter().all(|p| p.stage == FileStage::Progress));
    assert_eq!(seen[0].bytes, 0);
    let bytes: Vec<u64> = middle.iter().map(|p| p.bytes).collect();
    assert!(
        bytes.windows(2).all(|w| w[0] < w[1]) && bytes.iter().all(|b| *b > 0 && *b < len),
        "progress grows and stays short of the total: {bytes:?}"
    );
    assert_eq!(seen[seen.len() - 1].bytes, len);
    for p in seen {
        assert_eq!(
            (p.room, p.user, p.file_name.as_str(), p.total, p.reason),
            (room, user.id, name, Some(len), None),
            "{p:?}"
        );
        assert_eq!(p.upload, seen[0].upload);
    }
}

#[tokio::test]
async fn an_uploaded_file_is_announced_while_it_arrives_then_posted_and_downloaded_byte_for_byte() {
    let app = spawn_app().await;
    let Room {
        alice,
        bob,
        room,
        mut a,
        mut b,
    } = room_of_two(&app).await;
    let bytes = png_bytes(600 * 1024);

    let response = slow_upload(
        &alice,
        room,
        "holiday.png",
        bytes.clone(),
        60 * 1024,
        Duration::from_millis(30),
        true,
    )
    .await
    .expect("upload");

    assert_eq!(response.status(), StatusCode::CREATED);
    let posted: MessagePosted = response.json().await.expect("the file message");
    let seen = progress_until_done(&mut b).await;
    assert_announced(&seen, room, &alice.user, "holiday.png", bytes.len() as u64);
    let message = next_message(&mut b).await;
    assert_eq!(message, posted);
    assert_eq!(
        next_message(&mut a).await,
        posted,
        "the uploader's socket too"
    );
    assert_eq!(
        (
            message.kind,
            message.body.as_str(),
            message.seq,
            message.sender
        ),
        (MessageKind::File, "holiday.png", Seq(1), alice.user.id)
    );
    let file = message.file.clone().expect("the message carries its file");
    assert_eq!(
        file.id.0, seen[0].upload.0,
        "the upload's id is the file's id"
    );
    assert!(file.id.is_valid());
    assert_eq!(
        (file.name.as_str(), file.size, file.mime.as_str()),
        ("holiday.png", bytes.len() as u64, "image/png")
    );

    // Stored under its generated id, byte for byte.
    let dir = files_dir(&app);
    assert_eq!(stored_names(&dir), vec![file.id.0.clone()]);
    let on_disk = std::fs::read(dir.join(&file.id.0)).expect("stored file");
    assert_eq!(sha256(&on_disk), sha256(&bytes));

    // Downloaded by another member, byte for byte, inline (a safe raster image).
    let download = bob.get(&file.download_path()).await;
    assert_eq!(download.status(), StatusCode::OK);
    let headers = download.headers().clone();
    assert_eq!(headers[CONTENT_TYPE], "image/png");
    assert_eq!(headers[CONTENT_LENGTH], bytes.len().to_string().as_str());
    assert_eq!(
        headers[CONTENT_DISPOSITION],
        "inline; filename=\"holiday.png\"; filename*=UTF-8''holiday.png"
    );
    assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        headers[CONTENT_SECURITY_POLICY],
        "default-src 'none'; sandbox"
    );
    let downloaded = download.bytes().await.expect("download body");
    assert_eq!(sha256(&downloaded), sha256(&bytes));

    // History pages and backfill carry the file too.
    let page: HistoryPage = bob
        .get(&format!("/api/rooms/{room}/messages"))
        .await
        .json()
        .await
        .expect("history");
    assert_eq!(page.messages, vec![posted.clone()]);
    b.send(&ClientFrame::Backfill {
        room,
        after_seq: Seq(0),
        limit: None,
    })
    .await;
    let history = b
        .next_matching(|f| match f {
            ServerFrame::History { messages, .. } => Some(messages),
            _ => None,
        })
        .await;
    assert_eq!(history, vec![posted]);
}

#[tokio::test]
async fn a_text_message_after_a_file_carries_no_file_and_seqs_stay_gapless() {
    let app = spawn_app().await;
    let Room {
        alice,
        room,
        mut a,
        mut b,
        ..
    } = room_of_two(&app).await;
    let response = upload(&alice, room, "notes.txt", b"first line\n".to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    a.say(room, "after-file", "and some text").await;

    let file = next_message(&mut b).await;
    let text = next_message(&mut b).await;
    assert_eq!((file.seq, file.kind), (Seq(1), MessageKind::File));
    assert_eq!(
        (text.seq, text.kind, text.file, text.body.as_str()),
        (Seq(2), MessageKind::Text, None, "and some text")
    );
    let raw = alice
        .get(&format!("/api/rooms/{room}/messages"))
        .await
        .text()
        .await
        .expect("history");
    assert_eq!(raw.matches("\"file\":").count(), 1, "{raw}");
}

#[tokio::test]
async fn the_mime_type_comes_from_the_content_never_from_the_name_or_the_client() {
    let app = spawn_app().await;
    let Room {
        alice, bob, room, ..
    } = room_of_two(&app).await;

    // Text dressed up as a PNG, with a lying Content-Type: plain text, an attachment.
    let response = alice
        .http
        .post(upload_url(&alice, room))
        .query(&[("name", "cat.png")])
        .header("cookie", &alice.cookie)
        .header(CONTENT_TYPE, "image/png")
        .body("<svg onload=alert(1)>not a png</svg>")
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    let fake: MessagePosted = response.json().await.expect("message");
    let fake = fake.file.expect("file");
    assert_eq!(fake.mime, "text/plain");
    let download = bob.get(&fake.download_path()).await;
    assert_eq!(
        download.headers()[CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    assert!(
        download.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    // A real GIF named like a text file is a GIF, shown inline.
    let gif = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;";
    let response = upload(&alice, room, "notes.txt", gif.to_vec()).await;
    let real: MessagePosted = response.json().await.expect("message");
    let real = real.file.expect("file");
    assert_eq!(real.mime, "image/gif");
    let download = bob.get(&real.download_path()).await;
    assert_eq!(download.headers()[CONTENT_TYPE], "image/gif");
    assert!(
        download.headers()[CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), gif);

    // Bytes nobody recognises: application/octet-stream, an attachment.
    let response = upload(&alice, room, "blob", vec![0, 159, 146, 150, 0, 1, 2]).await;
    let blob: MessagePosted = response.json().await.expect("message");
    assert_eq!(blob.file.expect("file").mime, "application/octet-stream");
}

#[tokio::test]
async fn an_upload_over_the_size_cap_is_refused_with_413_announced_as_failed_and_leaves_nothing() {
    let (mut config, _dir) = test_config().await;
    config.max_upload_bytes = 64 * 1024;
    let app = TestApp::start(config).await;
    let Room {
        alice,
        bob,
        room,
        mut b,
        ..
    } = room_of_two(&app).await;
    let dir = files_dir(&app);

    // Without a Content-Length: refused once the cap is crossed, mid-stream.
    let response = slow_upload(
        &alice,
        room,
        "big.bin",
        png_bytes(256 * 1024),
        16 * 1024,
        Duration::from_millis(5),
        false,
    )
    .await
    .expect("the refusal arrives");
    assert_eq!(
        error_of(response).await,
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FileTooLarge)
    );
    let seen = progress_until_done(&mut b).await;
    assert_eq!(seen[0].stage, FileStage::Started);
    let failed = seen.last().expect("failed");
    assert_eq!(
        (failed.stage, failed.reason, failed.total),
        (FileStage::Failed, Some(ErrorCode::FileTooLarge), None)
    );
    assert!(failed.bytes > 64 * 1024, "{failed:?}");
    assert_eq!(stored_names(&dir), Vec::<String>::new(), "nothing on disk");

    // With a Content-Length over the cap: refused before a byte is read.
    let response = upload(&alice, room, "big.bin", png_bytes(65 * 1024)).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FileTooLarge)
    );
    let failed = next_progress(&mut b).await;
    assert_eq!(
        (failed.stage, failed.reason, failed.bytes, failed.total),
        (
            FileStage::Failed,
            Some(ErrorCode::FileTooLarge),
            0,
            Some(65 * 1024)
        )
    );
    assert_eq!(stored_names(&dir), Vec::<String>::new());

    // Exactly at the cap is fine; nothing was posted before it.
    let response = upload(&alice, room, "fits.bin", png_bytes(64 * 1024)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let page: HistoryPage = bob
        .get(&format!("/api/rooms/{room}/messages"))
        .await
        .json()
        .await
        .expect("history");
    let names: Vec<(Seq, &str)> = page
        .messages
        .iter()
        .map(|m| (m.seq, m.body.as_str()))
        .collect();
    assert_eq!(names, vec![(Seq(1), "fits.bin")]);
}

#[tokio::test]
async fn a_client_that_goes_away_mid_upload_leaves_nothing_and_the_room_hears_it_failed() {
    let app = spawn_app().await;
    let Room {
        alice, room, mut b, ..
    } = room_of_two(&app).await;

    let mut socket = tokio::net::TcpStream::connect(app.address)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/rooms/{room}/files?name=half.bin HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\
         Content-Length: 100000\r\n\r\n",
        app.address, alice.cookie
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&png_bytes(10_000)).await.unwrap();
    let started = next_progress(&mut b).await;
    assert_eq!(
        (started.stage, started.total),
        (FileStage::Started, Some(100_000))
    );
    drop(socket);

    let failed = b
        .next_matching(|f| progress_of(f).filter(|p| p.stage == FileStage::Failed))
        .await;
    assert_eq!(failed.reason, Some(ErrorCode::UploadAborted));
    assert_eq!(failed.upload, started.upload);
    assert_eq!(stored_names(&files_dir(&app)), Vec::<String>::new());
    let page: HistoryPage = alice
        .get(&format!("/api/rooms/{room}/messages"))
        .await
        .json()
        .await
        .expect("history");
    assert!(page.messages.is_empty(), "{page:?}");
}

#[tokio::test]
async fn a_non_member_can_neither_upload_to_a_room_nor_download_its_files() {
    let app = spawn_app().await;
    let Room {
        alice,
        bob,
        room,
        mut b,
        ..
    } = room_of_two(&app).await;
    let mallory = app.register("mallory").await;
    let dir = files_dir(&app);

    let response = upload(&mallory, room, "spam.txt", b"buy now".to_vec()).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::FORBIDDEN, ErrorCode::NotAMember)
    );
    let response = upload(&mallory, RoomId(room.0 + 1000), "spam.txt", b"x".to_vec()).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::FORBIDDEN, ErrorCode::NotAMember),
        "a room that does not exist looks the same"
    );
    assert_eq!(stored_names(&dir), Vec::<String>::new());
    let frames = frames_until_pong(&mut b, 1).await;
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::FileProgress { .. })),
        "members heard nothing of it: {frames:?}"
    );

    let response = upload(&alice, room, "secret.txt", b"for members only".to_vec()).await;
    let posted: MessagePosted = response.json().await.expect("message");
    let path = posted.file.expect("file").download_path();
    let response = mallory.get(&path).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
    let response = mallory
        .get("/api/files/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, ErrorCode::NotFound),
        "an unknown id looks the same"
    );
    let response = reqwest::get(app.url(&path)).await.expect("GET");
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized)
    );
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/rooms/{room}/files?name=x.txt")))
        .body("x")
        .send()
        .await
        .expect("POST");
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized)
    );

    // Leaving the room ends access to its files.
    let response = bob.get(&path).await;
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        b"for members only"
    );
    bob.post_empty(&format!("/api/rooms/{room}/leave")).await;
    let response = bob.get(&path).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::NOT_FOUND, ErrorCode::NotFound)
    );
}

#[tokio::test]
async fn hostile_file_names_are_stored_cleaned_and_returned_as_plain_text() {
    let app = spawn_app().await;
    let Room {
        alice, bob, room, ..
    } = room_of_two(&app).await;
    let cases = [
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("..\\..\\windows\\win.ini", ".._.._windows_win.ini"),
        ("/absolute/path.txt", "_absolute_path.txt"),
        (
            "tab\tnew\nline\r\u{0}nul\u{1b}[31mred.txt",
            "tabnewlinenul[31mred.txt",
        ),
        ("\u{202e}fdp.exe", "fdp.exe"),
        (
            "<img src=x onerror=alert(1)>.html",
            "<img src=x onerror=alert(1)>.html",
        ),
        (
            "\"quoted\"; filename=evil.sh",
            "\"quoted\"; filename=evil.sh",
        ),
        ("  spaced  ", "spaced"),
        ("résumé 履歴書 📄.txt", "résumé 履歴書 📄.txt"),
    ];
    let html = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    for (raw, cleaned) in cases {
        let response = upload(&alice, room, raw, html.to_vec()).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{raw:?}");
        let posted: MessagePosted = response.json().await.expect("message");
        let file = posted.file.clone().expect("file");
        assert_eq!(
            (posted.body.as_str(), file.name.as_str()),
            (cleaned, cleaned),
            "{raw:?}"
        );

        // Served as an attachment whatever the name and content, with the name only in
        // escaped, quoted header parameters.
        let download = bob.get(&file.download_path()).await;
        assert_eq!(download.status(), StatusCode::OK);
        let disposition = download.headers()[CONTENT_DISPOSITION]
            .to_str()
            .expect("ASCII header")
            .to_owned();
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert_eq!(disposition.matches('"').count(), 2, "{disposition}");
        assert!(
            !disposition.contains(['\r', '\n', '/', '\\', '<']),
            "{disposition}"
        );
        assert_eq!(download.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(
            download.headers()[CONTENT_SECURITY_POLICY],
            "default-src 'none'; sandbox"
        );
        assert_eq!(download.bytes().await.unwrap().as_ref(), html);
    }

    // The names come back as JSON strings, exactly as stored: text, never markup.
    let raw = bob
        .get(&format!("/api/rooms/{room}/messages"))
        .await
        .text()
        .await
        .expect("history");
    assert!(
        raw.contains(r#""name":"<img src=x onerror=alert(1)>.html""#),
        "{raw}"
    );
    let page: HistoryPage = serde_json::from_str(&raw).expect("history page");
    let names: Vec<String> = page
        .messages
        .iter()
        .filter_map(|m| m.file.as_ref().map(|f| f.name.clone()))
        .collect();
    let expected: Vec<String> = cases.iter().map(|(_, c)| (*c).to_owned()).collect();
    assert_eq!(names, expected);

    // On disk only generated ids, nothing named by a client.
    let stored = stored_names(&files_dir(&app));
    assert_eq!(stored.len(), cases.len());
    assert!(
        stored.iter().all(|n| n.len() == 32
            && n.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())),
        "{stored:?}"
    );
}

#[tokio::test]
async fn empty_files_and_names_with_nothing_left_are_refused_before_anything_is_announced() {
    let app = spawn_app().await;
    let Room {
        alice, room, mut b, ..
    } = room_of_two(&app).await;

    let response = upload(&alice, room, "empty.txt", Vec::new()).await;
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::EmptyFile)
    );
    for name in ["", "..", ".", " \u{0}\t "] {
        let response = upload(&alice, room, name, b"data".to_vec()).await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidFileName),
            "{name:?}"
        );
    }
    let response = alice
        .http
        .post(upload_url(&alice, room))
        .header("cookie", &alice.cookie)
        .body("no name")
        .send()
        .await
        .expect("POST");
    assert_eq!(
        error_of(response).await,
        (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidFileName)
    );
    for bad in [
        "not-an-id",
        "0123456789ABCDEF0123456789ABCDEF",
        "..%2F..%2Fconfab.db",
    ] {
        let response = alice.get(&format!("/api/files/{bad}")).await;
        assert_eq!(
            error_of(response).await,
            (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            "{bad}"
        );
    }
    assert_eq!(stored_names(&files_dir(&app)), Vec::<String>::new());
    let frames = frames_until_pong(&mut b, 2).await;
    assert!(
        !frames
            .iter()
            .any(|f| matches!(f, ServerFrame::FileProgress { .. })),
        "{frames:?}"
    );
}

#[tokio::test]
async fn an_uploader_who_leaves_the_room_mid_upload_posts_nothing_and_leaves_nothing() {
    let app = spawn_app().await;
    let Room {
        alice, room, mut b, ..
    } = room_of_two(&app).await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let request = alice
        .http
        .post(upload_url(&alice, room))
        .query(&[("name", "leaving.bin")])
        .header("cookie", &alice.cookie)
        .header(CONTENT_LENGTH, 20_000)
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let uploading = tokio::spawn(request);
    tx.send(Bytes::from(png_bytes(10_000))).await.unwrap();
    assert_eq!(next_progress(&mut b).await.stage, FileStage::Started);
    let left = alice.post_empty(&format!("/api/rooms/{room}/leave")).await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);
    tx.send(Bytes::from(png_bytes(10_000))).await.unwrap();
    drop(tx);

    let response = uploading.await.unwrap().expect("answer");
    assert_eq!(
        error_of(response).await,
        (StatusCode::FORBIDDEN, ErrorCode::NotAMember)
    );
    let failed = b
        .next_matching(|f| progress_of(f).filter(|p| p.stage == FileStage::Failed))
        .await;
    assert_eq!(
        (failed.reason, failed.bytes),
        (Some(ErrorCode::NotAMember), 20_000)
    );
    assert_eq!(stored_names(&files_dir(&app)), Vec::<String>::new());
}

/// Two instances sharing one PostgreSQL database, one Redis and one files directory.
struct SharedFiles {
    _redis: RedisServer,
    apps: Vec<TestApp>,
    files: Arc<tempfile::TempDir>,
    _dirs: Vec<tempfile::TempDir>,
}

async fn two_instances_sharing_files() -> SharedFiles {
    let redis = RedisServer::start();
    let database_url = PgCluster::get().fresh_database().await;
    let files = Arc::new(tempfile::tempdir().unwrap());
    let mut apps = Vec::new();
    let mut dirs = Vec::new();
    for name in ["instance-a", "instance-b"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_data_dir(dir.path());
        config.dist_dir = dir.path().join("no-dist");
        config.database_url = Some(database_url.clone());
        config.redis_url = Some(redis.url());
        config.instance_id = Some(name.into());
        config.files_dir = Some(files.path().to_path_buf());
        config.log = "warn".into();
        apps.push(TestApp::start(config).await);
        dirs.push(dir);
    }
    for app in &apps {
        wait_ready(app.address).await;
    }
    SharedFiles {
        _redis: redis,
        apps,
        files,
        _dirs: dirs,
    }
}

async fn wait_ready(address: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reqwest::get(format!("http://{address}/readyz"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{address} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_upload_to_one_instance_is_watched_and_downloaded_by_a_member_on_another() {
    let cluster = two_instances_sharing_files().await;
    let [a, b] = [0, 1].map(|i| cluster.apps[i].address);
    let alice = cluster.apps[0].register("alice").await;
    let bob = cluster.apps[1].register("bob").await;
    let room = alice.create_room("general").await.id;
    bob.join(room).await;
    let mut wa = alice.connect().await;
    let mut wb = bob.connect().await;
    // Once a message from A reaches bob on B, B is subscribed to the room.
    wa.say(room, "hello", "watch this").await;
    assert_eq!(next_message(&mut wb).await.body, "watch this");
    let bytes = png_bytes(480 * 1024);

    let response = slow_upload(
        &alice.via(a),
        room,
        "across.png",
        bytes.clone(),
        48 * 1024,
        Duration::from_millis(30),
        true,
    )
    .await
    .expect("upload");

    assert_eq!(response.status(), StatusCode::CREATED);
    let posted: MessagePosted = response.json().await.expect("file message");
    let seen = progress_until_done(&mut wb).await;
    assert_announced(&seen, room, &alice.user, "across.png", bytes.len() as u64);
    let message = next_message(&mut wb).await;
    assert_eq!(message, posted);
    assert_eq!((message.seq, message.kind), (Seq(2), MessageKind::File));
    let file = message.file.expect("file");
    assert_eq!(stored_names(cluster.files.path()), vec![file.id.0.clone()]);

    let download = bob.via(b).get(&file.download_path()).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()[CONTENT_TYPE], "image/png");
    let downloaded = download.bytes().await.expect("body");
    assert_eq!(sha256(&downloaded), sha256(&bytes));
}
