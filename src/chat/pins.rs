//! Pinned messages (SPEC §7a): what a room keeps in view, at most [`PINS_MAX`] per room.
//! Pinning and unpinning take `manage_room`; everyone who reads the room sees the pins.

use super::access::RoomAccess;
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::domain::message::{MessageId, PinList, PinnedMessage, Unpinned};
use crate::domain::room::{Permission, RoomId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Most pins a room holds.
pub const PINS_MAX: i64 = 50;

/// The room of a message the caller may pin or unpin (`manage_room` there); with
/// `pinning`, the message must not be deleted.
async fn pin_room(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
    pinning: bool,
) -> AppResult<RoomId> {
    let facts = state.store.message_facts(message_id).await?.ok_or(AppError::NotFound("message"))?;
    let access = RoomAccess::load(state, caller, facts.room_id).await.map_err(|err| match err {
        AppError::NotFound(_) => AppError::NotFound("message"),
        other => other,
    })?;
    access.require(Permission::ManageRoom)?;
    if pinning && facts.deleted_at.is_some() {
        return Err(AppError::conflict("message_deleted", "a deleted message cannot be pinned"));
    }
    Ok(facts.room_id)
}

/// Pins a message; pinning it again changes nothing. 409 `pin_limit_reached` at 50.
pub async fn pin(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
) -> AppResult<(PinnedMessage, bool)> {
    let room_id = pin_room(state, caller, message_id, true).await?;
    let now = state.clock.now_ms();
    let added = state.store.pin_message(room_id, message_id, caller.user.id, PINS_MAX, now).await?;
    let pin = state.store.pin(message_id, Some(caller.user.id), now).await?.ok_or_else(|| {
        AppError::conflict(
            "pin_limit_reached",
            format!("a room keeps at most {PINS_MAX} pins; unpin one first"),
        )
    })?;
    if added {
        state.publisher.publish(ChatEvent::MessagePinned(pin.clone().for_broadcast())).await;
    }
    Ok((pin, added))
}

/// Unpins a message; 404 when it is not pinned.
pub async fn unpin(state: &AppState, caller: &AuthUser, message_id: MessageId) -> AppResult<Unpinned> {
    let room_id = pin_room(state, caller, message_id, false).await?;
    if !state.store.unpin_message(message_id).await? {
        return Err(AppError::NotFound("pin"));
    }
    let unpinned = Unpinned { message_id, room_id };
    state.publisher.publish(ChatEvent::MessageUnpinned(unpinned.clone())).await;
    Ok(unpinned)
}

/// The room's pins, newest first: for its readers.
pub async fn list(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<PinList> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_reader(state, caller).await?;
    Ok(PinList { pins: state.store.pins(room_id, Some(caller.user.id), state.clock.now_ms()).await? })
}
