//! `session`: login sessions, keyed by the SHA-256 of their bearer token.

use sqlx::FromRow;

use super::users::UserRow;
use super::{Store, in_transaction, with_pool};
use crate::clock::Millis;
use crate::domain::user::{User, UserId};

/// The user behind a live session.
#[derive(Debug, FromRow)]
pub struct SessionUser {
    pub session_id: i64,
    pub expires_at: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

impl SessionUser {
    pub fn user(self) -> User {
        self.user.into()
    }
}

impl Store {
    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        created_at: Millis,
        expires_at: Millis,
    ) -> Result<(), sqlx::Error> {
        const SQL: &str =
            "INSERT INTO session (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL)
                .bind(token_hash)
                .bind(user_id)
                .bind(created_at)
                .bind(expires_at)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// The session's user, if the session exists and has not expired at `now`.
    pub async fn session_user(
        &self,
        token_hash: &str,
        now: Millis,
    ) -> Result<Option<SessionUser>, sqlx::Error> {
        const SQL: &str = "SELECT s.session_id, s.expires_at, u.user_id, u.username, u.display_name, u.role \
            FROM session s JOIN app_user u ON u.user_id = s.user_id \
            WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, SessionUser>(SQL).bind(token_hash).bind(now).fetch_optional(pool).await
        })
    }

    /// Ends a session (logout); true if it existed.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool, sqlx::Error> {
        const SQL: &str = "DELETE FROM session WHERE token_hash = $1";
        with_pool!(self, writer, |pool| {
            sqlx::query(SQL).bind(token_hash).execute(pool).await.map(|done| done.rows_affected() > 0)
        })
    }

    /// Removes sessions that expired before `now`; returns their ids.
    pub async fn delete_expired_sessions(&self, now: Millis) -> Result<Vec<i64>, sqlx::Error> {
        const SQL: &str = "DELETE FROM session WHERE expires_at <= $1 RETURNING session_id";
        with_pool!(self, writer, |pool| { sqlx::query_as::<_, (i64,)>(SQL).bind(now).fetch_all(pool).await })
            .map(|rows| rows.into_iter().map(|(id,)| id).collect())
    }

    /// Sets a new password hash and ends every other session of the user, in one
    /// transaction; returns the ended sessions, or `None` if there is no such user.
    pub async fn set_password(
        &self,
        user_id: UserId,
        password_hash: &str,
        keep_session: i64,
    ) -> Result<Option<Vec<i64>>, sqlx::Error> {
        const UPDATE: &str = "UPDATE app_user SET password_hash = $1 WHERE user_id = $2";
        const END: &str = "DELETE FROM session WHERE user_id = $1 AND session_id <> $2 RETURNING session_id";
        in_transaction!(self, |tx| {
            let done = sqlx::query(UPDATE).bind(password_hash).bind(user_id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let ended: Vec<(i64,)> =
                sqlx::query_as(END).bind(user_id).bind(keep_session).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(ended.into_iter().map(|(id,)| id).collect()))
        })
    }

    /// Disables (`Some(at)`) or enables (`None`) an account; disabling ends every session
    /// of it, in the same transaction. Returns the ended sessions, or `None` if there is
    /// no such user.
    pub async fn set_disabled(
        &self,
        user_id: UserId,
        disabled_at: Option<Millis>,
    ) -> Result<Option<Vec<i64>>, sqlx::Error> {
        const UPDATE: &str = "UPDATE app_user SET disabled_at = $1 WHERE user_id = $2";
        const END: &str = "DELETE FROM session WHERE user_id = $1 RETURNING session_id";
        in_transaction!(self, |tx| {
            let done = sqlx::query(UPDATE).bind(disabled_at).bind(user_id).execute(&mut *tx).await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let ended: Vec<(i64,)> = match disabled_at {
                Some(_) => sqlx::query_as(END).bind(user_id).fetch_all(&mut *tx).await?,
                None => Vec::new(),
            };
            tx.commit().await?;
            Ok(Some(ended.into_iter().map(|(id,)| id).collect()))
        })
    }
}
