//! What a user is told about outside the room they are looking at, and their read state.

use serde::Serialize;
use utoipa::ToSchema;

use super::message::MessageId;
use super::room::RoomId;
use super::text_enum;
use super::user::User;

text_enum! {
    /// Why a notification was raised.
    pub enum NotificationKind {
        Mention = "mention",
        Reply = "reply",
        Direct = "direct",
        Announcement = "announcement",
    }
}

/// A notification (SPEC §10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    pub kind: NotificationKind,
    pub room_id: RoomId,
    pub message_id: Option<MessageId>,
    /// Who caused it.
    pub actor: User,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// A participant's read position and what is left unread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadState {
    pub room_id: RoomId,
    pub last_read_message_id: Option<MessageId>,
    pub unread_count: i64,
    pub mention_count: i64,
}
