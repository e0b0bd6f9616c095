//! Account service: register, login, logout and resolving a token to a user.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::password::PasswordHasher;
use super::token;
use crate::chat::publish::ChatEvent;
use crate::clock::{Clock, Millis, SharedClock};
use crate::config::Limits;
use crate::domain::user::{self, Role, User};
use crate::error::{AppError, AppResult};
use crate::ratelimit::{SharedCounters, SharedRateLimiter};
use crate::state::AppState;
use crate::store::{NewUser, Store, is_unique_violation};

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3–32 characters of `[A-Za-z0-9_.-]`, unique ignoring case.
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    /// Shown instead of the username; defaults to it (also when blank).
    #[schema(max_length = 64, pattern = "text")]
    pub display_name: Option<String>,
}

/// `POST /api/auth/login` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// `POST /api/auth/password` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8–1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
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
    /// When the session ends by itself.
    pub expires_at: Millis,
    token_hash: String,
}

/// Limits on account creation and password guessing.
///
/// - Every login attempt counts against the client address; registrations have their
///   own per-address quota.
/// - Only *failed* logins count against a username. Once a username has used up its
///   failures, addresses that have themselves been failing are refused, while a correct
///   password from an address that has not been failing still gets through: someone
///   guessing cannot lock the real owner out.
pub struct LoginLimiter {
    per_ip: SharedRateLimiter,
    register_per_ip: SharedRateLimiter,
    failures_per_username: SharedRateLimiter,
    failures_per_ip: SharedRateLimiter,
    enabled: bool,
}

fn rate_limited(wait: Duration) -> AppError {
    AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) }
}

impl LoginLimiter {
    /// Limits counted on this instance, or (`shared`) with the other instances.
    pub fn new(limits: &Limits, clock: SharedClock, shared: Option<Arc<SharedCounters>>) -> Self {
        let minute = Duration::from_secs(60);
        let limiter =
            |name, quota| SharedRateLimiter::new(name, quota, minute, clock.clone(), shared.clone());
        LoginLimiter {
            per_ip: limiter("login-ip", limits.rate_limit_login_per_ip),
            register_per_ip: limiter("register-ip", limits.rate_limit_register_per_ip),
            failures_per_username: limiter("failed-login-user", limits.rate_limit_login_per_username),
            failures_per_ip: limiter("failed-login-ip", limits.rate_limit_login_per_username),
            enabled: limits.rate_limits_on(),
        }
    }

    /// Bounds the key so a client cannot grow the table with huge usernames.
    fn username_key(username: &str) -> String {
        username.chars().take(user::USERNAME_MAX + 1).collect::<String>().to_ascii_lowercase()
    }

    async fn check_login(&self, ip: IpAddr, username: &str) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        let ip = ip.to_string();
        self.per_ip.check(&ip).await.map_err(rate_limited)?;
        if self.failures_per_username.is_exhausted(&Self::username_key(username)).await
            && self.failures_per_ip.is_recent(&ip).await
        {
            return Err(rate_limited(Duration::from_secs(60)));
        }
        Ok(())
    }

    async fn record_failure(&self, ip: IpAddr, username: &str) {
        if self.enabled {
            self.failures_per_username.record(&Self::username_key(username)).await;
            self.failures_per_ip.record(&ip.to_string()).await;
        }
    }

    async fn check_register(&self, ip: IpAddr) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        self.register_per_ip.check(&ip.to_string()).await.map_err(rate_limited)
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
pub async fn register(state: &AppState, req: RegisterRequest, client: IpAddr) -> AppResult<Session> {
    state.login_limiter.check_register(client).await?;
    let user = create_user(&state.store, &state.passwords, state.clock.as_ref(), req, Role::User).await?;
    start_session(state, user).await
}

/// Checks a username and password; rate-limited per client address and per username.
pub async fn login(state: &AppState, req: LoginRequest, client: IpAddr) -> AppResult<Session> {
    state.login_limiter.check_login(client, &req.username).await?;
    let credentials = match user::validate_username(&req.username) {
        Ok(username) => state.store.user_credentials(&username.folded()).await?,
        Err(_) => None,
    };
    let (phc, disabled, user) = match credentials {
        Some(found) => (Some(found.password_hash.clone()), found.disabled_at.is_some(), Some(found.user())),
        None => (None, false, None),
    };
    let matches = state.passwords.verify(req.password, phc).await?;
    match user {
        // Only someone who knows the password learns that the account is disabled.
        Some(_) if matches && disabled => Err(AppError::forbidden_because(
            "account_disabled",
            "this account has been disabled; ask the event's support staff",
        )),
        Some(user) if matches => start_session(state, user).await,
        _ => {
            state.login_limiter.record_failure(client, &req.username).await;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Ends the caller's session: its token stops working everywhere at once.
pub async fn logout(state: &AppState, auth: &AuthUser) -> AppResult<()> {
    state.store.delete_session(&auth.token_hash).await?;
    state.publisher.publish(ChatEvent::SessionEnded { session_id: auth.session_id }).await;
    Ok(())
}

/// Disconnects the sockets of ended sessions, on every instance.
async fn end_sessions(state: &AppState, session_ids: Vec<i64>) {
    for session_id in session_ids {
        state.publisher.publish(ChatEvent::SessionEnded { session_id }).await;
    }
}

/// Changes the caller's password once they prove the current one; every other session of
/// theirs ends (their sockets disconnect), the one making the change goes on.
pub async fn change_password(state: &AppState, auth: &AuthUser, req: ChangePasswordRequest) -> AppResult<()> {
    user::validate_password(&req.new_password)?;
    let current = state.store.password_hash(auth.user.id).await?;
    if !state.passwords.verify(req.current_password, current).await? {
        return Err(AppError::forbidden_because("wrong_password", "the current password is not right"));
    }
    let hash = state.passwords.hash(req.new_password).await?;
    let ended = state.store.set_password(auth.user.id, &hash, auth.session_id).await?;
    end_sessions(state, ended.ok_or(AppError::Unauthenticated)?).await;
    Ok(())
}

/// Disables or enables an account (admins). A disabled account cannot sign in, and every
/// session of it ends at once, its sockets disconnected on every instance.
pub async fn set_disabled(
    state: &AppState,
    caller: &AuthUser,
    user_id: user::UserId,
    disabled: bool,
) -> AppResult<()> {
    if caller.user.role != Role::Admin {
        return Err(AppError::forbidden("only admins disable or enable accounts"));
    }
    if user_id == caller.user.id {
        return Err(AppError::conflict("cannot_disable_self", "admins cannot disable their own account"));
    }
    let at = disabled.then(|| state.clock.now_ms());
    let ended = state.store.set_disabled(user_id, at).await?.ok_or(AppError::NotFound("user"))?;
    if disabled {
        tracing::info!(user_id, by = caller.user.id, sessions = ended.len(), "account disabled");
    }
    end_sessions(state, ended).await;
    Ok(())
}

/// The user a token belongs to, if the session is live.
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<AuthUser> {
    let token_hash = token::hash(token);
    let found = state.store.session_user(&token_hash, state.clock.now_ms()).await?;
    let found = found.ok_or(AppError::Unauthenticated)?;
    Ok(AuthUser {
        session_id: found.session_id,
        expires_at: found.expires_at,
        user: found.user(),
        token_hash,
    })
}
