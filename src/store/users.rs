//! `app_user`: accounts.

use sqlx::FromRow;

use super::{Store, with_pool};
use crate::clock::Millis;
use crate::domain::user::{Role, User, UserId};

/// A user row joined wherever a `User` is shown.
#[derive(Debug, FromRow)]
pub struct UserRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User {
            id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            role: Role::from_stored(&row.role),
        }
    }
}

/// What `insert_user` stores.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_folded: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub created_at: Millis,
}

/// A user and their password hash, for login only.
#[derive(Debug, FromRow)]
pub struct UserCredentials {
    #[sqlx(flatten)]
    user: UserRow,
    pub password_hash: String,
}

impl UserCredentials {
    pub fn user(self) -> User {
        self.user.into()
    }
}

impl Store {
    /// Inserts an account; a username taken in any case is a unique violation.
    pub async fn insert_user(&self, new: NewUser<'_>) -> Result<User, sqlx::Error> {
        const SQL: &str = "INSERT INTO app_user \
            (username, username_folded, display_name, password_hash, role, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6) \
            RETURNING user_id, username, display_name, role";
        with_pool!(self, writer, |pool| {
            sqlx::query_as::<_, UserRow>(SQL)
                .bind(new.username)
                .bind(new.username_folded)
                .bind(new.display_name)
                .bind(new.password_hash)
                .bind(new.role.as_str())
                .bind(new.created_at)
                .fetch_one(pool)
                .await
        })
        .map(User::from)
    }

    pub async fn user_credentials(
        &self,
        username_folded: &str,
    ) -> Result<Option<UserCredentials>, sqlx::Error> {
        const SQL: &str = "SELECT user_id, username, display_name, role, password_hash \
            FROM app_user WHERE username_folded = $1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, UserCredentials>(SQL).bind(username_folded).fetch_optional(pool).await
        })
    }

    pub async fn user_by_id(&self, user_id: UserId) -> Result<Option<User>, sqlx::Error> {
        const SQL: &str = "SELECT user_id, username, display_name, role FROM app_user WHERE user_id = $1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, UserRow>(SQL).bind(user_id).fetch_optional(pool).await
        })
        .map(|row| row.map(User::from))
    }

    /// Every admin's id (support rooms include them all).
    pub async fn admin_ids(&self) -> Result<Vec<UserId>, sqlx::Error> {
        const SQL: &str = "SELECT user_id FROM app_user WHERE role = 'admin' ORDER BY user_id";
        with_pool!(self, reader, |pool| sqlx::query_as::<_, (i64,)>(SQL).fetch_all(pool).await)
            .map(|rows| rows.into_iter().map(|(id,)| id).collect())
    }

    /// A participant of the room with this case-folded username, and their notification level.
    pub async fn participant_by_username(
        &self,
        room_id: i64,
        username_folded: &str,
    ) -> Result<Option<(UserId, String)>, sqlx::Error> {
        const SQL: &str = "SELECT u.user_id, p.notifications FROM participant p \
            JOIN app_user u ON u.user_id = p.user_id WHERE p.room_id = $1 AND u.username_folded = $2";
        with_pool!(self, reader, |pool| {
            sqlx::query_as(SQL).bind(room_id).bind(username_folded).fetch_optional(pool).await
        })
    }
}
