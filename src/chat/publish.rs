//! `ChatEvent`: every change the service publishes, as one typed enum.
//!
//! The service decides *what* happened; `realtime::broadcast` alone decides how each
//! event becomes a Socket.IO event name, payload and audience.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::message::{Message, MessageId, Poll, ReactionCount};
use crate::domain::room::{Room, RoomId};
use crate::domain::user::{User, UserId};

use super::notifications::Notification;

/// A participant's read position and what is left unread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadState {
    pub room_id: RoomId,
    pub last_read_message_id: Option<MessageId>,
    pub unread_count: i64,
    pub mention_count: i64,
}

/// Reactions of one message after a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReactionUpdate {
    pub message_id: MessageId,
    pub room_id: RoomId,
    pub emoji: String,
    pub user_id: UserId,
    pub reactions: Vec<ReactionCount>,
}

/// A poll's results after a vote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollUpdate {
    pub message_id: MessageId,
    pub room_id: RoomId,
    pub poll: Poll,
}

#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// A new message, in its broadcast form.
    MessageCreated(Message),
    MessageEdited(Message),
    MessageDeleted {
        id: MessageId,
        room_id: RoomId,
    },
    ReactionAdded(ReactionUpdate),
    ReactionRemoved(ReactionUpdate),
    PollUpdated(PollUpdate),
    /// `user` became a participant: their sockets start following the room.
    UserJoined {
        room_id: RoomId,
        user: User,
    },
    /// `user` stopped being a participant: their sockets stop following the room.
    UserLeft {
        room_id: RoomId,
        user: User,
    },
    RoomUpdated(Room),
    /// A user read up to a point: their other sockets update their badges.
    RoomRead {
        user_id: UserId,
        state: ReadState,
    },
    Notification {
        user_id: UserId,
        notification: Notification,
    },
}
