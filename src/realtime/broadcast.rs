//! The Socket.IO [`Publisher`]: the one place where a [`ChatEvent`] becomes an event name,
//! a payload and a set of sockets.
//!
//! Socket.IO rooms: `room:<id>` holds the sockets following a chat room, `user:<id>`
//! every socket of one user. Each payload is serialized once per broadcast, however many
//! sockets receive it. Subscription changes go through `io.to(user room)`, which reaches
//! every socket of the user.

use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
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

/// What one event does to one instance's sockets: who hears it, which rooms they start
/// or stop following, and the event name with its payload, serialized once. Built once
/// where the event happens; it crosses to other instances as it is.
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub audience: Audience,
    pub subscription: Option<Subscription>,
    pub action: Action,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Action {
    /// Emit `event` with this JSON payload.
    Emit { event: String, payload: Box<RawValue> },
    /// Disconnect the audience's sockets.
    Disconnect,
}

impl Delivery {
    /// The delivery of `event`; `None` for events that reach no socket.
    pub fn of(event: &ChatEvent) -> Option<Delivery> {
        let (name, payload) = match event {
            ChatEvent::MessageCreated(message) => ("new_chat_message", raw(message)),
            ChatEvent::MessageEdited(message) => ("message_edited", raw(message)),
            ChatEvent::MessageDeleted(deleted) => ("message_deleted", raw(deleted)),
            ChatEvent::ReactionAdded(update) => ("message_reaction_added", raw(update)),
            ChatEvent::ReactionRemoved(update) => ("message_reaction_removed", raw(update)),
            ChatEvent::PollUpdated(update) => ("poll_updated", raw(update)),
            ChatEvent::RoomCreated { room, .. } | ChatEvent::RoomUpdated(room) => ("room_updated", raw(room)),
            ChatEvent::UserJoined { room_id, user, .. } => {
                ("user_joined_chat", raw(&json!({"room_id": room_id, "user": user})))
            }
            ChatEvent::UserLeft { room_id, user, .. } => {
                ("user_left_chat", raw(&json!({"room_id": room_id, "user": user})))
            }
            ChatEvent::RoomRead { state, .. } => ("room_read", raw(state)),
            ChatEvent::ParticipantCount(counts) => ("room_participant_count", raw(counts)),
            ChatEvent::MessagePinned(pin) => ("message_pinned", raw(pin)),
            ChatEvent::MessageUnpinned(unpinned) => ("message_unpinned", raw(unpinned)),
            ChatEvent::QuestionAdded { question, .. } => ("qa_question_added", raw(question)),
            ChatEvent::QuestionUpdated { question, .. } => ("qa_question_updated", raw(question)),
            ChatEvent::QuestionRemoved(removed) => ("qa_question_removed", raw(removed)),
            ChatEvent::Notification { notification, .. } => ("notification", raw(notification)),
            ChatEvent::PresenceChanged { presence, .. } => ("presence_updated", raw(presence)),
            ChatEvent::UserMuted(notice) => ("user_muted", raw(notice)),
            ChatEvent::UserUnmuted(notice) => ("user_unmuted", raw(notice)),
            ChatEvent::UserKicked(notice) => ("user_kicked", raw(notice)),
            ChatEvent::UserBanned { notice, .. } => ("user_banned", raw(notice)),
            ChatEvent::UserUnbanned(notice) => ("user_unbanned", raw(notice)),
            ChatEvent::Typing { room_id, user, typing } => {
                let name = if *typing { "user_typing_start" } else { "user_typing_stop" };
                (name, raw(&json!({"room_id": room_id, "user": user})))
            }
            ChatEvent::TypingExpired { room_id, user } => {
                ("user_typing_stop", raw(&json!({"room_id": room_id, "user": user})))
            }
            ChatEvent::SessionEnded { .. } => {
                return Some(Delivery {
                    audience: event.audience(),
                    subscription: None,
                    action: Action::Disconnect,
                });
            }
            ChatEvent::Replica(_) => return None,
        };
        let payload = match payload {
            Ok(payload) => payload,
            Err(err) => {
                tracing::warn!(event = name, error = %err, "could not serialize a broadcast");
                return None;
            }
        };
        Some(Delivery {
            audience: event.audience(),
            subscription: event.subscription(),
            action: Action::Emit { event: name.to_owned(), payload },
        })
    }
}

fn raw<T: Serialize + ?Sized>(payload: &T) -> serde_json::Result<Box<RawValue>> {
    serde_json::value::to_raw_value(payload)
}

/// Delivers to this instance's sockets.
#[derive(Clone)]
pub struct Broadcaster {
    io: SocketIo,
}

impl Broadcaster {
    pub fn new(io: SocketIo) -> Self {
        Broadcaster { io }
    }

    /// The default namespace; `None` once the server has closed it (shutting down),
    /// when there is nobody left to tell (socketioxide's `io.to` would panic then).
    fn root(&self) -> Option<BroadcastOperators> {
        self.io.of("/")
    }

    /// The sockets of `audience`; `None` when it names nobody (socketioxide reads an
    /// empty room list as "every socket") or the server is shutting down.
    fn to(&self, audience: &Audience) -> Option<BroadcastOperators> {
        let root = self.root()?;
        Some(match audience {
            Audience::Room(room_id) => root.to(chat_room(*room_id)),
            Audience::RoomExcept { room_id, except } => {
                root.to(chat_room(*room_id)).except(user_room(*except))
            }
            Audience::User(user_id) => root.to(user_room(*user_id)),
            Audience::RoomAndUser { room_id, user_id } => {
                root.to(vec![chat_room(*room_id), user_room(*user_id)])
            }
            Audience::Users(user_ids) if user_ids.is_empty() => return None,
            Audience::Users(user_ids) => root.to(user_ids.iter().copied().map(user_room).collect::<Vec<_>>()),
            Audience::Rooms(room_ids) | Audience::RoomsExcept { room_ids, .. } if room_ids.is_empty() => {
                return None;
            }
            Audience::RoomsExcept { room_ids, except } => root
                .to(room_ids.iter().copied().map(chat_room).collect::<Vec<_>>())
                .except(user_room(*except)),
            Audience::Rooms(room_ids) => root.to(room_ids.iter().copied().map(chat_room).collect::<Vec<_>>()),
            Audience::Session(session_id) => root.to(session_room(*session_id)),
        })
    }

    async fn follow(&self, room_id: RoomId, user_ids: &[UserId]) {
        if user_ids.is_empty() {
            return;
        }
        let Some(root) = self.root() else { return };
        let users: Vec<String> = user_ids.iter().copied().map(user_room).collect();
        if let Err(err) = root.to(users).join(chat_room(room_id)).await {
            tracing::warn!(room_id, error = %err, "could not subscribe sockets");
        }
    }

    async fn unfollow(&self, room_id: RoomId, user_id: UserId) {
        let Some(root) = self.root() else { return };
        if let Err(err) = root.to(user_room(user_id)).leave(chat_room(room_id)).await {
            tracing::warn!(user_id, room_id, error = %err, "could not unsubscribe sockets");
        }
    }

    /// Applies `delivery` to this instance's sockets.
    pub async fn deliver(&self, delivery: &Delivery) {
        if let Some(Subscription::Follow { room_id, user_ids }) = &delivery.subscription {
            self.follow(*room_id, user_ids).await;
        }
        if let Some(to) = self.to(&delivery.audience) {
            match &delivery.action {
                Action::Emit { event, payload } => {
                    if let Err(err) = to.emit(event.as_str(), &**payload).await {
                        tracing::warn!(event = event.as_str(), error = %err, "broadcast failed");
                    }
                }
                Action::Disconnect => {
                    if let Err(err) = to.disconnect().await {
                        tracing::warn!(error = %err, "could not disconnect a session's sockets");
                    }
                }
            }
        }
        if let Some(Subscription::Unfollow { room_id, user_id }) = delivery.subscription {
            self.unfollow(room_id, user_id).await;
        }
    }

    /// Tells every socket here to rejoin the rooms it follows with `since`: broadcasts
    /// from other instances may have been missed.
    pub async fn resync_all(&self) {
        let Some(root) = self.root() else { return };
        for socket in root.sockets() {
            let room_ids: Vec<RoomId> = socket
                .rooms()
                .iter()
                .filter_map(|room| room.strip_prefix("room:").and_then(|id| id.parse().ok()))
                .collect();
            if room_ids.is_empty() {
                continue;
            }
            if let Err(err) = socket.emit("resync_required", &json!({"room_ids": room_ids})) {
                tracing::debug!(error = %err, "could not tell a socket to resync");
            }
        }
    }
}

impl Publisher for Broadcaster {
    fn publish(&self, event: ChatEvent) -> Publishing<'_> {
        Box::pin(async move {
            if let Some(delivery) = Delivery::of(&event) {
                self.deliver(&delivery).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::room::RoomCountUpdate;

    /// While the server shuts down its namespace is gone, and services still finishing a
    /// request publish into it: that must be a no-op, not a panic.
    #[tokio::test]
    async fn publishing_without_the_namespace_does_nothing() {
        let (_layer, io) = SocketIo::new_layer();
        let broadcaster = Broadcaster::new(io);
        let counts = RoomCountUpdate { room_id: 1, participant_count: 2, online_count: 1 };
        broadcaster.publish(ChatEvent::ParticipantCount(counts)).await;
        broadcaster.publish(ChatEvent::SessionEnded { session_id: 7 }).await;
        broadcaster.resync_all().await;
    }
}
