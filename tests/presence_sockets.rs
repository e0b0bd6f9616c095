//! Presence, typing and notifications over real Socket.IO connections (the Rust side of
//! the npm suite in tests/socketio/presence.test.mjs), with the time rules on the
//! server's injectable clock.

mod common;

use std::time::Duration;

use common::sio::Socket;
use common::{Options, TestServer, now_ms};
use eventsync_chat::clock::ManualClock;
use serde_json::{Value, json};

const SOON: Duration = Duration::from_secs(3);
const NOT_WITHIN: Duration = Duration::from_millis(600);

#[tokio::test]
async fn presence_typing_and_mentions_reach_co_members_over_sockets_on_the_clock() {
    let clock = ManualClock::starting_at(now_ms());
    let mut options = Options::with_clock(clock.clone());
    options.limits.presence_grace_seconds = 5;
    options.limits.away_after_seconds = 60;
    let server = TestServer::start_with(options).await;
    let (alice, alice_user) = server.register("alice").await;
    let (bob, bob_user) = server.register("bobby").await;
    let (carol, _) = server.register("carol").await;
    let room = server
        .create_room(&alice, json!({"type": "group", "name": "Crew", "participant_ids": [bob_user["id"]]}))
        .await;
    let alice_id = alice_user["id"].clone();
    let status_of_alice = |status: &'static str| {
        let alice_id = alice_id.clone();
        move |p: &Value| p["user_id"] == alice_id && p["status"] == status
    };
    let about_alice = |p: &Value| p["user_id"] == alice_user["id"];

    let mut watcher = Socket::connect(server.addr, &bob).await;
    let mut stranger = Socket::connect(server.addr, &carol).await;

    // Two tabs: online once, to the co-member and not to the stranger.
    let mut tab1 = Socket::connect(server.addr, &alice).await;
    let mut tab2 = Socket::connect(server.addr, &alice).await;
    assert!(watcher.event_within("presence_updated", SOON, status_of_alice("online")).await.is_some());
    assert!(stranger.event_within("presence_updated", NOT_WITHIN, about_alice).await.is_none());

    // Idle for the away time: away; the next event brings her back.
    clock.advance(Duration::from_secs(60));
    assert!(watcher.event_within("presence_updated", SOON, status_of_alice("away")).await.is_some());
    let ack = tab2.emit("chat_typing_stop", json!({"room_id": room["id"]})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert!(watcher.event_within("presence_updated", SOON, status_of_alice("online")).await.is_some());

    // Typing reaches the co-member, never the typist's other tab; sending ends it, and
    // the mention reaches bob as a notification.
    let ack = tab1.emit("chat_typing_start", json!({"room_id": room["id"]})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let typing =
        watcher.event_within("user_typing_start", SOON, |p| p["user"]["id"] == alice_user["id"]).await;
    assert!(typing.is_some_and(|p| p["room_id"] == room["id"]));
    assert!(tab2.event_within("user_typing_start", NOT_WITHIN, |_| true).await.is_none());
    let ack = tab1.emit("send_chat_message", json!({"room_id": room["id"], "content": "hi @bobby"})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    assert!(
        watcher
            .event_within("user_typing_stop", SOON, |p| p["user"]["id"] == alice_user["id"])
            .await
            .is_some()
    );
    let note = watcher.event_within("notification", SOON, |n| n["kind"] == "mention").await;
    assert!(note.is_some_and(|n| n["actor"]["id"] == alice_user["id"]));

    // Both tabs close: still online through the grace period, offline when it ends.
    tab1.close().await;
    tab2.close().await;
    // Let the server see both disconnects before moving its clock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    clock.advance(Duration::from_secs(4));
    assert!(watcher.event_within("presence_updated", NOT_WITHIN, status_of_alice("offline")).await.is_none());
    clock.advance(Duration::from_secs(1));
    assert!(watcher.event_within("presence_updated", SOON, status_of_alice("offline")).await.is_some());
    assert!(stranger.event_within("presence_updated", NOT_WITHIN, about_alice).await.is_none());
}

/// On both backends: a user whose socket was connected when the server stopped cleanly
/// still shows online (as they chose) after the start, before coming back; a restart is
/// not everyone leaving.
#[tokio::test]
async fn users_connected_at_a_clean_stop_show_online_after_the_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start_in(dir.path()).await;
    let (alice, alice_user) = server.register("restart_alice").await;
    let (bob, _) = server.register("restart_bob").await;
    let mut socket = Socket::connect(server.addr, &alice).await;
    let ack = socket.emit("update_presence", json!({"status": "busy", "custom_message": "on stage"})).await;
    assert_eq!(ack["ok"], true, "{ack}");
    server.stop().await;

    let server = TestServer::start_in(dir.path()).await;
    let path = format!("/api/chat/presence?user_ids={}", alice_user["id"]);
    let response = server.get(&path, Some(&bob)).await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    let presence = &body["presence"][0];
    assert_eq!(presence["status"], "busy", "{body}");
    assert_eq!(presence["custom_message"], "on stage", "{body}");
}
