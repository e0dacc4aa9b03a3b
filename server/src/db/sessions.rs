//! Queries on sign-in sessions. Only a SHA-256 of each token is stored, so a copy of the
//! database does not let anyone sign in.

use confab_protocol::api::UserSummary;
use confab_protocol::{UnixMillis, UserId};
use sqlx::Row;

use super::{Db, now};

/// Stores a new session.
#[tracing::instrument(skip(db, token_hash))]
pub async fn create(
    db: &Db,
    token_hash: &str,
    user: UserId,
    expires_at: UnixMillis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(now().0)
    .bind(expires_at.0)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The user of an unexpired session.
#[tracing::instrument(skip(db, token_hash))]
pub async fn find_user(db: &Db, token_hash: &str) -> Result<Option<UserSummary>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now().0)
    .fetch_optional(db.reader())
    .await?;
    row.map(|row| {
        Ok(UserSummary {
            id: UserId(row.try_get(0)?),
            username: row.try_get(1)?,
        })
    })
    .transpose()
}

/// Which of `token_hashes` are unexpired sessions still.
#[tracing::instrument(skip_all, fields(count = token_hashes.len()))]
pub async fn still_valid(
    db: &Db,
    token_hashes: &[&str],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    if token_hashes.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    let placeholders: Vec<String> = (2..token_hashes.len() + 2)
        .map(|i| format!("${i}"))
        .collect();
    let sql = format!(
        "SELECT token_hash FROM sessions WHERE expires_at > $1 AND token_hash IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now().0);
    for hash in token_hashes {
        query = query.bind(*hash);
    }
    let rows = query.fetch_all(db.reader()).await?;
    rows.iter().map(|row| row.try_get(0)).collect()
}

/// Deletes a session (sign-out).
#[tracing::instrument(skip(db, token_hash))]
pub async fn delete(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db.writer())
        .await?;
    Ok(())
}
