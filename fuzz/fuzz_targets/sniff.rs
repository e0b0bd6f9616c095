//! File-type sniffing. The first byte picks the declared extension, the rest is the
//! file's start: checking answers (never panics), and the streamed text check gives the
//! same verdict however the bytes are cut into pieces.
#![no_main]

use eventsync_chat::files::kinds::{TextCheck, check_content, kind_of};
use libfuzzer_sys::fuzz_target;

const EXTENSIONS: &[&str] = &[
    "txt", "md", "csv", "pdf", "png", "jpg", "jpeg", "gif", "webp", "mp3", "wav", "ogg", "m4a", "mp4",
    "webm", "avi", "mov", "zip", "rar", "7z", "tar", "gz", "exe", "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let ext = EXTENSIONS[pick as usize % EXTENSIONS.len()];
    if let Ok(kind) = kind_of(ext) {
        let _ = check_content(kind, bytes);
    }
    let mut whole = TextCheck::default();
    whole.feed(bytes);
    let mut pieces = TextCheck::default();
    let step = 1 + pick as usize % 7;
    for piece in bytes.chunks(step) {
        pieces.feed(piece);
    }
    assert_eq!(whole.finish().is_ok(), pieces.finish().is_ok(), "{bytes:?} in pieces of {step}");
});
