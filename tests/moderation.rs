//! Moderation over HTTP: mutes and the moderation log.

mod common;

use std::time::Duration;

use common::{Options, TestServer, assert_error, expect_ok, now_ms};
use eventsync_chat::clock::ManualClock;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_muted_member_reads_but_cannot_post_react_or_vote_until_the_mute_ends() {
    let clock = ManualClock::starting_at(now_ms());
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    let (owner, owner_user) = server.register("olga").await;
    let (member, member_user) = server.register("mick").await;
    let room = server.create_room(&owner, json!({"type": "general", "name": "Stage"})).await;
    expect_ok(server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(&member), json!({})).await)
        .await;
    let poll = expect_ok(
        server
            .post(
                &format!("/api/chat/rooms/{}/messages", room["id"]),
                Some(&owner),
                json!({"type": "poll", "poll": {"question": "Q?", "options": ["a", "b"]}}),
            )
            .await,
    )
    .await;

    // Members may not mute; nobody mutes the owner.
    let mute = format!("/api/chat/rooms/{}/mute", room["id"]);
    let response = server.post(&mute, Some(&member), json!({"user_id": owner_user["id"]})).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    // A mute that would end before it began is refused, not logged.
    let zero = json!({"user_id": member_user["id"], "duration_seconds": 0});
    assert_error(
        server.post(&mute, Some(&owner), zero).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_duration",
    )
    .await;
    let body = json!({"user_id": member_user["id"], "duration_seconds": 60, "reason": "calm down"});
    let notice = expect_ok(server.post(&mute, Some(&owner), body).await).await;
    assert_eq!((&notice["user"]["id"], &notice["reason"]), (&member_user["id"], &json!("calm down")));
    assert!(notice["until"].is_string(), "{notice}");

    let path = format!("/api/chat/rooms/{}/messages", room["id"]);
    assert_error(
        server.post(&path, Some(&member), json!({"content": "hey"})).await,
        StatusCode::FORBIDDEN,
        "muted",
    )
    .await;
    let react = format!("/api/chat/messages/{}/react", poll["id"]);
    assert_error(
        server.post(&react, Some(&member), json!({"emoji": "👍"})).await,
        StatusCode::FORBIDDEN,
        "muted",
    )
    .await;
    let vote = format!("/api/chat/messages/{}/vote", poll["id"]);
    assert_error(
        server.post(&vote, Some(&member), json!({"options": [0]})).await,
        StatusCode::FORBIDDEN,
        "muted",
    )
    .await;
    // Reading still works, and the mute is announced in the room.
    let history = server.history(&member, &room["id"], "").await;
    let last = history["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"], "olga muted mick");

    // The mute runs out on the clock.
    clock.advance(Duration::from_secs(61));
    expect_ok(server.post(&path, Some(&member), json!({"content": "back"})).await).await;

    // Logged with reason and duration, newest first.
    let log: Value =
        expect_ok(server.get(&format!("/api/chat/rooms/{}/moderation-log", room["id"]), Some(&owner)).await)
            .await;
    let entry = &log["entries"][0];
    assert_eq!(
        (&entry["action"], &entry["reason"], &entry["duration_seconds"]),
        (&json!("mute"), &json!("calm down"), &json!(60))
    );
    assert_eq!(entry["target"]["id"], member_user["id"]);

    // Unmute: logged too; unmuting someone not in the room is 404.
    let unmute = format!("/api/chat/rooms/{}/unmute", room["id"]);
    expect_ok(server.post(&unmute, Some(&owner), json!({"user_id": member_user["id"]})).await).await;
    assert_error(
        server.post(&unmute, Some(&owner), json!({"user_id": 999_999})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn kicks_remove_bans_keep_out_until_they_end_and_the_log_says_why() {
    let clock = ManualClock::starting_at(now_ms());
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    let (owner, _) = server.register("kora").await;
    let (member, member_user) = server.register("kip").await;
    let (admin, admin_user) = server.create_admin("kadmin").await;
    let room = server.create_room(&owner, json!({"type": "general", "name": "Hall"})).await;
    let join = format!("/api/chat/rooms/{}/join", room["id"]);
    expect_ok(server.post(&join, Some(&member), json!({})).await).await;
    let participants = |token: String| {
        let path = format!("/api/chat/rooms/{}/participants", room["id"]);
        let server = &server;
        async move {
            let list = expect_ok(server.get(&path, Some(&token)).await).await;
            list["participants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["user"]["username"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };

    // A kick removes; a public room may be joined again.
    let kick = format!("/api/chat/rooms/{}/kick", room["id"]);
    assert_error(
        server.post(&kick, Some(&member), json!({"user_id": member_user["id"]})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let kicked = expect_ok(
        server.post(&kick, Some(&owner), json!({"user_id": member_user["id"], "reason": "spam"})).await,
    )
    .await;
    assert_eq!(kicked["reason"], "spam");
    assert!(!participants(owner.clone()).await.contains(&"kip".to_owned()));
    expect_ok(server.post(&join, Some(&member), json!({})).await).await;

    // A ban removes and keeps out until it ends, telling when.
    let ban = format!("/api/chat/rooms/{}/ban", room["id"]);
    let banned = expect_ok(
        server
            .post(&ban, Some(&owner), json!({"user_id": member_user["id"], "duration_seconds": 3600}))
            .await,
    )
    .await;
    assert!(banned["until"].is_string());
    assert!(!participants(owner.clone()).await.contains(&"kip".to_owned()));
    let message =
        assert_error(server.post(&join, Some(&member), json!({})).await, StatusCode::FORBIDDEN, "banned")
            .await;
    assert!(message.contains("until"), "{message}");
    let bans =
        expect_ok(server.get(&format!("/api/chat/rooms/{}/bans", room["id"]), Some(&owner)).await).await;
    assert_eq!(bans["bans"][0]["user"]["id"], member_user["id"]);
    clock.advance(Duration::from_secs(3601));
    expect_ok(server.post(&join, Some(&member), json!({})).await).await;

    // Banned until unbanned; admins and owners cannot be banned.
    expect_ok(server.post(&ban, Some(&owner), json!({"user_id": member_user["id"]})).await).await;
    clock.advance(Duration::from_secs(10 * 24 * 3600));
    assert_error(server.post(&join, Some(&member), json!({})).await, StatusCode::FORBIDDEN, "banned").await;
    assert_error(
        server.post(&ban, Some(&owner), json!({"user_id": admin_user["id"]})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let unban = format!("/api/chat/rooms/{}/unban", room["id"]);
    expect_ok(server.post(&unban, Some(&admin), json!({"user_id": member_user["id"]})).await).await;
    assert_error(
        server.post(&unban, Some(&owner), json!({"user_id": member_user["id"]})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_ok(server.post(&join, Some(&member), json!({})).await).await;

    let log =
        expect_ok(server.get(&format!("/api/chat/rooms/{}/moderation-log", room["id"]), Some(&owner)).await)
            .await;
    let actions: Vec<&str> =
        log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["unban", "ban", "ban", "kick"], "{log}");
}

/// Each permission allows exactly its action: a moderator granted one permission may do
/// that and is refused every other.
#[tokio::test]
async fn each_permission_allows_exactly_its_action() {
    let mut options = Options::default();
    options.limits.rate_limit_register_per_ip = 1000;
    let server = TestServer::start_with(options).await;
    let (owner, _) = server.register("pam").await;
    let actions = ["delete_messages", "mute", "manage_room", "manage_moderators", "kick", "ban"];
    for (n, granted) in actions.iter().enumerate() {
        let (moderator, mod_user) = server.register(&format!("mod{n}")).await;
        let (member, member_user) = server.register(&format!("mem{n}")).await;
        let (_, other_user) = server.register(&format!("oth{n}")).await;
        let room = server
            .create_room(
                &owner,
                json!({"type": "group", "name": format!("Room {n}"), "participant_ids": [mod_user["id"], member_user["id"], other_user["id"]]}),
            )
            .await;
        let base = format!("/api/chat/rooms/{}", room["id"]);
        let grant = format!("{base}/moderators/{}", mod_user["id"]);
        let granted_ok = expect_ok(server.put(&grant, &owner, json!({"permissions": [granted]})).await).await;
        assert_eq!(granted_ok["permissions"], json!([granted]));
        let message = server.send(&member, &room["id"], "spam").await;

        let attempts = [
            (
                "delete_messages",
                server
                    .delete(&format!("/api/chat/messages/{}/delete", message["id"]), &moderator, None)
                    .await,
            ),
            (
                "mute",
                server
                    .post(&format!("{base}/mute"), Some(&moderator), json!({"user_id": member_user["id"]}))
                    .await,
            ),
            ("manage_room", server.patch(&base, &moderator, json!({"description": "changed"})).await),
            (
                "manage_moderators",
                server
                    .put(
                        &format!("{base}/moderators/{}", other_user["id"]),
                        &moderator,
                        json!({"permissions": [granted]}),
                    )
                    .await,
            ),
            (
                "kick",
                server
                    .post(&format!("{base}/kick"), Some(&moderator), json!({"user_id": member_user["id"]}))
                    .await,
            ),
            (
                "ban",
                server
                    .post(&format!("{base}/ban"), Some(&moderator), json!({"user_id": other_user["id"]}))
                    .await,
            ),
        ];
        for (action, response) in attempts {
            if action == *granted {
                let status = response.status();
                assert!(
                    status.is_success(),
                    "{granted} moderator doing {action}: {status} {}",
                    response.text().await.unwrap()
                );
            } else {
                assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
            }
        }
    }
    // A moderator cannot grant what they lack, nor act on a moderator holding more.
    let (limited, limited_user) = server.register("lim").await;
    let (strong, strong_user) = server.register("str").await;
    let room = server
        .create_room(&owner, json!({"type": "group", "name": "Lim", "participant_ids": [limited_user["id"], strong_user["id"]]}))
        .await;
    let base = format!("/api/chat/rooms/{}", room["id"]);
    expect_ok(
        server
            .put(
                &format!("{base}/moderators/{}", limited_user["id"]),
                &owner,
                json!({"permissions": ["manage_moderators", "mute"]}),
            )
            .await,
    )
    .await;
    expect_ok(
        server
            .put(
                &format!("{base}/moderators/{}", strong_user["id"]),
                &owner,
                json!({"permissions": ["mute", "ban"]}),
            )
            .await,
    )
    .await;
    let response = server
        .put(&format!("{base}/moderators/{}", strong_user["id"]), &limited, json!({"permissions": ["ban"]}))
        .await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let response =
        server.post(&format!("{base}/mute"), Some(&limited), json!({"user_id": strong_user["id"]})).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    let list = expect_ok(server.get(&format!("{base}/moderators"), Some(&strong)).await).await;
    assert_eq!(list["moderators"].as_array().unwrap().len(), 3, "{list}");
    expect_ok(server.delete(&format!("{base}/moderators/{}", strong_user["id"]), &owner, None).await).await;
    let list = expect_ok(server.get(&format!("{base}/moderators"), Some(&strong)).await).await;
    assert_eq!(list["moderators"].as_array().unwrap().len(), 2, "{list}");
}

#[tokio::test]
async fn slow_mode_flood_control_and_announcement_rooms_pace_members_not_moderators() {
    let clock = ManualClock::starting_at(now_ms());
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    let (owner, _) = server.register("sia").await;
    let (member, _) = server.register("sam").await;
    let room = server.create_room(&owner, json!({"type": "general", "name": "Keynote"})).await;
    let base = format!("/api/chat/rooms/{}", room["id"]);
    expect_ok(server.post(&format!("{base}/join"), Some(&member), json!({})).await).await;
    let post = |token: &str, text: &str| {
        let (path, body, token) = (format!("{base}/messages"), json!({"content": text}), token.to_owned());
        let server = &server;
        async move { server.post(&path, Some(&token), body).await }
    };

    // Slow mode: one post per 30 s for members, none for the owner; the refusal says when.
    let updated = expect_ok(server.patch(&base, &owner, json!({"slow_mode_seconds": 30})).await).await;
    assert_eq!(updated["slow_mode_seconds"], 30);
    expect_ok(post(&member, "first").await).await;
    let refused = post(&member, "second").await;
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    for _ in 0..3 {
        expect_ok(post(&owner, "owner is exempt").await).await;
    }
    clock.advance(Duration::from_secs(30));
    expect_ok(post(&member, "second, later").await).await;
    let response = server.patch(&base, &owner, json!({"slow_mode_seconds": 86401})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;

    // Flood control, with moderation on: 5 posts per 10 s, then rate_limited.
    expect_ok(server.patch(&base, &owner, json!({"slow_mode_seconds": 0, "moderation_enabled": true})).await)
        .await;
    clock.advance(Duration::from_secs(60));
    for n in 0..5 {
        expect_ok(post(&member, &format!("flood {n}")).await).await;
    }
    assert_error(post(&member, "one too many").await, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    clock.advance(Duration::from_secs(10));
    expect_ok(post(&member, "after the window").await).await;

    // Announcement-only: members read, moderators post.
    expect_ok(
        server.patch(&base, &owner, json!({"posting": "moderators", "moderation_enabled": false})).await,
    )
    .await;
    assert_error(post(&member, "can I?").await, StatusCode::FORBIDDEN, "posting_restricted").await;
    expect_ok(post(&owner, "Doors open at 9").await).await;
    let response = server.patch(&base, &owner, json!({"posting": "nobody"})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
}

/// An event's organizer bans a user from every room of the event, including a room
/// created afterwards; each room's log records it; lifting it lets them back in.
#[tokio::test]
async fn event_wide_bans_cover_rooms_created_later() {
    let server = TestServer::start().await;
    let (organizer, _) = server.register("orga").await;
    let (attendee, attendee_user) = server.register("atte").await;
    let (stranger, _) = server.register("stra").await;
    let event = expect_ok(
        server
            .post(
                "/api/events",
                Some(&organizer),
                json!({"title": "Conf", "starts_at": "2026-12-01T18:00:00Z"}),
            )
            .await,
    )
    .await;
    expect_ok(
        server.post(&format!("/api/events/{}/register", event["id"]), Some(&attendee), json!({})).await,
    )
    .await;
    let rooms =
        expect_ok(server.get(&format!("/api/chat/events/{}/rooms", event["id"]), Some(&organizer)).await)
            .await;
    let event_room = rooms["rooms"][0]["id"].clone();
    expect_ok(server.post(&format!("/api/chat/rooms/{event_room}/join"), Some(&attendee), json!({})).await)
        .await;

    let ban = format!("/api/events/{}/ban", event["id"]);
    let body = json!({"user_id": attendee_user["id"], "reason": "harassment"});
    assert_error(server.post(&ban, Some(&stranger), body.clone()).await, StatusCode::FORBIDDEN, "forbidden")
        .await;
    expect_ok(server.post(&ban, Some(&organizer), body).await).await;
    let message = assert_error(
        server.post(&format!("/api/chat/rooms/{event_room}/join"), Some(&attendee), json!({})).await,
        StatusCode::FORBIDDEN,
        "banned",
    )
    .await;
    assert!(message.contains("banned"), "{message}");

    // A public room of the event made after the ban keeps them out too.
    let later = server
        .create_room(&organizer, json!({"type": "general", "name": "Hallway", "event_id": event["id"]}))
        .await;
    let join_later = format!("/api/chat/rooms/{}/join", later["id"]);
    assert_error(server.post(&join_later, Some(&attendee), json!({})).await, StatusCode::FORBIDDEN, "banned")
        .await;
    let log = expect_ok(
        server.get(&format!("/api/chat/rooms/{event_room}/moderation-log"), Some(&organizer)).await,
    )
    .await;
    assert_eq!(
        (&log["entries"][0]["action"], &log["entries"][0]["reason"]),
        (&json!("ban"), &json!("harassment"))
    );
    let said = |room: Value| {
        let server = &server;
        let organizer = organizer.clone();
        async move {
            let history = server.history(&organizer, &room, "").await;
            history["messages"].as_array().unwrap().last().unwrap()["content"].clone()
        }
    };
    assert_eq!(said(event_room.clone()).await, "orga banned atte from the whole event");

    expect_ok(
        server
            .post(
                &format!("/api/events/{}/unban", event["id"]),
                Some(&organizer),
                json!({"user_id": attendee_user["id"]}),
            )
            .await,
    )
    .await;
    assert_eq!(said(event_room.clone()).await, "orga lifted atte's ban from the whole event");
    assert_eq!(said(later["id"].clone()).await, "orga lifted atte's ban from the whole event");
    expect_ok(server.post(&join_later, Some(&attendee), json!({})).await).await;
}

/// Blocked words fire only with moderation on, ignoring case, accents and width, in
/// both modes; the server's list and the room's both count.
#[tokio::test]
async fn blocked_words_reject_or_mask_only_with_moderation_on() {
    let mut options = Options::default();
    options.limits.blocked_words = vec!["darn".into()];
    let server = TestServer::start_with(options).await;
    let (owner, _) = server.register("wanda").await;
    let room = server.create_room(&owner, json!({"type": "general", "name": "Words"})).await;
    let base = format!("/api/chat/rooms/{}", room["id"]);
    let post = |text: &'static str| {
        let (path, token) = (format!("{base}/messages"), owner.clone());
        let server = &server;
        async move { server.post(&path, Some(&token), json!({"content": text})).await }
    };
    // Moderation off: nothing is filtered.
    expect_ok(post("darn it").await).await;
    let settings = json!({"moderation_enabled": true, "blocked_words": ["spoiler"]});
    let updated = expect_ok(server.patch(&base, &owner, settings).await).await;
    assert_eq!(updated["blocked_words"], json!(["spoiler"]));
    for text in ["DARN it", "Ｄａｒｎ", "a spöiler!"] {
        let message =
            assert_error(post(text).await, StatusCode::UNPROCESSABLE_ENTITY, "blocked_content").await;
        assert!(message.contains("darn") || message.contains("spoiler"), "{message}");
    }
    expect_ok(post("darned spoilers are fine: other words").await).await;
    expect_ok(server.patch(&base, &owner, json!({"filter_mode": "mask"})).await).await;
    let masked = expect_ok(post("no SPOILER, darn").await).await;
    assert_eq!(masked["content"], "no ***, ***");
    let response = server.patch(&base, &owner, json!({"blocked_words": ["two words"]})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
}

/// Moderators never act on the owner, the event's organizer or a moderator stronger than
/// they are, whether they mute or take someone out with `manage_room`; removals are
/// logged; the organizer moderates an event room an admin made as its owner would.
#[tokio::test]
async fn nobody_acts_on_owners_organizers_or_stronger_moderators_and_removals_are_logged() {
    let server = TestServer::start().await;
    let (owner, owner_user) = server.register("ottilie").await;
    let (moderator, moderator_user) = server.register("mona").await;
    let (strong, strong_user) = server.register("stella").await;
    let (victim, victim_user) = server.register("vince").await;
    let room = server.create_room(&owner, json!({"type": "general", "name": "Lobby"})).await;
    let base = format!("/api/chat/rooms/{}", room["id"]);
    for token in [&moderator, &strong, &victim] {
        expect_ok(server.post(&format!("{base}/join"), Some(token), json!({})).await).await;
    }
    let grant = |user: &Value, permissions: Value| {
        let path = format!("{base}/moderators/{}", user["id"]);
        let (server, owner) = (&server, owner.clone());
        async move { expect_ok(server.put(&path, &owner, json!({ "permissions": permissions })).await).await }
    };
    grant(&moderator_user, json!(["mute", "manage_room"])).await;
    grant(&strong_user, json!(["ban"])).await;

    let mute = format!("{base}/mute");
    let refused = server.post(&mute, Some(&moderator), json!({"user_id": owner_user["id"]})).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let refused = server.post(&mute, Some(&moderator), json!({"user_id": strong_user["id"]})).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    for target in [&owner_user, &strong_user] {
        let path = format!("{base}/participants/{}", target["id"]);
        assert_error(server.delete(&path, &moderator, None).await, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let path = format!("{base}/participants/{}", victim_user["id"]);
    let removed = server.delete(&path, &moderator, None).await;
    assert!(removed.status().is_success(), "{}", removed.status());
    let ids: Vec<Value> =
        expect_ok(server.get(&format!("{base}/participants"), Some(&owner)).await).await["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["user"]["id"].clone())
            .collect();
    assert!(!ids.contains(&victim_user["id"]), "{ids:?}");
    assert!(ids.contains(&strong_user["id"]) && ids.contains(&owner_user["id"]), "{ids:?}");
    let log = expect_ok(server.get(&format!("{base}/moderation-log"), Some(&owner)).await).await;
    assert_eq!(
        (&log["entries"][0]["action"], &log["entries"][0]["target"]["id"]),
        (&json!("remove_participant"), &victim_user["id"]),
        "{log}"
    );
    let last =
        server.history(&owner, &room["id"], "").await["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["content"], "mona removed vince");

    // An event room an admin made: the organizer is no participant's owner there, yet
    // moderates it, and nobody there moderates the organizer.
    let (admin, _) = server.create_admin("oadmin").await;
    let (organizer, organizer_user) = server.register("orla").await;
    let (attendee, attendee_user) = server.register("atticus").await;
    let event = expect_ok(
        server
            .post(
                "/api/events",
                Some(&organizer),
                json!({"title": "Summit", "starts_at": "2030-01-01T09:00:00Z"}),
            )
            .await,
    )
    .await;
    expect_ok(
        server.post(&format!("/api/events/{}/register", event["id"]), Some(&attendee), json!({})).await,
    )
    .await;
    let side = server
        .create_room(&admin, json!({"type": "general", "name": "Side stage", "event_id": event["id"]}))
        .await;
    let side_base = format!("/api/chat/rooms/{}", side["id"]);
    for token in [&organizer, &attendee] {
        expect_ok(server.post(&format!("{side_base}/join"), Some(token), json!({})).await).await;
    }
    expect_ok(
        server
            .post(&format!("{side_base}/mute"), Some(&organizer), json!({"user_id": attendee_user["id"]}))
            .await,
    )
    .await;
    let grant = format!("{side_base}/moderators/{}", attendee_user["id"]);
    expect_ok(server.put(&grant, &organizer, json!({"permissions": ["mute", "kick"]})).await).await;
    let refused = server
        .post(&format!("{side_base}/kick"), Some(&attendee), json!({"user_id": organizer_user["id"]}))
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
}

/// A ban and a mute say until when as a field, a refused post says how long to wait as
/// one, and a banned user cannot be added back.
#[tokio::test]
async fn refusals_carry_until_and_retry_after_and_bans_stop_re_adding() {
    let server = TestServer::start().await;
    let (owner, _) = server.register("bea").await;
    let (member, member_user) = server.register("boz").await;
    let room = server
        .create_room(&owner, json!({"type": "group", "name": "Crew", "participant_ids": [member_user["id"]]}))
        .await;
    let base = format!("/api/chat/rooms/{}", room["id"]);

    let muted = expect_ok(
        server
            .post(
                &format!("{base}/mute"),
                Some(&owner),
                json!({"user_id": member_user["id"], "duration_seconds": 600}),
            )
            .await,
    )
    .await;
    let refused = server.post(&format!("{base}/messages"), Some(&member), json!({"content": "hi"})).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        (&body["error"]["code"], &body["error"]["until"]),
        (&json!("muted"), &muted["until"]),
        "{body}"
    );
    expect_ok(
        server.post(&format!("{base}/unmute"), Some(&owner), json!({"user_id": member_user["id"]})).await,
    )
    .await;

    let banned = expect_ok(
        server
            .post(
                &format!("{base}/ban"),
                Some(&owner),
                json!({"user_id": member_user["id"], "duration_seconds": 3600}),
            )
            .await,
    )
    .await;
    let refused = server
        .post(&format!("{base}/participants"), Some(&owner), json!({"user_ids": [member_user["id"]]}))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        (&body["error"]["code"], &body["error"]["until"]),
        (&json!("banned"), &banned["until"]),
        "{body}"
    );
    let list = expect_ok(server.get(&format!("{base}/participants"), Some(&owner)).await).await;
    assert_eq!(list["participants"].as_array().unwrap().len(), 1, "{list}");

    // Slow mode: the refusal's body says how long to wait, as the header does.
    let open = server.create_room(&owner, json!({"type": "general", "name": "Open"})).await;
    let open_base = format!("/api/chat/rooms/{}", open["id"]);
    expect_ok(server.patch(&open_base, &owner, json!({"slow_mode_seconds": 30})).await).await;
    let (other, _) = server.register("bix").await;
    expect_ok(server.post(&format!("{open_base}/join"), Some(&other), json!({})).await).await;
    expect_ok(server.post(&format!("{open_base}/messages"), Some(&other), json!({"content": "one"})).await)
        .await;
    let refused =
        server.post(&format!("{open_base}/messages"), Some(&other), json!({"content": "two"})).await;
    let header: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let body: Value = refused.json().await.unwrap();
    assert_eq!(
        (&body["error"]["code"], body["error"]["retry_after"].as_u64()),
        (&json!("rate_limited"), Some(header))
    );
}

/// A mute that runs out on the clock is announced (`user_unmuted`) to the sockets of the
/// room and of the user, who may then send over their socket again.
#[tokio::test]
async fn a_mute_running_out_reaches_the_room_and_the_user_over_sockets() {
    use common::sio::Socket;

    let clock = ManualClock::starting_at(now_ms());
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    let (owner, _) = server.register("ursula").await;
    let (member, member_user) = server.register("umar").await;
    let room = server
        .create_room(&owner, json!({"type": "group", "name": "Crew", "participant_ids": [member_user["id"]]}))
        .await;
    let mut owner_socket = Socket::connect(server.addr, &owner).await;
    let mut member_socket = Socket::connect(server.addr, &member).await;
    let body = json!({"user_id": member_user["id"], "duration_seconds": 30});
    expect_ok(server.post(&format!("/api/chat/rooms/{}/mute", room["id"]), Some(&owner), body).await).await;
    let send = json!({"room_id": room["id"], "content": "let me talk"});
    let refused = member_socket.emit("send_chat_message", send.clone()).await;
    assert_eq!((&refused["ok"], &refused["error"]["code"]), (&json!(false), &json!("muted")), "{refused}");
    assert!(refused["error"]["until"].is_string(), "{refused}");

    let unmuted = |p: &Value| p["user"]["id"] == member_user["id"];
    let wait = Duration::from_millis(600);
    clock.advance(Duration::from_secs(29));
    assert!(member_socket.event_within("user_unmuted", wait, unmuted).await.is_none(), "unmuted early");
    clock.advance(Duration::from_secs(1));
    assert!(owner_socket.event_within("user_unmuted", Duration::from_secs(3), unmuted).await.is_some());
    assert!(member_socket.event_within("user_unmuted", Duration::from_secs(3), unmuted).await.is_some());
    let sent = member_socket.emit("send_chat_message", send).await;
    assert_eq!(sent["ok"], true, "{sent}");
}
