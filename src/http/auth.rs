//! `/api/auth/*`: register, login, logout, me.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{Json, Path};
use crate::auth::SESSION_COOKIE;
use crate::auth::accounts::{self, AuthUser, ChangePasswordRequest, LoginRequest, RegisterRequest, Session};
use crate::domain::user::User;
use crate::error::{AppResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
}

/// `Set-Cookie` for a session token; `None` clears the cookie.
fn session_cookie(state: &AppState, token: Option<&str>) -> HeaderValue {
    let mut cookie = Cookie::build((SESSION_COOKIE, token.unwrap_or_default().to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.limits.secure_cookies);
    cookie = match token {
        Some(_) => cookie
            .max_age(time::Duration::seconds(state.limits.session_ttl_seconds.min(i64::MAX as u64) as i64)),
        None => cookie.max_age(time::Duration::ZERO),
    };
    // A cookie built from a base64url token and fixed attributes is always a valid header.
    HeaderValue::try_from(cookie.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

fn session_response(state: &AppState, status: StatusCode, session: Session) -> Response {
    let cookie = session_cookie(state, Some(&session.token));
    (status, [(header::SET_COOKIE, cookie)], axum::Json(session)).into_response()
}

/// # `POST /api/auth/register`
///
/// Creates an account and signs it in: answers the token and sets the session cookie.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = Session),
        (status = 409, description = "`username_taken`", body = ErrorBody),
        (status = 422, description = "`invalid_username`, `weak_password`, `invalid_field`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: too many accounts from this address", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RegisterRequest>,
) -> AppResult<Response> {
    let session = accounts::register(&state, req, peer.ip()).await?;
    Ok(session_response(&state, StatusCode::CREATED, session))
}

/// # `POST /api/auth/login`
///
/// Rate-limited per client address, and against password guessing per username
/// (`429 rate_limited`, `Retry-After`); a correct password from an address that has not
/// been failing is let through.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> AppResult<Response> {
    let session = accounts::login(&state, req, peer.ip()).await?;
    Ok(session_response(&state, StatusCode::OK, session))
}

/// # `POST /api/auth/logout`
///
/// Ends the session: the token and cookie stop working at once, on every device using them.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
async fn logout(State(state): State<AppState>, auth: AuthUser) -> AppResult<Response> {
    accounts::logout(&state, &auth).await?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, session_cookie(&state, None))]).into_response())
}

/// # `GET /api/auth/me`
///
/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
    ))]
async fn me(auth: AuthUser) -> axum::Json<User> {
    axum::Json(auth.user)
}

/// # `POST /api/auth/password`
///
/// Changes the caller's password. Every other session of the account ends at once (its
/// sockets disconnect); the session making the change goes on.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", request_body = ChangePasswordRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Password changed; other sessions ended"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`wrong_password`: the current password does not match", body = ErrorBody),
        (status = 422, description = "`weak_password`, `invalid_password`", body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(req): Json<ChangePasswordRequest>,
) -> AppResult<StatusCode> {
    accounts::change_password(&state, &auth, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /api/admin/users/{id}/disable`
///
/// Admins only. The account can no longer sign in and every session of it ends at once,
/// its sockets disconnected on every instance. Disabling a disabled account changes
/// nothing.
#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
        (status = 409, description = "`cannot_disable_self`", body = ErrorBody),
    ))]
async fn disable_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    accounts::set_disabled(&state, &auth, id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// # `POST /api/admin/users/{id}/enable`
///
/// Admins only: a disabled account may sign in again (its old sessions stay ended).
#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Enabled"),
        (status = 401, description = "`unauthenticated`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an admin", body = ErrorBody),
        (status = 404, description = "`not_found`: no such user", body = ErrorBody),
        (status = 409, description = "`cannot_disable_self`", body = ErrorBody),
    ))]
async fn enable_user(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    accounts::set_disabled(&state, &auth, id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
