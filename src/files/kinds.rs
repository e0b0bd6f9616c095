//! Which files may be uploaded (SPEC §6's extension allow-list) and whether the content
//! is what its name claims: the first bytes (magic numbers, via the `infer` crate's
//! matchers) must agree with the extension, so an HTML page, an executable or a zip
//! never passes for a `.png`, `.pdf` or `.docx`.

use crate::domain::file::FileCategory;
use crate::error::AppError;

/// How many leading bytes are kept for sniffing; every check below looks within them
/// (OOXML members within ~18 KB, `ustar` at 257).
pub const SNIFF_BYTES: usize = 64 * 1024;

/// An allowed extension: its category, the MIME type files of it are served with, and
/// the check its first bytes must pass.
#[derive(Debug)]
pub struct Kind {
    pub extension: &'static str,
    pub category: FileCategory,
    pub mime: &'static str,
    matches: fn(&[u8]) -> bool,
}

impl Kind {
    /// Plain text: the whole file must be UTF-8 without NUL bytes ([`TextCheck`]).
    pub fn is_text(&self) -> bool {
        self.extension == "txt"
    }
}

use FileCategory::{Audio, File, Image, Video};
use infer::{archive, audio, doc, image, odf, video};

/// An MPEG audio frame header: 11 bits of sync, then any version, layer III.
fn is_mpeg_audio_frame(buf: &[u8]) -> bool {
    buf.len() > 2 && buf[0] == 0xFF && buf[1] & 0xE0 == 0xE0 && (buf[1] >> 1) & 0x3 == 0x1
}

/// An ISO base media file (MP4, M4A, MOV): an `ftyp` box first.
fn is_iso_media(buf: &[u8]) -> bool {
    buf.len() > 12 && &buf[4..8] == b"ftyp"
}

/// An OLE2 compound file (Word 97–2003 and its kin); its directory may lie anywhere in
/// the file, so the signature is what a prefix can check.
fn is_ole2(buf: &[u8]) -> bool {
    buf.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// Bytes no text file holds: C0 controls other than tab, line breaks, form feed and
/// escape (NUL above all).
fn is_binary_byte(byte: u8) -> bool {
    byte < 0x20 && !matches!(byte, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | 0x1B)
}

/// Text: valid UTF-8 (a character cut at the end of the prefix is fine) without binary
/// control bytes, and nothing `infer` recognises as another format (a zip's header is
/// valid UTF-8).
fn is_text_prefix(buf: &[u8]) -> bool {
    if buf.iter().any(|b| is_binary_byte(*b))
        || infer::get(buf).is_some_and(|t| !t.mime_type().starts_with("text/"))
    {
        return false;
    }
    match std::str::from_utf8(buf) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none() && buf.len() - err.valid_up_to() < 4,
    }
}

const fn kind(
    extension: &'static str,
    category: FileCategory,
    mime: &'static str,
    matches: fn(&[u8]) -> bool,
) -> Kind {
    Kind { extension, category, mime, matches }
}

/// SPEC §6: images png jpg jpeg gif webp; documents pdf doc docx txt rtf odt; audio mp3
/// wav ogg m4a; video mp4 webm avi mov; archives zip rar 7z tar gz.
pub static KINDS: &[Kind] = &[
    kind("png", Image, "image/png", image::is_png),
    kind("jpg", Image, "image/jpeg", image::is_jpeg),
    kind("jpeg", Image, "image/jpeg", image::is_jpeg),
    kind("gif", Image, "image/gif", image::is_gif),
    kind("webp", Image, "image/webp", image::is_webp),
    kind("pdf", File, "application/pdf", archive::is_pdf),
    kind("doc", File, "application/msword", is_ole2),
    kind(
        "docx",
        File,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        doc::is_docx,
    ),
    kind("txt", File, "text/plain; charset=utf-8", is_text_prefix),
    kind("rtf", File, "application/rtf", archive::is_rtf),
    kind("odt", File, "application/vnd.oasis.opendocument.text", odf::is_odt),
    kind("mp3", Audio, "audio/mpeg", |b| audio::is_mp3(b) || is_mpeg_audio_frame(b)),
    kind("wav", Audio, "audio/wav", audio::is_wav),
    kind("ogg", Audio, "audio/ogg", audio::is_ogg),
    kind("m4a", Audio, "audio/mp4", |b| audio::is_m4a(b) || is_iso_media(b)),
    kind("mp4", Video, "video/mp4", |b| video::is_mp4(b) || is_iso_media(b)),
    kind("webm", Video, "video/webm", video::is_webm),
    kind("avi", Video, "video/x-msvideo", video::is_avi),
    kind("mov", Video, "video/quicktime", |b| video::is_mov(b) || is_iso_media(b)),
    kind("zip", File, "application/zip", archive::is_zip),
    kind("rar", File, "application/vnd.rar", archive::is_rar),
    kind("7z", File, "application/x-7z-compressed", archive::is_7z),
    kind("tar", File, "application/x-tar", archive::is_tar),
    kind("gz", File, "application/gzip", archive::is_gz),
];

/// The kind of an extension (lower case), or 415 naming what is allowed.
pub fn kind_of(extension: &str) -> Result<&'static Kind, AppError> {
    KINDS.iter().find(|k| k.extension == extension).ok_or_else(|| {
        let allowed: Vec<&str> = KINDS.iter().map(|k| k.extension).collect();
        let what = if extension.is_empty() {
            "a file without an extension".to_owned()
        } else {
            format!(".{extension} files")
        };
        AppError::UnsupportedMediaType(format!("{what} cannot be uploaded; allowed: {}", allowed.join(", ")))
    })
}

/// What the bytes look like, for the error message.
fn described(prefix: &[u8]) -> String {
    if let Some(found) = infer::get(prefix) {
        return found.mime_type().to_owned();
    }
    if is_text_prefix(prefix) { "plain text".to_owned() } else { "unrecognised binary data".to_owned() }
}

/// Checks the first bytes of a file against its kind: 415 saying what was found.
pub fn check_content(kind: &Kind, prefix: &[u8]) -> Result<(), AppError> {
    if prefix.is_empty() {
        return Err(AppError::validation("empty_file", "the file is empty"));
    }
    if (kind.matches)(prefix) {
        return Ok(());
    }
    Err(AppError::UnsupportedMediaType(format!(
        "the file is named .{} but its content is {}; rename it to what it is or upload another file",
        kind.extension,
        described(prefix)
    )))
}

/// Checks a whole stream is UTF-8 without NUL, chunk by chunk (a character may straddle
/// two chunks).
#[derive(Debug, Default)]
pub struct TextCheck {
    carry: Vec<u8>,
    failed: bool,
}

impl TextCheck {
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.failed {
            return;
        }
        if chunk.iter().any(|b| is_binary_byte(*b)) {
            self.failed = true;
            return;
        }
        let mut joined = std::mem::take(&mut self.carry);
        joined.extend_from_slice(chunk);
        match std::str::from_utf8(&joined) {
            Ok(_) => {}
            Err(err) if err.error_len().is_none() => self.carry = joined[err.valid_up_to()..].to_vec(),
            Err(_) => self.failed = true,
        }
    }

    /// 415 unless everything fed was text.
    pub fn finish(self) -> Result<(), AppError> {
        if self.failed || !self.carry.is_empty() {
            return Err(AppError::UnsupportedMediaType(
                "the file is named .txt but is not UTF-8 text (it holds binary data or NUL bytes)".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    /// The start of an x86-64 executable, padded to a header's length.
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0\
        \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";

    fn check(ext: &str, bytes: &[u8]) -> Result<(), AppError> {
        check_content(kind_of(ext)?, bytes)
    }

    #[test]
    fn content_must_agree_with_the_extension() {
        assert!(check("png", PNG).is_ok());
        let html = check("png", b"<!DOCTYPE html><html><script>alert(1)</script>").unwrap_err();
        assert_eq!(html.status(), 415);
        assert!(html.to_string().contains("text/html"), "{html}");
        let elf = check("pdf", ELF).unwrap_err();
        assert!(elf.to_string().contains("application/x-executable"), "{elf}");
        assert_eq!(
            check("docx", b"PK\x03\x04\x14\0\0\0\x08\0aaaaaaaaaaaaaaaaaaaaa").unwrap_err().status(),
            415
        );
        assert_eq!(check("png", b"%PDF-1.7\n").unwrap_err().status(), 415);
        assert_eq!(check("exe", ELF).unwrap_err().status(), 415);
        assert_eq!(check("", b"hello").unwrap_err().status(), 415);
        assert_eq!(check("png", b"").unwrap_err().code(), "empty_file");
    }

    #[test]
    fn containers_and_frames_are_recognised() {
        let mut tar = vec![0u8; 512];
        tar[..8].copy_from_slice(b"notes.md");
        tar[257..262].copy_from_slice(b"ustar");
        assert!(check("tar", &tar).is_ok());
        assert!(check("mp3", b"ID3\x04\0\0\0\0\0\0").is_ok());
        assert!(check("mp3", b"\xFF\xFB\x90\x64\0\0").is_ok());
        assert!(check("mp3", b"\xFF\xF3\x90\x64\0\0").is_ok());
        assert!(check("m4a", b"\0\0\0\x20ftypM4A \0\0\0\0").is_ok());
        assert!(check("mp4", b"\0\0\0\x20ftypisom\0\0\x02\0").is_ok());
        assert!(check("txt", "déjà vu\n".as_bytes()).is_ok());
        assert!(check("txt", b"a\0b").is_err());
        assert!(check("txt", b"PK\x03\x04\x14\x00 a zip").is_err());
        assert!(check("txt", b"tabs\tand\r\nbreaks\x0c").is_ok());
        assert!(check("txt", b"\xC3\x28 broken").is_err());
    }

    #[test]
    fn text_check_spans_chunks() {
        let text = "é".repeat(3);
        let bytes = text.as_bytes();
        let mut ok = TextCheck::default();
        ok.feed(&bytes[..1]);
        ok.feed(&bytes[1..]);
        assert!(ok.finish().is_ok());
        let mut cut = TextCheck::default();
        cut.feed(&bytes[..1]);
        assert!(cut.finish().is_err());
        let mut nul = TextCheck::default();
        nul.feed(b"fine");
        nul.feed(b"\0");
        assert!(nul.finish().is_err());
    }
}
