//! Rooms over HTTP: types and join rules, direct messages, support rooms, event rooms,
//! participants, settings, unread counts and preferences.

mod common;

use common::{TestServer, assert_error, contents, expect_ok};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn public_rooms_are_open_and_non_public_group_rooms_are_invisible() {
    let server = TestServer::start().await;
    let (owner, _) = server.register("owner1").await;
    let (outsider, _) = server.register("outsider1").await;
    let lobby = server.create_room(&owner, json!({"name": "Lobby", "type": "general"})).await;
    assert_eq!(lobby["is_public"], true);
    let team = server.create_room(&owner, json!({"name": "Team", "type": "group"})).await;
    assert_eq!(team["is_public"], false);

    // A public room: visible, history needs joining first, then open.
    let response = server.get(&format!("/api/chat/rooms/{}/messages", lobby["id"]), Some(&outsider)).await;
    assert_error(response, StatusCode::FORBIDDEN, "not_participant").await;
    let response =
        server.post(&format!("/api/chat/rooms/{}/join", lobby["id"]), Some(&outsider), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let public: Value = server.get("/api/chat/rooms/public", Some(&outsider)).await.json().await.unwrap();
    let ids: Vec<&Value> = public["rooms"].as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&lobby["id"]]);

    // A non-public group room does not reveal that it exists.
    for path in ["", "/messages", "/participants"] {
        let response = server.get(&format!("/api/chat/rooms/{}{path}", team["id"]), Some(&outsider)).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let response =
        server.post(&format!("/api/chat/rooms/{}/join", team["id"]), Some(&outsider), json!({})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = server
        .post(&format!("/api/chat/rooms/{}/messages", team["id"]), Some(&outsider), json!({"content": "hi"}))
        .await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn owners_add_people_to_group_rooms_and_members_cannot() {
    let server = TestServer::start().await;
    let (owner, _) = server.register("owner2").await;
    let (member, member_user) = server.register("member2").await;
    let (third, third_user) = server.register("third2").await;
    let team = server
        .create_room(&owner, json!({"name": "Team", "type": "group", "participant_ids": [member_user["id"]]}))
        .await;
    assert_eq!(team["participant_count"], 2);
    let path = format!("/api/chat/rooms/{}/participants", team["id"]);
    let response = server.post(&path, Some(&member), json!({"user_ids": [third_user["id"]]})).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = server.post(&path, Some(&owner), json!({"user_ids": [999_999]})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_user").await;
    let response = server.post(&path, Some(&owner), json!({"user_ids": [third_user["id"]]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = response.json().await.unwrap();
    let roles: Vec<(&str, &str)> = list["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["user"]["username"].as_str().unwrap(), p["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("owner2", "owner"), ("member2", "member"), ("third2", "member")]);
    assert_eq!(list["participants"][2]["presence"]["status"], "offline");
    assert_eq!(server.send(&third, &team["id"], "hello team").await["content"], "hello team");

    // The owner removes a member, who then loses access; a member cannot remove the owner.
    let response = server.delete(&format!("{path}/{}", json!(team["created_by"])), &member, None).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = server.delete(&format!("{path}/{}", third_user["id"]), &owner, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = server.get(&format!("/api/chat/rooms/{}/messages", team["id"]), Some(&third)).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    // Joins, additions and removals are recorded as system messages.
    let history = server.history(&owner, &team["id"], "").await;
    let system: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "system")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(system, ["owner2 added third2", "owner2 removed third2"]);
    assert!(
        history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["type"] == "system")
            .all(|m| m["sender"].is_null())
    );
}

#[tokio::test]
async fn direct_messages_are_one_room_per_pair() {
    let server = TestServer::start().await;
    let (ann, ann_user) = server.register("ann").await;
    let (ben, ben_user) = server.register("ben").await;
    let (cat, _) = server.register("cat").await;
    let dm = server.create_room(&ann, json!({"type": "private", "participant_ids": [ben_user["id"]]})).await;
    assert_eq!(dm["is_direct"], true);
    assert_eq!(dm["is_public"], false);
    // Ben opening a DM with Ann gets the same room, answered 200.
    let response = server
        .post("/api/chat/rooms", Some(&ben), json!({"type": "private", "participant_ids": [ann_user["id"]]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let again: Value = response.json().await.unwrap();
    assert_eq!(again["id"], dm["id"]);
    server.send(&ben, &dm["id"], "hi ann").await;
    let list: Value = server.get("/api/chat/rooms", Some(&ann)).await.json().await.unwrap();
    assert_eq!(list["rooms"][0]["direct_with"]["username"], "ben");
    assert_eq!(list["rooms"][0]["unread_count"], 1);
    assert_eq!(list["rooms"][0]["last_message"]["content"], "hi ann");
    // Nobody else can see it, join it or be added to it.
    let response = server.post(&format!("/api/chat/rooms/{}/join", dm["id"]), Some(&cat), json!({})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = server
        .post(&format!("/api/chat/rooms/{}/participants", dm["id"]), Some(&ann), json!({"user_ids": [3]}))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = server
        .post(
            "/api/chat/rooms",
            Some(&ann),
            json!({"type": "private", "is_public": true, "participant_ids": [ben_user["id"]]}),
        )
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
}

#[tokio::test]
async fn support_rooms_include_the_requester_and_every_admin() {
    let server = TestServer::start().await;
    let (admin, _) = server.create_admin("helpdesk").await;
    let (user, _) = server.register("needshelp").await;
    let (other, _) = server.register("nosy").await;
    let room = server.create_room(&user, json!({"type": "support"})).await;
    assert_eq!(room["name"], "Support: needshelp");
    // The admin has it in their list already and can write there.
    let list: Value = server.get("/api/chat/rooms", Some(&admin)).await.json().await.unwrap();
    assert_eq!(list["rooms"][0]["id"], room["id"]);
    assert_eq!(list["rooms"][0]["my_role"], "moderator");
    server.send(&admin, &room["id"], "How can we help?").await;
    // Another user can neither see nor join it.
    let response =
        server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(&other), json!({})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    // Admins added later can join it.
    let (late_admin, _) = server.create_admin("helpdesk2").await;
    let response =
        server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(&late_admin), json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn event_rooms_are_created_with_events_and_open_to_attendees() {
    let server = TestServer::start().await;
    let (organizer, _) = server.register("organizer").await;
    let (attendee, _) = server.register("attendee").await;
    let event: Value = server
        .post(
            "/api/events",
            Some(&organizer),
            json!({"title": "RustConf", "starts_at": "2026-12-01T10:00:00Z"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let rooms: Value = server
        .get(&format!("/api/chat/events/{}/rooms", event["id"]), Some(&attendee))
        .await
        .json()
        .await
        .unwrap();
    let room = rooms["rooms"][0].clone();
    assert_eq!(room["type"], "event");
    assert_eq!(room["name"], "RustConf");
    assert_eq!(room["event_id"], event["id"]);
    let list: Value = server.get("/api/chat/rooms", Some(&organizer)).await.json().await.unwrap();
    assert_eq!(list["rooms"][0]["my_role"], "owner");

    let join = format!("/api/chat/rooms/{}/join", room["id"]);
    assert_error(server.post(&join, Some(&attendee), json!({})).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    expect_ok(
        server.post(&format!("/api/events/{}/register", event["id"]), Some(&attendee), json!({})).await,
    )
    .await;
    assert_eq!(server.post(&join, Some(&attendee), json!({})).await.status(), StatusCode::OK);

    // Event updates: the organizer may post them, an attendee may not.
    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    let response =
        server.post(&path, Some(&attendee), json!({"type": "event_update", "content": "Moved!"})).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response = server
        .post(&path, Some(&organizer), json!({"type": "event_update", "content": "Doors open at 9"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Event rooms cannot be made by hand, nor attached to someone else's event.
    let response =
        server.post("/api/chat/rooms", Some(&organizer), json!({"name": "x", "type": "event"})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_room_type").await;
    let response = server
        .post(
            "/api/chat/rooms",
            Some(&attendee),
            json!({"name": "x", "type": "group", "event_id": event["id"]}),
        )
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(
        server.get("/api/chat/events/999/rooms", Some(&attendee)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn settings_are_changed_by_the_owner_only_and_announced() {
    let server = TestServer::start().await;
    let (owner, _) = server.register("owner3").await;
    let (member, _) = server.register("member3").await;
    let room = server.create_room(&owner, json!({"name": "Lobby", "type": "general"})).await;
    expect_ok(server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(&member), json!({})).await)
        .await;
    let path = format!("/api/chat/rooms/{}", room["id"]);
    assert_error(
        server.patch(&path, &member, json!({"name": "Mine"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A patch that names no setting changes nothing and answers the room as it is.
    let mut unchanged: Value = expect_ok(server.patch(&path, &owner, json!({})).await).await;
    let mut before = room.clone();
    // (The member's join since creation is the only difference.)
    assert_eq!(
        (unchanged["participant_count"].take(), before["participant_count"].take()),
        (json!(2), json!(1))
    );
    assert_eq!(unchanged, before);
    assert_error(
        server.patch(&path, &owner, json!({"name": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    let response = server.patch(&path, &owner, json!({"name": "Main hall", "allow_files": false})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(
        (updated["name"].as_str(), updated["allow_files"].as_bool()),
        (Some("Main hall"), Some(false))
    );
    let history = server.history(&member, &room["id"], "").await;
    let last = history["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "system");
    assert_eq!(last["content"], "owner3 changed the room's settings: allow files, name");
}

#[tokio::test]
async fn unread_and_mention_counts_follow_the_read_marker() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice4").await;
    let (bob, _) = server.register("bob4").await;
    let room = server.create_room(&alice, json!({"name": "Lobby", "type": "general"})).await;
    expect_ok(server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(&bob), json!({})).await)
        .await;
    server.send(&alice, &room["id"], "one").await;
    server.send(&alice, &room["id"], "two for @bob4").await;
    let third = server.send(&alice, &room["id"], "three").await;
    server.send(&bob, &room["id"], "my own message does not count").await;
    let counts = |list: &Value| {
        (list["rooms"][0]["unread_count"].as_i64(), list["rooms"][0]["mention_count"].as_i64())
    };
    let list: Value = server.get("/api/chat/rooms", Some(&bob)).await.json().await.unwrap();
    assert_eq!(counts(&list), (Some(3), Some(1)));
    let alice_list: Value = server.get("/api/chat/rooms", Some(&alice)).await.json().await.unwrap();
    assert_eq!(counts(&alice_list), (Some(1), Some(0)));

    let read = format!("/api/chat/rooms/{}/read", room["id"]);
    let response = server.post(&read, Some(&bob), json!({"message_id": third["id"]})).await;
    let state: Value = response.json().await.unwrap();
    assert_eq!((state["unread_count"].as_i64(), state["mention_count"].as_i64()), (Some(0), Some(0)));
    assert_eq!(state["last_read_message_id"], third["id"]);
    let list: Value = server.get("/api/chat/rooms", Some(&bob)).await.json().await.unwrap();
    assert_eq!(counts(&list), (Some(0), Some(0)));
    let response = server.post(&read, Some(&bob), json!({"message_id": 999_999})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let elsewhere = server.create_room(&bob, json!({"name": "Elsewhere", "type": "general"})).await;
    let foreign = server.send(&bob, &elsewhere["id"], "not in the lobby").await;
    let response = server.post(&read, Some(&bob), json!({"message_id": foreign["id"]})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn mention_notifications_respect_preferences() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice5").await;
    let (bob, _) = server.register("bob5").await;
    let (carol, _) = server.register("carol5").await;
    let room = server.create_room(&alice, json!({"name": "Lobby", "type": "general"})).await;
    for token in [&bob, &carol] {
        expect_ok(server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(token), json!({})).await)
            .await;
    }
    let prefs = format!("/api/chat/rooms/{}/preferences", room["id"]);
    let response = server.put(&prefs, &carol, json!({"notifications": "none", "sound": false})).await;
    let saved: Value = response.json().await.unwrap();
    assert_eq!((saved["notifications"].as_str(), saved["sound"].as_bool()), (Some("none"), Some(false)));
    let read: Value = server.get(&prefs, Some(&carol)).await.json().await.unwrap();
    assert_eq!(read, saved, "GET answers what PUT saved");
    let bobs: Value = server.get(&prefs, Some(&bob)).await.json().await.unwrap();
    assert_eq!(
        (bobs["notifications"].as_str(), bobs["sound"].as_bool()),
        (Some("all"), Some(true)),
        "{bobs}"
    );
    assert_error(
        server.put(&prefs, &carol, json!({"notifications": "loud"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    )
    .await;

    let message = server.send(&alice, &room["id"], "@bob5 and @carol5 and @nobody5, see this").await;
    let mentioned: Vec<&str> =
        message["mentions"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(mentioned, ["bob5", "carol5"]);
    let bob_notes: Value = server.get("/api/chat/notifications", Some(&bob)).await.json().await.unwrap();
    assert_eq!(bob_notes["notifications"][0]["kind"], "mention");
    assert_eq!(bob_notes["notifications"][0]["message_id"], message["id"]);
    assert_eq!(bob_notes["notifications"][0]["actor"]["username"], "alice5");
    let carol_notes: Value = server.get("/api/chat/notifications", Some(&carol)).await.json().await.unwrap();
    assert_eq!(carol_notes["notifications"], json!([]));

    let response = server.post("/api/chat/notifications/read", Some(&bob), json!({})).await;
    assert_eq!(response.json::<Value>().await.unwrap()["marked"], 1);
    let unread: Value =
        server.get("/api/chat/notifications?unread_only=true", Some(&bob)).await.json().await.unwrap();
    assert_eq!(unread["notifications"], json!([]));
}

/// Admins (support staff) read and moderate any room without becoming participants,
/// and each such read is in the room's moderation log, which only moderators read.
#[tokio::test]
async fn admins_read_any_room_unlisted_and_every_read_is_logged() {
    let server = TestServer::start().await;
    let (admin, admin_user) = server.create_admin("support9").await;
    let (ann, _) = server.register("ann9").await;
    let (ben, ben_user) = server.register("ben9").await;
    let group = server
        .create_room(&ann, json!({"type": "group", "name": "Secret", "participant_ids": [ben_user["id"]]}))
        .await;
    let dm = server.create_room(&ann, json!({"type": "private", "participant_ids": [ben_user["id"]]})).await;
    let said = server.send(&ann, &group["id"], "between us").await;
    server.send(&ben, &dm["id"], "psst").await;

    for room in [&group, &dm] {
        let response = server.get(&format!("/api/chat/rooms/{}", room["id"]), Some(&admin)).await;
        assert_eq!(response.status(), StatusCode::OK, "admin sees room {}", room["id"]);
        assert_ne!(contents(&server.history(&admin, &room["id"], "").await), Vec::<String>::new());
        let listed = expect_ok(
            server.get(&format!("/api/chat/rooms/{}/participants", room["id"]), Some(&admin)).await,
        )
        .await;
        let ids: Vec<&Value> =
            listed["participants"].as_array().unwrap().iter().map(|p| &p["user"]["id"]).collect();
        assert!(!ids.contains(&&admin_user["id"]), "admin became a participant: {listed}");
    }
    // Moderating: the admin deletes a message in the group.
    let deleted = server.delete(&format!("/api/chat/messages/{}/delete", said["id"]), &admin, None).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let rooms: Value = server.get("/api/chat/rooms", Some(&admin)).await.json().await.unwrap();
    assert_eq!(rooms["rooms"], json!([]), "the admin's own room list stays empty");

    // The log: the owner reads it, a member may not.
    let path = format!("/api/chat/rooms/{}/moderation-log", group["id"]);
    let log = expect_ok(server.get(&path, Some(&ann)).await).await;
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["delete_message", "admin_access", "admin_access"], "newest first: {log}");
    assert!(entries.iter().all(|e| e["actor"]["id"] == admin_user["id"]), "{log}");
    assert_eq!((&entries[0]["message_id"], &entries[0]["target"]["username"]), (&said["id"], &json!("ann9")));
    assert_eq!(log["has_more"], false);
    let page = expect_ok(server.get(&format!("{path}?limit=1"), Some(&ann)).await).await;
    assert_eq!((page["entries"].as_array().unwrap().len(), &page["has_more"]), (1, &json!(true)));
    let older =
        expect_ok(server.get(&format!("{path}?before={}", page["entries"][0]["id"]), Some(&ann)).await).await;
    assert_eq!(older["entries"][0]["id"], entries[1]["id"]);
    // A sender deleting their own message is not moderation.
    let own = server.send(&ann, &group["id"], "oops").await;
    expect_ok(server.delete(&format!("/api/chat/messages/{}/delete", own["id"]), &ann, None).await).await;
    let after = expect_ok(server.get(&path, Some(&ann)).await).await;
    assert_eq!(after["entries"].as_array().unwrap().len(), 3);
    assert_error(server.get(&path, Some(&ben)).await, StatusCode::FORBIDDEN, "forbidden").await;
}

/// A direct message's default name is cut to the name limit: two long display names
/// still make (and reopen) a DM.
#[tokio::test]
async fn direct_messages_between_long_display_names() {
    let server = TestServer::start().await;
    let long = "x".repeat(64);
    let mut tokens = Vec::new();
    for name in ["longa", "longb"] {
        let body = json!({"username": name, "password": common::PASSWORD, "display_name": long});
        let session = expect_ok(server.post("/api/auth/register", None, body).await).await;
        tokens.push((session["token"].as_str().unwrap().to_owned(), session["user"]["id"].clone()));
    }
    let body = json!({"type": "private", "participant_ids": [tokens[1].1]});
    let response = server.post("/api/chat/rooms", Some(&tokens[0].0), body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let dm: Value = response.json().await.unwrap();
    assert_eq!(dm["name"].as_str().unwrap().chars().count(), 100);
    let again = server
        .post(
            "/api/chat/rooms",
            Some(&tokens[1].0),
            json!({"type": "private", "participant_ids": [tokens[0].1]}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
}

/// The count is kept by the database as people come and go (joining, being added,
/// leaving, being kicked), not counted on each read.
#[tokio::test]
async fn participant_count_follows_every_way_in_and_out() {
    let server = TestServer::start().await;
    let (owner, _) = server.register("counter_owner").await;
    let (member, member_user) = server.register("counter_member").await;
    let (walker, _) = server.register("counter_walker").await;
    let (added, added_user) = server.register("counter_added").await;
    let room =
        server.create_room(&owner, json!({"name": "Counted", "type": "group", "is_public": true})).await;
    assert_eq!(room["participant_count"], 1);
    let base = format!("/api/chat/rooms/{}", room["id"]);
    let count = || async {
        let response = server.get(&base, Some(&owner)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["participant_count"].as_i64().unwrap()
    };
    for token in [&member, &walker] {
        assert_eq!(
            server.post(&format!("{base}/join"), Some(token), json!({})).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(count().await, 3);
    let response = server
        .post(&format!("{base}/participants"), Some(&owner), json!({"user_ids": [added_user["id"]]}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(count().await, 4);
    // Joining again changes nothing.
    assert_eq!(server.post(&format!("{base}/join"), Some(&added), json!({})).await.status(), StatusCode::OK);
    assert_eq!(count().await, 4);
    assert_eq!(
        server.post(&format!("{base}/leave"), Some(&walker), json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(count().await, 3);
    let response =
        server.post(&format!("{base}/kick"), Some(&owner), json!({"user_id": member_user["id"]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(count().await, 2);
}
