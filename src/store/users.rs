//! `app_user`: accounts.

use sqlx::FromRow;

use super::{Store, in_lists, placeholders, with_pool};
use crate::clock::Millis;
use crate::domain::room::NotificationLevel;
use crate::domain::user::{Role, User, UserId};

/// A user row joined wherever a `User` is shown.
#[derive(Debug, FromRow)]
pub struct UserRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> User {
        User { id: row.user_id, username: row.username, display_name: row.display_name, role: row.role }
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
    /// Set while an admin has the account disabled.
    pub disabled_at: Option<i64>,
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
        const SQL: &str = "SELECT user_id, username, display_name, role, password_hash, disabled_at \
            FROM app_user WHERE username_folded = $1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, UserCredentials>(SQL).bind(username_folded).fetch_optional(pool).await
        })
    }

    /// A user's password hash, to check the current password before changing it.
    pub async fn password_hash(&self, user_id: UserId) -> Result<Option<String>, sqlx::Error> {
        const SQL: &str = "SELECT password_hash FROM app_user WHERE user_id = $1";
        with_pool!(self, reader, |pool| {
            sqlx::query_as::<_, (String,)>(SQL).bind(user_id).fetch_optional(pool).await
        })
        .map(|row| row.map(|(hash,)| hash))
    }

    /// Every admin's id (support rooms include them all).
    pub async fn admin_ids(&self) -> Result<Vec<UserId>, sqlx::Error> {
        const SQL: &str = "SELECT user_id FROM app_user WHERE role = 'admin' ORDER BY user_id";
        with_pool!(self, reader, |pool| sqlx::query_as::<_, (i64,)>(SQL).fetch_all(pool).await)
            .map(|rows| rows.into_iter().map(|(id,)| id).collect())
    }

    /// Users by id, in no particular order; unknown ids are left out.
    pub async fn users_by_ids(&self, user_ids: &[UserId]) -> Result<Vec<User>, sqlx::Error> {
        let mut users = Vec::with_capacity(user_ids.len());
        for list in in_lists(user_ids) {
            let sql = format!(
                "SELECT user_id, username, display_name, role FROM app_user WHERE user_id IN ({})",
                placeholders(1, list.len())
            );
            let rows: Vec<UserRow> = with_pool!(self, reader, |pool| {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for id in &list {
                    query = query.bind(id);
                }
                query.fetch_all(pool).await
            })?;
            users.extend(rows.into_iter().map(User::from));
        }
        Ok(users)
    }

    /// The room's participants among these case-folded usernames, with their notification
    /// levels: mentions resolved in one query.
    pub async fn participants_by_usernames(
        &self,
        room_id: i64,
        usernames_folded: &[String],
    ) -> Result<Vec<(UserId, NotificationLevel)>, sqlx::Error> {
        if usernames_folded.is_empty() {
            return Ok(Vec::new());
        }
        // Mentions per message are bounded (`MENTIONS_MAX`): one list.
        let [names] = &in_lists(usernames_folded)[..] else {
            return Err(sqlx::Error::Protocol("too many usernames in one query".into()));
        };
        let sql = format!(
            "SELECT u.user_id, p.notifications FROM participant p JOIN app_user u ON u.user_id = p.user_id \
             WHERE p.room_id = $1 AND u.username_folded IN ({})",
            placeholders(2, names.len())
        );
        with_pool!(self, reader, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(room_id);
            for name in names {
                query = query.bind(name);
            }
            query.fetch_all(pool).await
        })
    }
}
