//! Upload names (the multipart part's file name): an accepted name has no path or control
//! characters, is accepted again unchanged, and always makes a valid
//! `Content-Disposition` header for the download.
#![no_main]

use eventsync_chat::domain::file::{content_disposition, extension, validate_file_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    if let Ok(name) = validate_file_name(raw) {
        assert!(!name.contains(['/', '\\']) && !name.chars().any(char::is_control), "{name:?}");
        assert_eq!(validate_file_name(&name).ok(), Some(name.clone()));
        assert!(name != "." && name != "..");
        let header = content_disposition(&name);
        assert!(axum::http::HeaderValue::from_str(&header).is_ok(), "{header:?}");
        let ext = extension(&name);
        assert_eq!(ext.to_ascii_lowercase(), ext);
    }
});
