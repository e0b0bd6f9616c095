//! Extractors whose rejections answer in our error format (SPEC §9) instead of axum's
//! plain-text bodies: malformed JSON, wrong content type, oversize bodies, bad ids.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::auth::accounts::{self, AuthUser};
use crate::auth::credentials::token_from_headers;
use crate::error::AppError;
use crate::state::AppState;

/// A JSON object request body. Anything else is refused in our format: a missing or
/// other content type (415), a body over the limit (413), bytes that are not JSON (400
/// `malformed_json`), and JSON that is not an object of the expected shape, such as an
/// array read by position or a number where text belongs (422 `invalid_body`).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| mime.trim().to_ascii_lowercase())
            .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"));
        if !is_json {
            return Err(AppError::UnsupportedMediaType(
                "expected a JSON body with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = Bytes::from_request(request, state).await?;
        parse_object(&bytes).map(Json)
    }
}

/// Decodes a JSON object into `T`, telling malformed JSON (400) from JSON of the wrong
/// shape (422).
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first != Some(b'{') {
        return Err(match serde_json::from_slice::<IgnoredAny>(bytes) {
            Err(err) => AppError::bad_request("malformed_json", format!("the body is not valid JSON: {err}")),
            Ok(_) => AppError::validation("invalid_body", "the body must be a JSON object"),
        });
    }
    let err = match serde_json::from_slice(bytes) {
        Ok(body) => return Ok(body),
        Err(err) => err,
    };
    // serde reports some shape errors (a number where an enum's name belongs) as syntax
    // errors: the body is malformed only if it is not JSON at all.
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Err(AppError::bad_request("malformed_json", format!("the body is not valid JSON: {err}")));
    };
    // A whole-number float where an integer belongs (`"limit": 5.0`) is that integer.
    crate::domain::whole_numbers_as_integers(&mut value);
    serde_json::from_value(value)
        .map_err(|_| AppError::validation("invalid_body", format!("invalid body: {err}")))
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(format!(
                "request body is too large for this endpoint ({})",
                rejection.body_text()
            )),
            _ if caused_by_timeout(&rejection) => AppError::RequestTimeout,
            _ => AppError::bad_request("incomplete_body", "the request body did not arrive in full"),
        }
    }
}

/// Typed path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// Typed query string.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// Whether reading the body failed because it arrived too slowly (a pause longer than
/// the body-read timeout, or below the minimum rate).
pub(super) fn caused_by_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(err) = cause {
        if err.is::<crate::server::BodyTooSlow>() {
            return true;
        }
        cause = err.source();
    }
    false
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::bad_request("invalid_path_parameter", rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::bad_request("invalid_query", rejection.body_text())
    }
}

/// The signed-in caller; answers 401 when the request carries no live session.
impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let (token, _) = token_from_headers(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let user = accounts::authenticate(state, &token).await?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        content: String,
        n: Option<i64>,
        kind: Option<crate::domain::message::MessageType>,
    }

    #[test]
    fn objects_only_and_shape_errors_are_422() {
        assert!(parse_object::<Body>(br#" {"content": "hi"} "#).is_ok());
        for (raw, status, code) in [
            (&br#"{"content": "hi", "n": "x"}"#[..], 422, "invalid_body"),
            (br#"{"content": 5}"#, 422, "invalid_body"),
            (br#"{"content": "hi", "kind": -58800}"#, 422, "invalid_body"),
            (br#"["hi", 5]"#, 422, "invalid_body"),
            (br#"[null,null]"#, 422, "invalid_body"),
            (br#""hi""#, 422, "invalid_body"),
            (br#"{"content": "#, 400, "malformed_json"),
            (br#"[1,"#, 400, "malformed_json"),
            (b"", 400, "malformed_json"),
            (b"hello", 400, "malformed_json"),
        ] {
            let err = parse_object::<Body>(raw).unwrap_err();
            assert_eq!(
                (err.status().as_u16(), err.code()),
                (status, code),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
