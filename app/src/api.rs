//! The HTTP calls to the server's `/api`, one function per route, with the protocol
//! crate's bodies.
//!
//! Every failure comes back as an [`ApiError`] — the server's own `{code, message}` when it
//! sent one, otherwise one made here (the server unreachable, an unexpected answer) — so
//! forms show one kind of error. The session cookie is HttpOnly and same-origin: the
//! browser attaches it; this module never sees it.

use confab_protocol::api::{
    CreateRoom, Credentials, DirectoryRoom, HistoryPage, HistoryQuery, Member, RoomSummary,
    StartDirect, UserSummary,
};
use confab_protocol::{ApiError, ErrorCode, RoomId, UserId};
use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;

/// `GET /api/auth/me`: the user the session cookie belongs to.
pub async fn me() -> Result<UserSummary, ApiError> {
    json(Request::get("/api/auth/me").build()).await
}

/// `POST /api/auth/register`: creates an account and signs it in.
pub async fn register(credentials: &Credentials) -> Result<UserSummary, ApiError> {
    json(Request::post("/api/auth/register").json(credentials)).await
}

/// `POST /api/auth/sign-in`.
pub async fn sign_in(credentials: &Credentials) -> Result<UserSummary, ApiError> {
    json(Request::post("/api/auth/sign-in").json(credentials)).await
}

/// `POST /api/auth/sign-out`: ends the session (its sockets close with 4001).
pub async fn sign_out() -> Result<(), ApiError> {
    empty(Request::post("/api/auth/sign-out").build()).await
}

/// `GET /api/rooms`: the user's rooms with their read positions.
pub async fn rooms() -> Result<Vec<RoomSummary>, ApiError> {
    json(Request::get("/api/rooms").build()).await
}

/// `GET /api/rooms/directory`: every group room.
pub async fn directory() -> Result<Vec<DirectoryRoom>, ApiError> {
    json(Request::get("/api/rooms/directory").build()).await
}

/// `POST /api/rooms`: creates a group room; the creator is its first member.
pub async fn create_room(name: &str) -> Result<RoomSummary, ApiError> {
    let body = CreateRoom {
        name: name.to_owned(),
    };
    json(Request::post("/api/rooms").json(&body)).await
}

/// `POST /api/rooms/{id}/join`.
pub async fn join_room(room: RoomId) -> Result<RoomSummary, ApiError> {
    json(Request::post(&format!("/api/rooms/{room}/join")).build()).await
}

/// `POST /api/rooms/{id}/leave`.
pub async fn leave_room(room: RoomId) -> Result<(), ApiError> {
    empty(Request::post(&format!("/api/rooms/{room}/leave")).build()).await
}

/// `GET /api/rooms/{id}/members`.
pub async fn members(room: RoomId) -> Result<Vec<Member>, ApiError> {
    json(Request::get(&format!("/api/rooms/{room}/members")).build()).await
}

/// `POST /api/rooms/direct`: the direct conversation with `user`, created on first use.
pub async fn start_direct(user: UserId) -> Result<RoomSummary, ApiError> {
    json(Request::post("/api/rooms/direct").json(&StartDirect { user })).await
}

/// `GET /api/users?q=…`: other users whose name starts with `prefix`.
pub async fn search_users(prefix: &str) -> Result<Vec<UserSummary>, ApiError> {
    let query = String::from(js_sys::encode_uri_component(prefix));
    json(Request::get(&format!("/api/users?q={query}")).build()).await
}

/// `GET /api/rooms/{id}/messages`: a page of history, ascending by seq.
pub async fn messages(room: RoomId, query: &HistoryQuery) -> Result<HistoryPage, ApiError> {
    let url = format!("/api/rooms/{room}/messages{}", query_string(query));
    json(Request::get(&url).build()).await
}

/// `?before=S&limit=N` for a [`HistoryQuery`]; empty when it has no fields.
fn query_string(query: &HistoryQuery) -> String {
    let fields = [
        ("before", query.before.map(|s| s.0)),
        ("after", query.after.map(|s| s.0)),
        ("limit", query.limit.map(i64::from)),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter_map(|(name, value)| value.map(|v| format!("{name}={v}")))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Sends a request and decodes its JSON answer.
async fn json<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, ApiError> {
    let response = send(request).await?;
    response.json::<T>().await.map_err(|_| unexpected_answer())
}

/// Sends a request whose answer has no body (204).
async fn empty(request: Result<Request, gloo_net::Error>) -> Result<(), ApiError> {
    send(request).await.map(|_| ())
}

/// Sends a request; a non-2xx answer becomes its [`ApiError`].
async fn send(request: Result<Request, gloo_net::Error>) -> Result<Response, ApiError> {
    let request = request.map_err(|_| ApiError {
        code: ErrorCode::BadRequest,
        message: "the request could not be built".to_owned(),
    })?;
    let response = request.send().await.map_err(|_| unreachable_server())?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    match response.json::<ApiError>().await {
        Ok(error) => Err(error),
        Err(_) => Err(status_error(status)),
    }
}

/// An error for a status that came without a `{code, message}` body (a proxy, a crash).
fn status_error(status: u16) -> ApiError {
    let code = match status {
        401 => ErrorCode::Unauthorized,
        404 => ErrorCode::NotFound,
        429 => ErrorCode::RateLimited,
        502..=504 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    ApiError {
        code,
        message: format!("{} (HTTP {status})", code.describe()),
    }
}

fn unreachable_server() -> ApiError {
    ApiError {
        code: ErrorCode::Unavailable,
        message: "cannot reach the server; check your connection and retry".to_owned(),
    }
}

fn unexpected_answer() -> ApiError {
    ApiError {
        code: ErrorCode::Internal,
        message: "the server sent an answer this page does not understand; reload the page"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_protocol::Seq;

    #[test]
    fn history_queries_become_query_strings() {
        assert_eq!(query_string(&HistoryQuery::default()), "");
        let older = HistoryQuery {
            before: Some(Seq(18)),
            after: None,
            limit: Some(50),
        };
        assert_eq!(query_string(&older), "?before=18&limit=50");
    }

    #[test]
    fn bare_statuses_map_to_stable_codes() {
        assert_eq!(status_error(401).code, ErrorCode::Unauthorized);
        assert_eq!(status_error(503).code, ErrorCode::Unavailable);
        assert_eq!(status_error(500).code, ErrorCode::Internal);
        assert_eq!(status_error(418).code, ErrorCode::BadRequest);
    }
}
