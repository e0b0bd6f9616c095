//! Accepting connections: what happens before a request reaches the router.
//!
//! axum's own `serve` has no timeouts, so a client could hold connections open forever
//! with half-sent headers or bodies. This loop serves each connection with hyper
//! directly and adds:
//! - a header-read timeout (which also covers a kept-alive connection waiting for its
//!   next request), and a pace for bodies (a longest pause and a minimum average rate,
//!   in [`pace`]),
//! - a cap on connections per client address, so one client cannot take every
//!   descriptor,
//! - JSON bodies (SPEC §9) on the few answers hyper writes by itself, before any handler
//!   runs: 400 for unparsable requests, 414 for over-long URLs, 431 for oversize headers,
//! - TCP_NODELAY, and graceful shutdown: stop accepting, let requests in flight finish.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::config::Limits;

mod pace;
pub use pace::{BodyTooSlow, Pace};

/// Headers a request may carry; more are answered 431.
const MAX_HEADERS: usize = 100;

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, runs
/// `closing` (which disconnects the sockets) and waits up to `grace` for the connections
/// still open. Accepting stops first: a client that comes back while the sockets are
/// being closed finds the port closed and retries, rather than being let in by a
/// server that can no longer take it (Socket.IO would answer "Invalid namespace", which
/// socket.io-client does not retry).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
    closing: impl Future<Output = ()>,
) -> io::Result<()> {
    // HTTP/1.1 only: browsers reach us directly or through a proxy that terminates TLS
    // (and HTTP/2), and WebSocket upgrades are HTTP/1.1.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout())
        .max_headers(MAX_HEADERS);
    let pace = limits.body_pace();
    let app = app.layer(axum::middleware::map_request(move |request| pace::pace_request_body(pace, request)));
    let per_address = AddressSlots::new(limits.max_connections_per_ip);
    // Connections watch `stopping`; each holds a clone of `open`, so `closed` yields
    // `None` once every connection has finished.
    let (stopping_tx, stopping) = tokio::sync::watch::channel(false);
    let (open, mut closed) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or a connection reset before accept: keep serving.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let behind_proxy = limits.is_trusted_proxy(peer.ip());
        let slot = if behind_proxy { Some(None) } else { per_address.take(peer.ip()).map(Some) };
        let Some(slot) = slot else {
            tracing::debug!(%peer, "connection refused: too many from this address");
            refuse_over_cap(tcp);
            continue;
        };
        // Chat frames are small: without TCP_NODELAY, Nagle's algorithm holds them back
        // until the peer's delayed ACK, adding up to ~40 ms to a delivery (the README's
        // performance notes weigh it against the CPU it costs).
        if limits.tcp_nodelay == crate::config::Switch::On
            && let Err(err) = tcp.set_nodelay(true)
        {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
        let trusted = limits.trusted_proxies.clone();
        let service = app.clone().map_request(move |mut request: axum::http::Request<Incoming>| {
            let client =
                if behind_proxy { forwarded_client(peer, request.headers(), &trusted) } else { peer };
            request.extensions_mut().insert(ConnectInfo(client));
            request
        });
        let connection = builder
            .serve_connection(TokioIo::new(ErrorBodies::new(tcp, slot)), TowerToHyperService::new(service))
            .with_upgrades();
        let (mut stopping, open) = (stopping.clone(), open.clone());
        tokio::spawn(async move {
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = async { drop(stopping.wait_for(|stop| *stop).await) } => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
            drop(open);
        });
    }
    drop(listener);
    closing.await;
    let _ = stopping_tx.send(true);
    drop(open);
    if tokio::time::timeout(grace, closed.recv()).await.is_err() {
        tracing::warn!("grace period over; dropping remaining connections");
    }
    Ok(())
}

/// Open connections per client address, up to a cap.
#[derive(Clone)]
struct AddressSlots {
    cap: u32,
    open: Arc<Mutex<HashMap<IpAddr, u32>>>,
}

/// One open connection of an address; gives its slot back when dropped.
struct Slot {
    slots: AddressSlots,
    address: IpAddr,
}

impl AddressSlots {
    fn new(cap: u32) -> Self {
        AddressSlots { cap, open: Arc::default() }
    }

    fn take(&self, address: IpAddr) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(address).or_default();
        if self.cap > 0 && *count >= self.cap {
            return None;
        }
        *count += 1;
        Some(Slot { slots: self.clone(), address })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// The headers every JSON answer written here (not by the router) carries, as the
/// router's answers do.
const JSON_ANSWER_HEADERS: &str = "content-type: application/json\r\nx-content-type-options: nosniff\r\n\
     content-security-policy: default-src 'none'; frame-ancestors 'none'\r\n";

/// The error shape every answer has ([`ErrorBody`](crate::error::ErrorBody)), as text.
fn error_body(code: &str, message: &str, retry_after: Option<u64>) -> String {
    let detail =
        crate::error::ErrorDetail { code: code.into(), message: message.into(), retry_after, until: None };
    serde_json::to_string(&crate::error::ErrorBody { error: detail }).unwrap_or_default()
}

/// Refuses a connection over its address's cap with 429 `too_many_connections`, then
/// closes it. Never waits: under a connection flood a refused socket must not hold a
/// descriptor or a task, so the answer is written only if the socket takes it at once
/// (a new socket's send buffer always does), and what the client already sent is read
/// first so that closing ends the connection cleanly instead of resetting it.
fn refuse_over_cap(tcp: tokio::net::TcpStream) {
    const RETRY_AFTER_SECONDS: u64 = 1;
    static ANSWER: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
        let body = error_body(
            "too_many_connections",
            "too many open connections from this address; close one and try again",
            Some(RETRY_AFTER_SECONDS),
        );
        format!(
            "HTTP/1.1 429 Too Many Requests\r\n{JSON_ANSWER_HEADERS}retry-after: {RETRY_AFTER_SECONDS}\r\nconnection: close\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    });
    let mut received = [0u8; 4096];
    let _ = tcp.try_read(&mut received);
    let _ = tcp.try_write(&ANSWER);
}

/// The JSON body for an answer hyper wrote by itself, if `head` is one: hyper's own
/// answers are the only 400/414/431 responses with `content-length: 0`.
fn rewrite_automatic_answer(head: &[u8]) -> Option<Vec<u8>> {
    const EMPTY: &[u8] = b"\r\ncontent-length: 0\r\n";
    let (code, message) = match head.get(..12)? {
        b"HTTP/1.1 400" => ("malformed_request", "the request is not valid HTTP"),
        b"HTTP/1.1 414" => ("uri_too_long", "the request URL is too long"),
        b"HTTP/1.1 431" => ("headers_too_large", "the request headers are too large or too many"),
        _ => return None,
    };
    if !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let at = head.windows(EMPTY.len()).position(|w| w.eq_ignore_ascii_case(EMPTY))?;
    let body = error_body(code, message, None);
    let mut out = Vec::with_capacity(head.len() + body.len() + 128);
    out.extend_from_slice(&head[..at]);
    out.extend_from_slice(format!("\r\n{JSON_ANSWER_HEADERS}content-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(&head[at + EMPTY.len()..]);
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

/// A connection's byte stream that turns hyper's bodiless automatic answers into our
/// JSON error shape; every other byte passes through untouched.
struct ErrorBodies<T> {
    inner: T,
    /// A rewritten answer not yet fully written, and how much of it was.
    pending: Option<(Vec<u8>, usize)>,
    /// The address's connection slot, held as long as the byte stream lives: an upgraded
    /// connection (a WebSocket) outlives hyper's connection future but keeps this stream.
    _slot: Option<Slot>,
}

impl<T> ErrorBodies<T> {
    fn new(inner: T, slot: Option<Slot>) -> Self {
        ErrorBodies { inner, pending: None, _slot: slot }
    }
}

impl<T: AsyncWrite + Unpin> ErrorBodies<T> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ErrorBodies<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(rewritten) = rewrite_automatic_answer(buf) {
            self.pending = Some((rewritten, 0));
            // The caller's bytes are taken; the replacement is written from `pending`.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        // An automatic answer is a head alone, so it arrives as one slice.
        let mut non_empty = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (non_empty.next(), non_empty.next())
            && let Some(rewritten) = rewrite_automatic_answer(only)
        {
            self.pending = Some((rewritten, 0));
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(only.len()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While the sockets are being closed at shutdown the port is closed already: a client
    /// coming back is refused (and retries) instead of reaching a server that no longer
    /// takes it. Once closing is done, serving ends.
    #[tokio::test]
    async fn shutdown_stops_accepting_before_it_closes_the_sockets() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (closing_began, began) = tokio::sync::oneshot::channel::<()>();
        let (finish_closing, finished) = tokio::sync::oneshot::channel::<()>();
        let closing = async move {
            let _ = closing_began.send(());
            let _ = finished.await;
        };
        let app = Router::new().route("/", axum::routing::get(|| async { "up" }));
        let limits = Limits::default();
        let served = tokio::spawn(async move {
            serve(listener, app, &limits, Duration::from_secs(1), async { drop(stopped.await) }, closing)
                .await
        });
        assert!(tokio::net::TcpStream::connect(addr).await.is_ok(), "not serving before the shutdown");
        stop.send(()).unwrap();
        began.await.unwrap();
        let refused = tokio::net::TcpStream::connect(addr).await;
        assert_eq!(refused.map(drop).map_err(|e| e.kind()), Err(io::ErrorKind::ConnectionRefused));
        assert!(!served.is_finished(), "serving ended before closing did");
        finish_closing.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), served).await.unwrap().unwrap().unwrap();
    }

    #[test]
    fn automatic_answers_get_json_bodies_and_others_pass() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite_automatic_answer(head).unwrap()).unwrap();
        let (head_part, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head_part.contains("content-type: application/json"), "{out}");
        assert!(head_part.contains(&format!("content-length: {}", body.len())), "{out}");
        assert!(head_part.contains("content-security-policy: default-src 'none'"), "{out}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"]["code"], "headers_too_large");
        let ours =
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n";
        assert!(rewrite_automatic_answer(ours).is_none());
        assert!(rewrite_automatic_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
    }

    #[test]
    fn address_slots_cap_and_release() {
        let slots = AddressSlots::new(2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let (first, _second) = (slots.take(a).unwrap(), slots.take(a).unwrap());
        assert!(slots.take(a).is_none());
        assert!(slots.take(b).is_some());
        drop(first);
        assert!(slots.take(a).is_some());
        assert!(AddressSlots::new(0).take(a).is_some());
    }
}

/// The client behind trusted proxies: the nearest `X-Forwarded-For` hop that is not one
/// of them (hops further left could be made up by the client). The peer itself when the
/// header is absent or unreadable.
fn forwarded_client(
    peer: SocketAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> SocketAddr {
    let hops: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map_while(|hop| hop.trim().parse().ok())
        .collect();
    let client = hops.iter().rev().find(|ip| !trusted.iter().any(|net| net.contains(*ip))).or(hops.first());
    client.map_or(peer, |ip| SocketAddr::new(*ip, 0))
}

#[cfg(test)]
mod forwarded_tests {
    use super::*;

    fn headers(values: &[&str]) -> axum::http::HeaderMap {
        let mut map = axum::http::HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        // The client may prepend anything; the proxy appends what it saw.
        let client = forwarded_client(peer, &headers(&["6.6.6.6, 203.0.113.7", "10.0.0.9"]), &trusted);
        assert_eq!(client.ip().to_string(), "203.0.113.7");
        assert_eq!(forwarded_client(peer, &headers(&[]), &trusted), peer);
        assert_eq!(forwarded_client(peer, &headers(&["not an address"]), &trusted), peer);
        let only_proxies = forwarded_client(peer, &headers(&["10.1.1.1, 10.2.2.2"]), &trusted);
        assert_eq!(only_proxies.ip().to_string(), "10.1.1.1");
    }
}
