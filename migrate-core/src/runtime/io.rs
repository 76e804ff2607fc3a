//! Text in, text out over any sqlx connection: statements sent in one round trip (reporting which
//! failed), rows read with every column as text, and a failure classified once, through sqlx's
//! error kinds and each backend's few codes of its own.

use futures_util::StreamExt;
use sqlx::Row;
use sqlx::error::ErrorKind as SqlxKind;

use super::error::Error;
use super::report::Report;

/// Rows with every column read as text (`None` for NULL).
pub(crate) type TextRows = Vec<Vec<Option<String>>>;

/// What kind of failure a database reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// A primary-key or unique violation.
    Duplicate,
    /// A table the statement reads does not exist.
    MissingTable,
    /// SQLite's "database is locked": another writer held it past the busy timeout.
    Busy,
    /// The statement was cancelled from another connection (Ctrl-C).
    Cancelled,
    /// The server refused writes (a read-only transaction or server).
    ReadOnly,
    /// The statement cannot run inside a transaction.
    InTransaction,
    /// The connection was lost before the server answered (an I/O or protocol error, not the
    /// server's own): what the statement did, and whether a `COMMIT` sent with it took effect,
    /// is unknown.
    ConnectionLost,
    /// A lock the statement waited for did not come in time (PostgreSQL's `lock_timeout` or
    /// `NOWAIT`, MySQL's lock wait timeout): another session holds what it needs.
    LockNotAvailable,
    /// A conflict with another transaction (a deadlock, a serialization or Galera certification
    /// failure): nothing was written, and trying again may succeed. SQLite reports none (one
    /// writer at a time waits instead).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    Conflict,
    /// Anything else.
    Other,
}

/// A failed statement: its index among those sent (the count sent when unknown), the
/// database's message (with its code), its kind, and the driver's error itself.
#[derive(Debug)]
pub(crate) struct Failure {
    pub index: usize,
    pub message: String,
    pub kind: FailureKind,
    pub source: Option<sqlx::Error>,
}

impl Failure {
    /// A failure of the statement at `index`, classified by the backend's `classify`.
    pub fn new(e: sqlx::Error, index: usize, classify: fn(&sqlx::Error) -> FailureKind) -> Self {
        let message = match e.as_database_error() {
            Some(db) => match db.code() {
                Some(code) => format!("{} (code {code})", db.message()),
                None => db.message().to_owned(),
            },
            None => e.to_string(),
        };
        Self { index, message, kind: classify(&e), source: Some(e) }
    }

    /// The failure as an error, with what was being done.
    pub fn database(self, context: impl Into<String>) -> Error {
        Error::Database { context: context.into(), message: self.message, source: self.source, report: None }
    }

    /// The failure as an error that stopped a run, with what the run had done before it.
    pub fn stopped(self, context: impl Into<String>, report: Report) -> Error {
        self.database(context).stopping(report)
    }
}

/// The kinds every backend shares, from sqlx's own classification; `None` when the backend must
/// look closer.
pub(crate) fn common_kind(e: &sqlx::Error) -> Option<FailureKind> {
    if matches!(e, sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) {
        return Some(FailureKind::ConnectionLost);
    }
    match e.as_database_error()?.kind() {
        SqlxKind::UniqueViolation => Some(FailureKind::Duplicate),
        _ => None,
    }
}

/// Runs `sql` (several statements allowed) and returns every row, each column as text.
pub(crate) async fn rows<DB>(
    conn: &mut DB::Connection,
    sql: &str,
    classify: fn(&sqlx::Error) -> FailureKind,
) -> Result<TextRows, Failure>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'r> Option<String>: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    // A stream rather than `fetch_all`: its future is `Send` for every executor.
    let mut stream = sqlx::raw_sql(sql).fetch_many(&mut *conn);
    let mut out = Vec::new();
    let mut done = 0;
    while let Some(item) = stream.next().await {
        match item.map_err(|e| Failure::new(e, done, classify))? {
            sqlx::Either::Left(_) => done += 1,
            sqlx::Either::Right(row) => {
                let mut cols = Vec::with_capacity(row.len());
                for i in 0..row.len() {
                    cols.push(
                        row.try_get_unchecked::<Option<String>, _>(i).map_err(|e| Failure::new(e, done, classify))?,
                    );
                }
                out.push(cols);
            }
        }
    }
    Ok(out)
}

/// Runs statements in one round trip, stopping at the first failure, and says which failed.
/// `position` maps an error to the character offset it points at, when the backend tells.
pub(crate) async fn batch<DB>(
    conn: &mut DB::Connection,
    statements: &[&str],
    classify: fn(&sqlx::Error) -> FailureKind,
    position: fn(&sqlx::Error) -> Option<usize>,
) -> Result<(), Failure>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    if statements.is_empty() {
        return Ok(());
    }
    let mut sql = String::with_capacity(statements.iter().map(|s| s.len() + 2).sum());
    let mut starts = Vec::with_capacity(statements.len());
    let mut chars = 0usize;
    for (i, s) in statements.iter().enumerate() {
        if i > 0 {
            sql.push_str(";\n");
            chars += 2;
        }
        starts.push(chars);
        sql.push_str(s);
        chars += s.chars().count();
    }
    let n = statements.len();
    let mut done = 0usize;
    let mut stream = sqlx::raw_sql(&sql).execute_many(&mut *conn);
    while let Some(result) = stream.next().await {
        match result {
            Ok(_) => done += 1,
            Err(e) => {
                let at = position(&e);
                let mut failure = Failure::new(e, done.min(n), classify);
                if let Some(at) = at {
                    failure.index = starts.iter().rposition(|&s| s < at).unwrap_or(0);
                }
                return Err(failure);
            }
        }
    }
    Ok(())
}

/// The first column of the first row, if any.
pub(crate) fn first(rows: &TextRows) -> Option<String> {
    cell(rows, 0)
}

/// Column `i` of the first row, if any.
pub(crate) fn cell(rows: &TextRows, i: usize) -> Option<String> {
    rows.first().and_then(|r| r.get(i)).cloned().flatten()
}
