//! File uploads over `XMLHttpRequest`, the one browser API that reports upload progress
//! (`fetch` does not). The file is handed to the browser as it is — it streams it from
//! disk; nothing is read into the page's memory — and posted raw to
//! `POST /api/rooms/{id}/files?name=…`, whose answer is the stored `file` message.
//!
//! The request's event handlers are kept by the [`Upload`] handle, so they live exactly as
//! long as the request does: dropping the handle after the last event frees them.

use confab_protocol::{ApiError, ErrorCode, MessagePosted, RoomId};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

/// How an upload ended.
pub type Outcome = Result<MessagePosted, ApiError>;

/// A running upload. Keep it until `on_done` has been called.
pub struct Upload {
    request: XmlHttpRequest,
    _progress: Closure<dyn FnMut(ProgressEvent)>,
    _finished: Closure<dyn FnMut(ProgressEvent)>,
}

impl Upload {
    /// Starts posting `file` into `room`. `on_progress(sent, total)` follows the bytes
    /// handed to the network; `on_done` is called once, when the server answered or the
    /// request failed.
    pub fn start(
        room: RoomId,
        file: &File,
        mut on_progress: impl FnMut(u64, u64) + 'static,
        on_done: impl FnOnce(Outcome) + 'static,
    ) -> Result<Self, ApiError> {
        let request = XmlHttpRequest::new().map_err(|_| unavailable())?;
        let name = String::from(js_sys::encode_uri_component(&file.name()));
        request
            .open("POST", &format!("/api/rooms/{room}/files?name={name}"))
            .map_err(|_| unavailable())?;

        let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
            if ev.length_computable() {
                on_progress(ev.loaded() as u64, ev.total() as u64);
            }
        });
        let upload = request.upload().map_err(|_| unavailable())?;
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));

        let mut on_done = Some(on_done);
        let answered = request.clone();
        let finished = Closure::<dyn FnMut(ProgressEvent)>::new(move |_: ProgressEvent| {
            if let Some(done) = on_done.take() {
                done(outcome(&answered));
            }
        });
        // `loadend` follows `load`, `error`, `abort` and `timeout` alike: one place decides.
        request.set_onloadend(Some(finished.as_ref().unchecked_ref()));

        request
            .send_with_opt_blob(Some(file))
            .map_err(|_| unavailable())?;
        Ok(Self {
            request,
            _progress: progress,
            _finished: finished,
        })
    }

    /// Gives up on the upload (the server discards what it received).
    pub fn abort(&self) {
        let _ = self.request.abort();
    }
}

/// Reads the answer of a finished request.
fn outcome(request: &XmlHttpRequest) -> Outcome {
    let status = request.status().unwrap_or(0);
    let text = request.response_text().ok().flatten().unwrap_or_default();
    if status == 0 {
        return Err(unavailable());
    }
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|_| ApiError {
            code: ErrorCode::Internal,
            message: "the server sent an unexpected answer".to_owned(),
        });
    }
    Err(
        serde_json::from_str::<ApiError>(&text).unwrap_or_else(|_| ApiError {
            code: ErrorCode::Unavailable,
            message: format!("the upload failed (HTTP {status})"),
        }),
    )
}

fn unavailable() -> ApiError {
    ApiError {
        code: ErrorCode::Unavailable,
        message: "the upload could not reach the server".to_owned(),
    }
}

/// "2.4 MB", "512 KB", "12 bytes": a size for people.
pub fn human_size(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    if bytes < 1000 {
        if bytes == 1 {
            "1 byte".to_owned()
        } else {
            format!("{bytes} bytes")
        }
    } else if b < KB * KB {
        format!("{:.0} KB", b / KB)
    } else if b < KB * KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else {
        format!("{:.1} GB", b / (KB * KB * KB))
    }
}

/// Percent done, 0–100, when the total is known.
pub fn percent(bytes: u64, total: Option<u64>) -> Option<u32> {
    let total = total.filter(|t| *t > 0)?;
    Some(((bytes.min(total) as f64 / total as f64) * 100.0).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(512_000), "512 KB");
        assert_eq!(human_size(2_400_000), "2.4 MB");
        assert_eq!(human_size(3_000_000_000), "3.0 GB");
    }

    #[test]
    fn percent_is_clamped_and_unknown_without_a_total() {
        assert_eq!(percent(50, Some(200)), Some(25));
        assert_eq!(percent(300, Some(200)), Some(100));
        assert_eq!(percent(5, None), None);
        assert_eq!(percent(5, Some(0)), None);
    }
}
