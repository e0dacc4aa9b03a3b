//! Small wrappers over browser APIs — the local clock and calendar, randomness, the page's
//! visibility, title and address — so the rest of the client reads as plain Rust.
//!
//! Networking is not here (`ws.rs`, `api.rs`). The pure parts (id alphabet, clock
//! formatting) are separate functions so they are tested natively.

use confab_protocol::{ClientMsgId, RoomId, UnixMillis};
use js_sys::{Date, Math};
use wasm_bindgen::JsValue;

/// Milliseconds since the Unix epoch, by the browser's clock.
pub fn now_millis() -> i64 {
    Date::now() as i64
}

fn date(at: UnixMillis) -> Date {
    Date::new(&JsValue::from_f64(at.0 as f64))
}

/// Local time of day as `HH:MM`.
pub fn clock(at: UnixMillis) -> String {
    let d = date(at);
    hh_mm(d.get_hours(), d.get_minutes())
}

/// `HH:MM` with leading zeros.
pub fn hh_mm(hours: u32, minutes: u32) -> String {
    format!("{hours:02}:{minutes:02}")
}

/// The full local date and time, for a tooltip.
pub fn full_date(at: UnixMillis) -> String {
    String::from(date(at).to_locale_string("default", &JsValue::UNDEFINED))
}

/// The time as ISO 8601 (UTC), for `<time datetime>`.
pub fn iso(at: UnixMillis) -> String {
    String::from(date(at).to_iso_string())
}

/// A number naming the local calendar day of `at`: equal for two times on the same day.
pub fn local_day(at: UnixMillis) -> i64 {
    let d = date(at);
    i64::from(d.get_full_year()) * 400 + i64::from(d.get_month()) * 32 + i64::from(d.get_date())
}

/// "Today", "Yesterday" or the local date.
pub fn day_label(at: UnixMillis) -> String {
    let day = local_day(at);
    let now = now_millis();
    if day == local_day(UnixMillis(now)) {
        "Today".to_owned()
    } else if day == local_day(UnixMillis(now - 86_400_000)) {
        "Yesterday".to_owned()
    } else {
        String::from(date(at).to_locale_date_string("default", &JsValue::UNDEFINED))
    }
}

/// A uniformly random number in `[0, 1)`.
pub fn random() -> f64 {
    Math::random()
}

/// A fresh id for a send: `c-`, the time in base 36, `-`, 12 random characters; at least
/// 20 characters from `A-Za-z0-9-_`, unique enough per sender.
pub fn new_client_msg_id() -> ClientMsgId {
    let randoms: Vec<f64> = (0..12).map(|_| random()).collect();
    client_msg_id(now_millis(), &randoms)
}

const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Builds a send id from a time and random numbers in `[0, 1)`.
pub fn client_msg_id(now: i64, randoms: &[f64]) -> ClientMsgId {
    let mut id = String::from("c-");
    let mut digits = Vec::new();
    let mut n = now.unsigned_abs();
    loop {
        digits.push(ALPHABET[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    id.extend(digits.iter().rev().map(|&b| char::from(b)));
    id.push('-');
    for r in randoms {
        let index =
            ((r.clamp(0.0, 0.999_999) * ALPHABET.len() as f64) as usize).min(ALPHABET.len() - 1);
        id.push(char::from(ALPHABET[index]));
    }
    ClientMsgId(id)
}

/// Whether the page is hidden (another tab, minimised): messages are not "read" then.
pub fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// Sets the document title.
pub fn set_title(title: &str) {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(title);
    }
}

/// The address of the WebSocket on this page's origin: `ws(s)://host/ws`.
pub fn socket_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

/// The room named in the address (`#room/3`), so a reload reopens it.
pub fn room_in_address() -> Option<RoomId> {
    let hash = web_sys::window()?.location().hash().ok()?;
    parse_room_hash(&hash)
}

/// Parses `#room/3`.
pub fn parse_room_hash(hash: &str) -> Option<RoomId> {
    hash.strip_prefix("#room/")?.parse().ok().map(RoomId)
}

/// Names the open room in the address without adding a history entry per room.
pub fn show_room_in_address(room: Option<RoomId>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hash = room.map(|r| format!("#room/{r}")).unwrap_or_default();
    let url = if hash.is_empty() {
        window.location().pathname().unwrap_or_default()
    } else {
        hash
    };
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_ids_are_long_enough_and_use_the_allowed_alphabet() {
        let id = client_msg_id(
            1_796_300_000_000,
            &[
                0.0,
                0.5,
                0.999_999_9,
                1.0,
                0.25,
                0.75,
                0.1,
                0.2,
                0.3,
                0.4,
                0.6,
                0.7,
            ],
        );
        assert!(id.is_valid(), "{id}");
        assert!(id.0.len() >= 16, "{id}");
        assert!(id.0.starts_with("c-"));
    }

    #[test]
    fn clock_pads_hours_and_minutes() {
        assert_eq!(hh_mm(7, 5), "07:05");
        assert_eq!(hh_mm(23, 59), "23:59");
    }

    #[test]
    fn room_hashes_parse() {
        assert_eq!(parse_room_hash("#room/12"), Some(RoomId(12)));
        assert_eq!(parse_room_hash("#room/x"), None);
        assert_eq!(parse_room_hash(""), None);
    }
}
