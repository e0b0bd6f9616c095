//! `event` and `event_attendee`: calendar events and who is registered.

use sqlx::FromRow;

use super::rooms::{NewRoom, insert_room_in};
use super::users::UserRow;
use super::{Store, in_transaction, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::calendar::{CalendarEvent, CalendarEventId, NewCalendarEvent};
use crate::domain::room::{ParticipantRole, RoomId, RoomSettings, RoomType};
use crate::domain::user::UserId;

/// An event with its organizer, attendee count and the viewer's registration.
#[derive(Debug, FromRow)]
pub struct CalendarEventRow {
    event_id: i64,
    title: String,
    starts_at: i64,
    ends_at: Option<i64>,
    created_at: i64,
    #[sqlx(flatten)]
    organizer: UserRow,
    attendee_count: i64,
    is_attendee: bool,
}

impl From<CalendarEventRow> for CalendarEvent {
    fn from(row: CalendarEventRow) -> CalendarEvent {
        CalendarEvent {
            id: row.event_id,
            title: row.title,
            starts_at: to_rfc3339(row.starts_at),
            ends_at: row.ends_at.map(to_rfc3339),
            organizer: row.organizer.into(),
            attendee_count: row.attendee_count,
            is_attendee: row.is_attendee,
            created_at: to_rfc3339(row.created_at),
        }
    }
}

/// `$1` is the viewing user. A macro so that queries extending it stay `&'static str`.
macro_rules! select_event {
    () => {
        "SELECT e.event_id, e.title, e.starts_at, e.ends_at, e.created_at, \
    u.user_id, u.username, u.display_name, u.role, \
    (SELECT COUNT(*) FROM event_attendee a WHERE a.event_id = e.event_id) AS attendee_count, \
    EXISTS (SELECT 1 FROM event_attendee a WHERE a.event_id = e.event_id AND a.user_id = $1) AS is_attendee \
    FROM event e JOIN app_user u ON u.user_id = e.organizer_id"
    };
}

impl Store {
    /// Creates an event and its event room, owned by the organizer, in one transaction:
    /// an event never exists without its room. Returns both ids.
    pub async fn insert_event(
        &self,
        organizer: UserId,
        event: &NewCalendarEvent,
        room: &RoomSettings,
        now: Millis,
    ) -> Result<(CalendarEventId, RoomId), sqlx::Error> {
        const SQL: &str = "INSERT INTO event (title, starts_at, ends_at, organizer_id, created_at) \
            VALUES ($1, $2, $3, $4, $5) RETURNING event_id";
        in_transaction!(self, |tx| {
            let (event_id,): (i64,) = sqlx::query_as(SQL)
                .bind(&event.title)
                .bind(event.starts_at)
                .bind(event.ends_at)
                .bind(organizer)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let new = NewRoom {
                room_type: RoomType::Event,
                settings: room,
                event_id: Some(event_id),
                direct_key: None,
                created_by: organizer,
                now,
            };
            let room_id = insert_room_in!(tx, &new, &[(organizer, ParticipantRole::Owner)]);
            tx.commit().await?;
            Ok((event_id, room_id))
        })
    }

    pub async fn event(
        &self,
        event_id: CalendarEventId,
        viewer: UserId,
    ) -> Result<Option<CalendarEvent>, sqlx::Error> {
        const SQL: &str = concat!(select_event!(), " WHERE e.event_id = $2");
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, CalendarEventRow>(SQL).bind(viewer).bind(event_id).fetch_optional(pool).await
        })
        .map(|row| row.map(CalendarEvent::from))
    }

    /// Events in start order, from the first starting at or after `from`.
    pub async fn list_events(
        &self,
        viewer: UserId,
        from: Millis,
        limit: i64,
    ) -> Result<Vec<CalendarEvent>, sqlx::Error> {
        const SQL: &str =
            concat!(select_event!(), " WHERE e.starts_at >= $2 ORDER BY e.starts_at, e.event_id LIMIT +$3");
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, CalendarEventRow>(SQL)
                .bind(viewer)
                .bind(from)
                .bind(limit)
                .fetch_all(pool)
                .await
        })
        .map(|rows| rows.into_iter().map(CalendarEvent::from).collect())
    }

    /// Whether `user_id` organizes or attends the event.
    /// Everyone registered to an event.
    pub async fn attendee_ids(&self, event_id: CalendarEventId) -> Result<Vec<UserId>, sqlx::Error> {
        const SQL: &str = "SELECT user_id FROM event_attendee WHERE event_id = $1 ORDER BY user_id";
        let rows: Vec<(i64,)> =
            with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(event_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    pub async fn is_organizer_or_attendee(
        &self,
        event_id: CalendarEventId,
        user_id: UserId,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "SELECT EXISTS (SELECT 1 FROM event WHERE event_id = $1 AND organizer_id = $2) \
            OR EXISTS (SELECT 1 FROM event_attendee WHERE event_id = $1 AND user_id = $2)";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (bool,)>(SQL)
                .bind(event_id)
                .bind(user_id)
                .fetch_one(pool)
                .await
                .map(|(yes,)| yes)
        })
    }

    /// The organizer of an event, if it exists.
    pub async fn event_organizer(&self, event_id: CalendarEventId) -> Result<Option<UserId>, sqlx::Error> {
        const SQL: &str = "SELECT organizer_id FROM event WHERE event_id = $1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (i64,)>(SQL).bind(event_id).fetch_optional(pool).await
        })
        .map(|row| row.map(|(id,)| id))
    }

    /// Registers `user_id` for the event; registering twice changes nothing.
    pub async fn add_attendee(
        &self,
        event_id: CalendarEventId,
        user_id: UserId,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = "INSERT INTO event_attendee (event_id, user_id, registered_at) VALUES ($1, $2, $3) \
            ON CONFLICT (event_id, user_id) DO NOTHING";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL).bind(event_id).bind(user_id).bind(now).execute(pool).await.map(drop)
        })
    }
}
