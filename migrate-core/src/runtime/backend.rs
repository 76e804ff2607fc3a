//! [`Backend`]: everything that differs between databases, behind one trait, with one
//! implementation per file (`sqlite.rs`, `postgres.rs`, `mysql.rs`). The migrator decides what to
//! run; a backend knows how: its connection, its lock and how to release it, how a step's
//! statements are sent and what a failure leaves behind, how to cancel a running statement,
//! and which failure is which.
//!
//! Catalogue introspection (the schema as the database sees it) is one more method here, each
//! backend's in its own `schema.rs`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::error::{Aftermath, Error};
use super::io::{Failure, FailureKind, TextRows};
use crate::schema::Schema;
use crate::sql::{Dialect, Options, StepKind, StepProgram, Stmt, Tables};

/// A step that did not complete: the failure, the position of the failing statement among the
/// step program's statements, and what it left behind.
#[derive(Debug)]
pub(crate) struct StepFailure {
    pub at: usize,
    pub failure: Failure,
    pub aftermath: Aftermath,
}

/// Room kept in a packet for the protocol's own bytes, under a server's packet limit
/// ([`Backend::statement_limit`]).
pub(crate) const PACKET_HEADROOM: usize = 1024;

/// Cancels the statement a run's connection is executing, from another connection.
pub(crate) type Canceller = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// One connection of one backend, for a run or a read.
pub(crate) trait Backend: Sized + Send {
    /// The SQL dialect.
    const DIALECT: Dialect;

    /// Whether [`lock`](Self::lock) is the only lock: true where it holds for every process that
    /// can reach the database (SQLite's file lock), so that `lock = "table"` adds nothing.
    const SESSION_LOCK_ONLY: bool = false;

    /// Runs `sql` (several statements allowed) and returns every row, each column as text.
    fn rows(&mut self, sql: &str) -> impl Future<Output = Result<TextRows, Failure>> + Send;

    /// Runs statements in as few round trips as the server allows, stopping at the first
    /// failure, and says which failed.
    fn batch(&mut self, statements: &[&str]) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Takes the run's lock, waiting up to `timeout` for another run to release it.
    fn lock(&mut self, tables: &Tables, timeout: Duration) -> impl Future<Output = Result<(), Error>> + Send;

    /// Why the server's session lock (see [`lock`](Self::lock)) would not keep other runs out
    /// here, when it would not: a cluster whose nodes lock each on their own, a pooler between.
    fn session_lock_gap(&mut self) -> impl Future<Output = Result<Option<String>, Failure>> + Send {
        async { Ok(None) }
    }

    /// The DDL mode of a cluster node that would apply a migration's DDL on itself alone (a
    /// Galera node in Rolling Schema Upgrade), when it is one.
    fn ddl_stays_local(&mut self) -> impl Future<Output = Result<Option<String>, Failure>> + Send {
        async { Ok(None) }
    }

    /// Ends the run's connection, releasing its lock, on every path.
    fn release(self) -> impl Future<Output = ()> + Send;

    /// A way to cancel, from elsewhere, the statement this connection runs (`None` where it
    /// cannot be had): from a second connection on a server, by a progress handler on SQLite.
    fn canceller(&mut self) -> impl Future<Output = Option<Canceller>> + Send;

    /// The largest packet the server accepts, in bytes, when it has a limit that matters
    /// (MySQL's `max_allowed_packet`); a statement must fit in one, with room to spare.
    fn statement_limit(&mut self) -> impl Future<Output = Result<Option<usize>, Failure>> + Send {
        async { Ok(None) }
    }

    /// Why the server will refuse every write, when it will (a standby, a read-only server or
    /// session), so that a run says so before taking a lock or changing anything.
    fn read_only(&mut self) -> impl Future<Output = Result<Option<String>, Failure>> + Send {
        async { Ok(None) }
    }

    /// Writes a backup of the database to `path` (`url` for the tools that connect themselves).
    fn backup(
        &mut self,
        url: &str,
        path: &std::path::Path,
    ) -> impl Future<Output = Result<(), super::backup::BackupFailure>> + Send;

    /// Reads the database's schema from its catalogue, without the history and log tables
    /// `options` names.
    fn introspect(&mut self, options: &Options) -> impl Future<Output = Result<Schema, Failure>> + Send;

    /// The catalogue's own text of the schema that [`introspect`](Self::introspect) reads, when
    /// the schema follows from it entirely, so that two equal texts mean two equal schemas
    /// (SQLite: every object's `CREATE` statement); `None` where there is no such text.
    fn catalogue_text(&mut self, options: &Options) -> impl Future<Output = Result<Option<String>, Failure>> + Send {
        let _ = options;
        async { Ok(None) }
    }

    /// Creates the history and log tables.
    fn create_tables(&mut self, create: &[String]) -> impl Future<Output = Result<(), Failure>> + Send {
        async move { self.batch(&create.iter().map(String::as_str).collect::<Vec<_>>()).await }
    }

    /// Runs one step's program. A transactional step is one round trip, rolled back on failure;
    /// a `transaction: false` step sends its statements one by one and records them after.
    fn run_step(&mut self, program: &StepProgram) -> impl Future<Output = Result<(), StepFailure>> + Send {
        async move {
            match program.kind {
                StepKind::Transaction | StepKind::ImplicitCommit => {
                    let all: Vec<&str> = program.statements().map(|s| s.sql.as_str()).collect();
                    if let Err(failure) = self.batch(&all).await {
                        self.rollback().await;
                        return Err(StepFailure { at: failure.index, failure, aftermath: Aftermath::RolledBack });
                    }
                    Ok(())
                }
                StepKind::Autocommit => {
                    let fail = |at, failure, aftermath| Err(StepFailure { at, failure, aftermath });
                    if let Err(f) = self.batch(&sqls(&program.open)).await {
                        return fail(f.index, f, Aftermath::RolledBack);
                    }
                    let start = program.open.len();
                    for (k, stmt) in program.body.iter().enumerate() {
                        if let Err(f) = self.batch(&[stmt.sql.as_str()]).await {
                            let aftermath = if k == 0 { Aftermath::RolledBack } else { Aftermath::Partial };
                            return fail(start + k, f, aftermath);
                        }
                    }
                    let start = start + program.body.len();
                    if let Err(f) = self.batch(&sqls(&program.close)).await {
                        self.rollback().await;
                        return fail(start + f.index, f, Aftermath::NotRecorded);
                    }
                    Ok(())
                }
            }
        }
    }

    /// Records why a dirty step failed (MySQL keeps it in the history row); nothing elsewhere.
    fn record_failure(&mut self, tables: &Tables, revision: &str, failure: &str) -> impl Future<Output = ()> + Send {
        let _ = (tables, revision, failure);
        async {}
    }

    /// Rolls back whatever transaction is open, ignoring the outcome.
    fn rollback(&mut self) -> impl Future<Output = ()> + Send {
        async move {
            let _ = self.batch(&["ROLLBACK"]).await;
        }
    }
}

/// The SQL of statements, borrowed.
pub(crate) fn sqls(statements: &[Stmt]) -> Vec<&str> {
    statements.iter().map(|s| s.sql.as_str()).collect()
}

/// Whether `failure` is SQLite's busy timeout, turned into the lock error it means.
pub(crate) fn busy(failure: &Failure, dialect: Dialect, waited: Duration) -> Option<Error> {
    (failure.kind == FailureKind::Busy).then_some(Error::LockTimeout {
        dialect,
        waited,
        holder: None,
        leased: false,
        report: None,
    })
}

/// Runs `$body` with `$c` bound to a backend connection of `$db`, made by `$make` (`for_run`
/// or `pooled`).
macro_rules! on_backend {
    // A read hands its connection back before it returns (not in a task spawned later), so the
    // next read or run reuses it rather than opening another.
    ($db:expr, pooled, $c:ident => $body:expr) => {
        $crate::runtime::backend::on_backend!($db, pooled_then_release, $c => {
            let out = $body;
            $c.release().await;
            out
        })
    };
    ($db:expr, pooled_then_release, $c:ident => $body:expr) => {
        $crate::runtime::backend::on_backend!(@make $db, pooled, $c => $body)
    };
    ($db:expr, $make:ident, $c:ident => $body:expr) => {
        $crate::runtime::backend::on_backend!(@make $db, $make, $c => $body)
    };
    (@make $db:expr, $make:ident, $c:ident => $body:expr) => {
        match $db {
            #[cfg(feature = "sqlite")]
            $crate::Db::Sqlite(p) => {
                #[allow(unused_mut)]
                let mut $c = $crate::runtime::sqlite::SqliteConn::$make(p).await?;
                $body
            }
            #[cfg(feature = "postgres")]
            $crate::Db::Postgres(p) => {
                #[allow(unused_mut)]
                let mut $c = $crate::runtime::postgres::PgConn::$make(p).await?;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::Db::MySql(p) => {
                #[allow(unused_mut)]
                let mut $c = $crate::runtime::mysql::MyConn::$make(p).await?;
                $body
            }
        }
    };
}
pub(crate) use on_backend;
