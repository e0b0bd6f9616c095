//! `abuse`: one hostile client beside the measured ones. `scripts/bench abuse` runs it
//! next to an ordinary `run` (whose latency is the figure: are other users still
//! served?) and this command reports what the abuser got out of the server and the
//! server's memory while it lasted.
//!
//! Kinds (each from its own source address, so the measured clients keep theirs):
//! - `flood`: opens connections as fast as it can and holds each with half a request;
//! - `frames`: sockets sending 200 KB Socket.IO frames (over the 64 KiB limit), and
//!   others sending 60 KB frames as fast as the socket takes them;
//! - `slowloris`: requests declaring a 60 KB body and sending one byte every 5 s;
//! - `rooms`: one user joins 10,000 public rooms, then opens sockets (each follows every
//!   room the user is in);
//! - `sockets`: one user, in 100 rooms, opens 1,000 sockets;
//! - `reconnects`: a reconnect storm from one address: one user, in 100 rooms, connects
//!   500 sockets (64 at a time), drops them all at once and connects them again, over
//!   and over.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::sio::{self, BoxError};
use crate::{Api, sample};

#[derive(Parser)]
pub struct AbuseArgs {
    #[arg(long, default_value = "127.0.0.1:5000")]
    server: SocketAddr,
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long, value_enum)]
    kind: Kind,
    /// Seconds the abuse lasts once set up.
    #[arg(long, default_value_t = 30.0)]
    duration: f64,
    /// The abuser's source address.
    #[arg(long, default_value = "127.0.0.9")]
    source: IpAddr,
    /// Created when set-up is done and the abuse begins.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Flood,
    Frames,
    Slowloris,
    Rooms,
    Sockets,
    Reconnects,
}

/// Counts the abuser keeps, reported at the end.
#[derive(Default)]
struct Counts {
    attempts: AtomicU64,
    refused: AtomicU64,
    /// Connections that ended before the abuse did: closed by the server, or (frames) a
    /// send the server did not take within 2 s.
    closed_by_server: AtomicU64,
    held: AtomicU64,
    peak_held: AtomicU64,
    frames_sent: AtomicU64,
}

impl Counts {
    fn hold(&self) {
        let now = self.held.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak_held.fetch_max(now, Ordering::Relaxed);
    }

    fn release(&self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }

    fn json(&self) -> Value {
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        json!({
            "attempts": get(&self.attempts), "refused": get(&self.refused),
            "closed_by_server": get(&self.closed_by_server), "held_at_end": get(&self.held),
            "peak_held": get(&self.peak_held), "frames_sent": get(&self.frames_sent),
        })
    }
}

async fn tcp_from(source: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(server).await
}

/// Reads until the server closes the connection (or `until`); true if it closed it.
async fn closed_by_server(tcp: &mut TcpStream, until: Instant) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Opens connections without pause, each holding half a request, until `until`.
async fn flood(args: &AbuseArgs, counts: Arc<Counts>, until: Instant) {
    let open = Arc::new(Semaphore::new(20_000));
    while Instant::now() < until {
        let Ok(permit) = open.clone().acquire_owned().await else { break };
        counts.attempts.fetch_add(1, Ordering::Relaxed);
        let (server, source, task_counts) = (args.server, args.source, counts.clone());
        tokio::spawn(async move {
            let counts = task_counts;
            let _permit = permit;
            let Ok(mut tcp) = tcp_from(source, server).await else {
                counts.refused.fetch_add(1, Ordering::Relaxed);
                return;
            };
            counts.hold();
            if tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: ").await.is_err()
                || closed_by_server(&mut tcp, until).await
            {
                counts.closed_by_server.fetch_add(1, Ordering::Relaxed);
            }
            counts.release();
        });
        // Yield now and then so the tasks get to run.
        if counts.attempts.load(Ordering::Relaxed).is_multiple_of(64) {
            tokio::task::yield_now().await;
        }
    }
}

/// Sockets sending oversize frames (each should be refused by a disconnect) and others
/// sending frames just under the limit as fast as they are taken.
async fn frames(args: &AbuseArgs, token: &str, counts: Arc<Counts>, until: Instant) {
    let mut tasks = Vec::new();
    for n in 0..40 {
        let (server, source, token, counts) = (args.server, args.source, token.to_owned(), counts.clone());
        let size = if n % 2 == 0 { 200 * 1024 } else { 60 * 1024 };
        tasks.push(tokio::spawn(async move {
            let frame = format!("42[\"no_such_event\",{{\"pad\":\"{}\"}}]", "x".repeat(size));
            while Instant::now() < until {
                counts.attempts.fetch_add(1, Ordering::Relaxed);
                let Ok(mut ws) = sio::connect(server, Some(source), &token).await else {
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                counts.hold();
                loop {
                    let sent =
                        tokio::time::timeout(Duration::from_secs(2), ws.send(Message::text(frame.clone())));
                    if !matches!(sent.await, Ok(Ok(()))) || Instant::now() >= until {
                        break;
                    }
                    counts.frames_sent.fetch_add(1, Ordering::Relaxed);
                    // Answers (unknown_event) and pings are read and dropped.
                    while let Ok(Some(Ok(message))) =
                        tokio::time::timeout(Duration::from_millis(1), ws.next()).await
                    {
                        if let Message::Text(text) = message
                            && text.as_str() == "2"
                        {
                            let _ = ws.send(Message::text("3")).await;
                        }
                    }
                }
                if Instant::now() < until {
                    counts.closed_by_server.fetch_add(1, Ordering::Relaxed);
                }
                counts.release();
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Requests that declare a body and send it one byte every 5 s.
async fn slowloris(args: &AbuseArgs, counts: Arc<Counts>, until: Instant) {
    let mut tasks = Vec::new();
    for _ in 0..1500 {
        let (server, source, counts) = (args.server, args.source, counts.clone());
        counts.attempts.fetch_add(1, Ordering::Relaxed);
        tasks.push(tokio::spawn(async move {
            let Ok(mut tcp) = tcp_from(source, server).await else {
                counts.refused.fetch_add(1, Ordering::Relaxed);
                return;
            };
            counts.hold();
            let head = "POST /api/auth/login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
                        Content-Length: 60000\r\n\r\n{\"username\":\"";
            let mut closed = tcp.write_all(head.as_bytes()).await.is_err();
            while !closed && Instant::now() < until {
                let tick = (Instant::now() + Duration::from_secs(5)).min(until);
                closed = closed_by_server(&mut tcp, tick).await || tcp.write_all(b"a").await.is_err();
            }
            if closed {
                counts.closed_by_server.fetch_add(1, Ordering::Relaxed);
            }
            counts.release();
        }));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Opens `sockets` sockets of one user, one after another, from the abuser's address;
/// returns those the server accepted.
async fn many_sockets(args: &AbuseArgs, token: &str, sockets: usize, counts: &Counts) -> Vec<sio::Ws> {
    let mut open = Vec::with_capacity(sockets);
    for _ in 0..sockets {
        open.extend(counted_connect(args.server, args.source, token, counts).await);
    }
    open
}

/// One Socket.IO connection of the abuser, counted as an attempt and then as held or
/// refused.
async fn counted_connect(
    server: SocketAddr,
    source: IpAddr,
    token: &str,
    counts: &Counts,
) -> Option<sio::Ws> {
    counts.attempts.fetch_add(1, Ordering::Relaxed);
    match sio::connect(server, Some(source), token).await {
        Ok(ws) => {
            counts.hold();
            Some(ws)
        }
        Err(_) => {
            counts.refused.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

/// Waves of `sockets` sockets of one user, until `until`: each wave connects them (64
/// handshakes at a time) and then drops them all at once. Answers the number of waves.
async fn reconnect_waves(
    args: &AbuseArgs,
    token: &str,
    sockets: usize,
    counts: Arc<Counts>,
    until: Instant,
) -> u64 {
    let mut waves = 0;
    while Instant::now() < until {
        let gate = Arc::new(Semaphore::new(64));
        let mut tasks = Vec::with_capacity(sockets);
        for _ in 0..sockets {
            let Ok(permit) = gate.clone().acquire_owned().await else { break };
            let (server, source, token, counts) =
                (args.server, args.source, token.to_owned(), counts.clone());
            tasks.push(tokio::spawn(async move {
                let ws = counted_connect(server, source, &token, &counts).await;
                drop(permit);
                ws
            }));
        }
        let mut open = Vec::with_capacity(sockets);
        for task in tasks {
            if let Ok(Some(ws)) = task.await {
                open.push(ws);
            }
        }
        // All at once, as a network drop would.
        for ws in open {
            drop(ws);
            counts.release();
        }
        waves += 1;
    }
    waves
}

/// Creates `n` public rooms (as another user) and has `token`'s user join every one.
async fn join_rooms(api: &Api, owner: &str, token: &str, n: usize) -> Result<Duration, BoxError> {
    let gate = Arc::new(Semaphore::new(16));
    let mut created = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let (api, owner) = (api.clone(), owner.to_owned());
        created.push(tokio::spawn(async move {
            let _permit = permit;
            let body = json!({"name": format!("abuse room {i}"), "type": "general"});
            api.post("/api/chat/rooms", Some(&owner), body).await
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for task in created {
        let (status, room) = task.await??;
        if status != 201 {
            return Err(format!("room create answered {status}: {room}").into());
        }
        ids.push(room["id"].clone());
    }
    let started = Instant::now();
    let mut joins = Vec::with_capacity(n);
    for id in ids {
        let permit = gate.clone().acquire_owned().await?;
        let (api, token) = (api.clone(), token.to_owned());
        joins.push(tokio::spawn(async move {
            let _permit = permit;
            api.post(&format!("/api/chat/rooms/{id}/join"), Some(&token), json!({})).await
        }));
    }
    for task in joins {
        let (status, answer) = task.await??;
        if status != 200 {
            return Err(format!("join answered {status}: {answer}").into());
        }
    }
    Ok(started.elapsed())
}

pub async fn abuse(args: AbuseArgs) -> Result<(), BoxError> {
    let api = Api::new(args.server);
    let counts = Arc::new(Counts::default());
    let before = sample(args.server_pid).map(|s| s.rss_bytes);
    let mut extra = json!({});
    // Set-up that is not itself the abuse.
    let abuser = api.account("abuser").await?;
    let mut held_sockets = Vec::new();
    match args.kind {
        Kind::Rooms => {
            let owner = api.account("abuse_owner").await?;
            let took = join_rooms(&api, &owner, &abuser, 10_000).await?;
            extra["joined_rooms"] = json!(10_000);
            extra["join_seconds"] = json!(took.as_secs_f64());
        }
        Kind::Sockets | Kind::Reconnects => {
            let owner = api.account("abuse_owner").await?;
            join_rooms(&api, &owner, &abuser, 100).await?;
            extra["joined_rooms"] = json!(100);
        }
        _ => {}
    }
    let set_up = sample(args.server_pid).map(|s| s.rss_bytes);
    if let Some(path) = &args.ready_file {
        std::fs::write(path, b"")?;
    }
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.duration);
    let peak = Arc::new(AtomicU64::new(0));
    let watcher = {
        let (peak, pid) = (peak.clone(), args.server_pid);
        tokio::spawn(async move {
            while Instant::now() < until {
                if let Some(now) = sample(pid) {
                    peak.fetch_max(now.rss_bytes, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    match args.kind {
        Kind::Flood => flood(&args, counts.clone(), until).await,
        Kind::Frames => frames(&args, &abuser, counts.clone(), until).await,
        Kind::Slowloris => slowloris(&args, counts.clone(), until).await,
        Kind::Reconnects => {
            let waves = reconnect_waves(&args, &abuser, 500, counts.clone(), until).await;
            extra["waves"] = json!(waves);
        }
        Kind::Rooms | Kind::Sockets => {
            let sockets = if matches!(args.kind, Kind::Rooms) { 20 } else { 1000 };
            let t0 = Instant::now();
            held_sockets = many_sockets(&args, &abuser, sockets, &counts).await;
            extra["sockets_open_seconds"] = json!(t0.elapsed().as_secs_f64());
            tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
        }
    }
    let _ = watcher.await;
    let during = sample(args.server_pid).map(|s| s.rss_bytes);
    drop(held_sockets);
    let mib = |b: Option<u64>| b.map(|b| (b as f64 / 1048576.0 * 10.0).round() / 10.0);
    let report = json!({
        "kind": format!("{:?}", args.kind).to_lowercase(),
        "seconds": started.elapsed().as_secs_f64(),
        "counts": counts.json(),
        "extra": extra,
        "server_rss_mib": {"before": mib(before), "after_setup": mib(set_up),
            "peak": mib(Some(peak.load(Ordering::Relaxed))), "at_end": mib(during)},
    });
    println!("abuse {:?}: {report}", args.kind);
    println!("JSON {report}");
    Ok(())
}
