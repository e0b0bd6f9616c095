//! Messages over HTTP: send, history paging, replies, edit window and versions, delete,
//! idempotent sends, reactions, polls and bad input.

mod common;

use std::time::Duration;

use common::{Options, TestServer, assert_error, contents, expect_ok, now_ms, storage_for};
use eventsync_chat::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A server with a general room that `alice` owns and `bob` joined.
async fn room_with_two(options: Options) -> (TestServer, String, String, Value) {
    let server = TestServer::start_with(options).await;
    let (alice, _) = server.register("alice").await;
    let (bob, _) = server.register("bob").await;
    let room = server.create_room(&alice, json!({"name": "Lobby", "type": "general"})).await;
    expect_ok(server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(&bob), json!({})).await)
        .await;
    (server, alice, bob, room)
}

#[tokio::test]
async fn messages_get_consecutive_seq_and_page_by_keyset() {
    let (server, alice, bob, room) = room_with_two(Options::default()).await;
    let mut sent = Vec::new();
    for i in 0..120 {
        sent.push(server.send(if i % 2 == 0 { &alice } else { &bob }, &room["id"], &format!("m{i}")).await);
    }
    let seqs: Vec<i64> = sent.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    let latest = server.history(&alice, &room["id"], "?limit=50").await;
    assert_eq!(contents(&latest), (70..120).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert_eq!(latest["has_more"], true);
    let first = &latest["messages"][0]["id"];
    let older = server.history(&alice, &room["id"], &format!("?before={first}&limit=100")).await;
    assert_eq!(older["has_more"], false);
    let older_contents = contents(&older);
    assert_eq!(older_contents.first().map(String::as_str), Some("m0"));
    assert_eq!(older_contents.last().map(String::as_str), Some("m69"));
    let after = server.history(&alice, &room["id"], &format!("?after={}&limit=3", sent[116]["id"])).await;
    assert_eq!(contents(&after), ["m117", "m118", "m119"]);
    assert_eq!(after["has_more"], false);

    for (query, code) in
        [("?limit=0", "invalid_limit"), ("?limit=101", "invalid_limit"), ("?before=999999", "invalid_cursor")]
    {
        let response =
            server.get(&format!("/api/chat/rooms/{}/messages{query}", room["id"]), Some(&alice)).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let response =
        server.get(&format!("/api/chat/rooms/{}/messages?before=abc", room["id"]), Some(&alice)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn duplicate_client_id_stores_one_message() {
    let (server, alice, _, room) = room_with_two(Options::default()).await;
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    let body = json!({"content": "only once", "client_id": "retry-1"});
    let first = server.post(&path, Some(&alice), body.clone()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let second = server.post(&path, Some(&alice), body).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(contents(&server.history(&alice, &room["id"], "").await), ["only once"]);
}

#[tokio::test]
async fn replies_stay_within_their_room_and_form_a_thread() {
    let (server, alice, bob, room) = room_with_two(Options::default()).await;
    let other = server.create_room(&alice, json!({"name": "Other", "type": "general"})).await;
    let elsewhere = server.send(&alice, &other["id"], "elsewhere").await;
    let parent = server.send(&alice, &room["id"], "question").await;
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    let response =
        server.post(&path, Some(&bob), json!({"content": "answer", "reply_to": parent["id"]})).await;
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["reply_to"], parent["id"]);
    let response =
        server.post(&path, Some(&bob), json!({"content": "wrong room", "reply_to": elsewhere["id"]})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_reply").await;
    let response = server.post(&path, Some(&bob), json!({"content": "ghost", "reply_to": 999_999})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_reply").await;
    let thread: Value = server
        .get(&format!("/api/chat/messages/{}/replies", parent["id"]), Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contents(&thread), ["answer"]);
}

#[tokio::test]
async fn edits_keep_versions_and_close_after_the_window() {
    let clock = ManualClock::starting_at(now_ms());
    let (server, alice, bob, room) = room_with_two(Options::with_clock(clock.clone())).await;
    let message = server.send(&alice, &room["id"], "frist").await;
    let edit = format!("/api/chat/messages/{}/edit", message["id"]);
    assert_error(
        server.put(&edit, &bob, json!({"content": "hijacked"})).await,
        StatusCode::FORBIDDEN,
        "not_sender",
    )
    .await;
    assert_error(
        server.put(&edit, &alice, json!({"content": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_content",
    )
    .await;

    clock.advance(Duration::from_secs(14 * 60));
    let response = server.put(&edit, &alice, json!({"content": "first"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let edited: Value = response.json().await.unwrap();
    assert_eq!(edited["content"], "first");
    assert!(edited["edited_at"].is_string());
    expect_ok(server.put(&edit, &alice, json!({"content": "first!"})).await).await;

    clock.advance(Duration::from_secs(61));
    let response = server.put(&edit, &alice, json!({"content": "too late"})).await;
    assert_error(response, StatusCode::FORBIDDEN, "edit_window_expired").await;
    assert_eq!(contents(&server.history(&bob, &room["id"], "").await), ["first!"]);

    // Every earlier version is kept for the audit trail.
    let store = eventsync_chat::store::Store::open(&storage_for(server.data_dir()).await, 1).await.unwrap();
    let versions: Vec<String> = store
        .message_versions(message["id"].as_i64().unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.0)
        .collect();
    assert_eq!(versions, ["frist", "first"]);
    store.close().await;

    // The sender reads them over the API too; another member may not.
    let history = format!("/api/chat/messages/{}/history", message["id"]);
    let response = server.get(&history, Some(&alice)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let texts: Vec<&str> =
        body["versions"].as_array().unwrap().iter().map(|v| v["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["frist", "first"]);
    assert!(body["versions"][0]["replaced_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert_error(server.get(&history, Some(&bob)).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(
        server.get("/api/chat/messages/999999/history", Some(&alice)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn deleted_content_is_gone_but_the_place_remains() {
    let (server, alice, bob, room) = room_with_two(Options::default()).await;
    let secret = server.send(&bob, &room["id"], "my secret password is hunter2").await;
    let by_alice = server.send(&alice, &room["id"], "owner's words").await;
    server
        .post(&format!("/api/chat/messages/{}/react", secret["id"]), Some(&alice), json!({"emoji": "👍"}))
        .await;
    // A member cannot delete another's message; the owner (a moderator) can.
    let response = server.delete(&format!("/api/chat/messages/{}/delete", by_alice["id"]), &bob, None).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = server.delete(&format!("/api/chat/messages/{}/delete", secret["id"]), &bob, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = server.get(&format!("/api/chat/rooms/{}/messages", room["id"]), Some(&alice)).await;
    let text = response.text().await.unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let history: Value = serde_json::from_str(&text).unwrap();
    let deleted =
        history["messages"].as_array().unwrap().iter().find(|m| m["id"] == secret["id"]).unwrap().clone();
    assert!(deleted["content"].is_null() && deleted["deleted_at"].is_string());
    assert_eq!(deleted["reactions"], json!([]));
    assert_eq!(deleted["seq"], secret["seq"]);
    // Deleted messages cannot be edited or reacted to; deleting again is harmless.
    let response =
        server.put(&format!("/api/chat/messages/{}/edit", secret["id"]), &bob, json!({"content": "x"})).await;
    assert_error(response, StatusCode::CONFLICT, "message_deleted").await;
    let response = server
        .post(&format!("/api/chat/messages/{}/react", secret["id"]), Some(&alice), json!({"emoji": "👍"}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "message_deleted").await;
    let response =
        server.delete(&format!("/api/chat/messages/{}/delete", by_alice["id"]), &alice, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response =
        server.delete(&format!("/api/chat/messages/{}/delete", by_alice["id"]), &alice, None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn reactions_count_per_emoji_and_know_the_caller() {
    let (server, alice, bob, room) = room_with_two(Options::default()).await;
    let message = server.send(&alice, &room["id"], "react to me").await;
    let react = format!("/api/chat/messages/{}/react", message["id"]);
    for token in [&alice, &bob, &bob] {
        let response = server.post(&react, Some(token), json!({"emoji": "👍"})).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    expect_ok(server.post(&react, Some(&bob), json!({"emoji": "🎉"})).await).await;
    let seen_by_alice = server.history(&alice, &room["id"], "").await;
    let reactions = seen_by_alice["messages"].as_array().unwrap().last().unwrap()["reactions"].clone();
    assert_eq!(
        reactions,
        json!([{"emoji": "👍", "count": 2, "me": true}, {"emoji": "🎉", "count": 1, "me": false}])
    );
    let response = server.delete(&react, &bob, Some(json!({"emoji": "👍"}))).await;
    let update: Value = response.json().await.unwrap();
    assert_eq!(
        update["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": false}, {"emoji": "🎉", "count": 1, "me": true}])
    );
    for emoji in [json!("notanemoji"), json!(":)"), json!("")] {
        let response = server.post(&react, Some(&bob), json!({"emoji": emoji})).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_emoji").await;
    }
    let response = server.post(&react, Some(&bob), json!({"emoji": 5})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    let response = server.post("/api/chat/messages/999999/react", Some(&bob), json!({"emoji": "👍"})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn polls_count_votes_and_close_on_time() {
    let clock = ManualClock::starting_at(now_ms());
    let (server, alice, bob, room) = room_with_two(Options::with_clock(clock.clone())).await;
    // From the server's clock, not the wall clock: starting the server and registering
    // may take seconds under load, and the clock does not move meanwhile.
    use eventsync_chat::clock::Clock;
    let closes_at = eventsync_chat::clock::to_rfc3339(clock.now_ms() + 3_600_000);
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    let response = server
        .post(&path, Some(&alice), json!({"type": "poll", "content": "Lunch?", "poll": {"question": "Lunch?", "options": ["pizza", "sushi", "salad"], "multiple": false, "closes_at": closes_at}}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let poll: Value = response.json().await.unwrap();
    let vote = format!("/api/chat/messages/{}/vote", poll["id"]);
    let result: Value = server.post(&vote, Some(&bob), json!({"options": [1]})).await.json().await.unwrap();
    assert_eq!(result["poll"]["options"][1]["votes"], 1);
    assert_eq!(result["poll"]["my_votes"], json!([1]));
    // Changing one's vote moves it.
    let result: Value = server.post(&vote, Some(&bob), json!({"options": [2]})).await.json().await.unwrap();
    let votes: Vec<i64> =
        result["poll"]["options"].as_array().unwrap().iter().map(|o| o["votes"].as_i64().unwrap()).collect();
    assert_eq!(votes, [0, 0, 1]);
    // A malformed choice is a bad body; one this poll has no room for is a conflict.
    for options in [json!([]), json!([-1]), json!([-1, 0])] {
        let response = server.post(&vote, Some(&alice), json!({"options": options})).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_vote").await;
    }
    for options in [json!([3]), json!([0, 1])] {
        let response = server.post(&vote, Some(&alice), json!({"options": options})).await;
        assert_error(response, StatusCode::CONFLICT, "invalid_vote").await;
    }
    let plain = server.send(&alice, &room["id"], "not a poll").await;
    let response = server
        .post(&format!("/api/chat/messages/{}/vote", plain["id"]), Some(&bob), json!({"options": [0]}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "not_a_poll").await;

    clock.advance(Duration::from_secs(3601));
    let response = server.post(&vote, Some(&alice), json!({"options": [0]})).await;
    assert_error(response, StatusCode::CONFLICT, "poll_closed").await;
    let history = server.history(&alice, &room["id"], "").await;
    let stored =
        history["messages"].as_array().unwrap().iter().find(|m| m["id"] == poll["id"]).unwrap()["poll"]
            .clone();
    assert_eq!(stored["closed"], true);

    for (body, code) in [
        (json!({"type": "poll", "poll": {"question": "q", "options": ["only"]}}), "invalid_poll"),
        (json!({"type": "poll", "content": "q"}), "invalid_poll"),
        (
            json!({"type": "text", "content": "x", "poll": {"question": "q", "options": ["a", "b"]}}),
            "invalid_poll",
        ),
    ] {
        assert_error(server.post(&path, Some(&alice), body).await, StatusCode::UNPROCESSABLE_ENTITY, code)
            .await;
    }
}

#[tokio::test]
async fn bad_messages_are_refused_and_store_nothing() {
    let (server, alice, _, room) = room_with_two(Options::default()).await;
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    for (body, code) in [
        (json!({"content": ""}), "invalid_content"),
        (json!({"content": "   \n "}), "invalid_content"),
        (json!({"content": "x".repeat(10_000)}), "invalid_content"),
        (json!({"content": "x", "type": "system"}), "invalid_message_type"),
        (json!({"content": "x", "type": "image"}), "invalid_message_type"),
        (json!({"content": "x", "client_id": ""}), "invalid_client_id"),
        (json!({"content": 5}), "invalid_body"),
        (json!({"content": "x", "type": "shout"}), "invalid_body"),
        (json!({"content": "x", "reply_to": "abc"}), "invalid_body"),
    ] {
        assert_error(server.post(&path, Some(&alice), body).await, StatusCode::UNPROCESSABLE_ENTITY, code)
            .await;
    }
    let response =
        server.post("/api/chat/rooms/999999/messages", Some(&alice), json!({"content": "x"})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = server.post("/api/chat/rooms/abc/messages", Some(&alice), json!({"content": "x"})).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_path_parameter").await;
    // 4000 characters is the most a message may have.
    let response = server.post(&path, Some(&alice), json!({"content": "é".repeat(4000)})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(contents(&server.history(&alice, &room["id"], "").await).len(), 1);
}
