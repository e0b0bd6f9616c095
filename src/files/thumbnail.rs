//! Thumbnails of uploaded images (png, jpeg, gif, webp) with the `image` crate.
//!
//! Decoding is CPU work and an attacker's favourite: a few kilobytes of PNG can claim
//! to be gigapixels. So the header is read first and anything over the pixel budget is
//! refused before a pixel is decoded; the decoder also runs under `image::Limits`
//! (dimensions, allocation). Callers run this in `spawn_blocking` under a semaphore.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::AppError;

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;
const JPEG_QUALITY: u8 = 80;

/// A made thumbnail.
#[derive(Debug)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    /// The source image's size, after EXIF orientation.
    pub source_width: u32,
    pub source_height: u32,
}

/// What decoding may use.
#[derive(Debug, Clone, Copy)]
pub struct DecodeBudget {
    /// Largest width × height decoded.
    pub max_pixels: u64,
    /// Largest allocation the decoder may make, in bytes.
    pub max_alloc: u64,
}

/// The `image` format of an image extension's MIME type.
pub fn format_of(mime: &str) -> Option<ImageFormat> {
    match mime {
        "image/png" => Some(ImageFormat::Png),
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// The decoder's own words stay in the log: they describe its internals, not the file.
fn undecodable(err: impl std::fmt::Display) -> AppError {
    tracing::debug!(error = %err, "an uploaded image could not be decoded");
    AppError::validation("invalid_image", "the image could not be decoded: it is damaged or incomplete")
}

/// Decodes `bytes` (a GIF: its first frame), turns it upright by its EXIF orientation and
/// scales it to fit [`THUMBNAIL_SIDE`]: JPEG when opaque, lossless WebP when some of it
/// is transparent. 422 `image_too_large` over the budget, `invalid_image` when undecodable.
pub fn make_thumbnail(
    bytes: &[u8],
    format: ImageFormat,
    budget: DecodeBudget,
) -> Result<Thumbnail, AppError> {
    let mut limits = image::Limits::default();
    let side = u32::try_from(budget.max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    limits.max_alloc = Some(budget.max_alloc);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let too_large = |w: u64, h: u64| {
        AppError::validation(
            "image_too_large",
            format!(
                "the image is {w}×{h} pixels; at most {} megapixels are accepted",
                budget.max_pixels / 1_000_000
            ),
        )
    };
    let mut decoder = reader.into_decoder().map_err(|err| match err {
        image::ImageError::Limits(_) => AppError::validation(
            "image_too_large",
            "the image is larger in pixels than this server decodes".to_owned(),
        ),
        other => undecodable(other),
    })?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > budget.max_pixels {
        return Err(too_large(w.into(), h.into()));
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|err| match err {
        image::ImageError::Limits(_) => too_large(w.into(), h.into()),
        other => undecodable(other),
    })?;
    image.apply_orientation(orientation);
    let (source_width, source_height) = (image.width(), image.height());
    let small = if source_width > THUMBNAIL_SIDE || source_height > THUMBNAIL_SIDE {
        image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    } else {
        image
    };
    let mut out = Vec::new();
    // GIFs and many PNGs carry an alpha channel that every pixel leaves opaque.
    let transparent = small.color().has_alpha() && small.to_rgba8().pixels().any(|p| p[3] < 255);
    let mime = if transparent {
        let rgba = small.to_rgba8();
        WebPEncoder::new_lossless(&mut out)
            .encode(rgba.as_raw(), rgba.width(), rgba.height(), image::ExtendedColorType::Rgba8)
            .map_err(AppError::internal)?;
        "image/webp"
    } else {
        let rgb = small.to_rgb8();
        JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
            .encode(rgb.as_raw(), rgb.width(), rgb.height(), image::ExtendedColorType::Rgb8)
            .map_err(AppError::internal)?;
        "image/jpeg"
    };
    Ok(Thumbnail {
        bytes: out,
        mime,
        width: small.width(),
        height: small.height(),
        source_width,
        source_height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    const BUDGET: DecodeBudget = DecodeBudget { max_pixels: 40_000_000, max_alloc: 512 << 20 };

    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn thumbnails_fit_the_box_and_keep_the_aspect() {
        let photo = DynamicImage::ImageRgb8(RgbImage::from_pixel(1280, 640, Rgb([200, 10, 10])));
        let thumb = make_thumbnail(&encode(photo, ImageFormat::Png), ImageFormat::Png, BUDGET).unwrap();
        assert_eq!((thumb.width, thumb.height), (320, 160));
        assert_eq!((thumb.source_width, thumb.source_height), (1280, 640));
        assert_eq!(thumb.mime, "image/jpeg");
        assert!(image::load_from_memory(&thumb.bytes).is_ok());
    }

    #[test]
    fn transparent_images_keep_their_alpha() {
        let logo = DynamicImage::ImageRgba8(RgbaImage::from_pixel(500, 500, Rgba([0, 0, 0, 0])));
        let thumb = make_thumbnail(&encode(logo, ImageFormat::Png), ImageFormat::Png, BUDGET).unwrap();
        assert_eq!(thumb.mime, "image/webp");
        assert_eq!((thumb.width, thumb.height), (320, 320));
    }

    /// A PNG whose header claims 30000×30000 pixels (900 MP) in a few bytes.
    #[test]
    fn pixel_bombs_are_refused_before_decoding() {
        let small = encode(DynamicImage::ImageLuma8(image::GrayImage::new(1, 1)), ImageFormat::Png);
        let mut bomb = small.clone();
        // IHDR data starts at byte 16: width, height (big-endian), then its CRC at 29.
        bomb[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = make_thumbnail(&bomb, ImageFormat::Png, BUDGET).unwrap_err();
        assert_eq!(err.code(), "image_too_large", "{err}");
        let garbage = make_thumbnail(b"\x89PNG\r\n\x1a\nnot really", ImageFormat::Png, BUDGET).unwrap_err();
        assert_eq!(garbage.code(), "invalid_image");
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for byte in data {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
