//! Account service: register, login, logout and resolving a token to a user.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::password::PasswordHasher;
use super::token;
use crate::clock::{Clock, SharedClock};
use crate::config::Limits;
use crate::domain::user::{self, Role, User};
use crate::error::{AppError, AppResult};
use crate::ratelimit::RateLimiter;
use crate::state::AppState;
use crate::store::{NewUser, Store, is_unique_violation};

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–32 characters of `[A-Za-z0-9_.-]`, unique ignoring case.
    pub username: String,
    /// At least 8 characters.
    pub password: String,
    /// Shown instead of the username; defaults to it.
    pub display_name: Option<String>,
}

/// `POST /api/auth/login` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// A new login session: the bearer token (also set as the HttpOnly cookie) and its user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub token: String,
    pub user: User,
}

/// The authenticated caller of a request or socket.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub session_id: i64,
    token_hash: String,
}

/// Login attempt limits per client address and per username.
pub struct LoginLimiter {
    per_ip: RateLimiter,
    per_username: RateLimiter,
    enabled: bool,
}

impl LoginLimiter {
    pub fn new(limits: &Limits, clock: SharedClock) -> Self {
        let minute = Duration::from_secs(60);
        LoginLimiter {
            per_ip: RateLimiter::new(limits.rate_limit_login_per_ip, minute, clock.clone()),
            per_username: RateLimiter::new(limits.rate_limit_login_per_username, minute, clock),
            enabled: limits.rate_limits_on(),
        }
    }

    fn check(&self, ip: IpAddr, username: &str) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        // Bound the key so a client cannot grow the table with huge usernames.
        let username: String = username.chars().take(user::USERNAME_MAX + 1).collect();
        self.per_ip
            .check(&ip.to_string())
            .and_then(|()| self.per_username.check(&username.to_ascii_lowercase()))
            .map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })
    }
}

/// Validates and stores a new account (also used by `eventsync-chat user create`).
pub async fn create_user(
    store: &Store,
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    req: RegisterRequest,
    role: Role,
) -> AppResult<User> {
    let username = user::validate_username(&req.username)?;
    user::validate_password(&req.password)?;
    let display_name = user::display_name_or(req.display_name.as_deref(), &username)?;
    let password_hash = hasher.hash(req.password).await?;
    let new = NewUser {
        username: username.as_str(),
        username_folded: &username.folded(),
        display_name: &display_name,
        password_hash: &password_hash,
        role,
        created_at: clock.now_ms(),
    };
    store.insert_user(new).await.map_err(|err| {
        if is_unique_violation(&err) {
            AppError::conflict("username_taken", format!("the username '{}' is taken", username.as_str()))
        } else {
            err.into()
        }
    })
}

async fn start_session(state: &AppState, user: User) -> AppResult<Session> {
    let token = token::generate();
    let now = state.clock.now_ms();
    let expires_at = now.saturating_add(state.limits.session_ttl().as_millis() as i64);
    state.store.insert_session(&token::hash(&token), user.id, now, expires_at).await?;
    Ok(Session { token, user })
}

/// Creates an account and logs it in.
pub async fn register(state: &AppState, req: RegisterRequest) -> AppResult<Session> {
    let user = create_user(&state.store, &state.passwords, state.clock.as_ref(), req, Role::User).await?;
    start_session(state, user).await
}

/// Checks a username and password; rate-limited per client address and per username.
pub async fn login(state: &AppState, req: LoginRequest, client: IpAddr) -> AppResult<Session> {
    state.login_limiter.check(client, &req.username)?;
    let credentials = match user::validate_username(&req.username) {
        Ok(username) => state.store.user_credentials(&username.folded()).await?,
        Err(_) => None,
    };
    let (phc, user) = match credentials {
        Some(found) => (Some(found.password_hash.clone()), Some(found.user())),
        None => (None, None),
    };
    let matches = state.passwords.verify(req.password, phc).await?;
    match user {
        Some(user) if matches => start_session(state, user).await,
        _ => Err(AppError::InvalidCredentials),
    }
}

/// Ends the caller's session: its token stops working everywhere at once.
pub async fn logout(state: &AppState, auth: &AuthUser) -> AppResult<()> {
    state.store.delete_session(&auth.token_hash).await?;
    Ok(())
}

/// The user a token belongs to, if the session is live.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<AuthUser> {
    let token_hash = token::hash(token);
    let found = state.store.session_user(&token_hash, state.clock.now_ms()).await?;
    let found = found.ok_or(AppError::Unauthenticated)?;
    Ok(AuthUser { session_id: found.session_id, user: found.user(), token_hash })
}
