//! Property tests (proptest) over everything a client's bytes reach before any rule:
//! mention extraction, emoji validation, blocked-word folding and masking, file names
//! and `Content-Disposition`, content sniffing, and the opaque page cursors. Each runs a
//! fixed number of generated cases in every CI run; a failure is shrunk to its smallest
//! input and kept under `proptest-regressions/`, so it becomes a regression test.

use eventsync_chat::domain::file::{content_disposition, extension, validate_file_name};
use eventsync_chat::domain::message::{mentioned_usernames, validate_content, validate_emoji};
use eventsync_chat::domain::qa::QuestionCursor;
use eventsync_chat::domain::room::ParticipantCursor;
use eventsync_chat::domain::user::{RESERVED_USERNAMES, validate_username};
use eventsync_chat::domain::words::{find_blocked, fold, mask};
use eventsync_chat::files::kinds::{TextCheck, check_content, kind_of};
use proptest::prelude::*;

/// Text that mixes what the parsers care about (`@`, dots, separators, accents,
/// full-width and combining characters, emoji) with anything at all.
fn chat_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".*",
        "[@a-zA-Z0-9_.\\- ]{0,80}",
        "(@[a-z0-9_.]{0,40}[ .,!?]){0,6}",
        // The room-wide names, in any case, which are mentions but not usernames.
        "(@([rR][oO][oO][mM]|[hH][eE][rR][eE])[ .]?){0,3}",
        "[a-zé\u{301}ｆｕｌｌ\u{1F44D}\u{200B} ]{0,40}",
    ]
}

const EXTENSIONS: &[&str] = &[
    "txt", "md", "csv", "pdf", "png", "jpg", "jpeg", "gif", "webp", "mp3", "wav", "ogg", "m4a", "mp4",
    "webm", "avi", "mov", "zip", "rar", "7z", "tar", "gz", "exe", "",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mentions_are_valid_usernames_written_with_an_at(text in chat_text()) {
        let found = mentioned_usernames(&text);
        let lower = text.to_ascii_lowercase();
        for (i, name) in found.iter().enumerate() {
            let room_wide = RESERVED_USERNAMES.contains(&name.as_str());
            prop_assert!(room_wide || validate_username(name).is_ok(), "{name:?} from {text:?}");
            prop_assert!(lower.contains(&format!("@{name}")), "{name:?} is not written in {text:?}");
            prop_assert!(!found[..i].contains(name), "{name:?} twice");
        }
    }

    #[test]
    fn accepted_content_and_emoji_are_stable(text in chat_text()) {
        if let Ok(content) = validate_content(&text) {
            prop_assert_eq!(validate_content(&content).ok(), Some(content.clone()));
            prop_assert!(!content.trim().is_empty());
        }
        if let Ok(emoji) = validate_emoji(&text) {
            prop_assert_eq!(validate_emoji(&emoji).ok(), Some(emoji));
        }
    }

    #[test]
    fn folding_is_idempotent_and_masking_leaves_no_blocked_word(
        text in chat_text(),
        blocked in proptest::collection::vec("[a-zA-Zé]{1,8}", 0..4),
    ) {
        prop_assert_eq!(fold(&fold(&text)), fold(&text));
        let masked = mask(&text, &blocked);
        prop_assert_eq!(find_blocked(&masked, &blocked), None, "{:?} masked as {:?}", text, masked);
        if find_blocked(&text, &blocked).is_none() {
            prop_assert_eq!(masked, text);
        }
    }

    #[test]
    fn file_names_are_names_and_always_make_a_header(raw in ".{0,240}") {
        if let Ok(name) = validate_file_name(&raw) {
            prop_assert!(!name.contains(['/', '\\']) && !name.chars().any(char::is_control));
            prop_assert_eq!(validate_file_name(&name).ok(), Some(name.clone()));
            prop_assert!(name != "." && name != "..");
            let header = content_disposition(&name);
            prop_assert!(axum::http::HeaderValue::from_str(&header).is_ok(), "{header:?}");
            let ext = extension(&name);
            prop_assert_eq!(ext.to_ascii_lowercase(), ext);
        }
    }

    #[test]
    fn sniffing_any_bytes_answers_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ext in proptest::sample::select(EXTENSIONS),
    ) {
        if let Ok(kind) = kind_of(ext) {
            let _ = check_content(kind, &bytes);
        }
    }

    #[test]
    fn text_checks_agree_however_the_stream_is_cut(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            "[a-zé€\u{1F600}\n ]{0,64}".prop_map(String::into_bytes),
        ],
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut whole = TextCheck::default();
        whole.feed(&bytes);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut pieces = TextCheck::default();
        let mut last = 0;
        for point in points.into_iter().chain([bytes.len()]) {
            pieces.feed(&bytes[last..point]);
            last = point;
        }
        // Text: UTF-8 without control bytes other than tab, line breaks, form feed, escape.
        let binary = |b: &u8| *b < 0x20 && !matches!(*b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0x1B);
        let utf8 = std::str::from_utf8(&bytes).is_ok() && !bytes.iter().any(binary);
        prop_assert_eq!(whole.finish().is_ok(), pieces.finish().is_ok());
        let mut again = TextCheck::default();
        again.feed(&bytes);
        prop_assert_eq!(again.finish().is_ok(), utf8, "{:?}", bytes);
    }

    #[test]
    fn cursors_decode_only_what_they_encode(text in ".{0,80}", rank in 0i64..3, name in "[a-z0-9_.\\-]{0,64}",
                                            votes in 0i64..1_000_000_000_000_000_000, id in 0i64..1_000_000_000_000_000_000) {
        let _ = ParticipantCursor::decode(&text);
        let _ = QuestionCursor::decode(&text);
        let cursor = ParticipantCursor { role_rank: rank, name_key: name };
        prop_assert_eq!(ParticipantCursor::decode(&cursor.encode()).ok(), Some(cursor));
        let question = QuestionCursor { votes, id };
        prop_assert_eq!(QuestionCursor::decode(&question.encode()).ok(), Some(question));
    }
}
