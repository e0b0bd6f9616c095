//! The browser UI: `/login` and `/chat` (one page app, `web/`), embedded in the binary.
//!
//! `build.rs` builds `web/dist` with Vite; every asset name carries a content hash, so
//! assets are cached for a year and the page itself never. The page's CSP allows no
//! inline script and no other origin.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rust_embed::RustEmbed;
use tower_http::compression::CompressionLayer;

use crate::error::AppError;
use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "web/dist"]
struct Ui;

/// What the page may load: itself, its own origin's API and Socket.IO, and media the
/// user's own browser made (blob:, data: thumbnails).
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'self'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/chat") }))
        .route("/login", get(page))
        .route("/chat", get(page))
        .route("/chat/{*rest}", get(page))
        .route("/assets/{*file}", get(asset))
        .layer(CompressionLayer::new())
}

async fn page() -> Response {
    let Some(index) = Ui::get("index.html") else {
        return AppError::NotFound("the web UI (build web/ first)").into_response();
    };
    let mut response = (StatusCode::OK, index.data).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

async fn asset(Path(file): Path<String>) -> Response {
    let Some(found) = Ui::get(&format!("assets/{file}")) else {
        return AppError::NotFound("asset").into_response();
    };
    let mime = found.metadata.mimetype().to_owned();
    let mut response = (StatusCode::OK, found.data).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}
