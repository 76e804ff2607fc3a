//! PostgreSQL: a run uses a connection of its own, holding a session advisory lock keyed by the
//! history table's name; closing that connection releases the lock on every path. Each step is
//! one transaction sent in one round trip, and a running statement is cancelled with
//! `pg_cancel_backend` from another connection.

mod schema;

use std::future::Future;

use std::time::Duration;

use sqlx::{Connection, PgPool, Postgres};

use super::backend::{Backend, Canceller};
use super::backup::BackupFailure;
use super::error::Error;
use super::io::{self, Failure, FailureKind, TextRows, common_kind, first};
use super::server::ServerConn;
use crate::sql::{Dialect, Tables};

/// A PostgreSQL connection: pooled for reads, its own for a run.
pub(crate) struct PgConn(ServerConn<Postgres>);

fn classify(e: &sqlx::Error) -> FailureKind {
    if let Some(kind) = common_kind(e) {
        return kind;
    }
    match e.as_database_error().and_then(|d| d.code()).as_deref() {
        Some("42P01" | "3F000") => FailureKind::MissingTable,
        Some("57014") => FailureKind::Cancelled,
        Some("55P03") => FailureKind::LockNotAvailable,
        Some("25006") => FailureKind::ReadOnly,
        // active_sql_transaction: `CREATE INDEX CONCURRENTLY`, `VACUUM`, …
        Some("25001") => FailureKind::InTransaction,
        Some("40001" | "40P01") => FailureKind::Conflict,
        _ => FailureKind::Other,
    }
}

/// The character position a PostgreSQL error points at, if any.
fn position(e: &sqlx::Error) -> Option<usize> {
    let pg = e.as_database_error()?.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    match pg.position()? {
        sqlx::postgres::PgErrorPosition::Original(at) => Some(at),
        _ => None,
    }
}

impl PgConn {
    /// A connection from the pool, for reads.
    pub async fn pooled(pool: &PgPool) -> Result<Self, Error> {
        ServerConn::pooled(pool).await.map(Self)
    }

    /// A connection of its own with the pool's options, for a run: closing it releases the
    /// session lock on every path, panics included.
    pub async fn for_run(pool: &PgPool) -> Result<Self, Error> {
        ServerConn::for_run(pool).await.map(Self)
    }

    async fn holder(&mut self, key: u32) -> Option<String> {
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
}

impl Backend for PgConn {
    fn introspect(
        &mut self,
        options: &crate::sql::Options,
    ) -> impl Future<Output = Result<crate::schema::Schema, Failure>> + Send {
        schema::read(self, options)
    }

    const DIALECT: Dialect = Dialect::Postgres;

    async fn rows(&mut self, sql: &str) -> Result<TextRows, Failure> {
        io::rows::<Postgres>(self.0.get(), sql, classify).await
    }

    async fn batch(&mut self, statements: &[&str]) -> Result<(), Failure> {
        io::batch::<Postgres>(self.0.get(), statements, classify, position).await
    }

    async fn lock(&mut self, tables: &Tables, timeout: Duration) -> Result<(), Error> {
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
        let key = pg_key(tables);
        let sql =
            format!("SET lock_timeout = '{ms}ms'; SELECT pg_advisory_lock({PG_CLASS}, {key}); RESET lock_timeout");
        match self.rows(&sql).await {
            Ok(_) => Ok(()),
            Err(f) if f.kind == FailureKind::LockNotAvailable => {
                let _ = self.batch(&["RESET lock_timeout"]).await;
                let holder = self.holder(key).await;
                Err(Error::LockTimeout {
                    dialect: Dialect::Postgres,
                    waited: timeout,
                    holder,
                    leased: false,
                    report: None,
                })
            }
            Err(f) => Err(f.database("cannot take the PostgreSQL advisory lock")),
        }
    }

    /// A pooler or proxy between (PgBouncer, say) shows as a server that is not where this
    /// connection dialled: its own address and port (`inet_server_addr()`, `inet_server_port()`)
    /// are not the dialled host's. A transaction pooler gives a session lock's server connection
    /// to other clients, and keeps the lock after this run's client is gone.
    async fn session_lock_gap(&mut self) -> Result<Option<String>, Failure> {
        let rows = self.rows("SELECT host(inet_server_addr()), inet_server_port()::text").await?;
        let get = |i: usize| io::cell(&rows, i);
        let options = self.0.pool().connect_options();
        let (host, port) = (options.get_host().to_owned(), options.get_port());
        let socket = options.get_socket().is_some() || host.starts_with('/');
        let dialled = if socket { format!("the Unix socket in {host}") } else { format!("{host}:{port}") };
        let server = match (get(0), get(1).and_then(|p| p.parse::<u16>().ok())) {
            (Some(addr), Some(server_port)) => {
                let addr = addr.parse::<std::net::IpAddr>().ok().map(|a| a.to_canonical());
                let direct = !socket
                    && server_port == port
                    && tokio::net::lookup_host((host.as_str(), port))
                        .await
                        .is_ok_and(|mut found| found.any(|a| Some(a.ip().to_canonical()) == addr));
                if direct {
                    return Ok(None);
                }
                format!("{}:{server_port}", addr.map_or_else(|| "?".to_owned(), |a| a.to_string()))
            }
            _ if socket => return Ok(None),
            _ => "a Unix socket".to_owned(),
        };
        Ok(Some(format!(
            "this connection dialled {dialled} but reached the server through {server}: a pooler or proxy (PgBouncer, say) \
             stands between, and a session lock may not hold through it"
        )))
    }

    async fn read_only(&mut self) -> Result<Option<String>, Failure> {
        let rows = self.rows("SELECT pg_is_in_recovery()::text, current_setting('transaction_read_only')").await?;
        let get = |i: usize| io::cell(&rows, i).unwrap_or_default();
        Ok(if get(0) == "true" {
            Some("it is a standby (pg_is_in_recovery() is true)".to_owned())
        } else if get(1) == "on" {
            Some("its sessions are read-only (default_transaction_read_only is on)".to_owned())
        } else {
            None
        })
    }

    /// `pg_dump -Fc` (restore with `pg_restore --clean -d <url> <file>`).
    async fn backup(&mut self, url: &str, path: &std::path::Path) -> Result<(), BackupFailure> {
        let (without, _) = crate::split_password(url);
        let args = vec!["-Fc".to_owned(), "-f".to_owned(), path.to_string_lossy().into_owned(), without];
        super::backup::run_tool(&["pg_dump"], args, "PGPASSWORD", url, path).await
    }

    async fn release(self) {
        self.0.close().await;
    }

    async fn canceller(&mut self) -> Option<Canceller> {
        let pid = first(&self.rows("SELECT pg_backend_pid()").await.ok()?)?;
        let pid: i32 = pid.trim().parse().ok()?;
        let pool = self.0.pool();
        Some(Box::new(move || {
            Box::pin(async move {
                if let Some(mut c) = ServerConn::another(pool).await {
                    let _ = io::rows::<Postgres>(&mut c, &format!("SELECT pg_cancel_backend({pid})"), classify).await;
                    let _ = c.close().await;
                }
            })
        }))
    }
}

/// The first half of the advisory lock key: "migr".
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
