//! Client → server Socket.IO events (SPEC §5): one table, each line an event name, its
//! input type and the service call it makes.
//!
//! A payload is the REST body plus the ids the REST path carries (`room_id`,
//! `message_id`), so each operation has exactly one input type, shared with REST. Adding
//! an event is one line in [`OPERATIONS`] plus its service function. An event not in the
//! table is answered `unknown_event` at once.

use std::future::Future;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::extract::SocketRef;

use super::broadcast::chat_room;
use crate::auth::AuthUser;
use crate::chat::{messages, moderation, presence, rooms, typing};
use crate::domain::NoBody;
use crate::domain::message::{
    DeleteMessage, Deleted, EditMessage, Message, MessageId, PollUpdate, React, ReactionUpdate, SendMessage,
    Vote,
};
use crate::domain::moderation::{
    BanRequest, KickRequest, ModerationNotice, MuteRequest, UnbanRequest, UnmuteRequest,
};
use crate::domain::notification::ReadState;
use crate::domain::presence::{SetPresence, UserPresence};
use crate::domain::room::{LeaveRoom, MarkRead, OpenRoom, RoomId};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// What an operation runs with: the server, the socket and its user.
pub struct Cx<'a> {
    pub state: &'a AppState,
    pub socket: &'a SocketRef,
    pub user: &'a AuthUser,
}

/// An operation's answer, ready for the ack (`ok` is added there).
pub type Running<'a> = Pin<Box<dyn Future<Output = AppResult<Value>> + Send + 'a>>;

pub struct Operation {
    pub name: &'static str,
    pub run: for<'a> fn(&'a Cx<'a>, Option<Value>) -> Running<'a>,
    /// Decodes a payload into the operation's input type and nothing more: what `run`
    /// does first, without a server (the fuzz targets drive every event through it).
    pub decode: fn(Option<Value>) -> AppResult<()>,
}

/// Decodes `data` as the input type of `_call`, an operation's function.
pub fn decode_for<T: DeserializeOwned, F, Fut>(_call: F, data: Option<Value>) -> AppResult<()>
where
    F: Fn(&'static Cx<'static>, T) -> Fut,
{
    parse::<T>(data).map(drop)
}

/// A table line: decodes the payload into the function's input type, runs it and turns
/// its answer into the ack's fields.
macro_rules! operation {
    ($name:literal => $call:path) => {{
        fn run<'a>(
            cx: &'a $crate::realtime::operations::Cx<'a>,
            data: Option<serde_json::Value>,
        ) -> $crate::realtime::operations::Running<'a> {
            use $crate::realtime::operations::{parse, to_object};
            Box::pin(async move { to_object($call(cx, parse(data)?).await?) })
        }
        fn decode(data: Option<serde_json::Value>) -> $crate::error::AppResult<()> {
            $crate::realtime::operations::decode_for($call, data)
        }
        $crate::realtime::operations::Operation { name: $name, run, decode }
    }};
}

#[cfg_attr(not(test), allow(unused_imports))]
pub(crate) use operation;

/// Every client → server event.
pub const OPERATIONS: &[Operation] = &[
    operation!("join_chat_room" => join_chat_room),
    operation!("leave_chat_room" => leave_chat_room),
    operation!("send_chat_message" => send_chat_message),
    operation!("edit_chat_message" => edit_chat_message),
    operation!("delete_chat_message" => delete_chat_message),
    operation!("add_message_reaction" => add_message_reaction),
    operation!("remove_message_reaction" => remove_message_reaction),
    operation!("mark_read" => mark_read),
    operation!("vote_poll" => vote_poll),
    operation!("update_presence" => update_presence),
    operation!("chat_typing_start" => chat_typing_start),
    operation!("chat_typing_stop" => chat_typing_stop),
    operation!("mute_user" => mute_user),
    operation!("unmute_user" => unmute_user),
    operation!("kick_user" => kick_user),
    operation!("ban_user" => ban_user),
    operation!("unban_user" => unban_user),
];

/// A socket payload about a room: `room_id` beside the REST body.
#[derive(Debug, Deserialize)]
pub struct InRoom<T> {
    pub room_id: RoomId,
    #[serde(flatten)]
    pub body: T,
}

/// A socket payload about a message: `message_id` beside the REST body.
#[derive(Debug, Deserialize)]
pub struct OnMessage<T> {
    pub message_id: MessageId,
    #[serde(flatten)]
    pub body: T,
}

/// Payloads are JSON objects: an array or a scalar is refused rather than read by
/// position. Whole-number floats count as integers, as in a REST body.
pub fn parse<T: DeserializeOwned>(data: Option<Value>) -> AppResult<T> {
    match data {
        Some(mut object @ Value::Object(_)) => {
            crate::domain::whole_numbers_as_integers(&mut object);
            serde_json::from_value(object)
                .map_err(|err| AppError::validation("invalid_body", format!("invalid payload: {err}")))
        }
        _ => Err(AppError::validation("invalid_body", "expected a JSON object payload")),
    }
}

pub(crate) fn to_object(answer: impl Serialize) -> AppResult<Value> {
    serde_json::to_value(answer).map_err(AppError::internal)
}

#[derive(Serialize)]
struct MessageAck {
    message: Message,
}

#[derive(Serialize)]
struct Empty {}

async fn join_chat_room(cx: &Cx<'_>, req: InRoom<OpenRoom>) -> AppResult<Value> {
    let room = chat_room(req.room_id);
    let following = cx.socket.rooms().iter().any(|r| *r == room);
    let mut opened = {
        let _turn = cx.state.arrivals.turn().await?;
        rooms::open_room(cx.state, cx.user, req.room_id, req.body).await?
    };
    cx.socket.join(room);
    if !following {
        rooms::catch_up(cx.state, cx.user, req.room_id, &mut opened).await?;
    }
    let payload = to_object(&opened)?;
    let _ = cx.socket.emit("chat_room_joined", &payload);
    // The ack carries the same answer. The socket's writer flushes whatever is queued in
    // one burst, and the WebSocket layer keeps its write buffer at the largest burst for
    // the socket's life: letting the writer take the event first (it was just woken, so
    // it runs before this task resumes) keeps one copy of the answer there, not two.
    tokio::task::yield_now().await;
    Ok(payload)
}

/// Stops this socket following the room; leaving it as a participant is REST's `leave`.
async fn leave_chat_room(cx: &Cx<'_>, req: InRoom<LeaveRoom>) -> AppResult<Empty> {
    rooms::get_room(cx.state, cx.user, req.room_id).await?;
    cx.socket.leave(chat_room(req.room_id));
    Ok(Empty {})
}

async fn send_chat_message(cx: &Cx<'_>, req: InRoom<SendMessage>) -> AppResult<MessageAck> {
    let (message, _) = messages::send_message(cx.state, cx.user, req.room_id, req.body).await?;
    Ok(MessageAck { message })
}

async fn edit_chat_message(cx: &Cx<'_>, req: OnMessage<EditMessage>) -> AppResult<MessageAck> {
    let message = messages::edit_message(cx.state, cx.user, req.message_id, req.body).await?;
    Ok(MessageAck { message })
}

async fn delete_chat_message(cx: &Cx<'_>, req: OnMessage<DeleteMessage>) -> AppResult<Deleted> {
    messages::delete_message(cx.state, cx.user, req.message_id).await
}

async fn add_message_reaction(cx: &Cx<'_>, req: OnMessage<React>) -> AppResult<ReactionUpdate> {
    messages::set_reaction(cx.state, cx.user, req.message_id, req.body, true).await
}

async fn remove_message_reaction(cx: &Cx<'_>, req: OnMessage<React>) -> AppResult<ReactionUpdate> {
    messages::set_reaction(cx.state, cx.user, req.message_id, req.body, false).await
}

async fn mark_read(cx: &Cx<'_>, req: InRoom<MarkRead>) -> AppResult<ReadState> {
    rooms::mark_read(cx.state, cx.user, req.room_id, req.body).await
}

#[derive(Serialize)]
struct PresenceAck {
    presence: UserPresence,
}

async fn update_presence(cx: &Cx<'_>, req: SetPresence) -> AppResult<PresenceAck> {
    Ok(PresenceAck { presence: presence::set_presence(cx.state, cx.user, req).await? })
}

async fn chat_typing_start(cx: &Cx<'_>, req: InRoom<NoBody>) -> AppResult<Empty> {
    typing::start(cx.state, cx.user, req.room_id).await.map(|()| Empty {})
}

async fn chat_typing_stop(cx: &Cx<'_>, req: InRoom<NoBody>) -> AppResult<Empty> {
    typing::stop(cx.state, cx.user, req.room_id).await.map(|()| Empty {})
}

async fn mute_user(cx: &Cx<'_>, req: InRoom<MuteRequest>) -> AppResult<ModerationNotice> {
    moderation::mute(cx.state, cx.user, req.room_id, req.body).await
}

async fn unmute_user(cx: &Cx<'_>, req: InRoom<UnmuteRequest>) -> AppResult<ModerationNotice> {
    moderation::unmute(cx.state, cx.user, req.room_id, req.body).await
}

async fn kick_user(cx: &Cx<'_>, req: InRoom<KickRequest>) -> AppResult<ModerationNotice> {
    moderation::kick(cx.state, cx.user, req.room_id, req.body).await
}

async fn ban_user(cx: &Cx<'_>, req: InRoom<BanRequest>) -> AppResult<ModerationNotice> {
    moderation::ban(cx.state, cx.user, req.room_id, req.body).await
}

async fn unban_user(cx: &Cx<'_>, req: InRoom<UnbanRequest>) -> AppResult<ModerationNotice> {
    moderation::unban(cx.state, cx.user, req.room_id, req.body).await
}

async fn vote_poll(cx: &Cx<'_>, req: OnMessage<Vote>) -> AppResult<PollUpdate> {
    messages::vote(cx.state, cx.user, req.message_id, req.body).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = OPERATIONS.iter().map(|op| op.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OPERATIONS.len());
    }

    #[test]
    fn payloads_are_objects_with_the_rest_body_beside_the_id() {
        let req: InRoom<SendMessage> = parse(Some(json!({"room_id": 4, "content": "hi"}))).unwrap();
        assert_eq!((req.room_id, req.body.content.as_deref()), (4, Some("hi")));
        for bad in [json!([4, 5]), json!("x"), json!(null), json!({"room_id": "4"})] {
            let err = parse::<InRoom<OpenRoom>>(Some(bad)).unwrap_err();
            assert_eq!(err.code(), "invalid_body");
        }
        assert_eq!(parse::<InRoom<OpenRoom>>(None).unwrap_err().code(), "invalid_body");
    }

    /// JSON of any shape, leaning on the field names the payloads use.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        const KEYS: &[&str] = &[
            "room_id",
            "message_id",
            "user_id",
            "content",
            "type",
            "reply_to",
            "client_id",
            "poll",
            "options",
            "question",
            "multiple",
            "closes_at",
            "since",
            "emoji",
            "status",
            "custom_message",
            "clear_after_seconds",
            "duration_seconds",
            "reason",
            "permissions",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(|fields| {
                    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]

        /// Whatever a client sends, decoding and validating a payload answers (an error
        /// at worst); nothing panics.
        #[test]
        fn any_payload_decodes_or_is_refused(value in any_json()) {
            let now = 1_700_000_000_000;
            if let Ok(req) = parse::<InRoom<SendMessage>>(Some(value.clone())) {
                let _ = req.body.validate(now);
            }
            let _ = parse::<InRoom<OpenRoom>>(Some(value.clone()));
            let _ = parse::<OnMessage<EditMessage>>(Some(value.clone()));
            let _ = parse::<OnMessage<React>>(Some(value.clone())).map(|r| crate::domain::message::validate_emoji(&r.body.emoji));
            let _ = parse::<SetPresence>(Some(value.clone())).map(|p| p.validate());
            let _ = parse::<InRoom<MuteRequest>>(Some(value));
        }
    }
}
