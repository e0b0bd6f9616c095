//! Per-socket ordering: events from one socket reach the service in the order sent.
//!
//! socketioxide runs every event handler as its own task, so two events from one socket
//! could otherwise reach the database in either order. Each socket therefore has a
//! queue: the handler closure (called in packet order) only enqueues, and a drain task,
//! started when work arrives and ending when the queue is empty, runs the operations in
//! order. An idle socket holds no task and no buffer. A client flooding its queue is
//! told so. An event that is not an operation is answered `unknown_event` at once.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::FromMessageParts;

use super::operations::{Cx, OPERATIONS, Operation};
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Events a socket may have waiting; beyond it, new ones are refused with `rate_limited`.
/// Large enough for a client replaying its outbox after a reconnect; bounded because each
/// entry holds a payload of up to the Socket.IO payload limit.
const QUEUE_CAPACITY: usize = 1024;

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

/// Where an answer goes: the ack callback, or `chat_error` when there is none.
struct Reply {
    event: Cow<'static, str>,
    ack: AckSender,
    wants_ack: bool,
}

struct Job {
    operation: &'static Operation,
    data: Option<Value>,
    reply: Reply,
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

/// Gives the socket its queue and registers a handler per operation. Called from the
/// connect middleware: socketioxide tells the client it is connected before the connect
/// handler runs, so handlers registered any later could miss the client's first events.
pub fn register(socket: &SocketRef, state: AppState, user: AuthUser) {
    let queue = SocketQueue { pending: Mutex::new(Pending::default()), state, user };
    socket.extensions.insert(Queue(Arc::new(queue)));
    for operation in OPERATIONS {
        socket.on(
            operation.name,
            move |socket: SocketRef,
                  WantsAck(wants_ack): WantsAck,
                  ack: AckSender,
                  TryData(data): TryData<Value>| {
                let reply = Reply { event: Cow::Borrowed(operation.name), ack, wants_ack };
                enqueue(&socket, Job { operation, data: data.ok(), reply });
                std::future::ready(())
            },
        );
    }
    socket.on_fallback(
        |socket: SocketRef, Event(name): Event, WantsAck(wants_ack): WantsAck, ack: AckSender| {
            let err =
                AppError::validation("unknown_event", format!("the server has no event called {name:?}"));
            let reply = Reply { event: Cow::Owned(name), ack, wants_ack };
            answer(&socket, reply, Err(err));
            std::future::ready(())
        },
    );
}

fn enqueue(socket: &SocketRef, job: Job) {
    let Some(Queue(queue)) = socket.extensions.get::<Queue>() else {
        return answer(socket, job.reply, Err(AppError::internal("socket has no queue")));
    };
    let start_draining = {
        let mut pending = queue.lock();
        if pending.jobs.len() >= QUEUE_CAPACITY {
            drop(pending);
            return answer(socket, job.reply, Err(AppError::RateLimited { retry_after_secs: 1 }));
        }
        pending.jobs.push_back(job);
        !std::mem::replace(&mut pending.draining, true)
    };
    if start_draining {
        tokio::spawn(drain(socket.clone(), queue));
    }
}

/// Runs the socket's queue in order until it is empty.
async fn drain(socket: SocketRef, queue: Arc<SocketQueue>) {
    loop {
        let job = {
            let mut pending = queue.lock();
            match pending.jobs.pop_front() {
                Some(job) => job,
                None => {
                    pending.draining = false;
                    return;
                }
            }
        };
        let cx = Cx { state: &queue.state, socket: &socket, user: &queue.user };
        // Boxed by the table: an operation's state machine lives only while it runs.
        let result = (job.operation.run)(&cx, job.data).await;
        answer(&socket, job.reply, result);
    }
}

/// Acks `{ok: true, …}` / `{ok: false, error}`; without an ack callback, errors go out
/// as `chat_error`.
fn answer(socket: &SocketRef, reply: Reply, result: AppResult<Value>) {
    let body = match result {
        Ok(Value::Object(mut fields)) => {
            fields.insert("ok".into(), Value::Bool(true));
            Value::Object(fields)
        }
        Ok(_) => json!({"ok": true}),
        Err(err) => {
            if matches!(err, AppError::Internal(_)) {
                tracing::error!(event = %reply.event, error = %err, "socket event failed");
            }
            let body = err.body();
            if !reply.wants_ack {
                let payload =
                    json!({"code": body.error.code, "message": body.error.message, "event": reply.event});
                let _ = socket.emit("chat_error", &payload);
                return;
            }
            json!({"ok": false, "error": body.error})
        }
    };
    if let Err(err) = reply.ack.send(&body) {
        tracing::debug!(event = %reply.event, error = %err, "could not send ack");
    }
}
