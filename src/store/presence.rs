//! `presence_snapshot`: who was online when the server last stopped cleanly.

use sqlx::FromRow;

use super::{Store, in_lists, in_transaction, placeholders};
use crate::clock::Millis;
use crate::domain::presence::PresenceStatus;
use crate::domain::user::UserId;

/// One user as they showed when the server stopped.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct PresenceSnapshotRow {
    pub user_id: UserId,
    pub chosen: PresenceStatus,
    pub custom_message: Option<String>,
    pub clears_at: Option<Millis>,
    pub last_active_at: Millis,
}

impl Store {
    /// Replaces the snapshot with `rows`, in one transaction.
    pub async fn save_presence_snapshot(
        &self,
        rows: &[PresenceSnapshotRow],
        now: Millis,
    ) -> Result<(), sqlx::Error> {
        in_transaction!(self, |tx| {
            sqlx::query("DELETE FROM presence_snapshot").execute(&mut *tx).await?;
            for chunk in in_lists(rows) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("({})", placeholders(i * 6 + 1, 6))).collect();
                // A padded chunk repeats its last row: the conflict clause makes that a no-op.
                let sql = format!(
                    "INSERT INTO presence_snapshot (user_id, chosen, custom_message, clears_at, last_active_at, saved_at) \
                     VALUES {} ON CONFLICT (user_id) DO NOTHING",
                    values.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for row in &chunk {
                    query = query
                        .bind(row.user_id)
                        .bind(row.chosen.as_str())
                        .bind(row.custom_message.clone())
                        .bind(row.clears_at)
                        .bind(row.last_active_at)
                        .bind(now);
                }
                query.execute(&mut *tx).await?;
            }
            tx.commit().await
        })
    }

    /// The snapshot if it was saved at or after `saved_since`, and empties it: it is
    /// used once, by the start that follows the stop.
    pub async fn take_presence_snapshot(
        &self,
        saved_since: Millis,
    ) -> Result<Vec<PresenceSnapshotRow>, sqlx::Error> {
        const SELECT: &str = "SELECT user_id, chosen, custom_message, clears_at, last_active_at \
             FROM presence_snapshot WHERE saved_at >= $1 ORDER BY user_id";
        in_transaction!(self, |tx| {
            let rows = sqlx::query_as(SELECT).bind(saved_since).fetch_all(&mut *tx).await?;
            sqlx::query("DELETE FROM presence_snapshot").execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(rows)
        })
    }
}
