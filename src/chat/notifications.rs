//! Notifications: mentions now; each is stored (the notifications list) and pushed to
//! the user's sockets, unless their room preference is `none`.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::to_rfc3339;
use crate::domain::message::Message;
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::page_limit;
use crate::domain::room::NotificationLevel;
use crate::domain::user::UserId;
use crate::error::AppResult;
use crate::state::AppState;

pub const LIST_LIMIT_DEFAULT: i64 = 50;
pub const LIST_LIMIT_MAX: i64 = 100;

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
    mentioned: &[(UserId, NotificationLevel)],
) -> AppResult<()> {
    let recipients: Vec<UserId> = mentioned
        .iter()
        .filter(|(id, level)| *id != sender.user.id && *level != NotificationLevel::None)
        .map(|(id, _)| *id)
        .collect();
    if recipients.is_empty() {
        return Ok(());
    }
    let now = state.clock.now_ms();
    let ids = state
        .store
        .insert_notifications(
            &recipients,
            NotificationKind::Mention,
            message.room_id,
            Some(message.id),
            sender.user.id,
            now,
        )
        .await?;
    for (user_id, id) in recipients.into_iter().zip(ids) {
        let notification = Notification {
            id,
            kind: NotificationKind::Mention,
            room_id: message.room_id,
            message_id: Some(message.id),
            actor: sender.user.clone(),
            created_at: to_rfc3339(now),
            read_at: None,
        };
        state.publisher.publish(ChatEvent::Notification { user_id, notification }).await;
    }
    Ok(())
}

pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    query: NotificationsQuery,
) -> AppResult<Vec<Notification>> {
    let limit = page_limit(query.limit, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)?;
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
