//! The publish seam: every change the service makes public, as one typed [`ChatEvent`]
//! that names its own audience, handed to whatever [`Publisher`] the server runs with.
//!
//! The service decides *what* happened and *who* hears it; the publisher (Socket.IO on
//! one instance today, across instances with scale-out) alone decides how that becomes
//! event names, payloads and socket rooms. Membership changes are events too: their
//! [`Subscription`] tells the publisher which sockets start or stop following a room.
//! Publishing never fails a request: the change is already stored, and clients catch up
//! with `join_chat_room {since}`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::domain::message::{Deleted, Message, PinnedMessage, PollUpdate, ReactionUpdate, Unpinned};
use crate::domain::moderation::ModerationNotice;
use crate::domain::notification::{Notification, ReadState};
use crate::domain::presence::{PresenceShare, UserPresence};
use crate::domain::qa::{Question, QuestionRemoved};
use crate::domain::room::{Room, RoomCountUpdate, RoomId};
use crate::domain::user::{User, UserId};

/// Who hears an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Every socket following the chat room.
    Room(RoomId),
    /// As [`Audience::Room`], except the sockets of one user (who caused it).
    RoomExcept { room_id: RoomId, except: UserId },
    /// Every socket of one user: all their tabs and devices.
    User(UserId),
    /// Every socket following the room, and every socket of one user who does not
    /// (someone let back in hears it with the room).
    RoomAndUser { room_id: RoomId, user_id: UserId },
    /// Every socket of these users (a room's moderators); an empty list reaches nobody.
    Users(Vec<UserId>),
    /// Every socket following any of these rooms, each once: the users who share a room
    /// with someone (the caller lists those rooms). An empty list reaches nobody.
    Rooms(Vec<RoomId>),
    /// As [`Audience::Rooms`], except the sockets of one user.
    RoomsExcept { room_ids: Vec<RoomId>, except: UserId },
    /// The sockets opened with one login session.
    Session(i64),
}

/// Who hears a presence change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceAudience {
    /// Everyone who shares one of these rooms with the user, except the user.
    CoMembers(Vec<RoomId>),
    /// The user's own sockets (they see their real status, e.g. `invisible`).
    Own,
}

/// How an event changes which users' sockets follow a chat room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subscription {
    /// These users' sockets follow the room from now on, before the event is delivered
    /// (so they hear it).
    Follow { room_id: RoomId, user_ids: Vec<UserId> },
    /// The user's sockets stop following the room after the event is delivered (so they
    /// learn it too).
    Unfollow { room_id: RoomId, user_id: UserId },
}

#[derive(Debug, Clone)]
pub enum ChatEvent {
    /// A new message, in its broadcast form.
    MessageCreated(Message),
    MessageEdited(Message),
    MessageDeleted(Deleted),
    ReactionAdded(ReactionUpdate),
    ReactionRemoved(ReactionUpdate),
    PollUpdated(PollUpdate),
    /// A room was created with these first participants.
    RoomCreated {
        room: Room,
        participant_ids: Vec<UserId>,
    },
    /// `user` became a participant.
    UserJoined {
        room_id: RoomId,
        user: User,
        /// A self-join in a large room: only the user's own sockets hear of it.
        quiet: bool,
    },
    /// `user` stopped being a participant.
    UserLeft {
        room_id: RoomId,
        user: User,
        /// A self-leave in a large room: only the user's own sockets hear of it.
        quiet: bool,
    },
    RoomUpdated(Room),
    /// A room's participant count changed (pushed at most every few seconds).
    ParticipantCount(RoomCountUpdate),
    MessagePinned(PinnedMessage),
    MessageUnpinned(Unpinned),
    /// A question became visible to `audience`: the room, or (waiting for review) its
    /// moderators and author.
    QuestionAdded {
        question: Question,
        audience: Audience,
    },
    /// A question changed, as `audience` may see it (the room: the public form; the
    /// moderators: with the author of an anonymous question).
    QuestionUpdated {
        question: Question,
        audience: Audience,
    },
    QuestionRemoved(QuestionRemoved),
    /// A user read up to a point: their other sockets update their badges.
    RoomRead {
        user_id: UserId,
        state: ReadState,
    },
    Notification {
        user_id: UserId,
        notification: Notification,
    },
    /// A user's presence as `seen_by` sees it.
    PresenceChanged {
        presence: UserPresence,
        seen_by: PresenceAudience,
    },
    /// `user` started (`typing`) or stopped typing in the room: the others hear it.
    Typing {
        room_id: RoomId,
        user: User,
        typing: bool,
    },
    /// Typing that another instance started timed out here (that instance went
    /// silent before it stopped): this instance's sockets hear it stop.
    TypingExpired {
        room_id: RoomId,
        user: User,
    },
    /// A participant was muted: the room (their own sockets too) hears it.
    UserMuted(ModerationNotice),
    /// A mute was lifted or ran out.
    UserUnmuted(ModerationNotice),
    /// A participant was removed: the room (them too) hears it, then their sockets stop
    /// following the room.
    UserKicked(ModerationNotice),
    /// A user was banned (and removed, if they participated).
    UserBanned {
        notice: ModerationNotice,
        was_participant: bool,
    },
    /// A ban was lifted: the user's sockets hear it.
    UserUnbanned(ModerationNotice),
    /// A login session ended (logout, expiry): its sockets are disconnected.
    SessionEnded {
        session_id: i64,
    },
    /// State that every instance keeps for itself, told to the other instances; it
    /// reaches no socket.
    Replica(Replica),
}

/// What an instance tells the others so that the state each keeps in memory (who is
/// online, who is typing, how many are in a room) agrees across instances. One instance
/// alone ignores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Replica {
    /// A user's presence as the sending instance holds it.
    Presence(PresenceShare),
    /// The sender is alive (every few seconds). An instance heard for the first time is
    /// told everyone's presence; one not heard for a while is taken for dead.
    Alive,
    /// Someone started or stopped typing: the others expire it themselves if the sender
    /// dies before it stops.
    Typing { room_id: RoomId, user: User, typing: bool },
    /// A room gained or lost a participant.
    Members { room_id: RoomId, delta: i64 },
}

impl ChatEvent {
    /// Who hears this event.
    pub fn audience(&self) -> Audience {
        match self {
            ChatEvent::MessageCreated(message) | ChatEvent::MessageEdited(message) => {
                Audience::Room(message.room_id)
            }
            ChatEvent::MessageDeleted(deleted) => Audience::Room(deleted.room_id),
            ChatEvent::ReactionAdded(update) | ChatEvent::ReactionRemoved(update) => {
                Audience::Room(update.room_id)
            }
            ChatEvent::PollUpdated(update) => Audience::Room(update.room_id),
            ChatEvent::UserMuted(notice) | ChatEvent::UserUnmuted(notice) | ChatEvent::UserKicked(notice) => {
                Audience::Room(notice.room_id)
            }
            ChatEvent::UserBanned { notice, .. } => Audience::Room(notice.room_id),
            ChatEvent::UserUnbanned(notice) => {
                Audience::RoomAndUser { room_id: notice.room_id, user_id: notice.user.id }
            }
            ChatEvent::RoomCreated { room, .. } | ChatEvent::RoomUpdated(room) => Audience::Room(room.id),
            ChatEvent::ParticipantCount(counts) => Audience::Room(counts.room_id),
            ChatEvent::MessagePinned(pin) => Audience::Room(pin.room_id),
            ChatEvent::MessageUnpinned(unpinned) => Audience::Room(unpinned.room_id),
            ChatEvent::QuestionAdded { audience, .. } => audience.clone(),
            ChatEvent::QuestionUpdated { audience, .. } => audience.clone(),
            ChatEvent::QuestionRemoved(removed) => Audience::Room(removed.room_id),
            ChatEvent::UserJoined { user, quiet: true, .. }
            | ChatEvent::UserLeft { user, quiet: true, .. } => Audience::User(user.id),
            ChatEvent::UserJoined { room_id, .. } | ChatEvent::UserLeft { room_id, .. } => {
                Audience::Room(*room_id)
            }
            ChatEvent::RoomRead { user_id, .. } | ChatEvent::Notification { user_id, .. } => {
                Audience::User(*user_id)
            }
            ChatEvent::SessionEnded { session_id } => Audience::Session(*session_id),
            ChatEvent::PresenceChanged { presence, seen_by: PresenceAudience::CoMembers(room_ids) } => {
                Audience::RoomsExcept { room_ids: room_ids.clone(), except: presence.user_id }
            }
            ChatEvent::PresenceChanged { presence, seen_by: PresenceAudience::Own } => {
                Audience::User(presence.user_id)
            }
            ChatEvent::Typing { room_id, user, .. } => {
                Audience::RoomExcept { room_id: *room_id, except: user.id }
            }
            ChatEvent::TypingExpired { room_id, user } => {
                Audience::RoomExcept { room_id: *room_id, except: user.id }
            }
            ChatEvent::Replica(_) => Audience::Users(Vec::new()),
        }
    }

    /// Whether other instances deliver it too. Counts and presence as others see it are
    /// worked out by every instance for its own sockets, from the replicas.
    pub fn crosses_instances(&self) -> bool {
        !matches!(
            self,
            ChatEvent::ParticipantCount(_)
                | ChatEvent::PresenceChanged { .. }
                | ChatEvent::TypingExpired { .. }
        )
    }

    /// What other instances learn from this event for the state they keep.
    pub fn replica(&self) -> Option<Replica> {
        match self {
            ChatEvent::Replica(replica) => Some(replica.clone()),
            ChatEvent::Typing { room_id, user, typing } => {
                Some(Replica::Typing { room_id: *room_id, user: user.clone(), typing: *typing })
            }
            ChatEvent::UserJoined { room_id, .. } => Some(Replica::Members { room_id: *room_id, delta: 1 }),
            ChatEvent::UserLeft { room_id, .. } => Some(Replica::Members { room_id: *room_id, delta: -1 }),
            ChatEvent::UserKicked(notice) => Some(Replica::Members { room_id: notice.room_id, delta: -1 }),
            ChatEvent::UserBanned { notice, was_participant: true } => {
                Some(Replica::Members { room_id: notice.room_id, delta: -1 })
            }
            _ => None,
        }
    }

    /// The change in who follows which room that comes with this event, if any.
    pub fn subscription(&self) -> Option<Subscription> {
        match self {
            ChatEvent::RoomCreated { room, participant_ids } => {
                Some(Subscription::Follow { room_id: room.id, user_ids: participant_ids.clone() })
            }
            ChatEvent::UserJoined { room_id, user, .. } => {
                Some(Subscription::Follow { room_id: *room_id, user_ids: vec![user.id] })
            }
            ChatEvent::UserLeft { room_id, user, .. } => {
                Some(Subscription::Unfollow { room_id: *room_id, user_id: user.id })
            }
            ChatEvent::UserKicked(notice) | ChatEvent::UserBanned { notice, .. } => {
                Some(Subscription::Unfollow { room_id: notice.room_id, user_id: notice.user.id })
            }
            _ => None,
        }
    }
}

/// A boxed future, so that [`Publisher`] can be used as a trait object.
pub type Publishing<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Delivers published events to their audience. Events published one after another are
/// delivered in that order.
pub trait Publisher: Send + Sync + 'static {
    fn publish(&self, event: ChatEvent) -> Publishing<'_>;

    /// Whether the link to the other instances (Redis) is up; `None` when the server
    /// runs alone.
    fn redis_up(&self) -> Option<bool> {
        None
    }

    /// Events that could not be passed to the other instances so far.
    fn failed_publishes(&self) -> u64 {
        0
    }
}

/// The publisher the server runs with.
pub type SharedPublisher = Arc<dyn Publisher>;

/// Keeps every published event, for tests that assert what the service published.
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<ChatEvent>>,
}

impl Recorder {
    /// The events published since the last call, oldest first.
    pub fn take(&self) -> Vec<ChatEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Publisher for Recorder {
    fn publish(&self, event: ChatEvent) -> Publishing<'_> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event);
        Box::pin(std::future::ready(()))
    }
}
