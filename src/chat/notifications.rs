//! Notifications: mentions (and `@room`/`@here` from moderators), replies and direct
//! messages; each is stored (the notifications list, with unread state) and pushed to
//! the user's sockets, as their per-room preference allows.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::to_rfc3339;
use crate::domain::message::{self, Message};
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::page_limit;
use crate::domain::presence::PresenceStatus;
use crate::domain::room::NotificationLevel;
use crate::domain::user::UserId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::RoomRow;

pub const LIST_LIMIT_DEFAULT: i64 = 50;
pub const LIST_LIMIT_MAX: i64 = 100;

/// `GET /api/chat/notifications` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct NotificationsQuery {
    /// Only notifications with ids below this (keyset pagination).
    pub before: Option<i64>,
    pub unread_only: Option<bool>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
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

/// Who a new message may concern besides its room.
pub struct Told<'a> {
    /// Participants named with `@username`, with their notification levels.
    pub mentioned: &'a [(UserId, NotificationLevel)],
    /// The sender of the message this one replies to.
    pub replied_to: Option<UserId>,
    /// Whether the sender moderates the room (`@room` and `@here` are theirs to use).
    pub moderates: bool,
}

/// Whether `text` addresses the whole room: `@room`, or `@here` (only those online).
fn room_wide(text: &str) -> Option<bool> {
    let names = message::mentioned_usernames(text);
    if names.iter().any(|n| n == "room") {
        Some(false)
    } else if names.iter().any(|n| n == "here") {
        Some(true)
    } else {
        None
    }
}

/// Notifies whom a new message concerns, once each, by priority: those mentioned (and,
/// from a moderator, everyone with `@room` or everyone online with `@here`), the sender
/// of the message replied to, and the other user of a direct message. Per-room levels
/// decide: `none` hears nothing, `mentions` mentions and replies, `all` everything. A
/// sender never notifies themselves.
pub async fn notify(
    state: &AppState,
    sender: &AuthUser,
    room: &RoomRow,
    message: &Message,
    told: Told<'_>,
) -> AppResult<()> {
    let me = sender.user.id;
    let mut recipients: Vec<(UserId, NotificationKind)> = Vec::new();
    let mut add = |user_id: UserId, level: NotificationLevel, kind: NotificationKind| {
        let wanted = match level {
            NotificationLevel::None => false,
            NotificationLevel::Mentions => kind != NotificationKind::Direct,
            NotificationLevel::All => true,
        };
        if wanted && user_id != me && !recipients.iter().any(|(id, _)| *id == user_id) {
            recipients.push((user_id, kind));
        }
    };
    for (user_id, level) in told.mentioned {
        add(*user_id, *level, NotificationKind::Mention);
    }
    let wide = if told.moderates { room_wide(&message.content.clone().unwrap_or_default()) } else { None };
    let needs_levels = wide.is_some() || told.replied_to.is_some() || room.direct_key.is_some();
    let levels = if needs_levels { state.store.participant_levels(room.room_id).await? } else { Vec::new() };
    if let Some(online_only) = wide {
        for (user_id, level) in &levels {
            let online = state.presence.view(*user_id, *user_id).status != PresenceStatus::Offline;
            if online || !online_only {
                add(*user_id, *level, NotificationKind::Mention);
            }
        }
    }
    if let Some(parent_sender) = told.replied_to
        && let Some((_, level)) = levels.iter().find(|(id, _)| *id == parent_sender)
    {
        add(parent_sender, *level, NotificationKind::Reply);
    }
    if room.direct_key.is_some() {
        for (user_id, level) in &levels {
            add(*user_id, *level, NotificationKind::Direct);
        }
    }
    if recipients.is_empty() {
        return Ok(());
    }
    let now = state.clock.now_ms();
    let ids =
        state.store.insert_notifications(&recipients, message.room_id, Some(message.id), me, now).await?;
    for ((user_id, kind), id) in recipients.into_iter().zip(ids) {
        let notification = Notification {
            id,
            kind,
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

/// Marks one of the caller's notifications read; 404 if it is not theirs.
pub async fn mark_one_read(
    state: &AppState,
    caller: &AuthUser,
    notification_id: i64,
) -> AppResult<Notification> {
    state
        .store
        .mark_notification_read(caller.user.id, notification_id, state.clock.now_ms())
        .await?
        .map(Notification::from)
        .ok_or(AppError::NotFound("notification"))
}

/// How many of the caller's notifications are unread.
pub async fn unread_count(state: &AppState, caller: &AuthUser) -> AppResult<UnreadCount> {
    Ok(UnreadCount { unread_count: state.store.unread_notification_count(caller.user.id).await? })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread_count: i64,
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
