//! Calendar events: create (the caller organizes it), list, read, register as attendee.
//! Each event gets its own room when it is created.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::{Millis, parse_rfc3339};
use crate::domain::calendar::{CalendarEvent, CalendarEventId, CreateCalendarEvent, NewCalendarEvent};
use crate::domain::page_limit;
use crate::domain::room::{self, RoomSettings};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const LIST_LIMIT_DEFAULT: i64 = 50;
pub const LIST_LIMIT_MAX: i64 = 100;

/// `GET /api/events` query.
#[derive(Debug, Default, Deserialize, IntoParams, ToSchema)]
pub struct ListCalendarEvents {
    /// Only events starting at or after this RFC 3339 time.
    pub from: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

/// Creates an event organized by the caller.
pub async fn create_event(
    state: &AppState,
    caller: &AuthUser,
    req: CreateCalendarEvent,
) -> AppResult<CalendarEvent> {
    let new = req.validate()?;
    let room = event_room_settings(&new);
    let (event_id, room_id) =
        state.store.insert_event(caller.user.id, &new, &room, state.clock.now_ms()).await?;
    // The organizer's open sockets follow the new room at once.
    if let Some(room) = state.store.room(room_id).await? {
        let created = ChatEvent::RoomCreated { room: room.to_room(), participant_ids: vec![caller.user.id] };
        state.publisher.publish(created).await;
    }
    get_event(state, caller, event_id).await
}

/// An event's own room: named after it, open to its organizer and attendees only.
fn event_room_settings(event: &NewCalendarEvent) -> RoomSettings {
    RoomSettings::new(event.title.chars().take(room::NAME_MAX).collect())
}

pub async fn get_event(
    state: &AppState,
    caller: &AuthUser,
    event_id: CalendarEventId,
) -> AppResult<CalendarEvent> {
    state.store.event(event_id, caller.user.id).await?.ok_or(AppError::NotFound("event"))
}

pub async fn list_events(
    state: &AppState,
    caller: &AuthUser,
    query: ListCalendarEvents,
) -> AppResult<Vec<CalendarEvent>> {
    let limit = page_limit(query.limit, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)?;
    let from: Millis = match query.from.as_deref() {
        Some(text) => parse_rfc3339(text)
            .ok_or_else(|| AppError::validation("invalid_time", "from must be an RFC 3339 time"))?,
        None => Millis::MIN,
    };
    Ok(state.store.list_events(caller.user.id, from, limit).await?)
}

/// Registers the caller as an attendee; registering again is harmless.
pub async fn register_attendee(
    state: &AppState,
    caller: &AuthUser,
    event_id: CalendarEventId,
) -> AppResult<CalendarEvent> {
    get_event(state, caller, event_id).await?;
    state.store.add_attendee(event_id, caller.user.id, state.clock.now_ms()).await?;
    get_event(state, caller, event_id).await
}
