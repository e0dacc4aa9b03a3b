//! Bulk seeding: users, their sessions, group rooms and memberships written straight into
//! the server's database (SQLite file or PostgreSQL URL) in one transaction of multi-row
//! inserts, instead of thousands of HTTP sign-ups that each cost an argon2id hash by
//! design.
//!
//! Every seeded user gets the same argon2id hash of [`SEED_PASSWORD`], computed once with
//! the server's own `auth::password::hash`, so they can also sign in over HTTP. Each gets
//! a session made exactly as sign-in makes one (`auth::session::new_token`: a random token
//! for the cookie, its SHA-256 stored), so the WebSocket upgrade authenticates them through
//! the server's normal, unchanged path. The schema is brought up to date first with the
//! server's own migrations (`db::Db::open`). Nothing here is reachable from the server.

use std::collections::HashMap;

use confab_server::auth::{password, session};
use confab_server::db::Db;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, Executor, Row, Transaction};

/// The password of every seeded user.
pub const SEED_PASSWORD: &str = "confab-bench-password";

/// Rows per multi-row `INSERT` (at most 4 parameters each: well under both engines' caps).
const CHUNK: usize = 1000;

/// Errors of the load tool: set-up failures are reported and end the run.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What to create.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Users, each with one session.
    pub users: usize,
    /// Group rooms; user `i` is a member of room `i % rooms` (none when 0).
    pub rooms: usize,
}

/// One seeded user.
#[derive(Debug, Clone)]
pub struct SeededUser {
    /// The user's id.
    pub id: i64,
    /// The user's name.
    pub username: String,
    /// The session token, the `confab_session` cookie's value.
    pub token: String,
    /// The room the user is a member of.
    pub room: Option<i64>,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Users in plan order.
    pub users: Vec<SeededUser>,
    /// Room ids in plan order.
    pub rooms: Vec<i64>,
}

impl Seeded {
    /// The `Cookie` header value that signs `user` in.
    pub fn cookie(user: &SeededUser) -> String {
        format!("{}={}", session::SESSION_COOKIE, user.token)
    }
}

/// Migrates the database at `url` and writes `plan` into it. Names carry a prefix unique
/// to this run, so seeding the same database twice never collides.
pub async fn seed(url: &str, plan: Plan) -> Result<Seeded, BoxError> {
    migrate(url).await?;
    let password_hash = password::hash(SEED_PASSWORD.to_owned())
        .await
        .map_err(|err| format!("cannot hash the seed password: {err}"))?;
    install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    if !url.starts_with("postgres") {
        // Instances may be writing to the same file meanwhile.
        pool.execute("PRAGMA busy_timeout = 10000").await?;
    }
    let prefix = run_prefix();
    let now = confab_server::db::now().0;
    let expires = session::expiry().0;
    let mut tx = pool.begin().await?;

    let names: Vec<String> = (0..plan.rooms)
        .map(|r| format!("{prefix}-room-{r}"))
        .collect();
    let room_ids = insert_returning(
        &mut tx,
        "INSERT INTO rooms (kind, name, name_key, created_at) VALUES ",
        "('group', ?, ?, ?)",
        " RETURNING id, name_key",
        &names,
        |name| {
            vec![
                Value::Text(name.clone()),
                Value::Text(name.clone()),
                Value::Int(now),
            ]
        },
    )
    .await?;
    let rooms: Vec<i64> = names
        .iter()
        .map(|n| room_ids.get(n).copied().ok_or("a room was not created"))
        .collect::<Result<_, _>>()?;

    let usernames: Vec<String> = (0..plan.users).map(|i| format!("{prefix}_{i}")).collect();
    let user_ids = insert_returning(
        &mut tx,
        "INSERT INTO users (username, username_key, password_hash, created_at) VALUES ",
        "(?, ?, ?, ?)",
        " RETURNING id, username_key",
        &usernames,
        |name| {
            vec![
                Value::Text(name.clone()),
                Value::Text(name.clone()),
                Value::Text(password_hash.clone()),
                Value::Int(now),
            ]
        },
    )
    .await?;

    let mut users = Vec::with_capacity(plan.users);
    for (i, username) in usernames.into_iter().enumerate() {
        let id = *user_ids.get(&username).ok_or("a user was not created")?;
        let (token, _hash) = session::new_token();
        let room = (plan.rooms > 0).then(|| rooms[i % plan.rooms]);
        users.push(SeededUser {
            id,
            username,
            token,
            room,
        });
    }
    insert_rows(
        &mut tx,
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ",
        "(?, ?, ?, ?)",
        &users,
        |u| {
            vec![
                Value::Text(session::token_hash(&u.token)),
                Value::Int(u.id),
                Value::Int(now),
                Value::Int(expires),
            ]
        },
    )
    .await?;
    let members: Vec<&SeededUser> = users.iter().filter(|u| u.room.is_some()).collect();
    insert_rows(
        &mut tx,
        "INSERT INTO memberships (room_id, user_id, joined_at) VALUES ",
        "(?, ?, ?)",
        &members,
        |u| {
            vec![
                Value::Int(u.room.unwrap_or_default()),
                Value::Int(u.id),
                Value::Int(now),
            ]
        },
    )
    .await?;
    tx.commit().await?;
    pool.close().await;
    Ok(Seeded { users, rooms })
}

/// Applies the server's migrations (and creates an SQLite file if needed).
async fn migrate(url: &str) -> Result<(), BoxError> {
    let scratch = std::env::temp_dir().join(format!("confab-bench-{}", std::process::id()));
    let mut config = confab_server::Config::for_data_dir(&scratch);
    config.database_url = Some(url.to_owned());
    config.db_max_connections = 1;
    let db = Db::open(&config).await?;
    db.close().await;
    Ok(())
}

/// A prefix unique to this run: usernames and room names must be unique.
fn run_prefix() -> String {
    let (token, _) = session::new_token();
    format!("b{}", &token[..8])
}

enum Value {
    Text(String),
    Int(i64),
}

/// `head` + `row` repeated (its `?`s numbered `$1…`) for `count` rows + `tail`.
fn statement(head: &str, row: &str, count: usize, tail: &str) -> String {
    let mut sql = String::from(head);
    let mut n = 0;
    for i in 0..count {
        if i > 0 {
            sql.push(',');
        }
        for c in row.chars() {
            if c == '?' {
                n += 1;
                sql.push_str(&format!("${n}"));
            } else {
                sql.push(c);
            }
        }
    }
    sql.push_str(tail);
    sql
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    values: Vec<Value>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for value in values {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
        };
    }
    query
}

async fn insert_rows<T>(
    tx: &mut Transaction<'_, Any>,
    head: &str,
    row: &str,
    items: &[T],
    values: impl Fn(&T) -> Vec<Value>,
) -> Result<(), BoxError> {
    for chunk in items.chunks(CHUNK) {
        let sql = statement(head, row, chunk.len(), "");
        let query = bind_all(sqlx::query(&sql), chunk.iter().flat_map(&values).collect());
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Inserts rows and returns the generated id of each, by the key its second column holds.
async fn insert_returning<T>(
    tx: &mut Transaction<'_, Any>,
    head: &str,
    row: &str,
    tail: &str,
    items: &[T],
    values: impl Fn(&T) -> Vec<Value>,
) -> Result<HashMap<String, i64>, BoxError> {
    let mut ids = HashMap::with_capacity(items.len());
    for chunk in items.chunks(CHUNK) {
        let sql = statement(head, row, chunk.len(), tail);
        let query = bind_all(sqlx::query(&sql), chunk.iter().flat_map(&values).collect());
        for row in query.fetch_all(&mut **tx).await? {
            ids.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_statements_number_their_parameters_in_order() {
        assert_eq!(
            statement("INSERT INTO t (a, b) VALUES ", "(?, ?)", 3, " RETURNING id"),
            "INSERT INTO t (a, b) VALUES ($1, $2),($3, $4),($5, $6) RETURNING id"
        );
        assert_eq!(statement("X ", "('group', ?)", 1, ""), "X ('group', $1)");
    }

    #[tokio::test]
    async fn seeded_sessions_sign_users_in_through_the_servers_own_lookup() {
        let dir = std::env::temp_dir().join(format!("confab-bench-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("seed.db").display());
        let seeded = seed(&url, Plan { users: 5, rooms: 2 })
            .await
            .expect("seeds");
        assert_eq!(seeded.users.len(), 5);
        assert_eq!(seeded.rooms.len(), 2);
        assert_eq!(seeded.users[3].room, Some(seeded.rooms[1]));

        let mut config = confab_server::Config::for_data_dir(&dir);
        config.database_url = Some(url.clone());
        let db = Db::open(&config).await.expect("opens");
        let user = &seeded.users[3];
        let found = confab_server::db::sessions::find_user(&db, &session::token_hash(&user.token))
            .await
            .expect("query");
        assert_eq!(
            found.map(|u| (u.id.0, u.username)),
            Some((user.id, user.username.clone()))
        );
        let rooms =
            confab_server::db::rooms::positions_for_user(&db, confab_protocol::UserId(user.id))
                .await
                .expect("query");
        assert_eq!(rooms.len(), 1);
        assert_eq!(rooms[0].0.0, seeded.rooms[1]);
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
