//! Rooms over HTTP: create, list, directory, join, leave, members.

use confab_protocol::api::{DirectoryRoom, Member, RoomKind, RoomSummary};
use confab_protocol::{ApiError, ErrorCode, Seq};
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_created_room_lists_its_creator_and_others_can_find_and_join_it() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let room = alice.create_room("  General ").await;
    assert_eq!(
        (room.name.as_str(), room.kind, room.last_seq),
        ("General", RoomKind::Group, Seq(0))
    );

    let directory: Vec<DirectoryRoom> = bob.get("/api/rooms/directory").await.json().await.unwrap();
    assert_eq!(
        directory,
        vec![DirectoryRoom {
            id: room.id,
            name: "General".into(),
            member_count: 1,
            joined: false
        }]
    );
    let mine: Vec<RoomSummary> = bob.get("/api/rooms").await.json().await.unwrap();
    assert!(mine.is_empty());

    let joined = bob.join(room.id).await;
    assert_eq!(joined.id, room.id);
    let mine: Vec<RoomSummary> = bob.get("/api/rooms").await.json().await.unwrap();
    assert_eq!(mine.iter().map(|r| r.id).collect::<Vec<_>>(), vec![room.id]);

    let members: Vec<Member> = alice
        .get(&format!("/api/rooms/{}/members", room.id))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = members.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(names, vec!["alice", "bob"]);
}

#[tokio::test]
async fn room_names_are_unique_ignoring_case_and_validated() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    alice.create_room("general").await;
    let response = alice
        .post("/api/rooms", &serde_json::json!({ "name": "GENERAL" }))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::RoomNameTaken
    );
    let response = alice
        .post("/api/rooms", &serde_json::json!({ "name": "   " }))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::InvalidRoomName
    );
}

#[tokio::test]
async fn joining_a_missing_room_is_404_and_leaving_twice_is_403() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let response = alice.post_empty("/api/rooms/999/join").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::RoomNotFound
    );

    let room = alice.create_room("general").await;
    assert_eq!(
        alice
            .post_empty(&format!("/api/rooms/{}/leave", room.id))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let response = alice
        .post_empty(&format!("/api/rooms/{}/leave", room.id))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::NotAMember
    );
}

#[tokio::test]
async fn a_bad_room_id_in_the_path_is_a_json_404() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let response = alice.get("/api/rooms/not-a-number/members").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn room_endpoints_need_a_session() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    for path in [
        "/api/rooms",
        "/api/rooms/directory",
        "/api/rooms/1/messages",
        "/api/auth/me",
    ] {
        let response = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            response.json::<ApiError>().await.unwrap().code,
            ErrorCode::Unauthorized
        );
    }
}

#[tokio::test]
async fn unknown_api_paths_are_json_404s() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/api/nope/nothing")).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<ApiError>().await.unwrap().code,
        ErrorCode::NotFound
    );
}
