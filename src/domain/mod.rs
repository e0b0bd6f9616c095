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

/// The text rules as the API document states them (JSON Schema `pattern`s), matching
/// [`trimmed_text`] and [`optional_text`] exactly: no control characters but line
/// breaks and tabs, and for required text at least one character that is not blank.
/// Schema attributes name them by placeholder (`pattern = "text"`, `"non_blank_text"`);
/// `http::api` puts these in.
pub const TEXT_PATTERN: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$";
pub const NON_BLANK_TEXT_PATTERN: &str = concat!(
    r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*",
    r"[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]",
    r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
);

/// Trims `text` and checks its length in characters (`min` is 0 or 1) and that it holds
/// no control characters other than line breaks and tabs; `field` names it in the error.
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

/// Optional text (a reason, a status message): checked as [`trimmed_text`]; absent or
/// blank is none.
pub fn optional_text(field: &str, text: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    match text {
        None => Ok(None),
        Some(text) => trimmed_text(field, text, 0, max).map(|t| (!t.is_empty()).then_some(t)),
    }
}

/// A number as ids and cursors spell it: 1–18 ASCII digits, nothing else (no sign, no
/// blanks), so that what the document's patterns allow is exactly what parses.
pub fn plain_number(text: &str) -> Option<i64> {
    let digits = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
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

/// Rewrites every whole-number float in `value` (`5.0`, `-2e3`) as the integer it equals,
/// in place: JSON Schema counts `5.0` as an integer, and clients written in languages
/// without an integer type send them, while serde refuses them for integer fields.
/// Fractional numbers and whole ones beyond `i64` stay as they are (and are refused there).
pub fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            if let Some(float) = number.as_f64()
                && float.fract() == 0.0
                && float.abs() < 9.2e18
            {
                *value = Value::from(float as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_number_floats_become_integers_and_nothing_else_changes() {
        let mut value = serde_json::json!({
            "a": 5.0, "b": -2e3, "c": 1.5, "d": [3.0, "4.0", {"e": 0.0}], "f": 1e300, "g": 7
        });
        whole_numbers_as_integers(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "a": 5, "b": -2000, "c": 1.5, "d": [3, "4.0", {"e": 0}], "f": 1e300, "g": 7
            })
        );
        assert!(value["a"].is_i64() && value["f"].is_f64());
    }

    #[test]
    fn names_refuse_control_characters_but_keep_line_breaks() {
        for bad in ["a\0b", "a\u{1}", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}", "c1\u{85}"] {
            assert_eq!(trimmed_text("name", bad, 1, 100).unwrap_err().code(), "invalid_field", "{bad:?}");
        }
        assert_eq!(trimmed_text("name", " two\nlines\tok ", 1, 100).unwrap(), "two\nlines\tok");
    }

    /// The document's patterns say exactly what the text rules accept.
    #[test]
    fn text_patterns_match_the_text_rules() {
        use proptest::prelude::*;
        let text = regex::Regex::new(TEXT_PATTERN).unwrap();
        let non_blank = regex::Regex::new(NON_BLANK_TEXT_PATTERN).unwrap();
        let chars = prop_oneof![
            Just(' '),
            Just('\n'),
            Just('\t'),
            Just('\u{1c}'),
            Just('\u{85}'),
            Just('\u{a0}'),
            Just('\u{3000}'),
            Just('\u{feff}'),
            Just('a'),
            Just('é'),
            Just('\0'),
            Just('\u{9f}'),
            any::<char>()
        ];
        proptest!(ProptestConfig::with_cases(2000), |(chars in proptest::collection::vec(chars, 0..6))| {
            let s: String = chars.into_iter().collect();
            prop_assert_eq!(text.is_match(&s), trimmed_text("t", &s, 0, 100).is_ok(), "{:?}", s);
            prop_assert_eq!(non_blank.is_match(&s), trimmed_text("t", &s, 1, 100).is_ok(), "{:?}", s);
        });
        assert_eq!(optional_text("t", Some("  "), 10).unwrap(), None);
        assert_eq!(optional_text("t", Some(" x "), 10).unwrap().as_deref(), Some("x"));
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
