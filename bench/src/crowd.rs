//! The event's worst minutes: thousands of attendees opening one room at once (mass
//! join), and every socket dropped at once and coming back (reconnect storm).
//!
//! Accounts and sessions are seeded straight into the stopped server's store
//! (`seed-crowd`), because registering 20,000 accounts over HTTP would measure Argon2,
//! not chat. The generator then drives the running server over Socket.IO only.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use eventsync_chat::auth::token;
use eventsync_chat::clock::{Clock, SystemClock};
use eventsync_chat::config::StorageArgs;
use eventsync_chat::domain::room::{ParticipantRole, RoomSettings, RoomType};
use eventsync_chat::domain::user::Role;
use eventsync_chat::store::{NewRoom, NewUser, Store};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

use crate::sio::{self, BoxError, Frame};
use crate::{histogram, percentiles, sample};

#[derive(Parser)]
pub struct SeedCrowdArgs {
    /// Data directory of the (stopped) server.
    #[arg(long)]
    data_dir: PathBuf,
    /// Accounts, each with a session.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Public rooms; user i is a participant of room i % rooms when `members` is set.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Make every user a participant of their room up front (the storm), or leave the
    /// rooms empty for them to join (the mass join).
    #[arg(long)]
    members: bool,
    /// Where to write the crowd: one JSON line per user {token, room_id}.
    #[arg(long)]
    out: PathBuf,
}

/// Seeds `users` accounts with sessions and `rooms` public rooms.
pub async fn seed_crowd(args: SeedCrowdArgs) -> Result<Value, BoxError> {
    let store = Store::open(&StorageArgs::embedded(&args.data_dir), 1).await?;
    let now = SystemClock.now_ms();
    let prefix = format!("c{:04x}", rand::random::<u16>());
    let mut users = Vec::with_capacity(args.users);
    for i in 0..args.users {
        let name = format!("{prefix}_{i}");
        // No password can match this hash: these accounts only have their sessions.
        let new = NewUser {
            username: &name,
            username_folded: &name,
            display_name: &name,
            password_hash: "!",
            role: Role::User,
            created_at: now,
        };
        let user = store.insert_user(new).await?;
        let session = token::generate();
        store.insert_session(&token::hash(&session), user.id, now, now + 7 * 86_400_000).await?;
        users.push((user.id, session));
    }
    let rooms = args.rooms.max(1);
    let mut room_ids = Vec::with_capacity(rooms);
    for r in 0..rooms {
        let settings = RoomSettings { is_public: true, ..RoomSettings::new(format!("Crowd {r}")) };
        let members: Vec<(i64, ParticipantRole)> = if args.members {
            users.iter().skip(r).step_by(rooms).map(|(id, _)| (*id, ParticipantRole::Member)).collect()
        } else {
            Vec::new()
        };
        let owner = users.first().map_or(0, |u| u.0);
        let new = NewRoom {
            room_type: RoomType::General,
            settings: &settings,
            event_id: None,
            direct_key: None,
            created_by: owner,
            now,
        };
        room_ids.push(store.insert_room(new, &members).await?);
    }
    store.close().await;
    let mut lines = String::new();
    for (i, (_, session)) in users.iter().enumerate() {
        lines.push_str(&json!({"token": session, "room_id": room_ids[i % rooms]}).to_string());
        lines.push('\n');
    }
    std::fs::write(&args.out, lines)?;
    Ok(json!({"scenario": "seed-crowd", "users": args.users, "rooms": rooms, "members": args.members}))
}

fn read_crowd(path: &PathBuf) -> Result<Vec<(String, i64)>, BoxError> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)?;
            let token = v["token"].as_str().ok_or("crowd line without token")?.to_owned();
            Ok((token, v["room_id"].as_i64().ok_or("crowd line without room_id")?))
        })
        .collect()
}

fn source_ip(i: usize, source_ips: u8) -> Option<IpAddr> {
    (source_ips > 1).then(|| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % source_ips as usize) as u8)))
}

/// Why a join did not succeed.
#[derive(Debug)]
pub(crate) enum JoinFailure {
    /// The ack said no; `retry_after` when the server said when to ask again.
    Refused { retry_after: Option<f64> },
    /// The socket failed or closed first.
    Lost,
}

/// What a join brought: its latency, the ack frame, and the `new_chat_message` frames
/// that arrived while it was answered (a member's socket follows the room from connect).
pub(crate) struct Joined {
    pub took: Duration,
    pub ack: String,
    pub live: Vec<String>,
}

/// Sends `join_chat_room` (ack id 1) and waits for its ack.
pub(crate) async fn join(ws: &mut sio::Ws, room_id: i64, since: Option<i64>) -> Result<Joined, JoinFailure> {
    let payload = match since {
        Some(since) => json!({"room_id": room_id, "since": since}),
        None => json!({"room_id": room_id}),
    };
    let began = Instant::now();
    let mut live = Vec::new();
    ws.send(sio::event_with_ack(1, "join_chat_room", &payload)).await.map_err(|_| JoinFailure::Lost)?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => match sio::classify(&text) {
                Frame::Ping => ws.send(Message::text("3")).await.map_err(|_| JoinFailure::Lost)?,
                Frame::Ack { ok: true } if text.starts_with("431[") => {
                    return Ok(Joined { took: began.elapsed(), ack: text.to_string(), live });
                }
                Frame::Ack { ok: false } if text.starts_with("431[") => {
                    return Err(JoinFailure::Refused { retry_after: retry_after(&text) });
                }
                Frame::Event { name: "new_chat_message", raw } => live.push(raw.to_owned()),
                _ => {}
            },
            Some(Ok(_)) => {}
            _ => return Err(JoinFailure::Lost),
        }
    }
}

/// `error.retry_after` of a refusal ack, in seconds.
fn retry_after(ack: &str) -> Option<f64> {
    let at = ack.find("\"retry_after\":")? + "\"retry_after\":".len();
    let digits = ack[at..].bytes().take_while(u8::is_ascii_digit).count();
    ack[at..at + digits].parse().ok()
}

/// socket.io-client's reconnection delay before attempt `attempt` (0 first): 1 s doubling
/// up to 5 s, randomised by ±50%.
fn reconnect_delay(attempt: u32) -> Duration {
    let base = (2f64.powi(attempt.min(3) as i32)).min(5.0);
    Duration::from_secs_f64(base * (0.5 + rand::random::<f64>()))
}

/// The id of the message with the highest seq in a frame (`since` for a rejoin).
fn id_of_max_seq(raw: &str) -> Option<(i64, i64)> {
    // Messages serialise `"id":…` first and `"seq":…` a few fields later.
    let mut best: Option<(i64, i64)> = None;
    for (at, _) in raw.match_indices("{\"id\":") {
        let rest = &raw[at + 6..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(id) = rest[..digits].parse::<i64>() else { continue };
        let window = &rest[..rest.len().min(200)];
        let Some(s) = window.find("\"seq\":") else { continue };
        let tail = &window[s + 6..];
        let n = tail.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(seq) = tail[..n].parse::<i64>()
            && best.is_none_or(|(_, b)| seq > b)
        {
            best = Some((id, seq));
        }
    }
    best
}

#[derive(Parser)]
pub struct MassJoinArgs {
    #[arg(long, default_value = "127.0.0.1:5000")]
    server: SocketAddr,
    #[arg(long)]
    server_pid: Option<u32>,
    /// The crowd written by `seed-crowd` (one room, no members).
    #[arg(long)]
    crowd: PathBuf,
    /// Seconds over which the clients arrive.
    #[arg(long, default_value_t = 60.0)]
    over: f64,
    /// Clients (the first of the crowd) that join first and send throughout.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages per second, in total.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Seconds of sending after the last arrival (deliveries then are counted for loss).
    #[arg(long, default_value_t = 10.0)]
    after: f64,
    #[arg(long, default_value_t = 8)]
    source_ips: u8,
}

/// 10,000 clients open one room over a minute while a few post: join latency, bytes per
/// join, message latency, loss after the ramp, server memory.
pub async fn mass_join(args: MassJoinArgs) -> Result<Value, BoxError> {
    let crowd = read_crowd(&args.crowd)?;
    let room_id = crowd.first().map(|c| c.1).ok_or("empty crowd")?;
    let start = Instant::now();
    let before = sample(args.server_pid);
    let joins = Arc::new(Mutex::new((histogram(), 0u64, 0u64)));
    let deliveries = Arc::new(Mutex::new(histogram()));
    // Per client: from when it counts (the ramp's end, or its join if later, in µs from
    // the start) and how many distinct messages sent after that it received live.
    let late_seen = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64)>::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let ramp_end = Duration::from_secs_f64(args.over);
    let total = ramp_end + Duration::from_secs_f64(args.after);
    // When each acknowledged message was sent (µs from the start).
    let acked = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let senders = args.senders.min(crowd.len());
    let joiners = crowd.len().saturating_sub(senders).max(1);
    let joined_by_ramp_end = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(crowd.len());
    for (i, (token, _)) in crowd.into_iter().enumerate() {
        let sending = i < senders;
        let arrive =
            if sending { Duration::ZERO } else { ramp_end.mul_f64((i - senders) as f64 / joiners as f64) };
        let (joins, deliveries, late_seen, failed, acked, joined_count) = (
            joins.clone(),
            deliveries.clone(),
            late_seen.clone(),
            failed.clone(),
            acked.clone(),
            joined_by_ramp_end.clone(),
        );
        let (server, source, every) = (
            args.server,
            source_ip(i, args.source_ips),
            Duration::from_secs_f64(senders.max(1) as f64 / args.rate.max(0.001)),
        );
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(arrive).await;
            let mut ws = match sio::connect(server, source, &token).await {
                Ok(ws) => ws,
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            match join(&mut ws, room_id, None).await {
                Ok(Joined { took, ack, .. }) => {
                    let mut j = joins.lock().await;
                    let _ = j.0.record(took.as_micros().max(1) as u64);
                    j.1 += ack.len() as u64;
                    j.2 += 1;
                    if start.elapsed() < ramp_end {
                        joined_count.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            let mut local = histogram();
            let counts_from = start.elapsed().max(ramp_end).as_micros() as u64;
            let mut seen_late = std::collections::HashSet::new();
            let mut ticker = tokio::time::interval(every);
            let mut next = 1u64;
            loop {
                if start.elapsed() > total + Duration::from_secs(5) {
                    break;
                }
                tokio::select! {
                    frame = ws.next() => {
                        let Some(Ok(Message::Text(text))) = frame else {
                            if matches!(frame, None | Some(Err(_))) { break; }
                            continue;
                        };
                        match sio::classify(&text) {
                            Frame::Ping => { let _ = ws.send(Message::text("3")).await; }
                            Frame::Ack { ok: true } if sending => {
                                if let Some(sent_at) = sio::bench_timestamp(&text) {
                                    acked.lock().unwrap_or_else(|e| e.into_inner()).push(sent_at);
                                }
                            }
                            Frame::Event { name: "new_chat_message", raw } => {
                                if let Some((sent_at, n)) = sio::bench_key(raw) {
                                    let _ = local.record((start.elapsed().as_micros() as u64).saturating_sub(sent_at).max(1));
                                    if sent_at > counts_from {
                                        seen_late.insert((sent_at, n));
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                    _ = ticker.tick(), if sending && start.elapsed() < total => {
                        next += 1;
                        let content = format!("bench:{}:{next}", start.elapsed().as_micros());
                        let frame = sio::event_with_ack(next, "send_chat_message", &json!({"room_id": room_id, "content": content}));
                        if ws.send(frame).await.is_err() { break; }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
            let _ = deliveries.lock().await.add(&local);
            late_seen.lock().unwrap_or_else(|e| e.into_inner()).push((counts_from, seen_late.len() as u64));
            let _ = ws.close(None).await;
        }));
    }
    let clients = tasks.len() as u64;
    for task in tasks {
        let _ = task.await;
    }
    let after = sample(args.server_pid);
    let (join_latency, join_bytes, joined) = {
        let j = joins.lock().await;
        (percentiles(&j.0), j.1, j.2)
    };
    // Every message acknowledged that was sent after the ramp and after a client's join
    // should reach that client live (the senders too); what was sent before its join is
    // in its join answer or a page back, and not counted here.
    let (expected_late, got_late) = late_deliveries(
        std::mem::take(&mut *acked.lock().unwrap_or_else(|e| e.into_inner())),
        &late_seen.lock().unwrap_or_else(|e| e.into_inner()),
    );
    let delivery_latency = percentiles(&*deliveries.lock().await);
    let report = json!({
        "scenario": "massjoin",
        "clients": clients,
        "joined": joined,
        "failed": failed.load(Ordering::Relaxed),
        "joined_during_ramp": joined_by_ramp_end.load(Ordering::Relaxed),
        "join_latency": join_latency,
        "bytes_per_join": join_bytes.checked_div(joined).unwrap_or(0),
        "message_latency": delivery_latency,
        "after_ramp": {"expected": expected_late, "received": got_late, "lost": expected_late.saturating_sub(got_late)},
        "server_rss_mib_end": after.as_ref().map(|a| a.rss_bytes as f64 / 1048576.0),
        "server_cpu_seconds": before.zip(after).map(|(b, a)| a.cpu_seconds - b.cpu_seconds),
    });
    println!(
        "== mass join: {clients} clients over {} s, {senders} senders at {} msg/s",
        args.over, args.rate
    );
    println!(
        "joined {joined} (failed {}); join ms p50 {} p99 {}; {} bytes per join ack; message ms p50 {} p99 {}; after the ramp {} of {} delivered; server RSS {} MiB",
        report["failed"],
        report["join_latency"]["p50_ms"],
        report["join_latency"]["p99_ms"],
        report["bytes_per_join"],
        report["message_latency"]["p50_ms"],
        report["message_latency"]["p99_ms"],
        got_late,
        expected_late,
        report["server_rss_mib_end"]
    );
    println!("JSON {report}");
    Ok(report)
}

/// Deliveries due and received: each client, counting from `counts_from`, is due every
/// acknowledged message sent after it, and received `seen` distinct ones of those.
fn late_deliveries(mut acked: Vec<u64>, clients: &[(u64, u64)]) -> (u64, u64) {
    acked.sort_unstable();
    clients.iter().fold((0, 0), |(expected, got), &(counts_from, seen)| {
        let due = (acked.len() - acked.partition_point(|&sent_at| sent_at <= counts_from)) as u64;
        (expected + due, got + seen.min(due))
    })
}

#[derive(Parser)]
pub struct StormArgs {
    #[arg(long, default_value = "127.0.0.1:5000")]
    server: SocketAddr,
    #[arg(long)]
    server_pid: Option<u32>,
    /// The crowd written by `seed-crowd --members`.
    #[arg(long)]
    crowd: PathBuf,
    /// A file whose appearance means "every client is connected: restart the server now";
    /// the generator writes it and `scripts/bench` restarts the server.
    #[arg(long)]
    ready_file: PathBuf,
    /// Messages per second in each room (one sender per room).
    #[arg(long, default_value_t = 0.5)]
    rate_per_room: f64,
    /// Seconds of sending after everyone is back.
    #[arg(long, default_value_t = 10.0)]
    after: f64,
    /// Longest wait for everyone to come back.
    #[arg(long, default_value_t = 30.0)]
    deadline: f64,
    #[arg(long, default_value_t = 8)]
    source_ips: u8,
}

/// What one storm client saw.
#[derive(Default)]
struct StormClient {
    room_id: i64,
    back: Option<Duration>,
    /// Connections that failed (refused, or lost before the join was answered) after
    /// the restart.
    failed: u32,
    /// Every seq seen in the room after the first join, in order of arrival.
    seqs: Vec<i64>,
}

/// How many storm clients are in each wait right now (what the ones not back were doing).
#[derive(Default)]
struct Waiting {
    connect: AtomicU64,
    join: AtomicU64,
    /// Told `server_busy`, waiting to ask again.
    busy: AtomicU64,
    /// Waiting to reconnect.
    backoff: AtomicU64,
}

/// Runs `work` counted in `gauge` while it runs.
async fn counted<T>(gauge: &AtomicU64, work: impl Future<Output = T>) -> T {
    gauge.fetch_add(1, Ordering::Relaxed);
    let out = work.await;
    gauge.fetch_sub(1, Ordering::Relaxed);
    out
}

/// Counts one more failure of this kind.
fn count_failure(failures: &std::sync::Mutex<HashMap<String, u64>>, reason: String) {
    *failures.lock().unwrap_or_else(|p| p.into_inner()).entry(reason).or_default() += 1;
}

/// Everyone connected, the server restarts, everyone reconnects with jittered backoff
/// and rejoins with `since`; were all back within the deadline, and did anyone miss a
/// message?
pub async fn storm(args: StormArgs) -> Result<Value, BoxError> {
    let crowd = read_crowd(&args.crowd)?;
    let clients = crowd.len();
    let start = Instant::now();
    let mut senders: HashMap<i64, usize> = HashMap::new();
    for (i, (_, room_id)) in crowd.iter().enumerate() {
        senders.entry(*room_id).or_insert(i);
    }
    let connected = Arc::new(AtomicU64::new(0));
    let waiting = Arc::new(Waiting::default());
    // Clients back within the deadline, counted as they come back.
    let back_in_time = Arc::new(AtomicU64::new(0));
    // Why connections failed after the restart, with how often.
    let reasons: Arc<std::sync::Mutex<HashMap<String, u64>>> = Arc::default();
    let every = Duration::from_secs_f64(1.0 / args.rate_per_room.max(0.001));
    let deadline = Duration::from_secs_f64(args.deadline);
    let after = Duration::from_secs_f64(args.after);
    // Level-triggered: a client busy with a frame when the stop comes still sees it on
    // its next turn (a `Notify` woke only those waiting at that instant, and the others
    // went on forever, counted as not back).
    let (stop_all, stop) = tokio::sync::watch::channel(false);
    // Senders stop a moment before everyone leaves, so no message is still on its way to
    // some members and not others when the count is taken.
    let sending = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut tasks = Vec::with_capacity(clients);
    for (i, (token, room_id)) in crowd.into_iter().enumerate() {
        let sender = senders.get(&room_id) == Some(&i);
        let (connected, stop, sending, server, source) =
            (connected.clone(), stop.clone(), sending.clone(), args.server, source_ip(i, args.source_ips));
        let mut stop = stop;
        let waiting = waiting.clone();
        let reasons = reasons.clone();
        let back_in_time = back_in_time.clone();
        tasks.push(tokio::spawn(async move {
            let mut me = StormClient { room_id, ..Default::default() };
            let mut since: Option<i64> = None;
            let mut attempt = 0u32;
            let mut lost_at: Option<Instant> = None;
            let mut next_id = 1u64;
            'session: loop {
                // Like socket.io-client: every reconnection waits first (1 s doubling to
                // 5 s, ±50%), so a crowd dropped at once does not come back at once.
                if lost_at.is_some() || attempt > 0 {
                    counted(&waiting.backoff, tokio::time::sleep(reconnect_delay(attempt))).await;
                    attempt += 1;
                }
                if *stop.borrow() || start.elapsed() > Duration::from_secs(600) {
                    break 'session;
                }
                let mut ws = match counted(&waiting.connect, sio::connect(server, source, &token)).await {
                    Ok(ws) => ws,
                    Err(err) => {
                        attempt = attempt.max(1);
                        if lost_at.is_some() {
                            me.failed += 1;
                            count_failure(&reasons, err.to_string().chars().take(60).collect());
                        }
                        continue;
                    }
                };
                // A busy server says when to ask again: wait that long (jittered) and ask
                // again on the same socket, as an application would.
                let ack = loop {
                    match counted(&waiting.join, join(&mut ws, room_id, since)).await {
                        Ok(joined) => break Some(joined),
                        Err(JoinFailure::Refused { retry_after: Some(secs) }) => {
                            if lost_at.is_some() {
                                count_failure(&reasons, "join: server_busy".into());
                            }
                            let pause = Duration::from_secs_f64(secs * (0.5 + rand::random::<f64>()));
                            counted(&waiting.busy, tokio::time::sleep(pause)).await;
                        }
                        Err(failure) => {
                            if lost_at.is_some() {
                                count_failure(&reasons, format!("join: {failure:?}"));
                            }
                            break None;
                        }
                    }
                };
                let Some(joined) = ack else {
                    attempt = attempt.max(1);
                    me.failed += u32::from(lost_at.is_some());
                    continue;
                };
                attempt = 0;
                // What arrived live while the join was answered, then the join ack's
                // replay: every message after `since` (on a first join, the latest page,
                // which only sets where this client starts counting).
                let mut newest: Option<(i64, i64)> = None;
                let live = joined.live.iter().filter_map(|raw| id_of_max_seq(raw));
                for (id, seq) in live.chain(replay(&joined.ack)) {
                    if since.is_some() {
                        me.seqs.push(seq);
                    }
                    if newest.is_none_or(|(_, s)| seq > s) {
                        newest = Some((id, seq));
                    }
                }
                if let Some((id, _)) = newest {
                    since = Some(id);
                }
                if lost_at.is_none() {
                    connected.fetch_add(1, Ordering::Relaxed);
                } else if let Some(lost) = lost_at.take() {
                    if me.back.is_none() && lost.elapsed() <= deadline {
                        back_in_time.fetch_add(1, Ordering::Relaxed);
                    }
                    me.back = Some(lost.elapsed());
                }
                let mut ticker = tokio::time::interval(every);
                ticker.tick().await;
                loop {
                    tokio::select! {
                        frame = ws.next() => {
                            let text = match frame {
                                Some(Ok(Message::Text(text))) => text,
                                Some(Ok(_)) => continue,
                                _ => { lost_at = Some(Instant::now()); continue 'session; }
                            };
                            match sio::classify(&text) {
                                Frame::Ping => { let _ = ws.send(Message::text("3")).await; }
                                Frame::Ack { ok: true } if text.starts_with("431[") => {}
                                Frame::Event { name: "new_chat_message", raw } => {
                                    if let Some((id, seq)) = id_of_max_seq(raw) {
                                        me.seqs.push(seq);
                                        since = Some(id);
                                    }
                                }
                                _ => {}
                            }
                        }
                        _ = ticker.tick(), if sender => {
                            if !sending.load(Ordering::Relaxed) {
                                continue;
                            }
                            next_id += 1;
                            let content = format!("bench:{}:{next_id}", start.elapsed().as_micros());
                            let frame = sio::event_with_ack(next_id + 1, "send_chat_message", &json!({"room_id": room_id, "content": content}));
                            if ws.send(frame).await.is_err() { lost_at = Some(Instant::now()); continue 'session; }
                        }
                        () = async { drop(stop.wait_for(|stopped| *stopped).await) } => {
                            let _ = ws.close(None).await;
                            break 'session;
                        }
                    }
                }
            }
            me
        }));
    }
    // Everyone connected: ask for the restart, then wait for everyone to be back.
    while connected.load(Ordering::Relaxed) < clients as u64 && start.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let connect_seconds = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::fs::write(&args.ready_file, b"restart")?;
    let restart_requested = Instant::now();
    // Let the storm run its course and messages flow afterwards.
    tokio::time::sleep(deadline + after).await;
    sending.store(false, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before_stop = sample(args.server_pid);
    let _ = stop_all.send(true);
    // One deadline for all: a client still stuck after it counts as not back.
    let collect_until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut results = Vec::with_capacity(clients);
    for task in tasks {
        if let Ok(client) = tokio::time::timeout_at(collect_until, task).await {
            results.push(client?);
        }
    }
    let mut back_times: Histogram<u64> = histogram();
    let (mut back, mut missed, mut duplicated) = (0u64, 0u64, 0u64);
    // Those not back in time: back late, never back, or still waiting on a connect or a
    // join when the run ended; and how many connections failed on the way back.
    let still_waiting = clients - results.len();
    let [in_connect, in_join, in_busy, in_backoff] =
        [&waiting.connect, &waiting.join, &waiting.busy, &waiting.backoff].map(|g| g.load(Ordering::Relaxed));
    let late = results.iter().filter(|r| r.back.is_some_and(|t| t > deadline)).count();
    let never = results.iter().filter(|r| r.back.is_none()).count();
    let failed: u64 = results.iter().map(|r| u64::from(r.failed)).sum();
    let mut final_seq: HashMap<i64, i64> = HashMap::new();
    for r in &results {
        let high = r.seqs.iter().copied().max().unwrap_or(0);
        let e = final_seq.entry(r.room_id).or_insert(0);
        *e = (*e).max(high);
    }
    for r in &results {
        if let Some(t) = r.back {
            let _ = back_times.record(t.as_micros().max(1) as u64);
            if t <= deadline {
                back += 1;
            }
        }
        let mut seen = r.seqs.clone();
        seen.sort_unstable();
        let before_dedup = seen.len();
        seen.dedup();
        duplicated += (before_dedup - seen.len()) as u64;
        if let (Some(first), Some(&last)) = (seen.first(), final_seq.get(&r.room_id)) {
            let span = (last - first + 1).max(0) as u64;
            let gaps = span.saturating_sub(seen.len() as u64);
            if gaps > 0 && missed < 5 {
                let absent: Vec<i64> =
                    (*first..=last).filter(|q| seen.binary_search(q).is_err()).take(5).collect();
                eprintln!(
                    "room {}: seqs {absent:?} never reached one client (saw {first}..={last})",
                    r.room_id
                );
            }
            missed += gaps;
        }
    }
    let report = json!({
        "scenario": "storm",
        "clients": clients,
        "connect_seconds": connect_seconds,
        "back_within_deadline": back,
        "back_percent": back as f64 * 100.0 / clients.max(1) as f64,
        "reconnect": percentiles(&back_times),
        "messages_missed": missed,
        "duplicates": duplicated,
        "not_back": {"late": late, "never": never, "still_waiting": still_waiting,
            "in_connect": in_connect, "in_join": in_join, "in_busy_wait": in_busy, "in_backoff": in_backoff},
        "failed_connections": failed,
        "back_in_time_as_they_came": back_in_time.load(Ordering::Relaxed),
        "failures": *reasons.lock().unwrap_or_else(|p| p.into_inner()),
        "storm_seconds": restart_requested.elapsed().as_secs_f64(),
        "server_rss_mib_end": before_stop.map(|s| s.rss_bytes as f64 / 1048576.0),
    });
    println!("== reconnect storm: {clients} clients, server restarted once");
    println!(
        "{back} of {clients} back within {} s ({:.1}%); reconnect p50 {} ms p99 {} ms; {missed} messages missed, {duplicated} seen twice",
        args.deadline,
        report["back_percent"].as_f64().unwrap_or(0.0),
        report["reconnect"]["p50_ms"],
        report["reconnect"]["p99_ms"]
    );
    println!(
        "not back in time: {late} late, {never} never, {still_waiting} still connecting or joining at the end \
         ({in_connect} in a connect, {in_join} in a join, {in_busy} told to wait, {in_backoff} in a backoff); \
         {failed} connections failed on the way back"
    );
    println!("JSON {report}");
    Ok(report)
}

/// (id, seq) of each message in a join ack's replay (`431[{…,"messages":[…],…}]`).
fn replay(raw: &str) -> Vec<(i64, i64)> {
    let Some(body) = raw.find('[').map(|at| &raw[at..]) else { return Vec::new() };
    let Ok(Value::Array(args)) = serde_json::from_str::<Value>(body) else { return Vec::new() };
    let messages = args.first().and_then(|ack| ack["messages"].as_array()).cloned().unwrap_or_default();
    messages.iter().filter_map(|m| Some((m["id"].as_i64()?, m["seq"].as_i64()?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_due_only_what_was_sent_after_it_joined() {
        // Messages acknowledged at 10, 20, 30 and 40 (unordered, as acks arrive).
        let acked = vec![30, 10, 40, 20];
        // One counting from 15 saw all three due; one from 35 saw nothing of its one;
        // one from 45 is due nothing. A message seen beyond what was due is not credited.
        assert_eq!(late_deliveries(acked.clone(), &[(15, 3), (35, 0), (45, 0)]), (4, 3));
        assert_eq!(late_deliveries(acked, &[(20, 5)]), (2, 2), "due counts from after the cut");
    }

    #[test]
    fn seqs_and_ids_are_read_from_frames() {
        let frame = r#"42["new_chat_message",{"id":77,"room_id":3,"seq":12,"sender":{"id":1}}]"#;
        assert_eq!(id_of_max_seq(frame), Some((77, 12)));
        let ack = r#"431[{"ok":true,"messages":[{"id":5,"sender":{"id":9},"mentions":[],"seq":2},{"id":6,"room_id":1,"seq":3}],"has_more":false}]"#;
        assert_eq!(replay(ack), vec![(5, 2), (6, 3)]);
        let busy = r#"431[{"ok":false,"error":{"code":"server_busy","message":"busy","retry_after":2}}]"#;
        assert_eq!(retry_after(busy), Some(2.0));
        assert_eq!(retry_after(r#"431[{"ok":false,"error":{"code":"forbidden"}}]"#), None);
    }
}
