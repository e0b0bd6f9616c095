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
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
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

/// `POST /api/events/{id}/announcements` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Announce {
    /// 1–4000 characters.
    #[schema(max_length = 4000, pattern = "non_blank_text")]
    pub content: String,
    /// Also notify everyone registered to the event (a notification of kind
    /// `announcement` each), not only the rooms.
    #[serde(default)]
    pub notify_attendees: bool,
}

/// What an announcement produced.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Announcement {
    pub event_id: CalendarEventId,
    /// The `event_update` message posted in each room of the event.
    pub messages: Vec<crate::domain::message::Message>,
    /// How many attendees were notified.
    pub notified: usize,
}

/// Posts an `event_update` message in every room of the event (the organizer or an
/// admin), delivered live and counted in each room's `announcement_count`; with
/// `notify_attendees`, every registered attendee also gets a notification.
pub async fn announce(
    state: &AppState,
    caller: &AuthUser,
    event_id: CalendarEventId,
    req: Announce,
) -> AppResult<Announcement> {
    use crate::domain::message::{MessageType, NewMessage, validate_content};
    use crate::domain::notification::{Notification, NotificationKind};
    use crate::domain::user::Role;
    use crate::store::InsertedMessage;
    let organizer = state.store.event_organizer(event_id).await?.ok_or(AppError::NotFound("event"))?;
    if organizer != caller.user.id && caller.user.role != Role::Admin {
        return Err(AppError::forbidden("only the event's organizer or an admin makes announcements"));
    }
    let content = validate_content(&req.content)?;
    let now = state.clock.now_ms();
    let rooms = state.store.rooms_of_event(event_id).await?;
    let mut messages = Vec::with_capacity(rooms.len());
    for room in &rooms {
        let new = NewMessage {
            message_type: MessageType::EventUpdate,
            content: content.clone(),
            reply_to: None,
            client_id: None,
            poll: None,
            attachment: None,
        };
        let in_order = state.send_order.lock(room.room_id).await;
        let InsertedMessage::Created(id) =
            state.store.insert_message(room.room_id, Some(caller.user.id), &new, &[], now).await?
        else {
            return Err(AppError::internal("announcement stored as a duplicate"));
        };
        let message = state.store.message(id, None, now).await?.ok_or(AppError::NotFound("message"))?;
        state.publisher.publish(ChatEvent::MessageCreated(message.clone())).await;
        drop(in_order);
        messages.push(message);
    }
    let mut notified = 0;
    if req.notify_attendees
        && let Some(first) = messages.first()
    {
        let attendees = state.store.attendee_ids(event_id).await?;
        let recipients: Vec<_> = attendees
            .into_iter()
            .filter(|id| *id != caller.user.id)
            .map(|id| (id, NotificationKind::Announcement))
            .collect();
        let ids = state
            .store
            .insert_notifications(&recipients, first.room_id, Some(first.id), caller.user.id, now)
            .await?;
        notified = ids.len();
        for ((user_id, kind), id) in recipients.into_iter().zip(ids) {
            let notification = Notification {
                id,
                kind,
                room_id: first.room_id,
                message_id: Some(first.id),
                actor: caller.user.clone(),
                created_at: crate::clock::to_rfc3339(now),
                read_at: None,
            };
            state.publisher.publish(ChatEvent::Notification { user_id, notification }).await;
        }
    }
    Ok(Announcement { event_id, messages, notified })
}
