//! Calendar events: the organizer-run happenings that anchor event rooms (SPEC §2).
//!
//! Called "calendar events" in the code so that "event" alone never has to be guessed:
//! `ChatEvent` is what the service publishes, Socket.IO events are `realtime` operations,
//! and `event_update` is a message type.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::trimmed_text;
use super::user::User;
use crate::clock::{Millis, parse_rfc3339};
use crate::error::AppError;

pub type CalendarEventId = i64;

pub const TITLE_MAX: usize = 200;

/// An event as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarEvent {
    pub id: CalendarEventId,
    pub title: String,
    /// RFC 3339, UTC.
    pub starts_at: String,
    /// RFC 3339, UTC; null when open-ended.
    pub ends_at: Option<String>,
    pub organizer: User,
    pub attendee_count: i64,
    /// Whether the caller is registered as an attendee.
    pub is_attendee: bool,
    pub created_at: String,
}

/// `POST /api/events` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateCalendarEvent {
    /// 1–200 characters.
    #[schema(max_length = 200, pattern = "non_blank_text")]
    pub title: String,
    /// RFC 3339 time with offset, e.g. `2026-05-01T18:00:00Z`.
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// RFC 3339; not before `starts_at`.
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
}

/// A checked [`CreateCalendarEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCalendarEvent {
    pub title: String,
    pub starts_at: Millis,
    pub ends_at: Option<Millis>,
}

fn time_field(field: &str, text: &str) -> Result<Millis, AppError> {
    parse_rfc3339(text).ok_or_else(|| {
        AppError::validation(
            "invalid_time",
            format!("{field} must be an RFC 3339 time such as 2026-05-01T18:00:00Z"),
        )
    })
}

impl CreateCalendarEvent {
    pub fn validate(&self) -> Result<NewCalendarEvent, AppError> {
        let title = trimmed_text("title", &self.title, 1, TITLE_MAX)?;
        let starts_at = time_field("starts_at", &self.starts_at)?;
        let ends_at = self.ends_at.as_deref().map(|t| time_field("ends_at", t)).transpose()?;
        if ends_at.is_some_and(|end| end < starts_at) {
            return Err(AppError::validation("invalid_time", "ends_at must not be before starts_at"));
        }
        Ok(NewCalendarEvent { title, starts_at, ends_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(title: &str, starts_at: &str, ends_at: Option<&str>) -> CreateCalendarEvent {
        CreateCalendarEvent {
            title: title.into(),
            starts_at: starts_at.into(),
            ends_at: ends_at.map(Into::into),
        }
    }

    #[test]
    fn valid_event_is_trimmed_and_parsed() {
        let event =
            body("  RustConf  ", "2026-09-01T09:00:00Z", Some("2026-09-03T17:00:00Z")).validate().unwrap();
        assert_eq!(event.title, "RustConf");
        assert!(event.ends_at.unwrap() > event.starts_at);
    }

    #[test]
    fn bad_events_are_refused_with_codes() {
        assert_eq!(body(" ", "2026-09-01T09:00:00Z", None).validate().unwrap_err().code(), "invalid_field");
        assert_eq!(body("x", "next tuesday", None).validate().unwrap_err().code(), "invalid_time");
        let backwards = body("x", "2026-09-02T09:00:00Z", Some("2026-09-01T09:00:00Z"));
        assert_eq!(backwards.validate().unwrap_err().code(), "invalid_time");
    }
}
