//! Uploaded files: what a file name may be, how it is shown and sent back, and the
//! optional fields of an upload (SPEC §6). The content checks live in `files::kinds`.

use serde::Serialize;
use utoipa::ToSchema;

use super::text_enum;
use super::user::User;
use crate::error::AppError;

pub type FileId = i64;

/// Longest file name kept, in characters (most file systems stop at 255 bytes).
pub const FILE_NAME_MAX: usize = 200;
/// Longest caption, as for message text.
pub const CAPTION_MAX: usize = super::message::CONTENT_MAX;

text_enum! {
    /// What an upload is, which is also the type of the message that carries it.
    pub enum FileCategory {
        Image = "image",
        File = "file",
        Audio = "audio",
        Video = "video",
    }
}

impl FileCategory {
    pub fn message_type(self) -> super::message::MessageType {
        use super::message::MessageType;
        match self {
            FileCategory::Image => MessageType::Image,
            FileCategory::File => MessageType::File,
            FileCategory::Audio => MessageType::Audio,
            FileCategory::Video => MessageType::Video,
        }
    }
}

/// Characters that reorder or hide text (bidirectional overrides and isolates, zero-width
/// marks): `invoice\u{202E}fdp.exe` must not pass for a PDF in anyone's eyes.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// The client's file name, checked: a name, never a path. Refused (422
/// `invalid_file_name`) when it is empty, longer than 200 characters, holds a path
/// separator, a control or text-direction character, or is `.`/`..`; kept otherwise,
/// trimmed, as display metadata. The server never uses it to name anything on disk.
pub fn validate_file_name(raw: &str) -> Result<String, AppError> {
    let refuse = |why: &str| Err(AppError::validation("invalid_file_name", format!("file name {why}")));
    let name = raw.trim();
    if name.is_empty() {
        return refuse("is missing");
    }
    if name.contains(['/', '\\']) {
        return refuse("must be a name, not a path (no / or \\)");
    }
    if name.chars().any(|c| c.is_control() || is_deceptive(c)) {
        return refuse("must not contain control or text-direction characters");
    }
    if name == "." || name == ".." {
        return refuse("must name a file");
    }
    let chars = name.chars().count();
    if chars > FILE_NAME_MAX {
        return refuse(&format!("must be at most {FILE_NAME_MAX} characters (got {chars})"));
    }
    Ok(name.to_owned())
}

/// The lower-case extension of a checked file name (`""` when it has none).
pub fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// `Content-Disposition: attachment` for `name` (RFC 6266): an ASCII `filename` for old
/// clients, with quotes, backslashes and anything non-ASCII replaced, and the exact name
/// as UTF-8 in `filename*`.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        // RFC 5987 attr-char; everything else percent-encoded.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A file attached to a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attachment {
    pub id: FileId,
    /// The uploader's file name, for display.
    pub name: String,
    pub mime: String,
    pub size: i64,
    pub category: FileCategory,
    /// Hex SHA-256 of the content (also the download's ETag).
    pub sha256: String,
    /// Pixel size of an image.
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub has_thumbnail: bool,
    /// Pixel size of the thumbnail, so a client can reserve its space before loading it.
    pub thumbnail_width: Option<i64>,
    pub thumbnail_height: Option<i64>,
    pub expires_at: Option<String>,
    /// Past its expiry or its message deleted: downloads answer 410.
    pub expired: bool,
    pub download_count: i64,
    pub download_url: String,
    pub thumbnail_url: Option<String>,
}

/// One completed download of a file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DownloadEntry {
    pub user: User,
    pub downloaded_at: String,
}

/// `GET /api/chat/files/{id}/downloads`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DownloadLog {
    pub file_id: FileId,
    pub download_count: i64,
    /// Newest first, at most 500.
    pub downloads: Vec<DownloadEntry>,
}

/// A stored upload, ready to be recorded with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// Where the content is in the blob store (server-chosen).
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub name: String,
    pub mime: &'static str,
    pub category: FileCategory,
    pub size: i64,
    pub sha256: String,
    pub dimensions: Option<(i64, i64)>,
    pub thumbnail_dimensions: Option<(i64, i64)>,
    pub expires_at: Option<crate::clock::Millis>,
}

/// The optional text parts of an upload, as they arrived.
#[derive(Debug, Default, Clone)]
pub struct UploadFields {
    pub caption: Option<String>,
    pub expires_in: Option<String>,
    pub client_id: Option<String>,
}

/// [`UploadFields`], checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOptions {
    /// The message text: the caption, or empty.
    pub caption: String,
    pub expires_in_seconds: Option<u64>,
    pub client_id: Option<String>,
}

impl UploadFields {
    /// Checks the fields; `max_expiry_seconds` bounds `expires_in`.
    pub fn validate(&self, max_expiry_seconds: u64) -> Result<UploadOptions, AppError> {
        let caption = match self.caption.as_deref() {
            Some(text) if !text.trim().is_empty() => {
                super::message::validate_content(text)?.trim().to_owned()
            }
            // Blank is no caption, but still only text.
            Some(text) => super::optional_text("caption", Some(text), CAPTION_MAX)?.unwrap_or_default(),
            None => String::new(),
        };
        let expires_in_seconds = match self.expires_in.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match text.parse::<u64>() {
                Ok(secs) if (1..=max_expiry_seconds).contains(&secs) => Some(secs),
                _ => {
                    return Err(AppError::validation(
                        "invalid_expires_in",
                        format!("expires_in must be a whole number of seconds, 1–{max_expiry_seconds}"),
                    ));
                }
            },
        };
        let client_id = match self.client_id.as_deref() {
            None => None,
            Some(id) => Some(super::message::validate_client_id(id)?),
        };
        Ok(UploadOptions { caption, expires_in_seconds, client_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_names_not_paths() {
        for bad in [
            "../../etc/passwd.png",
            "a\\b.png",
            "dir/x.png",
            "nul\0.png",
            "bell\u{7}.png",
            "invoice\u{202E}fdp.exe",
            "..",
            "   ",
            "",
        ] {
            let err = validate_file_name(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_file_name", "{bad:?}");
        }
        let long = format!("{}.png", "a".repeat(300));
        assert_eq!(validate_file_name(&long).unwrap_err().code(), "invalid_file_name");
        assert_eq!(validate_file_name("  Rapport été 2026.pdf ").unwrap(), "Rapport été 2026.pdf");
    }

    #[test]
    fn extensions_are_lower_case_and_need_a_stem() {
        assert_eq!(extension("Photo.JPG"), "jpg");
        assert_eq!(extension("archive.tar.gz"), "gz");
        assert_eq!(extension(".png"), "");
        assert_eq!(extension("README"), "");
    }

    #[test]
    fn content_disposition_quotes_safely_and_keeps_the_exact_name() {
        assert_eq!(
            content_disposition("report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            content_disposition("été \"x\".png"),
            "attachment; filename=\"_t_ _x_.png\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.png"
        );
    }

    #[test]
    fn upload_fields_are_checked() {
        let ok = UploadFields {
            caption: Some(" Slides ".into()),
            expires_in: Some("60".into()),
            client_id: Some("c1".into()),
        };
        let checked = ok.validate(3600).unwrap();
        assert_eq!(checked.caption, "Slides");
        assert_eq!(checked.expires_in_seconds, Some(60));
        for expires in ["0", "-5", "abc", "3601", "1.5"] {
            let fields = UploadFields { expires_in: Some(expires.into()), ..Default::default() };
            assert_eq!(fields.validate(3600).unwrap_err().code(), "invalid_expires_in", "{expires}");
        }
        assert_eq!(UploadFields::default().validate(10).unwrap().caption, "");
    }
}
