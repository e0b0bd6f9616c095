//! Page cursors: the opaque participant and question cursors decode only what they
//! encode, and a history query string (`before`, `after`, `limit`) is read or refused.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

use axum::extract::Query;
use axum::http::Uri;
use eventsync_chat::chat::messages::HistoryQuery;
use eventsync_chat::domain::page_limit;

libfuzzer_sys::fuzz_target!(|text: &str| {
    checks::cursor_text(text);
    if let Ok(uri) = format!("/api/chat/rooms/1/messages?{text}").parse::<Uri>()
        && let Ok(Query(query)) = Query::<HistoryQuery>::try_from_uri(&uri)
        && let Ok(limit) = page_limit(query.limit, 50, 100)
    {
        assert!((1..=100).contains(&limit));
    }
});
