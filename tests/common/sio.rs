//! A minimal Socket.IO v5 client over one WebSocket (tokio-tungstenite), for Rust tests
//! that need real sockets against the real server: connect with a token, emit with an
//! ack, and wait for a named event.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
}

impl Socket {
    /// Opens the default namespace with `auth: {token}`; panics unless it is accepted.
    pub async fn connect(addr: std::net::SocketAddr, token: &str) -> Socket {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");
        let mut socket = Socket { ws, next_ack: 0 };
        socket.frame(|text| text.starts_with("0{")).await;
        socket.send(format!("40{}", json!({ "token": token }))).await;
        socket.frame(|text| text.starts_with("40")).await;
        socket
    }

    async fn send(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// The next text frame matching `wanted` within 5 s (answering pings on the way).
    async fn frame(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        self.frame_within(Duration::from_secs(5), wanted).await.expect("a frame within 5 s")
    }

    async fn frame_within(&mut self, limit: Duration, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?;
            let Message::Text(text) = frame.expect("open connection").expect("frame") else { continue };
            if text.as_str() == "2" {
                self.send("3".into()).await;
            } else if wanted(text.as_str()) {
                return Some(text.to_string());
            }
        }
    }

    /// Emits `event` with `payload` and returns its ack.
    pub async fn emit(&mut self, event: &str, payload: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send(format!("42{id}{}", json!([event, payload]))).await;
        let prefix = format!("43{id}[");
        let ack = self.frame(|text| text.starts_with(&prefix)).await;
        let body: Value = serde_json::from_str(&ack[prefix.len() - 1..]).expect("ack JSON");
        body[0].clone()
    }

    /// The payload of the next `event` for which `matches` holds, if one arrives within
    /// `limit`.
    pub async fn event_within(
        &mut self,
        event: &str,
        limit: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let text = self.frame_within(left, |text| text.starts_with("42[")).await?;
            let Ok(Value::Array(parts)) = serde_json::from_str::<Value>(&text[2..]) else { continue };
            if parts.first().and_then(Value::as_str) == Some(event) && parts.get(1).is_some_and(&matches) {
                return parts.get(1).cloned();
            }
        }
    }

    /// Closes the WebSocket.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
