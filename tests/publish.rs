//! What the chat service publishes, and to whom: the service runs against a real store
//! with a recorder in place of Socket.IO, so each event's audience and subscription
//! change are asserted where they are decided.

use std::sync::Arc;

use eventsync_chat::auth::AuthUser;
use eventsync_chat::auth::accounts::{self, RegisterRequest};
use eventsync_chat::chat::publish::{Audience, ChatEvent, PresenceAudience, Recorder, Subscription};
use eventsync_chat::chat::{messages, rooms};
use eventsync_chat::clock::{SharedClock, SystemClock};
use eventsync_chat::config::{Limits, StorageArgs};
use eventsync_chat::domain::message::{SendMessage, Vote};
use eventsync_chat::domain::room::{CreateRoom, MarkRead};
use eventsync_chat::files::blobs::BlobStore;
use eventsync_chat::state::AppState;
use eventsync_chat::store::Store;
use serde_json::json;

async fn user(state: &AppState, name: &str) -> AuthUser {
    let request = RegisterRequest {
        username: name.into(),
        password: "correct horse battery".into(),
        display_name: None,
    };
    let session = accounts::register(state, request, [127, 0, 0, 1].into()).await.expect("register");
    accounts::authenticate(state, &session.token).await.expect("authenticate")
}

/// The chat service over a fresh store in `dir`, with a recorder in place of Socket.IO.
async fn service(dir: &tempfile::TempDir, clock: SharedClock, limits: Limits) -> (AppState, Arc<Recorder>) {
    let store = Store::open(&StorageArgs::embedded(dir.path()), 1).await.expect("store");
    let blobs = BlobStore::local(&dir.path().join("files")).expect("blob store");
    let recorder = Arc::new(Recorder::default());
    (AppState::new(store, blobs, clock, limits, recorder.clone()), recorder)
}

fn text(content: &str) -> SendMessage {
    serde_json::from_value(json!({"content": content})).expect("send body")
}

#[tokio::test]
async fn each_change_is_published_once_to_its_audience() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, recorder) = service(&dir, Arc::new(SystemClock), Limits::default()).await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let (alice_id, bob_id) = (alice.user.id, bob.user.id);

    // A room created with participants: everyone in it starts following it.
    let create: CreateRoom =
        serde_json::from_value(json!({"type": "group", "name": "Crew", "participant_ids": [bob_id]}))
            .unwrap();
    let (room, _) = rooms::create_room(&state, &alice, create).await.expect("create");
    let events = recorder.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].audience(), Audience::Room(room.id));
    assert_eq!(
        events[0].subscription(),
        Some(Subscription::Follow { room_id: room.id, user_ids: vec![alice_id, bob_id] })
    );

    // A message with a mention: the room hears the message, bob alone the notification.
    let (message, _) = messages::send_message(&state, &alice, room.id, text("hi @bob")).await.unwrap();
    let events = recorder.take();
    assert!(
        matches!(&events[..], [ChatEvent::MessageCreated(m), ChatEvent::Notification { .. }] if m.id == message.id)
    );
    assert_eq!(events[0].audience(), Audience::Room(room.id));
    assert_eq!(events[1].audience(), Audience::User(bob_id));
    // Broadcast forms carry nothing personal.
    let ChatEvent::MessageCreated(broadcast) = &events[0] else { unreachable!() };
    assert!(broadcast.reactions.iter().all(|r| r.me.is_none()));

    // Reading is told to the reader's own sockets only.
    rooms::mark_read(&state, &bob, room.id, MarkRead { message_id: message.id }).await.unwrap();
    let events = recorder.take();
    assert_eq!(events.iter().map(ChatEvent::audience).collect::<Vec<_>>(), [Audience::User(bob_id)]);

    // A failed change publishes nothing.
    let vote = Vote { options: vec![0] };
    assert_eq!(messages::vote(&state, &bob, message.id, vote).await.unwrap_err().code(), "not_a_poll");
    assert!(recorder.take().is_empty());

    // Leaving: the system message, then the leave, after which bob's sockets stop following.
    rooms::leave_room(&state, &bob, room.id).await.unwrap();
    let events = recorder.take();
    assert!(
        matches!(&events[..], [ChatEvent::MessageCreated(m), ChatEvent::UserLeft { .. }] if m.sender.is_none())
    );
    assert_eq!(events[1].subscription(), Some(Subscription::Unfollow { room_id: room.id, user_id: bob_id }));
}

/// Presence and typing time rules run on the injectable clock: no test sleeps.
#[tokio::test]
async fn presence_grace_and_typing_expiry_follow_the_clock() {
    use eventsync_chat::chat::{presence, typing};
    use eventsync_chat::clock::ManualClock;
    use eventsync_chat::domain::presence::PresenceStatus;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::starting_at(1_000_000);
    let limits = Limits { presence_grace_seconds: 5, typing_timeout_seconds: 6, ..Limits::default() };
    let (state, recorder) = service(&dir, Arc::new(clock.clone()), limits).await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let create: CreateRoom =
        serde_json::from_value(json!({"type": "group", "name": "Crew", "participant_ids": [bob.user.id]}))
            .unwrap();
    let (room, _) = rooms::create_room(&state, &alice, create).await.expect("create");
    recorder.take();

    // Two sockets: online once, still online after one closes and through the grace period.
    let alices_rooms = state.store.room_ids_of_user(alice.user.id).await.unwrap();
    presence::connected(&state, alice.user.id, alices_rooms.clone());
    presence::connected(&state, alice.user.id, alices_rooms);
    presence::disconnected(&state, alice.user.id).await;
    presence::disconnected(&state, alice.user.id).await;
    clock.advance(Duration::from_secs(4));
    presence::tick(&state).await;
    assert_eq!(state.presence.view(alice.user.id, bob.user.id).status, PresenceStatus::Online);
    let statuses = |events: Vec<ChatEvent>| -> Vec<(PresenceStatus, bool)> {
        events
            .into_iter()
            .filter_map(|e| match e {
                ChatEvent::PresenceChanged { presence, seen_by } => Some((
                    presence.presence.status,
                    matches!(seen_by, eventsync_chat::chat::publish::PresenceAudience::Own),
                )),
                _ => None,
            })
            .collect()
    };
    // Coming online is broadcast in the background (it waits on the store, not the clock).
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen.extend(statuses(recorder.take()));
        if seen.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen, [(PresenceStatus::Online, false), (PresenceStatus::Online, true)]);
    clock.advance(Duration::from_secs(1));
    presence::tick(&state).await;
    assert_eq!(state.presence.view(alice.user.id, bob.user.id).status, PresenceStatus::Offline);
    assert_eq!(
        statuses(recorder.take()),
        [(PresenceStatus::Offline, false), (PresenceStatus::Offline, true)]
    );

    // Typing: broadcast to the room except the typist, and ended by the clock.
    typing::start(&state, &bob, room.id).await.expect("typing");
    let events = recorder.take();
    assert!(matches!(&events[..], [ChatEvent::Typing { typing: true, .. }]), "{events:?}");
    assert_eq!(events[0].audience(), Audience::RoomExcept { room_id: room.id, except: bob.user.id });
    clock.advance(Duration::from_secs(5));
    typing::tick(&state).await;
    assert!(recorder.take().is_empty(), "still typing before the timeout");
    clock.advance(Duration::from_secs(1));
    typing::tick(&state).await;
    assert!(matches!(&recorder.take()[..], [ChatEvent::Typing { typing: false, .. }]));

    // Leaving the room ends typing there at once.
    clock.advance(Duration::from_secs(3));
    typing::start(&state, &bob, room.id).await.expect("typing again");
    recorder.take();
    rooms::leave_room(&state, &bob, room.id).await.expect("leave");
    let events = recorder.take();
    assert!(events.iter().any(|e| matches!(e, ChatEvent::Typing { typing: false, .. })), "{events:?}");
}

/// A user whose sockets send nothing for the idle time shows `away` to co-members, and
/// their next event shows them online again; all on the clock.
#[tokio::test]
async fn idle_users_turn_away_and_their_next_event_brings_them_back() {
    use eventsync_chat::chat::presence;
    use eventsync_chat::clock::{Clock, ManualClock};
    use eventsync_chat::domain::presence::PresenceStatus;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::starting_at(1_000_000);
    let limits = Limits { away_after_seconds: 60, ..Limits::default() };
    let (state, recorder) = service(&dir, Arc::new(clock.clone()), limits).await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let create: CreateRoom =
        serde_json::from_value(json!({"type": "group", "name": "Crew", "participant_ids": [bob.user.id]}))
            .unwrap();
    rooms::create_room(&state, &alice, create).await.expect("create");
    presence::connected(&state, alice.user.id, state.store.room_ids_of_user(alice.user.id).await.unwrap());
    let seen_by_bob = || state.presence.view(alice.user.id, bob.user.id).status;
    assert_eq!(seen_by_bob(), PresenceStatus::Online);

    clock.advance(Duration::from_secs(59));
    presence::tick(&state).await;
    assert_eq!(seen_by_bob(), PresenceStatus::Online, "away before the idle time");
    clock.advance(Duration::from_secs(1));
    presence::tick(&state).await;
    assert_eq!(seen_by_bob(), PresenceStatus::Away);
    let away_told = recorder.take().into_iter().any(|e| {
        matches!(e, ChatEvent::PresenceChanged { presence, seen_by: PresenceAudience::CoMembers(_) }
            if presence.presence.status == PresenceStatus::Away)
    });
    assert!(away_told, "co-members were not told of away");

    presence::touch(&state, alice.user.id).await;
    assert_eq!(seen_by_bob(), PresenceStatus::Online);
    let back = state.presence.view(alice.user.id, bob.user.id);
    assert_eq!(
        back.last_active_at.as_deref(),
        Some(eventsync_chat::clock::to_rfc3339(clock.now_ms()).as_str())
    );
}

/// A mute runs out on the clock and the room is told (`user_unmuted`), without sleeping.
#[tokio::test]
async fn a_mute_runs_out_on_the_clock_and_the_room_hears_it() {
    use eventsync_chat::chat::moderation;
    use eventsync_chat::clock::ManualClock;
    use eventsync_chat::domain::moderation::MuteRequest;
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::starting_at(1_000_000);
    let (state, recorder) = service(&dir, Arc::new(clock.clone()), Limits::default()).await;
    let owner = user(&state, "olive").await;
    let member = user(&state, "morgan").await;
    let create: CreateRoom =
        serde_json::from_value(json!({"type": "group", "name": "Crew", "participant_ids": [member.user.id]}))
            .unwrap();
    let (room, _) = rooms::create_room(&state, &owner, create).await.expect("create");
    let mute = MuteRequest { user_id: member.user.id, duration_seconds: Some(60), reason: None };
    moderation::mute(&state, &owner, room.id, mute).await.expect("mute");
    let refused = messages::send_message(&state, &member, room.id, text("let me speak")).await.unwrap_err();
    assert_eq!(refused.code(), "muted");
    recorder.take();

    clock.advance(Duration::from_secs(59));
    moderation::tick(&state).await;
    assert!(!recorder.take().iter().any(|e| matches!(e, ChatEvent::UserUnmuted(_))), "unmuted too early");
    clock.advance(Duration::from_secs(1));
    moderation::tick(&state).await;
    let events = recorder.take();
    let unmuted: Vec<&ChatEvent> = events.iter().filter(|e| matches!(e, ChatEvent::UserUnmuted(_))).collect();
    assert_eq!(unmuted.len(), 1, "{events:?}");
    assert_eq!(unmuted[0].audience(), Audience::Room(room.id));
    messages::send_message(&state, &member, room.id, text("thanks")).await.expect("speaks again");
}

/// A ban takes the user's sockets out of the room; lifting it is told to the room and
/// to the user, who no longer follows it.
#[tokio::test]
async fn a_ban_unfollows_and_its_lifting_reaches_the_room_and_the_user() {
    use eventsync_chat::chat::moderation;
    use eventsync_chat::domain::moderation::{BanRequest, UnbanRequest};

    let dir = tempfile::tempdir().expect("tempdir");
    let (state, recorder) = service(&dir, Arc::new(SystemClock), Limits::default()).await;
    let owner = user(&state, "oona").await;
    let member = user(&state, "milo").await;
    let create: CreateRoom =
        serde_json::from_value(json!({"type": "group", "name": "Crew", "participant_ids": [member.user.id]}))
            .unwrap();
    let (room, _) = rooms::create_room(&state, &owner, create).await.expect("create");
    recorder.take();

    let ban = BanRequest { user_id: member.user.id, duration_seconds: None, reason: None };
    moderation::ban(&state, &owner, room.id, ban).await.expect("ban");
    let events = recorder.take();
    let banned = events.iter().find(|e| matches!(e, ChatEvent::UserBanned { .. })).expect("banned");
    assert_eq!(banned.audience(), Audience::Room(room.id));
    assert_eq!(
        banned.subscription(),
        Some(Subscription::Unfollow { room_id: room.id, user_id: member.user.id })
    );

    moderation::unban(&state, &owner, room.id, UnbanRequest { user_id: member.user.id })
        .await
        .expect("unban");
    let events = recorder.take();
    let unbanned: Vec<&ChatEvent> =
        events.iter().filter(|e| matches!(e, ChatEvent::UserUnbanned(_))).collect();
    assert_eq!(unbanned.len(), 1, "{events:?}");
    assert_eq!(unbanned[0].audience(), Audience::RoomAndUser { room_id: room.id, user_id: member.user.id });
    assert!(
        events.iter().any(|e| matches!(e, ChatEvent::MessageCreated(m) if m.sender.is_none())),
        "{events:?}"
    );
}

/// A clean restart is not everyone leaving: who was connected at the stop shows as they
/// did after the start, coming back broadcasts nothing (a reconnect storm stays quiet),
/// and whoever does not come back goes offline when the restart grace ends.
#[tokio::test]
async fn a_clean_restart_keeps_connected_users_online_while_they_come_back() {
    use eventsync_chat::chat::presence;
    use eventsync_chat::clock::ManualClock;
    use eventsync_chat::domain::presence::{PresenceStatus, SetPresence};
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::starting_at(1_000_000);
    let limits = Limits { restart_grace_seconds: 60, ..Limits::default() };
    let (state, _) = service(&dir, Arc::new(clock.clone()), limits.clone()).await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let carol = user(&state, "carol").await;
    let create: CreateRoom = serde_json::from_value(
        json!({"type": "group", "name": "Crew", "participant_ids": [bob.user.id, carol.user.id]}),
    )
    .unwrap();
    rooms::create_room(&state, &alice, create).await.expect("create");
    for who in [&alice, &bob] {
        presence::connected(&state, who.user.id, state.store.room_ids_of_user(who.user.id).await.unwrap());
    }
    let busy: SetPresence =
        serde_json::from_value(json!({"status": "busy", "custom_message": "on stage"})).unwrap();
    presence::set_presence(&state, &bob, busy).await.expect("busy");
    presence::save_for_restart(&state).await;
    state.store.close().await;

    clock.advance(Duration::from_secs(2));
    let (state, recorder) = service(&dir, Arc::new(clock.clone()), limits).await;
    assert_eq!(presence::restore_after_restart(&state).await, 2);
    let seen_by_carol = |who: &AuthUser| state.presence.view(who.user.id, carol.user.id);
    assert_eq!(seen_by_carol(&alice).status, PresenceStatus::Online);
    assert_eq!(seen_by_carol(&bob).status, PresenceStatus::Busy);
    assert_eq!(seen_by_carol(&bob).custom_message.as_deref(), Some("on stage"));
    assert_eq!(seen_by_carol(&carol).status, PresenceStatus::Offline, "carol was not connected");

    // Alice comes back: nothing anyone sees changes, so nothing is broadcast.
    presence::connected(&state, alice.user.id, state.store.room_ids_of_user(alice.user.id).await.unwrap());
    clock.advance(Duration::from_secs(30));
    presence::tick(&state).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let presence_events = |events: Vec<ChatEvent>| -> Vec<(i64, PresenceStatus)> {
        events
            .into_iter()
            .filter_map(|e| match e {
                ChatEvent::PresenceChanged { presence, seen_by: PresenceAudience::CoMembers(_) } => {
                    Some((presence.user_id, presence.presence.status))
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(presence_events(recorder.take()), []);

    // Bob never comes back: offline once the grace ends, and told.
    clock.advance(Duration::from_secs(30));
    presence::tick(&state).await;
    assert_eq!(seen_by_carol(&bob).status, PresenceStatus::Offline);
    assert_eq!(seen_by_carol(&alice).status, PresenceStatus::Online);
    assert_eq!(presence_events(recorder.take()), [(bob.user.id, PresenceStatus::Offline)]);

    // The snapshot serves one start only.
    assert_eq!(presence::restore_after_restart(&state).await, 0);
}

#[tokio::test]
async fn a_message_posted_while_a_room_is_being_opened_is_caught_up_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, _) = service(&dir, Arc::new(SystemClock), Limits::default()).await;
    let alice = user(&state, "alice").await;
    let bob = user(&state, "bob").await;
    let create: CreateRoom = serde_json::from_value(json!({"type": "general", "name": "Lobby"})).unwrap();
    let (room, _) = rooms::create_room(&state, &alice, create).await.expect("create");
    messages::send_message(&state, &alice, room.id, text("before")).await.unwrap();

    // Bob opens the room (joining it); alice posts before his socket is subscribed.
    let mut opened = rooms::open_room(&state, &bob, room.id, Default::default()).await.expect("open");
    let contents = |opened: &rooms::OpenedRoom| -> Vec<String> {
        opened.messages.iter().filter(|m| m.sender.is_some()).filter_map(|m| m.content.clone()).collect()
    };
    assert_eq!(contents(&opened), ["before"]);
    messages::send_message(&state, &alice, room.id, text("meanwhile")).await.unwrap();

    rooms::catch_up(&state, &bob, room.id, &mut opened).await.expect("catch up");
    assert_eq!(contents(&opened), ["before", "meanwhile"]);
    let seqs: Vec<i64> = opened.messages.iter().map(|m| m.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, once each: {seqs:?}");

    // A replay with `since` that reached the newest message is caught up the same way.
    let since = opened.messages.last().map(|m| m.id);
    let open: eventsync_chat::domain::room::OpenRoom =
        serde_json::from_value(json!({"since": since})).expect("since");
    let mut replay = rooms::open_room(&state, &bob, room.id, open).await.expect("replay");
    assert!(replay.messages.is_empty());
    messages::send_message(&state, &alice, room.id, text("later")).await.unwrap();
    rooms::catch_up(&state, &bob, room.id, &mut replay).await.expect("catch up");
    assert_eq!(contents(&replay), ["later"]);
}
