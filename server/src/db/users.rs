//! Queries on user accounts.

use confab_protocol::api::UserSummary;
use confab_protocol::{UnixMillis, UserId};
use sqlx::Row;

use super::{Db, now};

/// An account as needed to check a password.
#[derive(Debug)]
pub struct Account {
    /// The public part.
    pub user: UserSummary,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// Creates an account. A taken name (ignoring case) fails with a unique violation.
#[tracing::instrument(skip(db, password_hash))]
pub async fn create(
    db: &Db,
    username: &str,
    password_hash: &str,
) -> Result<UserSummary, sqlx::Error> {
    let row = sqlx::query(
        "INSERT INTO users (username, username_key, password_hash, created_at)
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(username)
    .bind(username.to_lowercase())
    .bind(password_hash)
    .bind(now().0)
    .fetch_one(db.writer())
    .await?;
    Ok(UserSummary {
        id: UserId(row.try_get(0)?),
        username: username.to_owned(),
    })
}

/// Finds an account by name, ignoring case.
#[tracing::instrument(skip(db))]
pub async fn find_by_name(db: &Db, username: &str) -> Result<Option<Account>, sqlx::Error> {
    let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username_key = $1")
        .bind(username.to_lowercase())
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| {
        Ok(Account {
            user: UserSummary {
                id: UserId(row.try_get(0)?),
                username: row.try_get(1)?,
            },
            password_hash: row.try_get(2)?,
        })
    })
    .transpose()
}

/// Records when a user was last seen online.
#[tracing::instrument(skip(db))]
pub async fn touch_last_seen(db: &Db, user: UserId, at: UnixMillis) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_seen = $1 WHERE id = $2")
        .bind(at.0)
        .bind(user.0)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// A user's name, if the user exists.
#[tracing::instrument(skip(db))]
pub async fn name(db: &Db, user: UserId) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT username FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| row.try_get(0)).transpose()
}

/// Up to `limit` users whose name starts with `prefix` (ignoring case), by name, leaving
/// out `except` (the one searching).
#[tracing::instrument(skip(db))]
pub async fn search(
    db: &Db,
    prefix: &str,
    except: UserId,
    limit: u32,
) -> Result<Vec<UserSummary>, sqlx::Error> {
    // Names hold only A-Z a-z 0-9 _ . -; anything else matches nobody.
    if !prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Ok(Vec::new());
    }
    let pattern = format!("{}%", prefix.to_lowercase().replace('_', "\\_"));
    let rows = sqlx::query(
        "SELECT id, username FROM users WHERE username_key LIKE $1 ESCAPE '\\' AND id <> $2
         ORDER BY username_key LIMIT $3",
    )
    .bind(pattern)
    .bind(except.0)
    .bind(i64::from(limit))
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(UserSummary {
                id: UserId(row.try_get(0)?),
                username: row.try_get(1)?,
            })
        })
        .collect()
}
