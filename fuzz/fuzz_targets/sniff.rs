//! File-type sniffing. The first byte picks the declared extension (and how the rest is
//! cut), the rest is the file's start: checking answers (never panics), and the streamed
//! text check gives the same verdict however the bytes are cut into pieces.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    checks::sniffing(checks::EXTENSIONS[pick as usize % checks::EXTENSIONS.len()], bytes);
    let step = 1 + pick as usize % 7;
    let points: Vec<usize> = (step..bytes.len()).step_by(step).collect();
    checks::text_check_cut(bytes, &points);
});
