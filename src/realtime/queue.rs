//! Per-socket ordering: events from one socket reach the service in the order sent.
//!
//! socketioxide runs every event handler as its own task, so two events from one socket
//! could otherwise reach the database in either order. Each socket therefore has a
//! queue: the handler closure (called in packet order) only enqueues, and a drain task,
//! started when work arrives and ending when the queue is empty, runs the operations in
//! order. An idle socket holds no task and no buffer. The queue is bounded by count and
//! by bytes; a client flooding it is told so (`rate_limited`). An event that is not an
//! operation is answered `unknown_event` at once, ahead of any still queued. A panic in
//! one operation is answered `internal_error` and the queue goes on.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;

use serde_json::{Value, json};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::FromMessageParts;

use super::operations::{Cx, Operation};
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
    /// About how much memory `data` holds.
    bytes: usize,
    reply: Reply,
}

#[derive(Default)]
struct Pending {
    jobs: VecDeque<Job>,
    /// The sum of the waiting jobs' `bytes`.
    bytes: usize,
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
pub fn register(socket: &SocketRef, state: AppState, user: AuthUser, operations: &'static [Operation]) {
    let queue = SocketQueue { pending: Mutex::new(Pending::default()), state, user };
    socket.extensions.insert(Queue(Arc::new(queue)));
    for operation in operations {
        socket.on(
            operation.name,
            move |socket: SocketRef,
                  WantsAck(wants_ack): WantsAck,
                  ack: AckSender,
                  TryData(data): TryData<Value>| {
                let reply = Reply { event: Cow::Borrowed(operation.name), ack, wants_ack };
                let data = data.ok();
                let bytes = data.as_ref().map_or(0, approx_size);
                enqueue(&socket, Job { operation, data, bytes, reply });
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
    let byte_cap = queue.state.limits.socket_queue_bytes;
    let start_draining = {
        let mut pending = queue.lock();
        if pending.jobs.len() >= QUEUE_CAPACITY || pending.bytes + job.bytes > byte_cap {
            drop(pending);
            return answer(socket, job.reply, Err(AppError::RateLimited { retry_after_secs: 1 }));
        }
        pending.bytes += job.bytes;
        pending.jobs.push_back(job);
        !std::mem::replace(&mut pending.draining, true)
    };
    if start_draining {
        tokio::spawn(drain(socket.clone(), queue));
    }
}

/// Marks the queue as not draining if the drain task ends any other way than by
/// emptying it (a panic outside an operation), so the next event starts a new one.
struct Draining<'a> {
    queue: &'a SocketQueue,
    emptied: bool,
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if !self.emptied {
            self.queue.lock().draining = false;
        }
    }
}

/// Runs the socket's queue in order until it is empty.
async fn drain(socket: SocketRef, queue: Arc<SocketQueue>) {
    let mut guard = Draining { queue: &queue, emptied: false };
    loop {
        let job = {
            let mut pending = queue.lock();
            match pending.jobs.pop_front() {
                Some(job) => {
                    pending.bytes -= job.bytes;
                    job
                }
                None => {
                    pending.draining = false;
                    guard.emptied = true;
                    return;
                }
            }
        };
        let cx = Cx { state: &queue.state, socket: &socket, user: &queue.user };
        // Boxed by the table: an operation's state machine lives only while it runs.
        let running = AssertUnwindSafe(async {
            crate::chat::presence::touch(&queue.state, queue.user.user.id).await;
            (job.operation.run)(&cx, job.data).await
        })
        .catch_unwind();
        let result = running.await.unwrap_or_else(|panic| {
            let what =
                panic.downcast_ref::<&str>().copied().or(panic.downcast_ref::<String>().map(String::as_str));
            Err(AppError::internal(format!("operation panicked: {}", what.unwrap_or("(no message)"))))
        });
        answer(&socket, job.reply, result);
    }
}

/// About how many bytes a decoded payload holds: its text plus a little per value.
fn approx_size(value: &Value) -> usize {
    const PER_VALUE: usize = 16;
    PER_VALUE
        + match value {
            Value::String(text) => text.len(),
            Value::Array(items) => items.iter().map(approx_size).sum(),
            Value::Object(fields) => fields.iter().map(|(key, value)| key.len() + approx_size(value)).sum(),
            _ => 0,
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
            if let AppError::Internal(cause) = &err {
                tracing::error!(event = %reply.event, error = %cause, source = ?cause, "socket event failed");
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};
    use serde_json::json;
    use tokio_tungstenite::tungstenite::Message;

    use super::super::operations::{Cx, Operation, operation};
    use crate::auth::accounts::{self, RegisterRequest};
    use crate::chat::publish::Recorder;
    use crate::clock::SystemClock;
    use crate::config::{Limits, StorageArgs};
    use crate::error::AppResult;
    use crate::state::AppState;
    use crate::store::Store;
    use serde_json::Value;

    async fn boom(_: &Cx<'_>, _: Value) -> AppResult<Value> {
        panic!("injected failure");
    }

    async fn echo(_: &Cx<'_>, body: Value) -> AppResult<Value> {
        Ok(body)
    }

    const FAILING: &[Operation] = &[operation!("boom" => boom), operation!("echo" => echo)];

    /// Reads Socket.IO text frames until one starts with `prefix` (skipping pings).
    async fn expect_frame<S>(ws: &mut S, prefix: &str) -> String
    where
        S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
    {
        loop {
            let frame = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
                .await
                .expect("a frame within 5 s")
                .expect("open connection")
                .expect("frame");
            if let Message::Text(text) = frame
                && text.starts_with(prefix)
            {
                return text.to_string();
            }
        }
    }

    /// A panic inside one event's handling is answered `internal_error`, and the same
    /// socket's next events are still handled.
    #[tokio::test]
    async fn a_panicking_operation_answers_internal_error_and_the_socket_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageArgs::embedded(dir.path()), 1).await.unwrap();
        let blobs = crate::files::blobs::BlobStore::local(&dir.path().join("files")).unwrap();
        let state = AppState::new(
            store,
            blobs,
            Arc::new(SystemClock),
            Limits::default(),
            Arc::new(Recorder::default()),
        );
        let request = RegisterRequest {
            username: "pat".into(),
            password: "correct horse battery".into(),
            display_name: None,
        };
        let session = accounts::register(&state, request, [127, 0, 0, 1].into()).await.unwrap();
        let (layer, io) = super::super::layer();
        super::super::attach_with(&io, state, FAILING);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, axum::Router::new().layer(layer)).await });

        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        expect_frame(&mut ws, "0{").await;
        ws.send(Message::text(format!("40{}", json!({"token": session.token})))).await.unwrap();
        expect_frame(&mut ws, "40{").await;
        for round in 0..2 {
            ws.send(Message::text(format!("42{round}[\"boom\",{{}}]"))).await.unwrap();
            let ack = expect_frame(&mut ws, &format!("43{round}[")).await;
            let body: Value = serde_json::from_str(&ack[format!("43{round}").len()..]).unwrap();
            assert_eq!(body[0]["ok"], false, "{ack}");
            assert_eq!(body[0]["error"]["code"], "internal_error", "{ack}");
            ws.send(Message::text(format!("42{}[\"echo\",{{\"x\":{round}}}]", round + 5))).await.unwrap();
            let ack = expect_frame(&mut ws, &format!("43{}[", round + 5)).await;
            assert!(ack.contains(&format!("\"x\":{round}")) && ack.contains("\"ok\":true"), "{ack}");
        }
    }
}
