//! One upload, from the first byte to the `file` message: the body streams into the store
//! chunk by chunk (never held whole in memory) while it is hashed, its head sniffed, and
//! its size held to the cap; the room hears `file_progress` events across instances —
//! `started`, `progress` at most every 250 ms or 5 %, then `completed` or `failed` — and a
//! completed upload becomes a `file` message with its seq, delivered like any message.
//!
//! Whatever ends an upload early (the cap, the client going away, a stall, a storage or
//! database failure, the uploader leaving the room) removes what was written and announces
//! `failed` with the reason's error code.

use std::time::{Duration, Instant};

use axum::body::Body;
use confab_protocol::{
    BusTarget, ErrorCode, FileId, FileRef, FileStage, MessageKind, MessagePosted, RoomId,
    ServerFrame, UploadId, UserId,
};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::Files;
use super::serve::{SNIFF_BYTES, sniff};
use super::store::FileWriter;
use crate::db::messages::{Inserted, NewMessage};
use crate::db::{self, Db};
use crate::error::AppError;
use crate::realtime::Realtime;
use crate::state::AppState;

/// Shortest time between two `progress` events of one upload, unless [`PROGRESS_STEP`]
/// more of it arrived.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Share of the announced size (in percent) that earns a `progress` event before
/// [`PROGRESS_INTERVAL`] has passed.
pub const PROGRESS_STEP: u64 = 5;

/// How long an upload may go without a byte before it is abandoned (`upload_aborted`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What an upload needs to run (a handler extracts it as `State<Context>`).
#[derive(Debug, Clone)]
pub struct Context {
    /// The database.
    pub db: Db,
    /// Where events go.
    pub realtime: Realtime,
    /// Where the bytes go.
    pub files: Files,
}

impl axum::extract::FromRef<AppState> for Context {
    fn from_ref(state: &AppState) -> Self {
        Self {
            db: state.db.clone(),
            realtime: state.realtime.clone(),
            files: state.files.clone(),
        }
    }
}

/// An upload request, checked as far as it can be before its body is read.
#[derive(Debug, Clone)]
pub struct Request {
    /// The room shared with.
    pub room: RoomId,
    /// The uploader.
    pub user: UserId,
    /// The uploader's name.
    pub username: String,
    /// The cleaned file name (`limits::clean_file_name`).
    pub name: String,
    /// The announced size (`Content-Length`), when there is one.
    pub total: Option<u64>,
}

/// Says how an upload is doing to everyone in its room, on every instance.
struct Announcer<'a> {
    realtime: &'a Realtime,
    request: &'a Request,
    upload: UploadId,
}

impl Announcer<'_> {
    fn announce(&self, stage: FileStage, bytes: u64, reason: Option<ErrorCode>) {
        self.realtime.publish(
            BusTarget::Room(self.request.room),
            ServerFrame::FileProgress {
                room: self.request.room,
                upload: self.upload.clone(),
                user: self.request.user,
                file_name: self.request.name.clone(),
                stage,
                bytes,
                total: self.request.total,
                reason,
            },
        );
    }

    fn failed(&self, bytes: u64, err: AppError) -> AppError {
        let code = err.code();
        match &err {
            AppError::Client { .. } => tracing::info!(%code, bytes, "upload refused"),
            // Logged here too: when the client has gone away, no response will log it.
            other => tracing::warn!(%code, bytes, error = %other, "upload failed"),
        }
        self.announce(FileStage::Failed, bytes, Some(code));
        err
    }
}

/// When the next `progress` event is due.
#[derive(Debug, Clone)]
pub struct Throttle {
    total: Option<u64>,
    last_at: Instant,
    last_bytes: u64,
}

impl Throttle {
    /// A throttle for an upload of `total` bytes (when known) that was announced at `now`.
    pub fn new(total: Option<u64>, now: Instant) -> Self {
        Self {
            total,
            last_at: now,
            last_bytes: 0,
        }
    }

    /// Whether `bytes` received by `now` deserve a `progress` event: more than before, not
    /// all of it (`completed` says that), and either [`PROGRESS_INTERVAL`] since the last
    /// event or [`PROGRESS_STEP`] percent more of the total. Records the event when due.
    pub fn due(&mut self, bytes: u64, now: Instant) -> bool {
        if bytes <= self.last_bytes || self.total.is_some_and(|total| bytes >= total) {
            return false;
        }
        let step = self.total.is_some_and(|total| {
            (bytes - self.last_bytes).saturating_mul(100) >= total * PROGRESS_STEP
        });
        let due = step || now.duration_since(self.last_at) >= PROGRESS_INTERVAL;
        if due {
            self.last_at = now;
            self.last_bytes = bytes;
        }
        due
    }
}

/// A fresh file id: 128 random bits as 32 hex characters.
fn new_file_id() -> FileId {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    FileId(hex::encode(bytes))
}

/// Receives an upload into the room and stores it as a `file` message, which it returns.
/// The caller has cleaned the name; membership and the announced size are checked here,
/// before anything is announced or read. Runs to its end even when the client goes away,
/// so the room always hears how the upload ended.
#[tracing::instrument(skip_all, fields(room = %request.room, user = %request.user))]
pub async fn receive(
    ctx: Context,
    request: Request,
    body: Body,
) -> Result<MessagePosted, AppError> {
    if !db::rooms::is_member(&ctx.db, request.room, request.user).await? {
        return Err(ErrorCode::NotAMember.into());
    }
    let id = new_file_id();
    let announcer = Announcer {
        realtime: &ctx.realtime,
        request: &request,
        upload: UploadId(id.0.clone()),
    };
    match request.total {
        Some(0) => return Err(ErrorCode::EmptyFile.into()),
        // Refused before its first byte: the room hears it failed, nothing was written.
        Some(total) if total > ctx.files.max_upload_bytes() => {
            return Err(announcer.failed(0, ErrorCode::FileTooLarge.into()));
        }
        _ => {}
    }
    let writer = match ctx.files.store().create(&id).await {
        Ok(writer) => writer,
        Err(err) => {
            return Err(AppError::Internal(format!(
                "cannot start storing a file: {err}"
            )));
        }
    };
    announcer.announce(FileStage::Started, 0, None);
    let received = match stream_into(&ctx, &request, &announcer, writer, body).await {
        Ok(received) => received,
        Err((bytes, err)) => return Err(announcer.failed(bytes, err)),
    };
    let file = FileRef {
        id: id.clone(),
        name: request.name.clone(),
        size: received.size,
        mime: sniff(&received.head).to_owned(),
    };
    match record(&ctx, &request, &file, &received.sha256).await {
        Ok(message) => {
            announcer.announce(FileStage::Completed, received.size, None);
            ctx.realtime.publish(
                BusTarget::Room(request.room),
                ServerFrame::MessagePosted(message.clone()),
            );
            tracing::info!(file = %id, size = received.size, mime = %file.mime, "file shared");
            Ok(message)
        }
        Err(err) => {
            // Nothing points at the file: forget its row and its bytes.
            if let Err(db_err) = db::files::delete(&ctx.db, &id).await {
                tracing::warn!(file = %id, error = %db_err, "cannot forget a failed file");
            }
            if let Err(store_err) = ctx.files.store().delete(&id).await {
                tracing::warn!(file = %id, error = %store_err, "cannot remove a failed file");
            }
            Err(announcer.failed(received.size, err))
        }
    }
}

/// What a fully received body turned out to be.
struct Received {
    size: u64,
    head: Vec<u8>,
    sha256: String,
}

/// Streams the body into `writer`, announcing progress. On failure, what was written is
/// discarded and the bytes received so far come back with the error.
async fn stream_into(
    ctx: &Context,
    request: &Request,
    announcer: &Announcer<'_>,
    mut writer: FileWriter,
    body: Body,
) -> Result<Received, (u64, AppError)> {
    let cap = ctx.files.max_upload_bytes();
    let mut stream = body.into_data_stream();
    let mut throttle = Throttle::new(request.total, Instant::now());
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut size: u64 = 0;
    let ended = loop {
        let chunk = match tokio::time::timeout(IDLE_TIMEOUT, stream.next()).await {
            Err(_elapsed) => break Err(AppError::from(ErrorCode::UploadAborted)),
            Ok(None) => break Ok(()),
            Ok(Some(Err(err))) => {
                tracing::info!(error = %err, "upload body ended early");
                break Err(ErrorCode::UploadAborted.into());
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        size += chunk.len() as u64;
        if size > cap {
            break Err(ErrorCode::FileTooLarge.into());
        }
        hasher.update(&chunk);
        if head.len() < SNIFF_BYTES {
            let take = chunk.len().min(SNIFF_BYTES - head.len());
            head.extend_from_slice(&chunk[..take]);
        }
        if let Err(err) = writer.write(chunk).await {
            break Err(AppError::Internal(format!("cannot store a file: {err}")));
        }
        if throttle.due(size, Instant::now()) {
            announcer.announce(FileStage::Progress, size, None);
        }
    };
    let ended = ended.and_then(|()| match request.total {
        _ if size == 0 => Err(ErrorCode::EmptyFile.into()),
        // The HTTP layer enforces Content-Length already; this keeps a short body from
        // ever being stored as a whole file.
        Some(total) if size != total => Err(ErrorCode::UploadAborted.into()),
        _ => Ok(()),
    });
    if let Err(err) = ended {
        writer.abort().await;
        return Err((size, err));
    }
    if let Err(err) = writer.finish().await {
        return Err((
            size,
            AppError::Internal(format!("cannot store a file: {err}")),
        ));
    }
    Ok(Received {
        size,
        head,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Records the stored file and posts its message. Fails with `not_a_member` when the
/// uploader left the room meanwhile.
async fn record(
    ctx: &Context,
    request: &Request,
    file: &FileRef,
    sha256: &str,
) -> Result<MessagePosted, AppError> {
    db::files::insert(&ctx.db, file, request.room, request.user, sha256).await?;
    let new = NewMessage {
        room: request.room,
        sender: request.user,
        sender_name: &request.username,
        kind: MessageKind::File,
        body: &file.name,
        client_msg_id: None,
        file: Some(file),
    };
    match db::messages::insert(&ctx.db, new).await? {
        Inserted::New(message) | Inserted::Duplicate(message) => Ok(message),
        Inserted::NotAMember => Err(ErrorCode::NotAMember.into()),
        // Uploads store no client_msg_id, so they never collide.
        Inserted::IdTakenElsewhere => Err(ErrorCode::ClientMsgIdTaken.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_announced_every_250_ms_or_5_percent_whichever_comes_first() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut throttle = Throttle::new(Some(1000), start);
        assert!(!throttle.due(10, at(10)), "too soon, too little");
        assert!(throttle.due(50, at(20)), "5 % arrived");
        assert!(!throttle.due(60, at(30)));
        assert!(throttle.due(61, at(270)), "250 ms passed");
        assert!(!throttle.due(61, at(900)), "nothing new arrived");
        assert!(
            !throttle.due(1000, at(2000)),
            "all of it: `completed` says so"
        );

        let mut unknown = Throttle::new(None, start);
        assert!(!unknown.due(1 << 30, at(100)), "no total: time only");
        assert!(unknown.due(1 << 30, at(250)));
    }
}
