//! Message content and reaction emoji: whatever is accepted is accepted again unchanged
//! (validation is idempotent), and accepted content is never blank.
#![no_main]

use eventsync_chat::domain::message::{validate_content, validate_emoji};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(content) = validate_content(text) {
        assert_eq!(validate_content(&content).ok(), Some(content.clone()));
        assert!(!content.trim().is_empty());
    }
    if let Ok(emoji) = validate_emoji(text) {
        assert_eq!(validate_emoji(&emoji).ok(), Some(emoji));
    }
});
