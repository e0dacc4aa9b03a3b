//! Queries on shared files: what is known about each stored file (its room, uploader,
//! cleaned name, size, sniffed MIME type and hash). The bytes themselves live in the file
//! store (`crate::files`), under the same id; `file` messages point here (`messages.file_id`).

use confab_protocol::{FileId, FileRef, RoomId, UnixMillis, UserId};
use sqlx::Row;

use super::{Db, now};

/// A stored file's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Id, name, size and MIME type, as messages carry them.
    pub file: FileRef,
    /// The room it was shared in: only its members may download it.
    pub room: RoomId,
    /// Who uploaded it.
    pub uploader: UserId,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: String,
    /// When it was stored.
    pub created_at: UnixMillis,
}

/// Records a file whose bytes are in the store.
#[tracing::instrument(skip(db, file), fields(file = %file.id))]
pub async fn insert(
    db: &Db,
    file: &FileRef,
    room: RoomId,
    uploader: UserId,
    sha256: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO files (id, room_id, uploader_id, name, size, mime, sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(file.id.0.as_str())
    .bind(room.0)
    .bind(uploader.0)
    .bind(file.name.as_str())
    .bind(i64::try_from(file.size).unwrap_or(i64::MAX))
    .bind(file.mime.as_str())
    .bind(sha256)
    .bind(now().0)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// The file with this id, if any.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, id: &FileId) -> Result<Option<StoredFile>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, name, size, mime, room_id, uploader_id, sha256, created_at
         FROM files WHERE id = $1",
    )
    .bind(id.0.as_str())
    .fetch_optional(db.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(StoredFile {
        file: FileRef {
            id: FileId(row.try_get(0)?),
            name: row.try_get(1)?,
            size: u64::try_from(row.try_get::<i64, _>(2)?).unwrap_or_default(),
            mime: row.try_get(3)?,
        },
        room: RoomId(row.try_get(4)?),
        uploader: UserId(row.try_get(5)?),
        sha256: row.try_get(6)?,
        created_at: UnixMillis(row.try_get(7)?),
    }))
}

/// Forgets a file no message points to (its upload failed after it was recorded).
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, id: &FileId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM files WHERE id = $1")
        .bind(id.0.as_str())
        .execute(db.writer())
        .await?;
    Ok(())
}
