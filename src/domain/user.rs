//! Users: usernames, passwords, roles and the public `User` shape (SPEC §2, §10).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text_enum;
use crate::error::AppError;

pub type UserId = i64;

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
/// Shorter passwords are refused.
pub const PASSWORD_MIN: usize = 8;
/// Longer passwords (in characters, so at most 4 KiB) are refused before hashing, so a
/// client cannot make us hash megabytes.
pub const PASSWORD_MAX: usize = 1024;
pub const DISPLAY_NAME_MAX: usize = 64;

text_enum! {
    /// `admin`s are support staff: they may read and moderate any room.
    pub enum Role {
        User = "user",
        Admin = "admin",
    }
}

/// A user as every client sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

/// A username that passed [`validate_username`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form uniqueness and login compare by.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// 3–32 characters of `[A-Za-z0-9_.-]`, kept as written.
pub fn validate_username(text: &str) -> Result<Username, AppError> {
    let len = text.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(AppError::validation(
            "invalid_username",
            format!("username must be {USERNAME_MIN}–{USERNAME_MAX} characters long"),
        ));
    }
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(AppError::validation(
            "invalid_username",
            "username may contain only letters A–Z, digits, '_', '.' and '-'",
        ));
    }
    if RESERVED_USERNAMES.iter().any(|reserved| text.eq_ignore_ascii_case(reserved)) {
        return Err(AppError::validation(
            "invalid_username",
            format!("'{text}' is reserved: @{text} mentions a whole room"),
        ));
    }
    Ok(Username(text.to_owned()))
}

/// Names that mention more than one user (`@here`, `@room`), so no account may take them.
pub const RESERVED_USERNAMES: [&str; 2] = ["here", "room"];

pub fn validate_password(password: &str) -> Result<(), AppError> {
    if password.chars().count() < PASSWORD_MIN {
        return Err(AppError::validation(
            "weak_password",
            format!("password must be at least {PASSWORD_MIN} characters long"),
        ));
    }
    if password.chars().count() > PASSWORD_MAX {
        return Err(AppError::validation(
            "invalid_password",
            format!("password must be at most {PASSWORD_MAX} characters long"),
        ));
    }
    Ok(())
}

/// The display name, trimmed; the username when none (or only blanks) is given.
pub fn display_name_or(display_name: Option<&str>, username: &Username) -> Result<String, AppError> {
    Ok(super::optional_text("display_name", display_name, DISPLAY_NAME_MAX)?
        .unwrap_or_else(|| username.as_str().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_spec() {
        for ok in ["bob", "Alice_99", "a.b-c", &"x".repeat(32)] {
            assert!(validate_username(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", &"x".repeat(33), "has space", "émile", "semi;colon", "", "<script>", "here", "Room"]
        {
            let err = validate_username(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_username", "{bad}");
        }
    }

    #[test]
    fn username_folding_is_case_insensitive() {
        assert_eq!(validate_username("Alice").unwrap().folded(), "alice");
    }

    #[test]
    fn passwords_have_bounds() {
        assert_eq!(validate_password("short").unwrap_err().code(), "weak_password");
        assert_eq!(validate_password(&"x".repeat(2000)).unwrap_err().code(), "invalid_password");
        assert!(validate_password("correct horse").is_ok());
    }

    #[test]
    fn display_name_defaults_to_username() {
        let name = validate_username("bob").unwrap();
        assert_eq!(display_name_or(None, &name).unwrap(), "bob");
        assert_eq!(display_name_or(Some("   "), &name).unwrap(), "bob");
        assert_eq!(display_name_or(Some(" Bob B. "), &name).unwrap(), "Bob B.");
        assert!(display_name_or(Some(&"y".repeat(65)), &name).is_err());
    }
}
