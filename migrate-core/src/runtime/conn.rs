//! One connection of any backend: runs batches of statements in one round trip (reporting which
//! statement failed), reads rows as text, and takes the run's lock.

use std::time::Duration;

use futures_util::StreamExt;
#[cfg(any(feature = "postgres", feature = "mysql"))]
use sqlx::Connection;
use sqlx::Row;

use super::db::Db;
use super::error::Error;
use crate::sql::{Dialect, Tables};

/// A connection: pooled for reads (and for SQLite), dedicated for PostgreSQL/MySQL runs so the
/// session lock dies with it.
pub(crate) enum Conn {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteConn),
    #[cfg(feature = "postgres")]
    PgPooled(sqlx::pool::PoolConnection<sqlx::Postgres>),
    #[cfg(feature = "postgres")]
    Pg(sqlx::PgConnection),
    #[cfg(feature = "mysql")]
    MyPooled(sqlx::pool::PoolConnection<sqlx::MySql>),
    #[cfg(feature = "mysql")]
    My(sqlx::MySqlConnection),
}

/// A pooled SQLite connection that is closed instead of reused when a run is abandoned while it
/// may hold an open transaction (a panic or a cancelled future).
#[cfg(feature = "sqlite")]
pub(crate) struct SqliteConn {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    armed: bool,
    /// The run's lock on a file database: an OS lock on `<database>-migrate.lock`, released when
    /// this is dropped or the process dies (SIGKILL included).
    run_lock: Option<std::fs::File>,
}

#[cfg(feature = "sqlite")]
impl Drop for SqliteConn {
    fn drop(&mut self) {
        if self.armed {
            self.conn.close_on_drop();
        }
    }
}

/// Runs `$body` with `$c` bound to the `&mut` backend connection.
macro_rules! on {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(x) => {
                let $c: &mut sqlx::SqliteConnection = &mut *x.conn;
                $body
            }
            #[cfg(feature = "postgres")]
            Conn::PgPooled(x) => {
                let $c: &mut sqlx::PgConnection = &mut *x;
                $body
            }
            #[cfg(feature = "postgres")]
            Conn::Pg(x) => {
                let $c: &mut sqlx::PgConnection = x;
                $body
            }
            #[cfg(feature = "mysql")]
            Conn::MyPooled(x) => {
                let $c: &mut sqlx::MySqlConnection = &mut *x;
                $body
            }
            #[cfg(feature = "mysql")]
            Conn::My(x) => {
                let $c: &mut sqlx::MySqlConnection = x;
                $body
            }
        }
    };
}

/// A failed batch: the index of the statement that failed (the batch's length when unknown),
/// the database's message and its error code.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub index: usize,
    pub message: String,
    pub code: Option<String>,
}

impl Failure {
    fn from_sqlx(e: &sqlx::Error, index: usize) -> Self {
        match e.as_database_error() {
            Some(db) => Self {
                index,
                message: match db.code() {
                    Some(code) => format!("{} (code {code})", db.message()),
                    None => db.message().to_owned(),
                },
                code: db.code().map(|c| c.into_owned()),
            },
            None => Self { index, message: e.to_string(), code: None },
        }
    }

    /// Whether this is SQLite's "database is locked" (another writer held it past the busy timeout).
    pub fn is_busy(&self) -> bool {
        matches!(self.code.as_deref(), Some("5" | "261" | "517" | "6" | "262"))
    }

    /// Whether the statement failed because a table it reads does not exist (and not, say,
    /// because this user may not read it).
    pub fn is_missing_table(&self) -> bool {
        matches!(self.code.as_deref(), Some("42P01" | "42S02" | "1146")) || self.message.starts_with("no such table")
    }

    /// Whether this is a primary-key or unique violation.
    pub fn is_duplicate(&self) -> bool {
        matches!(self.code.as_deref(), Some("1555" | "2067" | "23505" | "23000" | "1062"))
    }

    pub fn database(&self, context: impl Into<String>) -> Error {
        Error::Database { context: context.into(), message: self.message.clone() }
    }
}

/// Rows with every column read as text (`None` for NULL).
pub(crate) type TextRows = Vec<Vec<Option<String>>>;

impl Conn {
    /// A connection from the pool.
    pub async fn pooled(db: &Db) -> Result<Conn, Error> {
        let fail =
            |e: sqlx::Error| Error::Connect { url: format!("the {} pool", db.dialect()), message: e.to_string() };
        Ok(match db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(p) => {
                Conn::Sqlite(SqliteConn { conn: p.acquire().await.map_err(fail)?, armed: false, run_lock: None })
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(p) => Conn::PgPooled(p.acquire().await.map_err(fail)?),
            #[cfg(feature = "mysql")]
            Db::MySql(p) => Conn::MyPooled(p.acquire().await.map_err(fail)?),
        })
    }

    /// A connection of its own for a run that changes things: a new connection with the pool's
    /// options on PostgreSQL and MySQL (closing it releases the session lock on every path,
    /// panics included); a pooled one on SQLite (in-memory databases live in the pool).
    pub async fn dedicated(db: &Db) -> Result<Conn, Error> {
        let fail = |e: sqlx::Error| Error::Connect {
            url: format!("the {} pool's database", db.dialect()),
            message: e.to_string(),
        };
        Ok(match db {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(p) => {
                // Closed rather than reused if the run is abandoned mid-transaction (panic,
                // cancelled future); `finish` disarms that on the normal path.
                Conn::Sqlite(SqliteConn { conn: p.acquire().await.map_err(fail)?, armed: true, run_lock: None })
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(p) => Conn::Pg(sqlx::PgConnection::connect_with(&p.connect_options()).await.map_err(fail)?),
            #[cfg(feature = "mysql")]
            Db::MySql(p) => Conn::My(sqlx::MySqlConnection::connect_with(&p.connect_options()).await.map_err(fail)?),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Conn::PgPooled(_) | Conn::Pg(_) => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            Conn::MyPooled(_) | Conn::My(_) => Dialect::MySql,
        }
    }

    /// Ends a run's connection: dedicated ones are closed (releasing any lock), a SQLite one
    /// goes back to the pool after a clean run.
    pub async fn finish(self, clean: bool) {
        let _ = clean;
        match self {
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(mut c) => {
                // Nothing is left open after a clean run: hand it back for reuse.
                c.armed = !clean;
            }
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => {
                let _ = c.close().await;
            }
            #[cfg(feature = "mysql")]
            Conn::My(c) => {
                let _ = c.close().await;
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// Runs `sql` (several statements allowed) and returns every row, each column as text.
    pub async fn rows(&mut self, sql: &str) -> Result<TextRows, Failure> {
        on!(self, c => {
            // A stream rather than `fetch_all`: its future is `Send` for every executor.
            let mut stream = sqlx::raw_sql(sql).fetch_many(&mut *c);
            let mut out = Vec::new();
            let mut done = 0;
            while let Some(item) = stream.next().await {
                match item.map_err(|e| Failure::from_sqlx(&e, done))? {
                    sqlx::Either::Left(_) => done += 1,
                    sqlx::Either::Right(row) => {
                        let mut cols = Vec::with_capacity(row.len());
                        for i in 0..row.len() {
                            cols.push(row.try_get_unchecked::<Option<String>, _>(i).map_err(|e| Failure::from_sqlx(&e, done))?);
                        }
                        out.push(cols);
                    }
                }
            }
            Ok(out)
        })
    }

    /// The most a MySQL server accepts in one packet (`max_allowed_packet`), in bytes.
    pub async fn max_packet(&mut self) -> Result<usize, Failure> {
        let rows = self.rows("SELECT @@max_allowed_packet").await?;
        Ok(rows.first().and_then(|r| r.first().cloned().flatten()).and_then(|v| v.parse().ok()).unwrap_or(1 << 22))
    }

    /// Runs statements in as few round trips as possible (one, unless a MySQL batch is larger
    /// than the server's packet limit), stopping at the first failure, and says which failed.
    pub async fn batch(&mut self, statements: &[&str]) -> Result<(), Failure> {
        let size: usize = statements.iter().map(|s| s.len() + 2).sum();
        if self.dialect() != Dialect::MySql || size < MYSQL_SMALL_BATCH {
            return self.one_trip(statements).await;
        }
        // A large MySQL batch: as many statements per packet as fit, in order. Statements of a
        // MySQL step run one after the other either way, so this changes no outcome.
        let budget = self.max_packet().await?.saturating_sub(PACKET_HEADROOM).max(1);
        let mut start = 0;
        while start < statements.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < statements.len() && (end == start || bytes + statements[end].len() + 2 <= budget) {
                bytes += statements[end].len() + 2;
                end += 1;
            }
            if bytes > budget {
                return Err(Failure {
                    index: start,
                    message: format!(
                        "the statement is {} bytes, more than this server accepts in one packet (max_allowed_packet = {} bytes)",
                        statements[start].len(),
                        budget + PACKET_HEADROOM
                    ),
                    code: None,
                });
            }
            self.one_trip(&statements[start..end]).await.map_err(|mut f| {
                f.index += start;
                f
            })?;
            start = end;
        }
        Ok(())
    }

    /// Sends statements in one round trip, stopping at the first failure, and says which failed.
    async fn one_trip(&mut self, statements: &[&str]) -> Result<(), Failure> {
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
        on!(self, c => {
            let mut done = 0usize;
            let mut stream = sqlx::raw_sql(&sql).execute_many(&mut *c);
            while let Some(result) = stream.next().await {
                match result {
                    Ok(_) => done += 1,
                    Err(e) => {
                        let mut failure = Failure::from_sqlx(&e, done.min(n));
                        if let Some(at) = error_position(&e) {
                            failure.index = starts.iter().rposition(|&s| s < at).unwrap_or(0);
                        }
                        drop(stream);
                        return Err(failure);
                    }
                }
            }
            Ok(())
        })
    }

    /// Sends one statement, ignoring its outcome (used to roll back after a failure).
    pub async fn quietly(&mut self, sql: &str) {
        let _ = self.batch(&[sql]).await;
    }

    /// Takes the run's lock: a PostgreSQL advisory lock or a MySQL named lock, held by this
    /// session until it ends; on SQLite, an OS lock on a file beside the database (so
    /// `transaction: false` steps run once too) plus the busy timeout `BEGIN IMMEDIATE` waits for.
    pub async fn lock(&mut self, tables: &Tables, timeout: Duration) -> Result<(), Error> {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        match self.dialect() {
            Dialect::Sqlite => {
                self.rows(&format!("PRAGMA busy_timeout = {ms}"))
                    .await
                    .map_err(|f| f.database("cannot set SQLite's busy timeout"))?;
                self.sqlite_file_lock(tables, timeout).await
            }
            Dialect::Postgres => {
                let key = pg_key(tables);
                let sql = format!(
                    "SET lock_timeout = '{ms}ms'; SELECT pg_advisory_lock({PG_CLASS}, {key}); RESET lock_timeout"
                );
                match self.rows(&sql).await {
                    Ok(_) => Ok(()),
                    Err(f) if f.code.as_deref() == Some("55P03") => {
                        self.quietly("RESET lock_timeout").await;
                        let holder = self.pg_holder(key).await;
                        Err(Error::LockTimeout { dialect: Dialect::Postgres, waited: timeout, holder })
                    }
                    Err(f) => Err(f.database("cannot take the PostgreSQL advisory lock")),
                }
            }
            Dialect::MySql => {
                let name = mysql_lock_name(tables);
                let secs = timeout.as_secs_f64().ceil().max(0.0) as u64;
                let got = self
                    .rows(&format!("SELECT GET_LOCK({name}, {secs})"))
                    .await
                    .map_err(|f| f.database("cannot take the MySQL named lock"))?;
                if got.first().and_then(|r| r.first()).and_then(|v| v.as_deref()) == Some("1") {
                    return Ok(());
                }
                let holder = self.mysql_holder(&name).await;
                Err(Error::LockTimeout { dialect: Dialect::MySql, waited: timeout, holder })
            }
        }
    }

    /// On a file database, waits up to `timeout` for an exclusive OS lock on
    /// `<database>-migrate.lock` (one per history table) and keeps it until the connection is
    /// dropped. In-memory databases live in one process and need none.
    #[cfg(feature = "sqlite")]
    async fn sqlite_file_lock(&mut self, tables: &Tables, timeout: Duration) -> Result<(), Error> {
        use std::io::Write;
        let rows = self
            .rows("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .await
            .map_err(|f| f.database("cannot read SQLite's database file name"))?;
        let file = rows.first().and_then(|r| r.first()).cloned().flatten().unwrap_or_default();
        if file.is_empty() {
            return Ok(());
        }
        let name: String = tables.history_table().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let suffix = if name == "migrate_history" { String::new() } else { format!("-{name}") };
        let path = format!("{file}-migrate{suffix}.lock");
        let io = |e: std::io::Error| Error::Connect {
            url: path.clone(),
            message: format!("cannot open the lock file: {e}"),
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
                    return Err(Error::LockTimeout { dialect: Dialect::Sqlite, waited: timeout, holder });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Who holds it, for the message another process prints when it times out.
        let _ = lock_file.set_len(0);
        let _ = writeln!(lock_file, "process {} on {}", std::process::id(), hostname());
        // Irrefutable when SQLite is the only backend compiled in.
        #[allow(irrefutable_let_patterns)]
        if let Conn::Sqlite(c) = self {
            c.run_lock = Some(lock_file);
        }
        Ok(())
    }

    #[cfg(not(feature = "sqlite"))]
    async fn sqlite_file_lock(&mut self, _: &Tables, _: Duration) -> Result<(), Error> {
        Ok(())
    }

    async fn pg_holder(&mut self, key: u32) -> Option<String> {
        let sql = format!(
            "SELECT a.pid, a.usename, a.application_name, host(a.client_addr), a.backend_start, a.state, left(a.query, 200) \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {PG_CLASS} AND l.objid = {key} AND l.objsubid = 2 \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        );
        let rows = self.rows(&sql).await.ok()?;
        let r = rows.first()?;
        let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        Some(format!(
            "PostgreSQL backend pid {} (user {}, application `{}`, client {}, connected since {}, {}: {})",
            get(0),
            get(1),
            get(2),
            if get(3).is_empty() { "local".to_owned() } else { get(3) },
            get(4),
            get(5),
            get(6)
        ))
    }

    async fn mysql_holder(&mut self, name: &str) -> Option<String> {
        let sql = format!(
            "SELECT p.ID, p.USER, p.HOST, p.COMMAND, p.TIME, LEFT(IFNULL(p.INFO, ''), 200) FROM information_schema.PROCESSLIST p \
             WHERE p.ID = IS_USED_LOCK({name})"
        );
        let rows = self.rows(&sql).await.ok()?;
        let r = rows.first()?;
        let get = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
        Some(format!(
            "MySQL connection {} (user {}, from {}, {} for {} s{})",
            get(0),
            get(1),
            get(2),
            get(3),
            get(4),
            if get(5).is_empty() { String::new() } else { format!(": {}", get(5)) }
        ))
    }
}

/// MySQL batches smaller than this are sent at once without asking the server's packet limit
/// (no server accepts less than 1 MiB).
const MYSQL_SMALL_BATCH: usize = 1 << 20;

/// Room kept in a packet for the protocol's own bytes.
pub(crate) const PACKET_HEADROOM: usize = 1024;

/// The first half of the PostgreSQL advisory lock key: "migr".
const PG_CLASS: u32 = 0x6d69_6772 & 0x7fff_ffff;

/// The second half: a hash of the qualified history table name (FNV-1a), so that two
/// configurations in one database lock independently.
fn pg_key(tables: &Tables) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in tables.history_table().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h & 0x7fff_ffff
}

/// The MySQL lock name: per database and history table, within MySQL's 64 characters.
fn mysql_lock_name(tables: &Tables) -> String {
    format!(
        "CONCAT('cargo-migrate:', SHA1(CONCAT(IFNULL(DATABASE(), ''), '.', {})))",
        Dialect::MySql.quote_str(tables.history_table())
    )
}

/// The character position a PostgreSQL error points at, if any.
fn error_position(e: &sqlx::Error) -> Option<usize> {
    #[cfg(feature = "postgres")]
    if let Some(pg) = e.as_database_error().and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        && let Some(sqlx::postgres::PgErrorPosition::Original(at)) = pg.position()
    {
        return Some(at);
    }
    let _ = e;
    None
}

/// This machine's name, for lock-holder messages.
#[cfg(feature = "sqlite")]
fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this machine".to_owned())
}

#[cfg(test)]
mod send_tests {
    use super::*;
    fn assert_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn futures_are_send(c: &mut Conn) {
        assert_send(c.rows("x"));
    }
    #[allow(dead_code)]
    fn batch_is_send(c: &mut Conn) {
        assert_send(c.batch(&["x"]));
    }
    #[allow(dead_code)]
    fn migrator_futures_are_send(m: &crate::Migrator, db: &Db, t: &crate::Target, e: &crate::Migrations) {
        assert_send(m.upgrade(db, t));
        assert_send(m.downgrade(db, t));
        assert_send(m.stamp(db, t, false));
        assert_send(m.status(db));
        assert_send(m.check(db));
        assert_send(m.history(db));
        assert_send(m.log(db));
        assert_send(m.resolve_dirty(db, crate::Resolution::MarkApplied));
        assert_send(e.upgrade(db));
        assert_send(Db::connect("sqlite::memory:"));
    }
    #[allow(dead_code)]
    fn lock_is_send(c: &mut Conn, t: &Tables) {
        assert_send(c.lock(t, Duration::ZERO));
    }
}
