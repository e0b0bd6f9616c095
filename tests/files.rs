//! File sharing over real HTTP (SPEC §6): uploads, type checks, thumbnails, downloads
//! with ranges and validators, the download log, expiry and what a refused upload
//! leaves behind (nothing).

mod common;

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use common::{Options, TestServer, assert_error, expect_ok};
use eventsync_chat::clock::ManualClock;
use image::{DynamicImage, ImageFormat, RgbImage};
use reqwest::multipart::{Form, Part};
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};

/// A gradient with grain, like a photo: it does not compress away losslessly, so a
/// thumbnail is smaller than the original.
fn noise(width: u32, height: u32) -> RgbImage {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let grain = |shift: u32| ((seed >> shift) as u8 % 32) as u32;
        let channel = |base: u32, shift: u32| ((base + grain(shift)).min(255)) as u8;
        image::Rgb([channel(x * 200 / width, 0), channel(y * 200 / height, 8), channel(100, 16)])
    })
}

fn encoded(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// A JPEG stored sideways (400×200) with EXIF orientation 6: upright it is 200×400.
fn sideways_jpeg() -> Vec<u8> {
    use image::ImageEncoder;
    let pixels = noise(400, 200);
    let mut out = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    // TIFF, little-endian, one IFD entry: Orientation (0x0112) = 6.
    let exif =
        vec![0x49, 0x49, 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
    encoder.set_exif_metadata(exif).expect("exif");
    encoder.write_image(pixels.as_raw(), 400, 200, image::ExtendedColorType::Rgb8).expect("jpeg");
    out
}

/// A PNG that claims 30000×30000 pixels (900 megapixels) in a few dozen bytes.
fn pixel_bomb() -> Vec<u8> {
    let mut png = encoded(DynamicImage::ImageLuma8(image::GrayImage::new(1, 1)), ImageFormat::Png);
    png[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let mut crc = 0xFFFF_FFFFu32;
    for byte in &png[12..29] {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    png[29..33].copy_from_slice(&(!crc).to_be_bytes());
    png
}

fn upload_path(room: &Value) -> String {
    format!("/api/chat/rooms/{}/upload", room["id"])
}

/// Uploads `bytes` as `name` (sent verbatim, not percent-encoded) with extra text parts.
async fn upload(
    server: &TestServer,
    token: &str,
    room: &Value,
    name: &str,
    bytes: Vec<u8>,
    extra: &[(&str, &str)],
) -> Response {
    let mut form =
        Form::new().percent_encode_noop().part("file", Part::bytes(bytes).file_name(name.to_owned()));
    for (key, value) in extra {
        form = form.text(key.to_string(), value.to_string());
    }
    server
        .http
        .post(server.url(&upload_path(room)))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// Uploads `chunks` chunks of `chunk` bytes of text as `name`, streamed: no declared length.
async fn upload_stream(
    server: &TestServer,
    token: &str,
    room: &Value,
    name: &str,
    chunks: usize,
    chunk: usize,
) -> Response {
    let body = (0..chunks).map(move |_| Ok::<_, std::io::Error>(vec![b'a'; chunk]));
    let part =
        Part::stream(reqwest::Body::wrap_stream(futures_util::stream::iter(body))).file_name(name.to_owned());
    let form = Form::new().part("file", part);
    server
        .http
        .post(server.url(&upload_path(room)))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload")
}

/// Files under the data directory's blob store (contents, thumbnails, half-written parts).
fn blobs_on_disk(data_dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(&data_dir.join("files"), &mut out);
    out.sort();
    out
}

async fn get(
    server: &TestServer,
    path: &str,
    token: &str,
    headers: &[(header::HeaderName, &str)],
) -> Response {
    let mut request = server.http.get(server.url(path)).bearer_auth(token);
    for (name, value) in headers {
        request = request.header(name.clone(), *value);
    }
    request.send().await.expect("get")
}

async fn room_with(server: &TestServer, owner: &str, settings: Value) -> Value {
    let mut body = json!({"type": "group", "name": "Shared files", "is_public": true});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
        body.extend(extra.clone());
    }
    server.create_room(owner, body).await
}

async fn join(server: &TestServer, token: &str, room: &Value) {
    expect_ok(server.post(&format!("/api/chat/rooms/{}/join", room["id"]), Some(token), json!({})).await)
        .await;
}

#[tokio::test]
async fn an_upload_downloads_byte_identical_with_safe_headers_ranges_and_validators() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let (bob, bob_user) = server.register("bob").await;
    let room = room_with(&server, &alice, json!({})).await;
    join(&server, &bob, &room).await;

    let original = encoded(DynamicImage::ImageRgb8(noise(800, 600)), ImageFormat::Png);
    let response = upload(
        &server,
        &alice,
        &room,
        "Été à Lyon \"final\".png",
        original.clone(),
        &[("caption", "The venue")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let message: Value = response.json().await.unwrap();
    assert_eq!(message["type"], "image");
    assert_eq!(message["content"], "The venue");
    let file = &message["attachments"][0];
    assert_eq!(file["name"], "Été à Lyon \"final\".png");
    assert_eq!(file["mime"], "image/png");
    assert_eq!(file["size"], original.len());
    assert_eq!((file["width"].as_i64(), file["height"].as_i64()), (Some(800), Some(600)));
    assert_eq!((file["thumbnail_width"].as_i64(), file["thumbnail_height"].as_i64()), (Some(320), Some(240)));
    let sha = file["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    // The message reached history with its attachment.
    let history = server.history(&bob, &room["id"], "").await;
    let last = history["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"][0]["id"], file["id"]);

    let download = file["download_url"].as_str().unwrap().to_owned();
    let response = get(&server, &download, &bob, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "image/png");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("sandbox"));
    assert_eq!(h[header::ACCEPT_RANGES], "bytes");
    assert_eq!(h[header::ETAG].to_str().unwrap(), format!("\"{sha}\""));
    let disposition = h[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment; filename=\"_t_ _ Lyon _final_.png\""), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Lyon%20%22final%22.png"),
        "{disposition}"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), original.as_slice());

    // Validators: the same ETag answers 304 without a body.
    let etag = format!("\"{sha}\"");
    let response = get(&server, &download, &bob, &[(header::IF_NONE_MATCH, etag.as_str())]).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(response.bytes().await.unwrap().is_empty());
    let response = get(&server, &download, &bob, &[(header::IF_NONE_MATCH, "\"other\"")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap();

    // Ranges: exact bytes, the end, and 416 outside the file.
    let response = get(&server, &download, &bob, &[(header::RANGE, "bytes=100-1099")]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()[header::CONTENT_RANGE].to_str().unwrap(),
        format!("bytes 100-1099/{}", original.len())
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), &original[100..1100]);
    let response = get(&server, &download, &bob, &[(header::RANGE, "bytes=-10")]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap().as_ref(), &original[original.len() - 10..]);
    let beyond = format!("bytes={}-", original.len() + 5);
    let response = get(&server, &download, &bob, &[(header::RANGE, beyond.as_str())]).await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        response.headers()[header::CONTENT_RANGE].to_str().unwrap(),
        format!("bytes */{}", original.len())
    );
    assert_error(response, StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable").await;

    // Downloads that reached the end: the two full ones and the suffix range.
    let log =
        expect_ok(get(&server, &format!("/api/chat/files/{}/downloads", file["id"]), &alice, &[]).await)
            .await;
    assert_eq!(log["download_count"], 3, "{log}");
    assert_eq!(log["downloads"][0]["user"]["id"], bob_user["id"]);
    // Only the uploader and moderators see the log.
    assert_error(
        get(&server, &format!("/api/chat/files/{}/downloads", file["id"]), &bob, &[]).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let history = server.history(&alice, &room["id"], "").await;
    let last = history["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["attachments"][0]["download_count"], 3);
    server.stop().await;
}

#[tokio::test]
async fn every_image_format_gets_an_upright_smaller_thumbnail_of_the_stored_size() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let cases = [
        (
            "photo.png",
            encoded(DynamicImage::ImageRgb8(noise(640, 480)), ImageFormat::Png),
            (640, 480),
            (320, 240),
        ),
        ("sideways.jpg", sideways_jpeg(), (200, 400), (160, 320)),
        (
            "anim.gif",
            encoded(DynamicImage::ImageRgb8(noise(400, 300)), ImageFormat::Gif),
            (400, 300),
            (320, 240),
        ),
        (
            "pic.webp",
            encoded(DynamicImage::ImageRgb8(noise(500, 500)), ImageFormat::WebP),
            (500, 500),
            (320, 320),
        ),
        ("tiny.png", encoded(DynamicImage::ImageRgb8(noise(40, 30)), ImageFormat::Png), (40, 30), (40, 30)),
    ];
    for (name, bytes, size, thumb_size) in cases {
        let message = expect_ok(upload(&server, &alice, &room, name, bytes.clone(), &[]).await).await;
        let file = &message["attachments"][0];
        assert_eq!((file["width"].as_i64().unwrap(), file["height"].as_i64().unwrap()), size, "{name}");
        let stored = (file["thumbnail_width"].as_i64().unwrap(), file["thumbnail_height"].as_i64().unwrap());
        assert_eq!(stored, thumb_size, "{name}");
        assert_eq!(file["has_thumbnail"], true);
        let response = get(&server, file["thumbnail_url"].as_str().unwrap(), &alice, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let mime = response.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(mime == "image/jpeg" || mime == "image/webp", "{name}: {mime}");
        let thumb = response.bytes().await.unwrap();
        if name != "tiny.png" {
            assert!(
                thumb.len() < bytes.len(),
                "{name}: thumbnail {} ≥ original {}",
                thumb.len(),
                bytes.len()
            );
        }
        let decoded = image::load_from_memory(&thumb).expect("thumbnail decodes");
        assert_eq!((i64::from(decoded.width()), i64::from(decoded.height())), stored, "{name}");
    }
    // Files that are not images have none.
    let message = expect_ok(upload(&server, &alice, &room, "notes.txt", b"agenda".to_vec(), &[]).await).await;
    let file = &message["attachments"][0];
    assert_eq!(message["type"], "file");
    assert_eq!(file["has_thumbnail"], false);
    assert_eq!(file["thumbnail_url"], Value::Null);
    assert_error(
        get(&server, &format!("/api/chat/files/{}/thumbnail", file["id"]), &alice, &[]).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn only_participants_download_and_strangers_cannot_tell_the_file_exists() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let (bob, _) = server.register("bob").await;
    let private =
        server.create_room(&alice, json!({"type": "group", "name": "Staff", "is_public": false})).await;
    let public = room_with(&server, &alice, json!({})).await;
    let image = encoded(DynamicImage::ImageRgb8(noise(64, 64)), ImageFormat::Png);
    let hidden = expect_ok(upload(&server, &alice, &private, "plan.png", image.clone(), &[]).await).await;
    let open = expect_ok(upload(&server, &alice, &public, "map.png", image, &[]).await).await;
    for what in ["download", "thumbnail", "downloads"] {
        let path = format!("/api/chat/files/{}/{what}", hidden["attachments"][0]["id"]);
        assert_error(get(&server, &path, &bob, &[]).await, StatusCode::NOT_FOUND, "not_found").await;
        let path = format!("/api/chat/files/{}/{what}", open["attachments"][0]["id"]);
        assert_error(get(&server, &path, &bob, &[]).await, StatusCode::FORBIDDEN, "not_participant").await;
        let path = format!("/api/chat/files/999999/{what}");
        assert_error(get(&server, &path, &alice, &[]).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    let path = format!("/api/chat/files/{}/download", open["attachments"][0]["id"]);
    let anonymous = server.http.get(server.url(&path)).send().await.unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    // Not a participant: no uploading either.
    assert_error(
        upload(&server, &bob, &public, "x.txt", b"hi".to_vec(), &[]).await,
        StatusCode::FORBIDDEN,
        "not_participant",
    )
    .await;
    server.stop().await;
}

/// A multipart body written by hand, for names no client library would send.
async fn raw_upload(server: &TestServer, token: &str, room: &Value, name: &[u8], bytes: &[u8]) -> Response {
    let boundary = "XyZb0undary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"").into_bytes();
    body.extend_from_slice(name);
    body.extend_from_slice(b"\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    server
        .http
        .post(server.url(&upload_path(room)))
        .bearer_auth(token)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("upload")
}

#[tokio::test]
async fn spoofed_hostile_and_broken_uploads_are_refused_and_leave_nothing_behind() {
    let mut options = Options::default();
    options.limits.max_upload_bytes = 1 << 20;
    let server = TestServer::start_with(options).await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let png = encoded(DynamicImage::ImageRgb8(noise(16, 16)), ImageFormat::Png);
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    elf.resize(256, 0);
    let mut zip = b"PK\x03\x04\x14\0\0\0\x08\0".to_vec();
    zip.extend_from_slice(&[0u8; 16]);
    zip.extend_from_slice(b"\x09\0\0\0notes.txtaaaaaaaaaaaaaaaa");
    let long_name = format!("{}.png", "a".repeat(300));
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "page.png",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        ("report.pdf", elf.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("letter.docx", zip, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("tool.exe", elf, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("photo.png.html", png.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("noextension", png.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (
            "notes.txt",
            b"text\0with a NUL".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        ("../../etc/passwd.png", png.clone(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_file_name"),
        ("a\\b.png", png.clone(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_file_name"),
        ("gnp\u{202E}.exe", png.clone(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_file_name"),
        (&long_name, png.clone(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_file_name"),
        ("empty.png", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "empty_file"),
        ("bomb.png", pixel_bomb(), StatusCode::UNPROCESSABLE_ENTITY, "image_too_large"),
        (
            "broken.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRgarbage".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_image",
        ),
    ];
    for (name, bytes, status, code) in cases {
        let response = upload(&server, &alice, &room, name, bytes, &[]).await;
        let message = assert_error(response, status, code).await;
        assert!(!message.is_empty(), "{name}: a message saying why");
        assert_eq!(blobs_on_disk(server.data_dir()), Vec::<String>::new(), "{name} left a blob behind");
    }
    // A NUL in the name, as raw bytes.
    let response = raw_upload(&server, &alice, &room, b"evil\0.png", &png).await;
    assert!(matches!(response.status().as_u16(), 400 | 422), "{}", response.status());
    // Over the limit without a declared length: counted while streaming.
    let response = upload_stream(&server, &alice, &room, "stream.txt", 40, 64 * 1024).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // Bad fields beside a good file: the file goes too.
    let response = upload(&server, &alice, &room, "ok.png", png.clone(), &[("expires_in", "-1")]).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_expires_in").await;
    let response = upload(&server, &alice, &room, "ok.png", png.clone(), &[("colour", "red")]).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "unknown_field").await;
    // No file part; not multipart at all.
    let form = Form::new().text("caption", "nothing attached");
    let response = server
        .http
        .post(server.url(&upload_path(&room)))
        .bearer_auth(&alice)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "missing_file").await;
    assert_error(
        server.post(&upload_path(&room), Some(&alice), json!({"file": "x"})).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert_eq!(blobs_on_disk(server.data_dir()), Vec::<String>::new());
    // …and no message was recorded for any of them.
    let history = server.history(&alice, &room["id"], "").await;
    assert!(history["messages"].as_array().unwrap().iter().all(|m| m["type"] == "system"), "{history}");
    // A good upload still works and is the only thing stored.
    expect_ok(upload(&server, &alice, &room, "ok.png", png, &[]).await).await;
    assert_eq!(blobs_on_disk(server.data_dir()).len(), 2, "the file and its thumbnail");
    server.stop().await;
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_it_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 209715200\r\n\r\n",
        upload_path(&room)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    server.stop().await;
}

/// 200 MB streamed at a 50 MB limit: refused with 413, memory flat, nothing on disk.
#[tokio::test]
async fn memory_stays_flat_while_a_200_mb_upload_is_refused() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let before = common::rss_kib("VmRSS:");
    let response = upload_stream(&server, &alice, &room, "huge.txt", 800, 256 * 1024).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let peak = common::rss_kib("VmHWM:");
    // The whole body would be 200 MB; what the upload may hold at once is a few MB.
    assert!(peak.saturating_sub(before) < 40 * 1024, "RSS grew from {before} KiB to a peak of {peak} KiB");
    assert_eq!(blobs_on_disk(server.data_dir()), Vec::<String>::new());
    server.stop().await;
}

#[tokio::test]
async fn expired_files_answer_410_and_are_purged_from_disk() {
    let clock = ManualClock::starting_at(1_900_000_000_000);
    let server = TestServer::start_with(Options::with_clock(clock.clone())).await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let image = encoded(DynamicImage::ImageRgb8(noise(64, 64)), ImageFormat::Png);
    let short =
        expect_ok(upload(&server, &alice, &room, "short.png", image.clone(), &[("expires_in", "60")]).await)
            .await;
    let kept = expect_ok(upload(&server, &alice, &room, "kept.png", image, &[]).await).await;
    assert_eq!(blobs_on_disk(server.data_dir()).len(), 4);
    let file = &short["attachments"][0];
    assert!(file["expires_at"].is_string());
    let download = file["download_url"].as_str().unwrap().to_owned();
    assert_eq!(get(&server, &download, &alice, &[]).await.status(), StatusCode::OK);

    clock.advance(Duration::from_secs(61));
    assert_error(get(&server, &download, &alice, &[]).await, StatusCode::GONE, "file_expired").await;
    let thumb = format!("/api/chat/files/{}/thumbnail", file["id"]);
    assert_error(get(&server, &thumb, &alice, &[]).await, StatusCode::GONE, "file_expired").await;
    // The purge task deletes the blob and its thumbnail; the other file stays.
    for _ in 0..100 {
        if blobs_on_disk(server.data_dir()).len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(blobs_on_disk(server.data_dir()).len(), 2, "the expired file's blobs are gone");
    let history = server.history(&alice, &room["id"], "").await;
    let attachments: Vec<&Value> =
        history["messages"].as_array().unwrap().iter().filter_map(|m| m["attachments"].get(0)).collect();
    assert_eq!(attachments.len(), 2);
    assert_eq!(
        (attachments[0]["expired"].as_bool(), attachments[0]["has_thumbnail"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(attachments[1]["expired"], false);
    let kept_download = kept["attachments"][0]["download_url"].as_str().unwrap().to_owned();
    assert_eq!(get(&server, &kept_download, &alice, &[]).await.status(), StatusCode::OK);

    // A deleted message's file goes the same way.
    let delete = format!("/api/chat/messages/{}/delete", kept["id"]);
    expect_ok(server.delete(&delete, &alice, None).await).await;
    assert_error(get(&server, &kept_download, &alice, &[]).await, StatusCode::GONE, "file_expired").await;
    for _ in 0..100 {
        if blobs_on_disk(server.data_dir()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(blobs_on_disk(server.data_dir()), Vec::<String>::new());
    // Expiry beyond the server's maximum is refused.
    let response =
        upload(&server, &alice, &room, "x.txt", b"x".to_vec(), &[("expires_in", "99999999999")]).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_expires_in").await;
    server.stop().await;
}

#[tokio::test]
async fn room_settings_and_mutes_gate_uploads() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let (bob, bob_user) = server.register("bob").await;
    let no_files = room_with(&server, &alice, json!({"allow_files": false})).await;
    let no_voice = room_with(&server, &alice, json!({"allow_voice": false})).await;
    let mp3 = b"ID3\x04\0\0\0\0\0\x10 audio frames".to_vec();
    let png = encoded(DynamicImage::ImageRgb8(noise(8, 8)), ImageFormat::Png);
    assert_error(
        upload(&server, &alice, &no_files, "a.png", png.clone(), &[]).await,
        StatusCode::FORBIDDEN,
        "files_not_allowed",
    )
    .await;
    assert_error(
        upload(&server, &alice, &no_voice, "talk.mp3", mp3.clone(), &[]).await,
        StatusCode::FORBIDDEN,
        "voice_not_allowed",
    )
    .await;
    expect_ok(upload(&server, &alice, &no_voice, "a.png", png.clone(), &[]).await).await;
    let voice = room_with(&server, &alice, json!({})).await;
    let audio = expect_ok(upload(&server, &alice, &voice, "talk.mp3", mp3, &[]).await).await;
    assert_eq!(audio["type"], "audio");
    assert_eq!(audio["attachments"][0]["mime"], "audio/mpeg");

    // A muted member reads but cannot upload.
    join(&server, &bob, &voice).await;
    let mute = format!("/api/chat/rooms/{}/mute", voice["id"]);
    expect_ok(server.post(&mute, Some(&alice), json!({"user_id": bob_user["id"]})).await).await;
    assert_error(upload(&server, &bob, &voice, "b.png", png, &[]).await, StatusCode::FORBIDDEN, "muted")
        .await;
    assert_eq!(blobs_on_disk(server.data_dir()).len(), 3, "two files, one thumbnail");
    server.stop().await;
}

#[tokio::test]
async fn a_retried_upload_with_the_same_client_id_is_stored_once() {
    let server = TestServer::start().await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let first =
        upload(&server, &alice, &room, "slides.pdf", b"%PDF-1.7\n...".to_vec(), &[("client_id", "up-1")])
            .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again =
        upload(&server, &alice, &room, "slides.pdf", b"%PDF-1.7\n...".to_vec(), &[("client_id", "up-1")])
            .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(blobs_on_disk(server.data_dir()).len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn blobs_a_crash_left_without_a_record_are_swept_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path()).await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    expect_ok(upload(&server, &alice, &room, "keep.txt", b"kept".to_vec(), &[]).await).await;
    server.stop().await;
    // What a process killed mid-upload leaves: a finished blob never recorded, and a
    // half-written part.
    let files = dir.path().join("files").join("files");
    std::fs::write(files.join("0123456789abcdef0123456789abcdef"), b"orphan").unwrap();
    std::fs::write(files.join("fedcba9876543210fedcba9876543210#7"), b"half").unwrap();
    assert_eq!(blobs_on_disk(dir.path()).len(), 3);
    let mut options = Options::default();
    options.limits.orphan_blob_age_seconds = 0;
    let server = TestServer::start_in_with(dir.path(), options).await;
    let left = blobs_on_disk(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    let history = server.history(&alice, &room["id"], "").await;
    let file =
        history["messages"].as_array().unwrap().iter().find_map(|m| m["attachments"].get(0)).unwrap().clone();
    let response = get(&server, file["download_url"].as_str().unwrap(), &alice, &[]).await;
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"kept");
    server.stop().await;
}

#[tokio::test]
async fn an_upload_whose_body_stops_arriving_answers_408_and_leaves_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut options = Options::default();
    options.limits.body_read_timeout_seconds = 1;
    let server = TestServer::start_with(options).await;
    let (alice, _) = server.register("alice").await;
    let room = room_with(&server, &alice, json!({})).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let part =
        "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.txt\"\r\n\r\nthe first words";
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 5000\r\n\r\n{part}",
        upload_path(&room)
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(text.starts_with("http/1.1 408"), "{text}");
    assert!(text.contains("request_timeout") && text.contains("connection: close"), "{text}");
    assert_eq!(blobs_on_disk(server.data_dir()), Vec::<String>::new());
    server.stop().await;
}
