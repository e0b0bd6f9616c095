//! `message_pin`: a room's pinned messages.

use sqlx::FromRow;

use super::{Store, in_transaction, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::message::{MessageId, PinnedMessage};
use crate::domain::room::RoomId;
use crate::domain::user::{Role, User, UserId};

#[derive(Debug, FromRow)]
struct PinRow {
    message_id: i64,
    room_id: i64,
    pinned_at: i64,
    user_id: Option<i64>,
    username: Option<String>,
    display_name: Option<String>,
    role: Option<Role>,
}

const SELECT_PINS: &str = "SELECT x.message_id, x.room_id, x.pinned_at, u.user_id, u.username, u.display_name, u.role \
    FROM message_pin x LEFT JOIN app_user u ON u.user_id = x.pinned_by";

impl Store {
    /// Pins a message unless it is pinned already or its room holds `max` pins; returns
    /// whether it was pinned now. One transaction, so two pins racing for the last
    /// place cannot both win (SQLite has one writer; PostgreSQL locks the room row).
    pub async fn pin_message(
        &self,
        room_id: RoomId,
        message_id: MessageId,
        by: UserId,
        max: i64,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const LOCK_ROOM: &str = "UPDATE room SET last_change = last_change WHERE room_id = $1";
        const EXISTS: &str = "SELECT COUNT(*) FROM message_pin WHERE message_id = $1";
        const COUNT: &str = "SELECT COUNT(*) FROM message_pin WHERE room_id = $1";
        const INSERT: &str =
            "INSERT INTO message_pin (message_id, room_id, pinned_by, pinned_at) VALUES ($1, $2, $3, $4)";
        in_transaction!(self, |tx| {
            sqlx::query(LOCK_ROOM).bind(room_id).execute(&mut *tx).await?;
            let (pinned,): (i64,) = sqlx::query_as(EXISTS).bind(message_id).fetch_one(&mut *tx).await?;
            let (count,): (i64,) = sqlx::query_as(COUNT).bind(room_id).fetch_one(&mut *tx).await?;
            if pinned > 0 || count >= max {
                return Ok(false);
            }
            sqlx::query(INSERT).bind(message_id).bind(room_id).bind(by).bind(now).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Unpins a message; false if it was not pinned.
    pub async fn unpin_message(&self, message_id: MessageId) -> Result<bool, sqlx::Error> {
        const SQL: &str = "DELETE FROM message_pin WHERE message_id = $1";
        let done = with_pool!(self, writer, |pool| sqlx::query(SQL)
            .bind(message_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    /// One pin with its message, as `viewer` sees it.
    pub async fn pin(
        &self,
        message_id: MessageId,
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<Option<PinnedMessage>, sqlx::Error> {
        let sql = format!("{SELECT_PINS} WHERE x.message_id = $1");
        let rows: Vec<PinRow> =
            with_pool!(self, reader, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(message_id)
                .fetch_all(pool)
                .await)?;
        Ok(self.with_messages(rows, viewer, now).await?.pop())
    }

    /// A room's pins, newest first.
    pub async fn pins(
        &self,
        room_id: RoomId,
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<Vec<PinnedMessage>, sqlx::Error> {
        let sql = format!("{SELECT_PINS} WHERE x.room_id = $1 ORDER BY x.pinned_at DESC, x.message_id DESC");
        let rows: Vec<PinRow> =
            with_pool!(self, reader, |pool| sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(room_id)
                .fetch_all(pool)
                .await)?;
        self.with_messages(rows, viewer, now).await
    }

    async fn with_messages(
        &self,
        rows: Vec<PinRow>,
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<Vec<PinnedMessage>, sqlx::Error> {
        let ids: Vec<MessageId> = rows.iter().map(|r| r.message_id).collect();
        let mut messages = self.messages_by_ids(&ids, viewer, now).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let at = messages.iter().position(|m| m.id == row.message_id)?;
                let message = messages.swap_remove(at);
                let pinned_by = match (row.user_id, row.username, row.display_name, row.role) {
                    (Some(id), Some(username), Some(display_name), Some(role)) => {
                        Some(User { id, username, display_name, role })
                    }
                    _ => None,
                };
                Some(PinnedMessage {
                    message_id: row.message_id,
                    room_id: row.room_id,
                    pinned_by,
                    pinned_at: to_rfc3339(row.pinned_at),
                    message,
                })
            })
            .collect())
    }
}
