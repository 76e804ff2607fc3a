//! MySQL and MariaDB: a run uses a connection of its own holding `GET_LOCK`. DDL commits
//! implicitly, so each step runs with autocommit off and writes the dirty mark first: a step
//! that only changes data rolls back whole on failure, and one whose DDL committed part of it
//! stays recorded as dirty, with the failure, until someone resolves it. A running statement is
//! cancelled with `KILL QUERY` from another connection; a batch larger than the server's
//! `max_allowed_packet` is sent in several packets.

mod schema;

use std::future::Future;

use std::time::Duration;

use sqlx::{Connection, MySql, MySqlPool};

use super::backend::{Backend, Canceller, PACKET_HEADROOM, StepFailure};
use super::backup::BackupFailure;
use super::error::{Aftermath, Error};
use super::io::{self, Failure, FailureKind, TextRows, common_kind, first};
use super::server::ServerConn;
use crate::sql::{Dialect, StepProgram, Tables};

/// A MySQL connection: pooled for reads, its own for a run.
pub(crate) struct MyConn {
    conn: ServerConn<MySql>,
    /// The node's Galera settings, once asked: the lock choice and the DDL gate both need them.
    wsrep: Option<TextRows>,
}

fn classify(e: &sqlx::Error) -> FailureKind {
    if let Some(kind) = common_kind(e) {
        return kind;
    }
    let Some(db) = e.as_database_error() else { return FailureKind::Other };
    let number = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|m| m.number());
    match (number, db.code().as_deref()) {
        (Some(1146), _) | (_, Some("42S02")) => FailureKind::MissingTable,
        (Some(1317), _) => FailureKind::Cancelled,
        (Some(1290 | 1792 | 1836), _) => FailureKind::ReadOnly,
        (Some(1213), _) => FailureKind::Conflict,
        // ER_LOCK_WAIT_TIMEOUT: a row or metadata lock another session holds
        (Some(1205), _) => FailureKind::LockNotAvailable,
        _ => FailureKind::Other,
    }
}

fn no_position(_: &sqlx::Error) -> Option<usize> {
    None
}

/// Batches smaller than this are sent at once without asking the server's packet limit (no
/// server accepts less than 1 MiB).
const SMALL_BATCH: usize = 1 << 20;

impl MyConn {
    /// A connection from the pool, for reads.
    pub async fn pooled(pool: &MySqlPool) -> Result<Self, Error> {
        ServerConn::pooled(pool).await.map(Self::new)
    }

    /// A connection of its own with the pool's options, for a run: closing it releases the
    /// named lock on every path.
    pub async fn for_run(pool: &MySqlPool) -> Result<Self, Error> {
        ServerConn::for_run(pool).await.map(Self::new)
    }

    fn new(conn: ServerConn<MySql>) -> Self {
        Self { conn, wsrep: None }
    }

    /// A Galera setting of this node (`wsrep_on` or `wsrep_OSU_method`; none on a server without
    /// Galera), both read in one query the first time either is asked.
    async fn wsrep(&mut self, name: &str) -> Result<Option<String>, Failure> {
        if self.wsrep.is_none() {
            let rows = self.rows("SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_OSU_method')").await?;
            self.wsrep = Some(rows);
        }
        Ok(self
            .wsrep
            .iter()
            .flatten()
            .find(|r| r.first().cloned().flatten().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            .and_then(|r| r.get(1).cloned().flatten()))
    }

    /// The most the server accepts in one packet (`max_allowed_packet`), in bytes.
    pub async fn max_packet(&mut self) -> Result<usize, Failure> {
        let rows = self.rows("SELECT @@max_allowed_packet").await?;
        Ok(first(&rows).and_then(|v| v.parse().ok()).unwrap_or(1 << 22))
    }

    async fn one_trip(&mut self, statements: &[&str]) -> Result<(), Failure> {
        io::batch::<MySql>(self.conn.get(), statements, classify, no_position).await
    }

    async fn holder(&mut self, name: &str) -> Option<String> {
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

impl Backend for MyConn {
    fn introspect(
        &mut self,
        options: &crate::sql::Options,
    ) -> impl Future<Output = Result<crate::schema::Schema, Failure>> + Send {
        schema::read(self, options)
    }

    const DIALECT: Dialect = Dialect::MySql;

    async fn rows(&mut self, sql: &str) -> Result<TextRows, Failure> {
        io::rows::<MySql>(self.conn.get(), sql, classify).await
    }

    /// As many statements per packet as fit, in order: the statements of a step run one after
    /// the other either way, so this changes no outcome.
    async fn batch(&mut self, statements: &[&str]) -> Result<(), Failure> {
        let size: usize = statements.iter().map(|s| s.len() + 2).sum();
        if size < SMALL_BATCH {
            return self.one_trip(statements).await;
        }
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
                    kind: FailureKind::Other,
                    source: None,
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

    async fn lock(&mut self, tables: &Tables, timeout: Duration) -> Result<(), Error> {
        let name = lock_name(tables);
        let secs = timeout.as_secs_f64().ceil().max(0.0) as u64;
        let got = self
            .rows(&format!("SELECT GET_LOCK({name}, {secs})"))
            .await
            .map_err(|f| f.database("cannot take the MySQL named lock"))?;
        if first(&got).as_deref() == Some("1") {
            return Ok(());
        }
        let holder = self.holder(&name).await;
        Err(Error::LockTimeout { dialect: Dialect::MySql, waited: timeout, holder, leased: false, report: None })
    }

    /// `GET_LOCK` is local to one node of a Galera cluster (MariaDB lists it among the explicit
    /// locking Galera does not support).
    async fn session_lock_gap(&mut self) -> Result<Option<String>, Failure> {
        let on = self.wsrep("wsrep_on").await?.is_some_and(|v| v.eq_ignore_ascii_case("ON"));
        Ok(on.then(|| {
            "the server is a node of a Galera cluster (wsrep_on is ON), where GET_LOCK holds on one node only"
                .to_owned()
        }))
    }

    /// A Galera node in Rolling Schema Upgrade (`wsrep_OSU_method` other than TOI) runs DDL on
    /// itself alone, while the history rows a run writes replicate.
    async fn ddl_stays_local(&mut self) -> Result<Option<String>, Failure> {
        let on = self.wsrep("wsrep_on").await?.is_some_and(|v| v.eq_ignore_ascii_case("ON"));
        Ok(self.wsrep("wsrep_OSU_method").await?.filter(|m| on && !m.eq_ignore_ascii_case("TOI")))
    }

    /// `read_only` stops users who may not bypass it (SUPER or READ_ONLY ADMIN); MySQL's
    /// `super_read_only` stops everyone.
    async fn read_only(&mut self) -> Result<Option<String>, Failure> {
        let super_read_only = self.rows("SELECT @@global.super_read_only").await.ok().and_then(|r| first(&r));
        if super_read_only.as_deref() == Some("1") {
            return Ok(Some("super_read_only is on".to_owned()));
        }
        let read_only = self.rows("SELECT @@global.read_only").await?;
        if first(&read_only).as_deref() != Some("1") {
            return Ok(None);
        }
        let bypass = self
            .rows(
                "SELECT count(*) FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE IN ('SUPER', 'READ_ONLY ADMIN') \
                 AND GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
            )
            .await?;
        Ok((first(&bypass).as_deref() == Some("0"))
            .then(|| "read_only is on, and this user may not bypass it".to_owned()))
    }

    /// `mariadb-dump` (or `mysqldump`) `--single-transaction`: a consistent snapshot of InnoDB
    /// tables without locking them (restore with `mariadb <db> < <file>`).
    async fn backup(&mut self, url: &str, path: &std::path::Path) -> Result<(), BackupFailure> {
        use std::str::FromStr;
        let parsed = url.replacen("mariadb://", "mysql://", 1);
        let options = sqlx::mysql::MySqlConnectOptions::from_str(&parsed).map_err(|e| e.to_string())?;
        let args = vec![
            "--single-transaction".to_owned(),
            "--routines".to_owned(),
            "--triggers".to_owned(),
            format!("--host={}", options.get_host()),
            format!("--port={}", options.get_port()),
            format!("--user={}", options.get_username()),
            format!("--result-file={}", path.display()),
            options.get_database().unwrap_or_default().to_owned(),
        ];
        super::backup::run_tool(&["mariadb-dump", "mysqldump"], args, "MYSQL_PWD", url, path).await
    }

    async fn statement_limit(&mut self) -> Result<Option<usize>, Failure> {
        Ok(Some(self.max_packet().await?))
    }

    async fn release(self) {
        self.conn.close().await;
    }

    async fn canceller(&mut self) -> Option<Canceller> {
        let id: u64 = first(&self.rows("SELECT CONNECTION_ID()").await.ok()?)?.trim().parse().ok()?;
        let pool = self.conn.pool();
        Some(Box::new(move || {
            Box::pin(async move {
                if let Some(mut c) = ServerConn::another(pool).await {
                    let _ = io::batch::<MySql>(&mut c, &[&format!("KILL QUERY {id}")], classify, no_position).await;
                    let _ = c.close().await;
                }
            })
        }))
    }

    /// One transaction opened by the dirty mark, autocommit off. On failure it is rolled back
    /// and the history row says what is left: a dirty mark still there was committed by a DDL
    /// statement, with part of the step; none, and the rollback undid it all.
    async fn run_step(&mut self, program: &StepProgram) -> Result<(), StepFailure> {
        let all: Vec<&str> = program.statements().map(|s| s.sql.as_str()).collect();
        let Err(failure) = self.batch(&all).await else { return Ok(()) };
        self.rollback().await;
        let _ = self.batch(&["SET autocommit = 1"]).await;
        let committed = match &program.committed {
            // When the row cannot be read, say dirty: the operator looks before anything reruns.
            Some(sql) => self.rows(sql).await.map_or(true, |rows| !rows.is_empty()),
            None => false,
        };
        let aftermath = if committed { Aftermath::Dirty } else { Aftermath::RolledBack };
        Err(StepFailure { at: failure.index, failure, aftermath })
    }

    async fn record_failure(&mut self, tables: &Tables, revision: &str, failure: &str) {
        let _ = self.batch(&[&tables.set_failure(revision, failure)]).await;
    }
}

/// The lock name: per database and history table, within MySQL's 64 characters.
fn lock_name(tables: &Tables) -> String {
    format!(
        "CONCAT('cargo-migrate:', SHA1(CONCAT(IFNULL(DATABASE(), ''), '.', {})))",
        Dialect::MySql.quote_str(tables.history_table())
    )
}
