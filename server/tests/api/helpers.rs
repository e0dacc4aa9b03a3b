//! The test harness: a real server on port 0 with its own data directory, HTTP clients
//! that carry a session cookie, and real WebSocket clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use confab_protocol::api::{Credentials, RoomSummary, UserSummary};
use confab_protocol::{ClientFrame, ClientMsgId, RoomId, ServerFrame};
use confab_server::{Application, Config};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::services::{PgCluster, postgres_selected};

/// How long a test waits for a frame it expects.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server and what it needs to stop and restart.
pub struct TestApp {
    pub address: SocketAddr,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<Arc<tempfile::TempDir>>,
}

/// A configuration for a test server: its own data directory, and a fresh PostgreSQL
/// database when the suite runs on PostgreSQL (`CONFAB_TEST_DATABASE=postgres`).
pub async fn test_config() -> (Config, Arc<tempfile::TempDir>) {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut config = Config::for_data_dir(dir.path());
    config.dist_dir = dir.path().join("no-dist");
    config.log = "warn".into();
    // Tests push thousands of messages as fast as they can; the limit has its own test.
    config.max_posts_per_sec = 0;
    config.max_frames_per_sec = 0;
    if postgres_selected() {
        config.database_url = Some(PgCluster::get().fresh_database().await);
    }
    (config, dir)
}

/// Starts a server on a fresh database.
pub async fn spawn_app() -> TestApp {
    let (config, dir) = test_config().await;
    let mut app = TestApp::start(config).await;
    app._dir = Some(dir);
    app
}

impl TestApp {
    /// Starts a server with `config` (its data directory must outlive it).
    pub async fn start(config: Config) -> TestApp {
        confab_server::telemetry::init(&config.log);
        let app = Application::build(config.clone())
            .await
            .expect("server builds");
        let address = app.address();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            address,
            config,
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Stops the server gracefully and waits until it has closed its database.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), handle).await;
        }
    }

    /// Stops the server and starts a new one on the same data directory and database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut config = self.config.clone();
        config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let mut next = TestApp::start(config).await;
        self.address = next.address;
        self.shutdown = next.shutdown.take();
        self.handle = next.handle.take();
    }

    /// Registers a user (name made unique by a prefix) and returns a signed-in client.
    pub async fn register(&self, name: &str) -> TestUser {
        let http = reqwest::Client::new();
        let response = http
            .post(self.url("/api/auth/register"))
            .json(&Credentials {
                username: name.to_owned(),
                password: "correct horse battery".into(),
            })
            .send()
            .await
            .expect("register request");
        assert_eq!(response.status(), StatusCode::CREATED, "register {name}");
        let cookie = session_cookie(&response).expect("session cookie");
        let user: UserSummary = response.json().await.expect("user body");
        TestUser {
            app_address: self.address,
            http,
            cookie,
            user,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The `name=value` of the session cookie a response sets.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("confab_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// A signed-in user with an HTTP client.
pub struct TestUser {
    pub app_address: SocketAddr,
    pub http: reqwest::Client,
    pub cookie: String,
    pub user: UserSummary,
}

impl TestUser {
    /// The same user (same session) talking to another instance.
    pub fn via(&self, address: SocketAddr) -> TestUser {
        TestUser {
            app_address: address,
            http: self.http.clone(),
            cookie: self.cookie.clone(),
            user: self.user.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.app_address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("GET")
    }

    pub async fn post<T: serde::Serialize>(&self, path: &str, body: &T) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("cookie", &self.cookie)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("POST")
    }

    /// Creates a group room.
    pub async fn create_room(&self, name: &str) -> RoomSummary {
        let response = self
            .post("/api/rooms", &serde_json::json!({ "name": name }))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "create room {name}");
        response.json().await.expect("room body")
    }

    /// Joins a group room over HTTP.
    pub async fn join(&self, room: RoomId) -> RoomSummary {
        let response = self.post_empty(&format!("/api/rooms/{room}/join")).await;
        assert_eq!(response.status(), StatusCode::OK, "join room {room}");
        response.json().await.expect("room body")
    }

    /// Opens a WebSocket and reads its `welcome`.
    pub async fn connect(&self) -> WsClient {
        let mut ws = self.connect_raw().await.expect("WebSocket connects");
        match ws.next_frame().await {
            ServerFrame::Welcome { user, .. } => assert_eq!(user, self.user),
            other => panic!("expected welcome, got {other:?}"),
        }
        ws
    }

    /// Opens a WebSocket without reading anything.
    pub async fn connect_raw(&self) -> Result<WsClient, tokio_tungstenite::tungstenite::Error> {
        let mut request = format!("ws://{}/ws", self.app_address).into_client_request()?;
        request.headers_mut().insert(
            "cookie",
            HeaderValue::from_str(&self.cookie).expect("cookie header"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient {
            stream,
            see_presence: false,
        })
    }
}

/// A real WebSocket client speaking the protocol.
pub struct WsClient {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Whether `status` frames are returned. They arrive whenever someone sharing a room
    /// connects or disconnects, so tests of anything else skip them; presence tests turn
    /// this on with [`WsClient::seeing_presence`].
    see_presence: bool,
}

impl WsClient {
    /// This client, returning `status` frames too.
    pub fn seeing_presence(mut self) -> Self {
        self.see_presence = true;
        self
    }

    fn skips(&self, frame: &ServerFrame) -> bool {
        !self.see_presence && matches!(frame, ServerFrame::PresenceChanged { .. })
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).expect("frame serializes");
        self.send_text(&text).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.stream.send(Message::text(text)).await.expect("send");
    }

    /// Sends a text message and returns its `client_msg_id`.
    pub async fn say(&mut self, room: RoomId, id: &str, body: &str) -> ClientMsgId {
        let client_msg_id = ClientMsgId(id.to_owned());
        self.send(&ClientFrame::SendMessage {
            room,
            client_msg_id: client_msg_id.clone(),
            body: body.to_owned(),
        })
        .await;
        client_msg_id
    }

    /// The next protocol frame; panics on timeout, close or a non-text message.
    pub async fn next_frame(&mut self) -> ServerFrame {
        self.next_frame_within(FRAME_TIMEOUT)
            .await
            .expect("a frame arrives in time")
    }

    /// The next protocol frame, or `None` when none arrives within `wait`; panics on
    /// close or a non-text message.
    pub async fn next_frame_within(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()?
                .expect("the socket is open")
                .expect("the socket reads");
            match message {
                Message::Text(text) => {
                    let frame: ServerFrame = serde_json::from_str(text.as_str())
                        .unwrap_or_else(|e| panic!("bad frame {text}: {e}"));
                    if !self.skips(&frame) {
                        return Some(frame);
                    }
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// The next frame that `pick` accepts, skipping others.
    pub async fn next_matching<T>(&mut self, mut pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
        loop {
            if let Some(found) = pick(self.next_frame().await) {
                return found;
            }
        }
    }

    /// Asserts that no frame (but skipped `status` frames, and the server's keep-alive
    /// pings) arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(Ok(message))) =
            tokio::time::timeout_at(deadline, self.stream.next()).await
        {
            if matches!(message, Message::Ping(_) | Message::Pong(_)) {
                continue;
            }
            if let Message::Text(text) = &message
                && let Ok(frame) = serde_json::from_str::<ServerFrame>(text.as_str())
                && self.skips(&frame)
            {
                continue;
            }
            panic!("expected no frame, got {message:?}");
        }
    }

    /// Reads until the server closes the socket; returns the close code.
    pub async fn closed_with(&mut self) -> Option<CloseCode> {
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, self.stream.next())
                .await
                .expect("close arrives in time")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Sends a ping and waits for its pong: proves the socket still works.
    pub async fn assert_alive(&mut self, nonce: u64) {
        self.send(&ClientFrame::Ping { nonce: Some(nonce) }).await;
        let got = self
            .next_matching(|f| match f {
                ServerFrame::Pong { nonce } => Some(nonce),
                _ => None,
            })
            .await;
        assert_eq!(got, Some(nonce));
    }
}
