//! Queries on messages: the atomic insert that assigns each room's gapless `seq`, and the
//! paged reads behind history and backfill (with each `file` message's file joined in).

use confab_protocol::{
    ClientMsgId, FileId, FileRef, MessageId, MessageKind, MessagePosted, RoomId, Seq, UnixMillis,
    UserId, limits,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Db, is_unique_violation, now};

/// What a send wants stored.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The room.
    pub room: RoomId,
    /// The sender.
    pub sender: UserId,
    /// The sender's name, copied into the result.
    pub sender_name: &'a str,
    /// Text or file.
    pub kind: MessageKind,
    /// The checked body.
    pub body: &'a str,
    /// The sender's idempotency key.
    pub client_msg_id: Option<&'a ClientMsgId>,
    /// `file` messages: the file, already recorded in `files`.
    pub file: Option<&'a FileRef>,
}

/// The outcome of an insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now, with the next seq.
    New(MessagePosted),
    /// The same `client_msg_id` was stored before, in this room: this is that message.
    Duplicate(MessagePosted),
    /// The sender used this `client_msg_id` for a message in another room; nothing was
    /// stored.
    IdTakenElsewhere,
    /// The room does not exist or the sender is not a member; nothing was stored.
    NotAMember,
}

/// Stores a message with the room's next seq, atomically: the room row's `last_seq` is
/// bumped in the same transaction as the insert, so the row lock (PostgreSQL) or the
/// single writer (SQLite) serialises concurrent senders and a failed insert rolls the seq
/// back — seqs stay strictly increasing and gapless. The membership check is part of the
/// same statement, so a send costs no extra round trip; so is moving the sender's own read
/// marker to their message (what you wrote is never unread to you).
#[tracing::instrument(skip(db, new), fields(room = %new.room, sender = %new.sender))]
pub async fn insert(db: &Db, new: NewMessage<'_>) -> Result<Inserted, sqlx::Error> {
    let sent_at = now();
    let stored = match db.backend() {
        Backend::Postgres => insert_in_one_statement(db, &new, sent_at).await,
        Backend::Sqlite => insert_in_transaction(db, &new, sent_at).await,
    };
    match stored {
        Ok(Some((id, seq))) => Ok(Inserted::New(MessagePosted {
            id,
            room: new.room,
            seq,
            sender: new.sender,
            sender_name: new.sender_name.to_owned(),
            kind: new.kind,
            body: new.body.to_owned(),
            sent_at,
            client_msg_id: new.client_msg_id.cloned(),
            file: new.file.cloned(),
        })),
        Ok(None) => Ok(Inserted::NotAMember),
        // The same client_msg_id was stored before (nothing was stored now, and the seq
        // bump was rolled back with the failed statement).
        Err(err) if is_unique_violation(&err) => {
            let Some(client_msg_id) = new.client_msg_id else {
                return Err(err);
            };
            match find_by_client_msg_id(db, new.sender, client_msg_id).await? {
                Some(existing) if existing.room == new.room => Ok(Inserted::Duplicate(existing)),
                Some(_) => Ok(Inserted::IdTakenElsewhere),
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// PostgreSQL: one statement, one round trip. The CTE's UPDATE takes the room row's lock
/// until the statement commits; if the INSERT fails, the whole statement — bump included —
/// is rolled back.
async fn insert_in_one_statement(
    db: &Db,
    new: &NewMessage<'_>,
    sent_at: UnixMillis,
) -> Result<Option<(MessageId, Seq)>, sqlx::Error> {
    let row = sqlx::query(
        "WITH bumped AS (
             UPDATE rooms SET last_seq = last_seq + 1
             WHERE id = $1 AND EXISTS (SELECT 1 FROM memberships WHERE room_id = $1 AND user_id = $2)
             RETURNING last_seq
         ),
         read AS (
             UPDATE memberships SET last_read_seq = (SELECT last_seq FROM bumped)
             WHERE room_id = $1 AND user_id = $2 AND EXISTS (SELECT 1 FROM bumped)
         )
         INSERT INTO messages (room_id, seq, sender_id, kind, body, client_msg_id, sent_at, file_id)
         SELECT $1, last_seq, $2, $3, $4, $5, $6, $7 FROM bumped
         RETURNING id, seq",
    )
    .bind(new.room.0)
    .bind(new.sender.0)
    .bind(new.kind.as_str())
    .bind(new.body)
    .bind(new.client_msg_id.map(|id| id.0.as_str()))
    .bind(sent_at.0)
    .bind(new.file.map(|file| file.id.0.as_str()))
    .fetch_optional(db.writer())
    .await?;
    row.map(|row| Ok((MessageId(row.try_get(0)?), Seq(row.try_get(1)?))))
        .transpose()
}

/// SQLite (no UPDATE inside a CTE): a transaction on the single writer connection.
async fn insert_in_transaction(
    db: &Db,
    new: &NewMessage<'_>,
    sent_at: UnixMillis,
) -> Result<Option<(MessageId, Seq)>, sqlx::Error> {
    let mut tx = db.writer().begin().await?;
    let bumped = sqlx::query(
        "UPDATE rooms SET last_seq = last_seq + 1
         WHERE id = $1 AND EXISTS (SELECT 1 FROM memberships WHERE room_id = $1 AND user_id = $2)
         RETURNING last_seq",
    )
    .bind(new.room.0)
    .bind(new.sender.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(bumped) = bumped else {
        tx.rollback().await?;
        return Ok(None);
    };
    let seq = Seq(bumped.try_get(0)?);
    let row = sqlx::query(
        "INSERT INTO messages (room_id, seq, sender_id, kind, body, client_msg_id, sent_at, file_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(new.room.0)
    .bind(seq.0)
    .bind(new.sender.0)
    .bind(new.kind.as_str())
    .bind(new.body)
    .bind(new.client_msg_id.map(|id| id.0.as_str()))
    .bind(sent_at.0)
    .bind(new.file.map(|file| file.id.0.as_str()))
    .fetch_one(&mut *tx)
    .await;
    // A failed insert drops the transaction, which rolls the bump back.
    let id = MessageId(row?.try_get(0)?);
    sqlx::query("UPDATE memberships SET last_read_seq = $3 WHERE room_id = $1 AND user_id = $2")
        .bind(new.room.0)
        .bind(new.sender.0)
        .bind(seq.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some((id, seq)))
}

const COLUMNS: &str = "m.id, m.room_id, m.seq, m.sender_id, u.username, m.kind, m.body, m.sent_at, \
     m.client_msg_id, f.id, f.name, f.size, f.mime";

/// The tables `COLUMNS` reads: each message with its sender and, for `file` messages, its
/// file.
const FROM: &str =
    "messages m JOIN users u ON u.id = m.sender_id LEFT JOIN files f ON f.id = m.file_id";

fn message_from(row: &AnyRow) -> Result<MessagePosted, sqlx::Error> {
    Ok(MessagePosted {
        id: MessageId(row.try_get(0)?),
        room: RoomId(row.try_get(1)?),
        seq: Seq(row.try_get(2)?),
        sender: UserId(row.try_get(3)?),
        sender_name: row.try_get(4)?,
        kind: if row.try_get::<String, _>(5)? == "file" {
            MessageKind::File
        } else {
            MessageKind::Text
        },
        body: row.try_get(6)?,
        sent_at: UnixMillis(row.try_get(7)?),
        client_msg_id: row.try_get::<Option<String>, _>(8)?.map(ClientMsgId),
        file: match row.try_get::<Option<String>, _>(9)? {
            None => None,
            Some(id) => Some(FileRef {
                id: FileId(id),
                name: row.try_get(10)?,
                size: u64::try_from(row.try_get::<i64, _>(11)?).unwrap_or_default(),
                mime: row.try_get(12)?,
            }),
        },
    })
}

/// The message a sender stored under `client_msg_id`, if any.
#[tracing::instrument(skip(db))]
pub async fn find_by_client_msg_id(
    db: &Db,
    sender: UserId,
    client_msg_id: &ClientMsgId,
) -> Result<Option<MessagePosted>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM {FROM} WHERE m.sender_id = $1 AND m.client_msg_id = $2");
    // The writer sees what the writer just committed, even on SQLite's separate pools.
    let row = sqlx::query(&sql)
        .bind(sender.0)
        .bind(client_msg_id.0.as_str())
        .fetch_optional(db.writer())
        .await?;
    row.as_ref().map(message_from).transpose()
}

/// Which part of a room's history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The newest messages.
    Newest,
    /// The messages just older than this seq.
    Before(Seq),
    /// The messages just newer than this seq.
    After(Seq),
}

/// Reads up to `limit` messages of a room, returned ascending by seq, and whether more
/// lie beyond them in the direction read.
#[tracing::instrument(skip(db))]
pub async fn page(
    db: &Db,
    room: RoomId,
    page: Page,
    limit: u32,
) -> Result<(Vec<MessagePosted>, bool), sqlx::Error> {
    let (filter, order, cursor) = match page {
        Page::Newest => ("", "DESC", None),
        Page::Before(seq) => ("AND m.seq < $3", "DESC", Some(seq)),
        Page::After(seq) => ("AND m.seq > $3", "ASC", Some(seq)),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM}
         WHERE m.room_id = $1 {filter} ORDER BY m.seq {order} LIMIT $2"
    );
    let mut query = sqlx::query(&sql).bind(room.0).bind(i64::from(limit) + 1);
    if let Some(seq) = cursor {
        query = query.bind(seq.0);
    }
    let rows = query.fetch_all(db.reader()).await?;
    let mut has_more = rows.len() > limit as usize;
    let mut messages = Vec::with_capacity(rows.len().min(limit as usize));
    let mut bytes = 0;
    for row in rows.iter().take(limit as usize) {
        let message = message_from(row)?;
        bytes += message.body.len();
        // Nearest the cursor first: what is cut is the far end, asked for next.
        if bytes > limits::MAX_PAGE_BYTES && !messages.is_empty() {
            has_more = true;
            break;
        }
        messages.push(message);
    }
    if order == "DESC" {
        messages.reverse();
    }
    Ok((messages, has_more))
}
