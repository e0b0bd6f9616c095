//! Blocked-word folding and masking. The input's first line lists the blocked words
//! (comma-separated), the rest is the message: folding is idempotent, a masked message
//! holds no blocked word, and a message with none is left as it was.
#![no_main]

use eventsync_chat::domain::words::{find_blocked, fold, mask};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let (list, text) = input.split_once('\n').unwrap_or(("", input));
    let blocked: Vec<String> = list.split(',').filter(|w| !w.is_empty()).map(str::to_owned).take(8).collect();
    assert_eq!(fold(&fold(text)), fold(text));
    let masked = mask(text, &blocked);
    assert_eq!(find_blocked(&masked, &blocked), None, "{text:?} masked as {masked:?}");
    if find_blocked(text, &blocked).is_none() {
        assert_eq!(masked, text);
    }
});
