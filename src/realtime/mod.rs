//! Socket.IO (protocol v5) on `/socket.io/`: handshake authentication, per-user rooms,
//! the operation table ([`operations`]), per-socket ordering ([`queue`]) and the
//! publisher that turns chat events into broadcasts ([`broadcast`]).
//!
//! A socket authenticates with `auth: {token}`, `Authorization: Bearer …` or the session
//! cookie (only from our own origin, like any cookie-authenticated request); anything
//! else is refused with a `connect_error` whose message says why. Each socket joins
//! `user:<id>`, the room that reaches all of one user's tabs and devices.

pub mod broadcast;
pub mod bus;
pub mod operations;
mod queue;

use std::time::Duration;

use serde::Deserialize;
use socketioxide::SocketIo;
use socketioxide::extract::{SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;

use crate::auth::accounts::{self, AuthUser};
use crate::auth::credentials::{TokenSource, cookie_origin_allowed, token_from_headers};
use crate::chat::{presence, typing};
use crate::domain::room::RoomId;
use crate::error::AppError;
use crate::state::AppState;

use broadcast::{chat_room, session_room, user_room};

/// Read buffer per WebSocket: far below tungstenite's 128 KiB default, because idle
/// connections are the common case and chat frames are small.
const WS_READ_BUFFER_BYTES: usize = 4 * 1024;
/// Largest Socket.IO packet accepted from a client, over polling and WebSocket alike;
/// a larger WebSocket message closes the connection before it is parsed.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// The Socket.IO tower layer and its handle; handlers are attached by [`attach`].
pub fn layer() -> (SocketIoLayer, SocketIo) {
    SocketIo::builder()
        .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
        .max_payload(MAX_PAYLOAD_BYTES as u64)
        .ws_max_message_size(MAX_PAYLOAD_BYTES)
        .ws_max_frame_size(MAX_PAYLOAD_BYTES)
        .ack_timeout(Duration::from_secs(10))
        .build_layer()
}

/// Gives a Socket.IO request its own copies of its URI and headers.
///
/// hyper parses them as zero-copy slices of the connection's read buffer, and
/// socketioxide keeps each socket's request parts for the life of the socket: a few
/// hundred bytes of headers would keep the whole (8–16 KiB) buffer alive per connection.
/// That includes axum's `OriginalUri` extension, a clone of the URI made by the router
/// before this layer runs.
pub async fn detach_request_buffers(mut request: axum::extract::Request) -> axum::extract::Request {
    if request.uri().path().starts_with("/socket.io/") {
        let mut headers = axum::http::HeaderMap::with_capacity(request.headers().len());
        for (name, value) in request.headers() {
            if let Ok(owned) = axum::http::HeaderValue::from_bytes(value.as_bytes()) {
                headers.append(name.clone(), owned);
            }
        }
        *request.headers_mut() = headers;
        let owned = |uri: &axum::http::Uri| axum::http::Uri::try_from(uri.to_string()).ok();
        if let Some(uri) = owned(request.uri()) {
            *request.uri_mut() = uri;
        }
        let uri = request.uri().clone();
        if let Some(original) = request.extensions_mut().get_mut::<axum::extract::OriginalUri>() {
            // Usually the same URI: share the copy just made rather than making another.
            if original.0 == uri {
                original.0 = uri;
            } else if let Some(copy) = owned(&original.0) {
                original.0 = copy;
            }
        }
    }
    request
}

/// The user's rooms as the handshake found them, for the connect handler's presence
/// broadcast (one query, not two).
#[derive(Clone)]
struct RoomsAtConnect(Vec<RoomId>);

/// The `auth` object a client may send in its CONNECT packet.
#[derive(Debug, Default, Deserialize)]
struct HandshakeAuth {
    token: Option<String>,
}

/// Registers the default namespace with handshake authentication.
///
/// The middleware authenticates, subscribes the socket to its user's rooms and registers
/// the event handlers before the client hears that it is connected, so neither a
/// broadcast nor the client's first event can slip past.
pub fn attach(io: &SocketIo, state: AppState) {
    attach_with(io, state, operations::OPERATIONS);
}

/// [`attach`] with another operation table (tests inject failing operations).
pub fn attach_with(io: &SocketIo, state: AppState, operations: &'static [operations::Operation]) {
    let auth_state = state.clone();
    let authenticate = move |socket: SocketRef, TryData(auth): TryData<HandshakeAuth>| {
        let state = auth_state.clone();
        async move {
            let turn = state.arrivals.turn().await?;
            let user = authenticate_handshake(&state, &socket, auth.ok()).await?;
            let room_ids = state.store.room_ids_of_user(user.user.id).await?;
            drop(turn);
            let mut rooms = vec![user_room(user.user.id), session_room(user.session_id)];
            // Follow every room the user participates in: live badges and notifications
            // without opening each room.
            rooms.extend(room_ids.iter().copied().map(chat_room));
            socket.join(rooms);
            socket.extensions.insert(user.clone());
            socket.extensions.insert(RoomsAtConnect(room_ids));
            queue::register(&socket, state, user, operations);
            Ok::<(), AppError>(())
        }
    };
    let on_connect = move |socket: SocketRef| {
        if let Some(user) = socket.extensions.get::<AuthUser>() {
            let (user_id, session_id) = (user.user.id, user.session_id);
            state.metrics.sockets.inc();
            state.sessions.opened(session_id, user.expires_at);
            // Taken, not kept: the socket's rooms are the adapter's to know from here on.
            let room_ids = socket.extensions.remove::<RoomsAtConnect>().map(|r| r.0).unwrap_or_default();
            presence::connected(&state, user_id, room_ids);
            tracing::debug!(user_id, sid = %socket.id, "socket connected");
            let state = state.clone();
            // socketioxide keeps one disconnect handler per socket: everything goes here.
            socket.on_disconnect(move || async move {
                state.metrics.sockets.dec();
                state.sessions.closed(session_id);
                typing::stopped_by_leaving(&state, user_id).await;
                presence::disconnected(&state, user_id).await;
            });
        } else {
            // Unreachable: the middleware stores the user before this runs.
            let _ = socket.disconnect();
        }
        std::future::ready(())
    };
    io.ns("/", on_connect.with(authenticate));
}

async fn authenticate_handshake(
    state: &AppState,
    socket: &SocketRef,
    auth: Option<HandshakeAuth>,
) -> Result<AuthUser, AppError> {
    let headers = &socket.req_parts().headers;
    let (token, source) = match auth.and_then(|a| a.token).filter(|t| !t.is_empty()) {
        Some(token) => (token, TokenSource::HandshakeAuth),
        None => token_from_headers(headers).ok_or(AppError::Unauthenticated)?,
    };
    // A cookie rides along on handshakes other sites open (cross-site WebSocket hijacking).
    if source == TokenSource::Cookie && !cookie_origin_allowed(headers, &state.limits.trusted_origins) {
        return Err(AppError::CrossOrigin);
    }
    accounts::authenticate(state, &token).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::extract::OriginalUri;
    use axum::http::{HeaderValue, Uri};

    /// Whether `part` lies inside `buffer`'s bytes (so holding it keeps `buffer` alive).
    fn inside(buffer: &Bytes, part: &[u8]) -> bool {
        let range = buffer.as_ptr_range();
        range.contains(&part.as_ptr())
    }

    #[tokio::test]
    async fn a_socket_request_keeps_nothing_of_the_connection_buffer() {
        // A stand-in for hyper's read buffer: URI and header value are slices of it.
        let buffer = Bytes::from_static(b"/socket.io/?EIO=4&transport=websocket secret-token");
        let uri = Uri::from_maybe_shared(buffer.slice(0..37)).unwrap();
        let value = HeaderValue::from_maybe_shared(buffer.slice(38..)).unwrap();
        assert!(inside(&buffer, uri.path().as_bytes()), "the stand-in must share the buffer");
        let mut request = axum::extract::Request::new(axum::body::Body::empty());
        *request.uri_mut() = uri.clone();
        request.headers_mut().insert("authorization", value);
        request.extensions_mut().insert(OriginalUri(uri));

        let request = detach_request_buffers(request).await;

        assert_eq!(request.uri().to_string(), "/socket.io/?EIO=4&transport=websocket");
        assert!(!inside(&buffer, request.uri().path().as_bytes()));
        assert!(!inside(&buffer, request.uri().query().unwrap_or_default().as_bytes()));
        let header = &request.headers()["authorization"];
        assert_eq!(header, "secret-token");
        assert!(!inside(&buffer, header.as_bytes()));
        let original = request.extensions().get::<OriginalUri>().expect("OriginalUri kept");
        assert_eq!(original.0.to_string(), "/socket.io/?EIO=4&transport=websocket");
        assert!(!inside(&buffer, original.0.path().as_bytes()), "OriginalUri still shares the buffer");
    }

    #[tokio::test]
    async fn other_requests_pass_untouched() {
        let buffer = Bytes::from_static(b"/api/chat/rooms");
        let uri = Uri::from_maybe_shared(buffer.clone()).unwrap();
        let mut request = axum::extract::Request::new(axum::body::Body::empty());
        *request.uri_mut() = uri;
        let request = detach_request_buffers(request).await;
        assert!(inside(&buffer, request.uri().path().as_bytes()));
    }
}
