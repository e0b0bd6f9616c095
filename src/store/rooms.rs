//! `room` and `participant`.

use sqlx::FromRow;

use super::users::UserRow;
use super::{Store, in_transaction, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::presence::Presence;
use crate::domain::room::{
    NotificationLevel, Participant, ParticipantCursor, ParticipantRole, Room, RoomId, RoomSettings, RoomType,
};
use crate::domain::user::{User, UserId};

#[derive(Debug, Clone, FromRow)]
pub struct RoomRow {
    pub room_id: i64,
    pub room_type: RoomType,
    #[sqlx(flatten)]
    pub settings: RoomSettings,
    pub event_id: Option<i64>,
    pub direct_key: Option<String>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub participant_count: i64,
}

impl RoomRow {
    pub fn to_room(&self) -> Room {
        Room {
            id: self.room_id,
            room_type: self.room_type,
            settings: self.settings.clone(),
            event_id: self.event_id,
            created_by: self.created_by,
            created_at: to_rfc3339(self.created_at),
            is_direct: self.direct_key.is_some(),
            participant_count: self.participant_count,
        }
    }
}

/// A room in the caller's list, with their unread counts.
#[derive(Debug, FromRow)]
pub struct RoomListRow {
    #[sqlx(flatten)]
    pub room: RoomRow,
    pub my_role: ParticipantRole,
    pub unread_count: i64,
    pub mention_count: i64,
    pub announcement_count: i64,
    pub last_message_id: Option<i64>,
    /// The other participant of a direct message.
    pub direct_with_id: Option<i64>,
}

#[derive(Debug, FromRow)]
struct RoomAndMembership {
    #[sqlx(flatten)]
    room: RoomRow,
    role: Option<ParticipantRole>,
    muted_until: Option<i64>,
    last_read_seq: Option<i64>,
    last_read_message_id: Option<i64>,
    notifications: Option<NotificationLevel>,
    sound: Option<bool>,
    permissions: Option<String>,
    event_organizer: Option<i64>,
}

/// A room as one user stands in it: their membership, if any, and who organizes the
/// room's event.
pub struct RoomStanding {
    pub room: RoomRow,
    pub membership: Option<Membership>,
    pub event_organizer: Option<UserId>,
}

/// The caller's own participation in a room.
#[derive(Debug, Clone, FromRow)]
pub struct Membership {
    pub role: ParticipantRole,
    pub muted_until: Option<i64>,
    pub last_read_seq: i64,
    pub last_read_message_id: Option<i64>,
    pub notifications: NotificationLevel,
    pub sound: bool,
    /// A moderator's grants as stored; see `domain::room::stored_permissions`.
    pub permissions: Option<String>,
}

#[derive(Debug, FromRow)]
pub struct ParticipantRow {
    #[sqlx(flatten)]
    user: UserRow,
    participant_role: ParticipantRole,
    joined_at: i64,
    muted_until: Option<i64>,
    role_rank: i64,
    name_key: String,
}

impl ParticipantRow {
    pub fn user_id(&self) -> UserId {
        self.user.user_id
    }

    /// Where a page that ends with this row continues.
    pub fn cursor(&self) -> ParticipantCursor {
        ParticipantCursor { role_rank: self.role_rank, name_key: self.name_key.clone() }
    }

    pub fn into_participant(self, presence: Presence) -> Participant {
        Participant {
            user: self.user.into(),
            role: self.participant_role,
            joined_at: to_rfc3339(self.joined_at),
            muted_until: self.muted_until.map(to_rfc3339),
            presence,
        }
    }
}

/// What `insert_room` stores.
pub struct NewRoom<'a> {
    pub room_type: RoomType,
    pub settings: &'a RoomSettings,
    pub event_id: Option<i64>,
    pub direct_key: Option<&'a str>,
    pub created_by: UserId,
    pub now: Millis,
}

/// The columns of [`RoomSettings`], in the order [`bind_settings!`] binds them. The
/// only place besides the migrations that lists them.
macro_rules! settings_columns {
    () => {
        settings_columns!(@ "")
    };
    // Qualified by `room r`, for queries that join tables with columns of the same names.
    (r) => {
        settings_columns!(@ "r.")
    };
    (@ $p:literal) => {
        concat!(
            $p, "name, ", $p, "description, ", $p, "is_public, ", $p, "allow_files, ", $p, "allow_voice, ", $p,
            "moderation_enabled, ", $p, "slow_mode_seconds, ", $p, "posting, ", $p, "blocked_words, ", $p,
            "filter_mode, ", $p, "qa_enabled, ", $p, "qa_moderation"
        )
    };
}

/// Binds a `&RoomSettings` in [`settings_columns!`] order.
macro_rules! bind_settings {
    ($query:expr, $settings:expr) => {{
        let s: &$crate::domain::room::RoomSettings = $settings;
        $query
            .bind(&s.name)
            .bind(&s.description)
            .bind(s.is_public)
            .bind(s.allow_files)
            .bind(s.allow_voice)
            .bind(s.moderation_enabled)
            .bind(s.slow_mode_seconds)
            .bind(s.posting.as_str())
            .bind(s.blocked_words.stored())
            .bind(s.filter_mode.as_str())
            .bind(s.qa_enabled)
            .bind(s.qa_moderation)
    }};
}
pub(super) use bind_settings;

/// The columns of a [`RoomRow`], for a query over `room r`.
macro_rules! room_columns {
    () => {
        concat!(
            "r.room_id, r.room_type, ",
            settings_columns!(r),
            ", r.event_id, r.direct_key, r.created_by, r.created_at, r.participant_count"
        )
    };
}

macro_rules! select_room {
    () => {
        concat!("SELECT ", room_columns!(), " FROM room r")
    };
}

macro_rules! participant_page {
    ($($filter:literal)?) => {
        concat!(
            "SELECT u.user_id, u.username, u.display_name, u.role, p.role AS participant_role, \
             p.joined_at, p.muted_until, p.role_rank, p.name_key \
             FROM participant p JOIN app_user u ON u.user_id = p.user_id \
             WHERE p.room_id = $1 AND (p.role_rank > $2 OR (p.role_rank = $2 AND p.name_key > $3))",
            $($filter,)?
            " ORDER BY p.role_rank, p.name_key LIMIT +$4"
        )
    };
}
/// A page of participants in (role, username) order after a cursor.
const PARTICIPANT_PAGE: &str = participant_page!();
/// The same, of those whose username or display name starts with a pattern.
const PARTICIPANT_PAGE_MATCHING: &str =
    participant_page!(" AND (p.name_key LIKE $5 ESCAPE '!' OR lower(u.display_name) LIKE $5 ESCAPE '!')");

pub(super) const INSERT_ROOM: &str = concat!(
    "INSERT INTO room (",
    settings_columns!(),
    ", room_type, event_id, direct_key, created_by, created_at, last_activity_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING room_id"
);

/// New participants start with everything already in the room marked read.
pub(super) const INSERT_PARTICIPANT: &str = "INSERT INTO participant \
    (room_id, user_id, role, joined_at, last_read_seq, role_rank, name_key) \
    SELECT $1, $2, $3, $4, r.last_seq, CASE $3 WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END, \
    (SELECT u.username_folded FROM app_user u WHERE u.user_id = $2) FROM room r WHERE r.room_id = $1 \
    ON CONFLICT (room_id, user_id) DO NOTHING";

/// Inside the open transaction `$tx`: inserts a room (`&NewRoom`) and its first
/// participants (`&[(UserId, ParticipantRole)]`), evaluating to the room's id. A macro so
/// that one body serves both backends' transaction types (and event creation).
macro_rules! insert_room_in {
    ($tx:expr, $new:expr, $members:expr) => {{
        let new: &$crate::store::NewRoom<'_> = $new;
        let query = sqlx::query_as($crate::store::rooms::INSERT_ROOM);
        let (room_id,): (i64,) = $crate::store::rooms::bind_settings!(query, new.settings)
            .bind(new.room_type.as_str())
            .bind(new.event_id)
            .bind(new.direct_key)
            .bind(new.created_by)
            .bind(new.now)
            .fetch_one(&mut *$tx)
            .await?;
        for (user_id, role) in $members {
            sqlx::query($crate::store::rooms::INSERT_PARTICIPANT)
                .bind(room_id)
                .bind(user_id)
                .bind(role.as_str())
                .bind(new.now)
                .execute(&mut *$tx)
                .await?;
        }
        room_id
    }};
}
pub(super) use insert_room_in;

impl Store {
    /// Creates a room with its first participants in one transaction.
    pub async fn insert_room(
        &self,
        new: NewRoom<'_>,
        members: &[(UserId, ParticipantRole)],
    ) -> Result<RoomId, sqlx::Error> {
        in_transaction!(self, |tx| {
            let room_id = insert_room_in!(tx, &new, members);
            tx.commit().await?;
            Ok(room_id)
        })
    }

    pub async fn room(&self, room_id: RoomId) -> Result<Option<RoomRow>, sqlx::Error> {
        const SQL: &str = concat!(select_room!(), " WHERE r.room_id = $1");
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(room_id).fetch_optional(pool).await)
    }

    pub async fn room_by_direct_key(&self, key: &str) -> Result<Option<RoomRow>, sqlx::Error> {
        const SQL: &str = concat!(select_room!(), " WHERE r.direct_key = $1");
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(key).fetch_optional(pool).await)
    }

    pub async fn rooms_of_event(&self, event_id: i64) -> Result<Vec<RoomRow>, sqlx::Error> {
        const SQL: &str = concat!(select_room!(), " WHERE r.event_id = $1 ORDER BY r.room_id");
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(event_id).fetch_all(pool).await)
    }

    /// Public rooms, newest first, after the keyset `before` (a room id).
    pub async fn public_rooms(&self, before: RoomId, limit: i64) -> Result<Vec<RoomRow>, sqlx::Error> {
        const SQL: &str = concat!(
            select_room!(),
            " WHERE r.is_public = TRUE AND r.room_id < $1 ORDER BY r.room_id DESC LIMIT +$2"
        );
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(before).bind(limit).fetch_all(pool).await)
    }

    /// The caller's rooms, most recently active first, with unread and mention counts.
    pub async fn room_list(&self, user_id: UserId) -> Result<Vec<RoomListRow>, sqlx::Error> {
        const SQL: &str = concat!(
            "SELECT ",
            room_columns!(),
            ", \
            p.role AS my_role, \
            (SELECT COUNT(*) FROM message m WHERE m.room_id = r.room_id AND m.seq > p.last_read_seq \
               AND m.deleted_at IS NULL AND m.message_type <> 'system' \
               AND (m.sender_id IS NULL OR m.sender_id <> p.user_id)) AS unread_count, \
            (SELECT COUNT(*) FROM message_mention mm JOIN message m ON m.message_id = mm.message_id \
               WHERE mm.user_id = p.user_id AND m.room_id = r.room_id AND m.seq > p.last_read_seq \
               AND m.deleted_at IS NULL) AS mention_count, \
            (SELECT COUNT(*) FROM message m WHERE m.room_id = r.room_id AND m.message_type = 'event_update' \
               AND m.seq > p.last_read_seq AND m.deleted_at IS NULL \
               AND (m.sender_id IS NULL OR m.sender_id <> p.user_id)) AS announcement_count, \
            (SELECT m.message_id FROM message m WHERE m.room_id = r.room_id ORDER BY m.seq DESC LIMIT 1) \
               AS last_message_id, \
            CASE WHEN r.direct_key IS NULL THEN NULL ELSE (SELECT o.user_id FROM participant o \
               WHERE o.room_id = r.room_id AND o.user_id <> p.user_id LIMIT 1) END AS direct_with_id \
            FROM participant p JOIN room r ON r.room_id = p.room_id \
            WHERE p.user_id = $1 ORDER BY r.last_activity_at DESC, r.room_id DESC"
        );
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(user_id).fetch_all(pool).await)
    }

    /// Unread and mention counts of one participant.
    pub async fn unread_counts(&self, room_id: RoomId, user_id: UserId) -> Result<(i64, i64), sqlx::Error> {
        const SQL: &str = "SELECT \
            (SELECT COUNT(*) FROM message m WHERE m.room_id = p.room_id AND m.seq > p.last_read_seq \
               AND m.deleted_at IS NULL AND m.message_type <> 'system' \
               AND (m.sender_id IS NULL OR m.sender_id <> p.user_id)) AS unread_count, \
            (SELECT COUNT(*) FROM message_mention mm JOIN message m ON m.message_id = mm.message_id \
               WHERE mm.user_id = p.user_id AND m.room_id = p.room_id AND m.seq > p.last_read_seq \
               AND m.deleted_at IS NULL) AS mention_count \
            FROM participant p WHERE p.room_id = $1 AND p.user_id = $2";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (i64, i64)>(SQL).bind(room_id).bind(user_id).fetch_optional(pool).await
        })
        .map(|counts| counts.unwrap_or((0, 0)))
    }

    /// A room and, if they participate, `user_id`'s membership, in one round trip.
    pub async fn room_with_membership(
        &self,
        room_id: RoomId,
        user_id: UserId,
    ) -> Result<Option<RoomStanding>, sqlx::Error> {
        const SQL: &str = concat!(
            "SELECT ",
            room_columns!(),
            ", p.role, p.muted_until, p.last_read_seq, p.last_read_message_id, p.notifications, p.sound, \
            p.permissions, e.organizer_id AS event_organizer \
            FROM room r LEFT JOIN participant p ON p.room_id = r.room_id AND p.user_id = $2 \
            LEFT JOIN event e ON e.event_id = r.event_id \
            WHERE r.room_id = $1"
        );
        let row: Option<RoomAndMembership> = with_pool!(self, reader, |pool| {
            sqlx::query_as(SQL).bind(room_id).bind(user_id).fetch_optional(pool).await
        })?;
        Ok(row.map(|row| {
            // A LEFT JOIN: either every participant column is there or none is.
            let membership = match (row.role, row.last_read_seq, row.notifications, row.sound) {
                (Some(role), Some(last_read_seq), Some(notifications), Some(sound)) => Some(Membership {
                    role,
                    muted_until: row.muted_until,
                    last_read_seq,
                    last_read_message_id: row.last_read_message_id,
                    notifications,
                    sound,
                    permissions: row.permissions,
                }),
                _ => None,
            };
            RoomStanding { room: row.room, membership, event_organizer: row.event_organizer }
        }))
    }

    pub async fn membership(
        &self,
        room_id: RoomId,
        user_id: UserId,
    ) -> Result<Option<Membership>, sqlx::Error> {
        const SQL: &str = "SELECT role, muted_until, last_read_seq, last_read_message_id, notifications, sound, \
            permissions FROM participant WHERE room_id = $1 AND user_id = $2";
        with_pool!(self, reader, |pool| sqlx::query_as(SQL)
            .bind(room_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await)
    }

    /// Participants with their users, owners first, then by name.
    /// Up to `limit` participants after `after` in (role, username) order, an index
    /// range scan on `participant_page`; with `prefix`, only those whose username or
    /// display name starts with it (case-insensitive).
    pub async fn participants_page(
        &self,
        room_id: RoomId,
        after: Option<&ParticipantCursor>,
        prefix: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ParticipantRow>, sqlx::Error> {
        let (rank, name) = after.map_or((-1, ""), |c| (c.role_rank, c.name_key.as_str()));
        match prefix {
            None => with_pool!(self, reader, |pool| sqlx::query_as(PARTICIPANT_PAGE)
                .bind(room_id)
                .bind(rank)
                .bind(name)
                .bind(limit)
                .fetch_all(pool)
                .await),
            Some(prefix) => {
                // `!` escapes LIKE's wildcards, so a prefix is only ever a prefix.
                let mut pattern = String::with_capacity(prefix.len() + 1);
                for c in prefix.to_lowercase().chars() {
                    if matches!(c, '%' | '_' | '!') {
                        pattern.push('!');
                    }
                    pattern.push(c);
                }
                pattern.push('%');
                with_pool!(self, reader, |pool| sqlx::query_as(PARTICIPANT_PAGE_MATCHING)
                    .bind(room_id)
                    .bind(rank)
                    .bind(name)
                    .bind(limit)
                    .bind(&pattern)
                    .fetch_all(pool)
                    .await)
            }
        }
    }

    pub async fn participant_count(&self, room_id: RoomId) -> Result<i64, sqlx::Error> {
        // Kept by triggers on `participant` (migration 0015); 0 for a room that is gone.
        const SQL: &str = "SELECT participant_count FROM room WHERE room_id = $1";
        let count: Option<(i64,)> =
            with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(room_id).fetch_optional(pool).await)?;
        Ok(count.map_or(0, |(n,)| n))
    }

    /// The room roles of those of `user_ids` who participate.
    pub async fn participant_roles(
        &self,
        room_id: RoomId,
        user_ids: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, ParticipantRole>, sqlx::Error> {
        let mut roles = std::collections::HashMap::new();
        for list in super::in_lists(user_ids) {
            let sql = format!(
                "SELECT user_id, role FROM participant WHERE room_id = $1 AND user_id IN ({})",
                super::placeholders(2, list.len())
            );
            let rows: Vec<(i64, ParticipantRole)> = with_pool!(self, reader, |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(room_id);
                for id in &list {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await
            })?;
            roles.extend(rows);
        }
        Ok(roles)
    }

    /// The user ids of a room's participants.
    pub async fn participant_ids(&self, room_id: RoomId) -> Result<Vec<UserId>, sqlx::Error> {
        const SQL: &str = "SELECT user_id FROM participant WHERE room_id = $1";
        let rows: Vec<(i64,)> =
            with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(room_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Makes a participant a moderator with these grants (`Some`), or a member again
    /// (`None`), and logs it, in one transaction; false if they are not a participant.
    pub async fn set_moderator(
        &self,
        room_id: RoomId,
        user_id: UserId,
        permissions: Option<&str>,
        log: &crate::domain::moderation::NewModerationEntry,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE participant SET role = $3, permissions = $4, role_rank = CASE $3 WHEN 'moderator' THEN 1 ELSE 2 END \
             WHERE room_id = $1 AND user_id = $2";
        let role = if permissions.is_some() { ParticipantRole::Moderator } else { ParticipantRole::Member };
        in_transaction!(self, |tx| {
            let done = sqlx::query(SQL)
                .bind(room_id)
                .bind(user_id)
                .bind(role.as_str())
                .bind(permissions)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            super::moderation::insert_entry_in!(&mut *tx, log, now)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The room's owners and moderators with their users and grants as stored.
    pub async fn moderators(
        &self,
        room_id: RoomId,
    ) -> Result<Vec<(User, ParticipantRole, Option<String>)>, sqlx::Error> {
        const SQL: &str = "SELECT u.user_id, u.username, u.display_name, u.role, p.role AS participant_role, \
            p.permissions FROM participant p JOIN app_user u ON u.user_id = p.user_id \
            WHERE p.room_id = $1 AND p.role IN ('owner', 'moderator') ORDER BY p.role DESC, u.username_folded";
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            participant_role: ParticipantRole,
            permissions: Option<String>,
        }
        let rows: Vec<Row> =
            with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(room_id).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|r| (r.user.into(), r.participant_role, r.permissions)).collect())
    }

    /// Every participant's id and notification level.
    pub async fn participant_levels(
        &self,
        room_id: RoomId,
    ) -> Result<Vec<(UserId, NotificationLevel)>, sqlx::Error> {
        const SQL: &str = "SELECT user_id, notifications FROM participant WHERE room_id = $1";
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(room_id).fetch_all(pool).await)
    }

    /// Rooms a user participates in (to subscribe their sockets).
    pub async fn room_ids_of_user(&self, user_id: UserId) -> Result<Vec<RoomId>, sqlx::Error> {
        const SQL: &str = "SELECT room_id FROM participant WHERE user_id = $1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (i64,)>(SQL).bind(user_id).fetch_all(pool).await
        })
        .map(|rows| rows.into_iter().map(|(id,)| id).collect())
    }

    /// Adds a participant; false if they already were one.
    pub async fn add_participant(
        &self,
        room_id: RoomId,
        user_id: UserId,
        role: ParticipantRole,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        with_pool!(self, writer, |pool| {
            sqlx::query(INSERT_PARTICIPANT)
                .bind(room_id)
                .bind(user_id)
                .bind(role.as_str())
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() > 0)
        })
    }

    /// Removes a participant; false if they were not one.
    pub async fn remove_participant(&self, room_id: RoomId, user_id: UserId) -> Result<bool, sqlx::Error> {
        const SQL: &str = "DELETE FROM participant WHERE room_id = $1 AND user_id = $2";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL)
                .bind(room_id)
                .bind(user_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() > 0)
        })
    }

    pub async fn update_room_settings(
        &self,
        room_id: RoomId,
        settings: &RoomSettings,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = concat!(
            "UPDATE room SET (",
            settings_columns!(),
            ") = ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) WHERE room_id = $13"
        );
        with_pool!(self, writer, |pool| {
            bind_settings!(sqlx::query(SQL), settings).bind(room_id).execute(pool).await.map(drop)
        })
    }

    /// Moves the read marker forward (never back); returns whether it moved.
    pub async fn mark_read(
        &self,
        room_id: RoomId,
        user_id: UserId,
        seq: i64,
        message_id: i64,
    ) -> Result<bool, sqlx::Error> {
        const SQL: &str = "UPDATE participant SET last_read_seq = $3, last_read_message_id = $4 \
            WHERE room_id = $1 AND user_id = $2 AND last_read_seq < $3";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL)
                .bind(room_id)
                .bind(user_id)
                .bind(seq)
                .bind(message_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() > 0)
        })
    }

    pub async fn set_preferences(
        &self,
        room_id: RoomId,
        user_id: UserId,
        notifications: NotificationLevel,
        sound: bool,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str =
            "UPDATE participant SET notifications = $3, sound = $4 WHERE room_id = $1 AND user_id = $2";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL)
                .bind(room_id)
                .bind(user_id)
                .bind(notifications.as_str())
                .bind(sound)
                .execute(pool)
                .await
                .map(drop)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageArgs;
    use crate::store::Backend;

    /// The settings columns and their binds agree in order: distinct values survive an
    /// insert and an update.
    #[tokio::test]
    async fn settings_round_trip_through_insert_and_update() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageArgs::embedded(dir.path()), 1).await.unwrap();
        let first = RoomSettings {
            name: "Hall".into(),
            description: "Where it happens".into(),
            is_public: true,
            allow_files: false,
            allow_voice: true,
            moderation_enabled: false,
            slow_mode_seconds: 0,
            posting: crate::domain::room::Posting::Everyone,
            blocked_words: crate::domain::words::WordList(vec!["spoiler".into()]),
            filter_mode: crate::domain::words::FilterMode::Mask,
            qa_enabled: true,
            qa_moderation: false,
        };
        let owner = store
            .insert_user(crate::store::NewUser {
                username: "owner",
                username_folded: "owner",
                display_name: "Owner",
                password_hash: "x",
                role: crate::domain::user::Role::User,
                created_at: 1,
            })
            .await
            .unwrap();
        let new = NewRoom {
            room_type: RoomType::General,
            settings: &first,
            event_id: None,
            direct_key: None,
            created_by: owner.id,
            now: 1,
        };
        let room_id = store.insert_room(new, &[(owner.id, ParticipantRole::Owner)]).await.unwrap();
        assert_eq!(store.room(room_id).await.unwrap().unwrap().settings, first);
        let second = RoomSettings {
            name: "Foyer".into(),
            description: String::new(),
            is_public: false,
            allow_files: true,
            allow_voice: false,
            moderation_enabled: true,
            slow_mode_seconds: 30,
            posting: crate::domain::room::Posting::Moderators,
            blocked_words: crate::domain::words::WordList::default(),
            filter_mode: crate::domain::words::FilterMode::Reject,
            qa_enabled: false,
            qa_moderation: true,
        };
        store.update_room_settings(room_id, &second).await.unwrap();
        assert_eq!(store.room(room_id).await.unwrap().unwrap().settings, second);
        store.close().await;
    }

    /// Participant pages are range scans of `participant_page`, with no sort, however
    /// many thousands are in the room.
    #[tokio::test]
    async fn participant_pages_use_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageArgs::embedded(dir.path()), 1).await.unwrap();
        let Backend::Sqlite { reader, .. } = &store.backend else { unreachable!("embedded store is SQLite") };
        for sql in [PARTICIPANT_PAGE, PARTICIPANT_PAGE_MATCHING] {
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(explain))
                .bind(1)
                .bind(0)
                .bind("")
                .bind(50)
                .bind("a%")
                .fetch_all(reader)
                .await
                .unwrap();
            let details: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
            assert!(details.iter().any(|d| d.contains("USING INDEX participant_page")), "{details:?}");
            assert!(details.iter().all(|d| !d.contains("TEMP B-TREE")), "{details:?}");
        }
        store.close().await;
    }
}
