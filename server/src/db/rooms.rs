//! Queries on rooms and memberships.

use confab_protocol::api::{DirectoryRoom, Member, Presence, RoomKind, RoomSummary};
use confab_protocol::{RoomId, Seq, UnixMillis, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now};

/// What every room query needs to know about a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
    /// The room's id.
    pub id: RoomId,
    /// Group or direct.
    pub kind: RoomKind,
    /// The stored name (group rooms).
    pub name: String,
    /// Seq of its newest message.
    pub last_seq: Seq,
}

fn kind_from(text: &str) -> RoomKind {
    if text == "direct" {
        RoomKind::Direct
    } else {
        RoomKind::Group
    }
}

/// The columns `summary_from` reads, for `$1` = the user, with `p` the other member of a
/// direct room (joined by `SUMMARY_PEER`).
const SUMMARY_COLUMNS: &str = "r.id, r.kind,
    CASE WHEN r.kind = 'direct' THEN COALESCE(p.username, r.name) ELSE r.name END,
    r.last_seq, m.last_read_seq, p.id, p.last_seen";

/// Joins the other member of a direct room as `p` (no row for group rooms).
const SUMMARY_PEER: &str = "LEFT JOIN users p ON r.kind = 'direct' AND p.id = (
    SELECT o.user_id FROM memberships o WHERE o.room_id = r.id AND o.user_id <> $1 LIMIT 1)";

/// Reads a summary; a direct room's peer is reported offline (the caller, who can ask
/// the presence leases, fills that in).
fn summary_from(row: &AnyRow) -> Result<RoomSummary, sqlx::Error> {
    let name: String = row.try_get(2)?;
    let peer = row
        .try_get::<Option<i64>, _>(5)?
        .map(|id| {
            Ok::<_, sqlx::Error>(Presence {
                id: UserId(id),
                username: name.clone(),
                online: false,
                last_seen: row.try_get::<Option<i64>, _>(6)?.map(UnixMillis),
            })
        })
        .transpose()?;
    Ok(RoomSummary {
        id: RoomId(row.try_get(0)?),
        kind: kind_from(&row.try_get::<String, _>(1)?),
        name,
        last_seq: Seq(row.try_get(3)?),
        last_read_seq: Seq(row.try_get(4)?),
        peer,
    })
}

/// The rooms a user belongs to, oldest first.
#[tracing::instrument(skip(db))]
pub async fn list_for_user(db: &Db, user: UserId) -> Result<Vec<RoomSummary>, sqlx::Error> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM memberships m JOIN rooms r ON r.id = m.room_id
         {SUMMARY_PEER} WHERE m.user_id = $1 ORDER BY r.id"
    );
    let rows = sqlx::query(&sql)
        .bind(user.0)
        .fetch_all(db.reader())
        .await?;
    rows.iter().map(summary_from).collect()
}

/// One room as a member sees it in their list; `None` when they are not a member.
#[tracing::instrument(skip(db))]
pub async fn summary(
    db: &Db,
    user: UserId,
    room: RoomId,
) -> Result<Option<RoomSummary>, sqlx::Error> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM memberships m JOIN rooms r ON r.id = m.room_id
         {SUMMARY_PEER} WHERE m.user_id = $1 AND m.room_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(user.0)
        .bind(room.0)
        .fetch_optional(db.writer())
        .await?;
    row.as_ref().map(summary_from).transpose()
}

/// The rooms a user belongs to, each with its newest seq.
#[tracing::instrument(skip(db))]
pub async fn positions_for_user(db: &Db, user: UserId) -> Result<Vec<(RoomId, Seq)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.id, r.last_seq FROM memberships m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = $1",
    )
    .bind(user.0)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| Ok((RoomId(row.try_get(0)?), Seq(row.try_get(1)?))))
        .collect()
}

/// Every membership of `users`: (user, room, the user's read marker in it). One query
/// for the lot, so callers pass them in chunks of a few hundred.
#[tracing::instrument(skip(db, users), fields(users = users.len()))]
pub async fn memberships_of(
    db: &Db,
    users: &[UserId],
) -> Result<Vec<(UserId, RoomId, Seq)>, sqlx::Error> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT user_id, room_id, last_read_seq FROM memberships WHERE user_id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for user in users {
        query = query.bind(user.0);
    }
    let rows = query.fetch_all(db.reader()).await?;
    rows.iter()
        .map(|row| {
            Ok((
                UserId(row.try_get(0)?),
                RoomId(row.try_get(1)?),
                Seq(row.try_get(2)?),
            ))
        })
        .collect()
}

/// Every group room, with its member count and whether `user` is a member.
#[tracing::instrument(skip(db))]
pub async fn directory(db: &Db, user: UserId) -> Result<Vec<DirectoryRoom>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.id, r.name,
            (SELECT COUNT(*) FROM memberships c WHERE c.room_id = r.id),
            (SELECT COUNT(*) FROM memberships j WHERE j.room_id = r.id AND j.user_id = $1)
         FROM rooms r WHERE r.kind = 'group' ORDER BY r.name_key",
    )
    .bind(user.0)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(DirectoryRoom {
                id: RoomId(row.try_get(0)?),
                name: row.try_get(1)?,
                member_count: row.try_get(2)?,
                joined: row.try_get::<i64, _>(3)? > 0,
            })
        })
        .collect()
}

/// Creates a group room with `creator` as its first member. A taken name (ignoring case)
/// fails with a unique violation.
#[tracing::instrument(skip(db))]
pub async fn create_group(
    db: &Db,
    name: &str,
    creator: UserId,
) -> Result<RoomSummary, sqlx::Error> {
    let at = now().0;
    let mut tx = db.writer().begin().await?;
    let row = sqlx::query(
        "INSERT INTO rooms (kind, name, name_key, created_by, created_at)
         VALUES ('group', $1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(name.to_lowercase())
    .bind(creator.0)
    .bind(at)
    .fetch_one(&mut *tx)
    .await?;
    let id = RoomId(row.try_get(0)?);
    sqlx::query("INSERT INTO memberships (room_id, user_id, joined_at) VALUES ($1, $2, $3)")
        .bind(id.0)
        .bind(creator.0)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(RoomSummary {
        id,
        name: name.to_owned(),
        kind: RoomKind::Group,
        last_seq: Seq(0),
        last_read_seq: Seq(0),
        peer: None,
    })
}

/// The direct room of `a` and `b`, created with both as members on first use. Safe
/// against both users starting it at once on different instances: the room's unique
/// `direct_key` lets one insert win, and the other finds the winner's committed room.
/// Returns the room and whether this call created it; `None` when `b` does not exist.
#[tracing::instrument(skip(db))]
pub async fn open_direct(
    db: &Db,
    a: UserId,
    b: UserId,
) -> Result<Option<(RoomId, bool)>, sqlx::Error> {
    let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1")
        .bind(b.0)
        .fetch_optional(db.reader())
        .await?
        .is_some();
    if !exists {
        return Ok(None);
    }
    let key = format!("{}:{}", a.0.min(b.0), a.0.max(b.0));
    let at = now().0;
    let mut tx = db.writer().begin().await?;
    let created = sqlx::query(
        "INSERT INTO rooms (kind, name, direct_key, created_by, created_at)
         VALUES ('direct', '', $1, $2, $3) ON CONFLICT (direct_key) DO NOTHING RETURNING id",
    )
    .bind(&key)
    .bind(a.0)
    .bind(at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = created else {
        tx.rollback().await?;
        let row = sqlx::query("SELECT id FROM rooms WHERE direct_key = $1")
            .bind(&key)
            .fetch_one(db.writer())
            .await?;
        return Ok(Some((RoomId(row.try_get(0)?), false)));
    };
    let room = RoomId(row.try_get(0)?);
    for user in [a, b] {
        sqlx::query("INSERT INTO memberships (room_id, user_id, joined_at) VALUES ($1, $2, $3)")
            .bind(room.0)
            .bind(user.0)
            .bind(at)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Some((room, true)))
}

/// The rooms of `user` that carry their presence: those with at most `max_members`.
#[tracing::instrument(skip(db))]
pub async fn presence_rooms(
    db: &Db,
    user: UserId,
    max_members: i64,
) -> Result<Vec<RoomId>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT m.room_id FROM memberships m WHERE m.user_id = $1
         AND (SELECT COUNT(*) FROM memberships c WHERE c.room_id = m.room_id) <= $2",
    )
    .bind(user.0)
    .bind(max_members)
    .fetch_all(db.reader())
    .await?;
    rows.iter().map(|row| Ok(RoomId(row.try_get(0)?))).collect()
}

/// A room by id.
#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, room: RoomId) -> Result<Option<RoomInfo>, sqlx::Error> {
    let row = sqlx::query("SELECT id, kind, name, last_seq FROM rooms WHERE id = $1")
        .bind(room.0)
        .fetch_optional(db.reader())
        .await?;
    row.map(|row| {
        Ok(RoomInfo {
            id: RoomId(row.try_get(0)?),
            kind: kind_from(&row.try_get::<String, _>(1)?),
            name: row.try_get(2)?,
            last_seq: Seq(row.try_get(3)?),
        })
    })
    .transpose()
}

/// Adds a member; returns when they joined, or `None` when they were one already. New
/// members start with everything before their arrival marked read.
#[tracing::instrument(skip(db))]
pub async fn join(db: &Db, room: RoomId, user: UserId) -> Result<Option<UnixMillis>, sqlx::Error> {
    let joined_at = now();
    let result = sqlx::query(
        "INSERT INTO memberships (room_id, user_id, joined_at, last_read_seq)
         SELECT id, $2, $3, last_seq FROM rooms WHERE id = $1
         ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind(room.0)
    .bind(user.0)
    .bind(joined_at.0)
    .execute(db.writer())
    .await?;
    Ok((result.rows_affected() > 0).then_some(joined_at))
}

/// Removes a member; `false` when they were not one.
#[tracing::instrument(skip(db))]
pub async fn leave(db: &Db, room: RoomId, user: UserId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM memberships WHERE room_id = $1 AND user_id = $2")
        .bind(room.0)
        .bind(user.0)
        .execute(db.writer())
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Whether `user` is a member of `room`.
#[tracing::instrument(skip(db))]
pub async fn is_member(db: &Db, room: RoomId, user: UserId) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT 1 FROM memberships WHERE room_id = $1 AND user_id = $2")
        .bind(room.0)
        .bind(user.0)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_some())
}

/// The members of a room, in the order they joined, all reported offline (the caller,
/// who can ask the presence leases, fills that in).
#[tracing::instrument(skip(db))]
pub async fn members(db: &Db, room: RoomId) -> Result<Vec<Member>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT u.id, u.username, m.joined_at, u.last_seen FROM memberships m
         JOIN users u ON u.id = m.user_id WHERE m.room_id = $1 ORDER BY m.joined_at, u.id",
    )
    .bind(room.0)
    .fetch_all(db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Member {
                id: UserId(row.try_get(0)?),
                username: row.try_get(1)?,
                joined_at: UnixMillis(row.try_get(2)?),
                online: false,
                last_seen: row.try_get::<Option<i64>, _>(3)?.map(UnixMillis),
            })
        })
        .collect()
}

/// Moves a member's read marker forward to `seq` (never backward, never past the room's
/// newest message). Returns the marker now stored, or `None` when not a member.
#[tracing::instrument(skip(db))]
pub async fn mark_read(
    db: &Db,
    room: RoomId,
    user: UserId,
    seq: Seq,
) -> Result<Option<Seq>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE memberships SET last_read_seq = CASE
             WHEN $3 > last_read_seq THEN
                 CASE WHEN $3 > (SELECT last_seq FROM rooms WHERE id = $1)
                      THEN (SELECT last_seq FROM rooms WHERE id = $1) ELSE $3 END
             ELSE last_read_seq END
         WHERE room_id = $1 AND user_id = $2 RETURNING last_read_seq",
    )
    .bind(room.0)
    .bind(user.0)
    .bind(seq.0)
    .fetch_optional(db.writer())
    .await?;
    row.map(|row| Ok(Seq(row.try_get(0)?))).transpose()
}
