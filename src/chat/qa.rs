//! Session Q&A (SPEC §7a), in rooms with `qa_enabled`: attendees ask, everyone upvotes
//! once (a toggle), moderators approve (with `qa_moderation`), answer, pin one "now
//! answering" and hide. Anonymous questions hide their author from other attendees,
//! never from moderators. Live as `qa_question_added`, `qa_question_updated` and
//! `qa_question_removed`.

use super::access::RoomAccess;
use super::publish::{Audience, ChatEvent};
use crate::auth::AuthUser;
use crate::domain::page_limit;
use crate::domain::qa::{
    AskQuestion, Question, QuestionCursor, QuestionFlag, QuestionId, QuestionPage, QuestionQuery,
    QuestionRemoved, QuestionSort, QuestionStatus,
};
use crate::domain::room::RoomId;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{QuestionFilter, QuestionRow};

pub const LIMIT_DEFAULT: i64 = 50;
pub const LIMIT_MAX: i64 = 100;

/// A room with Q&A on, and the caller's standing in it.
async fn qa_room(state: &AppState, caller: &AuthUser, room_id: RoomId) -> AppResult<RoomAccess> {
    let access = RoomAccess::load(state, caller, room_id).await?;
    if !access.room.settings.qa_enabled {
        return Err(AppError::forbidden_because(
            "qa_disabled",
            "this room has no Q&A; a moderator can turn it on",
        ));
    }
    Ok(access)
}

/// A question of a Q&A room the caller may see: 404 for a hidden one (or a pending one
/// of someone else) unless the caller moderates.
async fn visible_question(
    state: &AppState,
    caller: &AuthUser,
    question_id: QuestionId,
) -> AppResult<(QuestionRow, RoomAccess)> {
    let row =
        state.store.question(question_id, caller.user.id).await?.ok_or(AppError::NotFound("question"))?;
    let access = qa_room(state, caller, row.room_id).await.map_err(|err| match err {
        AppError::NotFound(_) => AppError::NotFound("question"),
        other => other,
    })?;
    access.require_reader(state, caller).await?;
    let own = row.author_id == Some(caller.user.id);
    let seen = match row.status {
        QuestionStatus::Approved => true,
        QuestionStatus::Pending => own || access.moderates(),
        QuestionStatus::Hidden => access.moderates(),
    };
    if !seen {
        return Err(AppError::NotFound("question"));
    }
    Ok((row, access))
}

fn view(row: &QuestionRow, caller: &AuthUser, access: &RoomAccess) -> Question {
    let sees_author = access.moderates() || row.author_id == Some(caller.user.id);
    row.to_question(sees_author, true)
}

/// The form every attendee may see (broadcasts).
fn public(row: &QuestionRow) -> Question {
    row.to_question(false, false)
}

/// The room's moderators (owners, moderators, admins), who see every question whole.
async fn staff(state: &AppState, room_id: RoomId) -> AppResult<Vec<crate::domain::user::UserId>> {
    let mut users: Vec<_> = state.store.moderators(room_id).await?.into_iter().map(|m| m.0.id).collect();
    users.extend(state.store.admin_ids().await?);
    users.sort_unstable();
    users.dedup();
    Ok(users)
}

/// Tells the room about a question (`added` or updated), and, when it is anonymous, the
/// room's moderators who asked it, right after (their sockets end with the whole form).
async fn announce(state: &AppState, row: &QuestionRow, added: bool) -> AppResult<()> {
    let room = Audience::Room(row.room_id);
    let event = if added {
        ChatEvent::QuestionAdded { question: public(row), audience: room }
    } else {
        ChatEvent::QuestionUpdated { question: public(row), audience: room }
    };
    state.publisher.publish(event).await;
    if row.anonymous {
        let whole = row.to_question(true, false);
        let audience = Audience::Users(staff(state, row.room_id).await?);
        state.publisher.publish(ChatEvent::QuestionUpdated { question: whole, audience }).await;
    }
    Ok(())
}

/// Asks a question: visible at once, or (with `qa_moderation`, from an attendee) into the
/// review queue, seen by the room's moderators and the author.
pub async fn ask(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    req: AskQuestion,
) -> AppResult<Question> {
    let access = qa_room(state, caller, room_id).await?;
    let membership = access.require_participant()?;
    let now = state.clock.now_ms();
    super::messages::require_not_muted(membership, now)?;
    let content = req.validate()?;
    let content = super::moderation::filter_content(state, &access.room.settings, content)?;
    let status = if access.room.settings.qa_moderation && !access.moderates() {
        QuestionStatus::Pending
    } else {
        QuestionStatus::Approved
    };
    let id =
        state.store.insert_question(room_id, caller.user.id, &content, req.anonymous, status, now).await?;
    let row = state.store.question(id, caller.user.id).await?.ok_or(AppError::NotFound("question"))?;
    if status == QuestionStatus::Approved {
        announce(state, &row, true).await?;
    } else {
        // Under review: the moderators see it whole, and so does its author.
        let question = row.to_question(true, false);
        let mut users = staff(state, room_id).await?;
        users.push(caller.user.id);
        users.sort_unstable();
        users.dedup();
        state
            .publisher
            .publish(ChatEvent::QuestionAdded { question, audience: Audience::Users(users) })
            .await;
    }
    Ok(view(&row, caller, &access))
}

/// Lists questions: approved ones (and the caller's own pending ones) by votes or time;
/// moderators may ask for `pending` (the review queue) or `hidden`.
pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    room_id: RoomId,
    query: QuestionQuery,
) -> AppResult<QuestionPage> {
    let access = qa_room(state, caller, room_id).await?;
    access.require_reader(state, caller).await?;
    let limit = page_limit(query.limit, LIMIT_DEFAULT, LIMIT_MAX)?;
    let status = query.status.unwrap_or(QuestionStatus::Approved);
    if status != QuestionStatus::Approved && !access.moderates() {
        return Err(AppError::forbidden("only the room's moderators see questions under review or hidden"));
    }
    let after = query.after.as_deref().map(QuestionCursor::decode).transpose()?;
    let sort = query.sort.unwrap_or(QuestionSort::Votes);
    let filter = QuestionFilter {
        status,
        own_pending_of: (status == QuestionStatus::Approved).then_some(caller.user.id),
    };
    let mut rows = state.store.questions(room_id, caller.user.id, filter, sort, after, limit + 1).await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if has_more { rows.last().map(|r| r.cursor().encode()) } else { None };
    Ok(QuestionPage {
        questions: rows.iter().map(|r| view(r, caller, &access)).collect(),
        has_more,
        next_cursor,
    })
}

/// Votes for a visible question, or takes the vote back.
pub async fn vote(state: &AppState, caller: &AuthUser, question_id: QuestionId) -> AppResult<Question> {
    let (row, access) = visible_question(state, caller, question_id).await?;
    let membership = access.require_participant()?;
    let now = state.clock.now_ms();
    super::messages::require_not_muted(membership, now)?;
    if row.status != QuestionStatus::Approved {
        return Err(AppError::conflict("question_not_open", "only approved questions take votes"));
    }
    state.store.toggle_vote(question_id, caller.user.id, now).await?;
    let row =
        state.store.question(question_id, caller.user.id).await?.ok_or(AppError::NotFound("question"))?;
    announce(state, &row, false).await?;
    Ok(view(&row, caller, &access))
}

/// What a moderator does to a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderate {
    Approve,
    Answer(bool),
    Pin(bool),
    Hide,
}

impl Moderate {
    pub fn answer(flag: QuestionFlag) -> Moderate {
        Moderate::Answer(flag.value.unwrap_or(true))
    }

    pub fn pin(flag: QuestionFlag) -> Moderate {
        Moderate::Pin(flag.value.unwrap_or(true))
    }
}

/// Approves, answers, pins or hides a question (the room's moderators).
pub async fn moderate(
    state: &AppState,
    caller: &AuthUser,
    question_id: QuestionId,
    action: Moderate,
) -> AppResult<Question> {
    let (row, access) = visible_question(state, caller, question_id).await?;
    if !access.moderates() {
        return Err(AppError::forbidden("only the room's moderators approve, answer, pin or hide questions"));
    }
    let now = state.clock.now_ms();
    let room_id = row.room_id;
    let was_visible = row.status == QuestionStatus::Approved;
    let mut unpinned = None;
    match action {
        Moderate::Approve => state.store.set_question_status(question_id, QuestionStatus::Approved).await?,
        Moderate::Hide => state.store.set_question_status(question_id, QuestionStatus::Hidden).await?,
        Moderate::Answer(done) => state.store.set_answered(question_id, done.then_some(now)).await?,
        Moderate::Pin(pinned) => {
            if pinned && row.status != QuestionStatus::Approved {
                return Err(AppError::conflict("question_not_open", "only approved questions can be pinned"));
            }
            unpinned = state.store.set_pinned_question(room_id, question_id, pinned, now).await?;
        }
    }
    let row =
        state.store.question(question_id, caller.user.id).await?.ok_or(AppError::NotFound("question"))?;
    match (was_visible, row.status) {
        // Hidden: gone from every list that showed it (the room's, or the review queue).
        (_, QuestionStatus::Hidden) => {
            let removed = QuestionRemoved { id: question_id, room_id };
            state.publisher.publish(ChatEvent::QuestionRemoved(removed)).await;
        }
        (false, QuestionStatus::Approved) => announce(state, &row, true).await?,
        (true, _) => announce(state, &row, false).await?,
        // Still under review (answered while pending): only the staff hear of it.
        (false, _) => {
            let question = row.to_question(true, false);
            let audience = Audience::Users(staff(state, room_id).await?);
            state.publisher.publish(ChatEvent::QuestionUpdated { question, audience }).await;
        }
    }
    if let Some(other) = unpinned
        && let Some(other) = state.store.question(other, 0).await?
    {
        announce(state, &other, false).await?;
    }
    Ok(view(&row, caller, &access))
}
