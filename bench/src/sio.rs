//! Just enough Socket.IO v5 (Engine.IO v4, WebSocket transport) for load generation.
//!
//! Frames are text: `0{…}` open, `2`/`3` ping/pong, `40{auth}` connect to `/`,
//! `40{…}`/`44{…}` connected/refused, `42["event",data]` events, `42<id>[…]` events
//! that want an ack, `43<id>[…]` acks. Parsing is deliberately minimal: the generator
//! must stay cheaper than the server it measures.

use std::net::{IpAddr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{WebSocketStream, client_async_with_config};

pub type Ws = WebSocketStream<TcpStream>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens a WebSocket to the server (from `source` when given) and connects to the
/// default namespace with `auth: {token}`.
pub async fn connect(server: SocketAddr, source: Option<IpAddr>, token: &str) -> Result<Ws, BoxError> {
    let socket = if server.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let tcp = socket.connect(server).await?;
    tcp.set_nodelay(true)?;
    let url = format!("ws://{server}/socket.io/?EIO=4&transport=websocket");
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = client_async_with_config(url, tcp, Some(config)).await?;
    let open = next_text(&mut ws).await?;
    if !open.starts_with('0') {
        return Err(format!("expected an Engine.IO open packet, got {open:?}").into());
    }
    ws.send(Message::text(format!("40{{\"token\":\"{token}\"}}"))).await?;
    loop {
        let frame = next_text(&mut ws).await?;
        if frame.starts_with("40") {
            return Ok(ws);
        } else if frame.starts_with("44") {
            return Err(format!("connection refused: {frame}").into());
        } else if frame == "2" {
            ws.send(Message::text("3")).await?;
        }
    }
}

async fn next_text(ws: &mut Ws) -> Result<String, BoxError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(err.into()),
        }
    }
}

/// An event frame that asks for an ack with `id`.
pub fn event_with_ack(id: u64, event: &str, data: &serde_json::Value) -> Message {
    Message::text(format!("42{id}[\"{event}\",{data}]"))
}

/// An event frame without an ack (errors come back as `chat_error`).
pub fn event(event: &str, data: &serde_json::Value) -> Message {
    Message::text(format!("42[\"{event}\",{data}]"))
}

/// What an incoming frame is, as far as the generator cares.
pub enum Frame<'a> {
    Ping,
    /// `43<id>[…]`: whether the ack says `"ok":true`.
    Ack {
        ok: bool,
    },
    /// `42["name",…]`: the event name and the raw frame.
    Event {
        name: &'a str,
        raw: &'a str,
    },
    Other,
}

pub fn classify(text: &str) -> Frame<'_> {
    if text == "2" {
        return Frame::Ping;
    }
    if let Some(rest) = text.strip_prefix("43")
        && rest.starts_with(|c: char| c.is_ascii_digit())
    {
        return Frame::Ack { ok: rest.contains("\"ok\":true") };
    }
    if let Some(rest) = text.strip_prefix("42[\"")
        && let Some(end) = rest.find('"')
    {
        return Frame::Event { name: &rest[..end], raw: text };
    }
    Frame::Other
}

/// The microsecond timestamp in a bench message's content (`bench:<micros>:<n>`).
pub fn bench_timestamp(raw: &str) -> Option<u64> {
    bench_key(raw).map(|(sent_at, _)| sent_at)
}

/// The `(timestamp, sender's counter)` of a bench message's content
/// (`bench:<micros>:<n>`): one key per message, however many times it arrives.
pub fn bench_key(raw: &str) -> Option<(u64, u64)> {
    let start = raw.find("\"content\":\"bench:")? + "\"content\":\"bench:".len();
    let rest = &raw[start..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let sent_at = rest[..digits].parse().ok()?;
    let rest = rest[digits..].strip_prefix(':')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((sent_at, rest[..digits].parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_classified() {
        assert!(matches!(classify("2"), Frame::Ping));
        assert!(matches!(classify("4317[{\"message\":{},\"ok\":true}]"), Frame::Ack { ok: true }));
        assert!(matches!(classify("433[{\"error\":{},\"ok\":false}]"), Frame::Ack { ok: false }));
        let raw = "42[\"new_chat_message\",{\"id\":5,\"content\":\"bench:123456:9\"}]";
        match classify(raw) {
            Frame::Event { name, raw } => {
                assert_eq!(name, "new_chat_message");
                assert_eq!(bench_timestamp(raw), Some(123456));
                assert_eq!(bench_key(raw), Some((123456, 9)));
            }
            _ => panic!("not an event"),
        }
        assert!(matches!(classify("40{\"sid\":\"x\"}"), Frame::Other));
    }
}
