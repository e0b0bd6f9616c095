//! Plain types and pure rules: what a valid username, password or event is.
//!
//! Nothing here touches the database, HTTP or Socket.IO, so every rule is unit-tested
//! directly and shared by REST, Socket.IO and the admin commands.

pub mod event;
pub mod message;
pub mod room;
pub mod user;

use crate::error::AppError;

/// Trims `text` and checks its length in characters; `field` names it in the error.
pub fn trimmed_text(field: &str, text: &str, min: usize, max: usize) -> Result<String, AppError> {
    let trimmed = text.trim();
    let chars = trimmed.chars().count();
    if chars < min || chars > max {
        return Err(AppError::validation(
            "invalid_field",
            format!("{field} must be {min}–{max} characters long (got {chars})"),
        ));
    }
    Ok(trimmed.to_owned())
}
