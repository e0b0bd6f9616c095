//! Plain types and pure rules: what a valid username, password, room or message is.
//!
//! Nothing here touches the database, HTTP or Socket.IO, so every rule is unit-tested
//! directly and shared by REST, Socket.IO and the admin commands. Request bodies live
//! here too: a Socket.IO payload is the REST body plus the ids the REST path carries.

pub mod calendar;
pub mod file;
pub mod message;
pub mod moderation;
pub mod notification;
pub mod presence;
pub mod qa;
pub mod room;
pub mod user;
pub mod words;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// Whether `c` is a control character other than line breaks and tabs: never valid in
/// names and titles (NUL also breaks PostgreSQL text).
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// Trims `text` and checks its length in characters and that it holds no control
/// characters other than line breaks and tabs; `field` names it in the error.
pub fn trimmed_text(field: &str, text: &str, min: usize, max: usize) -> Result<String, AppError> {
    if text.chars().any(is_forbidden_control) {
        return Err(AppError::validation(
            "invalid_field",
            format!("{field} must not contain control characters"),
        ));
    }
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

/// A list's page size: `requested`, or `default` when absent; 1–`max`, else 422.
pub fn page_limit(requested: Option<i64>, default: i64, max: i64) -> Result<i64, AppError> {
    let limit = requested.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::validation("invalid_limit", format!("limit must be 1–{max}")))
    }
}

/// A stored text value that names no variant of its type: the database holds something
/// this build does not know, which is a bug to hear about, not a value to guess.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored {kind} {value:?}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// Declares a closed set of names stored as text: serde in its stored spelling, the
/// OpenAPI enum, `as_str`, and a database decoding that fails loudly on anything else.
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        // `rename_all` is what the API document shows (utoipa does not see renames that
        // a macro spells); every stored spelling is the variant's snake_case, which the
        // test below checks, and the per-variant rename is what serde uses.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::UnknownValue { kind: stringify!($name), value: text.to_owned() }),
                }
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            String: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}
pub(crate) use text_enum;

/// An empty request body (a socket event whose REST twin has no body).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NoBody {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_control_characters_but_keep_line_breaks() {
        for bad in ["a\0b", "a\u{1}", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}", "c1\u{85}"] {
            assert_eq!(trimmed_text("name", bad, 1, 100).unwrap_err().code(), "invalid_field", "{bad:?}");
        }
        assert_eq!(trimmed_text("name", " two\nlines\tok ", 1, 100).unwrap(), "two\nlines\tok");
    }

    #[test]
    fn page_limit_defaults_and_bounds() {
        assert_eq!(page_limit(None, 50, 100).unwrap(), 50);
        assert_eq!(page_limit(Some(100), 50, 100).unwrap(), 100);
        for bad in [0, -1, 101] {
            assert_eq!(page_limit(Some(bad), 50, 100).unwrap_err().code(), "invalid_limit");
        }
    }

    /// The API document lists exactly the spellings serde reads and writes.
    #[test]
    fn documented_enum_values_are_the_stored_spellings() {
        fn check<T: utoipa::PartialSchema + serde::Serialize + 'static>(
            all: &[T],
            as_str: fn(&T) -> &'static str,
        ) {
            let schema = serde_json::to_value(T::schema()).unwrap();
            let documented: Vec<&str> =
                schema["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let stored: Vec<&str> = all.iter().map(as_str).collect();
            assert_eq!(documented, stored);
            for value in all {
                assert_eq!(serde_json::to_value(value).unwrap(), as_str(value));
            }
        }
        check(room::RoomType::ALL, |v| v.as_str());
        check(room::Permission::ALL, |v| v.as_str());
        check(message::MessageType::ALL, |v| v.as_str());
        check(qa::QuestionStatus::ALL, |v| v.as_str());
        check(presence::PresenceStatus::ALL, |v| v.as_str());
    }

    #[test]
    fn stored_names_round_trip_and_unknown_ones_fail() {
        use room::RoomType;
        for t in RoomType::ALL {
            assert_eq!(t.as_str().parse::<RoomType>().unwrap(), *t);
        }
        let err = "lounge".parse::<RoomType>().unwrap_err();
        assert_eq!(err.to_string(), "unknown stored RoomType \"lounge\"");
    }
}
