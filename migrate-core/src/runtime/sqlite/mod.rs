//! SQLite: a connection from the app's pool; the run's lock is an OS lock on
//! `<database>-migrate.lock` beside a file database (released by the kernel when the process
//! ends, SIGKILL included) plus the busy timeout `BEGIN IMMEDIATE` waits for. A run on a
//! rollback-journal database keeps SQLite's own lock from its first step to its end (exclusive
//! locking mode), so other connections see the schema before the run or after it, never between
//! two steps. A cancelled run interrupts the statement running: SQLite consults a progress
//! handler every thousand virtual-machine steps, and the handler stops it once cancelled.

mod schema;

use std::future::Future;

use std::time::Duration;

use sqlx::Sqlite;
use sqlx::pool::PoolConnection;

use super::backend::{Backend, Canceller};
use super::backup::BackupFailure;
use super::error::Error;
use super::io::{self, Failure, FailureKind, TextRows, common_kind, first};
use crate::sql::{Dialect, Tables};

/// A pooled SQLite connection that is closed instead of reused when a run is abandoned while it
/// may hold an open transaction (a panic or a dropped future).
pub(crate) struct SqliteConn {
    conn: PoolConnection<Sqlite>,
    armed: bool,
    /// The run's lock on a file database, released when this is dropped.
    run_lock: Option<std::fs::File>,
    /// The pool's busy timeout before the run changed it, restored on release.
    busy_before: Option<String>,
    /// Whether the run put the connection in exclusive locking mode, undone on release.
    held_exclusive: bool,
    /// Whether the run installed the progress handler that interrupts a cancelled statement,
    /// removed on release.
    interruptible: bool,
}

impl Drop for SqliteConn {
    fn drop(&mut self) {
        if self.armed {
            self.conn.close_on_drop();
        }
    }
}

fn classify(e: &sqlx::Error) -> FailureKind {
    if let Some(kind) = common_kind(e) {
        return kind;
    }
    match e.as_database_error() {
        // SQLITE_BUSY and SQLITE_LOCKED with their extended codes.
        Some(db) if matches!(db.code().as_deref(), Some("5" | "261" | "517" | "6" | "262")) => FailureKind::Busy,
        // SQLITE_INTERRUPT: the progress handler stopped a cancelled run's statement.
        Some(db) if db.code().as_deref() == Some("9") => FailureKind::Cancelled,
        // SQLITE_READONLY and its extended codes (the low byte is the primary code).
        Some(db) if db.code().and_then(|c| c.parse::<u32>().ok()).is_some_and(|c| c & 0xff == 8) => {
            FailureKind::ReadOnly
        }
        // SQLite reports these two only as SQLITE_ERROR, its generic code: the text tells them apart.
        Some(db) if db.message().starts_with("no such table") => FailureKind::MissingTable,
        Some(db) if db.message().contains("within a transaction") => FailureKind::InTransaction,
        _ => FailureKind::Other,
    }
}

fn no_position(_: &sqlx::Error) -> Option<usize> {
    None
}

impl SqliteConn {
    /// A connection for reads.
    pub async fn pooled(pool: &sqlx::SqlitePool) -> Result<Self, Error> {
        Self::acquire(pool, false).await
    }

    /// A connection for a run (in-memory databases live in the pool, so it is a pooled one too).
    pub async fn for_run(pool: &sqlx::SqlitePool) -> Result<Self, Error> {
        Self::acquire(pool, true).await
    }

    async fn acquire(pool: &sqlx::SqlitePool, armed: bool) -> Result<Self, Error> {
        let conn = pool.acquire().await.map_err(|e| Error::connect("the SQLite pool", "", e))?;
        Ok(Self { conn, armed, run_lock: None, busy_before: None, held_exclusive: false, interruptible: false })
    }

    /// Waits up to `timeout` for an exclusive OS lock on `<database>-migrate.lock` (one per
    /// history table) and keeps it until the connection is released. In-memory databases live
    /// in one process and need none.
    async fn file_lock(&mut self, tables: &Tables, timeout: Duration) -> Result<(), Error> {
        use std::io::Write;
        let rows = self
            .rows("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .await
            .map_err(|f| f.database("cannot read SQLite's database file name"))?;
        let file = first(&rows).unwrap_or_default();
        if file.is_empty() {
            return Ok(());
        }
        let name: String = tables.history_table().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let suffix = if name == "migrate_history" { String::new() } else { format!("-{name}") };
        let path = format!("{file}-migrate{suffix}.lock");
        let io = |e: std::io::Error| Error::Connect {
            url: file.clone(),
            reason: super::error::ConnectFailure::LockFile,
            message: format!("cannot open its lock file {path}: {e}"),
            source: None,
        };
        let mut lock_file =
            std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io)?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match lock_file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder =
                        std::fs::read_to_string(&path).ok().map(|h| format!("{} (lock file {path})", h.trim()));
                    return Err(Error::LockTimeout {
                        dialect: Dialect::Sqlite,
                        waited: timeout,
                        holder,
                        leased: false,
                        report: None,
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Who holds it, for the message another process prints when it times out.
        let _ = lock_file.set_len(0);
        let _ = writeln!(lock_file, "process {} on {}", std::process::id(), hostname());
        self.run_lock = Some(lock_file);
        Ok(())
    }

    /// Keeps SQLite's lock from the run's first step to its end, on a file database with a
    /// rollback journal: other connections then never see the schema between two steps, and
    /// each step's transaction is spared taking and dropping the file's locks and the journal
    /// file (a third of a small step's cost). A WAL database is left alone: its readers never
    /// wait for a writer, and exclusive mode would make them. So is a connection the app already
    /// put in exclusive mode.
    async fn hold_exclusive(&mut self) -> Result<(), Error> {
        let rows = self
            .rows("SELECT journal_mode, locking_mode FROM pragma_journal_mode, pragma_locking_mode")
            .await
            .map_err(|f| f.database("cannot read SQLite's journal and locking modes"))?;
        let get = |i: usize| io::cell(&rows, i).unwrap_or_default().to_ascii_lowercase();
        if get(0) == "wal" || get(1) == "exclusive" {
            return Ok(());
        }
        self.batch(&["PRAGMA locking_mode = EXCLUSIVE"])
            .await
            .map_err(|f| f.database("cannot set SQLite's locking mode"))?;
        self.held_exclusive = true;
        Ok(())
    }
}

impl Backend for SqliteConn {
    fn introspect(
        &mut self,
        options: &crate::sql::Options,
    ) -> impl Future<Output = Result<crate::schema::Schema, Failure>> + Send {
        schema::read(self, options)
    }

    fn catalogue_text(
        &mut self,
        options: &crate::sql::Options,
    ) -> impl Future<Output = Result<Option<String>, Failure>> + Send {
        schema::catalogue_text(self, options)
    }

    const DIALECT: Dialect = Dialect::Sqlite;

    const SESSION_LOCK_ONLY: bool = true;

    async fn rows(&mut self, sql: &str) -> Result<TextRows, Failure> {
        io::rows::<Sqlite>(&mut self.conn, sql, classify).await
    }

    async fn batch(&mut self, statements: &[&str]) -> Result<(), Failure> {
        io::batch::<Sqlite>(&mut self.conn, statements, classify, no_position).await
    }

    async fn lock(&mut self, tables: &Tables, timeout: Duration) -> Result<(), Error> {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        self.busy_before = self.rows("PRAGMA busy_timeout").await.ok().and_then(|r| first(&r));
        self.rows(&format!("PRAGMA busy_timeout = {ms}"))
            .await
            .map_err(|f| f.database("cannot set SQLite's busy timeout"))?;
        self.file_lock(tables, timeout).await?;
        if self.run_lock.is_some() { self.hold_exclusive().await } else { Ok(()) }
    }

    async fn release(mut self) {
        if self.interruptible {
            // First, so that nothing below is interrupted after a cancel; left in place, the
            // handler would stop the app's own statements.
            let Ok(mut handle) = self.conn.lock_handle().await else { return };
            handle.remove_progress_handler();
        }
        if let Some(ms) = self.busy_before.take() {
            let _ = self.batch(&[&format!("PRAGMA busy_timeout = {}", ms.trim())]).await;
        }
        if self.armed {
            // A run's connection goes back to the app's pool: a transaction still open would
            // go with it (and, held below, keep every other connection out). Every path that
            // fails rolls back; this makes sure (with none open, SQLite refuses, harmlessly).
            self.rollback().await;
        }
        if self.held_exclusive {
            // Back to normal mode; SQLite drops the lock at the next access to the file.
            let restored = self.batch(&["PRAGMA locking_mode = NORMAL", "SELECT 1 FROM sqlite_schema LIMIT 1"]).await;
            if restored.is_err() {
                // Still holding the file: close the connection instead of pooling it.
                return;
            }
        }
        // Nothing is left open after a run that got here: hand the connection back for reuse.
        self.armed = false;
    }

    /// Interrupts the running statement from this process: a progress handler, consulted every
    /// thousand virtual-machine steps, stops it once the returned canceller has run.
    async fn canceller(&mut self) -> Option<Canceller> {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&stop);
        let mut handle = self.conn.lock_handle().await.ok()?;
        handle.set_progress_handler(1000, move || !seen.load(Ordering::Relaxed));
        drop(handle);
        self.interruptible = true;
        Some(Box::new(move || Box::pin(async move { stop.store(true, Ordering::SeqCst) })))
    }

    /// `VACUUM INTO`: a consistent copy, written by SQLite itself on the run's connection.
    async fn backup(&mut self, _url: &str, path: &std::path::Path) -> Result<(), BackupFailure> {
        let target = Self::DIALECT.quote_str(&path.to_string_lossy());
        self.batch(&[&format!("VACUUM INTO {target}")]).await.map_err(|f| f.message.into())
    }

    async fn create_tables(&mut self, create: &[String]) -> Result<(), Failure> {
        let mut statements = vec![Self::DIALECT.begin()];
        statements.extend(create.iter().map(String::as_str));
        statements.push("COMMIT");
        let result = self.batch(&statements).await;
        if result.is_err() {
            self.rollback().await;
        }
        result
    }
}

/// This machine's name, for lock-holder messages.
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this machine".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::Options;
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    /// A pool of one connection to a file database, so that the next acquire gets the very
    /// connection a run released.
    async fn one_connection(path: &std::path::Path) -> sqlx::SqlitePool {
        let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
        SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap()
    }

    /// The safety net under every failing path: whatever a run left open, its release rolls
    /// back and lets go of the file before the connection goes back to the app's pool.
    #[tokio::test]
    async fn a_released_run_connection_goes_back_with_nothing_open_and_the_file_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db");
        let pool = one_connection(&path).await;
        let tables = Tables::new(Dialect::Sqlite, &Options::default());
        let mut conn = SqliteConn::for_run(&pool).await.unwrap();
        conn.lock(&tables, Duration::from_secs(5)).await.unwrap();
        assert!(conn.held_exclusive, "a rollback-journal file database is held for the run");
        // This connection's own mark (a temporary table lives and dies with its connection).
        conn.batch(&["CREATE TEMP TABLE this_connection (x int)"]).await.unwrap();
        // A path that stopped halfway and did not roll back.
        conn.batch(&["BEGIN IMMEDIATE", "CREATE TABLE half_done (x int)"]).await.unwrap();
        conn.release().await;

        // Pooled again, not closed, and in no transaction: a new one begins.
        let mut again = SqliteConn::pooled(&pool).await.unwrap();
        let mark = again.rows("SELECT name FROM temp.sqlite_schema WHERE name = 'this_connection'").await.unwrap();
        assert_eq!(mark.len(), 1, "the run's connection is reused, not closed");
        let mode = again.rows("PRAGMA locking_mode").await.unwrap();
        assert_eq!(first(&mode).as_deref(), Some("normal"));
        again.batch(&["BEGIN", "COMMIT"]).await.unwrap();
        let tables_now = again.rows("SELECT name FROM sqlite_schema WHERE name = 'half_done'").await.unwrap();
        assert!(tables_now.is_empty(), "what the run left open was rolled back");

        // Another connection writes at once: the file is not held.
        let other = SqliteConnectOptions::new().filename(&path).busy_timeout(Duration::ZERO);
        let mut writer = sqlx::ConnectOptions::connect(&other).await.unwrap();
        sqlx::Executor::execute(&mut writer, "CREATE TABLE after_run (x int)").await.unwrap();
    }

    /// A cancelled run's statement is interrupted in this process, and the handler that did it
    /// goes with the run: the app's next statement on the same connection runs to its end.
    #[tokio::test]
    async fn a_cancel_interrupts_the_statement_and_leaves_the_connection_whole() {
        let dir = tempfile::tempdir().unwrap();
        let pool = one_connection(&dir.path().join("app.db")).await;
        let long = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000) \
                    SELECT count(*) FROM c";
        let mut conn = SqliteConn::for_run(&pool).await.unwrap();
        let cancel = conn.canceller().await.expect("SQLite can interrupt its own statements");
        cancel().await;
        let failure = conn.rows(long).await.unwrap_err();
        assert_eq!(failure.kind, FailureKind::Cancelled, "{}", failure.message);
        conn.release().await;

        let mut again = SqliteConn::pooled(&pool).await.unwrap();
        let rows = again.rows(long).await.unwrap();
        assert_eq!(first(&rows).as_deref(), Some("100000"));
    }
}
