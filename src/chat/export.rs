//! Transcript export (SPEC §7a) for a room's moderators: every message in order with
//! sender, role, time, edits and deletions marked, reactions and attachments, then the
//! Q&A with votes, as JSON or CSV. Streamed a page at a time, so a room of a million
//! messages exports in the memory of one page.

use std::collections::HashMap;

use axum::body::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::access::RoomAccess;
use crate::auth::AuthUser;
use crate::clock::to_rfc3339;
use crate::domain::message::Message;
use crate::domain::room::{ParticipantRole, Room, RoomId};
use crate::domain::text_enum;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::PageQuery;

/// Messages (or questions) read per page.
const PAGE: i64 = 500;

text_enum! {
    pub enum ExportFormat {
        Json = "json",
        Csv = "csv",
    }
}

/// `GET /api/chat/rooms/{id}/export` query.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<ExportFormat>,
}

/// One message of a JSON export: the message and its sender's role in the room.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportedMessage {
    #[serde(flatten)]
    pub message: Message,
    /// `owner`, `moderator`, `member`, or null (left the room, or a system message).
    pub sender_role: Option<ParticipantRole>,
}

/// Where the stream is.
enum Step {
    Start,
    Messages { after_seq: i64, first: bool },
    Questions { after_id: i64, first: bool },
    Done,
}

struct Exporter {
    state: AppState,
    room: Room,
    format: ExportFormat,
    roles: HashMap<i64, Option<ParticipantRole>>,
    step: Step,
}

/// The room and the stream of its transcript; moderators (and admins, logged) only.
pub async fn export(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    query: ExportQuery,
) -> AppResult<(Room, ExportFormat, impl Stream<Item = Result<Bytes, std::io::Error>> + use<>)> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    if !access.moderates() {
        return Err(AppError::forbidden("only the room's moderators export its transcript"));
    }
    access.require_reader(state, caller).await?;
    let format = query.format.unwrap_or(ExportFormat::Json);
    let room = access.room.to_room();
    let exporter = Exporter {
        state: state.clone(),
        room: room.clone(),
        format,
        roles: HashMap::new(),
        step: Step::Start,
    };
    let stream = futures_util::stream::unfold(exporter, |mut exporter| async move {
        match exporter.next_chunk().await {
            Ok(Some(bytes)) => Some((Ok(Bytes::from(bytes)), exporter)),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "transcript export failed midway");
                exporter.step = Step::Done;
                Some((Err(std::io::Error::other(err.to_string())), exporter))
            }
        }
    });
    Ok((room, format, stream))
}

/// A CSV field: quoted when it must be, and never read as a formula by a spreadsheet.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

const CSV_HEADER: &str = "record,id,seq,created_at,sender_id,sender_username,sender_display_name,sender_role,\
type,content,reply_to,edited_at,deleted_at,reactions,attachments,votes,answered,status\n";

impl Exporter {
    /// The next piece of the document, `None` at its end.
    async fn next_chunk(&mut self) -> AppResult<Option<Vec<u8>>> {
        match self.step {
            Step::Start => {
                self.step = Step::Messages { after_seq: 0, first: true };
                Ok(Some(match self.format {
                    ExportFormat::Json => {
                        let room = serde_json::to_string(&self.room).map_err(AppError::internal)?;
                        let at = to_rfc3339(self.state.clock.now_ms());
                        format!("{{\"room\":{room},\"exported_at\":\"{at}\",\"messages\":[").into_bytes()
                    }
                    ExportFormat::Csv => CSV_HEADER.as_bytes().to_vec(),
                }))
            }
            Step::Messages { after_seq, first } => {
                let page = PageQuery::After { after_seq, limit: PAGE };
                let now = self.state.clock.now_ms();
                let (messages, has_more) = self.state.store.messages(self.room.id, page, None, now).await?;
                let last_seq = messages.last().map_or(after_seq, |m| m.seq);
                self.learn_roles(&messages).await?;
                let mut out = Vec::new();
                for (i, message) in messages.into_iter().enumerate() {
                    let role = message.sender.as_ref().and_then(|u| self.roles.get(&u.id).copied().flatten());
                    match self.format {
                        ExportFormat::Json => {
                            if !(first && i == 0) {
                                out.push(b',');
                            }
                            let row = ExportedMessage { message, sender_role: role };
                            serde_json::to_writer(&mut out, &row).map_err(AppError::internal)?;
                        }
                        ExportFormat::Csv => out.extend_from_slice(csv_message(&message, role).as_bytes()),
                    }
                }
                let wrote = !out.is_empty();
                self.step = if has_more {
                    Step::Messages { after_seq: last_seq, first: first && !wrote }
                } else {
                    if self.format == ExportFormat::Json {
                        out.extend_from_slice(b"],\"questions\":[");
                    }
                    Step::Questions { after_id: 0, first: true }
                };
                Ok(Some(out))
            }
            Step::Questions { after_id, first } => {
                let rows = self.state.store.questions_for_export(self.room.id, after_id, PAGE).await?;
                let mut out = Vec::new();
                let last_id = rows.last().map_or(after_id, |r| r.question_id);
                let more = rows.len() as i64 == PAGE;
                for (i, row) in rows.iter().enumerate() {
                    // Moderators export: authors of anonymous questions included.
                    let question = row.to_question(true, false);
                    match self.format {
                        ExportFormat::Json => {
                            if !(first && i == 0) {
                                out.push(b',');
                            }
                            serde_json::to_writer(&mut out, &question).map_err(AppError::internal)?;
                        }
                        ExportFormat::Csv => {
                            let author = question.author.as_ref();
                            let fields = [
                                "question".to_owned(),
                                question.id.to_string(),
                                String::new(),
                                question.created_at.clone(),
                                author.map(|a| a.id.to_string()).unwrap_or_default(),
                                author.map(|a| a.username.clone()).unwrap_or_default(),
                                author.map(|a| a.display_name.clone()).unwrap_or_default(),
                                String::new(),
                                if question.anonymous {
                                    "anonymous_question".into()
                                } else {
                                    "question".into()
                                },
                                question.content.clone(),
                                String::new(),
                                String::new(),
                                String::new(),
                                String::new(),
                                String::new(),
                                question.vote_count.to_string(),
                                question.answered.to_string(),
                                question.status.as_str().to_owned(),
                            ];
                            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                            out.extend_from_slice(line.join(",").as_bytes());
                            out.push(b'\n');
                        }
                    }
                }
                let wrote = !out.is_empty();
                self.step = if more {
                    Step::Questions { after_id: last_id, first: first && !wrote }
                } else {
                    if self.format == ExportFormat::Json {
                        out.extend_from_slice(b"]}");
                    }
                    Step::Done
                };
                Ok(Some(out))
            }
            Step::Done => Ok(None),
        }
    }

    /// The room roles of this page's senders not seen before.
    async fn learn_roles(&mut self, messages: &[Message]) -> AppResult<()> {
        let mut unknown: Vec<i64> = messages
            .iter()
            .filter_map(|m| m.sender.as_ref().map(|u| u.id))
            .filter(|id| !self.roles.contains_key(id))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        if unknown.is_empty() {
            return Ok(());
        }
        let found = self.state.store.participant_roles(self.room.id, &unknown).await?;
        for id in unknown {
            self.roles.insert(id, found.get(&id).copied());
        }
        Ok(())
    }
}

fn csv_message(message: &Message, role: Option<ParticipantRole>) -> String {
    let sender = message.sender.as_ref();
    let reactions: Vec<String> =
        message.reactions.iter().map(|r| format!("{} {}", r.emoji, r.count)).collect();
    let attachments: Vec<&str> = message.attachments.iter().map(|a| a.name.as_str()).collect();
    let fields = [
        "message".to_owned(),
        message.id.to_string(),
        message.seq.to_string(),
        message.created_at.clone(),
        sender.map(|s| s.id.to_string()).unwrap_or_default(),
        sender.map(|s| s.username.clone()).unwrap_or_default(),
        sender.map(|s| s.display_name.clone()).unwrap_or_default(),
        role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        message.message_type.as_str().to_owned(),
        message.content.clone().unwrap_or_default(),
        message.reply_to.map(|id| id.to_string()).unwrap_or_default(),
        message.edited_at.clone().unwrap_or_default(),
        message.deleted_at.clone().unwrap_or_default(),
        reactions.join(" "),
        attachments.join(" "),
        String::new(),
        String::new(),
        String::new(),
    ];
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
    }
}
