//! Messages: content rules, mentions, reactions and polls (SPEC §4, §10).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::file::Attachment;
use super::room::RoomId;
use super::user::User;
use super::user::UserId;
use super::{text_enum, trimmed_text};
use crate::clock::{Millis, parse_rfc3339};
use crate::error::AppError;

pub type MessageId = i64;

pub const CONTENT_MAX: usize = 4000;
pub const CLIENT_ID_MAX: usize = 64;
pub const POLL_QUESTION_MAX: usize = 300;
pub const POLL_OPTION_MAX: usize = 200;
pub const POLL_OPTIONS_MIN: usize = 2;
pub const POLL_OPTIONS_MAX: usize = 10;
/// Mentions resolved per message; more `@names` than this are left as plain text.
pub const MENTIONS_MAX: usize = 50;

text_enum! {
    pub enum MessageType {
        Text = "text",
        Image = "image",
        File = "file",
        Audio = "audio",
        Video = "video",
        System = "system",
        Poll = "poll",
        EventUpdate = "event_update",
    }
}

impl MessageType {
    /// Whether messages of this type carry an uploaded file.
    pub fn carries_file(self) -> bool {
        matches!(self, MessageType::Image | MessageType::File | MessageType::Audio | MessageType::Video)
    }
}

/// Reactions of one emoji on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: i64,
    /// Whether the caller reacted; absent in broadcasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub me: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PollOption {
    pub text: String,
    pub votes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Poll {
    pub question: String,
    pub options: Vec<PollOption>,
    pub multiple: bool,
    pub closes_at: Option<String>,
    pub closed: bool,
    /// Option indexes the caller voted for; absent in broadcasts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub my_votes: Option<Vec<i64>>,
}

/// A message as clients see it (SPEC §10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub room_id: RoomId,
    pub seq: i64,
    /// Null for system messages.
    pub sender: Option<User>,
    #[serde(rename = "type")]
    pub message_type: MessageType,
    /// Null once deleted.
    pub content: Option<String>,
    pub reply_to: Option<MessageId>,
    pub mentions: Vec<User>,
    pub attachments: Vec<Attachment>,
    pub reactions: Vec<ReactionCount>,
    pub poll: Option<Poll>,
    pub client_id: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub deleted_at: Option<String>,
}

impl Message {
    /// The form sent to a whole room: nothing that depends on who is looking.
    pub fn for_broadcast(mut self) -> Message {
        for reaction in &mut self.reactions {
            reaction.me = None;
        }
        if let Some(poll) = &mut self.poll {
            poll.my_votes = None;
        }
        self
    }
}

/// A pinned message of a room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PinnedMessage {
    pub message_id: MessageId,
    pub room_id: RoomId,
    /// Null when that account is gone.
    pub pinned_by: Option<User>,
    pub pinned_at: String,
    pub message: Message,
}

impl PinnedMessage {
    pub fn for_broadcast(mut self) -> PinnedMessage {
        self.message = self.message.for_broadcast();
        self
    }
}

/// `GET /api/chat/rooms/{id}/pins`: newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PinList {
    pub pins: Vec<PinnedMessage>,
}

/// An unpinned message's place (`message_unpinned`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Unpinned {
    pub message_id: MessageId,
    pub room_id: RoomId,
}

/// `poll` in a send request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PollRequest {
    /// 1–300 characters.
    #[schema(max_length = 300, pattern = "non_blank_text")]
    pub question: String,
    /// 2–10 option texts of 1–200 characters.
    #[schema(schema_with = poll_options_schema)]
    pub options: Vec<String>,
    #[serde(default)]
    pub multiple: bool,
    /// RFC 3339, in the future; voting stops then.
    #[schema(format = DateTime)]
    pub closes_at: Option<String>,
}

/// The message types a client may send, for the API document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum SendableType {
    Text,
    Poll,
    EventUpdate,
}

/// `POST /api/chat/rooms/{id}/messages` body (and `send_chat_message` beside `room_id`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct SendMessage {
    /// 1–4000 characters once trimmed; for polls defaults to the question.
    #[schema(max_length = 4000, pattern = "non_blank_text")]
    pub content: Option<String>,
    /// `text` (default), `poll` (with `poll`) or `event_update`.
    #[serde(rename = "type")]
    #[schema(value_type = Option<SendableType>)]
    pub message_type: Option<MessageType>,
    pub reply_to: Option<MessageId>,
    /// Makes retries idempotent: a second send with the same id returns the first message.
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")]
    pub client_id: Option<String>,
    pub poll: Option<PollRequest>,
}

/// `PUT /api/chat/messages/{id}/edit` body (`edit_chat_message` adds `message_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditMessage {
    /// 1–4000 characters once trimmed.
    #[schema(max_length = 4000, pattern = "non_blank_text")]
    pub content: String,
}

/// `POST|DELETE /api/chat/messages/{id}/react` body (the socket events add `message_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct React {
    /// A single emoji, e.g. `👍`.
    #[schema(min_length = 1, max_length = 64)]
    pub emoji: String,
}

/// `POST /api/chat/messages/{id}/vote` body (`vote_poll` adds `message_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct Vote {
    /// Zero-based option indexes (a repeated one counts once); exactly one unless the
    /// poll allows several.
    #[schema(schema_with = vote_options_schema)]
    pub options: Vec<i64>,
}

/// `PollRequest::options` in the API document: 2–10 texts of 1–200 characters.
fn poll_options_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let option = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(POLL_OPTION_MAX))
        .pattern(Some("non_blank_text"));
    ArrayBuilder::new()
        .items(option)
        .min_items(Some(POLL_OPTIONS_MIN))
        .max_items(Some(POLL_OPTIONS_MAX))
        .build()
}

/// `Vote::options` in the API document: at least one index, each 0 or more.
fn vote_options_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    let index = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int64)))
        .minimum(Some(0));
    ArrayBuilder::new().items(index).min_items(Some(1)).build()
}

/// What `delete_chat_message` takes beside `message_id`.
pub type DeleteMessage = super::NoBody;

/// A deleted message's place: the answer to a delete and the `message_deleted` payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deleted {
    pub id: MessageId,
    pub room_id: RoomId,
}

/// Reactions of one message after a change.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReactionUpdate {
    pub message_id: MessageId,
    pub room_id: RoomId,
    pub emoji: String,
    pub user_id: UserId,
    pub reactions: Vec<ReactionCount>,
}

/// A poll's results after a vote.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PollUpdate {
    pub message_id: MessageId,
    pub room_id: RoomId,
    pub poll: Poll,
}

/// A poll ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPoll {
    pub question: String,
    pub options: Vec<String>,
    pub multiple: bool,
    pub closes_at: Option<Millis>,
}

/// A checked [`SendMessage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub message_type: MessageType,
    pub content: String,
    pub reply_to: Option<MessageId>,
    pub client_id: Option<String>,
    pub poll: Option<NewPoll>,
    /// The uploaded file of an image/file/audio/video message.
    pub attachment: Option<super::file::NewFile>,
}

/// Message text: 1–4000 characters once trimmed, stored as written.
pub fn validate_content(content: &str) -> Result<String, AppError> {
    if content.chars().any(super::is_forbidden_control) {
        return Err(AppError::validation(
            "invalid_content",
            "message content must not contain control characters other than line breaks and tabs",
        ));
    }
    let chars = content.trim().chars().count();
    if chars == 0 {
        return Err(AppError::validation("invalid_content", "message content must not be empty"));
    }
    if chars > CONTENT_MAX {
        return Err(AppError::validation(
            "invalid_content",
            format!("message content must be at most {CONTENT_MAX} characters (got {chars})"),
        ));
    }
    Ok(content.to_owned())
}

fn validate_poll(poll: &PollRequest, now: Millis) -> Result<NewPoll, AppError> {
    let question = trimmed_text("poll.question", &poll.question, 1, POLL_QUESTION_MAX)?;
    if !(POLL_OPTIONS_MIN..=POLL_OPTIONS_MAX).contains(&poll.options.len()) {
        return Err(AppError::validation(
            "invalid_poll",
            format!("a poll needs {POLL_OPTIONS_MIN}–{POLL_OPTIONS_MAX} options"),
        ));
    }
    let options = poll
        .options
        .iter()
        .map(|option| trimmed_text("poll option", option, 1, POLL_OPTION_MAX))
        .collect::<Result<Vec<_>, _>>()?;
    let closes_at = match poll.closes_at.as_deref() {
        Some(text) => {
            let at = parse_rfc3339(text).ok_or_else(|| {
                AppError::validation("invalid_poll", "poll.closes_at must be an RFC 3339 time")
            })?;
            if at <= now {
                return Err(AppError::validation("invalid_poll", "poll.closes_at must be in the future"));
            }
            Some(at)
        }
        None => None,
    };
    Ok(NewPoll { question, options, multiple: poll.multiple, closes_at })
}

impl SendMessage {
    /// Checks the request; `now` judges poll closing times.
    pub fn validate(&self, now: Millis) -> Result<NewMessage, AppError> {
        let message_type = self.message_type.unwrap_or(MessageType::Text);
        let poll = match (message_type, &self.poll) {
            (MessageType::Poll, Some(poll)) => Some(validate_poll(poll, now)?),
            (MessageType::Poll, None) => {
                return Err(AppError::validation("invalid_poll", "a poll message needs a `poll` object"));
            }
            (_, Some(_)) => {
                return Err(AppError::validation("invalid_poll", "`poll` is only allowed with type `poll`"));
            }
            (MessageType::Text | MessageType::EventUpdate, None) => None,
            (other, None) => {
                return Err(AppError::validation(
                    "invalid_message_type",
                    format!("messages of type `{}` cannot be sent this way", other.as_str()),
                ));
            }
        };
        let content = match (&self.content, &poll) {
            (Some(content), _) => validate_content(content)?,
            (None, Some(poll)) => poll.question.clone(),
            (None, None) => {
                return Err(AppError::validation("invalid_content", "message content is required"));
            }
        };
        let client_id = self.client_id.as_deref().map(validate_client_id).transpose()?;
        Ok(NewMessage { message_type, content, reply_to: self.reply_to, client_id, poll, attachment: None })
    }
}

/// A `client_id` (idempotent retries): 1–64 characters, none of them control characters.
pub fn validate_client_id(id: &str) -> Result<String, AppError> {
    if id.is_empty() || id.chars().count() > CLIENT_ID_MAX || id.chars().any(char::is_control) {
        return Err(AppError::validation(
            "invalid_client_id",
            format!("client_id must be 1–{CLIENT_ID_MAX} characters, none of them control characters"),
        ));
    }
    Ok(id.to_owned())
}

fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Case-folded usernames written as `@name` in `text`, each once, in order of appearance;
/// the room-wide `@room` and `@here` among them (no account may take those names).
/// An `@` inside a word (e-mail addresses) is not a mention; a trailing `.` ends a sentence.
pub fn mentioned_usernames(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let starts_mention = c == '@' && !previous.is_some_and(is_username_char);
        previous = Some(c);
        if !starts_mention {
            continue;
        }
        let start = at + 1;
        let mut end = start;
        while let Some(&(i, next)) = chars.peek() {
            if !is_username_char(next) {
                break;
            }
            end = i + next.len_utf8();
            previous = Some(next);
            chars.next();
        }
        let name = text[start..end].trim_end_matches('.').to_ascii_lowercase();
        if (super::user::USERNAME_MIN..=super::user::USERNAME_MAX).contains(&name.len())
            && !found.contains(&name)
            && found.len() < MENTIONS_MAX
        {
            found.push(name);
        }
    }
    found
}

/// A reaction must be exactly one emoji (with its skin tone or presentation selector).
pub fn validate_emoji(emoji: &str) -> Result<String, AppError> {
    let trimmed = emoji.trim();
    let known = emojis::get(trimmed).is_some() || emojis::get(&format!("{trimmed}\u{fe0f}")).is_some();
    if trimmed.is_empty() || trimmed.len() > 64 || !known {
        return Err(AppError::validation("invalid_emoji", "a reaction must be a single emoji, such as 👍"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(content: Option<&str>) -> SendMessage {
        SendMessage {
            content: content.map(Into::into),
            message_type: None,
            reply_to: None,
            client_id: None,
            poll: None,
        }
    }

    #[test]
    fn content_is_checked_after_trimming_but_stored_as_written() {
        assert_eq!(send(Some("  hi  ")).validate(0).unwrap().content, "  hi  ");
        assert_eq!(send(Some("   ")).validate(0).unwrap_err().code(), "invalid_content");
        assert_eq!(send(Some(&"x".repeat(4001))).validate(0).unwrap_err().code(), "invalid_content");
        assert!(send(Some(&"é".repeat(4000))).validate(0).is_ok());
        assert_eq!(send(None).validate(0).unwrap_err().code(), "invalid_content");
        assert_eq!(send(Some("nul\0here")).validate(0).unwrap_err().code(), "invalid_content");
        assert_eq!(send(Some("lines\nand\ttabs")).validate(0).unwrap().content, "lines\nand\ttabs");
    }

    #[test]
    fn only_text_polls_and_event_updates_can_be_sent() {
        let mut request = send(Some("x"));
        request.message_type = Some(MessageType::System);
        assert_eq!(request.validate(0).unwrap_err().code(), "invalid_message_type");
        request.message_type = Some(MessageType::Image);
        assert_eq!(request.validate(0).unwrap_err().code(), "invalid_message_type");
    }

    #[test]
    fn polls_need_two_to_ten_options_and_a_future_close() {
        let poll = |options: Vec<&str>, closes_at: Option<&str>| SendMessage {
            message_type: Some(MessageType::Poll),
            poll: Some(PollRequest {
                question: "Lunch?".into(),
                options: options.into_iter().map(Into::into).collect(),
                multiple: false,
                closes_at: closes_at.map(Into::into),
            }),
            ..send(None)
        };
        let ok = poll(vec!["pizza", "sushi"], None).validate(0).unwrap();
        assert_eq!(ok.content, "Lunch?");
        assert_eq!(ok.poll.unwrap().options.len(), 2);
        assert_eq!(poll(vec!["one"], None).validate(0).unwrap_err().code(), "invalid_poll");
        assert_eq!(poll(vec!["o"; 11], None).validate(0).unwrap_err().code(), "invalid_poll");
        assert_eq!(poll(vec!["a", " "], None).validate(0).unwrap_err().code(), "invalid_field");
        let past = parse_rfc3339("2020-01-01T00:00:00Z").unwrap();
        let request = poll(vec!["a", "b"], Some("2020-01-01T00:00:00Z"));
        assert_eq!(request.validate(past + 1).unwrap_err().code(), "invalid_poll");
    }

    #[test]
    fn mentions_are_found_once_and_not_inside_words() {
        assert_eq!(
            mentioned_usernames("hi @Alice and @bob_2, mail me at carol@example.org. @alice again @bob."),
            ["alice", "bob_2", "bob"]
        );
        assert!(mentioned_usernames("@ab is too short, @ alone").is_empty());
        assert_eq!(mentioned_usernames("(@dave)"), ["dave"]);
    }

    #[test]
    fn reactions_must_be_one_emoji() {
        for ok in ["👍", "❤️", "❤", "👍🏽", "🎉"] {
            assert!(validate_emoji(ok).is_ok(), "{ok}");
        }
        for bad in ["notanemoji", ":)", "", "👍👍", "<b>"] {
            assert_eq!(validate_emoji(bad).unwrap_err().code(), "invalid_emoji", "{bad}");
        }
    }

    #[test]
    fn broadcast_form_hides_viewer_fields() {
        let message = Message {
            id: 1,
            room_id: 1,
            seq: 1,
            sender: None,
            message_type: MessageType::Poll,
            content: Some("q".into()),
            reply_to: None,
            mentions: vec![],
            attachments: vec![],
            reactions: vec![ReactionCount { emoji: "👍".into(), count: 1, me: Some(true) }],
            poll: Some(Poll {
                question: "q".into(),
                options: vec![],
                multiple: false,
                closes_at: None,
                closed: false,
                my_votes: Some(vec![0]),
            }),
            client_id: None,
            created_at: String::new(),
            edited_at: None,
            deleted_at: None,
        };
        let json = serde_json::to_value(message.for_broadcast()).unwrap();
        assert!(json["reactions"][0].get("me").is_none());
        assert!(json["poll"].get("my_votes").is_none());
    }
}
