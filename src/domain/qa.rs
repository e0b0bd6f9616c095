//! Session Q&A (SPEC §7a): questions attendees ask in a room, upvoted, answered,
//! pinned "now answering", hidden, and with `qa_moderation` approved first.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::room::RoomId;
use super::text_enum;
use super::user::User;
use crate::error::AppError;

pub type QuestionId = i64;

pub const QUESTION_MAX: usize = 500;

text_enum! {
    /// Where a question stands.
    pub enum QuestionStatus {
        /// Waiting in the review queue (rooms with `qa_moderation`): only moderators and
        /// the author see it.
        Pending = "pending",
        /// Visible to everyone in the room.
        Approved = "approved",
        /// Taken down by a moderator: only moderators see it.
        Hidden = "hidden",
    }
}

text_enum! {
    /// Order of a question list.
    pub enum QuestionSort {
        /// Most votes first (ties: newest first).
        Votes = "votes",
        /// Newest first.
        Time = "time",
    }
}

/// A question as the caller sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Question {
    pub id: QuestionId,
    pub room_id: RoomId,
    /// Null when anonymous, except for moderators and the author.
    pub author: Option<User>,
    pub anonymous: bool,
    pub content: String,
    pub status: QuestionStatus,
    pub vote_count: i64,
    /// Whether the caller voted (absent in broadcasts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voted: Option<bool>,
    pub answered: bool,
    pub answered_at: Option<String>,
    /// The one "now answering" of the room.
    pub pinned: bool,
    pub created_at: String,
}

/// A page of questions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionPage {
    pub questions: Vec<Question>,
    pub has_more: bool,
    /// Pass as `after` for the next page.
    pub next_cursor: Option<String>,
}

/// `POST /api/chat/rooms/{id}/questions` body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct AskQuestion {
    /// 1–500 characters.
    #[schema(max_length = 500, pattern = "non_blank_text")]
    pub content: String,
    /// Hide the author from other attendees (never from moderators).
    #[serde(default)]
    pub anonymous: bool,
}

impl AskQuestion {
    pub fn validate(&self) -> Result<String, AppError> {
        super::trimmed_text("content", &self.content, 1, QUESTION_MAX)
            .map_err(|err| AppError::validation("invalid_content", err.to_string()))
    }
}

/// `GET /api/chat/rooms/{id}/questions` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct QuestionQuery {
    /// `votes` (default) or `time`.
    pub sort: Option<QuestionSort>,
    /// Moderators: `pending` for the review queue, `hidden` for what was taken down.
    pub status: Option<QuestionStatus>,
    /// A `next_cursor` from the previous page.
    #[param(pattern = "^[0-9]{1,18}:[0-9]{1,18}$")]
    pub after: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Where a question page continues: after (votes, id) or after id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuestionCursor {
    pub votes: i64,
    pub id: QuestionId,
}

impl QuestionCursor {
    pub fn encode(self) -> String {
        format!("{}:{}", self.votes, self.id)
    }

    pub fn decode(text: &str) -> Result<QuestionCursor, AppError> {
        let invalid =
            || AppError::validation("invalid_cursor", "after must be a next_cursor from an earlier page");
        let (votes, id) = text.split_once(':').ok_or_else(invalid)?;
        let number = |part| super::plain_number(part).ok_or_else(invalid);
        Ok(QuestionCursor { votes: number(votes)?, id: number(id)? })
    }
}

/// A removed question's place (`qa_question_removed`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionRemoved {
    pub id: QuestionId,
    pub room_id: RoomId,
}

/// `POST …/questions/{qid}/answer|pin` query: `value=false` undoes (absent: true).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
pub struct QuestionFlag {
    pub value: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = QuestionCursor { votes: 12, id: 7 };
        assert_eq!(QuestionCursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in ["", "x", "1:", ":2", "a:b"] {
            assert_eq!(QuestionCursor::decode(bad).unwrap_err().code(), "invalid_cursor", "{bad}");
        }
    }

    #[test]
    fn questions_need_text() {
        let ask = |content: &str| AskQuestion { content: content.into(), anonymous: false }.validate();
        assert_eq!(ask("  What about the slides? ").unwrap(), "What about the slides?");
        assert_eq!(ask("   ").unwrap_err().code(), "invalid_content");
        assert_eq!(ask(&"q".repeat(501)).unwrap_err().code(), "invalid_content");
    }
}
