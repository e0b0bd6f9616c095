//! The properties of everything a client's bytes reach before any rule, as plain
//! functions that panic when one does not hold. Two drivers share them: the property
//! tests (`tests/properties.rs`, proptest) and the fuzz targets (`fuzz/`, libFuzzer),
//! which include this file by path.
#![allow(dead_code)] // each fuzz target uses one or two of them

use eventsync_chat::domain::file::{content_disposition, extension, validate_file_name};
use eventsync_chat::domain::message::{mentioned_usernames, validate_content, validate_emoji};
use eventsync_chat::domain::qa::QuestionCursor;
use eventsync_chat::domain::room::ParticipantCursor;
use eventsync_chat::domain::user::{RESERVED_USERNAMES, validate_username};
use eventsync_chat::domain::words::{find_blocked, fold, mask};
use eventsync_chat::files::kinds::{TextCheck, check_content, kind_of};

/// Declared extensions the sniffing checks pick from (known kinds and refused ones).
pub const EXTENSIONS: &[&str] = &[
    "txt", "md", "csv", "pdf", "png", "jpg", "jpeg", "gif", "webp", "mp3", "wav", "ogg", "m4a", "mp4",
    "webm", "avi", "mov", "zip", "rar", "7z", "tar", "gz", "exe", "",
];

/// Every mention is written as `@name` in the text, at most once, and is a valid
/// username or one of the room-wide names (`@room`, `@here`).
pub fn mentions(text: &str) {
    let found = mentioned_usernames(text);
    let lower = text.to_ascii_lowercase();
    for (i, name) in found.iter().enumerate() {
        let room_wide = RESERVED_USERNAMES.contains(&name.as_str());
        assert!(room_wide || validate_username(name).is_ok(), "{name:?} from {text:?}");
        assert!(lower.contains(&format!("@{name}")), "{name:?} is not written in {text:?}");
        assert!(!found[..i].contains(name), "{name:?} twice in {text:?}");
    }
}

/// Accepted content and emoji are accepted again unchanged; content is never blank.
pub fn content_and_emoji(text: &str) {
    if let Ok(content) = validate_content(text) {
        assert_eq!(validate_content(&content).ok(), Some(content.clone()));
        assert!(!content.trim().is_empty());
    }
    if let Ok(emoji) = validate_emoji(text) {
        assert_eq!(validate_emoji(&emoji).ok(), Some(emoji));
    }
}

/// Folding is idempotent, a masked text holds no blocked word, and a text with none is
/// left as it was.
pub fn blocked_words(text: &str, blocked: &[String]) {
    assert_eq!(fold(&fold(text)), fold(text));
    let masked = mask(text, blocked);
    assert_eq!(find_blocked(&masked, blocked), None, "{text:?} masked as {masked:?}");
    if find_blocked(text, blocked).is_none() {
        assert_eq!(masked, text);
    }
}

/// An accepted upload name has no path or control characters, is accepted again
/// unchanged, and makes a valid `Content-Disposition` header.
pub fn file_name(raw: &str) {
    if let Ok(name) = validate_file_name(raw) {
        assert!(!name.contains(['/', '\\']) && !name.chars().any(char::is_control), "{name:?}");
        assert_eq!(validate_file_name(&name).ok(), Some(name.clone()));
        assert!(name != "." && name != "..");
        let header = content_disposition(&name);
        assert!(axum::http::HeaderValue::from_str(&header).is_ok(), "{header:?}");
        let ext = extension(&name);
        assert_eq!(ext.to_ascii_lowercase(), ext);
    }
}

/// Sniffing any bytes declared as `ext` answers (an error at worst).
pub fn sniffing(ext: &str, bytes: &[u8]) {
    if let Ok(kind) = kind_of(ext) {
        let _ = check_content(kind, bytes);
    }
}

/// The streamed text check gives one verdict however `bytes` is cut (at `points`,
/// ascending), and that verdict is "UTF-8 without control bytes other than tab, line
/// breaks, form feed and escape".
pub fn text_check_cut(bytes: &[u8], points: &[usize]) {
    let mut whole = TextCheck::default();
    whole.feed(bytes);
    let mut pieces = TextCheck::default();
    let mut last = 0;
    for &point in points.iter().chain([&bytes.len()]) {
        pieces.feed(&bytes[last..point]);
        last = point;
    }
    let binary = |b: &u8| *b < 0x20 && !matches!(*b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0x1B);
    let text = std::str::from_utf8(bytes).is_ok() && !bytes.iter().any(binary);
    let whole = whole.finish().is_ok();
    assert_eq!(whole, pieces.finish().is_ok(), "{bytes:?} cut at {points:?}");
    assert_eq!(whole, text, "{bytes:?}");
}

/// Whatever the cursors decode from `text`, they encode and decode back to the same.
pub fn cursor_text(text: &str) {
    if let Ok(cursor) = ParticipantCursor::decode(text) {
        assert_eq!(ParticipantCursor::decode(&cursor.encode()).ok(), Some(cursor));
    }
    if let Ok(cursor) = QuestionCursor::decode(text) {
        assert_eq!(QuestionCursor::decode(&cursor.encode()).ok(), Some(cursor));
    }
}
