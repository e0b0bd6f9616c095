//! Notifications: mentions now; each is stored (the notifications list) and pushed to
//! the user's sockets, unless their room preference is `none`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::to_rfc3339;
use crate::domain::message::Message;
use crate::domain::room::NotificationLevel;
use crate::domain::user::{User, UserId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::NotificationRow;

pub const LIST_LIMIT_MAX: i64 = 100;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: i64,
    /// `mention`.
    pub kind: String,
    pub room_id: i64,
    pub message_id: Option<i64>,
    /// Who caused it.
    pub actor: User,
    pub created_at: String,
    pub read_at: Option<String>,
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

/// `GET /api/chat/notifications` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct NotificationsQuery {
    /// Only notifications with ids below this (keyset pagination).
    pub before: Option<i64>,
    pub unread_only: Option<bool>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
}

/// `POST /api/chat/notifications/read` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct MarkNotificationsRead {
    /// Marks notifications up to and including this id; all when absent.
    pub up_to: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

/// Notifies each mentioned participant (not the sender, not those who chose `none`).
pub async fn notify_mentions(
    state: &AppState,
    sender: &AuthUser,
    message: &Message,
    mentioned: &[(UserId, String)],
) -> AppResult<()> {
    let recipients: Vec<UserId> = mentioned
        .iter()
        .filter(|(id, level)| {
            *id != sender.user.id && NotificationLevel::from_stored(level) != NotificationLevel::None
        })
        .map(|(id, _)| *id)
        .collect();
    if recipients.is_empty() {
        return Ok(());
    }
    let now = state.clock.now_ms();
    let ids = state
        .store
        .insert_notifications(&recipients, "mention", message.room_id, Some(message.id), sender.user.id, now)
        .await?;
    for (user_id, id) in recipients.into_iter().zip(ids) {
        let notification = Notification {
            id,
            kind: "mention".into(),
            room_id: message.room_id,
            message_id: Some(message.id),
            actor: sender.user.clone(),
            created_at: to_rfc3339(now),
            read_at: None,
        };
        state.broadcaster.publish(ChatEvent::Notification { user_id, notification }).await;
    }
    Ok(())
}

pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    query: NotificationsQuery,
) -> AppResult<Vec<Notification>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=LIST_LIMIT_MAX).contains(&limit) {
        return Err(AppError::validation("invalid_limit", format!("limit must be 1–{LIST_LIMIT_MAX}")));
    }
    let rows = state
        .store
        .notifications(
            caller.user.id,
            query.before.unwrap_or(i64::MAX),
            query.unread_only.unwrap_or(false),
            limit,
        )
        .await?;
    Ok(rows.into_iter().map(Notification::from).collect())
}

pub async fn mark_read(
    state: &AppState,
    caller: &AuthUser,
    req: MarkNotificationsRead,
) -> AppResult<MarkedRead> {
    let marked = state
        .store
        .mark_notifications_read(caller.user.id, req.up_to.unwrap_or(i64::MAX), state.clock.now_ms())
        .await?;
    Ok(MarkedRead { marked })
}
