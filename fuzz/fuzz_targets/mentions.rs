//! Mention extraction: every name found is written as `@name` in the text, at most once,
//! and is a valid username or one of the room-wide names (`@room`, `@here`).
#![no_main]

use eventsync_chat::domain::message::mentioned_usernames;
use eventsync_chat::domain::user::{RESERVED_USERNAMES, validate_username};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let found = mentioned_usernames(text);
    let lower = text.to_ascii_lowercase();
    for (i, name) in found.iter().enumerate() {
        let room_wide = RESERVED_USERNAMES.contains(&name.as_str());
        assert!(room_wide || validate_username(name).is_ok(), "{name:?} from {text:?}");
        assert!(lower.contains(&format!("@{name}")), "{name:?} is not written in {text:?}");
        assert!(!found[..i].contains(name), "{name:?} twice in {text:?}");
    }
});
