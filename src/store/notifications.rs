//! `notification`: what a user is told about outside the room they are looking at.

use sqlx::FromRow;

use super::users::UserRow;
use super::{Store, in_transaction, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::user::UserId;

#[derive(Debug, FromRow)]
pub struct NotificationRow {
    pub notification_id: i64,
    pub kind: NotificationKind,
    pub room_id: i64,
    pub message_id: Option<i64>,
    pub created_at: i64,
    pub read_at: Option<i64>,
    #[sqlx(flatten)]
    pub actor: UserRow,
}

impl From<NotificationRow> for Notification {
    fn from(row: NotificationRow) -> Self {
        Notification {
            id: row.notification_id,
            kind: row.kind,
            room_id: row.room_id,
            message_id: row.message_id,
            actor: row.actor.into(),
            created_at: to_rfc3339(row.created_at),
            read_at: row.read_at.map(to_rfc3339),
        }
    }
}

macro_rules! select_notification {
    () => {
        "SELECT n.notification_id, n.kind, n.room_id, n.message_id, n.created_at, n.read_at, \
         u.user_id, u.username, u.display_name, u.role \
         FROM notification n JOIN app_user u ON u.user_id = n.actor_id"
    };
}

impl Store {
    /// Records one notification per recipient, of its kind; returns their ids in
    /// recipient order.
    pub async fn insert_notifications(
        &self,
        recipients: &[(UserId, NotificationKind)],
        room_id: i64,
        message_id: Option<i64>,
        actor: UserId,
        now: Millis,
    ) -> Result<Vec<i64>, sqlx::Error> {
        const SQL: &str = "INSERT INTO notification (user_id, kind, room_id, message_id, actor_id, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING notification_id";
        in_transaction!(self, |tx| {
            let mut ids = Vec::with_capacity(recipients.len());
            for (user_id, kind) in recipients {
                let (id,): (i64,) = sqlx::query_as(SQL)
                    .bind(user_id)
                    .bind(kind.as_str())
                    .bind(room_id)
                    .bind(message_id)
                    .bind(actor)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// A user's notifications, newest first, before the keyset `before`.
    pub async fn notifications(
        &self,
        user_id: UserId,
        before: i64,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, sqlx::Error> {
        const SQL: &str = concat!(
            select_notification!(),
            " WHERE n.user_id = $1 AND n.notification_id < $2 AND ($3 = FALSE OR n.read_at IS NULL) \
             ORDER BY n.notification_id DESC LIMIT +$4"
        );
        with_pool!(self, reader, |pool| {
            sqlx::query_as(SQL).bind(user_id).bind(before).bind(unread_only).bind(limit).fetch_all(pool).await
        })
    }

    /// Marks one of the user's notifications read (if not already); `None` if it is not
    /// theirs.
    pub async fn mark_notification_read(
        &self,
        user_id: UserId,
        notification_id: i64,
        now: Millis,
    ) -> Result<Option<NotificationRow>, sqlx::Error> {
        const MARK: &str = "UPDATE notification SET read_at = $3 \
            WHERE user_id = $1 AND notification_id = $2 AND read_at IS NULL";
        const SQL: &str = concat!(select_notification!(), " WHERE n.user_id = $1 AND n.notification_id = $2");
        with_pool!(self, writer, |pool| {
            sqlx::query(MARK).bind(user_id).bind(notification_id).bind(now).execute(pool).await?;
            sqlx::query_as(SQL).bind(user_id).bind(notification_id).fetch_optional(pool).await
        })
    }

    pub async fn unread_notification_count(&self, user_id: UserId) -> Result<i64, sqlx::Error> {
        const SQL: &str = "SELECT COUNT(*) FROM notification WHERE user_id = $1 AND read_at IS NULL";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (i64,)>(SQL).bind(user_id).fetch_one(pool).await.map(|(n,)| n)
        })
    }

    /// Marks a user's notifications up to `up_to` (all with `i64::MAX`) read; returns how many.
    pub async fn mark_notifications_read(
        &self,
        user_id: UserId,
        up_to: i64,
        now: Millis,
    ) -> Result<u64, sqlx::Error> {
        const SQL: &str = "UPDATE notification SET read_at = $3 \
            WHERE user_id = $1 AND notification_id <= $2 AND read_at IS NULL";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL)
                .bind(user_id)
                .bind(up_to)
                .bind(now)
                .execute(pool)
                .await
                .map(|d| d.rows_affected())
        })
    }
}
