//! `/api/events*`: calendar events and attendee registration.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path, Query};
use crate::auth::AuthUser;
use crate::chat::calendar::{self, ListCalendarEvents};
use crate::domain::calendar::{CalendarEvent, CalendarEventId, CreateCalendarEvent};
use crate::domain::moderation::{BanRequest, EventBanNotice, UnbanRequest};
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_event, list_events))
        .routes(routes!(get_event))
        .routes(routes!(register_attendee))
        .routes(routes!(ban_from_event))
        .routes(routes!(unban_from_event))
        .routes(routes!(announce))
}

/// # `POST /api/events/{id}/announcements`
///
/// The organizer (or an admin) posts an `event_update` message in every room of the
/// event at once, delivered live and counted as `announcement_count` in each room
/// list; `notify_attendees` also notifies everyone registered.
#[utoipa::path(post, path = "/api/events/{id}/announcements", tag = "events", params(("id" = i64, Path)),
    request_body = calendar::Announce, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, body = calendar::Announcement),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "`invalid_content`", body = ErrorBody),
    ))]
async fn announce(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(event_id): Path<CalendarEventId>,
    Json(req): Json<calendar::Announce>,
) -> AppResult<(StatusCode, axum::Json<calendar::Announcement>)> {
    Ok((StatusCode::CREATED, axum::Json(calendar::announce(&state, &auth, event_id, req).await?)))
}

/// `GET /api/events` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarEventList {
    pub events: Vec<CalendarEvent>,
}

/// # `POST /api/events`
///
/// Creates an event; the caller becomes its organizer.
#[utoipa::path(post, path = "/api/events", tag = "events", request_body = CreateCalendarEvent,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created", body = CalendarEvent),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, description = "`invalid_field`, `invalid_time`", body = ErrorBody),
    ))]
async fn create_event(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(req): Json<CreateCalendarEvent>,
) -> AppResult<(StatusCode, axum::Json<CalendarEvent>)> {
    let event = calendar::create_event(&state, &auth, req).await?;
    Ok((StatusCode::CREATED, axum::Json(event)))
}

/// # `GET /api/events`
///
/// Events in start order.
#[utoipa::path(get, path = "/api/events", tag = "events", params(ListCalendarEvents),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Events", body = CalendarEventList),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 422, description = "`invalid_limit`, `invalid_time`", body = ErrorBody),
    ))]
async fn list_events(
    State(state): State<AppState>,
    auth: AuthUser,
    Query(query): Query<ListCalendarEvents>,
) -> AppResult<axum::Json<CalendarEventList>> {
    let events = calendar::list_events(&state, &auth, query).await?;
    Ok(axum::Json(CalendarEventList { events }))
}

/// # `GET /api/events/{id}`
#[utoipa::path(get, path = "/api/events/{id}", tag = "events", params(("id" = i64, Path, description = "Event id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The event", body = CalendarEvent),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn get_event(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(event_id): Path<CalendarEventId>,
) -> AppResult<axum::Json<CalendarEvent>> {
    Ok(axum::Json(calendar::get_event(&state, &auth, event_id).await?))
}

/// # `POST /api/events/{id}/register`
///
/// Registers the caller as an attendee (idempotent).
#[utoipa::path(post, path = "/api/events/{id}/register", tag = "events", params(("id" = i64, Path, description = "Event id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Registered; the event with `is_attendee: true`", body = CalendarEvent),
        (status = 404, description = "`not_found`", body = ErrorBody),
    ))]
async fn register_attendee(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(event_id): Path<CalendarEventId>,
) -> AppResult<axum::Json<CalendarEvent>> {
    Ok(axum::Json(calendar::register_attendee(&state, &auth, event_id).await?))
}

/// # `POST /api/events/{id}/ban`
///
/// Bans a user from every room of the event, also rooms created later (the organizer or
/// an admin); each room's moderation log records it.
#[utoipa::path(post, path = "/api/events/{id}/ban", tag = "moderation", params(("id" = i64, Path)),
    request_body = BanRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = EventBanNotice),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn ban_from_event(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(event_id): Path<CalendarEventId>,
    Json(req): Json<BanRequest>,
) -> AppResult<axum::Json<EventBanNotice>> {
    Ok(axum::Json(crate::chat::moderation::ban_from_event(&state, &auth, event_id, req).await?))
}

/// # `POST /api/events/{id}/unban`
#[utoipa::path(post, path = "/api/events/{id}/unban", tag = "moderation", params(("id" = i64, Path)),
    request_body = UnbanRequest, security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, body = EventBanNotice),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn unban_from_event(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(event_id): Path<CalendarEventId>,
    Json(req): Json<UnbanRequest>,
) -> AppResult<axum::Json<EventBanNotice>> {
    Ok(axum::Json(crate::chat::moderation::unban_from_event(&state, &auth, event_id, req).await?))
}
