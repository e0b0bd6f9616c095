//! Client → server Socket.IO events (SPEC §5), each calling one chat service function.
//!
//! socketioxide runs every event handler as its own task, so two events from one socket
//! could otherwise reach the database in either order. Each socket therefore has a
//! queue: the handler closure (called in packet order) only enqueues, and a drain task,
//! started when work arrives and ending when the queue is empty, processes it in order.
//! An idle socket holds no task and no buffer. A client flooding its queue is told so.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, TryData};
use socketioxide::handler::FromMessageParts;

use crate::auth::AuthUser;
use crate::chat::{messages, rooms};
use crate::domain::message::{MessageId, SendMessage};
use crate::domain::room::RoomId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

use super::broadcast::chat_room;

/// Events a socket may have waiting; beyond it, new ones are refused with `rate_limited`.
/// Large enough for a client replaying its outbox after a reconnect; bounded because each
/// entry holds a payload of up to the Socket.IO payload limit.
const QUEUE_CAPACITY: usize = 1024;

/// Every client → server event this module handles.
const EVENTS: [&str; 9] = [
    "join_chat_room",
    "leave_chat_room",
    "send_chat_message",
    "edit_chat_message",
    "delete_chat_message",
    "add_message_reaction",
    "remove_message_reaction",
    "mark_read",
    "vote_poll",
];

/// Whether the client attached an acknowledgement callback.
struct WantsAck(bool);

impl<A: Adapter> FromMessageParts<A> for WantsAck {
    type Error = Infallible;
    fn from_message_parts(
        _: &Arc<socketioxide::socket::Socket<A>>,
        _: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        Ok(WantsAck(ack_id.is_some()))
    }
}

struct Job {
    event: &'static str,
    data: Option<Value>,
    ack: AckSender,
    wants_ack: bool,
}

#[derive(Default)]
struct Pending {
    jobs: VecDeque<Job>,
    /// Whether a drain task is running; only ever changed under the same lock as `jobs`.
    draining: bool,
}

/// One socket's queue and what its drain task needs.
struct SocketQueue {
    pending: Mutex<Pending>,
    state: AppState,
    user: AuthUser,
}

impl SocketQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Kept in the socket's extensions.
#[derive(Clone)]
struct Queue(Arc<SocketQueue>);

/// Gives the socket its queue and registers the event handlers. Called from the connect
/// middleware: socketioxide tells the client it is connected before the connect handler
/// runs, so handlers registered any later could miss the client's first events.
pub fn register(socket: &SocketRef, state: AppState, user: AuthUser) {
    let queue = SocketQueue { pending: Mutex::new(Pending::default()), state, user };
    socket.extensions.insert(Queue(Arc::new(queue)));
    for event in EVENTS {
        socket.on(
            event,
            move |socket: SocketRef,
                  WantsAck(wants_ack): WantsAck,
                  ack: AckSender,
                  TryData(data): TryData<Value>| {
                enqueue(&socket, Job { event, data: data.ok(), ack, wants_ack });
                std::future::ready(())
            },
        );
    }
}

fn enqueue(socket: &SocketRef, job: Job) {
    let Some(Queue(queue)) = socket.extensions.get::<Queue>() else {
        return answer(socket, job, Err(AppError::internal("socket has no queue")));
    };
    let start_draining = {
        let mut pending = queue.lock();
        if pending.jobs.len() >= QUEUE_CAPACITY {
            drop(pending);
            return answer(socket, job, Err(AppError::RateLimited { retry_after_secs: 1 }));
        }
        pending.jobs.push_back(job);
        !std::mem::replace(&mut pending.draining, true)
    };
    if start_draining {
        tokio::spawn(drain(socket.clone(), queue));
    }
}

/// Processes the socket's queue in order until it is empty.
async fn drain(socket: SocketRef, queue: Arc<SocketQueue>) {
    loop {
        let mut job = {
            let mut pending = queue.lock();
            match pending.jobs.pop_front() {
                Some(job) => job,
                None => {
                    pending.draining = false;
                    return;
                }
            }
        };
        // Boxed: the dispatch state machine is large and lives only while an event runs.
        let data = job.data.take();
        let result = Box::pin(dispatch(&queue.state, &socket, &queue.user, job.event, data)).await;
        answer(&socket, job, result);
    }
}

/// Acks `{ok: true, …}` / `{ok: false, error}`; without an ack callback, errors go out
/// as `chat_error`.
fn answer(socket: &SocketRef, job: Job, result: AppResult<Value>) {
    let reply = match result {
        Ok(Value::Object(mut fields)) => {
            fields.insert("ok".into(), Value::Bool(true));
            Value::Object(fields)
        }
        Ok(_) => json!({"ok": true}),
        Err(err) => {
            if matches!(err, AppError::Internal(_)) {
                tracing::error!(event = job.event, error = %err, "socket event failed");
            }
            let body = err.body();
            if !job.wants_ack {
                let payload =
                    json!({"code": body.error.code, "message": body.error.message, "event": job.event});
                let _ = socket.emit("chat_error", &payload);
                return;
            }
            json!({"ok": false, "error": body.error})
        }
    };
    if let Err(err) = job.ack.send(&reply) {
        tracing::debug!(event = job.event, error = %err, "could not send ack");
    }
}

fn parse<T: DeserializeOwned>(data: Option<Value>) -> AppResult<T> {
    let data = data.ok_or_else(|| AppError::validation("invalid_body", "expected a JSON object payload"))?;
    serde_json::from_value(data)
        .map_err(|err| AppError::validation("invalid_body", format!("invalid payload: {err}")))
}

fn to_object(value: impl serde::Serialize) -> AppResult<Value> {
    serde_json::to_value(value).map_err(AppError::internal)
}

#[derive(Deserialize)]
struct RoomRef {
    room_id: RoomId,
}

#[derive(Deserialize)]
struct JoinRoom {
    room_id: RoomId,
    since: Option<MessageId>,
}

#[derive(Deserialize)]
struct SendChatMessage {
    room_id: RoomId,
    #[serde(flatten)]
    message: SendMessage,
}

#[derive(Deserialize)]
struct EditChatMessage {
    message_id: MessageId,
    content: String,
}

#[derive(Deserialize)]
struct MessageRef {
    message_id: MessageId,
}

#[derive(Deserialize)]
struct Reaction {
    message_id: MessageId,
    emoji: String,
}

#[derive(Deserialize)]
struct MarkRead {
    room_id: RoomId,
    message_id: MessageId,
}

#[derive(Deserialize)]
struct VotePoll {
    message_id: MessageId,
    options: Vec<i64>,
}

async fn dispatch(
    state: &AppState,
    socket: &SocketRef,
    user: &AuthUser,
    event: &str,
    data: Option<Value>,
) -> AppResult<Value> {
    match event {
        "join_chat_room" => {
            let req: JoinRoom = parse(data)?;
            let opened = messages::open_room(state, user, req.room_id, req.since).await?;
            socket.join(chat_room(req.room_id));
            let payload = to_object(&opened)?;
            let _ = socket.emit("chat_room_joined", &payload);
            Ok(payload)
        }
        "leave_chat_room" => {
            let req: RoomRef = parse(data)?;
            rooms::get_room(state, user, req.room_id).await?;
            socket.leave(chat_room(req.room_id));
            Ok(Value::Object(Map::new()))
        }
        "send_chat_message" => {
            let req: SendChatMessage = parse(data)?;
            let (message, _) = messages::send_message(state, user, req.room_id, req.message).await?;
            Ok(json!({"message": message}))
        }
        "edit_chat_message" => {
            let req: EditChatMessage = parse(data)?;
            let message = messages::edit_message(state, user, req.message_id, &req.content).await?;
            Ok(json!({"message": message}))
        }
        "delete_chat_message" => {
            let req: MessageRef = parse(data)?;
            let (id, room_id) = messages::delete_message(state, user, req.message_id).await?;
            Ok(json!({"id": id, "room_id": room_id}))
        }
        "add_message_reaction" | "remove_message_reaction" => {
            let req: Reaction = parse(data)?;
            let add = event == "add_message_reaction";
            to_object(messages::set_reaction(state, user, req.message_id, &req.emoji, add).await?)
        }
        "mark_read" => {
            let req: MarkRead = parse(data)?;
            to_object(rooms::mark_read(state, user, req.room_id, req.message_id).await?)
        }
        "vote_poll" => {
            let req: VotePoll = parse(data)?;
            to_object(messages::vote(state, user, req.message_id, &req.options).await?)
        }
        other => Err(AppError::validation("unknown_event", format!("unknown event {other}"))),
    }
}
