//! One error type for every client-facing failure.
//!
//! Each variant has a stable snake_case `code` and an HTTP status; REST answers it as
//! `{"error": {"code", "message"}}` (SPEC §9) and Socket.IO acks as
//! `{"ok": false, "error": {…}}`. Internal failures are logged once, here, and reach
//! clients only as `internal_error`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::{Millis, to_rfc3339};

/// The cause behind an `Internal` error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure a client can be told about.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that is well-formed but breaks a rule (422).
    #[error("{message}")]
    Validation { code: &'static str, message: String },
    /// Input that could not be read at all (400).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required: missing, invalid, expired or revoked token")]
    Unauthenticated,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 403 for a restriction that ends (`muted`, `banned`): the body says until when
    /// (`until`, absent when it lasts until lifted).
    #[error("{message}")]
    Restricted { code: &'static str, message: String, until: Option<Millis> },
    #[error(
        "cross-origin request refused: use the Authorization header, or call from the server's own origin"
    )]
    CrossOrigin,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Something that existed and is gone for good (an expired file): 410.
    #[error("{1}")]
    Gone(&'static str, String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A `Range` outside a file of this many bytes: 416.
    #[error("the requested range lies outside the file ({0} bytes)")]
    RangeNotSatisfiable(u64),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request body stopped arriving; send it without long pauses")]
    RequestTimeout,
    /// Every database connection stayed busy for the acquire timeout: overload, not a
    /// fault; the client retries (503 with `Retry-After`).
    #[error("the server is busy; try again in a moment")]
    Busy,
    /// Anything the client did not cause: logged, never shown.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// `{"code", "message"}`: the body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case identifier, e.g. `username_taken`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// `rate_limited`, `server_busy`: seconds to wait before trying again (also the
    /// `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// `muted`, `banned`: when the restriction ends (RFC 3339); absent when it lasts
    /// until lifted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// `{"error": {"code", "message"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

impl AppError {
    pub fn validation(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Validation { code, message: message.into() }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest { code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict { code, message: message.into() }
    }

    /// 403 with the generic `forbidden` code.
    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden { code: "forbidden", message: message.into() }
    }

    /// 403 with a specific code, e.g. `not_participant`.
    pub fn forbidden_because(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Forbidden { code, message: message.into() }
    }

    pub fn internal(err: impl Into<BoxError>) -> Self {
        AppError::Internal(err.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { code, .. }
            | AppError::BadRequest { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Restricted { code, .. } => code,
            AppError::Gone(code, _) => code,
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::CrossOrigin => "cross_origin_refused",
            AppError::NotFound(_) => "not_found",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::RequestTimeout => "request_timeout",
            AppError::Busy => "server_busy",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } | AppError::Restricted { .. } | AppError::CrossOrigin => {
                StatusCode::FORBIDDEN
            }
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Gone(..) => StatusCode::GONE,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body, with internal details withheld.
    pub fn body(&self) -> ErrorBody {
        let until = match self {
            AppError::Restricted { until: Some(until), .. } => Some(to_rfc3339(*until)),
            _ => None,
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
                retry_after: self.retry_after(),
                until,
            },
        }
    }

    /// Seconds a client should wait before trying again, where that is known.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            AppError::Busy => Some(1),
            _ => None,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(err) = &self {
            tracing::error!(error = %err, source = ?err, "internal error");
        }
        let status = self.status();
        let retry_after = self.retry_after();
        let mut response = (status, axum::Json(self.body())).into_response();
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                AppError::conflict("conflict", "that already exists")
            }
            sqlx::Error::PoolTimedOut => {
                tracing::warn!("database pool exhausted: answering server_busy");
                AppError::Busy
            }
            // The server is shutting down: a request that arrived as it closed is retried
            // against the next instance (or this one, restarted).
            sqlx::Error::PoolClosed => AppError::Busy,
            _ => AppError::internal(err),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(err: tokio::task::JoinError) -> Self {
        AppError::internal(err)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak_details() {
        let err = AppError::internal(std::io::Error::other("disk /var/secret full"));
        let body = serde_json::to_string(&err.body()).unwrap();
        assert!(!body.contains("secret"), "{body}");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn rate_limited_answers_429_with_retry_after() {
        let response = AppError::RateLimited { retry_after_secs: 7 }.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let body = serde_json::to_value(AppError::RateLimited { retry_after_secs: 7 }.body()).unwrap();
        assert_eq!(body["error"]["retry_after"], 7);
        assert!(body["error"].get("until").is_none(), "{body}");
    }

    #[test]
    fn restrictions_say_until_when() {
        let err = AppError::Restricted { code: "banned", message: "banned".into(), until: Some(0) };
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        let body = serde_json::to_value(err.body()).unwrap();
        assert_eq!(body["error"]["code"], "banned");
        assert_eq!(body["error"]["until"], "1970-01-01T00:00:00Z");
        let lasting = AppError::Restricted { code: "muted", message: "muted".into(), until: None };
        assert!(serde_json::to_value(lasting.body()).unwrap()["error"].get("until").is_none());
    }

    #[test]
    fn an_exhausted_or_closing_pool_is_busy_not_broken() {
        for cause in [sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
            let err = AppError::from(cause);
            assert_eq!(err.code(), "server_busy");
            let response = err.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        }
        assert_eq!(AppError::from(sqlx::Error::RowNotFound).code(), "internal_error");
    }
}
