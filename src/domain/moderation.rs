//! The moderation log: who did what to whom in a room, and when (SPEC §7).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::message::MessageId;
use super::room::RoomId;
use super::text_enum;
use super::user::{User, UserId};

text_enum! {
    /// What a log entry records.
    pub enum ModerationAction {
        /// An admin read or opened a room they do not participate in.
        AdminAccess = "admin_access",
        Mute = "mute",
        Unmute = "unmute",
        Kick = "kick",
        /// Taken out of the room by someone holding `manage_room`.
        RemoveParticipant = "remove_participant",
        Ban = "ban",
        Unban = "unban",
        DeleteMessage = "delete_message",
        GrantModerator = "grant_moderator",
        RevokeModerator = "revoke_moderator",
    }
}

/// A log entry as moderators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationEntry {
    pub id: i64,
    pub room_id: RoomId,
    pub actor: User,
    pub action: ModerationAction,
    pub target: Option<User>,
    pub message_id: Option<MessageId>,
    pub reason: Option<String>,
    pub duration_seconds: Option<i64>,
    pub created_at: String,
}

/// What is written to the log.
#[derive(Debug, Clone)]
pub struct NewModerationEntry {
    pub room_id: RoomId,
    pub actor_id: UserId,
    pub action: ModerationAction,
    pub target_id: Option<UserId>,
    pub message_id: Option<MessageId>,
    pub reason: Option<String>,
    pub duration_seconds: Option<i64>,
}

/// `GET /api/chat/rooms/{id}/moderation-log` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ModerationLogQuery {
    /// Entries older than this entry id (keyset pagination).
    pub before: Option<i64>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A page of the log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModerationLog {
    pub entries: Vec<ModerationEntry>,
    pub has_more: bool,
}

/// Longest reason, in characters.
pub const REASON_MAX: usize = 500;

/// `POST /api/chat/rooms/{id}/mute` body (`mute_user` adds `room_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MuteRequest {
    pub user_id: UserId,
    /// How long; absent: until unmuted.
    #[schema(minimum = 1)]
    pub duration_seconds: Option<i64>,
    /// Up to 500 characters, shown to the room and kept in the log.
    #[schema(max_length = 500, pattern = "text")]
    pub reason: Option<String>,
}

/// `POST /api/chat/rooms/{id}/unmute` body (`unmute_user` adds `room_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UnmuteRequest {
    pub user_id: UserId,
}

/// The `user_muted` / `user_unmuted` / `user_kicked` / `user_banned` / `user_unbanned`
/// payload and the answer to those actions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModerationNotice {
    pub room_id: RoomId,
    pub user: User,
    /// Who acted; null when a mute ran out by itself.
    pub actor: Option<User>,
    /// When the mute or ban ends; null when lifted, or when it lasts until lifted.
    pub until: Option<String>,
    pub reason: Option<String>,
}

/// A reason as given: trimmed, at most [`REASON_MAX`] characters, none for blank.
pub fn validate_reason(reason: Option<&str>) -> Result<Option<String>, crate::error::AppError> {
    super::optional_text("reason", reason, REASON_MAX)
}

/// `POST /api/chat/rooms/{id}/kick` body (`kick_user` adds `room_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct KickRequest {
    pub user_id: UserId,
    /// Up to 500 characters.
    #[schema(max_length = 500, pattern = "text")]
    pub reason: Option<String>,
}

/// `POST /api/chat/rooms/{id}/ban` body (`ban_user` adds `room_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct BanRequest {
    pub user_id: UserId,
    /// How long; absent: until unbanned.
    #[schema(minimum = 1)]
    pub duration_seconds: Option<i64>,
    /// Up to 500 characters.
    #[schema(max_length = 500, pattern = "text")]
    pub reason: Option<String>,
}

/// `POST /api/chat/rooms/{id}/unban` body (`unban_user` adds `room_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UnbanRequest {
    pub user_id: UserId,
}

/// A ban in a room's ban list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ban {
    pub user: User,
    pub banned_by: Option<User>,
    pub reason: Option<String>,
    /// Null: until unbanned.
    pub until: Option<String>,
    pub created_at: String,
}

/// `GET /api/chat/rooms/{id}/bans`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BanList {
    pub bans: Vec<Ban>,
}

/// The answer to an event-wide ban or unban.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventBanNotice {
    pub event_id: i64,
    pub user: User,
    pub until: Option<String>,
    pub reason: Option<String>,
}
