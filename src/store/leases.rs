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
//! transaction dropped unfinished queues its rollback first. The next borrower does wait
//! behind such leftover work inside the connection's queue, beyond the acquire timeout's
//! reach; the server's requests are not cancelled by anything but a client going away.
//! A connection whose thread has died (`WorkerCrashed`) is replaced rather than lent again.

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
    options: SqliteConnectOptions,
    closed: AtomicBool,
    /// Held by `close` from start to end, so a second call waits for the first.
    closing: tokio::sync::Mutex<()>,
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
    permit: Option<OwnedSemaphorePermit>,
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
                options: options.clone(),
                closed: AtomicBool::new(false),
                closing: tokio::sync::Mutex::new(()),
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
        // A permit always finds a connection: each is back in the list before its permit.
        let connection = self.inner.lock().pop().ok_or(sqlx::Error::PoolClosed)?;
        Ok(Lease { connection: Some(connection), inner: self.inner.clone(), permit: Some(permit) })
    }

    /// Lends no more, waits for every loan to come back and closes the connections. A
    /// second call waits for the first to finish.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        let _one_at_a_time = self.inner.closing.lock().await;
        if self.inner.permits.is_closed() {
            return;
        }
        let Ok(all) = self.inner.permits.acquire_many(self.inner.size).await else { return };
        let connections = std::mem::take(&mut *self.inner.lock());
        self.inner.permits.close();
        drop(all);
        for connection in connections {
            let _ = connection.close().await;
        }
    }

    /// Runs one statement on a lease of its own; a lease whose thread turns out to have
    /// died is replaced.
    async fn on_lease<T>(
        &self,
        statement: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, sqlx::Error>,
    ) -> Result<T, sqlx::Error> {
        let mut lease = self.acquire().await?;
        let result = statement(&mut lease).await;
        if matches!(result, Err(sqlx::Error::WorkerCrashed)) {
            lease.replace();
        }
        result
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

impl Lease {
    /// Drops this lease's connection and opens another in its place, in the background,
    /// holding the permit until it is in the list (trying again every second while the
    /// database cannot be opened and the connections are not closing).
    pub fn replace(mut self) {
        let (Some(dead), Some(permit)) = (self.connection.take(), self.permit.take()) else { return };
        drop(dead);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            loop {
                match inner.options.connect().await {
                    Ok(connection) => break inner.lock().push(connection),
                    Err(err) => tracing::error!(error = %err, "a database connection could not be replaced"),
                }
                if inner.closed.load(Ordering::Acquire) {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            drop(permit);
        });
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            // Back before the permit is released.
            self.inner.lock().push(connection);
        }
        drop(self.permit.take());
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
                connections.on_lease(async |c| c.fetch_many(query).try_collect::<Vec<_>>().await).await
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
        Box::pin(async move { connections.on_lease(async |c| c.fetch_optional(query).await).await })
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
        Box::pin(async move { connections.on_lease(async |c| c.prepare_with(sql, parameters).await).await })
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<Describe<Sqlite>, sqlx::Error>>
    where
        'p: 'e,
    {
        let connections = self.clone();
        Box::pin(async move { connections.on_lease(async |c| c.describe(sql).await).await })
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

    const SLOW: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) \
                        SELECT COUNT(*) FROM c";

    #[tokio::test]
    async fn a_statement_cancelled_half_way_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_secs(5)).await;
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&db).await.unwrap();
        let cancelled =
            tokio::time::timeout(Duration::from_millis(5), sqlx::query_scalar::<_, i64>(SLOW).fetch_one(&db))
                .await;
        assert!(cancelled.is_err(), "the slow statement was still running when it was dropped");
        let counted: i64 = sqlx::query_scalar(SLOW).fetch_one(&db).await.unwrap();
        assert_eq!(counted, 3_000_000, "the next statement gets its own answer, not the cancelled one's");
    }

    #[tokio::test]
    async fn a_transaction_cancelled_mid_statement_is_rolled_back_and_a_cancelled_commit_still_commits() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_secs(5)).await;
        sqlx::query("CREATE TABLE t (n INTEGER)").execute(&db).await.unwrap();
        let cancelled = tokio::time::timeout(Duration::from_millis(5), async {
            let mut lease = db.acquire().await?;
            let mut tx = lease.begin().await?;
            sqlx::query("INSERT INTO t (n) VALUES (1)").execute(&mut *tx).await?;
            sqlx::query_scalar::<_, i64>(SLOW).fetch_one(&mut *tx).await?;
            tx.commit().await
        })
        .await;
        assert!(cancelled.is_err(), "cancelled inside the slow statement");
        let elsewhere = open(&dir, 1, Duration::from_secs(5)).await;
        assert_eq!(count(&db).await, 0, "the insert before the cancelled statement was rolled back");
        assert_eq!(count(&elsewhere).await, 0);

        // A commit cancelled once sent: it happens, and the connection is out of the
        // transaction (a new one can begin).
        let mut lease = db.acquire().await.unwrap();
        let mut tx = lease.begin().await.unwrap();
        sqlx::query("INSERT INTO t (n) VALUES (2)").execute(&mut *tx).await.unwrap();
        // Polled once (the COMMIT is sent), then dropped before the answer.
        let _ = tokio::time::timeout(Duration::ZERO, tx.commit()).await;
        drop(lease);
        let mut lease = db.acquire().await.unwrap();
        let mut tx = lease.begin().await.expect("not left inside a transaction");
        sqlx::query("INSERT INTO t (n) VALUES (3)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        drop(lease);
        let seen: Vec<(i64,)> =
            sqlx::query_as("SELECT n FROM t ORDER BY n").fetch_all(&elsewhere).await.unwrap();
        assert_eq!(seen, [(2,), (3,)], "the cancelled commit's row and the next one's, each once");
    }

    #[tokio::test]
    async fn a_replaced_connection_is_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 1, Duration::from_secs(5)).await;
        let mut lease = db.acquire().await.unwrap();
        sqlx::query("CREATE TEMP TABLE mine (n INTEGER)").execute(&mut *lease).await.unwrap();
        drop(lease);
        let mut lease = db.acquire().await.unwrap();
        sqlx::query("SELECT n FROM mine").execute(&mut *lease).await.expect("the same connection comes back");
        lease.replace();
        let mut lease = db.acquire().await.expect("the replacement is lent once it is open");
        let gone = sqlx::query("SELECT n FROM mine").execute(&mut *lease).await;
        assert!(gone.is_err(), "a temporary table does not outlive its connection");
    }

    #[tokio::test]
    async fn closing_waits_for_loans_and_lends_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, 2, Duration::from_secs(5)).await;
        let held = db.acquire().await.unwrap();
        let closers: Vec<_> = (0..2)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.close().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(matches!(db.acquire().await, Err(sqlx::Error::PoolClosed)));
        assert!(closers.iter().all(|c| !c.is_finished()), "both closers wait for the connection on loan");
        drop(held);
        for closer in closers {
            closer.await.unwrap();
        }
        assert!(matches!(sqlx::query("SELECT 1").execute(&db).await, Err(sqlx::Error::PoolClosed)));
    }
}
