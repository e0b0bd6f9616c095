//! `message` and what hangs off it: versions, mentions, reactions, polls.
//!
//! Pages are contiguous `seq` ranges of one room, so the details of a page (mentions,
//! reactions, polls) are fetched with one query each over that range, using the
//! `(room_id, seq)` index: a page costs the same at message 10 as at message 10 million.

use std::collections::HashMap;

use sqlx::FromRow;

use super::files::{FileRow, expire_files_of_message_in, insert_file_in, select_file};
use super::moderation::insert_entry_in;
use super::{Backend, Store, in_lists, in_transaction, placeholders, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::message::{Message, MessageId, MessageType, NewMessage, Poll, PollOption, ReactionCount};
use crate::domain::moderation::NewModerationEntry;
use crate::domain::room::RoomId;
use crate::domain::user::{Role, User, UserId};

/// Which messages of a room to read.
#[derive(Debug, Clone, Copy)]
pub enum PageQuery {
    /// The newest `limit` messages with `seq < before` (`i64::MAX`: the latest).
    Before { before_seq: i64, limit: i64 },
    /// The oldest `limit` messages with `seq > after`.
    After { after_seq: i64, limit: i64 },
    /// As `Before`, from the message `before_id` of this room (an unknown id gives nothing).
    BeforeId { before_id: MessageId, limit: i64 },
    /// As `After`, from the message `after_id` of this room (an unknown id gives nothing).
    AfterId { after_id: MessageId, limit: i64 },
    /// Messages up to `up_to_seq` changed after `since_change` (catch-up after reconnect).
    ChangedSince { up_to_seq: i64, since_change: i64, limit: i64 },
}

/// The facts about a message that rules need (who sent it, when, is it deleted).
#[derive(Debug, Clone, FromRow)]
pub struct MessageFacts {
    pub message_id: i64,
    pub room_id: i64,
    pub seq: i64,
    pub sender_id: Option<i64>,
    pub message_type: MessageType,
    pub content: Option<String>,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub created_change: i64,
}

/// The result of `insert_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertedMessage {
    Created(MessageId),
    /// A message with this sender and `client_id` already existed.
    Duplicate(MessageId),
}

#[derive(Debug, FromRow, serde::Deserialize)]
struct MessageRow {
    message_id: i64,
    room_id: i64,
    seq: i64,
    message_type: MessageType,
    content: Option<String>,
    reply_to: Option<i64>,
    client_id: Option<String>,
    created_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    sender_id: Option<i64>,
    sender_username: Option<String>,
    sender_display_name: Option<String>,
    sender_role: Option<Role>,
    reaction_count: i64,
}

#[derive(Debug, FromRow)]
struct MentionRow {
    message_id: i64,
    user_id: i64,
    username: String,
    display_name: String,
    role: Role,
}

#[derive(Debug, FromRow)]
struct ReactionRow {
    message_id: i64,
    emoji: String,
    count: i64,
    mine: i64,
}

#[derive(Debug, FromRow)]
struct PollRow {
    message_id: i64,
    question: String,
    multiple: bool,
    closes_at: Option<i64>,
}

#[derive(Debug, FromRow)]
struct PollOptionRow {
    message_id: i64,
    option_index: i64,
    text: String,
    votes: i64,
}

#[derive(Debug, FromRow)]
struct VoteRow {
    message_id: i64,
    option_index: i64,
}

macro_rules! select_message {
    () => {
        "SELECT m.message_id, m.room_id, m.seq, m.message_type, m.content, m.reply_to, m.client_id, \
         m.created_at, m.edited_at, m.deleted_at, m.sender_id, u.username AS sender_username, \
         u.display_name AS sender_display_name, u.role AS sender_role, m.reaction_count \
         FROM message m LEFT JOIN app_user u ON u.user_id = m.sender_id"
    };
}

/// A page of history before / after a seq, or before / after a message id (resolved in
/// the same statement): range scans on the `(room_id, seq)` index.
macro_rules! page_sql {
    (before_seq) => {
        concat!(select_message!(), " WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT +$3")
    };
    (after_seq) => {
        concat!(select_message!(), " WHERE m.room_id = $1 AND m.seq > $2 ORDER BY m.seq ASC LIMIT +$3")
    };
    (before_id) => {
        concat!(
            select_message!(),
            " WHERE m.room_id = $1 AND m.seq < (SELECT c.seq FROM message c WHERE c.message_id = $2 \
             AND c.room_id = $1) ORDER BY m.seq DESC LIMIT +$3"
        )
    };
    (after_id) => {
        concat!(
            select_message!(),
            " WHERE m.room_id = $1 AND m.seq > (SELECT c.seq FROM message c WHERE c.message_id = $2 \
             AND c.room_id = $1) ORDER BY m.seq ASC LIMIT +$3"
        )
    };
    (changed_since) => {
        concat!(
            select_message!(),
            " WHERE m.room_id = $1 AND m.seq <= $2 AND m.last_change > $3 ORDER BY m.seq ASC LIMIT +$4"
        )
    };
}

/// The same page as one JSON array in one row. sqlx runs each SQLite connection on its
/// own thread and hands rows over one at a time; a profile of history reads showed those
/// hand-offs, not the queries, as the cost. PostgreSQL's driver has no such hand-off.
macro_rules! page_json {
    ($page:tt) => {
        concat!(
            "SELECT json_group_array(json_object('message_id', message_id, 'room_id', room_id, 'seq', seq, \
             'message_type', message_type, 'content', content, 'reply_to', reply_to, 'client_id', client_id, \
             'created_at', created_at, 'edited_at', edited_at, 'deleted_at', deleted_at, 'sender_id', sender_id, \
             'sender_username', sender_username, 'sender_display_name', sender_display_name, \
             'sender_role', sender_role, 'reaction_count', reaction_count)) FROM (",
            page_sql!($page),
            ")"
        )
    };
}

/// Each page query as PostgreSQL runs it and as SQLite runs it (one JSON row).
const BEFORE: (&str, &str) = (page_sql!(before_seq), page_json!(before_seq));
const AFTER: (&str, &str) = (page_sql!(after_seq), page_json!(after_seq));
const BEFORE_ID: (&str, &str) = (page_sql!(before_id), page_json!(before_id));
const AFTER_ID: (&str, &str) = (page_sql!(after_id), page_json!(after_id));
const CHANGED: (&str, &str) = (page_sql!(changed_since), page_json!(changed_since));

/// Keeps a message's previous text (audit trail) as its next version.
const SAVE_VERSION: &str = "INSERT INTO message_version \
    (message_id, version, content, replaced_at, replaced_by, reason) \
    SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5 FROM message_version WHERE message_id = $1";

/// Inside the open transaction `$tx`: keeps a message's current text as its next version
/// (the audit trail every edit and delete leaves) and evaluates to the room's next change
/// number. A macro so that one body serves both backends' transaction types.
macro_rules! archive_text_in {
    ($tx:expr, $facts:expr, $by:expr, $reason:expr, $now:expr) => {{
        let facts: &MessageFacts = $facts;
        sqlx::query(SAVE_VERSION)
            .bind(facts.message_id)
            .bind(facts.content.clone().unwrap_or_default())
            .bind($now)
            .bind($by)
            .bind($reason)
            .execute(&mut *$tx)
            .await?;
        let (change,): (i64,) =
            sqlx::query_as(BUMP_ROOM_CHANGE).bind(facts.room_id).fetch_one(&mut *$tx).await?;
        change
    }};
}

const BUMP_ROOM_CHANGE: &str =
    "UPDATE room SET last_change = last_change + 1 WHERE room_id = $1 RETURNING last_change";

impl Store {
    /// Stores a message with the room's next `seq`, its mentions and poll, in one
    /// transaction. With a `client_id` the sender already used in this room, stores
    /// nothing and names the earlier message.
    pub async fn insert_message(
        &self,
        room_id: RoomId,
        sender: Option<UserId>,
        new: &NewMessage,
        mentions: &[UserId],
        now: Millis,
    ) -> Result<InsertedMessage, sqlx::Error> {
        const FIND_CLIENT_ID: &str =
            "SELECT message_id FROM message WHERE room_id = $1 AND sender_id = $2 AND client_id = $3";
        const NEXT_SEQ: &str = "UPDATE room SET last_seq = last_seq + 1, last_change = last_change + 1, \
            last_activity_at = $2 WHERE room_id = $1 RETURNING last_seq, last_change";
        const INSERT: &str = "INSERT INTO message (room_id, seq, sender_id, message_type, content, reply_to, \
            client_id, created_at, created_change, last_change) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
            RETURNING message_id";
        const MENTION: &str = "INSERT INTO message_mention (message_id, user_id) VALUES ($1, $2)";
        const POLL: &str =
            "INSERT INTO poll (message_id, question, multiple, closes_at) VALUES ($1, $2, $3, $4)";
        const OPTION: &str = "INSERT INTO poll_option (message_id, option_index, text) VALUES ($1, $2, $3)";
        in_transaction!(self, |tx| {
            if let (Some(client_id), Some(sender)) = (&new.client_id, sender) {
                let existing: Option<(i64,)> = sqlx::query_as(FIND_CLIENT_ID)
                    .bind(room_id)
                    .bind(sender)
                    .bind(client_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some((id,)) = existing {
                    return Ok(InsertedMessage::Duplicate(id));
                }
            }
            let (seq, change): (i64, i64) =
                sqlx::query_as(NEXT_SEQ).bind(room_id).bind(now).fetch_one(&mut *tx).await?;
            let (message_id,): (i64,) = sqlx::query_as(INSERT)
                .bind(room_id)
                .bind(seq)
                .bind(sender)
                .bind(new.message_type.as_str())
                .bind(&new.content)
                .bind(new.reply_to)
                .bind(&new.client_id)
                .bind(now)
                .bind(change)
                .fetch_one(&mut *tx)
                .await?;
            for user_id in mentions {
                sqlx::query(MENTION).bind(message_id).bind(user_id).execute(&mut *tx).await?;
            }
            if let Some(file) = &new.attachment {
                insert_file_in!(tx, message_id, room_id, sender, file, now)?;
            }
            if let Some(poll) = &new.poll {
                sqlx::query(POLL)
                    .bind(message_id)
                    .bind(&poll.question)
                    .bind(poll.multiple)
                    .bind(poll.closes_at)
                    .execute(&mut *tx)
                    .await?;
                for (index, text) in poll.options.iter().enumerate() {
                    sqlx::query(OPTION)
                        .bind(message_id)
                        .bind(index as i64)
                        .bind(text)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(InsertedMessage::Created(message_id))
        })
    }

    /// Appends plain text messages in one transaction (seeding benchmarks, imports):
    /// no mentions, no broadcast. Returns the ids of the first and last message.
    pub async fn bulk_insert_messages(
        &self,
        room_id: RoomId,
        sender: UserId,
        contents: &[String],
        now: Millis,
    ) -> Result<Option<(MessageId, MessageId)>, sqlx::Error> {
        const RESERVE: &str = "UPDATE room SET last_seq = last_seq + $2, last_change = last_change + $2, \
            last_activity_at = $3 WHERE room_id = $1 RETURNING last_seq, last_change";
        const INSERT: &str = "INSERT INTO message (room_id, seq, sender_id, message_type, content, created_at, \
            created_change, last_change) VALUES ($1, $2, $3, 'text', $4, $5, $6, $6) RETURNING message_id";
        if contents.is_empty() {
            return Ok(None);
        }
        let count = contents.len() as i64;
        in_transaction!(self, |tx| {
            let (last_seq, last_change): (i64, i64) =
                sqlx::query_as(RESERVE).bind(room_id).bind(count).bind(now).fetch_one(&mut *tx).await?;
            let (first_seq, first_change) = (last_seq - count + 1, last_change - count + 1);
            let mut ids = (0, 0);
            for (i, content) in contents.iter().enumerate() {
                let (id,): (i64,) = sqlx::query_as(INSERT)
                    .bind(room_id)
                    .bind(first_seq + i as i64)
                    .bind(sender)
                    .bind(content)
                    .bind(now)
                    .bind(first_change + i as i64)
                    .fetch_one(&mut *tx)
                    .await?;
                if i == 0 {
                    ids.0 = id;
                }
                ids.1 = id;
            }
            tx.commit().await?;
            Ok(Some(ids))
        })
    }

    pub async fn message_facts(&self, message_id: MessageId) -> Result<Option<MessageFacts>, sqlx::Error> {
        const SQL: &str = "SELECT message_id, room_id, seq, sender_id, message_type, content, created_at, \
            deleted_at, created_change FROM message WHERE message_id = $1";
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(message_id).fetch_optional(pool).await)
    }

    /// One message as `viewer` sees it at `now` (which decides whether its poll is closed);
    /// without a viewer, nothing in it depends on who looks.
    pub async fn message(
        &self,
        message_id: MessageId,
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<Option<Message>, sqlx::Error> {
        const SQL: &str = concat!(select_message!(), " WHERE m.message_id = $1");
        let rows: Vec<MessageRow> =
            with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(message_id).fetch_all(pool).await)?;
        Ok(self.assemble(rows, viewer, now).await?.pop())
    }

    /// Messages by id, from any rooms (the last message of each room in a room list), in
    /// no particular order, a few hundred per query.
    pub async fn messages_by_ids(
        &self,
        message_ids: &[MessageId],
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let mut messages = Vec::with_capacity(message_ids.len());
        for list in in_lists(message_ids) {
            let sql =
                format!("{} WHERE m.message_id IN ({})", select_message!(), placeholders(1, list.len()));
            let rows: Vec<MessageRow> = with_pool!(self, reader, |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in &list {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await
            })?;
            messages.extend(self.assemble(rows, viewer, now).await?);
        }
        Ok(messages)
    }

    /// A page of a room's messages, oldest first, and whether more lie beyond it.
    pub async fn messages(
        &self,
        room_id: RoomId,
        query: PageQuery,
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<(Vec<Message>, bool), sqlx::Error> {
        let (mut rows, limit) = match query {
            PageQuery::Before { before_seq, limit } => {
                (self.page_rows(BEFORE, &[room_id, before_seq, limit + 1]).await?, limit)
            }
            PageQuery::After { after_seq, limit } => {
                (self.page_rows(AFTER, &[room_id, after_seq, limit + 1]).await?, limit)
            }
            PageQuery::BeforeId { before_id, limit } => {
                (self.page_rows(BEFORE_ID, &[room_id, before_id, limit + 1]).await?, limit)
            }
            PageQuery::AfterId { after_id, limit } => {
                (self.page_rows(AFTER_ID, &[room_id, after_id, limit + 1]).await?, limit)
            }
            PageQuery::ChangedSince { up_to_seq, since_change, limit } => {
                let params = [room_id, up_to_seq, since_change, limit + 1];
                (self.page_rows(CHANGED, &params).await?, limit)
            }
        };
        // The JSON form does not promise an order: put newest first for `before` pages
        // (so truncation keeps the newest) and oldest first otherwise.
        let newest_first = matches!(query, PageQuery::Before { .. } | PageQuery::BeforeId { .. });
        rows.sort_unstable_by_key(|row| if newest_first { -row.seq } else { row.seq });
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        if matches!(query, PageQuery::Before { .. } | PageQuery::BeforeId { .. }) {
            rows.reverse();
        }
        Ok((self.assemble(rows, viewer, now).await?, has_more))
    }

    /// Runs a page query: on SQLite as one JSON row, on PostgreSQL row by row.
    async fn page_rows(
        &self,
        (sql, json_sql): (&'static str, &'static str),
        params: &[i64],
    ) -> Result<Vec<MessageRow>, sqlx::Error> {
        match &self.backend {
            Backend::Sqlite { reader, .. } => {
                let mut query = sqlx::query_as::<_, (String,)>(json_sql);
                for param in params {
                    query = query.bind(*param);
                }
                let (json,) = query.fetch_one(reader).await?;
                serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(Box::new(err)))
            }
            Backend::Postgres(pool) => {
                let mut query = sqlx::query_as::<_, MessageRow>(sql);
                for param in params {
                    query = query.bind(*param);
                }
                query.fetch_all(pool).await
            }
        }
    }

    /// Replies to a message, oldest first.
    pub async fn replies(
        &self,
        message_id: MessageId,
        viewer: Option<UserId>,
        limit: i64,
        now: Millis,
    ) -> Result<Vec<Message>, sqlx::Error> {
        const SQL: &str = concat!(select_message!(), " WHERE m.reply_to = $1 ORDER BY m.seq ASC LIMIT +$2");
        let rows: Vec<MessageRow> = with_pool!(self, reader, |pool| sqlx::query_as(SQL)
            .bind(message_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        self.assemble(rows, viewer, now).await
    }

    /// Turns rows into Messages, fetching their details (mentions, reactions, polls) with
    /// one query each: over the rows' seq range when they are of one room (pages and
    /// threads, an index range scan), else by message id.
    async fn assemble(
        &self,
        rows: Vec<MessageRow>,
        viewer: Option<UserId>,
        now: Millis,
    ) -> Result<Vec<Message>, sqlx::Error> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let room_id = first.room_id;
        let (scope, keys): (String, Vec<i64>) = if rows.iter().all(|r| r.room_id == room_id) {
            let low = rows.iter().map(|r| r.seq).min().unwrap_or_default();
            let high = rows.iter().map(|r| r.seq).max().unwrap_or_default();
            ("m.room_id = $1 AND m.seq BETWEEN $2 AND $3".into(), vec![room_id, low, high])
        } else {
            // Rows from `messages_by_ids`: at most one list's worth.
            let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
            let ids = in_lists(&ids).into_iter().next().unwrap_or_default();
            (format!("m.message_id IN ({})", placeholders(1, ids.len())), ids)
        };
        // The viewer comes after the scope's parameters, in the statements that use it.
        let me = format!("${}", keys.len() + 1);
        let mentions_sql = format!(
            "SELECT x.message_id, u.user_id, u.username, u.display_name, u.role \
             FROM message_mention x JOIN app_user u ON u.user_id = x.user_id \
             JOIN message m ON m.message_id = x.message_id WHERE {scope} \
             ORDER BY x.message_id, u.username_folded"
        );
        let reactions_sql = format!(
            "SELECT x.message_id, x.emoji, COUNT(*) AS count, \
             SUM(CASE WHEN x.user_id = {me} THEN 1 ELSE 0 END) AS mine, MIN(x.created_at) AS first_at \
             FROM reaction x JOIN message m ON m.message_id = x.message_id WHERE {scope} \
             GROUP BY x.message_id, x.emoji ORDER BY x.message_id, first_at, x.emoji"
        );
        let polls_sql = format!(
            "SELECT x.message_id, x.question, x.multiple, x.closes_at FROM poll x \
             JOIN message m ON m.message_id = x.message_id WHERE {scope}"
        );
        let options_sql = format!(
            "SELECT x.message_id, x.option_index, x.text, \
             (SELECT COUNT(*) FROM poll_vote v WHERE v.message_id = x.message_id AND v.option_index = x.option_index) \
             AS votes FROM poll_option x JOIN message m ON m.message_id = x.message_id \
             WHERE {scope} ORDER BY x.message_id, x.option_index"
        );
        let files_sql = format!(
            "{} JOIN message m ON m.message_id = f.message_id WHERE {scope} ORDER BY f.file_id",
            select_file!()
        );
        let votes_sql = format!(
            "SELECT x.message_id, x.option_index FROM poll_vote x JOIN message m ON m.message_id = x.message_id \
             WHERE {scope} AND x.user_id = {me} ORDER BY x.option_index"
        );
        // Each statement is a round trip to the connection's thread: skip the ones the rows
        // show to be empty (mentions need an `@` in the text; reactions are counted).
        let has_mentions = rows.iter().any(|r| r.content.as_deref().is_some_and(|c| c.contains('@')));
        let has_reactions = rows.iter().any(|r| r.reaction_count > 0);
        let has_polls = rows.iter().any(|r| r.message_type == MessageType::Poll);
        let has_files = rows.iter().any(|r| r.message_type.carries_file());
        let details: Details = with_pool!(self, reader, |pool| {
            // `fetch!(sql)` binds the scope; `fetch!(sql, viewer)` the viewer after it.
            macro_rules! fetch {
                ($sql:expr $(, $viewer:expr)?) => {{
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe($sql.as_str()));
                    for key in &keys {
                        query = query.bind(key);
                    }
                    $(query = query.bind($viewer);)?
                    query.fetch_all(pool).await?
                }};
            }
            let mentions = if has_mentions { fetch!(mentions_sql) } else { Vec::new() };
            let reactions = if has_reactions { fetch!(reactions_sql, viewer) } else { Vec::new() };
            let (polls, options, votes) = if has_polls {
                let votes = if viewer.is_some() { fetch!(votes_sql, viewer) } else { Vec::new() };
                (fetch!(polls_sql), fetch!(options_sql), votes)
            } else {
                (Vec::new(), Vec::new(), Vec::new())
            };
            let files = if has_files { fetch!(files_sql) } else { Vec::new() };
            Ok::<_, sqlx::Error>(Details { mentions, reactions, polls, options, votes, files })
        })?;
        Ok(build_messages(rows, details, viewer.is_some(), now))
    }

    /// Replaces a message's text, keeping the previous one as a version, and its mentions.
    pub async fn edit_message(
        &self,
        facts: &MessageFacts,
        editor: UserId,
        content: &str,
        mentions: &[UserId],
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        const UPDATE: &str =
            "UPDATE message SET content = $2, edited_at = $3, last_change = $4 WHERE message_id = $1";
        const CLEAR_MENTIONS: &str = "DELETE FROM message_mention WHERE message_id = $1";
        const MENTION: &str = "INSERT INTO message_mention (message_id, user_id) VALUES ($1, $2)";
        in_transaction!(self, |tx| {
            let change = archive_text_in!(tx, facts, editor, "edit", now);
            sqlx::query(UPDATE)
                .bind(facts.message_id)
                .bind(content)
                .bind(now)
                .bind(change)
                .execute(&mut *tx)
                .await?;
            sqlx::query(CLEAR_MENTIONS).bind(facts.message_id).execute(&mut *tx).await?;
            for user_id in mentions {
                sqlx::query(MENTION).bind(facts.message_id).bind(user_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Soft-deletes a message: the text moves to the version history (audit trail), the
    /// message keeps its id and seq, and its reactions go. A moderator's deletion is
    /// logged in the same transaction.
    pub async fn delete_message(
        &self,
        facts: &MessageFacts,
        by: UserId,
        log: Option<&NewModerationEntry>,
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        const UPDATE: &str = "UPDATE message SET content = NULL, deleted_at = $2, deleted_by = $3, last_change = $4, \
            reaction_count = 0 WHERE message_id = $1 AND deleted_at IS NULL";
        const CLEAR_REACTIONS: &str = "DELETE FROM reaction WHERE message_id = $1";
        in_transaction!(self, |tx| {
            let change = archive_text_in!(tx, facts, by, "delete", now);
            sqlx::query(UPDATE)
                .bind(facts.message_id)
                .bind(now)
                .bind(by)
                .bind(change)
                .execute(&mut *tx)
                .await?;
            sqlx::query(CLEAR_REACTIONS).bind(facts.message_id).execute(&mut *tx).await?;
            expire_files_of_message_in!(tx, facts.message_id, now)?;
            sqlx::query("DELETE FROM message_pin WHERE message_id = $1")
                .bind(facts.message_id)
                .execute(&mut *tx)
                .await?;
            if let Some(entry) = log {
                insert_entry_in!(&mut *tx, entry, now)?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every earlier text of a message, oldest first (the audit trail).
    pub async fn message_versions(
        &self,
        message_id: MessageId,
    ) -> Result<Vec<(String, i64, String)>, sqlx::Error> {
        const SQL: &str =
            "SELECT content, replaced_at, reason FROM message_version WHERE message_id = $1 ORDER BY version";
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(message_id).fetch_all(pool).await)
    }

    /// Adds (`add`) or removes a reaction; returns whether anything changed.
    pub async fn set_reaction(
        &self,
        facts: &MessageFacts,
        user_id: UserId,
        emoji: &str,
        add: bool,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const ADD: &str = "INSERT INTO reaction (message_id, user_id, emoji, created_at) VALUES ($1, $2, $3, $4) \
            ON CONFLICT (message_id, user_id, emoji) DO NOTHING";
        const REMOVE: &str = "DELETE FROM reaction WHERE message_id = $1 AND user_id = $2 AND emoji = $3";
        const TOUCH: &str =
            "UPDATE message SET last_change = $2, reaction_count = reaction_count + $3 WHERE message_id = $1";
        in_transaction!(self, |tx| {
            let done = if add {
                sqlx::query(ADD)
                    .bind(facts.message_id)
                    .bind(user_id)
                    .bind(emoji)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
            } else {
                sqlx::query(REMOVE).bind(facts.message_id).bind(user_id).bind(emoji).execute(&mut *tx).await?
            };
            let changed = done.rows_affected() > 0;
            if changed {
                let (change,): (i64,) =
                    sqlx::query_as(BUMP_ROOM_CHANGE).bind(facts.room_id).fetch_one(&mut *tx).await?;
                let delta: i64 = if add { 1 } else { -1 };
                sqlx::query(TOUCH).bind(facts.message_id).bind(change).bind(delta).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Replaces a user's votes on a poll.
    pub async fn set_votes(
        &self,
        facts: &MessageFacts,
        user_id: UserId,
        options: &[i64],
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        const CLEAR: &str = "DELETE FROM poll_vote WHERE message_id = $1 AND user_id = $2";
        const VOTE: &str =
            "INSERT INTO poll_vote (message_id, user_id, option_index, voted_at) VALUES ($1, $2, $3, $4)";
        const TOUCH: &str = "UPDATE message SET last_change = $2 WHERE message_id = $1";
        in_transaction!(self, |tx| {
            sqlx::query(CLEAR).bind(facts.message_id).bind(user_id).execute(&mut *tx).await?;
            for option in options {
                sqlx::query(VOTE)
                    .bind(facts.message_id)
                    .bind(user_id)
                    .bind(option)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let (change,): (i64,) =
                sqlx::query_as(BUMP_ROOM_CHANGE).bind(facts.room_id).fetch_one(&mut *tx).await?;
            sqlx::query(TOUCH).bind(facts.message_id).bind(change).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Number of options of a poll message (0 if it has no poll) and its closing time.
    pub async fn poll_shape(
        &self,
        message_id: MessageId,
    ) -> Result<Option<(i64, bool, Option<i64>)>, sqlx::Error> {
        const SQL: &str = "SELECT (SELECT COUNT(*) FROM poll_option o WHERE o.message_id = p.message_id), \
            p.multiple, p.closes_at FROM poll p WHERE p.message_id = $1";
        with_pool!(self, reader, |pool| sqlx::query_as(SQL).bind(message_id).fetch_optional(pool).await)
    }
}

fn user_of(user_id: i64, username: String, display_name: String, role: Role) -> User {
    User { id: user_id, username, display_name, role }
}

/// Everything a page of messages carries besides the message rows themselves.
struct Details {
    mentions: Vec<MentionRow>,
    reactions: Vec<ReactionRow>,
    polls: Vec<PollRow>,
    options: Vec<PollOptionRow>,
    votes: Vec<VoteRow>,
    files: Vec<FileRow>,
}

/// `personal`: whether the rows are read for a viewer (`me` and `my_votes` are filled in).
fn build_messages(rows: Vec<MessageRow>, details: Details, personal: bool, now: Millis) -> Vec<Message> {
    let Details { mentions, reactions, polls, options, votes, files } = details;
    let mut files_of: HashMap<i64, Vec<crate::domain::file::Attachment>> = HashMap::new();
    for f in files {
        files_of.entry(f.message_id).or_default().push(f.attachment(now));
    }
    let mut mentions_of: HashMap<i64, Vec<User>> = HashMap::new();
    for m in mentions {
        mentions_of.entry(m.message_id).or_default().push(user_of(
            m.user_id,
            m.username,
            m.display_name,
            m.role,
        ));
    }
    let mut reactions_of: HashMap<i64, Vec<ReactionCount>> = HashMap::new();
    for r in reactions {
        reactions_of.entry(r.message_id).or_default().push(ReactionCount {
            emoji: r.emoji,
            count: r.count,
            me: personal.then_some(r.mine > 0),
        });
    }
    let mut options_of: HashMap<i64, Vec<PollOption>> = HashMap::new();
    for o in options {
        let list = options_of.entry(o.message_id).or_default();
        debug_assert_eq!(list.len() as i64, o.option_index);
        list.push(PollOption { text: o.text, votes: o.votes });
    }
    let mut votes_of: HashMap<i64, Vec<i64>> = HashMap::new();
    for v in votes {
        votes_of.entry(v.message_id).or_default().push(v.option_index);
    }
    let mut polls_of: HashMap<i64, Poll> = HashMap::new();
    for p in polls {
        polls_of.insert(
            p.message_id,
            Poll {
                question: p.question,
                options: options_of.remove(&p.message_id).unwrap_or_default(),
                multiple: p.multiple,
                closes_at: p.closes_at.map(to_rfc3339),
                closed: p.closes_at.is_some_and(|at| at <= now),
                my_votes: personal.then(|| votes_of.remove(&p.message_id).unwrap_or_default()),
            },
        );
    }
    rows.into_iter()
        .map(|row| {
            let deleted = row.deleted_at.is_some();
            let sender = match (row.sender_id, row.sender_username, row.sender_display_name, row.sender_role)
            {
                (Some(id), Some(username), Some(display_name), Some(role)) => {
                    Some(user_of(id, username, display_name, role))
                }
                _ => None,
            };
            let id = row.message_id;
            Message {
                id,
                room_id: row.room_id,
                seq: row.seq,
                sender,
                message_type: row.message_type,
                content: if deleted { None } else { row.content },
                reply_to: row.reply_to,
                mentions: if deleted { Vec::new() } else { mentions_of.remove(&id).unwrap_or_default() },
                attachments: if deleted { Vec::new() } else { files_of.remove(&id).unwrap_or_default() },
                reactions: if deleted { Vec::new() } else { reactions_of.remove(&id).unwrap_or_default() },
                poll: if deleted { None } else { polls_of.remove(&id) },
                client_id: row.client_id,
                created_at: to_rfc3339(row.created_at),
                edited_at: row.edited_at.map(to_rfc3339),
                deleted_at: row.deleted_at.map(to_rfc3339),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StorageArgs;
    use crate::store::Backend;

    /// Every page kind: its name, its statements, and how many parameters they take.
    const PAGES: [(&str, (&str, &str), usize); 5] = [
        ("before", BEFORE, 3),
        ("after", AFTER, 3),
        ("before_id", BEFORE_ID, 3),
        ("after_id", AFTER_ID, 3),
        ("changed", CHANGED, 4),
    ];

    /// History pages must be index range scans on `(room_id, seq)`: no table scan, no
    /// sort, so a page costs the same however long the room's history is. Checked on the
    /// statements SQLite really runs (the JSON-wrapped ones), every page kind.
    #[tokio::test]
    async fn history_pages_use_the_room_seq_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageArgs::embedded(dir.path()), 1).await.unwrap();
        let Backend::Sqlite { reader, .. } = &store.backend else { unreachable!("embedded store is SQLite") };
        for (name, (_, json_sql), params) in PAGES {
            let explain = format!("EXPLAIN QUERY PLAN {json_sql}");
            let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain));
            for value in [1, 500, 51, 52].into_iter().take(params) {
                query = query.bind(value);
            }
            let plan = query.fetch_all(reader).await.unwrap();
            let details: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
            assert!(
                details.iter().any(|d| d.starts_with("SEARCH m USING") && d.contains("(room_id=? AND seq")),
                "{name}: {details:?}"
            );
            // The only scans allowed are of the page's own subquery (the JSON wrapper).
            assert!(
                details.iter().all(|d| (!d.starts_with("SCAN") || d.starts_with("SCAN (subquery"))
                    && !d.contains("TEMP B-TREE")),
                "{name}: {details:?}"
            );
            if name.ends_with("_id") {
                assert!(
                    details.iter().any(|d| d.starts_with("SEARCH c USING INTEGER PRIMARY KEY")),
                    "{name}: {details:?}"
                );
            }
        }
        store.close().await;
    }

    /// SQLite prepares a page statement once: its limit is read from the binding when
    /// it runs (`OP_Variable` of the limit's parameter) rather than planned in from the
    /// first binding, which would prepare the statement again at every page.
    #[tokio::test]
    async fn page_statements_read_their_limit_when_they_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageArgs::embedded(dir.path()), 1).await.unwrap();
        let Backend::Sqlite { reader, .. } = &store.backend else { unreachable!("embedded store is SQLite") };
        let reads_variable = |sql: String, params: usize, limit_param: i64| async move {
            let mut query =
                sqlx::query_as::<_, (i64, String, i64)>(sqlx::AssertSqlSafe(format!("EXPLAIN {sql}")));
            for value in [1, 500, 51, 52].into_iter().take(params) {
                query = query.bind(value);
            }
            let program = query.fetch_all(reader).await.unwrap();
            program.iter().any(|(_, opcode, p1)| opcode == "Variable" && *p1 == limit_param)
        };
        // What the unary plus is for: a bare bound limit is planned in, not read.
        let bare = "SELECT message_id FROM message WHERE room_id = $1 LIMIT $2".to_owned();
        assert!(
            !reads_variable(bare, 2, 2).await,
            "SQLite reads a bare LIMIT $2: the unary plus is not needed"
        );
        for (name, (_, json_sql), params) in PAGES {
            assert!(reads_variable(json_sql.to_owned(), params, params as i64).await, "{name}: {json_sql}");
        }
        store.close().await;
    }
}
