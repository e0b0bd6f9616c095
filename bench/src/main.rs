//! `eventsync-bench`: load generator and figures for EventSync Chat.
//!
//! - `run`: N Socket.IO clients over R rooms, S of them sending at a total rate; reports
//!   deliveries per second, end-to-end latency (the send time travels in the message),
//!   messages lost, connect times, and the server's CPU time and RSS from /proc.
//! - `seed`: writes a room with many messages straight through the store (no API).
//! - `history`: times history page reads over HTTP.
//!
//! Every command prints a human-readable report and then one JSON line.

mod abuse;
mod crowd;
mod sio;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use sio::{BoxError, Frame};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "bench password 1";

#[derive(Parser)]
#[command(name = "eventsync-bench", about = "Load generator for EventSync Chat")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect clients, send messages, measure delivery.
    Run(RunArgs),
    /// Seed a room with messages directly through the store (server stopped).
    Seed(SeedArgs),
    /// Time history page reads of a seeded room.
    History(HistoryArgs),
    /// Upload files concurrently: throughput and server CPU per MB.
    Uploads(UploadArgs),
    /// Seed accounts with sessions and rooms straight into a stopped server's store.
    SeedCrowd(crowd::SeedCrowdArgs),
    /// Thousands of clients open one room within a minute while a few post.
    MassJoin(crowd::MassJoinArgs),
    /// Every socket dropped by a server restart, and back with `since`.
    Storm(crowd::StormArgs),
    /// One hostile client (connection flood, oversize frames, slowloris, 10,000 rooms,
    /// 1,000 sockets) beside a measured `run`.
    Abuse(abuse::AbuseArgs),
}

#[derive(Parser)]
struct UploadArgs {
    #[arg(long, default_value = "127.0.0.1:5000")]
    server: SocketAddr,
    #[arg(long)]
    server_pid: Option<u32>,
    /// Size of each file, in MiB.
    #[arg(long, default_value_t = 20)]
    size_mib: usize,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Files uploaded in all.
    #[arg(long, default_value_t = 40)]
    files: usize,
}

#[derive(Parser, Clone)]
struct RunArgs {
    /// A name for the report.
    #[arg(long, default_value = "run")]
    name: String,
    /// Server address (the server runs with EVENTSYNC_RATE_LIMITS=off).
    #[arg(long, default_value = "127.0.0.1:5000")]
    server: SocketAddr,
    /// Further instances sharing the server's database and Redis: clients are spread
    /// over all of them in turn (REST set-up goes to the first).
    #[arg(long)]
    also_server: Vec<SocketAddr>,
    /// Process ids whose CPU time and RSS (from /proc) are summed: the server's, and
    /// with several instances each of theirs and Redis's. Repeat the flag.
    #[arg(long)]
    server_pid: Vec<u32>,
    /// Socket.IO clients to connect.
    #[arg(long, default_value_t = 500)]
    clients: usize,
    /// Rooms the clients are spread over.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Distinct user accounts behind the clients (sockets share accounts beyond this).
    #[arg(long, default_value_t = 500)]
    users: usize,
    /// Clients that send (spread over the rooms).
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages per second offered in total.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Unacknowledged sends allowed per sender; further ticks are skipped (throttled).
    #[arg(long, default_value_t = 64)]
    max_inflight: u64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds to wait for deliveries after the last send.
    #[arg(long, default_value_t = 3.0)]
    drain: f64,
    /// Seconds to hold connections open idle before sending (idle-memory measurement).
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Spread client source addresses over 127.0.0.1 … 127.0.0.N.
    #[arg(long, default_value_t = 1)]
    source_ips: u8,
    /// Connections opened at once.
    #[arg(long, default_value_t = 64)]
    connect_concurrency: usize,
    /// Clients (after the senders) that signal typing while the senders send.
    #[arg(long, default_value_t = 0)]
    typists: usize,
    /// Seconds between one typist's `chat_typing_start` renewals.
    #[arg(long, default_value_t = 2.0)]
    typing_every: f64,
    /// Each client opens its room (`join_chat_room`, waiting for the answer) once
    /// connected, as a client showing the room does.
    #[arg(long)]
    open_room: bool,
    /// Messages the rooms' owner posts in each room before anyone connects (history a
    /// room's join answer carries).
    #[arg(long, default_value_t = 0)]
    history: usize,
}

#[derive(Parser)]
struct SeedArgs {
    /// Data directory of the (stopped) server.
    #[arg(long)]
    data_dir: std::path::PathBuf,
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

#[derive(Parser)]
struct HistoryArgs {
    #[arg(long, default_value = "127.0.0.1:5000")]
    server: SocketAddr,
    #[arg(long)]
    server_pid: Option<u32>,
    /// Page reads to time.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// Microseconds since the generator started: all clients share this clock.
fn micros_since(start: Instant) -> u64 {
    start.elapsed().as_micros() as u64
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

/// CPU seconds and resident memory of a process, from /proc.
#[derive(Clone, Copy, Default)]
struct ProcSample {
    cpu_seconds: f64,
    rss_bytes: u64,
}

/// CPU time and RSS summed over several processes (all must be readable).
fn sample_all(pids: &[u32]) -> Option<ProcSample> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().try_fold(ProcSample { cpu_seconds: 0.0, rss_bytes: 0 }, |sum, pid| {
        let one = sample(Some(*pid))?;
        Some(ProcSample {
            cpu_seconds: sum.cpu_seconds + one.cpu_seconds,
            rss_bytes: sum.rss_bytes + one.rss_bytes,
        })
    })
}

fn sample(pid: Option<u32>) -> Option<ProcSample> {
    let pid = pid?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: u64 =
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(ProcSample { cpu_seconds: ticks / per_second, rss_bytes: rss_kb * 1024 })
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(server: SocketAddr) -> Self {
        Api { http: reqwest::Client::new(), base: format!("http://{server}") }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Result<(u16, Value), BoxError> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Registers `username`, or logs in if it exists; returns the token.
    async fn account(&self, username: &str) -> Result<String, BoxError> {
        let body = json!({"username": username, "password": PASSWORD});
        let (status, answer) = self.post("/api/auth/register", None, body.clone()).await?;
        let answer = if status == 409 { self.post("/api/auth/login", None, body).await?.1 } else { answer };
        answer["token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no token for {username}: {answer}").into())
    }
}

/// What one client saw.
#[derive(Default)]
struct ClientStats {
    room: usize,
    received: u64,
    latency: Option<Histogram<u64>>,
    sent: u64,
    acked: u64,
    refused: u64,
    throttled: u64,
    /// `user_typing_start` / `user_typing_stop` events received.
    typing_received: u64,
    typing_sent: u64,
    chat_errors: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Sending,
    Draining,
    Done,
}

struct ClientPlan {
    room: usize,
    room_id: i64,
    token: String,
    /// Interval between sends, for senders.
    send_every: Option<Duration>,
    /// Delay of this sender's first send, spreading senders evenly over one interval
    /// (phase-locked senders would offer bursts rather than the stated rate).
    send_offset: Duration,
    max_inflight: u64,
    /// Interval between typing renewals, for typists.
    type_every: Option<Duration>,
}

async fn run_client(
    mut ws: sio::Ws,
    plan: ClientPlan,
    mut phase: watch::Receiver<Phase>,
    start: Instant,
) -> ClientStats {
    let mut stats = ClientStats { room: plan.room, latency: Some(histogram()), ..Default::default() };
    let every = plan.send_every.unwrap_or(Duration::from_secs(3600));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let type_every = plan.type_every.unwrap_or(Duration::from_secs(3600));
    let mut typing_ticker = tokio::time::interval(type_every);
    let mut started_sending = false;
    let mut next_id: u64 = 0;
    let mut inflight: u64 = 0;
    let latency = stats.latency.as_mut().expect("histogram");
    loop {
        let current = *phase.borrow();
        if current == Phase::Done {
            break;
        }
        if current == Phase::Sending && !started_sending {
            started_sending = true;
            ticker = tokio::time::interval_at(tokio::time::Instant::now() + plan.send_offset, every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            // Typists renew at random phases, as people start typing at random times.
            let phase = type_every.mul_f64(rand::random::<f64>());
            typing_ticker = tokio::time::interval_at(tokio::time::Instant::now() + phase, type_every);
            typing_ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        }
        tokio::select! {
            frame = ws.next() => {
                let Some(Ok(Message::Text(text))) = frame else {
                    if matches!(frame, None | Some(Err(_)) | Some(Ok(Message::Close(_)))) { break; }
                    continue;
                };
                match sio::classify(&text) {
                    Frame::Ping => { let _ = ws.send(Message::text("3")).await; }
                    Frame::Ack { ok, .. } => {
                        inflight = inflight.saturating_sub(1);
                        if ok { stats.acked += 1 } else { stats.refused += 1 }
                    }
                    Frame::Event { name: "user_typing_start" | "user_typing_stop", .. } => stats.typing_received += 1,
                    Frame::Event { name: "chat_error", .. } => stats.chat_errors += 1,
                    Frame::Event { name: "new_chat_message", raw } => {
                        if let Some(sent_at) = sio::bench_timestamp(raw) {
                            stats.received += 1;
                            let _ = latency.record(micros_since(start).saturating_sub(sent_at).max(1));
                        }
                    }
                    _ => {}
                }
            }
            _ = ticker.tick(), if plan.send_every.is_some() && current == Phase::Sending => {
                if inflight >= plan.max_inflight {
                    stats.throttled += 1;
                    continue;
                }
                next_id += 1;
                let content = format!("bench:{}:{next_id}", micros_since(start));
                let frame = sio::event_with_ack(next_id, "send_chat_message", &json!({"room_id": plan.room_id, "content": content}));
                if ws.send(frame).await.is_err() { break; }
                stats.sent += 1;
                inflight += 1;
            }
            _ = typing_ticker.tick(), if plan.type_every.is_some() && current == Phase::Sending => {
                let frame = sio::event("chat_typing_start", &json!({"room_id": plan.room_id}));
                if ws.send(frame).await.is_err() { break; }
                stats.typing_sent += 1;
            }
            changed = phase.changed() => { if changed.is_err() { break; } }
        }
    }
    let _ = ws.close(None).await;
    stats
}

fn percentiles(h: &Histogram<u64>) -> Value {
    let ms = |v: u64| (v as f64) / 1000.0;
    json!({
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "max_ms": ms(h.max()),
    })
}

async fn run(args: RunArgs) -> Result<Value, BoxError> {
    let start = Instant::now();
    let api = Arc::new(Api::new(args.server));
    let servers: Vec<SocketAddr> =
        std::iter::once(args.server).chain(args.also_server.iter().copied()).collect();
    let prefix = format!("b{:04x}", rand::random::<u16>());
    let users = args.users.min(args.clients).max(args.rooms).max(1);
    let rooms = args.rooms.max(1);

    // Accounts, rooms and membership over REST, before any socket connects.
    let setup_started = Instant::now();
    let limit = Arc::new(Semaphore::new(16));
    let mut tasks = Vec::new();
    for i in 0..users {
        let (api, limit, name) = (api.clone(), limit.clone(), format!("{prefix}_{i}"));
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            api.account(&name).await
        }));
    }
    let mut tokens = Vec::with_capacity(users);
    for task in tasks {
        tokens.push(task.await??);
    }
    // Rooms belong to an account with no sockets: an owner follows every room it made,
    // which would skew the per-room delivery accounting.
    let owner = api.account(&format!("{prefix}_owner")).await?;
    let mut room_ids = Vec::with_capacity(rooms);
    for r in 0..rooms {
        let body = json!({"name": format!("{prefix} room {r}"), "type": "general"});
        let (_, room) = api.post("/api/chat/rooms", Some(&owner), body).await?;
        room_ids.push(room["id"].as_i64().ok_or_else(|| format!("room not created: {room}"))?);
    }
    let mut joins = Vec::new();
    for (u, token) in tokens.iter().enumerate() {
        let (api, limit, token, room_id) = (api.clone(), limit.clone(), token.clone(), room_ids[u % rooms]);
        joins.push(tokio::spawn(async move {
            let _permit = limit.acquire().await;
            api.post(&format!("/api/chat/rooms/{room_id}/join"), Some(&token), json!({})).await
        }));
    }
    for join in joins {
        join.await??;
    }
    for room_id in &room_ids {
        for n in 0..args.history {
            let body = json!({"content": format!("history {n}: a message of ordinary length, like most in a chat room")});
            api.post(&format!("/api/chat/rooms/{room_id}/messages"), Some(&owner), body).await?;
        }
    }
    let setup_seconds = setup_started.elapsed().as_secs_f64();

    // Connect: client c is user c % users, in that user's room. A memory measurement
    // first lets the server hand back what set-up used (password hashing takes ~19 MiB
    // per login at once), or the per-connection figure would be off by that much.
    if args.senders == 0 {
        tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    }
    let before_connect = sample_all(&args.server_pid);
    let (phase_tx, phase_rx) = watch::channel(Phase::Idle);
    let connect_limit = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let connect_started = Instant::now();
    let sender_every = (args.senders > 0 && args.rate > 0.0)
        .then(|| Duration::from_secs_f64(args.senders as f64 / args.rate));
    let mut senders_per_room = vec![0usize; rooms];
    let mut connecting = Vec::with_capacity(args.clients);
    let failed_connects = Arc::new(AtomicU64::new(0));
    for c in 0..args.clients {
        let user = c % users;
        let room = user % rooms;
        // The first `senders` clients send; spread over rooms because users are.
        let sends = c < args.senders;
        let types = !sends && c < args.senders + args.typists;
        if sends {
            senders_per_room[room] += 1;
        }
        let plan = ClientPlan {
            room,
            room_id: room_ids[room],
            token: tokens[user].clone(),
            send_every: if sends { sender_every } else { None },
            send_offset: sender_every
                .map_or(Duration::ZERO, |every| every.mul_f64(c as f64 / args.senders.max(1) as f64)),
            max_inflight: args.max_inflight,
            type_every: types.then(|| Duration::from_secs_f64(args.typing_every.max(0.01))),
        };
        let source = (args.source_ips > 1)
            .then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (c % args.source_ips as usize) as u8)));
        let server = servers[c % servers.len()];
        let (limit, phase, failed) = (connect_limit.clone(), phase_rx.clone(), failed_connects.clone());
        let open_room = args.open_room;
        connecting.push(tokio::spawn(async move {
            let permit = limit.acquire_owned().await;
            let began = Instant::now();
            let mut ws = sio::connect(server, source, &plan.token).await;
            if let (true, Ok(socket)) = (open_room, ws.as_mut())
                && crowd::join(socket, plan.room_id, None).await.is_err()
            {
                ws = Err("the room could not be opened".into());
            }
            let took = began.elapsed();
            drop(permit);
            match ws {
                Ok(ws) => Some((took, tokio::spawn(run_client(ws, plan, phase, start)))),
                Err(err) => {
                    if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("connect failed: {err}");
                    }
                    None
                }
            }
        }));
    }
    let mut connect_times = histogram();
    let mut clients = Vec::with_capacity(args.clients);
    let mut sockets_per_room = vec![0u64; rooms];
    for (c, handle) in connecting.into_iter().enumerate() {
        if let Some((took, client)) = handle.await? {
            let _ = connect_times.record(took.as_micros().max(1) as u64);
            sockets_per_room[(c % users) % rooms] += 1;
            clients.push(client);
        }
    }
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
    let idle = sample_all(&args.server_pid);

    // Send, then drain.
    let send_started = Instant::now();
    let _ = phase_tx.send(Phase::Sending);
    tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
    let _ = phase_tx.send(Phase::Draining);
    let send_seconds = send_started.elapsed().as_secs_f64();
    let after_send = sample_all(&args.server_pid);
    tokio::time::sleep(Duration::from_secs_f64(args.drain)).await;
    let after_drain = sample_all(&args.server_pid);
    let _ = phase_tx.send(Phase::Done);

    let mut latency = histogram();
    let (mut received, mut sent, mut acked, mut refused, mut throttled) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut typing_received, mut typing_sent, mut chat_errors) = (0u64, 0u64, 0u64);
    let mut acked_per_room = vec![0u64; rooms];
    for client in clients {
        let stats = client.await?;
        received += stats.received;
        sent += stats.sent;
        acked += stats.acked;
        refused += stats.refused;
        throttled += stats.throttled;
        typing_received += stats.typing_received;
        typing_sent += stats.typing_sent;
        chat_errors += stats.chat_errors;
        acked_per_room[stats.room] += stats.acked;
        if let Some(h) = &stats.latency {
            latency.add(h)?;
        }
    }
    let expected: u64 = acked_per_room.iter().zip(&sockets_per_room).map(|(a, s)| a * s).sum();
    let connected = sockets_per_room.iter().sum::<u64>();
    let (cpu, rss) = match (idle, after_drain, before_connect, after_send) {
        (Some(idle), Some(end), Some(before), Some(_)) => (
            Some(end.cpu_seconds - idle.cpu_seconds),
            Some((before.rss_bytes, idle.rss_bytes, end.rss_bytes)),
        ),
        _ => (None, None),
    };
    let deliveries_per_second = received as f64 / send_seconds;
    // Every event a client received counts toward the server's cost per delivery.
    let all_deliveries = received + typing_received;
    let report = json!({
        "scenario": args.name,
        "clients": connected,
        "failed_connects": failed_connects.load(Ordering::Relaxed),
        "rooms": rooms,
        "users": users,
        "senders": args.senders,
        "offered_rate": args.rate,
        "setup_seconds": setup_seconds,
        "connect": {
            "total_seconds": connect_seconds,
            "p50_ms": connect_times.value_at_quantile(0.5) as f64 / 1000.0,
            "p99_ms": connect_times.value_at_quantile(0.99) as f64 / 1000.0,
        },
        "messages": {"sent": sent, "acked": acked, "refused": refused, "throttled_ticks": throttled,
                     "acked_per_second": acked as f64 / send_seconds},
        "deliveries": {"expected": expected, "received": received, "lost": expected.saturating_sub(received),
                       "per_second": deliveries_per_second},
        "typing": {"typists": args.typists, "starts_sent": typing_sent, "events_received": typing_received,
                   "events_per_second": typing_received as f64 / send_seconds, "chat_errors": chat_errors},
        "latency": percentiles(&latency),
        "server": {
            "cpu_seconds": cpu,
            "cpu_us_per_delivery": cpu.filter(|_| all_deliveries > 0).map(|c| c * 1e6 / all_deliveries as f64),
            "rss_before_connect_bytes": rss.map(|r| r.0),
            "rss_idle_bytes": rss.map(|r| r.1),
            "rss_end_bytes": rss.map(|r| r.2),
            "rss_per_connection_bytes": rss.filter(|_| connected > 0).map(|r| (r.1 as f64 - r.0 as f64) / connected as f64),
        },
    });
    Ok(report)
}

fn print_run(report: &Value) {
    let f = |v: &Value| v.as_f64().map_or("n/a".to_owned(), |x| format!("{x:.2}"));
    println!("== {}", report["scenario"].as_str().unwrap_or("run"));
    println!(
        "clients {} ({} failed) in {} rooms, {} senders at {} msg/s offered",
        report["clients"],
        report["failed_connects"],
        report["rooms"],
        report["senders"],
        report["offered_rate"]
    );
    println!(
        "connect: {} s total, p50 {} ms, p99 {} ms",
        f(&report["connect"]["total_seconds"]),
        f(&report["connect"]["p50_ms"]),
        f(&report["connect"]["p99_ms"])
    );
    println!(
        "messages: {} sent, {} acked ({} /s), {} refused, {} throttled ticks",
        report["messages"]["sent"],
        report["messages"]["acked"],
        f(&report["messages"]["acked_per_second"]),
        report["messages"]["refused"],
        report["messages"]["throttled_ticks"]
    );
    println!(
        "deliveries: {} received of {} expected, lost {}, {} /s",
        report["deliveries"]["received"],
        report["deliveries"]["expected"],
        report["deliveries"]["lost"],
        f(&report["deliveries"]["per_second"])
    );
    if report["typing"]["typists"].as_u64().unwrap_or(0) > 0 {
        println!(
            "typing: {} typists, {} starts sent, {} typing events received ({} /s), {} chat_errors",
            report["typing"]["typists"],
            report["typing"]["starts_sent"],
            report["typing"]["events_received"],
            f(&report["typing"]["events_per_second"]),
            report["typing"]["chat_errors"]
        );
    }
    let l = &report["latency"];
    println!(
        "latency ms: p50 {} p90 {} p99 {} max {}",
        f(&l["p50_ms"]),
        f(&l["p90_ms"]),
        f(&l["p99_ms"]),
        f(&l["max_ms"])
    );
    let s = &report["server"];
    println!(
        "server: {} CPU s, {} µs CPU per delivery, RSS idle {} MiB, {} bytes per connection",
        f(&s["cpu_seconds"]),
        f(&s["cpu_us_per_delivery"]),
        s["rss_idle_bytes"].as_f64().map_or("n/a".into(), |b| format!("{:.1}", b / 1048576.0)),
        f(&s["rss_per_connection_bytes"])
    );
    println!("JSON {report}");
}

async fn seed(args: SeedArgs) -> Result<Value, BoxError> {
    use eventsync_chat::auth::accounts::{RegisterRequest, create_user};
    use eventsync_chat::auth::password::PasswordHasher;
    use eventsync_chat::clock::{Clock, SystemClock};
    use eventsync_chat::config::StorageArgs;
    use eventsync_chat::domain::room::{ParticipantRole, RoomSettings, RoomType};
    use eventsync_chat::domain::user::Role;
    use eventsync_chat::store::{NewRoom, Store};

    let store = Store::open(&StorageArgs::embedded(&args.data_dir), 1).await?;
    let request =
        RegisterRequest { username: "history_reader".into(), password: PASSWORD.into(), display_name: None };
    let user = create_user(&store, &PasswordHasher::new(1), &SystemClock, request, Role::User)
        .await
        .map_err(|err| format!("{}: {err}", err.code()))?;
    let settings = RoomSettings { is_public: true, ..RoomSettings::new("History".into()) };
    let now = SystemClock.now_ms();
    let new = NewRoom {
        room_type: RoomType::General,
        settings: &settings,
        event_id: None,
        direct_key: None,
        created_by: user.id,
        now,
    };
    let room_id = store.insert_room(new, &[(user.id, ParticipantRole::Owner)]).await?;
    let started = Instant::now();
    let (mut first, mut last) = (None, 0);
    let mut written = 0;
    while written < args.messages {
        let n = args.batch.min(args.messages - written);
        let contents: Vec<String> = (written..written + n).map(|i| format!("history message {i}")).collect();
        if let Some((a, b)) = store.bulk_insert_messages(room_id, user.id, &contents, now).await? {
            first.get_or_insert(a);
            last = b;
        }
        written += n;
    }
    store.close().await;
    let report = json!({"scenario": "seed", "room_id": room_id, "messages": written, "first_id": first, "last_id": last,
                        "seconds": started.elapsed().as_secs_f64()});
    println!("seeded {written} messages into room {room_id} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(report)
}

async fn history(args: HistoryArgs) -> Result<Value, BoxError> {
    let api = Api::new(args.server);
    let (_, login) = api
        .post("/api/auth/login", None, json!({"username": "history_reader", "password": PASSWORD}))
        .await?;
    let token = login["token"].as_str().ok_or_else(|| format!("login failed: {login}"))?.to_owned();
    let rooms: Value =
        api.http.get(format!("{}/api/chat/rooms", api.base)).bearer_auth(&token).send().await?.json().await?;
    let room = rooms["rooms"].as_array().and_then(|r| r.iter().find(|r| r["name"] == "History")).cloned();
    let room = room.ok_or("no seeded History room: run `eventsync-bench seed` first")?;
    let (room_id, last_id) =
        (room["id"].as_i64().unwrap_or(0), room["last_message"]["id"].as_i64().unwrap_or(0));
    let total = room["last_message"]["seq"].as_i64().unwrap_or(0);
    let first_id = last_id - total + 1;
    let before = sample(args.server_pid);
    let mut latency = histogram();
    let started = Instant::now();
    for _ in 0..args.requests {
        let cursor = rand::random_range(first_id + args.limit as i64..=last_id);
        let url =
            format!("{}/api/chat/rooms/{room_id}/messages?before={cursor}&limit={}", api.base, args.limit);
        let began = Instant::now();
        let response = api.http.get(&url).bearer_auth(&token).send().await?;
        let body = response.bytes().await?;
        let _ = latency.record(began.elapsed().as_micros().max(1) as u64);
        if body.len() < 1000 {
            return Err(format!("unexpected page: {}", String::from_utf8_lossy(&body)).into());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = sample(args.server_pid);
    let report = json!({
        "scenario": "history",
        "messages_in_room": total,
        "requests": args.requests,
        "page_size": args.limit,
        "requests_per_second": args.requests as f64 / seconds,
        "latency": percentiles(&latency),
        "server_cpu_us_per_request": before.zip(after).map(|(b, a)| (a.cpu_seconds - b.cpu_seconds) * 1e6 / args.requests as f64),
    });
    println!(
        "== history page reads: {} messages in the room, {} pages of {}",
        total, args.requests, args.limit
    );
    let l = &report["latency"];
    println!("latency ms: p50 {} p90 {} p99 {} max {}", l["p50_ms"], l["p90_ms"], l["p99_ms"], l["max_ms"]);
    println!("JSON {report}");
    Ok(report)
}

/// A zip-shaped file of `size` random bytes (a signature, then noise: nothing for the
/// server to compress or skip).
fn upload_payload(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    rand::fill(&mut bytes[..]);
    bytes[..4].copy_from_slice(b"PK\x03\x04");
    bytes
}

async fn uploads(args: UploadArgs) -> Result<Value, BoxError> {
    let api = Api::new(args.server);
    let token = api.account("upload_bench").await?;
    let (status, room) =
        api.post("/api/chat/rooms", Some(&token), json!({"type": "group", "name": "Uploads"})).await?;
    let room_id = room["id"].as_i64().ok_or_else(|| format!("create room answered {status}: {room}"))?;
    let payload = Arc::new(upload_payload(args.size_mib << 20));
    let url = format!("{}/api/chat/rooms/{room_id}/upload", api.base);
    let next = Arc::new(AtomicUsize::new(0));
    let before = sample(args.server_pid);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (http, url, token, payload, next) =
            (api.http.clone(), url.clone(), token.clone(), payload.clone(), next.clone());
        let files = args.files;
        workers.push(tokio::spawn(async move {
            let mut latency = histogram();
            while next.fetch_add(1, Ordering::Relaxed) < files {
                let part = reqwest::multipart::Part::bytes(payload.as_ref().clone()).file_name("bundle.zip");
                let form = reqwest::multipart::Form::new().part("file", part);
                let began = Instant::now();
                let response = http.post(&url).bearer_auth(&token).multipart(form).send().await?;
                let status = response.status();
                let body = response.text().await?;
                if status.as_u16() != 201 {
                    return Err::<_, BoxError>(format!("upload answered {status}: {body}").into());
                }
                let _ = latency.record(began.elapsed().as_micros().max(1) as u64);
            }
            Ok(latency)
        }));
    }
    let mut latency = histogram();
    for worker in workers {
        latency.add(worker.await??)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = sample(args.server_pid);
    let mib = (args.files * args.size_mib) as f64;
    let report = json!({
        "scenario": "uploads",
        "files": args.files,
        "file_mib": args.size_mib,
        "concurrency": args.concurrency,
        "mib_per_second": mib / seconds,
        "latency": percentiles(&latency),
        "server_cpu_ms_per_mib": before.as_ref().zip(after.as_ref()).map(|(b, a)| (a.cpu_seconds - b.cpu_seconds) * 1e3 / mib),
        "server_rss_mib": after.map(|a| a.rss_bytes as f64 / 1048576.0),
    });
    println!("== uploads: {} files of {} MiB, {} at once", args.files, args.size_mib, args.concurrency);
    println!(
        "{:.0} MiB/s; server CPU {} ms per MiB; per upload p50 {} ms p99 {} ms",
        mib / seconds,
        report["server_cpu_ms_per_mib"],
        report["latency"]["p50_ms"],
        report["latency"]["p99_ms"]
    );
    println!("JSON {report}");
    Ok(report)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Tens of thousands of sockets need as many file descriptors.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let result = match Cli::parse().command {
        Command::Run(args) => run(args).await.map(|report| print_run(&report)),
        Command::Seed(args) => seed(args).await.map(|report| println!("JSON {report}")),
        Command::History(args) => history(args).await.map(drop),
        Command::Uploads(args) => uploads(args).await.map(drop),
        Command::SeedCrowd(args) => crowd::seed_crowd(args).await.map(|report| println!("JSON {report}")),
        Command::MassJoin(args) => crowd::mass_join(args).await.map(drop),
        Command::Storm(args) => crowd::storm(args).await.map(drop),
        Command::Abuse(args) => abuse::abuse(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("eventsync-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
