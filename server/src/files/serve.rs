//! How a stored file is served: its sniffed type, and headers that keep a hostile file
//! harmless. Only raster images a browser decodes without running anything
//! (`limits::INLINE_IMAGE_TYPES`) are served inline; everything else — HTML, SVG, scripts,
//! documents — is an attachment the browser saves instead of opening. Every file response
//! also says `X-Content-Type-Options: nosniff` (the browser must not second-guess the
//! type), carries a Content-Security-Policy that forbids everything and sandboxes the
//! document (in case one is opened anyway), and may not be embedded by other sites.

use axum::http::{HeaderName, HeaderValue, header};
use confab_protocol::FileRef;

/// How many leading bytes the MIME type is sniffed from.
pub const SNIFF_BYTES: usize = 8192;

/// The MIME type of a file whose content starts with `head` (up to [`SNIFF_BYTES`]):
/// recognised by magic numbers (images, audio, video, archives, documents, HTML…);
/// otherwise `text/plain` for UTF-8 text without NUL bytes, and
/// `application/octet-stream` for anything else. What the client claims is never asked.
pub fn sniff(head: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // Cut inside a character at the end of the sniffed bytes: still text.
        Err(err) => err.error_len().is_none(),
    };
    if text && !head.contains(&0) {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// The `Content-Security-Policy` of every file response: nothing may load, no script may
/// run, and the document is sandboxed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; sandbox";

/// The headers a download of `file` is sent with.
pub fn headers(file: &FileRef) -> Vec<(HeaderName, HeaderValue)> {
    let content_type = match file.mime.as_str() {
        "text/plain" => HeaderValue::from_static("text/plain; charset=utf-8"),
        mime => HeaderValue::from_str(mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    };
    let disposition = HeaderValue::from_str(&content_disposition(file))
        .unwrap_or(HeaderValue::from_static("attachment"));
    vec![
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_LENGTH, HeaderValue::from(file.size)),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        // Membership can end; a shared cache must never keep a copy.
        (header::CACHE_CONTROL, HeaderValue::from_static("private")),
    ]
}

/// `inline` for safe raster images, `attachment` for everything else, with the file's
/// name twice (RFC 6266): a conservative ASCII fallback in `filename` (letters, digits
/// and a few harmless punctuation marks; anything else becomes `_`) and the exact UTF-8
/// name percent-encoded in `filename*`. No quote, backslash, `;` or `%` survives into the
/// quoted part, so no name can break out of the header.
pub fn content_disposition(file: &FileRef) -> String {
    let kind = if file.is_inline_image() {
        "inline"
    } else {
        "attachment"
    };
    let fallback: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " .-_()[]+,=@#$&!~'^`{}".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(file.name.len() * 3);
    for byte in file.name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_protocol::FileId;

    fn file(name: &str, mime: &str) -> FileRef {
        FileRef {
            id: FileId("0123456789abcdef0123456789abcdef".into()),
            name: name.into(),
            size: 3,
            mime: mime.into(),
        }
    }

    #[test]
    fn content_is_sniffed_from_its_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), "image/jpeg");
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), "image/gif");
        assert_eq!(sniff("plain words, ünïcödé".as_bytes()), "text/plain");
        assert_eq!(sniff(&"é".as_bytes()[..1]), "text/plain");
        assert_eq!(sniff(b"\0\x01\x02\x03binary"), "application/octet-stream");
        assert_eq!(sniff(b""), "text/plain");
        assert_ne!(
            sniff(b"<html><script>alert(1)</script></html>"),
            "image/png"
        );
    }

    #[test]
    fn only_safe_raster_images_are_inline() {
        for mime in ["image/png", "image/jpeg", "image/gif", "image/webp"] {
            assert!(content_disposition(&file("a.png", mime)).starts_with("inline;"));
        }
        for mime in [
            "image/svg+xml",
            "text/html",
            "text/xml",
            "text/plain",
            "application/pdf",
            "application/octet-stream",
        ] {
            assert!(
                content_disposition(&file("a.png", mime)).starts_with("attachment;"),
                "{mime}"
            );
        }
    }

    #[test]
    fn names_cannot_break_out_of_the_disposition_header() {
        let value =
            content_disposition(&file("a\"; filename=evil.html; x=\"\\ é.txt", "text/plain"));
        assert_eq!(
            value,
            "attachment; filename=\"a__ filename=evil.html_ x=__ _.txt\"; \
             filename*=UTF-8''a%22%3B%20filename%3Devil.html%3B%20x%3D%22%5C%20%C3%A9.txt"
        );
        assert!(HeaderValue::from_str(&value).is_ok());
        let headers = headers(&file("<b>x</b>.html", "text/html"));
        assert!(
            headers
                .iter()
                .any(|(name, value)| name == header::CONTENT_DISPOSITION
                    && value.to_str().is_ok_and(|v| v.starts_with("attachment;")))
        );
    }
}
