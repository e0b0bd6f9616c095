//! Presence: who is online, away, busy or invisible, and their custom status.
//!
//! A user is online while any of their sockets is connected, and for a grace period
//! after the last one closes (a page reload does not flicker them offline). `invisible`
//! looks `offline` to everyone else while the user keeps seeing it. An `online` user
//! with no activity for a while shows `away` until their next event. Changes reach the
//! users who share a room with the user (and the user's own sockets), never strangers.
//!
//! Held in memory per instance behind [`PresenceRegistry`]; the scale-out work backs it
//! with shared state without changing callers. Time rules read the injectable clock and
//! are applied by [`tick`], which the server's timer task calls.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::publish::{ChatEvent, PresenceAudience, Replica};
use crate::auth::AuthUser;
use crate::clock::{Millis, to_rfc3339};
use crate::domain::presence::{
    NewPresence, Presence, PresenceShare, PresenceStatus, SetPresence, UserPresence,
};
use crate::domain::room::RoomId;
use crate::domain::user::UserId;
use crate::error::AppResult;
use crate::state::{AppState, InstanceId};
use crate::store::PresenceSnapshotRow;

/// An instance not heard from for this long is taken for dead: its sockets no longer
/// keep anyone online.
pub const INSTANCE_SILENCE_MS: Millis = 15_000;

#[derive(Debug, Clone)]
struct Entry {
    /// Connected sockets on this instance.
    sockets: u32,
    /// Connected sockets on other instances, as they last said.
    remote: HashMap<InstanceId, u32>,
    /// The newest share seen from each other instance.
    remote_versions: HashMap<InstanceId, u64>,
    /// What the user chose (never `Offline`).
    chosen: PresenceStatus,
    custom_message: Option<String>,
    /// When the custom message clears itself.
    clears_at: Option<Millis>,
    last_active_at: Millis,
    /// The last socket closed; the user shows offline from then on.
    offline_at: Option<Millis>,
    /// Shown `away` for inactivity (not chosen).
    idle: bool,
}

impl Entry {
    fn new(now: Millis) -> Entry {
        Entry {
            sockets: 0,
            remote: HashMap::new(),
            remote_versions: HashMap::new(),
            chosen: PresenceStatus::Online,
            custom_message: None,
            clears_at: None,
            last_active_at: now,
            offline_at: None,
            idle: false,
        }
    }

    /// Sockets on every instance.
    fn all_sockets(&self) -> u32 {
        self.remote.values().fold(self.sockets, |sum, n| sum.saturating_add(*n))
    }

    /// The status as the user sees it.
    fn own_status(&self) -> PresenceStatus {
        if self.all_sockets() == 0 && self.offline_at.is_none() {
            PresenceStatus::Offline
        } else if self.idle && self.chosen == PresenceStatus::Online {
            PresenceStatus::Away
        } else {
            self.chosen
        }
    }

    fn view(&self, own: bool) -> Presence {
        let status = self.own_status();
        let hidden = !own && status == PresenceStatus::Invisible;
        if hidden {
            return Presence { status: PresenceStatus::Offline, custom_message: None, last_active_at: None };
        }
        let shows_message = status != PresenceStatus::Offline;
        Presence {
            status,
            custom_message: if shows_message { self.custom_message.clone() } else { None },
            last_active_at: Some(to_rfc3339(self.last_active_at)),
        }
    }

    fn share(&self, user_id: UserId, version: u64) -> PresenceShare {
        PresenceShare {
            version,
            user_id,
            sockets: self.sockets,
            chosen: self.chosen,
            custom_message: self.custom_message.clone(),
            clears_at: self.clears_at,
            last_active_at: self.last_active_at,
            idle: self.idle,
        }
    }

    /// What instance `from` shares of the user, unless a newer share from it came first.
    fn apply_remote(&mut self, from: InstanceId, remote: PresenceShare, now: Millis, grace: Millis) {
        if self.remote_versions.get(&from).is_some_and(|seen| *seen >= remote.version) {
            return;
        }
        self.remote_versions.insert(from, remote.version);
        let before = self.all_sockets();
        if remote.sockets == 0 {
            self.remote.remove(&from);
        } else {
            self.remote.insert(from, remote.sockets);
        }
        if self.all_sockets() > 0 {
            self.offline_at = None;
        } else if before > 0 {
            self.offline_at = Some(now + grace);
        }
        self.chosen = remote.chosen;
        self.custom_message = remote.custom_message;
        self.clears_at = remote.clears_at;
        self.last_active_at = self.last_active_at.max(remote.last_active_at);
        self.idle = remote.idle;
    }

    /// Whether anything here differs from a user nobody has seen.
    fn worth_sharing(&self) -> bool {
        self.sockets > 0 || self.chosen != PresenceStatus::Online || self.custom_message.is_some()
    }
}

fn offline() -> Presence {
    Presence { status: PresenceStatus::Offline, custom_message: None, last_active_at: None }
}

/// Every user's presence, as this instance knows it.
#[derive(Debug, Default)]
pub struct PresenceRegistry {
    users: Mutex<HashMap<UserId, Entry>>,
    /// Other instances, and when each was last heard from.
    instances: Mutex<HashMap<InstanceId, Millis>>,
    /// Numbers this instance's shares, in the order the entries changed.
    versions: AtomicU64,
}

/// A change to tell: the user's presence as others see it and as they see it.
struct Change {
    user_id: UserId,
    public: Presence,
    own: Presence,
}

impl PresenceRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Entry>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn instances(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceId, Millis>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everyone with a socket on this instance, as they show: what a clean stop saves.
    fn connected_here(&self) -> Vec<PresenceSnapshotRow> {
        let mut rows: Vec<PresenceSnapshotRow> = self
            .lock()
            .iter()
            .filter(|(_, e)| e.sockets > 0)
            .map(|(user_id, e)| PresenceSnapshotRow {
                user_id: *user_id,
                chosen: e.chosen,
                custom_message: e.custom_message.clone(),
                clears_at: e.clears_at,
                last_active_at: e.last_active_at,
            })
            .collect();
        rows.sort_unstable_by_key(|row| row.user_id);
        rows
    }

    /// Users as a clean stop saw them, shown so until `until` unless a socket of theirs
    /// connects first.
    fn restore(&self, rows: Vec<PresenceSnapshotRow>, now: Millis, until: Millis) {
        let mut users = self.lock();
        for row in rows {
            let entry = users.entry(row.user_id).or_insert_with(|| Entry::new(now));
            if entry.all_sockets() > 0 {
                continue;
            }
            entry.chosen = row.chosen;
            entry.custom_message = row.custom_message;
            entry.clears_at = row.clears_at;
            entry.last_active_at = row.last_active_at;
            entry.offline_at = Some(until);
        }
    }

    /// `user_id` as `viewer` sees them.
    pub fn view(&self, user_id: UserId, viewer: UserId) -> Presence {
        self.lock().get(&user_id).map_or_else(offline, |e| e.view(user_id == viewer))
    }

    /// Applies `change` to the user's entry and reports what others and the user now see,
    /// if anything visible changed, with the entry as this instance now shares it.
    fn update(
        &self,
        user_id: UserId,
        now: Millis,
        change: impl FnOnce(&mut Entry),
    ) -> (Option<Change>, PresenceShare) {
        let mut users = self.lock();
        let entry = users.entry(user_id).or_insert_with(|| Entry::new(now));
        let (public_before, own_before) = (entry.view(false), entry.view(true));
        let sockets_before = entry.all_sockets();
        change(entry);
        if sockets_before > 0 && entry.all_sockets() == 0 && entry.offline_at.is_none() {
            // The last socket anywhere closed by a path that set no grace period (an
            // instance went silent): offline from now.
            entry.offline_at = Some(now);
        }
        let (public, own) = (entry.view(false), entry.view(true));
        let share = entry.share(user_id, self.versions.fetch_add(1, Ordering::Relaxed));
        let changed = public.status != public_before.status
            || public.custom_message != public_before.custom_message
            || own.status != own_before.status
            || own.custom_message != own_before.custom_message;
        (changed.then_some(Change { user_id, public, own }), share)
    }
}

/// Tells the users who share a room with the user what they now see, and the user's
/// own sockets what the user sees. Large rooms (past the quiet-join threshold) are left
/// out: each arrival in a keynote room would otherwise reach every attendee, and a mass
/// join would cost the square of the crowd. There, the online count is pushed instead
/// and participant pages carry presence. Every instance does this for its own sockets.
async fn publish(state: &AppState, change: Change) -> AppResult<UserPresence> {
    let room_ids = state.store.room_ids_of_user(change.user_id).await?;
    publish_in(state, change, room_ids).await
}

/// [`publish`] to the co-members of these rooms (the user's, already known).
async fn publish_in(state: &AppState, change: Change, room_ids: Vec<RoomId>) -> AppResult<UserPresence> {
    let public = UserPresence { user_id: change.user_id, presence: change.public };
    let own = UserPresence { user_id: change.user_id, presence: change.own };
    // The user's rooms count who is online anew and push it with their next counts.
    state.room_counts.online_changed(&room_ids);
    let mut small = Vec::with_capacity(room_ids.len());
    for room_id in room_ids {
        if !super::participants::is_large(state, room_id).await? {
            small.push(room_id);
        }
    }
    let room_ids = small;
    state
        .publisher
        .publish(ChatEvent::PresenceChanged {
            presence: public,
            seen_by: PresenceAudience::CoMembers(room_ids),
        })
        .await;
    state
        .publisher
        .publish(ChatEvent::PresenceChanged { presence: own.clone(), seen_by: PresenceAudience::Own })
        .await;
    Ok(own)
}

async fn publish_if(state: &AppState, change: Option<Change>) {
    if let Some(change) = change {
        let user_id = change.user_id;
        unpublished(user_id, publish(state, change).await);
    }
}

fn unpublished(user_id: UserId, published: AppResult<UserPresence>) {
    if let Err(err) = published {
        tracing::warn!(user_id, error = %err, "could not publish a presence change");
    }
}

/// Tells the other instances how this one now holds the user.
async fn share(state: &AppState, share: PresenceShare) {
    state.publisher.publish(ChatEvent::Replica(Replica::Presence(share))).await;
}

/// Before a clean stop: who is connected here and how they show, so that the next start
/// keeps them so while they come back (a restart is not everyone leaving).
pub async fn save_for_restart(state: &AppState) {
    let rows = state.presence.connected_here();
    if let Err(err) = state.store.save_presence_snapshot(&rows, state.clock.now_ms()).await {
        tracing::warn!(error = %err, users = rows.len(), "could not save who is online for the restart");
    }
}

/// At start: everyone the last clean stop (within the restart grace) saw connected shows
/// as they did for the restart grace. Coming back within it changes nothing anyone sees,
/// so a crowd reconnecting after a restart broadcasts nothing; whoever does not come back
/// goes offline when it ends. Returns how many were restored.
pub async fn restore_after_restart(state: &AppState) -> usize {
    let now = state.clock.now_ms();
    let grace = (state.limits.restart_grace_seconds as Millis).saturating_mul(1000);
    match state.store.take_presence_snapshot(now.saturating_sub(grace)).await {
        Ok(rows) => {
            let restored = rows.len();
            state.presence.restore(rows, now, now.saturating_add(grace));
            restored
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not read who was online before the restart");
            0
        }
    }
}

/// A socket of the user connected, subscribed to `room_ids` (the user's rooms). Counted
/// at once (so a quick disconnect cannot overtake it); the broadcast goes out in the
/// background.
pub fn connected(state: &AppState, user_id: UserId, room_ids: Vec<RoomId>) {
    let now = state.clock.now_ms();
    let (change, shared) = state.presence.update(user_id, now, |e| {
        e.sockets += 1;
        e.offline_at = None;
        e.last_active_at = now;
        e.idle = false;
    });
    let state = state.clone();
    tokio::spawn(async move {
        share(&state, shared).await;
        if let Some(change) = change {
            unpublished(user_id, publish_in(&state, change, room_ids).await);
        }
    });
}

/// A socket of the user closed; the last one anywhere starts the grace period.
pub async fn disconnected(state: &AppState, user_id: UserId) {
    let now = state.clock.now_ms();
    let grace = grace_ms(state);
    let (change, shared) = state.presence.update(user_id, now, |e| {
        e.sockets = e.sockets.saturating_sub(1);
        if e.all_sockets() == 0 {
            e.offline_at = Some(now + grace);
        }
    });
    share(state, shared).await;
    publish_if(state, change).await;
}

fn grace_ms(state: &AppState) -> Millis {
    (state.limits.presence_grace_seconds as Millis).saturating_mul(1000)
}

/// The user did something: they are active now (and no longer idle).
pub async fn touch(state: &AppState, user_id: UserId) {
    let now = state.clock.now_ms();
    // Every socket event lands here: a user who is not idle only gets a new activity
    // time, which changes nothing anyone sees, so skip comparing views.
    if let Some(entry) = state.presence.lock().get_mut(&user_id)
        && !entry.idle
    {
        entry.last_active_at = now;
        return;
    }
    let (change, shared) = state.presence.update(user_id, now, |e| {
        e.last_active_at = now;
        e.idle = false;
    });
    share(state, shared).await;
    publish_if(state, change).await;
}

/// Sets the caller's status and custom message; answers what the caller now sees.
pub async fn set_presence(state: &AppState, caller: &AuthUser, req: SetPresence) -> AppResult<UserPresence> {
    let NewPresence { status, custom_message, clear_after_seconds } = req.validate()?;
    let now = state.clock.now_ms();
    let user_id = caller.user.id;
    let (change, shared) = state.presence.update(user_id, now, |e| {
        e.chosen = status;
        e.clears_at = match (&custom_message, clear_after_seconds) {
            (Some(_), Some(secs)) => Some(now.saturating_add((secs as Millis).saturating_mul(1000))),
            _ => None,
        };
        e.custom_message = custom_message;
        e.last_active_at = now;
        e.idle = false;
    });
    share(state, shared).await;
    match change {
        Some(change) => publish(state, change).await,
        None => Ok(UserPresence { user_id, presence: state.presence.view(user_id, user_id) }),
    }
}

/// Several users' presence as the caller sees them.
pub fn presence_of(state: &AppState, caller: &AuthUser, user_ids: &[UserId]) -> Vec<UserPresence> {
    user_ids
        .iter()
        .map(|id| UserPresence { user_id: *id, presence: state.presence.view(*id, caller.user.id) })
        .collect()
}

/// Another instance told how it holds a user: this instance's sockets hear what changes.
pub async fn merge(state: &AppState, from: InstanceId, remote: PresenceShare) {
    let now = state.clock.now_ms();
    let grace = grace_ms(state);
    let user_id = remote.user_id;
    let (change, _) = state.presence.update(user_id, now, |e| e.apply_remote(from, remote, now, grace));
    publish_if(state, change).await;
}

/// Another instance is alive; one heard for the first time (it just started, or this
/// one did) is told everyone this instance holds.
pub async fn alive(state: &AppState, from: InstanceId) {
    let now = state.clock.now_ms();
    let new = state.presence.instances().insert(from, now).is_none();
    if new {
        share_all(state).await;
    }
}

/// Tells the other instances every user this one holds (after they may have missed it).
pub async fn share_all(state: &AppState) {
    let shares: Vec<PresenceShare> = state
        .presence
        .lock()
        .iter()
        .filter(|(_, e)| e.worth_sharing())
        .map(|(id, e)| e.share(*id, state.presence.versions.fetch_add(1, Ordering::Relaxed)))
        .collect();
    for shared in shares {
        share(state, shared).await;
    }
}

/// Forgets the sockets of instances not heard from for [`INSTANCE_SILENCE_MS`].
async fn forget_silent_instances(state: &AppState, now: Millis) {
    let silent: Vec<InstanceId> = {
        let mut instances = state.presence.instances();
        let silent: Vec<InstanceId> =
            instances.iter().filter(|(_, at)| now - **at > INSTANCE_SILENCE_MS).map(|(id, _)| *id).collect();
        for id in &silent {
            instances.remove(id);
        }
        silent
    };
    if silent.is_empty() {
        return;
    }
    tracing::warn!(instances = ?silent, "instances went silent: their sockets no longer count");
    let users: Vec<UserId> = state
        .presence
        .lock()
        .iter()
        .filter(|(_, e)| silent.iter().any(|id| e.remote.contains_key(id)))
        .map(|(id, _)| *id)
        .collect();
    for user_id in users {
        let (change, _) = state.presence.update(user_id, now, |e| {
            for id in &silent {
                e.remote.remove(id);
                e.remote_versions.remove(id);
            }
        });
        publish_if(state, change).await;
    }
}

/// Applies the time rules: grace periods that ended, custom messages that cleared
/// themselves, users idle long enough to show `away`, instances gone silent.
pub async fn tick(state: &AppState) {
    let now = state.clock.now_ms();
    forget_silent_instances(state, now).await;
    let away_after = (state.limits.away_after_seconds as Millis).saturating_mul(1000);
    let due: Vec<UserId> = state
        .presence
        .lock()
        .iter()
        .filter(|(_, e)| {
            e.offline_at.is_some_and(|at| at <= now)
                || e.clears_at.is_some_and(|at| at <= now)
                || (e.sockets > 0 && !e.idle && e.last_active_at.saturating_add(away_after) <= now)
        })
        .map(|(id, _)| *id)
        .collect();
    for user_id in due {
        let mut went_idle = false;
        let (change, shared) = state.presence.update(user_id, now, |e| {
            if e.offline_at.is_some_and(|at| at <= now) {
                e.offline_at = None;
            }
            if e.clears_at.is_some_and(|at| at <= now) {
                e.clears_at = None;
                e.custom_message = None;
            }
            if e.sockets > 0 && !e.idle && e.last_active_at.saturating_add(away_after) <= now {
                e.idle = true;
                went_idle = true;
            }
        });
        // Grace periods and clearing run on every instance alike; idleness is seen only
        // where the user's sockets are.
        if went_idle {
            share(state, shared).await;
        }
        publish_if(state, change).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_is_offline_to_others_only() {
        let mut entry = Entry::new(0);
        entry.sockets = 1;
        entry.chosen = PresenceStatus::Invisible;
        entry.custom_message = Some("shh".into());
        assert_eq!(entry.view(false), offline());
        assert_eq!(entry.view(true).status, PresenceStatus::Invisible);
        assert_eq!(entry.view(true).custom_message.as_deref(), Some("shh"));
    }

    #[test]
    fn online_through_the_grace_period_then_offline() {
        let registry = PresenceRegistry::default();
        assert!(registry.update(1, 0, |e| e.sockets += 1).0.is_some(), "coming online is a change");
        assert!(registry.update(1, 0, |e| e.sockets += 1).0.is_none(), "a second socket is not");
        registry.update(1, 0, |e| e.sockets -= 1);
        let (change, _) = registry.update(1, 0, |e| {
            e.sockets -= 1;
            e.offline_at = Some(5_000);
        });
        assert!(change.is_none(), "still online during the grace period");
        assert_eq!(registry.view(1, 2).status, PresenceStatus::Online);
        let change = registry.update(1, 5_000, |e| e.offline_at = None).0.unwrap();
        assert_eq!(change.public.status, PresenceStatus::Offline);
    }

    #[test]
    fn an_older_share_arriving_late_changes_nothing() {
        let mut entry = Entry::new(0);
        let share = |sockets, version| PresenceShare {
            user_id: 1,
            sockets,
            chosen: PresenceStatus::Online,
            custom_message: None,
            clears_at: None,
            last_active_at: 0,
            idle: false,
            version,
        };
        // Instance 7's "closed" (version 2) overtook its "connected" (version 1).
        entry.apply_remote(7, share(0, 2), 0, 5_000);
        entry.apply_remote(7, share(1, 1), 0, 5_000);
        assert_eq!(entry.all_sockets(), 0, "the stale share must not bring back a socket");
        entry.apply_remote(7, share(2, 3), 0, 5_000);
        assert_eq!(entry.all_sockets(), 2);
    }

    #[test]
    fn online_while_another_instance_holds_a_socket() {
        let registry = PresenceRegistry::default();
        registry.update(1, 0, |e| e.sockets += 1);
        registry.update(1, 0, |e| {
            e.remote.insert(7, 1);
        });
        let (change, shared) = registry.update(1, 0, |e| e.sockets -= 1);
        assert!(change.is_none(), "a socket on instance 7 keeps the user online");
        assert_eq!(shared.sockets, 0, "this instance shares only its own sockets");
        assert_eq!(registry.view(1, 2).status, PresenceStatus::Online);
        // Instance 7 goes silent: its socket no longer counts, and nothing set a grace
        // period, so the user is offline at once.
        let (change, _) = registry.update(1, 100, |e| {
            e.remote.remove(&7);
        });
        assert!(change.is_none(), "offline_at is set to now, so the change shows at the next tick");
        let change = registry.update(1, 100, |e| e.offline_at = None).0.unwrap();
        assert_eq!(change.public.status, PresenceStatus::Offline);
    }
}
