//! The baseline the fan-out figures are compared with: bare socketioxide, configured as
//! EventSync Chat configures it, answering the few calls `eventsync-bench run` makes with
//! messages of the same shape, and storing nothing.
//!
//! Accounts, rooms and memberships live in memory; a socket authenticates with the token
//! `register` returned and follows its user's rooms from the handshake; a
//! `send_chat_message` is acknowledged with the message and broadcast to the room as
//! `new_chat_message`. Whatever EventSync Chat's figure is above this one, run beside it
//! on the same machine, is EventSync Chat's own work: storage, checks, publishing.
//!
//! `eventsync-bare --bind 127.0.0.1:PORT`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use clap::Parser;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef, TryData};
use std::sync::Mutex;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "127.0.0.1:8090")]
    bind: SocketAddr,
}

#[derive(Clone)]
struct User {
    id: i64,
    username: String,
}

#[derive(Default)]
struct World {
    /// By token (the token is the user's id as text).
    users: HashMap<String, User>,
    by_name: HashMap<String, String>,
    rooms_of: HashMap<i64, Vec<i64>>,
}

#[derive(Clone, Default)]
struct Bare {
    world: Arc<Mutex<World>>,
    next_id: Arc<AtomicI64>,
}

impl Bare {
    fn next(&self) -> i64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn user(&self, token: &str) -> Option<User> {
        self.lock().users.get(token).cloned()
    }
}

fn user_json(user: &User) -> Value {
    json!({"id": user.id, "username": user.username, "display_name": user.username, "role": "attendee"})
}

fn now_iso() -> String {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    format!("2026-01-01T00:00:{:02}.{:03}Z", (millis / 1000) % 60, millis % 1000)
}

/// A message as EventSync Chat sends it: every field, in the same order.
fn message_json(id: i64, room_id: i64, sender: &User, content: &str) -> Value {
    json!({
        "id": id, "room_id": room_id, "seq": id, "sender": user_json(sender), "type": "text",
        "content": content, "reply_to": null, "mentions": [], "attachments": [], "reactions": [],
        "poll": null, "client_id": null, "created_at": now_iso(), "edited_at": null, "deleted_at": null,
    })
}

fn token_of(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_owned)
}

async fn register(State(bare): State<Bare>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let username = body["username"].as_str().unwrap_or_default().to_owned();
    if bare.lock().by_name.contains_key(&username) {
        return (StatusCode::CONFLICT, Json(json!({"error": {"code": "username_taken"}})));
    }
    let user = User { id: bare.next(), username: username.clone() };
    let token = user.id.to_string();
    let answer = json!({"token": token, "user": user_json(&user)});
    let mut world = bare.lock();
    world.by_name.insert(username, token.clone());
    world.users.insert(token, user);
    (StatusCode::CREATED, Json(answer))
}

async fn login(State(bare): State<Bare>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let username = body["username"].as_str().unwrap_or_default();
    match bare.lock().by_name.get(username) {
        Some(token) => (StatusCode::OK, Json(json!({"token": token}))),
        None => (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": "invalid_credentials"}}))),
    }
}

async fn create_room(State(bare): State<Bare>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({"id": bare.next(), "name": body["name"]})))
}

async fn join_room(
    State(bare): State<Bare>,
    Path(room_id): Path<i64>,
    headers: axum::http::HeaderMap,
) -> (StatusCode, Json<Value>) {
    let Some(user) = token_of(&headers).and_then(|token| bare.user(&token)) else {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": {"code": "unauthorized"}})));
    };
    bare.lock().rooms_of.entry(user.id).or_default().push(room_id);
    (StatusCode::OK, Json(json!({"room_id": room_id})))
}

async fn post_message(State(bare): State<Bare>, Path(room_id): Path<i64>) -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({"id": bare.next(), "room_id": room_id})))
}

fn attach(io: &SocketIo, bare: Bare) {
    io.ns("/", move |socket: SocketRef, TryData(auth): TryData<Value>| {
        let user = auth.ok().and_then(|auth| auth["token"].as_str().and_then(|token| bare.user(token)));
        let Some(user) = user else {
            let _ = socket.disconnect();
            return std::future::ready(());
        };
        let rooms: Vec<String> = bare
            .lock()
            .rooms_of
            .get(&user.id)
            .map(|ids| ids.iter().map(|id| format!("room:{id}")).collect())
            .unwrap_or_default();
        socket.join(rooms);
        let bare = bare.clone();
        socket.on("send_chat_message", move |socket: SocketRef, Data(data): Data<Value>, ack: AckSender| {
            let bare = bare.clone();
            let user = user.clone();
            async move {
                let room_id = data["room_id"].as_i64().unwrap_or_default();
                let content = data["content"].as_str().unwrap_or_default();
                let message = message_json(bare.next(), room_id, &user, content);
                let _ = socket.within(format!("room:{room_id}")).emit("new_chat_message", &message).await;
                let _ = ack.send(&json!({"message": message, "ok": true}));
            }
        });
        std::future::ready(())
    });
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let (layer, io) = SocketIo::builder()
        .ws_read_buffer_size(4 * 1024)
        .max_payload(64 * 1024)
        .ws_max_message_size(64 * 1024)
        .ws_max_frame_size(64 * 1024)
        .ack_timeout(Duration::from_secs(10))
        .build_layer();
    let bare = Bare::default();
    attach(&io, bare.clone());
    let app = Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/chat/rooms", post(create_room))
        .route("/api/chat/rooms/{room_id}/join", post(join_room))
        .route("/api/chat/rooms/{room_id}/messages", post(post_message))
        .with_state(bare)
        .layer(layer);
    let listener = tokio::net::TcpListener::bind(args.bind).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("eventsync-bare listening on {}", args.bind);
    axum::serve(listener, app).await?;
    Ok(())
}
