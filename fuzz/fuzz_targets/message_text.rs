//! Message content and reaction emoji: whatever is accepted is accepted again unchanged
//! (validation is idempotent), and accepted content is never blank.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|text: &str| checks::content_and_emoji(text));
