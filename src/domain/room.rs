//! Rooms: types, participant roles, moderator permissions and room settings (SPEC §3).
//!
//! [`RoomSettings`] is the one list of what an owner can set on a room: the API shape
//! (flattened into [`Room`]), the stored row (flattened into the store's room row), the
//! create defaults and the `PATCH` body ([`RoomSettingsPatch`]) all derive from it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::message::MessageId;
use super::presence::Presence;
use super::trimmed_text;
use super::user::{User, UserId};
use super::words::{FilterMode, WordList};
use super::{NoBody, text_enum};
use crate::error::AppError;

pub type RoomId = i64;

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1000;
/// Users that can be added in one request.
pub const ADD_PARTICIPANTS_MAX: usize = 100;

text_enum! {
    pub enum RoomType {
        Event = "event",
        Private = "private",
        Group = "group",
        Support = "support",
        General = "general",
    }
}

impl RoomType {
    /// Whether rooms of this type are public unless the creator says otherwise.
    pub fn public_by_default(self) -> bool {
        matches!(self, RoomType::General)
    }

    /// Whether rooms of this type may be public at all.
    pub fn may_be_public(self) -> bool {
        matches!(self, RoomType::General | RoomType::Group)
    }
}

text_enum! {
    pub enum ParticipantRole {
        Owner = "owner",
        Moderator = "moderator",
        Member = "member",
    }
}

text_enum! {
    /// What a moderator may do in a room (SPEC §7). Owners and admins hold all of them.
    pub enum Permission {
        DeleteMessages = "delete_messages",
        Mute = "mute",
        Kick = "kick",
        Ban = "ban",
        ManageRoom = "manage_room",
        ManageModerators = "manage_moderators",
    }
}

/// What a moderator made before grants were granular holds: everything but managing
/// other moderators.
pub const LEGACY_MODERATOR: [Permission; 5] =
    [Permission::DeleteMessages, Permission::Mute, Permission::Kick, Permission::Ban, Permission::ManageRoom];

/// A moderator's grants as stored (`mute,kick`); `None` (never granted one by one) is
/// [`LEGACY_MODERATOR`]. An unknown name (written by a newer version during a rolling
/// upgrade) is logged and grants nothing: unlike a room type, a permission that cannot
/// be read fails safe by allowing less, so it need not fail the request.
pub fn stored_permissions(stored: Option<&str>) -> Vec<Permission> {
    match stored {
        None => LEGACY_MODERATOR.to_vec(),
        Some(text) => text
            .split(',')
            .filter_map(|name| match name.trim().parse() {
                Ok(permission) => Some(permission),
                Err(_) => {
                    tracing::warn!(permission = name, "unknown stored permission ignored");
                    None
                }
            })
            .collect(),
    }
}

/// Grants in their stored form, each once, in declaration order.
pub fn store_permissions(permissions: &[Permission]) -> String {
    Permission::ALL
        .iter()
        .filter(|p| permissions.contains(p))
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether someone with `role` and `grants` in a room (and the site-wide `is_admin`)
/// holds `permission`: owners and admins hold all, moderators what they were granted.
pub fn holds(
    role: Option<ParticipantRole>,
    grants: &[Permission],
    is_admin: bool,
    permission: Permission,
) -> bool {
    if is_admin {
        return true;
    }
    match role {
        Some(ParticipantRole::Owner) => true,
        Some(ParticipantRole::Moderator) => grants.contains(&permission),
        _ => false,
    }
}

/// `PUT /api/chat/rooms/{id}/moderators/{user_id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GrantModerator {
    /// The permissions the moderator holds from now on (at least one).
    #[schema(min_items = 1)]
    pub permissions: Vec<Permission>,
}

/// A room's moderator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Moderator {
    pub user: User,
    pub role: ParticipantRole,
    pub permissions: Vec<Permission>,
}

/// `GET /api/chat/rooms/{id}/moderators`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeratorList {
    pub moderators: Vec<Moderator>,
}

text_enum! {
    pub enum NotificationLevel {
        All = "all",
        Mentions = "mentions",
        None = "none",
    }
}

/// What an owner or moderator sets on a room; the only list of room settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct RoomSettings {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = "non_blank_text")]
    pub name: String,
    /// Up to 1000 characters.
    #[schema(max_length = 1000, pattern = "text")]
    pub description: String,
    pub is_public: bool,
    pub allow_files: bool,
    pub allow_voice: bool,
    /// Turns on the content filter and flood control.
    pub moderation_enabled: bool,
    /// A member may post once per this many seconds (0: off); moderators are exempt.
    #[schema(minimum = 0, maximum = 86400)]
    pub slow_mode_seconds: i64,
    /// `everyone`, or `moderators` for an announcement-only room.
    pub posting: Posting,
    /// With moderation on: words refused or masked besides the server's list (single
    /// words, matched ignoring case, accents and width).
    pub blocked_words: WordList,
    /// `reject` (422 `blocked_content`) or `mask` (stored with `***`).
    pub filter_mode: FilterMode,
    /// Session Q&A in this room (`/api/chat/rooms/{id}/questions`).
    pub qa_enabled: bool,
    /// Attendees' questions wait for a moderator's approval before anyone sees them.
    pub qa_moderation: bool,
}

/// Longest slow mode interval: a day.
pub const SLOW_MODE_MAX_SECONDS: i64 = 86_400;

text_enum! {
    /// Who may post in a room.
    pub enum Posting {
        Everyone = "everyone",
        /// Only the owner, moderators and admins (a stage or keynote room).
        Moderators = "moderators",
    }
}

impl RoomSettings {
    /// The defaults of a new room called `name`: private, files and voice allowed,
    /// moderation off.
    pub fn new(name: String) -> RoomSettings {
        RoomSettings {
            name,
            description: String::new(),
            is_public: false,
            allow_files: true,
            allow_voice: true,
            moderation_enabled: false,
            slow_mode_seconds: 0,
            posting: Posting::Everyone,
            blocked_words: WordList::default(),
            filter_mode: FilterMode::Reject,
            qa_enabled: false,
            qa_moderation: false,
        }
    }

    /// Trims and checks the free-text settings.
    pub fn validated(self) -> Result<RoomSettings, AppError> {
        if !(0..=SLOW_MODE_MAX_SECONDS).contains(&self.slow_mode_seconds) {
            return Err(AppError::validation(
                "invalid_field",
                format!("slow_mode_seconds must be 0–{SLOW_MODE_MAX_SECONDS}"),
            ));
        }
        let blocked_words = WordList(super::words::validate_room_words(&self.blocked_words.0)?);
        Ok(RoomSettings {
            blocked_words,
            name: validate_name(&self.name)?,
            description: validate_description(&self.description)?,
            ..self
        })
    }

    fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// The names of the settings that differ between `self` and `other`.
    pub fn changed_fields(&self, other: &RoomSettings) -> Vec<String> {
        let (a, b) = (self.to_map(), other.to_map());
        a.into_iter().filter(|(key, value)| b.get(key) != Some(value)).map(|(key, _)| key).collect()
    }
}

/// Some of the [`RoomSettings`]: the `PATCH /api/chat/rooms/{id}` body, and the settings
/// part of a create body. Keys that are not settings are ignored; `null` means "unchanged".
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(transparent)]
pub struct RoomSettingsPatch(Map<String, Value>);

impl RoomSettingsPatch {
    /// `current` with this patch applied and validated; errors name the offending field.
    pub fn apply(&self, current: &RoomSettings) -> Result<RoomSettings, AppError> {
        let mut merged = current.to_map();
        for (key, value) in &self.0 {
            let Some(was) = merged.get(key) else { continue };
            if value.is_null() {
                continue;
            }
            if json_kind(was) != json_kind(value) {
                return Err(AppError::validation(
                    "invalid_field",
                    format!("{key} must be {}, not {}", json_kind(was), json_kind(value)),
                ));
            }
            let mut value = value.clone();
            super::whole_numbers_as_integers(&mut value);
            merged.insert(key.clone(), value);
        }
        let next: RoomSettings = serde_json::from_value(Value::Object(merged))
            .map_err(|err| AppError::validation("invalid_field", format!("invalid setting: {err}")))?;
        next.validated()
    }

    /// The name the patch sets, if any.
    pub fn name(&self) -> Option<&str> {
        self.0.get("name").and_then(Value::as_str)
    }
}

/// What kind of JSON value this is, for error messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl utoipa::PartialSchema for RoomSettingsPatch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::Schema;
        // The settings' own schema with nothing required: the one list, documented once.
        match <RoomSettings as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(mut object)) => {
                object.required.clear();
                for property in object.properties.values_mut() {
                    *property = nullable(property.clone());
                }
                object.description =
                    Some("Any of the room settings; absent or null ones stay unchanged.".into());
                RefOr::T(Schema::Object(object))
            }
            other => other,
        }
    }
}

impl ToSchema for RoomSettingsPatch {}

/// `schema`, or null.
fn nullable(
    schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type};
    match schema {
        RefOr::T(Schema::Object(mut object)) if matches!(object.schema_type, SchemaType::Type(_)) => {
            if let SchemaType::Type(kind) = object.schema_type {
                object.schema_type = SchemaType::from_iter([kind, Type::Null]);
            }
            RefOr::T(Schema::Object(object))
        }
        other => OneOfBuilder::new().item(other).item(ObjectBuilder::new().schema_type(Type::Null)).into(),
    }
}

/// A room as clients see it (SPEC §10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Room {
    pub id: RoomId,
    #[serde(rename = "type")]
    pub room_type: RoomType,
    #[serde(flatten)]
    pub settings: RoomSettings,
    pub event_id: Option<i64>,
    pub created_by: Option<UserId>,
    pub created_at: String,
    /// A direct message between two users.
    pub is_direct: bool,
    pub participant_count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub user: User,
    pub role: ParticipantRole,
    pub joined_at: String,
    pub muted_until: Option<String>,
    pub presence: Presence,
}

/// A page of a room's participants: owners, then moderators, then members, each by
/// username; with the room's totals.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantPage {
    pub participants: Vec<Participant>,
    pub participant_count: i64,
    /// Participants who show online (or away or busy) to the caller.
    pub online_count: i64,
    pub has_more: bool,
    /// Pass as `after` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// `room_participant_count`: a room's counts after people joined or left.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomCountUpdate {
    pub room_id: RoomId,
    pub participant_count: i64,
    pub online_count: i64,
}

/// Where a participant page starts: after this (role rank, folded username).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantCursor {
    pub role_rank: i64,
    pub name_key: String,
}

impl ParticipantCursor {
    pub fn encode(&self) -> String {
        format!("{}:{}", self.role_rank, self.name_key)
    }

    /// 422 `invalid_cursor` for anything `encode` did not make.
    pub fn decode(text: &str) -> Result<ParticipantCursor, AppError> {
        let invalid =
            || AppError::validation("invalid_cursor", "after must be a next_cursor from an earlier page");
        let (rank, name) = text.split_once(':').ok_or_else(invalid)?;
        let role_rank = match rank {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            _ => return Err(invalid()),
        };
        if name.chars().count() > 64 {
            return Err(invalid());
        }
        Ok(ParticipantCursor { role_rank, name_key: name.to_owned() })
    }
}

text_enum! {
    /// `status` filter of a participant list.
    pub enum ParticipantFilter {
        /// Everyone.
        All = "all",
        /// Those who show online, away or busy.
        Online = "online",
    }
}

/// `GET /api/chat/rooms/{id}/participants` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ParticipantQuery {
    /// 1–200, default 100.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// A `next_cursor` from the previous page.
    #[param(pattern = "^[0-2]:[\\s\\S]{0,64}$")]
    pub after: Option<String>,
    /// `online`: only those who show online, away or busy.
    pub status: Option<ParticipantFilter>,
    /// Username or display-name prefix (case-insensitive), e.g. for @mention autocomplete.
    #[param(max_length = 64, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub q: Option<String>,
}

/// `POST /api/chat/rooms` body: a type, the settings to start with (any of
/// [`RoomSettings`]; `name` is required except for direct messages and support rooms),
/// an optional event and the first participants.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRoom {
    /// Any type but `event`: event rooms come with their event (`POST /api/events`).
    #[serde(rename = "type")]
    #[schema(value_type = CreatableRoomType)]
    pub room_type: RoomType,
    pub event_id: Option<i64>,
    /// Users to add (at most 100). A `private` room with exactly one other user is a
    /// direct message.
    #[schema(max_items = 100)]
    pub participant_ids: Option<Vec<UserId>>,
    #[serde(flatten)]
    pub settings: RoomSettingsPatch,
}

/// The room types a client may create, for the API document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum CreatableRoomType {
    Private,
    Group,
    Support,
    General,
}

/// `POST /api/chat/rooms/{id}/participants` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddParticipants {
    /// 1–100 users.
    #[schema(min_items = 1, max_items = 100)]
    pub user_ids: Vec<UserId>,
}

/// `PUT /api/chat/rooms/{id}/preferences` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePreferences {
    pub notifications: Option<NotificationLevel>,
    pub sound: Option<bool>,
}

/// `POST /api/chat/rooms/{id}/read` body (`mark_read` adds `room_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkRead {
    /// The newest message the user has seen.
    pub message_id: MessageId,
}

/// What `join_chat_room` takes beside `room_id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OpenRoom {
    /// The last message the client saw: everything newer is replayed.
    pub since: Option<MessageId>,
}

/// What `leave_chat_room` takes beside `room_id`.
pub type LeaveRoom = NoBody;

pub fn validate_name(name: &str) -> Result<String, AppError> {
    trimmed_text("name", name, 1, NAME_MAX)
}

pub fn validate_description(description: &str) -> Result<String, AppError> {
    trimmed_text("description", description, 0, DESCRIPTION_MAX)
}

/// The key that makes a direct message unique per pair of users.
pub fn direct_key(a: UserId, b: UserId) -> String {
    format!("{}:{}", a.min(b), a.max(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owners_and_admins_hold_everything_moderators_their_grants_members_nothing() {
        for p in Permission::ALL {
            assert!(holds(Some(ParticipantRole::Owner), &[], false, *p));
            assert!(holds(None, &[], true, *p));
            assert!(!holds(Some(ParticipantRole::Member), Permission::ALL, false, *p));
            assert!(!holds(None, &[], false, *p));
            assert!(holds(Some(ParticipantRole::Moderator), &[*p], false, *p));
        }
        assert!(!holds(Some(ParticipantRole::Moderator), &[Permission::Mute], false, Permission::Kick));
        let legacy = stored_permissions(None);
        assert!(holds(Some(ParticipantRole::Moderator), &legacy, false, Permission::DeleteMessages));
        assert!(!holds(Some(ParticipantRole::Moderator), &legacy, false, Permission::ManageModerators));
        assert_eq!(store_permissions(&[Permission::Kick, Permission::Mute, Permission::Kick]), "mute,kick");
        assert_eq!(stored_permissions(Some("mute,kick,bogus")), [Permission::Mute, Permission::Kick]);
    }

    #[test]
    fn direct_key_ignores_order() {
        assert_eq!(direct_key(7, 3), direct_key(3, 7));
        assert_eq!(direct_key(3, 7), "3:7");
    }

    fn patch(value: Value) -> RoomSettingsPatch {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn patch_changes_only_given_fields_and_validates() {
        let current = RoomSettings { is_public: true, ..RoomSettings::new("Lobby".into()) };
        let next = patch(json!({"name": "  Hall ", "allow_files": false, "description": null, "color": 1}))
            .apply(&current)
            .unwrap();
        assert_eq!(next.name, "Hall");
        assert!(!next.allow_files && next.is_public && next.description.is_empty());
        assert_eq!(current.changed_fields(&next), ["allow_files", "name"]);
        assert_eq!(patch(json!({"name": " "})).apply(&current).unwrap_err().code(), "invalid_field");
        let err = patch(json!({"is_public": "yes"})).apply(&current).unwrap_err();
        assert_eq!(
            (err.code(), err.to_string()),
            ("invalid_field", "is_public must be true or false, not text".into())
        );
        // A patch that names no setting changes nothing.
        assert_eq!(patch(json!({})).apply(&current).unwrap(), current);
        assert_eq!(patch(json!({"color": 1, "name": null})).apply(&current).unwrap(), current);
        assert_ne!(patch(json!({"allow_voice": false})).apply(&current).unwrap(), current);
    }

    #[test]
    fn patch_schema_is_the_settings_schema_with_nothing_required() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(RoomSettingsPatch::schema()).unwrap();
        let full = serde_json::to_value(<RoomSettings as PartialSchema>::schema()).unwrap();
        // The same settings, each of which may also be null ("unchanged").
        let properties = full["properties"].as_object().unwrap();
        assert_eq!(schema["properties"].as_object().unwrap().len(), properties.len());
        for (name, setting) in properties {
            let mut nullable = setting.clone();
            match setting["type"].as_str() {
                Some(kind) => nullable["type"] = serde_json::json!([kind, "null"]),
                None => nullable = serde_json::json!({"oneOf": [setting, {"type": "null"}]}),
            }
            assert_eq!(schema["properties"][name], nullable, "{name}");
        }
        let settings = RoomSettings::new(String::new()).to_map().len();
        assert!(full["required"].as_array().is_some_and(|r| r.len() == settings), "{full}");
        assert!(schema.get("required").is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)), "{schema}");
    }
}
