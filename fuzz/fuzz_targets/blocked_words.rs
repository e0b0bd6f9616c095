//! Blocked-word folding and masking. The input's first line lists the blocked words
//! (comma-separated), the rest is the message: folding is idempotent, a masked message
//! holds no blocked word, and a message with none is left as it was.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|input: &str| {
    let (list, text) = input.split_once('\n').unwrap_or(("", input));
    let blocked: Vec<String> = list.split(',').filter(|w| !w.is_empty()).map(str::to_owned).take(8).collect();
    checks::blocked_words(text, &blocked);
});
