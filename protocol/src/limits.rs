//! Limits both sides enforce: the client checks them before sending so a person gets
//! immediate feedback, and the server checks them again because clients can lie.

use crate::ErrorCode;

/// Longest message body, in Unicode scalar values (what a person counts as characters,
/// give or take combining marks).
pub const MAX_MESSAGE_CHARS: usize = 4000;

/// Largest WebSocket message the server reads. Over it the server closes the socket with
/// [`crate::close::MESSAGE_TOO_BIG`] (1009). A maximal `send` (4,000 four-byte characters,
/// JSON-escaped) fits well inside.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Longest `client_msg_id`.
pub const MAX_CLIENT_MSG_ID_LEN: usize = 64;

/// Usernames: 3 to 32 characters from `A-Z a-z 0-9 _ . -`, unique ignoring case.
pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;

/// Passwords: 8 to 256 characters.
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 8..=256;

/// Room names: 1 to 64 characters after trimming, no control characters.
pub const ROOM_NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=64;

/// Most messages in one history page; the default page is [`DEFAULT_PAGE`].
pub const MAX_PAGE: u32 = 200;

/// Messages in a history page when the request names no limit.
pub const DEFAULT_PAGE: u32 = 50;

/// Checks a message body. Rules (identical on every storage backend):
/// - not empty or only whitespace: [`ErrorCode::EmptyMessage`];
/// - at most [`MAX_MESSAGE_CHARS`] characters: [`ErrorCode::MessageTooLong`];
/// - no control characters except tab and newline (no NUL, no escape sequences, no C1
///   controls): [`ErrorCode::InvalidCharacters`]. Everything else — emoji with joiners and
///   skin tones, CJK, combining marks, right-to-left text — is stored byte for byte.
pub fn check_message_body(body: &str) -> Result<(), ErrorCode> {
    if body.trim().is_empty() {
        return Err(ErrorCode::EmptyMessage);
    }
    if body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ErrorCode::MessageTooLong);
    }
    if body
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ErrorCode::InvalidCharacters);
    }
    Ok(())
}

/// Checks a username against [`USERNAME_CHARS`] and its alphabet.
pub fn check_username(name: &str) -> Result<(), ErrorCode> {
    let ok = USERNAME_CHARS.contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ErrorCode::InvalidUsername)
    }
}

/// Checks a password's length against [`PASSWORD_CHARS`].
pub fn check_password(password: &str) -> Result<(), ErrorCode> {
    if PASSWORD_CHARS.contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(ErrorCode::InvalidPassword)
    }
}

/// Checks a group room's name (after trimming) against [`ROOM_NAME_CHARS`].
pub fn check_room_name(name: &str) -> Result<(), ErrorCode> {
    let name = name.trim();
    if ROOM_NAME_CHARS.contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(ErrorCode::InvalidRoomName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bodies_follow_the_documented_rules() {
        assert_eq!(check_message_body("hi"), Ok(()));
        assert_eq!(check_message_body("  \n\t"), Err(ErrorCode::EmptyMessage));
        assert_eq!(
            check_message_body("a\u{0}b"),
            Err(ErrorCode::InvalidCharacters)
        );
        assert_eq!(
            check_message_body("a\u{1b}[31m"),
            Err(ErrorCode::InvalidCharacters)
        );
        assert_eq!(
            check_message_body("a\u{85}"),
            Err(ErrorCode::InvalidCharacters)
        );
        assert_eq!(check_message_body("line\n\tindented"), Ok(()));
        assert_eq!(check_message_body("👩🏽‍💻 مرحبا 漢字 e\u{301}"), Ok(()));
        let longest = "é".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(check_message_body(&longest), Ok(()));
        assert_eq!(
            check_message_body(&format!("{longest}x")),
            Err(ErrorCode::MessageTooLong)
        );
    }

    #[test]
    fn usernames_passwords_and_room_names_are_checked() {
        assert_eq!(check_username("alice_01"), Ok(()));
        assert_eq!(check_username("al"), Err(ErrorCode::InvalidUsername));
        assert_eq!(check_username("alice bob"), Err(ErrorCode::InvalidUsername));
        assert_eq!(check_username("<script>"), Err(ErrorCode::InvalidUsername));
        assert_eq!(check_password("short"), Err(ErrorCode::InvalidPassword));
        assert_eq!(check_password("long enough"), Ok(()));
        assert_eq!(check_room_name("  general "), Ok(()));
        assert_eq!(check_room_name("   "), Err(ErrorCode::InvalidRoomName));
        assert_eq!(
            check_room_name(&"r".repeat(65)),
            Err(ErrorCode::InvalidRoomName)
        );
    }
}
