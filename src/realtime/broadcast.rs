//! The Socket.IO [`Publisher`]: the one place where a [`ChatEvent`] becomes an event name,
//! a payload and a set of sockets.
//!
//! Socket.IO rooms: `room:<id>` holds the sockets following a chat room, `user:<id>`
//! every socket of one user. Each payload is serialized once per broadcast, however many
//! sockets receive it. Subscription changes go through `io.to(user room)`, which reaches
//! every socket of the user.

use serde::Serialize;
use serde_json::json;
use socketioxide::SocketIo;
use socketioxide::operators::BroadcastOperators;

use crate::chat::publish::{Audience, ChatEvent, Publisher, Publishing, Subscription};
use crate::domain::room::RoomId;
use crate::domain::user::UserId;

/// Socket.IO room for the sockets following a chat room.
pub fn chat_room(room_id: RoomId) -> String {
    format!("room:{room_id}")
}

/// Socket.IO room for all sockets of one user.
pub fn user_room(user_id: UserId) -> String {
    format!("user:{user_id}")
}

/// Socket.IO room for the sockets opened with one login session.
pub fn session_room(session_id: i64) -> String {
    format!("session:{session_id}")
}

#[derive(Clone)]
pub struct Broadcaster {
    io: SocketIo,
}

impl Broadcaster {
    pub fn new(io: SocketIo) -> Self {
        Broadcaster { io }
    }

    /// The sockets of `audience`; `None` when it names nobody (socketioxide reads an
    /// empty room list as "every socket").
    fn to(&self, audience: Audience) -> Option<BroadcastOperators> {
        Some(match audience {
            Audience::Room(room_id) => self.io.to(chat_room(room_id)),
            Audience::RoomExcept { room_id, except } => {
                self.io.to(chat_room(room_id)).except(user_room(except))
            }
            Audience::User(user_id) => self.io.to(user_room(user_id)),
            Audience::Users(user_ids) if user_ids.is_empty() => return None,
            Audience::Users(user_ids) => self.io.to(user_ids.into_iter().map(user_room).collect::<Vec<_>>()),
            Audience::Rooms(room_ids) | Audience::RoomsExcept { room_ids, .. } if room_ids.is_empty() => {
                return None;
            }
            Audience::RoomsExcept { room_ids, except } => {
                self.io.to(room_ids.into_iter().map(chat_room).collect::<Vec<_>>()).except(user_room(except))
            }
            Audience::Rooms(room_ids) => self.io.to(room_ids.into_iter().map(chat_room).collect::<Vec<_>>()),
            Audience::Session(session_id) => self.io.to(session_room(session_id)),
        })
    }

    async fn follow(&self, room_id: RoomId, user_ids: &[UserId]) {
        if user_ids.is_empty() {
            return;
        }
        let users: Vec<String> = user_ids.iter().copied().map(user_room).collect();
        if let Err(err) = self.io.to(users).join(chat_room(room_id)).await {
            tracing::warn!(room_id, error = %err, "could not subscribe sockets");
        }
    }

    async fn unfollow(&self, room_id: RoomId, user_id: UserId) {
        if let Err(err) = self.io.to(user_room(user_id)).leave(chat_room(room_id)).await {
            tracing::warn!(user_id, room_id, error = %err, "could not unsubscribe sockets");
        }
    }

    async fn deliver(&self, event: ChatEvent) {
        let subscription = event.subscription();
        if let Some(Subscription::Follow { room_id, user_ids }) = &subscription {
            self.follow(*room_id, user_ids).await;
        }
        let Some(to) = self.to(event.audience()) else { return };
        match &event {
            ChatEvent::MessageCreated(message) => emit(to, "new_chat_message", message).await,
            ChatEvent::MessageEdited(message) => emit(to, "message_edited", message).await,
            ChatEvent::MessageDeleted(deleted) => emit(to, "message_deleted", deleted).await,
            ChatEvent::ReactionAdded(update) => emit(to, "message_reaction_added", update).await,
            ChatEvent::ReactionRemoved(update) => emit(to, "message_reaction_removed", update).await,
            ChatEvent::PollUpdated(update) => emit(to, "poll_updated", update).await,
            ChatEvent::RoomCreated { room, .. } | ChatEvent::RoomUpdated(room) => {
                emit(to, "room_updated", room).await
            }
            ChatEvent::UserJoined { room_id, user, .. } => {
                emit(to, "user_joined_chat", &json!({"room_id": room_id, "user": user})).await
            }
            ChatEvent::UserLeft { room_id, user, .. } => {
                emit(to, "user_left_chat", &json!({"room_id": room_id, "user": user})).await
            }
            ChatEvent::RoomRead { state, .. } => emit(to, "room_read", state).await,
            ChatEvent::ParticipantCount(counts) => emit(to, "room_participant_count", counts).await,
            ChatEvent::MessagePinned(pin) => emit(to, "message_pinned", pin).await,
            ChatEvent::MessageUnpinned(unpinned) => emit(to, "message_unpinned", unpinned).await,
            ChatEvent::QuestionAdded { question, .. } => emit(to, "qa_question_added", question).await,
            ChatEvent::QuestionUpdated { question, .. } => emit(to, "qa_question_updated", question).await,
            ChatEvent::QuestionRemoved(removed) => emit(to, "qa_question_removed", removed).await,
            ChatEvent::Notification { notification, .. } => emit(to, "notification", notification).await,
            ChatEvent::PresenceChanged { presence, .. } => emit(to, "presence_updated", presence).await,
            ChatEvent::UserMuted(notice) => emit(to, "user_muted", notice).await,
            ChatEvent::UserUnmuted(notice) => emit(to, "user_unmuted", notice).await,
            ChatEvent::UserKicked(notice) => emit(to, "user_kicked", notice).await,
            ChatEvent::UserBanned { notice, .. } => emit(to, "user_banned", notice).await,
            ChatEvent::UserUnbanned(notice) => emit(to, "user_unbanned", notice).await,
            ChatEvent::Typing { room_id, user, typing } => {
                let name = if *typing { "user_typing_start" } else { "user_typing_stop" };
                emit(to, name, &json!({"room_id": room_id, "user": user})).await
            }
            ChatEvent::SessionEnded { .. } => {
                if let Err(err) = to.disconnect().await {
                    tracing::warn!(error = %err, "could not disconnect a session's sockets");
                }
            }
        }
        if let Some(Subscription::Unfollow { room_id, user_id }) = subscription {
            self.unfollow(room_id, user_id).await;
        }
    }
}

async fn emit<T: Serialize + ?Sized>(to: BroadcastOperators, event: &'static str, payload: &T) {
    if let Err(err) = to.emit(event, payload).await {
        tracing::warn!(event, error = %err, "broadcast failed");
    }
}

impl Publisher for Broadcaster {
    fn publish(&self, event: ChatEvent) -> Publishing<'_> {
        Box::pin(self.deliver(event))
    }
}
