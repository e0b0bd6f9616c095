//! SQLite connections lent out one statement (or one transaction) at a time.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every command to it
//! across a channel. Its `Pool` adds two such hand-offs to every statement run on it: a
//! ping when it lends a connection out (`test_before_acquire`) and another, in a task of
//! its own, when the connection comes back, before anyone else may have it. For a network
//! database those pings find dropped connections; an embedded one has none to find, and
//! they were two of every three wake-ups of a connection's thread. These connections are
//! opened once, at start, and lent as they are.
//!
//! `&SqliteConnections` is an [`Executor`] as `&SqlitePool` is: each statement borrows a
//! connection for itself. [`SqliteConnections::acquire`] keeps one for several statements
//! (a transaction). A statement cancelled half-way leaves nothing behind: the thread
//! finishes the commands it was sent, in order, before it takes the next borrower's, and a
//! transaction dropped unfinished queues its rollback first.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteConnection, SqliteQueryResult, SqliteRow};
use sqlx::{ConnectOptions, Connection, Describe, Either, Execute, Executor, SqlStr};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A fixed set of SQLite connections; cheap to clone.
#[derive(Clone)]
pub struct SqliteConnections {
    inner: Arc<Inner>,
}

struct Inner {
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per connection: holding one guarantees an idle connection to take.
    permits: Arc<Semaphore>,
    size: u32,
    acquire_timeout: Duration,
    closed: AtomicBool,
}

impl std::fmt::Debug for SqliteConnections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConnections").field("size", &self.inner.size).finish()
    }
}

/// A connection on loan; it goes back when dropped.
pub struct Lease {
    connection: Option<SqliteConnection>,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl SqliteConnections {
    /// Opens `size` connections with `options`, one after another (the first creates the
    /// database file and its WAL). Waiting longer than `acquire_timeout` for a free one
    /// fails with `PoolTimedOut`, as sqlx's pool does.
    pub async fn open(
        options: &SqliteConnectOptions,
        size: u32,
        acquire_timeout: Duration,
    ) -> Result<SqliteConnections, sqlx::Error> {
        let size = size.max(1);
        let mut idle = Vec::with_capacity(size as usize);
        for _ in 0..size {
            idle.push(options.connect().await?);
        }
        Ok(SqliteConnections {
            inner: Arc::new(Inner {
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(size as usize)),
                size,
                acquire_timeout,
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// Borrows a connection, waiting for one to come back if all are lent out.
    pub async fn acquire(&self) -> Result<Lease, sqlx::Error> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        let permit =
            tokio::time::timeout(self.inner.acquire_timeout, self.inner.permits.clone().acquire_owned())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?
                .map_err(|_| sqlx::Error::PoolClosed)?;
        let connection = self.inner.lock().pop().ok_or(sqlx::Error::PoolClosed)?;
        Ok(Lease { connection: Some(connection), inner: self.inner.clone(), _permit: permit })
    }

    /// Lends no more, waits for every loan to come back and closes the connections.
    pub async fn close(&self) {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(all) = self.inner.permits.acquire_many(self.inner.size).await else { return };
        self.inner.permits.close();
        drop(all);
        let connections = std::mem::take(&mut *self.inner.lock());
        for connection in connections {
            let _ = connection.close().await;
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Deref for Lease {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.connection.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            // Back before the permit is released (fields drop after this body).
            self.inner.lock().push(connection);
        }
    }
}

impl<'p> Executor<'p> for &'p SqliteConnections {
    type Database = Sqlite;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<SqliteQueryResult, SqliteRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let connections = self.clone();
        // The results are gathered while the connection is held, then handed out: every
        // caller here collects them anyway (fetch_all, execute).
        Box::pin(
            futures_util::stream::once(async move {
                let mut lease = connections.acquire().await?;
                lease.fetch_many(query).try_collect::<Vec<_>>().await
            })
            .map_ok(|results| futures_util::stream::iter(results.into_iter().map(Ok)))
            .try_flatten(),
        )
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<SqliteRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Sqlite>,
    {
        let connections = self.clone();
        Box::pin(async move { connections.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [sqlx::sqlite::SqliteTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::sqlite::SqliteStatement, sqlx::Error>>
    where
        'p: 'e,
    {
        let connections = self.clone();
        Box::pin(async move { connections.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'p: 'e,
    {
        let connections = self.clone();
        Box::pin(async move { connections.acquire().await?.describe(sql).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open(dir: &tempfile::TempDir, size: u32, wait: Duration) -> SqliteConnections {
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("leases.db"))
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        SqliteConnections::open(&options, size, wait).await.unwrap()
    }

    async fn count(connections: &SqliteConnections) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(connections).await.unwrap()
    }

    #[tokio::test]
    async fn statements_borrow_a_connection_each_and_give_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_secs(5)).await;
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&db).await.unwrap();
        let done = sqlx::query("INSERT INTO t (n) VALUES (1), (2), (3)").execute(&db).await.unwrap();
        assert_eq!(done.rows_affected(), 3);
        // One connection: each statement must have given it back for the next to run.
        for _ in 0..50 {
            let rows: Vec<(i64,)> =
                sqlx::query_as("SELECT n FROM t ORDER BY n").fetch_all(&db).await.unwrap();
            assert_eq!(rows, [(1,), (2,), (3,)]);
        }
        let none: Option<(i64,)> =
            sqlx::query_as("SELECT n FROM t WHERE n > 9").fetch_optional(&db).await.unwrap();
        assert_eq!(none, None);
        let failed = sqlx::query("SELECT nothing FROM t").execute(&db).await;
        assert!(failed.is_err(), "a failing statement reports its error");
        assert_eq!(count(&db).await, 3, "and leaves the connection usable");
    }

    #[tokio::test]
    async fn a_borrower_waits_for_a_lease_and_gives_up_after_the_acquire_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_millis(50)).await;
        let held = db.acquire().await.unwrap();
        let refused = sqlx::query("SELECT 1").execute(&db).await;
        assert!(matches!(refused, Err(sqlx::Error::PoolTimedOut)), "{refused:?}");
        let waiting = tokio::spawn({
            let db = db.clone();
            async move { db.acquire().await.map(drop) }
        });
        tokio::task::yield_now().await;
        drop(held);
        waiting.await.unwrap().expect("the returned connection is lent to the one waiting");
    }

    #[tokio::test]
    async fn a_transaction_dropped_unfinished_is_rolled_back_before_the_next_borrower() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_secs(5)).await;
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&db).await.unwrap();
        {
            let mut lease = db.acquire().await.unwrap();
            let mut tx = lease.begin().await.unwrap();
            sqlx::query("INSERT INTO t (n) VALUES (1)").execute(&mut *tx).await.unwrap();
            // Neither committed nor rolled back: dropped, as a cancelled request drops it.
        }
        assert_eq!(count(&db).await, 0);
        let mut lease = db.acquire().await.unwrap();
        let mut tx = lease.begin().await.unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (2)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        drop(lease);
        assert_eq!(count(&db).await, 1);
    }

    #[tokio::test]
    async fn a_statement_cancelled_half_way_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_secs(5)).await;
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&db).await.unwrap();
        let slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) \
                    SELECT COUNT(*) FROM c";
        let cancelled =
            tokio::time::timeout(Duration::from_millis(5), sqlx::query_scalar::<_, i64>(slow).fetch_one(&db))
                .await;
        assert!(cancelled.is_err(), "the slow statement was still running when it was dropped");
        let counted: i64 = sqlx::query_scalar(slow).fetch_one(&db).await.unwrap();
        assert_eq!(counted, 3_000_000);
        assert_eq!(count(&db).await, 0);
    }

    #[tokio::test]
    async fn closing_waits_for_loans_and_lends_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 2, Duration::from_secs(5)).await;
        let held = db.acquire().await.unwrap();
        let closing = tokio::spawn({
            let db = db.clone();
            async move { db.close().await }
        });
        tokio::task::yield_now().await;
        assert!(matches!(db.acquire().await, Err(sqlx::Error::PoolClosed)));
        assert!(!closing.is_finished(), "close waits for the connection on loan");
        drop(held);
        closing.await.unwrap();
        assert!(matches!(sqlx::query("SELECT 1").execute(&db).await, Err(sqlx::Error::PoolClosed)));
    }
}
