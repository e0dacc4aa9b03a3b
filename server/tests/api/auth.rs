//! Accounts and sessions over HTTP, and the WebSocket upgrade's checks.

use std::time::Duration;

use confab_protocol::api::{Credentials, UserSummary};
use confab_protocol::{ApiError, ErrorCode, ServerFrame};
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{session_cookie, spawn_app};

fn creds(username: &str, password: &str) -> Credentials {
    Credentials {
        username: username.into(),
        password: password.into(),
    }
}

#[tokio::test]
async fn a_registered_user_can_sign_in_and_ask_who_they_are() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    assert_eq!(alice.user.username, "alice");

    let http = reqwest::Client::new();
    let response = http
        .post(app.url("/api/auth/sign-in"))
        .json(&creds("ALICE", "correct horse battery"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = session_cookie(&response).unwrap();
    let signed_in: UserSummary = response.json().await.unwrap();
    assert_eq!(signed_in, alice.user);

    let me: UserSummary = http
        .get(app.url("/api/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me, alice.user);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    app.register("alice").await;
    let http = reqwest::Client::new();
    let mut bodies = Vec::new();
    for c in [
        creds("alice", "wrong password"),
        creds("nobody", "correct horse battery"),
    ] {
        let response = http
            .post(app.url("/api/auth/sign-in"))
            .json(&c)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(session_cookie(&response).is_none());
        bodies.push(response.json::<ApiError>().await.unwrap());
    }
    assert_eq!(bodies[0].code, ErrorCode::Unauthorized);
    assert_eq!(
        bodies[0], bodies[1],
        "the answer must not say which part was wrong"
    );
}

#[tokio::test]
async fn a_taken_username_is_409_ignoring_case() {
    let app = spawn_app().await;
    app.register("alice").await;
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/register"))
        .json(&creds("Alice", "another password"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::UsernameTaken
    );
}

#[tokio::test]
async fn invalid_registrations_are_422_with_a_code() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    for (c, code) in [
        (
            creds("a", "correct horse battery"),
            ErrorCode::InvalidUsername,
        ),
        (
            creds("<script>", "correct horse battery"),
            ErrorCode::InvalidUsername,
        ),
        (creds("bob", "short"), ErrorCode::InvalidPassword),
    ] {
        let response = http
            .post(app.url("/api/auth/register"))
            .json(&c)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.json::<ApiError>().await.unwrap().code, code);
    }
}

#[tokio::test]
async fn malformed_json_bodies_are_400_with_a_code() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::BadRequest
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_closes_its_sockets() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut ws = alice.connect().await;
    let response = alice.post_empty("/api/auth/sign-out").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        alice.get("/api/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let code = ws.closed_with().await.map(u16::from);
    assert_eq!(code, Some(confab_protocol::close::SESSION_ENDED));
}

#[tokio::test]
async fn a_websocket_without_a_session_gets_401() {
    let app = spawn_app().await;
    let request = format!("ws://{}/ws", app.address)
        .into_client_request()
        .unwrap();
    let err = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("must be refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
    let alice = app.register("alice").await;
    let mut request = format!("ws://{}/ws", app.address)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_static("confab_session=forged"));
    let err = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("forged session refused");
    assert!(matches!(err, tokio_tungstenite::tungstenite::Error::Http(r) if r.status() == 401));
    drop(alice);
}

#[tokio::test]
async fn a_user_with_the_most_sockets_allowed_gets_429_until_one_closes() {
    let (mut config, _dir) = crate::helpers::test_config().await;
    config.max_sockets_per_user = 2;
    let app = crate::helpers::TestApp::start(config).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let first = alice.connect().await;
    let mut second = alice.connect().await;

    let err = alice.connect_raw().await.err().expect("a third is refused");
    let tokio_tungstenite::tungstenite::Error::Http(response) = err else {
        panic!("expected an HTTP refusal, got {err:?}");
    };
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: ApiError = serde_json::from_slice(response.body().as_deref().unwrap_or_default())
        .expect("an API error body");
    assert_eq!(body.code, ErrorCode::TooManyConnections);
    let _bobs = bob.connect().await;
    second.assert_alive(1).await;

    // A closed socket gives its slot back once the server has seen it go.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut third = loop {
        match alice.connect_raw().await {
            Ok(ws) => break ws,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("the freed slot never came back: {err:?}"),
        }
    };
    assert!(matches!(
        third.next_frame().await,
        ServerFrame::Welcome { .. }
    ));
}

#[tokio::test]
async fn a_websocket_from_a_foreign_origin_gets_403() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut request = format!("ws://{}/ws", app.address)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&alice.cookie).unwrap());
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_static("http://evil.example"));
    let err = tokio_tungstenite::connect_async(request)
        .await
        .expect_err("must be refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 403),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
    // The server's own origin is fine.
    let mut request = format!("ws://{}/ws", app.address)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&alice.cookie).unwrap());
    request.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{}", app.address)).unwrap(),
    );
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(app.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    let ready = http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], true);
}

#[tokio::test]
async fn a_change_requested_from_a_foreign_origin_is_403_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let room = alice.create_room("general").await;
    let evil = "http://127.0.0.1:1"; // same site, another port: SameSite=Lax lets the cookie through

    for (path, body) in [
        (format!("/api/rooms/{}/leave", room.id), None),
        (
            "/api/rooms".to_owned(),
            Some(serde_json::json!({ "name": "planted" })),
        ),
        ("/api/auth/sign-out".to_owned(), None),
    ] {
        let mut request = alice
            .http
            .post(alice.url(&path))
            .header("cookie", &alice.cookie)
            .header("origin", evil);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let error: ApiError = response.json().await.unwrap();
        assert_eq!(error.code, ErrorCode::ForbiddenOrigin, "{path}");
    }
    let rooms: Vec<confab_protocol::api::RoomSummary> =
        alice.get("/api/rooms").await.json().await.unwrap();
    assert_eq!(
        rooms.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["general"],
        "still a member, nothing planted, still signed in"
    );

    // Reads, the app's own origin and clients that send no Origin (not browsers) pass.
    let own = format!("http://{}", app.address);
    let response = alice
        .http
        .post(alice.url("/api/rooms"))
        .header("cookie", &alice.cookie)
        .header("origin", own)
        .json(&serde_json::json!({ "name": "own-origin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let listed = alice
        .http
        .get(alice.url("/api/rooms"))
        .header("cookie", &alice.cookie)
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_in_attempts_for_one_username_are_limited_even_with_the_right_password() {
    // 4 a minute: a burst of 4, then one more every 15 s — far longer than four argon2
    // checks take on the busiest machine, so no refill can land inside the test.
    let (mut config, _dir) = crate::helpers::test_config().await;
    config.max_sign_ins_per_min = 4;
    let app = crate::helpers::TestApp::start(config).await;
    app.register("alice").await;
    app.register("bob").await;
    let http = reqwest::Client::new();
    let sign_in = |username: &'static str, password: &'static str| {
        http.post(app.url("/api/auth/sign-in"))
            .json(&creds(username, password))
            .send()
    };

    for attempt in 1..=4 {
        let name = if attempt % 2 == 0 { "alice" } else { "ALICE" };
        let response = sign_in(name, "wrong password").await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let response = sign_in("alice", "correct horse battery").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        session_cookie(&response).is_none(),
        "no session when limited"
    );
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::RateLimited);

    let response = sign_in("bob", "correct horse battery").await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "another username is unaffected"
    );
    let bob: UserSummary = response.json().await.unwrap();
    assert_eq!(bob.username, "bob");
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_413_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    // Valid JSON of 5 MB, over the 2 MiB the server reads for a JSON body.
    let body = format!(
        r#"{{"username": "alice", "password": "{}"}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/register"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, ErrorCode::FileTooLarge);
    assert!(!error.message.contains("length limit"), "{}", error.message);

    let alice = app.register("alice").await;
    assert_eq!(alice.user.username, "alice");
}
