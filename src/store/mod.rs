//! Persistence: one `Store` over SQLite (embedded default) or PostgreSQL (scale-out).
//!
//! Queries are written once, with `$N` placeholders both dialects accept, and run on
//! whichever pool is configured through [`with_pool!`]: the macro expands the same body
//! once per backend, so each runs natively typed (no `Any` driver, no runtime SQL
//! rewriting). SQLite runs in WAL mode with exactly one writer connection, which
//! serialises writes without "database is locked" retries, and a few readers, lent
//! without sqlx's pool ([`leases`]).
//! A bound limit is written `LIMIT +$N`: SQLite (3.48 and later) plans a bare `LIMIT $N`
//! with the value bound at the time and so prepares the statement again every time it is
//! bound again; behind the unary plus the limit is read when the statement runs, and the
//! prepared statement is kept.
//! Migrations are embedded in the binary, one folder per backend, and run at start.

mod calendar;
mod files;
mod leases;
mod messages;
mod moderation;
mod notifications;
mod pins;
mod presence;
mod qa;
mod rooms;
mod sessions;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::config::StorageArgs;
use crate::error::BoxError;

pub use calendar::CalendarEventRow;
pub use files::FileRow;
pub use leases::SqliteConnections;
pub use messages::{InsertedMessage, MessageFacts, PageQuery};
pub use notifications::NotificationRow;
pub use presence::PresenceSnapshotRow;
pub use qa::{QuestionFilter, QuestionRow};
pub use rooms::{Membership, NewRoom, ParticipantRow, RoomListRow, RoomRow, RoomStanding};
pub use sessions::SessionUser;
pub use users::{NewUser, UserCredentials};

/// Which database, and its pools.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite { writer: SqliteConnections, reader: SqliteConnections },
    Postgres(PgPool),
}

/// The application's database handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
}

/// Runs `$body` with `$pool` bound to the configured backend's reader or writer pool.
/// PostgreSQL has one pool for both.
macro_rules! with_pool {
    ($store:expr, $role:ident, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite { $role: $pool, .. } => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Runs `$body` with `$tx` a transaction on the writer (each backend's own type): the
/// body commits it; dropped unfinished, it rolls back.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {
        $crate::store::with_pool!($store, writer, |pool| {
            let mut connection = pool.acquire().await?;
            let mut $tx = sqlx::Connection::begin(&mut *connection).await?;
            $body
        })
    };
}
pub(crate) use in_transaction;

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list, the same in both
/// dialects. Lists come from [`in_lists`], so `count` takes only a few values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// List lengths an `IN (…)` may have: each distinct length is one more prepared
/// statement per connection, and the longest stays far below both backends' parameter
/// limits.
const IN_LIST_SIZES: [usize; 4] = [1, 8, 64, 500];

/// `values` cut into lists of at most 500, each padded to one of [`IN_LIST_SIZES`] by
/// repeating its last value (a repeat in `IN (…)` changes nothing).
pub(crate) fn in_lists<T: Clone>(values: &[T]) -> Vec<Vec<T>> {
    let largest = IN_LIST_SIZES[IN_LIST_SIZES.len() - 1];
    values
        .chunks(largest)
        .map(|chunk| {
            let size = IN_LIST_SIZES.iter().copied().find(|s| *s >= chunk.len()).unwrap_or(largest);
            let mut list = chunk.to_vec();
            if let Some(last) = chunk.last() {
                list.resize(size, last.clone());
            }
            list
        })
        .collect()
}

/// Rows a reader connection's thread may hand over before waiting for them to be read.
/// sqlx's default (50) is smaller than a history page plus its look-ahead row.
const READER_ROW_BUFFER: usize = 256;

/// How much of the database file each SQLite reader maps into memory. Every commit
/// empties the other connections' page caches (WAL mode); through the mapping their next
/// reads are memory reads of the kernel's page cache, not a `pread` copy each.
const READER_MMAP_BYTES: u64 = 256 << 20;

/// How long a connection waits for a lock or a pool slot before the request fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Opens (creating if needed) the configured database and brings its schema up to date.
    pub async fn open(storage: &StorageArgs, sqlite_readers: u32) -> Result<Store, BoxError> {
        Ok(match storage.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Store::open_postgres(url).await?
            }
            Some(url) => Store::open_sqlite(SqliteConnectOptions::from_str(url)?, sqlite_readers).await?,
            None => {
                std::fs::create_dir_all(&storage.data_dir)?;
                let path = storage.data_dir.join("eventsync.db");
                Store::open_sqlite(SqliteConnectOptions::new().filename(path), sqlite_readers).await?
            }
        })
    }

    async fn open_sqlite(options: SqliteConnectOptions, readers: u32) -> Result<Store, BoxError> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Migrations first, through a pool of their own: sqlx's migrator also takes a
        // connection, but a future holding that form is not provably `Send`.
        let migrations = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let migrated = sqlx::migrate!("migrations/sqlite").run(&migrations).await;
        migrations.close().await;
        migrated?;
        // The writer connects first so the WAL file exists before readers open.
        let writer = SqliteConnections::open(&options, 1, BUSY_TIMEOUT).await?;
        let options = options
            .read_only(true)
            .row_buffer_size(READER_ROW_BUFFER)
            .pragma("mmap_size", READER_MMAP_BYTES.to_string());
        let reader = SqliteConnections::open(&options, readers, BUSY_TIMEOUT).await?;
        Ok(Store { backend: Backend::Sqlite { writer, reader } })
    }

    async fn open_postgres(url: &str) -> Result<Store, BoxError> {
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(BUSY_TIMEOUT).connect(url).await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        Ok(Store { backend: Backend::Postgres(pool) })
    }

    /// Round-trips a trivial query: the readiness probe.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        with_pool!(self, reader, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }

    /// Closes every pool, waiting for connections in use.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Whether a database error is a unique-constraint violation (a duplicate).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Readers map the database file (and only readers: the writer's pages are its own).
    #[tokio::test]
    async fn sqlite_readers_map_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageArgs::embedded(dir.path()), 2).await.unwrap();
        let Backend::Sqlite { reader, writer } = &store.backend else {
            unreachable!("embedded store is SQLite")
        };
        let (mapped,): (i64,) = sqlx::query_as("PRAGMA mmap_size").fetch_one(reader).await.unwrap();
        assert_eq!(mapped, READER_MMAP_BYTES as i64);
        let (mapped,): (i64,) = sqlx::query_as("PRAGMA mmap_size").fetch_one(writer).await.unwrap();
        assert_eq!(mapped, 0);
        store.close().await;
    }

    #[test]
    fn in_lists_are_cut_and_padded_to_few_sizes() {
        assert!(in_lists::<i64>(&[]).is_empty());
        assert_eq!(in_lists(&[7]), vec![vec![7]]);
        assert_eq!(in_lists(&[1, 2, 3]), vec![vec![1, 2, 3, 3, 3, 3, 3, 3]]);
        let many: Vec<i64> = (0..1203).collect();
        let lists = in_lists(&many);
        assert_eq!(lists.iter().map(Vec::len).collect::<Vec<_>>(), [500, 500, 500]);
        assert_eq!(lists[2][202], 1202);
        assert_eq!(lists[2][499], 1202, "padded with the last value");
    }
}
