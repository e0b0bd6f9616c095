//! Messages: send, read history, replies, edit, delete, reactions and poll votes.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::RoomAccess;
use super::moderation::FOREVER;
use super::notifications::{Told, notify};
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::{Millis, to_rfc3339};
use crate::domain::message::{
    self, Deleted, EditMessage, Message, MessageId, MessageType, NewMessage, Poll, PollUpdate, React,
    ReactionUpdate, SendMessage, Vote,
};
use crate::domain::moderation::{ModerationAction, NewModerationEntry};
use crate::domain::page_limit;
use crate::domain::room::{NotificationLevel, Permission, Posting, RoomId};
use crate::domain::user::UserId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{InsertedMessage, Membership, MessageFacts, PageQuery};

pub const HISTORY_LIMIT_DEFAULT: i64 = 50;
pub const HISTORY_LIMIT_MAX: i64 = 100;
/// Messages replayed by `join_chat_room` with `since`; beyond it, `has_more` and paging.
pub const REPLAY_LIMIT: i64 = 500;
pub const REPLIES_LIMIT: i64 = 500;

/// `GET /api/chat/rooms/{id}/messages` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Messages older than this message id.
    pub before: Option<MessageId>,
    /// Messages newer than this message id (catch-up).
    pub after: Option<MessageId>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// A page of history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    pub has_more: bool,
}

pub(super) fn require_not_muted(membership: &Membership, now: Millis) -> AppResult<()> {
    match membership.muted_until {
        Some(until) if until > now => Err(AppError::Restricted {
            code: "muted",
            message: if until >= FOREVER {
                "you are muted in this room".to_owned()
            } else {
                format!("you are muted in this room until {}", to_rfc3339(until))
            },
            until: (until < FOREVER).then_some(until),
        }),
        _ => Ok(()),
    }
}

/// The message facts, if the message exists in a room the caller can see.
async fn visible_message(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
) -> AppResult<(MessageFacts, RoomAccess)> {
    let facts = state.store.message_facts(message_id).await?.ok_or(AppError::NotFound("message"))?;
    let access = RoomAccess::load(state, caller, facts.room_id).await.map_err(|err| match err {
        AppError::NotFound(_) => AppError::NotFound("message"),
        other => other,
    })?;
    Ok((facts, access))
}

async fn load_message(state: &AppState, message_id: MessageId, viewer: Option<UserId>) -> AppResult<Message> {
    state.store.message(message_id, viewer, state.clock.now_ms()).await?.ok_or(AppError::NotFound("message"))
}

/// Resolves `@name`s against the room's participants, in one query: (user id,
/// notification level).
async fn resolve_mentions(
    state: &AppState,
    room_id: RoomId,
    content: &str,
) -> AppResult<Vec<(UserId, NotificationLevel)>> {
    let names = message::mentioned_usernames(content);
    Ok(state.store.participants_by_usernames(room_id, &names).await?)
}

/// Sends a message as `caller`. Returns the message and whether it is new (`false` when
/// `client_id` matched an earlier send, which is then neither stored nor broadcast again).
pub async fn send_message(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: SendMessage,
) -> AppResult<(Message, bool)> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let membership = access.require_participant()?;
    let now = state.clock.now_ms();
    require_not_muted(membership, now)?;
    let mut new = req.validate(now)?;
    new.content = super::moderation::filter_content(state, &access.room.settings, new.content)?;
    check_posting(state, caller, &access, now).await?;
    if new.message_type == MessageType::EventUpdate {
        let organizer = match access.room.event_id {
            Some(event_id) => state.store.event_organizer(event_id).await?,
            None => None,
        };
        if organizer != Some(caller.user.id) && !access.moderates() {
            return Err(AppError::forbidden(
                "only the event's organizer or room moderators post event updates",
            ));
        }
    }
    let mut replied_to = None;
    if let Some(reply_to) = new.reply_to {
        match state.store.message_facts(reply_to).await? {
            Some(parent) if parent.room_id == room_id => replied_to = parent.sender_id,
            _ => {
                return Err(AppError::validation(
                    "invalid_reply",
                    "reply_to must name a message of the same room",
                ));
            }
        }
    }
    store_and_publish(state, caller, &access, new, replied_to).await
}

/// What every post passes once its content is known: the room's posting mode, slow
/// mode and flood control. Moderators are exempt; a post that passes is counted.
pub(super) async fn check_posting(
    state: &AppState,
    caller: &AuthUser,
    access: &RoomAccess,
    now: Millis,
) -> AppResult<()> {
    if access.moderates() {
        return Ok(());
    }
    if access.room.settings.posting == Posting::Moderators {
        return Err(AppError::forbidden_because(
            "posting_restricted",
            "only the room's moderators post here",
        ));
    }
    state.posting.check(&access.room.settings, access.room.room_id, caller.user.id, now).await
}

/// Stores a checked message (with its attachment, if any), publishes it and notifies
/// whom it concerns; `replied_to` is the sender of the message it answers. Returns the
/// message and whether it is new (`false`: its `client_id` matched an earlier one).
/// Keeps each room's new messages reaching sockets in `seq` order: the insert that takes
/// the room's next `seq` and the broadcast of that message happen under one lock per
/// room. Striped, so memory stays fixed however many rooms there are; rooms sharing a
/// stripe only wait for each other's inserts.
#[derive(Debug)]
pub struct SendOrder {
    stripes: Box<[tokio::sync::Mutex<()>]>,
}

impl Default for SendOrder {
    fn default() -> Self {
        SendOrder { stripes: (0..256).map(|_| tokio::sync::Mutex::new(())).collect() }
    }
}

impl SendOrder {
    pub async fn lock(&self, room_id: RoomId) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripes[room_id.rem_euclid(self.stripes.len() as i64) as usize].lock().await
    }
}

pub(super) async fn store_and_publish(
    state: &AppState,
    caller: &AuthUser,
    access: &RoomAccess,
    new: NewMessage,
    replied_to: Option<UserId>,
) -> AppResult<(Message, bool)> {
    let room_id = access.room.room_id;
    let now = state.clock.now_ms();
    let mentioned = resolve_mentions(state, room_id, &new.content).await?;
    let mention_ids: Vec<UserId> = mentioned.iter().map(|(id, _)| *id).collect();
    let in_order = state.send_order.lock(room_id).await;
    let inserted =
        match state.store.insert_message(room_id, Some(caller.user.id), &new, &mention_ids, now).await {
            Ok(inserted) => inserted,
            // A concurrent retry with the same client_id won the race.
            Err(err) if crate::store::is_unique_violation(&err) && new.client_id.is_some() => {
                state.store.insert_message(room_id, Some(caller.user.id), &new, &mention_ids, now).await?
            }
            Err(err) => return Err(err.into()),
        };
    match inserted {
        InsertedMessage::Duplicate(id) => Ok((load_message(state, id, Some(caller.user.id)).await?, false)),
        InsertedMessage::Created(id) => {
            let message = load_message(state, id, Some(caller.user.id)).await?;
            super::typing::stopped_by_sending(state, room_id, caller.user.id).await;
            state.publisher.publish(ChatEvent::MessageCreated(message.clone().for_broadcast())).await;
            drop(in_order);
            let told = Told { mentioned: &mentioned, replied_to, moderates: access.moderates() };
            notify(state, caller, &access.room, &message, told).await?;
            Ok((message, true))
        }
    }
}

/// Records a `system` message (joins, leaves, settings changes) and broadcasts it.
pub async fn post_system_message(state: &AppState, room_id: RoomId, text: String) -> AppResult<Message> {
    let new = NewMessage {
        message_type: MessageType::System,
        content: text,
        reply_to: None,
        client_id: None,
        poll: None,
        attachment: None,
    };
    let _in_order = state.send_order.lock(room_id).await;
    let InsertedMessage::Created(id) =
        state.store.insert_message(room_id, None, &new, &[], state.clock.now_ms()).await?
    else {
        return Err(AppError::internal("system message stored as a duplicate"));
    };
    let message = load_message(state, id, None).await?;
    state.publisher.publish(ChatEvent::MessageCreated(message.clone())).await;
    Ok(message)
}

/// The message a cursor (`before`, `after`, `since`) names, which must be of `room_id`;
/// `name` names the cursor in the error.
pub(super) async fn resolve_cursor(
    state: &AppState,
    room_id: RoomId,
    message_id: MessageId,
    name: &str,
) -> AppResult<MessageFacts> {
    let facts = state.store.message_facts(message_id).await?;
    facts.filter(|f| f.room_id == room_id).ok_or_else(|| {
        AppError::validation("invalid_cursor", format!("{name} must name a message of this room"))
    })
}

pub async fn history(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    query: HistoryQuery,
) -> AppResult<MessagePage> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    let limit = page_limit(query.limit, HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX)?;
    access.require_reader(state, caller).await?;
    let page = match (query.before, query.after) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation("invalid_cursor", "give either before or after, not both"));
        }
        (Some(before_id), None) => PageQuery::BeforeId { before_id, limit },
        (None, Some(after_id)) => PageQuery::AfterId { after_id, limit },
        (None, None) => PageQuery::Before { before_seq: i64::MAX, limit },
    };
    let (messages, has_more) =
        state.store.messages(room_id, page, Some(caller.user.id), state.clock.now_ms()).await?;
    // The cursor is resolved inside the page query; only an empty page needs to know
    // whether it named a message of this room at all.
    if messages.is_empty() {
        match (query.before, query.after) {
            (Some(before), _) => drop(resolve_cursor(state, room_id, before, "before").await?),
            (_, Some(after)) => drop(resolve_cursor(state, room_id, after, "after").await?),
            _ => {}
        }
    }
    Ok(MessagePage { messages, has_more })
}

/// Replies to a message (its thread), oldest first.
pub async fn replies(state: &AppState, caller: &AuthUser, message_id: MessageId) -> AppResult<Vec<Message>> {
    let (_, access) = visible_message(state, caller, message_id).await?;
    access.require_reader(state, caller).await?;
    Ok(state.store.replies(message_id, Some(caller.user.id), REPLIES_LIMIT, state.clock.now_ms()).await?)
}

/// Edits a message's text: the sender only, within the edit window.
pub async fn edit_message(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
    req: EditMessage,
) -> AppResult<Message> {
    let (facts, access) = visible_message(state, caller, message_id).await?;
    require_not_muted(access.require_participant()?, state.clock.now_ms())?;
    if facts.sender_id != Some(caller.user.id) {
        return Err(AppError::forbidden_because("not_sender", "only the sender can edit a message"));
    }
    if facts.deleted_at.is_some() {
        return Err(AppError::conflict("message_deleted", "a deleted message cannot be edited"));
    }
    if !matches!(facts.message_type, MessageType::Text | MessageType::EventUpdate) {
        return Err(AppError::conflict("invalid_message_type", "only text messages can be edited"));
    }
    let now = state.clock.now_ms();
    let window_ms = (state.limits.edit_window_seconds as i64).saturating_mul(1000);
    if now - facts.created_at > window_ms {
        return Err(AppError::forbidden_because(
            "edit_window_expired",
            format!(
                "messages can only be edited within {} seconds of sending",
                state.limits.edit_window_seconds
            ),
        ));
    }
    let content = message::validate_content(&req.content)?;
    let content = super::moderation::filter_content(state, &access.room.settings, content)?;
    if facts.content.as_deref() == Some(content.as_str()) {
        return load_message(state, message_id, Some(caller.user.id)).await;
    }
    let mentioned = resolve_mentions(state, facts.room_id, &content).await?;
    let mention_ids: Vec<UserId> = mentioned.iter().map(|(id, _)| *id).collect();
    state.store.edit_message(&facts, caller.user.id, &content, &mention_ids, now).await?;
    let message = load_message(state, message_id, Some(caller.user.id)).await?;
    state.publisher.publish(ChatEvent::MessageEdited(message.clone().for_broadcast())).await;
    Ok(message)
}

/// Deletes a message: its sender, or anyone holding `delete_messages` in the room.
/// Deleting an already deleted message changes nothing.
pub async fn delete_message(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
) -> AppResult<Deleted> {
    let (facts, access) = visible_message(state, caller, message_id).await?;
    if !access.is_admin {
        access.require_participant()?;
    }
    let own = facts.sender_id == Some(caller.user.id);
    if !own && !access.holds(Permission::DeleteMessages) {
        return Err(AppError::forbidden("only the sender or a moderator can delete this message"));
    }
    let deleted = Deleted { id: message_id, room_id: facts.room_id };
    if facts.deleted_at.is_none() {
        let log = (!own).then_some(NewModerationEntry {
            room_id: facts.room_id,
            actor_id: caller.user.id,
            action: ModerationAction::DeleteMessage,
            target_id: facts.sender_id,
            message_id: Some(message_id),
            reason: None,
            duration_seconds: None,
        });
        state.store.delete_message(&facts, caller.user.id, log.as_ref(), state.clock.now_ms()).await?;
        state.publisher.publish(ChatEvent::MessageDeleted(deleted.clone())).await;
        if !own {
            let text = format!("{} deleted a message", caller.user.display_name);
            post_system_message(state, facts.room_id, text).await?;
        }
    }
    Ok(deleted)
}

/// One earlier text of an edited message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageVersion {
    pub content: String,
    /// When this text was replaced (RFC 3339).
    pub replaced_at: String,
    /// Why: `edit` by the sender, or a moderation action.
    pub reason: String,
}

/// `GET /api/chat/messages/{id}/history`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditHistory {
    pub message_id: MessageId,
    /// Oldest first; the current text is the message's own.
    pub versions: Vec<MessageVersion>,
}

/// Every earlier text of a message (the audit trail): for the sender and the room's
/// moderators holding `delete_messages`. A deleted message has none to show.
pub async fn edit_history(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
) -> AppResult<EditHistory> {
    let (facts, access) = visible_message(state, caller, message_id).await?;
    let own = facts.sender_id == Some(caller.user.id);
    if !own && !access.holds(Permission::DeleteMessages) {
        return Err(AppError::forbidden(
            "only the sender or a moderator can read a message's earlier versions",
        ));
    }
    if facts.deleted_at.is_some() {
        return Err(AppError::conflict("message_deleted", "a deleted message has no versions to show"));
    }
    let versions = state
        .store
        .message_versions(message_id)
        .await?
        .into_iter()
        .map(|(content, replaced_at, reason)| MessageVersion {
            content,
            replaced_at: crate::clock::to_rfc3339(replaced_at),
            reason,
        })
        .collect();
    Ok(EditHistory { message_id, versions })
}

/// Adds or removes the caller's reaction; repeating either changes nothing.
pub async fn set_reaction(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
    req: React,
    add: bool,
) -> AppResult<ReactionUpdate> {
    let emoji = message::validate_emoji(&req.emoji)?;
    let (facts, access) = visible_message(state, caller, message_id).await?;
    let membership = access.require_participant()?;
    let now = state.clock.now_ms();
    require_not_muted(membership, now)?;
    if facts.deleted_at.is_some() {
        return Err(AppError::conflict("message_deleted", "a deleted message cannot be reacted to"));
    }
    let changed = state.store.set_reaction(&facts, caller.user.id, &emoji, add, now).await?;
    let message = load_message(state, message_id, Some(caller.user.id)).await?;
    let update = ReactionUpdate {
        message_id,
        room_id: facts.room_id,
        emoji,
        user_id: caller.user.id,
        reactions: message.reactions.clone(),
    };
    if changed {
        let broadcast = ReactionUpdate { reactions: message.for_broadcast().reactions, ..update.clone() };
        let event =
            if add { ChatEvent::ReactionAdded(broadcast) } else { ChatEvent::ReactionRemoved(broadcast) };
        state.publisher.publish(event).await;
    }
    Ok(update)
}

/// Replaces the caller's vote on a poll.
pub async fn vote(
    state: &AppState,
    caller: &AuthUser,
    message_id: MessageId,
    req: Vote,
) -> AppResult<PollUpdate> {
    let options = &req.options;
    let (facts, access) = visible_message(state, caller, message_id).await?;
    let now = state.clock.now_ms();
    require_not_muted(access.require_participant()?, now)?;
    if facts.deleted_at.is_some() {
        return Err(AppError::conflict("message_deleted", "this poll was deleted"));
    }
    let (option_count, multiple, closes_at) = state
        .store
        .poll_shape(message_id)
        .await?
        .ok_or_else(|| AppError::conflict("not_a_poll", "this message has no poll"))?;
    if closes_at.is_some_and(|at| at <= now) {
        return Err(AppError::conflict("poll_closed", "this poll is closed"));
    }
    let mut chosen = options.to_vec();
    chosen.sort_unstable();
    chosen.dedup();
    if chosen.first().is_none_or(|first| *first < 0) {
        return Err(AppError::validation("invalid_vote", "choose at least one option, numbered from 0"));
    }
    // What fits one poll and not another is a conflict with this poll, not a bad body.
    if chosen.iter().any(|i| !(0..option_count).contains(i)) {
        return Err(AppError::conflict(
            "invalid_vote",
            format!("options are numbered 0–{}", option_count - 1),
        ));
    }
    if !multiple && chosen.len() > 1 {
        return Err(AppError::conflict("invalid_vote", "this poll takes a single choice"));
    }
    state.store.set_votes(&facts, caller.user.id, &chosen, now).await?;
    let message = load_message(state, message_id, Some(caller.user.id)).await?;
    let poll: Poll = message.poll.clone().ok_or_else(|| AppError::internal("poll vanished"))?;
    if let Some(public) = message.for_broadcast().poll {
        state
            .publisher
            .publish(ChatEvent::PollUpdated(PollUpdate { message_id, room_id: facts.room_id, poll: public }))
            .await;
    }
    Ok(PollUpdate { message_id, room_id: facts.room_id, poll })
}
