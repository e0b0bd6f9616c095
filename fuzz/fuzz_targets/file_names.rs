//! Upload names (the multipart part's file name): an accepted name has no path or control
//! characters, is accepted again unchanged, and always makes a valid
//! `Content-Disposition` header for the download.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|raw: &str| checks::file_name(raw));
