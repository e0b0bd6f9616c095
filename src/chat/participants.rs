//! Who is in a room, in pages: a keynote room has thousands of participants, so no
//! request reads them all. Lists page by (role, username) on an index; the `online`
//! filter scans a bounded number of rows per request; the counts are cached for a
//! moment per room and nudged as people join and leave.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::access::RoomAccess;
use super::publish::ChatEvent;
use crate::auth::AuthUser;
use crate::clock::Millis;
use crate::domain::page_limit;
use crate::domain::presence::{Presence, PresenceStatus};
use crate::domain::room::{
    Participant, ParticipantCursor, ParticipantFilter, ParticipantPage, ParticipantQuery, RoomCountUpdate,
    RoomId,
};
use crate::domain::user::UserId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::ParticipantRow;

pub const LIMIT_DEFAULT: i64 = 100;
pub const LIMIT_MAX: i64 = 200;
/// Participants in the answer to opening a room: staff, then who is online.
pub const PREVIEW_SIZE: usize = 50;
/// Rows read to find who is online, per request, before answering with what was found.
const SCAN_MAX: i64 = 2000;
const SCAN_BATCH: i64 = 200;
/// How long a room's participant count is reused; joins and leaves on this instance
/// adjust it meanwhile.
const COUNT_TTL_MS: Millis = 30_000;
/// How long a room's online count is reused before it is counted again.
const ONLINE_TTL_MS: Millis = 2000;
/// How soon after counting a room's online count is counted again when someone there
/// came or went: a reconnect storm changes presence in every room many times a second,
/// and each join would otherwise count its whole room anew.
const ONLINE_RECOUNT_MS: Millis = 500;
const PREFIX_MAX: usize = 64;

/// A room's participant and online counts, cached per room; and which rooms' counts
/// changed since they were last pushed.
#[derive(Debug, Default)]
pub struct RoomCounts {
    rooms: Mutex<HashMap<RoomId, Counts>>,
    changed: Mutex<HashSet<RoomId>>,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    at: Millis,
    participants: i64,
    online: Option<Online>,
}

#[derive(Debug, Clone, Copy)]
struct Online {
    at: Millis,
    count: i64,
    /// Someone in the room came or went since it was counted.
    stale: bool,
}

impl Online {
    /// Whether this count may be answered at `now`; `fresh` asks for one counted after
    /// the last change.
    fn usable(&self, now: Millis, fresh: bool) -> bool {
        let age = now - self.at;
        age < ONLINE_TTL_MS && (!self.stale || (!fresh && age < ONLINE_RECOUNT_MS))
    }
}

impl RoomCounts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Counts>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Someone joined (`+1`) or left (`-1`): the cached count follows at once, and the
    /// room's sockets hear the new count with the next push.
    pub fn adjust(&self, room_id: RoomId, delta: i64) {
        if let Some(counts) = self.lock().get_mut(&room_id) {
            counts.participants = (counts.participants + delta).max(0);
        }
        self.changed.lock().unwrap_or_else(|p| p.into_inner()).insert(room_id);
    }

    /// Someone in these rooms came online or went offline (or changed how they show):
    /// their online counts are counted again, and pushed.
    pub fn online_changed(&self, room_ids: &[RoomId]) {
        let mut rooms = self.lock();
        for room_id in room_ids {
            if let Some(Counts { online: Some(online), .. }) = rooms.get_mut(room_id) {
                online.stale = true;
            }
        }
        drop(rooms);
        self.changed.lock().unwrap_or_else(|p| p.into_inner()).extend(room_ids.iter().copied());
    }

    fn take_changed(&self) -> Vec<RoomId> {
        self.changed.lock().unwrap_or_else(|p| p.into_inner()).drain().collect()
    }

    fn cached(&self, room_id: RoomId, now: Millis) -> Option<Counts> {
        self.lock().get(&room_id).copied().filter(|c| now - c.at < COUNT_TTL_MS)
    }

    fn remember(&self, room_id: RoomId, counts: Counts, now: Millis) {
        let mut rooms = self.lock();
        if rooms.len() > 10_000 {
            rooms.retain(|_, c| now - c.at < COUNT_TTL_MS);
        }
        rooms.insert(room_id, counts);
    }

    /// How many participants a room has: cached, or counted now.
    pub async fn participants(&self, state: &AppState, room_id: RoomId) -> AppResult<i64> {
        let now = state.clock.now_ms();
        if let Some(c) = self.cached(room_id, now) {
            return Ok(c.participants);
        }
        let participants = state.store.participant_count(room_id).await?;
        self.remember(room_id, Counts { at: now, participants, online: None }, now);
        Ok(participants)
    }

    /// (participants, online) of a room; the online count is at most two seconds old,
    /// and at most half a second behind a change.
    pub async fn get(&self, state: &AppState, room_id: RoomId) -> AppResult<(i64, i64)> {
        self.counted(state, room_id, false).await
    }

    async fn counted(&self, state: &AppState, room_id: RoomId, fresh: bool) -> AppResult<(i64, i64)> {
        let now = state.clock.now_ms();
        if let Some(Counts { participants, online: Some(online), .. }) = self.cached(room_id, now)
            && online.usable(now, fresh)
        {
            return Ok((participants, online.count));
        }
        let ids = state.store.participant_ids(room_id).await?;
        let online = ids.iter().filter(|id| shows_online(&state.presence.view(**id, 0))).count() as i64;
        let participants = ids.len() as i64;
        let counts =
            Counts { at: now, participants, online: Some(Online { at: now, count: online, stale: false }) };
        self.remember(room_id, counts, now);
        Ok((participants, online))
    }
}

fn shows_online(presence: &Presence) -> bool {
    presence.status != PresenceStatus::Offline
}

fn with_presence(state: &AppState, viewer: UserId, row: ParticipantRow) -> Participant {
    let presence = state.presence.view(row.user_id(), viewer);
    row.into_participant(presence)
}

/// `GET /api/chat/rooms/{id}/participants`: participants and admins (logged).
pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    query: ParticipantQuery,
) -> AppResult<ParticipantPage> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    access.require_reader(state, caller).await?;
    let limit = page_limit(query.limit, LIMIT_DEFAULT, LIMIT_MAX)?;
    let after = query.after.as_deref().map(ParticipantCursor::decode).transpose()?;
    let prefix = match query.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) if q.chars().count() > PREFIX_MAX || q.chars().any(char::is_control) => {
            return Err(AppError::validation(
                "invalid_query",
                format!("q must be at most {PREFIX_MAX} characters, without control characters"),
            ));
        }
        Some(q) => Some(q.to_owned()),
    };
    let online_only = query.status == Some(ParticipantFilter::Online);
    let viewer = caller.user.id;
    let mut found = Vec::new();
    let mut cursor = after;
    let mut scanned = 0;
    let mut has_more = false;
    'scan: loop {
        let batch = if online_only { SCAN_BATCH } else { limit + 1 };
        let rows = state.store.participants_page(room_id, cursor.as_ref(), prefix.as_deref(), batch).await?;
        let exhausted = (rows.len() as i64) < batch;
        for row in rows {
            if found.len() as i64 == limit {
                has_more = true;
                break 'scan;
            }
            scanned += 1;
            cursor = Some(row.cursor());
            let participant = with_presence(state, viewer, row);
            if !online_only || shows_online(&participant.presence) {
                found.push(participant);
            }
        }
        if exhausted {
            break;
        }
        if scanned >= SCAN_MAX {
            has_more = true;
            break;
        }
    }
    let (participant_count, online_count) = state.room_counts.get(state, room_id).await?;
    Ok(ParticipantPage {
        participants: found,
        participant_count,
        online_count,
        has_more,
        next_cursor: if has_more { cursor.map(|c| c.encode()) } else { None },
    })
}

/// The first participants a socket sees when it opens a room: owners and moderators,
/// then members who are online, then the rest, at most [`PREVIEW_SIZE`]; with counts.
pub async fn preview(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<ParticipantPage> {
    let rows = state.store.participants_page(room_id, None, None, SCAN_BATCH).await?;
    let mut everyone: Vec<Participant> =
        rows.into_iter().map(|row| with_presence(state, caller.user.id, row)).collect();
    // Rows come staff first; a stable sort keeps that and each group's name order.
    everyone.sort_by_key(|p| {
        (p.role == crate::domain::room::ParticipantRole::Member, !shows_online(&p.presence))
    });
    let (participant_count, online_count) = state.room_counts.get(state, room_id).await?;
    let has_more = participant_count as usize > PREVIEW_SIZE.min(everyone.len());
    everyone.truncate(PREVIEW_SIZE);
    Ok(ParticipantPage {
        participants: everyone,
        participant_count,
        online_count,
        has_more,
        next_cursor: None,
    })
}

/// Whether joins and leaves in this room go unannounced: rooms past the quiet threshold
/// (a keynote room) do not tell everyone about every attendee.
pub async fn is_large(state: &AppState, room_id: RoomId) -> AppResult<bool> {
    let threshold = state.limits.quiet_join_threshold;
    if threshold == 0 {
        return Ok(false);
    }
    let participants = state.room_counts.participants(state, room_id).await?;
    Ok(participants as u64 >= threshold)
}

/// Pushes `room_participant_count` to each room whose membership changed since the last
/// push: one event per room per [`COUNT_PUSH_INTERVAL`], however many joined meanwhile
/// (a mass join announces itself as a rising count, not as thousands of events).
pub async fn push_counts(state: &AppState) {
    for room_id in state.room_counts.take_changed() {
        // Counted after the change, so the last push after a burst is never a stale one.
        match state.room_counts.counted(state, room_id, true).await {
            Ok((participant_count, online_count)) => {
                let counts = RoomCountUpdate { room_id, participant_count, online_count };
                state.publisher.publish(ChatEvent::ParticipantCount(counts)).await;
            }
            Err(err) => tracing::warn!(room_id, error = %err, "could not count a room's participants"),
        }
    }
}

/// How often changed participant counts are pushed.
pub const COUNT_PUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_online_count_is_reused_briefly_after_a_change_and_never_for_a_push() {
        let counted = Online { at: 10_000, count: 3, stale: false };
        assert!(counted.usable(10_000 + ONLINE_TTL_MS - 1, true));
        assert!(!counted.usable(10_000 + ONLINE_TTL_MS, false), "too old");
        let changed = Online { stale: true, ..counted };
        assert!(changed.usable(10_000 + ONLINE_RECOUNT_MS - 1, false), "a join reuses it for a moment");
        assert!(!changed.usable(10_000 + ONLINE_RECOUNT_MS, false), "then counts again");
        assert!(!changed.usable(10_001, true), "a push always counts after the change");
    }
}
