//! Rooms: types, participant roles, moderator permissions and room settings (SPEC §3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::trimmed_text;
use super::user::{User, UserId};
use crate::error::AppError;

pub type RoomId = i64;

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1000;
/// Users that can be added in one request.
pub const ADD_PARTICIPANTS_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoomType {
    Event,
    Private,
    Group,
    Support,
    General,
}

impl RoomType {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomType::Event => "event",
            RoomType::Private => "private",
            RoomType::Group => "group",
            RoomType::Support => "support",
            RoomType::General => "general",
        }
    }

    pub fn from_stored(text: &str) -> RoomType {
        match text {
            "event" => RoomType::Event,
            "private" => RoomType::Private,
            "group" => RoomType::Group,
            "support" => RoomType::Support,
            _ => RoomType::General,
        }
    }

    /// Whether rooms of this type are public unless the creator says otherwise.
    pub fn public_by_default(self) -> bool {
        matches!(self, RoomType::General)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantRole {
    Owner,
    Moderator,
    Member,
}

impl ParticipantRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Owner => "owner",
            ParticipantRole::Moderator => "moderator",
            ParticipantRole::Member => "member",
        }
    }

    pub fn from_stored(text: &str) -> ParticipantRole {
        match text {
            "owner" => ParticipantRole::Owner,
            "moderator" => ParticipantRole::Moderator,
            _ => ParticipantRole::Member,
        }
    }
}

/// What a moderator may do in a room (SPEC §7). Owners and admins hold all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    DeleteMessages,
    Mute,
    Kick,
    Ban,
    ManageRoom,
    ManageModerators,
}

/// Whether someone with `role` in a room (and the site-wide `is_admin`) holds `permission`.
/// Moderators hold every permission except managing other moderators until granular
/// grants arrive with moderation.
pub fn holds(role: Option<ParticipantRole>, is_admin: bool, permission: Permission) -> bool {
    if is_admin {
        return true;
    }
    match role {
        Some(ParticipantRole::Owner) => true,
        Some(ParticipantRole::Moderator) => permission != Permission::ManageModerators,
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationLevel {
    All,
    Mentions,
    None,
}

impl NotificationLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationLevel::All => "all",
            NotificationLevel::Mentions => "mentions",
            NotificationLevel::None => "none",
        }
    }

    pub fn from_stored(text: &str) -> NotificationLevel {
        match text {
            "mentions" => NotificationLevel::Mentions,
            "none" => NotificationLevel::None,
            _ => NotificationLevel::All,
        }
    }
}

/// A room as clients see it (SPEC §10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Room {
    pub id: RoomId,
    #[serde(rename = "type")]
    pub room_type: RoomType,
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub allow_files: bool,
    pub allow_voice: bool,
    pub moderation_enabled: bool,
    pub event_id: Option<i64>,
    pub created_by: Option<UserId>,
    pub created_at: String,
    /// A direct message between two users.
    pub is_direct: bool,
    pub participant_count: i64,
}

/// Presence as shown beside a participant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Presence {
    /// `online` or `offline` (away, busy and invisible arrive with presence settings).
    pub status: String,
    pub custom_message: Option<String>,
    pub last_active_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub user: User,
    pub role: ParticipantRole,
    pub joined_at: String,
    pub muted_until: Option<String>,
    pub presence: Presence,
}

/// `POST /api/chat/rooms` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRoom {
    /// 1–100 characters; optional for direct messages and support rooms.
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub room_type: RoomType,
    pub description: Option<String>,
    pub is_public: Option<bool>,
    pub allow_files: Option<bool>,
    pub allow_voice: Option<bool>,
    pub moderation_enabled: Option<bool>,
    pub event_id: Option<i64>,
    /// Users to add. A `private` room with exactly one other user is a direct message.
    pub participant_ids: Option<Vec<UserId>>,
}

/// `PATCH /api/chat/rooms/{id}` body: only the given fields change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateRoom {
    pub name: Option<String>,
    pub description: Option<String>,
    pub is_public: Option<bool>,
    pub allow_files: Option<bool>,
    pub allow_voice: Option<bool>,
    pub moderation_enabled: Option<bool>,
}

/// Settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    pub name: String,
    pub description: String,
    pub is_public: bool,
    pub allow_files: bool,
    pub allow_voice: bool,
    pub moderation_enabled: bool,
}

pub fn validate_name(name: &str) -> Result<String, AppError> {
    trimmed_text("name", name, 1, NAME_MAX)
}

pub fn validate_description(description: &str) -> Result<String, AppError> {
    trimmed_text("description", description, 0, DESCRIPTION_MAX)
}

impl UpdateRoom {
    /// `current` with this update applied; errors name the offending field.
    pub fn apply(&self, current: &RoomSettings) -> Result<RoomSettings, AppError> {
        Ok(RoomSettings {
            name: self
                .name
                .as_deref()
                .map(validate_name)
                .transpose()?
                .unwrap_or_else(|| current.name.clone()),
            description: self
                .description
                .as_deref()
                .map(validate_description)
                .transpose()?
                .unwrap_or_else(|| current.description.clone()),
            is_public: self.is_public.unwrap_or(current.is_public),
            allow_files: self.allow_files.unwrap_or(current.allow_files),
            allow_voice: self.allow_voice.unwrap_or(current.allow_voice),
            moderation_enabled: self.moderation_enabled.unwrap_or(current.moderation_enabled),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.is_public.is_none()
            && self.allow_files.is_none()
            && self.allow_voice.is_none()
            && self.moderation_enabled.is_none()
    }
}

/// The key that makes a direct message unique per pair of users.
pub fn direct_key(a: UserId, b: UserId) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_admins_hold_everything_members_nothing() {
        for p in [Permission::DeleteMessages, Permission::ManageRoom, Permission::ManageModerators] {
            assert!(holds(Some(ParticipantRole::Owner), false, p));
            assert!(holds(None, true, p));
            assert!(!holds(Some(ParticipantRole::Member), false, p));
            assert!(!holds(None, false, p));
        }
        assert!(holds(Some(ParticipantRole::Moderator), false, Permission::DeleteMessages));
        assert!(!holds(Some(ParticipantRole::Moderator), false, Permission::ManageModerators));
    }

    #[test]
    fn direct_key_ignores_order() {
        assert_eq!(direct_key(7, 3), direct_key(3, 7));
        assert_eq!(direct_key(3, 7), "3:7");
    }

    #[test]
    fn update_changes_only_given_fields_and_validates() {
        let current = RoomSettings {
            name: "Lobby".into(),
            description: String::new(),
            is_public: true,
            allow_files: true,
            allow_voice: true,
            moderation_enabled: false,
        };
        let update =
            UpdateRoom { name: Some("  Hall ".into()), allow_files: Some(false), ..Default::default() };
        let next = update.apply(&current).unwrap();
        assert_eq!(next.name, "Hall");
        assert!(!next.allow_files && next.is_public);
        let bad = UpdateRoom { name: Some(" ".into()), ..Default::default() };
        assert_eq!(bad.apply(&current).unwrap_err().code(), "invalid_field");
        assert!(UpdateRoom::default().is_empty());
    }
}
