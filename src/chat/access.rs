//! Who may see, join and read a room (SPEC §3), decided in one place.
//!
//! - Seeing a room: participants, admins, anyone for public rooms and event rooms;
//!   others get 404, so private rooms do not reveal that they exist.
//! - Admins (support staff) may read and moderate any room without becoming listed
//!   participants; each such read is written to the room's moderation log.
//! - Joining: public rooms (anyone), event rooms (organizer, attendees, admins), support
//!   rooms (admins; the requester is in from the start). Private and group rooms that are
//!   not public only take users that the owner or a moderator adds.
//! - Reading: participants (and admins); writing: participants only.

use crate::auth::AuthUser;
use crate::domain::room::{ParticipantRole, Permission, RoomId, RoomType, holds, stored_permissions};
use crate::domain::user::{Role, UserId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Membership, RoomRow};

/// A room together with the caller's standing in it.
pub struct RoomAccess {
    pub room: RoomRow,
    pub membership: Option<Membership>,
    pub is_admin: bool,
    /// The caller organizes the room's event: they moderate it as its owner would.
    pub organizes_event: bool,
    /// Who organizes the room's event, if it belongs to one.
    pub event_organizer: Option<UserId>,
}

impl RoomAccess {
    /// Loads the room; 404 if it does not exist or the caller may not know it does.
    pub async fn load(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<RoomAccess> {
        let standing = state
            .store
            .room_with_membership(room_id, caller.user.id)
            .await?
            .ok_or(AppError::NotFound("room"))?;
        let access = RoomAccess {
            room: standing.room,
            membership: standing.membership,
            is_admin: caller.user.role == Role::Admin,
            organizes_event: standing.event_organizer == Some(caller.user.id),
            event_organizer: standing.event_organizer,
        };
        if access.visible() { Ok(access) } else { Err(AppError::NotFound("room")) }
    }

    fn visible(&self) -> bool {
        self.is_admin
            || self.membership.is_some()
            || self.room.settings.is_public
            || match self.room.room_type {
                RoomType::Event => true,
                RoomType::Support => self.is_admin,
                _ => false,
            }
    }

    pub fn role(&self) -> Option<ParticipantRole> {
        self.membership.as_ref().map(|m| m.role)
    }

    /// Whether the caller moderates the room: its owner, a moderator, its event's
    /// organizer, or an admin.
    pub fn moderates(&self) -> bool {
        self.is_admin
            || self.organizes_event
            || matches!(self.role(), Some(ParticipantRole::Owner | ParticipantRole::Moderator))
    }

    /// The caller's grants in the room (meaningful for moderators).
    pub fn grants(&self) -> Vec<Permission> {
        stored_permissions(self.membership.as_ref().and_then(|m| m.permissions.as_deref()))
    }

    /// Owners, the event's organizer and admins hold every permission; moderators what
    /// they were granted.
    pub fn holds(&self, permission: Permission) -> bool {
        self.organizes_event || holds(self.role(), &self.grants(), self.is_admin, permission)
    }

    /// 403 unless the caller participates.
    pub fn require_participant(&self) -> AppResult<&Membership> {
        self.membership.as_ref().ok_or_else(|| {
            AppError::forbidden_because("not_participant", "join the room first to read or write in it")
        })
    }

    /// 403 unless the caller may read the room: participants, and admins, whose reading
    /// of a room they are not in is logged.
    pub async fn require_reader(&self, state: &AppState, caller: &AuthUser) -> AppResult<()> {
        if self.membership.is_some() {
            return Ok(());
        }
        if self.is_admin {
            return super::moderation::log_admin_access(state, caller, self.room.room_id).await;
        }
        self.require_participant().map(drop)
    }

    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.holds(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!("you need the {permission:?} permission in this room")))
        }
    }

    /// Whether the caller may become a participant by themselves.
    pub async fn may_join(&self, state: &AppState, caller: &AuthUser) -> AppResult<bool> {
        Ok(match self.room.room_type {
            RoomType::Event => match self.room.event_id {
                Some(event_id) => {
                    self.is_admin || state.store.is_organizer_or_attendee(event_id, caller.user.id).await?
                }
                None => self.is_admin,
            },
            RoomType::Support => self.is_admin,
            _ => self.room.settings.is_public,
        })
    }
}
