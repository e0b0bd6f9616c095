//! Mention extraction: every name found is written as `@name` in the text, at most once,
//! and is a valid username or one of the room-wide names (`@room`, `@here`).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|text: &str| checks::mentions(text));
