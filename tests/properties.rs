//! Property tests (proptest) over everything a client's bytes reach before any rule:
//! mention extraction, emoji validation, blocked-word folding and masking, file names
//! and `Content-Disposition`, content sniffing, and the opaque page cursors. Each runs a
//! fixed number of generated cases in every CI run; a failure is shrunk to its smallest
//! input and kept under `proptest-regressions/`, so it becomes a regression test. The
//! properties themselves live in `checks/`, which the fuzz targets (`fuzz/`) share.

mod checks;

use checks::EXTENSIONS;
use eventsync_chat::domain::qa::QuestionCursor;
use eventsync_chat::domain::room::ParticipantCursor;
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mentions_are_valid_usernames_written_with_an_at(text in chat_text()) {
        checks::mentions(&text);
    }

    #[test]
    fn accepted_content_and_emoji_are_stable(text in chat_text()) {
        checks::content_and_emoji(&text);
    }

    #[test]
    fn folding_is_idempotent_and_masking_leaves_no_blocked_word(
        text in chat_text(),
        blocked in proptest::collection::vec("[a-zA-Zé]{1,8}", 0..4),
    ) {
        checks::blocked_words(&text, &blocked);
    }

    #[test]
    fn file_names_are_names_and_always_make_a_header(raw in ".{0,240}") {
        checks::file_name(&raw);
    }

    #[test]
    fn sniffing_any_bytes_answers_without_panicking(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ext in proptest::sample::select(EXTENSIONS),
    ) {
        checks::sniffing(ext, &bytes);
    }

    #[test]
    fn text_checks_agree_however_the_stream_is_cut(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..256),
            "[a-zé€\u{1F600}\n ]{0,64}".prop_map(String::into_bytes),
        ],
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        checks::text_check_cut(&bytes, &points);
    }

    #[test]
    fn cursors_decode_only_what_they_encode(text in ".{0,80}", rank in 0i64..3, name in "[a-z0-9_.\\-]{0,64}",
                                            votes in 0i64..1_000_000_000_000_000_000, id in 0i64..1_000_000_000_000_000_000) {
        checks::cursor_text(&text);
        let cursor = ParticipantCursor { role_rank: rank, name_key: name };
        prop_assert_eq!(ParticipantCursor::decode(&cursor.encode()).ok(), Some(cursor));
        let question = QuestionCursor { votes, id };
        prop_assert_eq!(QuestionCursor::decode(&question.encode()).ok(), Some(question));
    }
}
