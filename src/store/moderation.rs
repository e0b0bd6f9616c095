//! `moderation_log`: one row per moderation action or admin access, newest first per room.

use sqlx::FromRow;

use super::users::UserRow;
use super::{Store, in_lists, in_transaction, placeholders, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::moderation::{Ban, ModerationAction, ModerationEntry, NewModerationEntry};
use crate::domain::room::RoomId;
use crate::domain::user::{Role, User, UserId};

#[derive(Debug, FromRow)]
struct EntryRow {
    entry_id: i64,
    room_id: i64,
    action: ModerationAction,
    message_id: Option<i64>,
    reason: Option<String>,
    duration_seconds: Option<i64>,
    created_at: i64,
    #[sqlx(flatten)]
    actor: UserRow,
    target_id: Option<i64>,
    target_username: Option<String>,
    target_display_name: Option<String>,
    target_role: Option<Role>,
}

impl From<EntryRow> for ModerationEntry {
    fn from(row: EntryRow) -> Self {
        let target = match (row.target_id, row.target_username, row.target_display_name, row.target_role) {
            (Some(id), Some(username), Some(display_name), Some(role)) => {
                Some(User { id, username, display_name, role })
            }
            _ => None,
        };
        ModerationEntry {
            id: row.entry_id,
            room_id: row.room_id,
            actor: row.actor.into(),
            action: row.action,
            target,
            message_id: row.message_id,
            reason: row.reason,
            duration_seconds: row.duration_seconds,
            created_at: to_rfc3339(row.created_at),
        }
    }
}

pub(super) const INSERT_ENTRY: &str = "INSERT INTO moderation_log \
    (room_id, actor_id, action, target_id, message_id, reason, duration_seconds, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Writes a `&NewModerationEntry` at `$now` on `$executor` (a pool or an open
/// transaction, so an action and its log entry commit together).
macro_rules! insert_entry_in {
    ($executor:expr, $entry:expr, $now:expr) => {{
        let entry: &$crate::domain::moderation::NewModerationEntry = $entry;
        sqlx::query($crate::store::moderation::INSERT_ENTRY)
            .bind(entry.room_id)
            .bind(entry.actor_id)
            .bind(entry.action.as_str())
            .bind(entry.target_id)
            .bind(entry.message_id)
            .bind(&entry.reason)
            .bind(entry.duration_seconds)
            .bind($now)
            .execute($executor)
            .await
            .map(drop)
    }};
}
pub(super) use insert_entry_in;

impl Store {
    pub async fn insert_moderation_entry(
        &self,
        entry: &NewModerationEntry,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        with_pool!(self, writer, |pool| insert_entry_in!(pool, entry, now))
    }

    /// Up to `limit` entries of a room older than `before`, newest first.
    pub async fn moderation_log(
        &self,
        room_id: RoomId,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ModerationEntry>, sqlx::Error> {
        const SQL: &str = "SELECT l.entry_id, l.room_id, l.action, l.message_id, l.reason, l.duration_seconds, \
            l.created_at, a.user_id, a.username, a.display_name, a.role, \
            t.user_id AS target_id, t.username AS target_username, t.display_name AS target_display_name, \
            t.role AS target_role \
            FROM moderation_log l JOIN app_user a ON a.user_id = l.actor_id \
            LEFT JOIN app_user t ON t.user_id = l.target_id \
            WHERE l.room_id = $1 AND l.entry_id < $2 ORDER BY l.entry_id DESC LIMIT +$3";
        let rows: Vec<EntryRow> = with_pool!(self, reader, |pool| {
            sqlx::query_as(SQL).bind(room_id).bind(before).bind(limit).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(ModerationEntry::from).collect())
    }
}

/// A mute that ran out by itself.
#[derive(Debug, FromRow)]
pub struct EndedMute {
    pub room_id: i64,
    pub user_id: i64,
}

impl Store {
    /// Sets (or with `None` lifts) a participant's mute and logs it, in one transaction;
    /// false if they are not a participant.
    pub async fn set_muted_until(
        &self,
        room_id: RoomId,
        user_id: i64,
        until: Option<Millis>,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE participant SET muted_until = $3 WHERE room_id = $1 AND user_id = $2";
        in_transaction!(self, |tx| {
            let done = sqlx::query(SQL).bind(room_id).bind(user_id).bind(until).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            insert_entry_in!(&mut *tx, log, now)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Lifts the mutes that ran out by `now`; returns them.
    pub async fn end_expired_mutes(&self, now: Millis) -> Result<Vec<EndedMute>, sqlx::Error> {
        const SQL: &str = "UPDATE participant SET muted_until = NULL \
            WHERE muted_until IS NOT NULL AND muted_until <= $1 RETURNING room_id, user_id";
        with_pool!(self, writer, |pool| sqlx::query_as(SQL).bind(now).fetch_all(pool).await)
    }
}

#[derive(Debug, FromRow)]
struct BanRow {
    #[sqlx(flatten)]
    user: UserRow,
    by_id: Option<i64>,
    by_username: Option<String>,
    by_display_name: Option<String>,
    by_role: Option<Role>,
    reason: Option<String>,
    until: Option<i64>,
    created_at: i64,
}

impl From<BanRow> for Ban {
    fn from(row: BanRow) -> Self {
        let banned_by = match (row.by_id, row.by_username, row.by_display_name, row.by_role) {
            (Some(id), Some(username), Some(display_name), Some(role)) => {
                Some(User { id, username, display_name, role })
            }
            _ => None,
        };
        Ban {
            user: row.user.into(),
            banned_by,
            reason: row.reason,
            until: row.until.map(to_rfc3339),
            created_at: to_rfc3339(row.created_at),
        }
    }
}

/// Bans listed per room at most.
pub const BANS_LIST_MAX: i64 = 500;

impl Store {
    /// Runs `sql` (a `DELETE … WHERE room_id = $1 AND user_id = $2`) and, if it removed a
    /// row, writes the log entry, in one transaction; whether a row went.
    async fn delete_logged(
        &self,
        sql: &'static str,
        room_id: RoomId,
        user_id: i64,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        in_transaction!(self, |tx| {
            let done = sqlx::query(sql).bind(room_id).bind(user_id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            insert_entry_in!(&mut *tx, log, now)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Removes a participant and logs why, in one transaction; false if they were not one.
    pub async fn kick(
        &self,
        room_id: RoomId,
        user_id: i64,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "DELETE FROM participant WHERE room_id = $1 AND user_id = $2";
        self.delete_logged(SQL, room_id, user_id, log, now).await
    }

    /// Bans a user from a room until `until` (`None`: until unbanned), removing them as a
    /// participant, and logs it, in one transaction. Returns whether they participated.
    pub async fn ban(
        &self,
        room_id: RoomId,
        user_id: i64,
        until: Option<Millis>,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const BAN: &str = "INSERT INTO room_ban (room_id, user_id, banned_by, reason, until, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (room_id, user_id) DO UPDATE SET \
            banned_by = excluded.banned_by, reason = excluded.reason, until = excluded.until, \
            created_at = excluded.created_at";
        const REMOVE: &str = "DELETE FROM participant WHERE room_id = $1 AND user_id = $2";
        in_transaction!(self, |tx| {
            sqlx::query(BAN)
                .bind(room_id)
                .bind(user_id)
                .bind(log.actor_id)
                .bind(&log.reason)
                .bind(until)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let removed = sqlx::query(REMOVE).bind(room_id).bind(user_id).execute(&mut *tx).await?;
            insert_entry_in!(&mut *tx, log, now)?;
            tx.commit().await?;
            Ok(removed.rows_affected() > 0)
        })
    }

    /// Lifts a ban and logs it; false if there was none.
    pub async fn unban(
        &self,
        room_id: RoomId,
        user_id: i64,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "DELETE FROM room_ban WHERE room_id = $1 AND user_id = $2";
        self.delete_logged(SQL, room_id, user_id, log, now).await
    }

    /// The user's ban from the room in force at `now`, from the room itself or from its
    /// event: `Some(until)` (`until` `None`: until unbanned; the longer of two).
    pub async fn active_ban(
        &self,
        room_id: RoomId,
        user_id: i64,
        now: Millis,
    ) -> Result<Option<Option<Millis>>, sqlx::Error> {
        const SQL: &str = "SELECT until FROM (SELECT until FROM room_ban WHERE room_id = $1 AND user_id = $2 \
            AND (until IS NULL OR until > $3) \
            UNION ALL SELECT b.until FROM event_ban b JOIN room r ON r.event_id = b.event_id \
            WHERE r.room_id = $1 AND b.user_id = $2 AND (b.until IS NULL OR b.until > $3)) AS bans \
            ORDER BY (until IS NULL) DESC, until DESC LIMIT 1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (Option<i64>,)>(SQL)
                .bind(room_id)
                .bind(user_id)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
        .map(|row| row.map(|(until,)| until))
    }

    /// Which of these users are banned from the room at `now` (from the room or its
    /// event), each with when their ban ends (`None`: until unbanned; the longer of two):
    /// [`Store::active_ban`] for a list, in one query per few hundred users.
    pub async fn active_bans_among(
        &self,
        room_id: RoomId,
        user_ids: &[UserId],
        now: Millis,
    ) -> Result<Vec<(UserId, Option<Millis>)>, sqlx::Error> {
        let mut found: Vec<(UserId, Option<Millis>)> = Vec::new();
        for list in in_lists(user_ids) {
            let ids = placeholders(3, list.len());
            let sql = format!(
                "SELECT user_id, until FROM room_ban WHERE room_id = $1 AND (until IS NULL OR until > $2) \
                 AND user_id IN ({ids}) \
                 UNION ALL SELECT b.user_id, b.until FROM event_ban b JOIN room r ON r.event_id = b.event_id \
                 WHERE r.room_id = $1 AND (b.until IS NULL OR b.until > $2) AND b.user_id IN ({ids})"
            );
            let rows: Vec<(i64, Option<i64>)> = with_pool!(self, reader, |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(room_id).bind(now);
                for id in &list {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await
            })?;
            found.extend(rows);
        }
        // The longer ban of a user banned twice (room and event): `None` outlasts any time.
        found.sort_by_key(|&(user_id, until)| (user_id, until.is_none(), until));
        let mut longest: Vec<(UserId, Option<Millis>)> = Vec::with_capacity(found.len());
        for (user_id, until) in found {
            match longest.last_mut() {
                Some(last) if last.0 == user_id => last.1 = until,
                _ => longest.push((user_id, until)),
            }
        }
        Ok(longest)
    }

    /// The room's bans in force at `now`, newest first.
    pub async fn bans(&self, room_id: RoomId, now: Millis) -> Result<Vec<Ban>, sqlx::Error> {
        const SQL: &str = "SELECT u.user_id, u.username, u.display_name, u.role, \
            b2.user_id AS by_id, b2.username AS by_username, b2.display_name AS by_display_name, b2.role AS by_role, \
            b.reason, b.until, b.created_at \
            FROM room_ban b JOIN app_user u ON u.user_id = b.user_id LEFT JOIN app_user b2 ON b2.user_id = b.banned_by \
            WHERE b.room_id = $1 AND (b.until IS NULL OR b.until > $2) ORDER BY b.created_at DESC LIMIT +$3";
        let rows: Vec<BanRow> = with_pool!(self, reader, |pool| {
            sqlx::query_as(SQL).bind(room_id).bind(now).bind(BANS_LIST_MAX).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Ban::from).collect())
    }
}

impl Store {
    /// Bans a user from every room of an event (also rooms created later) and removes
    /// them from the existing ones, logging it in each, in one transaction. Returns the
    /// rooms they were removed from.
    pub async fn ban_from_event(
        &self,
        event_id: i64,
        user_id: i64,
        until: Option<Millis>,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<Vec<(RoomId, bool)>, sqlx::Error> {
        const BAN: &str = "INSERT INTO event_ban (event_id, user_id, banned_by, reason, until, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, user_id) DO UPDATE SET \
            banned_by = excluded.banned_by, reason = excluded.reason, until = excluded.until, \
            created_at = excluded.created_at";
        const ROOMS: &str = "SELECT room_id FROM room WHERE event_id = $1";
        const REMOVE: &str = "DELETE FROM participant WHERE room_id = $1 AND user_id = $2";
        in_transaction!(self, |tx| {
            sqlx::query(BAN)
                .bind(event_id)
                .bind(user_id)
                .bind(log.actor_id)
                .bind(&log.reason)
                .bind(until)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let rooms: Vec<(i64,)> = sqlx::query_as(ROOMS).bind(event_id).fetch_all(&mut *tx).await?;
            let mut each = Vec::with_capacity(rooms.len());
            for (room_id,) in rooms {
                let done = sqlx::query(REMOVE).bind(room_id).bind(user_id).execute(&mut *tx).await?;
                each.push((room_id, done.rows_affected() > 0));
                let entry = NewModerationEntry { room_id, ..log.clone() };
                insert_entry_in!(&mut *tx, &entry, now)?;
            }
            tx.commit().await?;
            Ok(each)
        })
    }

    /// Lifts an event-wide ban, logging it in each of the event's rooms, which it
    /// returns; `None` if there was no such ban.
    pub async fn unban_from_event(
        &self,
        event_id: i64,
        user_id: i64,
        log: &NewModerationEntry,
        now: Millis,
    ) -> Result<Option<Vec<RoomId>>, sqlx::Error> {
        const UNBAN: &str = "DELETE FROM event_ban WHERE event_id = $1 AND user_id = $2";
        const ROOMS: &str = "SELECT room_id FROM room WHERE event_id = $1";
        in_transaction!(self, |tx| {
            let done = sqlx::query(UNBAN).bind(event_id).bind(user_id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let rooms: Vec<(i64,)> = sqlx::query_as(ROOMS).bind(event_id).fetch_all(&mut *tx).await?;
            for &(room_id,) in &rooms {
                let entry = NewModerationEntry { room_id, ..log.clone() };
                insert_entry_in!(&mut *tx, &entry, now)?;
            }
            tx.commit().await?;
            Ok(Some(rooms.into_iter().map(|(id,)| id).collect()))
        })
    }
}
