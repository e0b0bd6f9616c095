//! `question` and `question_vote`: session Q&A. A question carries its vote count, so a
//! question with 10,000 voters is one row plus their votes, and a vote is one insert or
//! delete plus one counter update in one transaction.

use sqlx::FromRow;

use super::{Store, in_transaction, with_pool};
use crate::clock::{Millis, to_rfc3339};
use crate::domain::qa::{Question, QuestionCursor, QuestionId, QuestionSort, QuestionStatus};
use crate::domain::room::RoomId;
use crate::domain::user::{Role, User, UserId};

#[derive(Debug, Clone, FromRow)]
pub struct QuestionRow {
    pub question_id: i64,
    pub room_id: i64,
    pub author_id: Option<i64>,
    pub content: String,
    pub anonymous: bool,
    pub status: QuestionStatus,
    pub vote_count: i64,
    pub answered_at: Option<i64>,
    pub pinned_at: Option<i64>,
    pub created_at: i64,
    username: Option<String>,
    display_name: Option<String>,
    role: Option<Role>,
    /// Whether the viewer voted (0 or 1).
    voted: i64,
}

impl QuestionRow {
    /// The question as a viewer sees it: the author of an anonymous question only when
    /// `sees_author` (moderators, the author); `personal` adds `voted`.
    pub fn to_question(&self, sees_author: bool, personal: bool) -> Question {
        let author = match (self.author_id, &self.username, &self.display_name, self.role) {
            (Some(id), Some(username), Some(display_name), Some(role)) if !self.anonymous || sees_author => {
                Some(User { id, username: username.clone(), display_name: display_name.clone(), role })
            }
            _ => None,
        };
        Question {
            id: self.question_id,
            room_id: self.room_id,
            author,
            anonymous: self.anonymous,
            content: self.content.clone(),
            status: self.status,
            vote_count: self.vote_count,
            voted: personal.then_some(self.voted > 0),
            answered: self.answered_at.is_some(),
            answered_at: self.answered_at.map(to_rfc3339),
            pinned: self.pinned_at.is_some(),
            created_at: to_rfc3339(self.created_at),
        }
    }

    pub fn cursor(&self) -> QuestionCursor {
        QuestionCursor { votes: self.vote_count, id: self.question_id }
    }
}

/// `$1` is the viewer (0: nobody).
macro_rules! select_question {
    () => {
        "SELECT q.question_id, q.room_id, q.author_id, q.content, q.anonymous, q.status, q.vote_count, \
         q.answered_at, q.pinned_at, q.created_at, u.username, u.display_name, u.role, \
         (SELECT COUNT(*) FROM question_vote v WHERE v.question_id = q.question_id AND v.user_id = $1) AS voted \
         FROM question q LEFT JOIN app_user u ON u.user_id = q.author_id"
    };
}

/// Which questions a list shows.
#[derive(Debug, Clone, Copy)]
pub struct QuestionFilter {
    pub status: QuestionStatus,
    /// Also the viewer's own questions in this state (an author sees their pending ones).
    pub own_pending_of: Option<UserId>,
}

impl Store {
    pub async fn insert_question(
        &self,
        room_id: RoomId,
        author: UserId,
        content: &str,
        anonymous: bool,
        status: QuestionStatus,
        now: Millis,
    ) -> Result<QuestionId, sqlx::Error> {
        const SQL: &str = "INSERT INTO question (room_id, author_id, content, anonymous, status, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING question_id";
        let (id,): (i64,) = with_pool!(self, writer, |pool| sqlx::query_as(SQL)
            .bind(room_id)
            .bind(author)
            .bind(content)
            .bind(anonymous)
            .bind(status.as_str())
            .bind(now)
            .fetch_one(pool)
            .await)?;
        Ok(id)
    }

    pub async fn question(
        &self,
        question_id: QuestionId,
        viewer: UserId,
    ) -> Result<Option<QuestionRow>, sqlx::Error> {
        const SQL: &str = concat!(select_question!(), " WHERE q.question_id = $2");
        with_pool!(self, reader, |pool| sqlx::query_as(SQL)
            .bind(viewer)
            .bind(question_id)
            .fetch_optional(pool)
            .await)
    }

    /// A page of a room's questions in `sort` order after `after`.
    pub async fn questions(
        &self,
        room_id: RoomId,
        viewer: UserId,
        filter: QuestionFilter,
        sort: QuestionSort,
        after: Option<QuestionCursor>,
        limit: i64,
    ) -> Result<Vec<QuestionRow>, sqlx::Error> {
        const BY_VOTES: &str = concat!(
            select_question!(),
            " WHERE q.room_id = $2 AND (q.status = $3 OR (q.status = 'pending' AND q.author_id = $4)) \
             AND (q.vote_count < $5 OR (q.vote_count = $5 AND q.question_id < $6)) \
             ORDER BY q.vote_count DESC, q.question_id DESC LIMIT +$7"
        );
        const BY_TIME: &str = concat!(
            select_question!(),
            " WHERE q.room_id = $2 AND (q.status = $3 OR (q.status = 'pending' AND q.author_id = $4)) \
             AND q.question_id < $6 AND $5 = $5 ORDER BY q.question_id DESC LIMIT +$7"
        );
        let sql = match sort {
            QuestionSort::Votes => BY_VOTES,
            QuestionSort::Time => BY_TIME,
        };
        let (votes, id) = after.map_or((i64::MAX, i64::MAX), |c| (c.votes, c.id));
        with_pool!(self, reader, |pool| sqlx::query_as(sql)
            .bind(viewer)
            .bind(room_id)
            .bind(filter.status.as_str())
            .bind(filter.own_pending_of.unwrap_or(0))
            .bind(votes)
            .bind(id)
            .bind(limit)
            .fetch_all(pool)
            .await)
    }

    /// Adds the user's vote, or takes it back if they had voted; returns whether they
    /// vote now.
    pub async fn toggle_vote(
        &self,
        question_id: QuestionId,
        user_id: UserId,
        now: Millis,
    ) -> Result<bool, sqlx::Error> {
        const ADD: &str = "INSERT INTO question_vote (question_id, user_id, voted_at) VALUES ($1, $2, $3) \
            ON CONFLICT (question_id, user_id) DO NOTHING";
        const REMOVE: &str = "DELETE FROM question_vote WHERE question_id = $1 AND user_id = $2";
        const COUNT: &str = "UPDATE question SET vote_count = vote_count + $2 WHERE question_id = $1";
        in_transaction!(self, |tx| {
            let added = sqlx::query(ADD)
                .bind(question_id)
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
            if !added {
                sqlx::query(REMOVE).bind(question_id).bind(user_id).execute(&mut *tx).await?;
            }
            sqlx::query(COUNT)
                .bind(question_id)
                .bind(if added { 1i64 } else { -1 })
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(added)
        })
    }

    pub async fn set_question_status(
        &self,
        question_id: QuestionId,
        status: QuestionStatus,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str = "UPDATE question SET status = $2 WHERE question_id = $1";
        with_pool!(self, writer, |pool| sqlx::query(SQL)
            .bind(question_id)
            .bind(status.as_str())
            .execute(pool)
            .await
            .map(drop))
    }

    /// Marks a question answered (`Some(time)`) or not (`None`).
    pub async fn set_answered(&self, question_id: QuestionId, at: Option<Millis>) -> Result<(), sqlx::Error> {
        const SQL: &str = "UPDATE question SET answered_at = $2 WHERE question_id = $1";
        with_pool!(self, writer, |pool| sqlx::query(SQL)
            .bind(question_id)
            .bind(at)
            .execute(pool)
            .await
            .map(drop))
    }

    /// Pins a question as the room's "now answering" (unpinning any other), or unpins
    /// it; returns the question that lost its pin, if any.
    pub async fn set_pinned_question(
        &self,
        room_id: RoomId,
        question_id: QuestionId,
        pinned: bool,
        now: Millis,
    ) -> Result<Option<QuestionId>, sqlx::Error> {
        const FIND: &str = "SELECT question_id FROM question WHERE room_id = $1 AND pinned_at IS NOT NULL AND question_id <> $2";
        const UNPIN_OTHERS: &str =
            "UPDATE question SET pinned_at = NULL WHERE room_id = $1 AND question_id <> $2";
        const SET: &str = "UPDATE question SET pinned_at = $2 WHERE question_id = $1";
        in_transaction!(self, |tx| {
            let previous: Option<(i64,)> = if pinned {
                let found =
                    sqlx::query_as(FIND).bind(room_id).bind(question_id).fetch_optional(&mut *tx).await?;
                sqlx::query(UNPIN_OTHERS).bind(room_id).bind(question_id).execute(&mut *tx).await?;
                found
            } else {
                None
            };
            sqlx::query(SET).bind(question_id).bind(pinned.then_some(now)).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(previous.map(|(id,)| id))
        })
    }

    /// Every question of a room with its votes, oldest first, for export (a few hundred
    /// at a time after `after_id`).
    pub async fn questions_for_export(
        &self,
        room_id: RoomId,
        after_id: QuestionId,
        limit: i64,
    ) -> Result<Vec<QuestionRow>, sqlx::Error> {
        const SQL: &str = concat!(
            select_question!(),
            " WHERE q.room_id = $2 AND q.question_id > $3 ORDER BY q.question_id LIMIT +$4"
        );
        with_pool!(self, reader, |pool| sqlx::query_as(SQL)
            .bind(0i64)
            .bind(room_id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await)
    }
}
