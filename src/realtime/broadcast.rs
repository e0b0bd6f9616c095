//! The one place where a [`ChatEvent`] becomes Socket.IO: event name, payload, audience.
//!
//! Socket.IO rooms: `room:<id>` holds the sockets of a chat room's participants,
//! `user:<id>` every socket of one user. Each payload is serialized once per broadcast,
//! however many sockets receive it. Broadcasting never fails a request: the change is
//! already stored, and clients catch up with `join_chat_room {since}`.

use serde::Serialize;
use serde_json::json;
use socketioxide::SocketIo;

use super::user_room;
use crate::chat::publish::ChatEvent;
use crate::domain::room::RoomId;
use crate::domain::user::UserId;

/// Socket.IO room for the sockets following a chat room.
pub fn chat_room(room_id: RoomId) -> String {
    format!("room:{room_id}")
}

#[derive(Clone)]
pub struct Broadcaster {
    io: SocketIo,
}

impl Broadcaster {
    pub fn new(io: SocketIo) -> Self {
        Broadcaster { io }
    }

    async fn emit<T: Serialize + ?Sized>(&self, audience: String, event: &'static str, payload: &T) {
        if let Err(err) = self.io.to(audience).emit(event, payload).await {
            tracing::warn!(event, error = %err, "broadcast failed");
        }
    }

    /// Makes every socket of `user_id` follow the chat room.
    pub async fn subscribe(&self, user_id: UserId, room_id: RoomId) {
        if let Err(err) = self.io.to(user_room(user_id)).join(chat_room(room_id)).await {
            tracing::warn!(user_id, room_id, error = %err, "could not subscribe sockets");
        }
    }

    async fn unsubscribe(&self, user_id: UserId, room_id: RoomId) {
        if let Err(err) = self.io.to(user_room(user_id)).leave(chat_room(room_id)).await {
            tracing::warn!(user_id, room_id, error = %err, "could not unsubscribe sockets");
        }
    }

    pub async fn publish(&self, event: ChatEvent) {
        match event {
            ChatEvent::MessageCreated(message) => {
                self.emit(chat_room(message.room_id), "new_chat_message", &message).await
            }
            ChatEvent::MessageEdited(message) => {
                self.emit(chat_room(message.room_id), "message_edited", &message).await
            }
            ChatEvent::MessageDeleted { id, room_id } => {
                self.emit(chat_room(room_id), "message_deleted", &json!({"id": id, "room_id": room_id})).await
            }
            ChatEvent::ReactionAdded(update) => {
                self.emit(chat_room(update.room_id), "message_reaction_added", &update).await
            }
            ChatEvent::ReactionRemoved(update) => {
                self.emit(chat_room(update.room_id), "message_reaction_removed", &update).await
            }
            ChatEvent::PollUpdated(update) => {
                self.emit(chat_room(update.room_id), "poll_updated", &update).await
            }
            ChatEvent::UserJoined { room_id, user } => {
                self.subscribe(user.id, room_id).await;
                self.emit(chat_room(room_id), "user_joined_chat", &json!({"room_id": room_id, "user": user}))
                    .await
            }
            ChatEvent::UserLeft { room_id, user } => {
                // Sent while the leaver's sockets still follow the room, so they learn it too.
                self.emit(chat_room(room_id), "user_left_chat", &json!({"room_id": room_id, "user": user}))
                    .await;
                self.unsubscribe(user.id, room_id).await;
            }
            ChatEvent::RoomUpdated(room) => self.emit(chat_room(room.id), "room_updated", &room).await,
            ChatEvent::RoomRead { user_id, state } => {
                self.emit(user_room(user_id), "room_read", &state).await
            }
            ChatEvent::Notification { user_id, notification } => {
                self.emit(user_room(user_id), "notification", &notification).await
            }
        }
    }
}
