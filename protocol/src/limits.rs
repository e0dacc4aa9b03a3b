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

/// Room names: 1 to 64 characters after trimming, no control characters and no invisible
/// ones (zero-width spaces, bidirectional controls) — a name must look like what it is.
pub const ROOM_NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=64;

/// Most messages in one history page; the default page is [`DEFAULT_PAGE`].
pub const MAX_PAGE: u32 = 200;

/// Messages in a history page when the request names no limit.
pub const DEFAULT_PAGE: u32 = 50;

/// A history page (HTTP or `backfill`) stops before its message bodies pass this many
/// bytes (it always holds at least one message) and says `has_more`: 200 messages of
/// 4,000 emoji would otherwise make one frame of over 3 MB.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

/// Checks a message body. Rules (identical on every storage backend):
/// - at least one visible character — not empty, and not only whitespace and invisible
///   characters (zero-width spaces and joiners, word joiners, the byte-order mark,
///   variation selectors, Hangul fillers, bidirectional controls, see [`is_invisible`]):
///   [`ErrorCode::EmptyMessage`];
/// - at most [`MAX_MESSAGE_CHARS`] characters: [`ErrorCode::MessageTooLong`];
/// - no control characters except tab and newline (no NUL, no escape sequences, no C1
///   controls): [`ErrorCode::InvalidCharacters`]. Everything else — emoji with joiners and
///   skin tones, CJK, combining marks, right-to-left text with its marks — is stored byte
///   for byte, invisible characters included once there is something visible.
pub fn check_message_body(body: &str) -> Result<(), ErrorCode> {
    if body.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
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
    // Invisible characters would let "gen\u{200b}eral" pass for "general".
    let invisible = |c: char| {
        c.is_control()
            || is_bidi_control(c)
            || matches!(c, '\u{200b}' | '\u{200c}' | '\u{2060}' | '\u{feff}')
    };
    if ROOM_NAME_CHARS.contains(&name.chars().count()) && !name.chars().any(invisible) {
        Ok(())
    } else {
        Err(ErrorCode::InvalidRoomName)
    }
}

/// Longest file name kept, in characters; longer names are shortened by
/// [`clean_file_name`].
pub const MAX_FILE_NAME_CHARS: usize = 255;

/// Longest extension [`clean_file_name`] keeps when it shortens a name.
const MAX_KEPT_EXTENSION_CHARS: usize = 16;

/// The MIME types the server serves inline, so clients may show them as images: raster
/// formats browsers decode without running anything. Every other file (SVG and HTML
/// included) is served as an attachment.
pub const INLINE_IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Cleans a file name a client sent into the name that is stored and shown. The name is
/// metadata only — files are stored under generated ids — and always shown as text.
/// - Path separators (`/` and `\`) become `_`, so a name never names a directory:
///   `../../etc/passwd` is kept as `.._.._etc_passwd`.
/// - Control characters (C0 and C1, tab and newline too, and DEL) are removed, and so are
///   the invisible bidirectional controls that can make `gnp.exe` read as `exe.png`.
/// - Surrounding whitespace is trimmed.
/// - A name longer than [`MAX_FILE_NAME_CHARS`] is shortened, keeping its extension when
///   that is short.
/// - Anything else — HTML such as `<b>`, quotes, emoji, any script — is kept as given.
///
/// A name with nothing left, or only dots (`.`, `..`), is refused with
/// [`ErrorCode::InvalidFileName`].
pub fn clean_file_name(raw: &str) -> Result<String, ErrorCode> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .map(|c| if c == '/' || c == '\\' { '_' } else { c })
        .collect();
    let name = cleaned.trim();
    if name.chars().all(|c| c == '.' || c.is_whitespace()) {
        return Err(ErrorCode::InvalidFileName);
    }
    if name.chars().count() <= MAX_FILE_NAME_CHARS {
        return Ok(name.to_owned());
    }
    let extension = match name.rfind('.') {
        Some(dot) if dot > 0 && name[dot..].chars().count() <= MAX_KEPT_EXTENSION_CHARS => {
            &name[dot..]
        }
        _ => "",
    };
    let keep = MAX_FILE_NAME_CHARS - extension.chars().count();
    let stem: String = name.chars().take(keep).collect();
    Ok(format!("{}{extension}", stem.trim_end()))
}

/// Unicode's bidirectional formatting characters (marks, embeddings, overrides and
/// isolates): invisible, and able to reorder how the rest of a name is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing on their own and are not whitespace: zero-width and
/// format characters, variation selectors, the Hangul fillers and blank, and the
/// bidirectional controls. A body made only of these (and whitespace) looks empty.
/// Control characters are not listed: they are refused as invalid anyway.
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{ad}' // soft hyphen
                | '\u{34f}' // combining grapheme joiner
                | '\u{115f}' | '\u{1160}' // Hangul choseong and jungseong fillers
                | '\u{17b4}' | '\u{17b5}' // Khmer inherent vowels
                | '\u{180b}'..='\u{180f}' // Mongolian variation selectors, vowel separator
                | '\u{200b}'..='\u{200f}' // zero-width space, non-joiner, joiner, marks
                | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
                | '\u{206a}'..='\u{206f}' // deprecated format characters
                | '\u{2800}' // braille pattern blank
                | '\u{3164}' // Hangul filler
                | '\u{fe00}'..='\u{fe0f}' // variation selectors
                | '\u{feff}' // zero-width no-break space (byte-order mark)
                | '\u{ffa0}' // halfwidth Hangul filler
                | '\u{1d173}'..='\u{1d17a}' // musical symbol format characters
                | '\u{e0000}'..='\u{e007f}' // tags
                | '\u{e0100}'..='\u{e01ef}' // variation selectors supplement
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_cleaned_of_paths_and_controls_and_kept_as_text() {
        let clean = |s: &str| clean_file_name(s);
        assert_eq!(clean("holiday.png"), Ok("holiday.png".into()));
        assert_eq!(clean("../../etc/passwd"), Ok(".._.._etc_passwd".into()));
        assert_eq!(
            clean("C:\\Users\\bob\\cat.png"),
            Ok("C:_Users_bob_cat.png".into())
        );
        assert_eq!(
            clean(" a\u{0}b\nc\u{1b}[31m\u{7f}\u{85}.txt "),
            Ok("abc[31m.txt".into())
        );
        assert_eq!(clean("\u{202e}gnp.exe"), Ok("gnp.exe".into()));
        assert_eq!(
            clean("<img src=x onerror=alert(1)>.html"),
            Ok("<img src=x onerror=alert(1)>.html".into())
        );
        assert_eq!(
            clean("👩🏽‍💻 \"report\"; final.pdf"),
            Ok("👩🏽‍💻 \"report\"; final.pdf".into())
        );
        for empty in ["", "   ", ".", "..", "\u{0}\u{1}", " . . "] {
            assert_eq!(clean(empty), Err(ErrorCode::InvalidFileName), "{empty:?}");
        }
    }

    #[test]
    fn long_file_names_are_shortened_keeping_a_short_extension() {
        let long = format!("{}.tar.gz", "é".repeat(300));
        let cleaned = clean_file_name(&long).unwrap_or_default();
        assert_eq!(cleaned.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cleaned.ends_with("é.gz"), "{cleaned}");
        let no_extension = "x".repeat(400);
        assert_eq!(
            clean_file_name(&no_extension).map(|n| n.chars().count()),
            Ok(MAX_FILE_NAME_CHARS)
        );
    }

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
        assert_eq!(check_message_body("\u{a0}"), Err(ErrorCode::EmptyMessage));
        let longest = "é".repeat(MAX_MESSAGE_CHARS);
        assert_eq!(check_message_body(&longest), Ok(()));
        assert_eq!(
            check_message_body(&format!("{longest}x")),
            Err(ErrorCode::MessageTooLong)
        );
    }

    #[test]
    fn a_body_of_only_invisible_characters_is_empty() {
        for blank in [
            "\u{200b}\u{200b}",
            "\u{feff}",
            "\u{fe0f}",
            "\u{3164}",
            "\u{115f}\u{1160}",
            "\u{ffa0}",
            "\u{200c}\u{200d}\u{200e}\u{200f}",
            "\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}",
            "\u{fe00}",
            "\u{202e}\u{2066}\u{2069}\u{61c}",
            "\u{ad}",
            "\u{2800}",
            "\u{e0100}",
            " \u{200b}\n\t\u{a0}\u{3000}\u{feff} ",
        ] {
            assert_eq!(
                check_message_body(blank),
                Err(ErrorCode::EmptyMessage),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn visible_text_with_invisible_characters_still_passes() {
        for visible in [
            "👨\u{200d}👩\u{200d}👧",
            "❤\u{fe0f}",
            "\u{200f}שלום\u{200e} world",
            "\u{2067}مرحبا\u{2069}",
            "a\u{200b}",
            "\u{feff}hi",
            "\u{3164}ㅎ",
            "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
            "e\u{301}",
        ] {
            assert_eq!(check_message_body(visible), Ok(()), "{visible:?}");
        }
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
            check_room_name("gen\u{200b}eral"),
            Err(ErrorCode::InvalidRoomName)
        );
        assert_eq!(
            check_room_name("\u{202e}lareneg"),
            Err(ErrorCode::InvalidRoomName)
        );
        assert_eq!(
            check_room_name("café 👩\u{200d}💻"),
            Ok(()),
            "joiners in emoji are fine"
        );
        assert_eq!(
            check_room_name(&"r".repeat(65)),
            Err(ErrorCode::InvalidRoomName)
        );
    }
}
