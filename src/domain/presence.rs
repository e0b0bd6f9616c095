//! Presence: who is online, away, busy or hidden, with a custom status (SPEC §5).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::text_enum;
use super::user::UserId;
use crate::error::AppError;

/// Longest custom status message, in characters.
pub const CUSTOM_MESSAGE_MAX: usize = 100;
/// Users one `GET /api/chat/presence` may ask about.
pub const BATCH_MAX: usize = 200;

text_enum! {
    pub enum PresenceStatus {
        Online = "online",
        Away = "away",
        Busy = "busy",
        /// Looks `offline` to everyone else.
        Invisible = "invisible",
        /// No socket connected (after the grace period); never set by hand.
        Offline = "offline",
    }
}

/// Presence as shown beside a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Presence {
    pub status: PresenceStatus,
    pub custom_message: Option<String>,
    pub last_active_at: Option<String>,
}

/// One user's presence: the `presence_updated` payload and the answer of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserPresence {
    pub user_id: UserId,
    #[serde(flatten)]
    pub presence: Presence,
}

/// One user's presence as one instance holds it: what instances tell each other so that
/// a user online on any of them is online on all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceShare {
    pub user_id: UserId,
    /// The user's sockets connected to the sending instance.
    pub sockets: u32,
    pub chosen: PresenceStatus,
    pub custom_message: Option<String>,
    /// When the custom message clears itself (ms since the epoch).
    pub clears_at: Option<i64>,
    pub last_active_at: i64,
    /// Shown `away` for inactivity.
    pub idle: bool,
    /// Counts up with every change on the sending instance: shares may arrive out of
    /// order, and an older one than already seen is dropped.
    pub version: u64,
}

/// `PUT /api/chat/presence` body (and `update_presence`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetPresence {
    /// `online`, `away`, `busy` or `invisible`.
    #[schema(value_type = ChosenStatus)]
    pub status: String,
    /// Up to 100 characters; absent, null or blank clears it.
    #[schema(max_length = 100, pattern = "text")]
    pub custom_message: Option<String>,
    /// Clears the custom message after this many seconds (Slack's "clear after").
    #[schema(minimum = 0)]
    pub clear_after_seconds: Option<i64>,
}

/// A checked [`SetPresence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPresence {
    pub status: PresenceStatus,
    pub custom_message: Option<String>,
    pub clear_after_seconds: Option<u64>,
}

impl SetPresence {
    pub fn validate(&self) -> Result<NewPresence, AppError> {
        let status = match self.status.parse::<PresenceStatus>() {
            Ok(PresenceStatus::Offline) | Err(_) => {
                return Err(AppError::validation(
                    "invalid_status",
                    "status must be one of online, away, busy, invisible",
                ));
            }
            Ok(status) => status,
        };
        let custom_message =
            super::optional_text("custom_message", self.custom_message.as_deref(), CUSTOM_MESSAGE_MAX)?;
        let clear_after_seconds = match self.clear_after_seconds {
            Some(seconds) => Some(u64::try_from(seconds).map_err(|_| {
                AppError::validation("invalid_field", "clear_after_seconds must not be negative")
            })?),
            None => None,
        };
        Ok(NewPresence { status, custom_message, clear_after_seconds })
    }
}

/// The statuses a user may choose (`offline` is never chosen), for the API document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ChosenStatus {
    Online,
    Away,
    Busy,
    Invisible,
}

/// `GET /api/chat/presence` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PresenceQuery {
    /// Comma-separated user ids, at most 200.
    #[param(pattern = "^[0-9]{1,18}(,[0-9]{1,18}){0,199}$")]
    pub user_ids: String,
}

impl PresenceQuery {
    pub fn ids(&self) -> Result<Vec<UserId>, AppError> {
        let ids: Option<Vec<UserId>> = self.user_ids.split(',').map(super::plain_number).collect();
        match ids {
            Some(ids) if ids.len() <= BATCH_MAX => Ok(ids),
            _ => Err(AppError::validation(
                "invalid_query",
                format!("user_ids must list 1–{BATCH_MAX} numeric ids, comma-separated"),
            )),
        }
    }
}

/// `{presence: [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceList {
    pub presence: Vec<UserPresence>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(status: &str, message: Option<&str>) -> SetPresence {
        SetPresence {
            status: status.into(),
            custom_message: message.map(Into::into),
            clear_after_seconds: None,
        }
    }

    #[test]
    fn statuses_and_messages_are_checked() {
        for bad in ["offline", "sleeping", "", "ONLINE"] {
            assert_eq!(set(bad, None).validate().unwrap_err().code(), "invalid_status", "{bad}");
        }
        assert_eq!(
            set("busy", Some(&"é".repeat(100))).validate().unwrap().custom_message.unwrap().chars().count(),
            100
        );
        assert_eq!(set("busy", Some(&"x".repeat(101))).validate().unwrap_err().code(), "invalid_field");
        assert_eq!(set("away", Some("  ")).validate().unwrap().custom_message, None);
    }

    #[test]
    fn batch_ids_are_parsed_and_bounded() {
        assert_eq!(PresenceQuery { user_ids: "1,2,3".into() }.ids().unwrap(), [1, 2, 3]);
        let many = vec!["7"; 201].join(",");
        for bad in ["", "a", "1,,2", "1, 2", "+1", "-1", "1,", many.as_str()] {
            assert!(PresenceQuery { user_ids: bad.into() }.ids().is_err(), "{bad}");
        }
    }
}
