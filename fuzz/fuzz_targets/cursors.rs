//! Page cursors: the opaque participant and question cursors decode only what they
//! encode, and a history query string (`before`, `after`, `limit`) is read or refused.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use eventsync_chat::chat::messages::HistoryQuery;
use eventsync_chat::domain::page_limit;
use eventsync_chat::domain::qa::QuestionCursor;
use eventsync_chat::domain::room::ParticipantCursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(cursor) = ParticipantCursor::decode(text) {
        assert_eq!(ParticipantCursor::decode(&cursor.encode()).ok(), Some(cursor));
    }
    if let Ok(cursor) = QuestionCursor::decode(text) {
        assert_eq!(QuestionCursor::decode(&cursor.encode()).ok(), Some(cursor));
    }
    if let Ok(uri) = format!("/api/chat/rooms/1/messages?{text}").parse::<Uri>()
        && let Ok(Query(query)) = Query::<HistoryQuery>::try_from_uri(&uri)
        && let Ok(limit) = page_limit(query.limit, 50, 100)
    {
        assert!((1..=100).contains(&limit));
    }
});
