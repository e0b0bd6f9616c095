//! Blocked words: whole-word matching that ignores case, accents and width, so `Ｂａｄ`,
//! `bäd` and `BAD` all match `bad`.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::text_enum;
use crate::error::AppError;

/// Words a room may block besides the server's list.
pub const ROOM_WORDS_MAX: usize = 200;
pub const WORD_MAX: usize = 64;

text_enum! {
    /// What a room does with a message that holds a blocked word.
    pub enum FilterMode {
        /// Refuse it (422 `blocked_content`, naming the word).
        Reject = "reject",
        /// Store it with the word replaced by `***`.
        Mask = "mask",
    }
}

/// A word as matching compares it: compatibility-decomposed (full-width letters become
/// ASCII), accents dropped, lower case.
pub fn fold(text: &str) -> String {
    text.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// The first blocked word in `text`, whole words only, as it was listed.
pub fn find_blocked<'a>(text: &str, blocked: &'a [String]) -> Option<&'a str> {
    if blocked.is_empty() {
        return None;
    }
    let folded: Vec<String> = blocked.iter().map(|w| fold(w)).collect();
    words(text).find_map(|(_, word)| {
        let word = fold(word);
        folded.iter().position(|b| *b == word).map(|i| blocked[i].as_str())
    })
}

/// `text` with every blocked word (whole words only) replaced by `***`.
pub fn mask(text: &str, blocked: &[String]) -> String {
    let folded: Vec<String> = blocked.iter().map(|w| fold(w)).collect();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, word) in words(text) {
        if folded.contains(&fold(word)) {
            out.push_str(&text[last..at]);
            out.push_str("***");
            last = at + word.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// The words of `text` with their byte offsets: runs of letters, digits and marks.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (start, _) = loop {
            let (i, c) = rest.next()?;
            if c.is_alphanumeric() {
                break (i, c);
            }
        };
        let mut end = text.len();
        while let Some(&(i, c)) = rest.peek() {
            if !(c.is_alphanumeric() || is_combining_mark(c)) {
                end = i;
                break;
            }
            rest.next();
        }
        Some((start, &text[start..end]))
    })
}

/// A room's own blocked words, checked and trimmed.
pub fn validate_room_words(words: &[String]) -> Result<Vec<String>, AppError> {
    if words.len() > ROOM_WORDS_MAX {
        return Err(AppError::validation("invalid_field", format!("at most {ROOM_WORDS_MAX} blocked words")));
    }
    words
        .iter()
        .map(|w| {
            let w = w.trim();
            if w.is_empty() || w.chars().count() > WORD_MAX || !w.chars().all(char::is_alphanumeric) {
                Err(AppError::validation(
                    "invalid_field",
                    format!("blocked words are single words of 1–{WORD_MAX} letters or digits"),
                ))
            } else {
                Ok(w.to_owned())
            }
        })
        .collect()
}

/// The JSON shape of a word list in room settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WordList(pub Vec<String>);

// Stored as one line per word.
impl<DB: sqlx::Database> sqlx::Type<DB> for WordList
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

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for WordList
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <String as sqlx::Decode<'r, DB>>::decode(value)?;
        Ok(WordList(text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()))
    }
}

impl WordList {
    /// The stored form: one word per line.
    pub fn stored(&self) -> String {
        self.0.join("\n")
    }
}

/// [`validate_room_words`] as a JSON Schema pattern: one word of letters and digits
/// (`[^\W_]`: word characters but the underscore), blanks around it allowed.
pub const ROOM_WORD_PATTERN: &str = r"^\s*[^\W_]{1,64}\s*$";

/// A room's word list in the API document: at most 200 words, each as
/// [`ROOM_WORD_PATTERN`] says.
impl utoipa::PartialSchema for WordList {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        let word = ObjectBuilder::new().schema_type(Type::String).pattern(Some(ROOM_WORD_PATTERN));
        ArrayBuilder::new().items(word).max_items(Some(ROOM_WORDS_MAX)).build().into()
    }
}

impl utoipa::ToSchema for WordList {}

#[cfg(test)]
mod tests {
    #[test]
    fn the_documented_word_pattern_agrees_with_the_check() {
        let pattern = regex::Regex::new(super::ROOM_WORD_PATTERN).unwrap();
        let x65 = "x".repeat(65);
        for word in [
            "bad",
            " Spoiler ",
            "bäd",
            "ＢＡＤ",
            "l33t",
            "",
            " ",
            "two words",
            "snake_case",
            "a-b",
            "x!",
            &x65,
        ] {
            let valid = super::validate_room_words(&[word.to_owned()]).is_ok();
            assert_eq!(pattern.is_match(word), valid, "{word:?}");
        }
    }

    use super::*;

    fn list(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn matching_ignores_case_accents_and_width_but_not_word_boundaries() {
        let blocked = list(&["bad"]);
        for hit in ["BAD idea", "so bäd!", "Ｂａｄ", "(bad)"] {
            assert_eq!(find_blocked(hit, &blocked), Some("bad"), "{hit}");
        }
        for miss in ["badge", "abad", "b a d", ""] {
            assert_eq!(find_blocked(miss, &blocked), None, "{miss}");
        }
        assert_eq!(mask("Bad, BÄD and badge", &blocked), "***, *** and badge");
    }

    #[test]
    fn room_words_are_single_words() {
        assert_eq!(validate_room_words(&list(&[" spoiler "])).unwrap(), ["spoiler"]);
        for bad in [list(&[""]), list(&["two words"]), list(&["a-b"])] {
            assert_eq!(validate_room_words(&bad).unwrap_err().code(), "invalid_field");
        }
    }
}
