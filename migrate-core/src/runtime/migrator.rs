//! [`Migrator`]: upgrade, downgrade, stamp, status, check and history against a [`Db`], with the
//! lock, the checksum and dirty-state checks, and the batches from [`crate::sql::Generator`].

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::{Conn, Failure, TextRows};
use super::db::Db;
use super::error::{Aftermath, ChangedRevision, DirtyRevision, Error, Resolution};
use crate::graph::{HeadPolicy, RevisionGraph};
use crate::plan::{Applied, Direction, Plan, Step};
use crate::sql::{
    Action, Batch, Dialect, Event, Generator, Options, Origin, StateDigest, Timing, all_or_nothing_refusal, hex,
};
use crate::target::Target;

/// Applies a [`RevisionGraph`] to databases.
///
/// ```no_run
/// # async fn demo(pool: sqlx::SqlitePool, graph: migrate_core::RevisionGraph) -> Result<(), migrate_core::Error> {
/// use migrate_core::{Migrator, Options, Target};
/// let migrator = Migrator::new(graph).with_options(Options::default().applied_by("deploy"));
/// let report = migrator.upgrade(&pool, &Target::Head).await?;
/// println!("applied {} revision(s)", report.steps.len());
/// migrator.check(&pool).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    graph: RevisionGraph,
    options: Options,
    heads: HeadPolicy,
    /// The state digest of a database exactly at each target asked for so far.
    expected: Arc<Mutex<Vec<(Target, StateDigest)>>>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The steps this process ran (or recorded, for a stamp), in order.
    pub steps: Vec<StepReport>,
}

/// One step of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The revision id.
    pub revision: String,
    /// Up or down.
    pub direction: Direction,
    /// How long it took, as seen by this process.
    pub duration: Duration,
}

/// One row of the history table: an applied revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRevision {
    /// The revision id.
    pub revision: String,
    /// Its parents when it was applied.
    pub parents: Vec<String>,
    /// Its message.
    pub message: String,
    /// The checksum recorded (64 hex characters).
    pub checksum: String,
    /// When it was applied, RFC 3339 in UTC (e.g. `2026-11-21T15:00:00.123456Z`).
    pub applied_at: String,
    /// How long its SQL took, when known.
    pub duration: Option<Duration>,
    /// Who applied it.
    pub applied_by: String,
    /// The tool version that applied it.
    pub tool_version: String,
    /// The direction in progress when the revision is dirty (MySQL).
    pub dirty: Option<Direction>,
    /// What failed, for a dirty revision.
    pub failure: Option<String>,
}

/// One row of the append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The row's sequence number.
    pub id: i64,
    /// The revision (`*` for a purge).
    pub revision: String,
    /// What happened: `upgrade`, `downgrade`, `stamp`, `unstamp`, `purge`, `accept_changed`,
    /// `mark_applied` or `mark_unapplied`.
    pub action: String,
    /// The revision's checksum at the time.
    pub checksum: Option<String>,
    /// When, RFC 3339 in UTC.
    pub logged_at: String,
    /// How long it took, when known.
    pub duration: Option<Duration>,
    /// Who did it.
    pub applied_by: String,
    /// The tool version.
    pub tool_version: String,
}

/// Where a database stands relative to this build's migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Applied revisions this build knows, in topological order.
    pub applied: Vec<String>,
    /// The applied revisions nothing applied depends on.
    pub current: Vec<String>,
    /// Revisions not applied yet, in the order an upgrade to every head would apply them.
    pub pending: Vec<String>,
    /// Applied revisions whose file changed since.
    pub changed: Vec<ChangedRevision>,
    /// Applied revisions this build does not have (their files are missing).
    pub missing: Vec<String>,
    /// A half-applied revision (MySQL).
    pub dirty: Option<DirtyRevision>,
}

/// One recorded row of the state query.
#[derive(Debug, Clone)]
struct Recorded {
    revision: String,
    checksum: String,
    dirty: Option<Direction>,
    failure: Option<String>,
}

/// The recorded state, judged against the graph.
#[derive(Debug, Clone, Default)]
struct Judged {
    applied: Applied,
    unknown: Vec<String>,
    changed: Vec<ChangedRevision>,
    dirty: Option<DirtyRevision>,
    /// The digest of the applied rows as recorded (checksums as stored).
    digest: StateDigest,
}

/// What a run does.
#[derive(Debug, Clone)]
enum Op<'t> {
    Upgrade(&'t Target),
    Downgrade(&'t Target),
    Stamp(&'t Target, bool),
    Resolve(Resolution),
}

/// Why a step did not complete.
enum StepError {
    /// Someone else changed the database since this run read it (SQLite): re-read and go on.
    Replan,
    /// Someone else recorded this very step (SQLite); the transaction must be rolled back,
    /// then it is a [`Replan`](Self::Replan).
    Duplicate,
    Failed(Error),
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

fn parse_direction(s: Option<&str>) -> Option<Direction> {
    match s {
        Some("down") => Some(Direction::Down),
        Some(s) if !s.is_empty() => Some(Direction::Up),
        _ => None,
    }
}

fn col(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

fn ms(row: &[Option<String>], i: usize) -> Option<Duration> {
    col(row, i).and_then(|s| s.trim().parse::<f64>().ok()).map(|v| Duration::from_millis(v.max(0.0) as u64))
}

impl Migrator {
    /// A migrator for `graph` with default [`Options`] and a single head expected.
    pub fn new(graph: RevisionGraph) -> Self {
        Self { graph, options: Options::default(), heads: HeadPolicy::Single, expected: Arc::default() }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// Sets which heads the chain may have ([`check`](Self::check) and `head` use it).
    pub fn with_head_policy(mut self, heads: HeadPolicy) -> Self {
        self.heads = heads;
        self
    }

    /// The graph.
    pub fn graph(&self) -> &RevisionGraph {
        &self.graph
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The target "everything": `head` with a single head, `heads` with declared branches.
    pub fn head_target(&self) -> Target {
        match self.heads {
            HeadPolicy::Single => Target::Head,
            HeadPolicy::Branches(_) => Target::Heads,
        }
    }

    /// The statements an upgrade or downgrade along `plan` runs on `dialect`, as a script.
    pub fn script(&self, plan: &Plan, dialect: Dialect) -> String {
        crate::sql::script(&self.graph, plan, dialect, &self.options)
    }

    /// Upgrades to `target`. Takes the lock, re-reads the state, refuses on dirty, unknown or
    /// changed revisions before changing anything, then applies each revision in its own
    /// transaction together with its history row (or all in one with `all_or_nothing`).
    ///
    /// When the database is already at the target this costs one query and takes no lock.
    pub async fn upgrade(&self, db: impl Into<Db>, target: &Target) -> Result<Report, Error> {
        let db = db.into();
        if self.graph.is_empty() && matches!(target, Target::Head | Target::Heads) {
            // No migrations at all (a new project): nothing to apply, nothing to create.
            return Ok(Report::default());
        }
        if let Some(done) = self.nothing_to_do(&db, target).await? {
            return Ok(done);
        }
        self.locked(&db, Op::Upgrade(target)).await
    }

    /// Downgrades to `target`; revisions that do not descend from it stay applied.
    /// A downgrade past an irreversible revision is refused before anything changes.
    pub async fn downgrade(&self, db: impl Into<Db>, target: &Target) -> Result<Report, Error> {
        self.locked(&db.into(), Op::Downgrade(target)).await
    }

    /// Records the database as being at `target` without running SQL; `purge` first removes
    /// every record (also of revisions this build does not know).
    pub async fn stamp(&self, db: impl Into<Db>, target: &Target, purge: bool) -> Result<Report, Error> {
        self.locked(&db.into(), Op::Stamp(target, purge)).await
    }

    /// Resolves a dirty revision (MySQL) after the operator has finished or undone it by hand.
    /// Returns the revision resolved, or `None` when nothing was dirty.
    pub async fn resolve_dirty(&self, db: impl Into<Db>, resolution: Resolution) -> Result<Option<String>, Error> {
        let report = self.locked(&db.into(), Op::Resolve(resolution)).await?;
        Ok(report.steps.into_iter().next().map(|s| s.revision))
    }

    /// Every history row, oldest first (empty when the table does not exist yet).
    pub async fn history(&self, db: impl Into<Db>) -> Result<Vec<AppliedRevision>, Error> {
        let db = db.into();
        let generator = Generator::new(&self.graph, db.dialect(), &self.options);
        let rows = self.read_if_exists(&db, &generator.tables().select_history(), "read the history table").await?;
        Ok(rows
            .into_iter()
            .map(|r| AppliedRevision {
                revision: col(&r, 0).unwrap_or_default(),
                parents: col(&r, 1)
                    .unwrap_or_default()
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                message: col(&r, 2).unwrap_or_default(),
                checksum: col(&r, 3).unwrap_or_default(),
                applied_at: col(&r, 4).unwrap_or_default(),
                duration: ms(&r, 5),
                applied_by: col(&r, 6).unwrap_or_default(),
                tool_version: col(&r, 7).unwrap_or_default(),
                dirty: parse_direction(col(&r, 8).as_deref()),
                failure: col(&r, 9),
            })
            .collect())
    }

    /// Every log row, oldest first (empty when the table does not exist yet).
    pub async fn log(&self, db: impl Into<Db>) -> Result<Vec<LogEntry>, Error> {
        let db = db.into();
        let generator = Generator::new(&self.graph, db.dialect(), &self.options);
        let rows = self.read_if_exists(&db, &generator.tables().select_log(), "read the log table").await?;
        Ok(rows
            .into_iter()
            .map(|r| LogEntry {
                id: col(&r, 0).and_then(|s| s.parse().ok()).unwrap_or_default(),
                revision: col(&r, 1).unwrap_or_default(),
                action: col(&r, 2).unwrap_or_default(),
                checksum: col(&r, 3),
                logged_at: col(&r, 4).unwrap_or_default(),
                duration: ms(&r, 5),
                applied_by: col(&r, 6).unwrap_or_default(),
                tool_version: col(&r, 7).unwrap_or_default(),
            })
            .collect())
    }

    /// The current revision(s): applied revisions nothing applied depends on.
    pub async fn current(&self, db: impl Into<Db>) -> Result<Vec<String>, Error> {
        Ok(self.status(db).await?.current)
    }

    /// Where the database stands: applied, current, pending, changed, missing and dirty.
    pub async fn status(&self, db: impl Into<Db>) -> Result<Status, Error> {
        let db = db.into();
        let generator = Generator::new(&self.graph, db.dialect(), &self.options);
        let rows = self.read_if_exists(&db, &generator.tables().select_state(), "read the history table").await?;
        let judged = self.judge(&recorded(rows));
        let mask: HashSet<usize> =
            (0..self.graph.len()).filter(|&i| judged.applied.contains(&self.graph.migration(i).revision)).collect();
        let order = self.graph.topological_order();
        Ok(Status {
            applied: order
                .iter()
                .filter(|i| mask.contains(i))
                .map(|&i| self.graph.migration(i).revision.clone())
                .collect(),
            current: self.graph.current_heads(&judged.applied).into_iter().map(|m| m.revision.clone()).collect(),
            pending: order
                .iter()
                .filter(|i| !mask.contains(i))
                .map(|&i| self.graph.migration(i).revision.clone())
                .collect(),
            changed: judged.changed,
            missing: judged.unknown,
            dirty: judged.dirty,
        })
    }

    /// Succeeds when the database is exactly at the head(s) of this build (per the head
    /// policy), nothing applied was edited, nothing is dirty and nothing unknown is recorded.
    /// Read-only and lock-free, for health probes and CI gates.
    pub async fn check(&self, db: impl Into<Db>) -> Result<(), Error> {
        self.graph.check_heads(&self.heads)?;
        let status = self.status(db).await?;
        if let Some(revision) = status.dirty {
            return Err(Error::Dirty { revision });
        }
        if !status.missing.is_empty() {
            return Err(Error::UnknownApplied { revisions: status.missing });
        }
        if !status.changed.is_empty() {
            return Err(Error::Changed { changed: status.changed });
        }
        if !status.pending.is_empty() {
            return Err(Error::Behind { pending: status.pending });
        }
        Ok(())
    }

    // ---- reading state -------------------------------------------------------------------

    async fn read_if_exists(&self, db: &Db, sql: &str, what: &str) -> Result<TextRows, Error> {
        let mut conn = Conn::pooled(db).await?;
        match conn.rows(sql).await {
            Ok(rows) => Ok(rows),
            // Only a table that is truly absent means "nothing applied yet": a table this user
            // may not read (or any other failure) is an error, never an empty state.
            Err(f) if f.is_missing_table() => Ok(Vec::new()),
            Err(f) => Err(f.database(format!("cannot {what}"))),
        }
    }

    fn judge(&self, rows: &[Recorded]) -> Judged {
        let mut judged = Judged::default();
        let mut applied = Vec::with_capacity(rows.len());
        for r in rows {
            let known = self.graph.get(&r.revision);
            if let Some(direction) = r.dirty {
                judged.dirty = Some(DirtyRevision {
                    revision: r.revision.clone(),
                    direction,
                    path: known.map(|m| m.path.clone()),
                    failure: r.failure.clone(),
                });
                if direction == Direction::Up {
                    continue;
                }
            }
            match known {
                None => judged.unknown.push(r.revision.clone()),
                Some(m) => {
                    let current = hex(&m.checksum.0);
                    if !r.checksum.eq_ignore_ascii_case(&current) {
                        judged.changed.push(ChangedRevision {
                            revision: r.revision.clone(),
                            path: m.path.clone(),
                            recorded: r.checksum.clone(),
                            current,
                        });
                    }
                }
            }
            judged.digest.toggle(&r.revision, &r.checksum, true);
            applied.push(r.revision.clone());
        }
        judged.unknown.sort();
        judged.changed.sort_by(|a, b| a.path.cmp(&b.path));
        judged.applied = Applied::new(applied);
        judged
    }

    /// Refuses a run on a dirty, unknown or changed state (the accepted changes aside).
    fn gate(&self, judged: &Judged, allow_unknown: bool) -> Result<(), Error> {
        if let Some(revision) = &judged.dirty {
            return Err(Error::Dirty { revision: revision.clone() });
        }
        if !allow_unknown && !judged.unknown.is_empty() {
            return Err(Error::UnknownApplied { revisions: judged.unknown.clone() });
        }
        let refused: Vec<ChangedRevision> =
            judged.changed.iter().filter(|c| !self.options.accept_changed.contains(&c.revision)).cloned().collect();
        if !refused.is_empty() {
            return Err(Error::Changed { changed: refused });
        }
        Ok(())
    }

    /// The lock-free fast path of an upgrade: one query; `Some` when there is nothing to do
    /// and nothing to report. Anything unusual is left to the locked path to judge.
    async fn nothing_to_do(&self, db: &Db, target: &Target) -> Result<Option<Report>, Error> {
        let generator = Generator::new(&self.graph, db.dialect(), &self.options);
        let expected = self.expected_digest(target)?;
        let mut conn = Conn::pooled(db).await?;
        let Ok(last) = conn.rows(&generator.tables().select_last_state()).await else { return Ok(None) };
        if let Some(row) = last.first()
            && col(row, 1).as_deref() == Some("0")
            && col(row, 0) == Some(expected.to_string())
        {
            return Ok(Some(Report::default()));
        }
        // The log does not vouch for the state (written offline, or by hand): read it all.
        let Ok(rows) = conn.rows(&generator.tables().select_digest()).await else { return Ok(None) };
        drop(conn);
        let Some(row) = rows.first() else { return Ok(None) };
        let count: usize = col(row, 0).and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
        if col(row, 1).as_deref() != Some("0") {
            return Ok(None);
        }
        let list = col(row, 2).unwrap_or_default();
        let rows: Vec<Recorded> = list
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(|pair| pair.split_once(':'))
            .map(|(revision, checksum)| Recorded {
                revision: revision.to_owned(),
                checksum: checksum.to_owned(),
                dirty: None,
                failure: None,
            })
            .collect();
        if rows.len() != count {
            // Cut short (MySQL's group_concat_max_len): let the locked path read it all.
            return Ok(None);
        }
        let judged = self.judge(&rows);
        if judged.dirty.is_some() || !judged.unknown.is_empty() || !judged.changed.is_empty() {
            return Ok(None);
        }
        let plan = self.graph.plan_upgrade(&judged.applied, target)?;
        Ok(plan.is_empty().then(Report::default))
    }

    /// The digest of the state an upgrade to `target` leaves when it starts from nothing: the
    /// state a database exactly at `target` has.
    fn expected_digest(&self, target: &Target) -> Result<StateDigest, Error> {
        let cached = |cache: &Vec<(Target, StateDigest)>| cache.iter().find(|(t, _)| t == target).map(|(_, d)| *d);
        if let Some(d) = self.expected.lock().ok().and_then(|c| cached(&c)) {
            return Ok(d);
        }
        let plan = self.graph.plan_upgrade(&Applied::default(), target)?;
        let mut digest = StateDigest::default();
        for step in &plan.steps {
            let m = self.graph.migration(step.index);
            digest.toggle(&m.revision, &hex(&m.checksum.0), true);
        }
        if let Ok(mut cache) = self.expected.lock() {
            cache.push((target.clone(), digest));
        }
        Ok(digest)
    }

    /// Reads the state on a run's connection, creating the tables on first use. On SQLite
    /// also returns `PRAGMA data_version`, which changes when another connection commits.
    async fn read_state(&self, conn: &mut Conn, generator: &Generator<'_>) -> Result<(Vec<Recorded>, String), Error> {
        let tables = generator.tables();
        let sqlite = conn.dialect() == Dialect::Sqlite;
        let version = |rows: &TextRows| rows.first().and_then(|r| col(r, 0)).unwrap_or_default();
        let sql =
            if sqlite { format!("PRAGMA data_version; {}", tables.select_state()) } else { tables.select_state() };
        let rows = match conn.rows(&sql).await {
            Ok(rows) => rows,
            Err(_) => {
                let create = tables.create();
                let mut statements: Vec<&str> = Vec::new();
                if sqlite {
                    statements.push(conn.dialect().begin());
                }
                statements.extend(create.iter().map(String::as_str));
                if sqlite {
                    statements.push("COMMIT");
                }
                if let Err(f) = conn.batch(&statements).await {
                    if sqlite {
                        conn.quietly("ROLLBACK").await;
                    }
                    return Err(self.busy_or(f, "cannot create the history and log tables"));
                }
                conn.rows(&sql).await.map_err(|f| f.database("cannot read the history table"))?
            }
        };
        if sqlite {
            let v = version(&rows);
            Ok((recorded(rows.into_iter().skip(1).collect()), v))
        } else {
            Ok((recorded(rows), String::new()))
        }
    }

    fn busy_or(&self, f: Failure, context: &str) -> Error {
        if f.is_busy() {
            Error::LockTimeout { dialect: Dialect::Sqlite, waited: self.options.lock_timeout, holder: None }
        } else {
            f.database(context)
        }
    }

    // ---- changing things -----------------------------------------------------------------

    async fn locked(&self, db: &Db, op: Op<'_>) -> Result<Report, Error> {
        let mut conn = Conn::dedicated(db).await?;
        let mut previous_busy = None;
        if conn.dialect() == Dialect::Sqlite {
            previous_busy = conn.rows("PRAGMA busy_timeout").await.ok().and_then(|r| r.first().and_then(|r| col(r, 0)));
        }
        let generator = Generator::new(&self.graph, db.dialect(), &self.options);
        let result = match conn.lock(generator.tables(), self.options.lock_timeout).await {
            Ok(()) => self.run(&mut conn, &generator, &op).await,
            Err(e) => Err(e),
        };
        if let Some(ms) = previous_busy {
            conn.quietly(&format!("PRAGMA busy_timeout = {}", ms.trim())).await;
        }
        conn.finish(true).await;
        result
    }

    async fn run(&self, conn: &mut Conn, generator: &Generator<'_>, op: &Op<'_>) -> Result<Report, Error> {
        let (rows, mut version) = self.read_state(conn, generator).await?;
        let judged = self.judge(&rows);
        let purge = matches!(op, Op::Stamp(_, true));
        match op {
            Op::Resolve(resolution) => return self.resolve(conn, generator, &judged, *resolution, &version).await,
            _ => self.gate(&judged, purge)?,
        }
        let plan = match op {
            Op::Upgrade(t) => self.graph.plan_upgrade(&judged.applied, t)?,
            Op::Downgrade(t) => self.graph.plan_downgrade(&judged.applied, t)?,
            Op::Stamp(t, purge) => {
                let from = if *purge { Applied::default() } else { judged.applied.clone() };
                self.graph.plan_stamp(&from, t)?
            }
            Op::Resolve(_) => Plan::default(),
        };
        if conn.dialect() == Dialect::MySql && !matches!(op, Op::Stamp(..)) {
            self.check_packets(conn, generator, &plan).await?;
        }
        let whole = self.options.all_or_nothing && !matches!(op, Op::Stamp(..));
        if whole
            && !plan.is_empty()
            && let Some(reason) = all_or_nothing_refusal(&self.graph, &plan, conn.dialect())
        {
            return Err(Error::AllOrNothingRefused { reason });
        }
        let accepted: Vec<&crate::Migration> = judged
            .changed
            .iter()
            .filter(|c| self.options.accept_changed.contains(&c.revision))
            .filter_map(|c| self.graph.get(&c.revision))
            .collect();
        let mut digest = if matches!(op, Op::Stamp(_, true)) { StateDigest::default() } else { judged.digest };
        if !accepted.is_empty() {
            for c in judged.changed.iter().filter(|c| self.options.accept_changed.contains(&c.revision)) {
                digest.toggle(&c.revision, &c.recorded, false);
                digest.toggle(&c.revision, &c.current, true);
            }
            let batch = generator.accept(&accepted, Some(&digest));
            self.write(conn, &batch, &mut version).await?;
        }
        if let Op::Stamp(_, purge) = op {
            if plan.is_empty() && !purge {
                return Ok(Report::default());
            }
            let start = Instant::now();
            for step in &plan.steps {
                self.toggle(&mut digest, *step);
            }
            let batch = generator.stamp(&plan, *purge, Some(&digest));
            self.write(conn, &batch, &mut version).await?;
            let duration = start.elapsed();
            let steps = plan
                .steps
                .iter()
                .map(|s| StepReport {
                    revision: self.graph.migration(s.index).revision.clone(),
                    direction: s.direction,
                    duration,
                })
                .collect();
            return Ok(Report { steps });
        }
        if whole {
            self.run_whole(conn, generator, &plan, digest).await
        } else {
            self.run_steps(conn, generator, plan, version, digest).await
        }
    }

    /// Refuses, before anything changes, a plan with a statement larger than the MySQL server
    /// accepts in one packet. Plans whose SQL is small in total never ask the server.
    async fn check_packets(&self, conn: &mut Conn, generator: &Generator<'_>, plan: &Plan) -> Result<(), Error> {
        let sql = |s: &Step| {
            let m = self.graph.migration(s.index);
            match (s.direction, &m.down) {
                (Direction::Up, _) => m.up.len(),
                (Direction::Down, crate::Down::Sql { sql, .. }) => sql.len(),
                _ => 0,
            }
        };
        if plan.steps.iter().map(sql).sum::<usize>() < 1 << 20 {
            return Ok(());
        }
        let limit = conn.max_packet().await.map_err(|f| f.database("cannot read the server's max_allowed_packet"))?;
        let budget = limit.saturating_sub(super::conn::PACKET_HEADROOM);
        for step in plan.steps.iter().filter(|s| sql(s) > budget) {
            let m = self.graph.migration(step.index);
            if let Some(stmt) =
                generator.statements(step.index, step.direction).into_iter().find(|s| s.sql.len() > budget)
            {
                let line = match stmt.origin {
                    Origin::Migration { line, .. } => line,
                    Origin::Bookkeeping => m.up_line,
                };
                return Err(Error::PacketTooLarge {
                    revision: m.revision.clone(),
                    path: m.path.clone(),
                    line,
                    size: stmt.sql.len(),
                    limit,
                });
            }
        }
        Ok(())
    }

    /// Applies a step to a state digest.
    fn toggle(&self, digest: &mut StateDigest, step: Step) {
        let m = self.graph.migration(step.index);
        digest.toggle(&m.revision, &hex(&m.checksum.0), step.direction == Direction::Up);
    }

    /// Sends a bookkeeping batch that opens and commits its own transaction; on SQLite, checks
    /// first that nobody else wrote since the state was read.
    async fn write(&self, conn: &mut Conn, batch: &Batch, version: &mut String) -> Result<(), Error> {
        match self.send(conn, batch, version).await {
            Ok(()) => Ok(()),
            Err(StepError::Replan | StepError::Duplicate) => Err(Error::Database {
                context: "the history changed while this run was starting".to_owned(),
                message: "another process migrated the database at the same time; run again".to_owned(),
            }),
            Err(StepError::Failed(e)) => Err(e),
        }
    }

    /// Sends one batch. On SQLite a batch that opens a transaction first takes the write lock
    /// with `BEGIN IMMEDIATE` and compares `PRAGMA data_version` with `version`.
    async fn send(&self, conn: &mut Conn, batch: &Batch, version: &mut String) -> Result<(), StepError> {
        self.send_checked(conn, batch, version, true).await
    }

    /// [`send`](Self::send); `check: false` skips the `data_version` comparison for batches
    /// whose first write fails by itself when another process did the same step (an upgrade's
    /// history insert hits the primary key).
    async fn send_checked(
        &self,
        conn: &mut Conn,
        batch: &Batch,
        version: &mut String,
        check: bool,
    ) -> Result<(), StepError> {
        let mut statements: Vec<&str> = batch.0.iter().map(|s| s.sql.as_str()).collect();
        let dialect = conn.dialect();
        let mut offset = 0;
        if check && dialect == Dialect::Sqlite && statements.first() == Some(&dialect.begin()) {
            let sql = format!("{}; PRAGMA data_version", dialect.begin());
            let rows = conn.rows(&sql).await.map_err(|f| self.busy_or(f, "cannot start a transaction"))?;
            let now = rows.first().and_then(|r| col(r, 0)).unwrap_or_default();
            if now != *version {
                conn.quietly("ROLLBACK").await;
                *version = now;
                return Err(StepError::Replan);
            }
            statements.remove(0);
            offset = 1;
        }
        conn.batch(&statements).await.map_err(|mut f| {
            f.index += offset;
            if !check && f.index == 1 && f.is_duplicate() {
                StepError::Duplicate
            } else {
                StepError::Failed(self.failure(batch, &f))
            }
        })
    }

    /// Maps a failed bookkeeping statement to an error (statement errors of migrations are
    /// mapped by [`fail_step`](Self::fail_step)).
    fn failure(&self, batch: &Batch, f: &Failure) -> Error {
        if f.is_busy() {
            return Error::LockTimeout { dialect: Dialect::Sqlite, waited: self.options.lock_timeout, holder: None };
        }
        match batch.0.get(f.index).map(|s| s.origin) {
            Some(Origin::Migration { index, line }) => {
                let m = self.graph.migration(index);
                Error::Statement {
                    revision: m.revision.clone(),
                    direction: Direction::Up,
                    path: m.path.clone(),
                    line,
                    message: f.message.clone(),
                    aftermath: Aftermath::RolledBack,
                }
            }
            _ => f.database("cannot update the history and log tables"),
        }
    }

    /// Tells the progress hook that `step` (number `position` of `total`) starts.
    fn started(&self, step: Step, position: usize, total: usize) {
        let revision = self.graph.migration(step.index).revision.clone();
        self.options.emit(Event::Started { revision, direction: step.direction, index: position, total });
    }

    /// Tells the progress hook that `step` finished, and returns its line of the report.
    fn finished(&self, step: Step, duration: std::time::Duration) -> StepReport {
        let revision = self.graph.migration(step.index).revision.clone();
        self.options.emit(Event::Finished { revision: revision.clone(), direction: step.direction, duration });
        StepReport { revision, direction: step.direction, duration }
    }

    async fn run_steps(
        &self,
        conn: &mut Conn,
        generator: &Generator<'_>,
        plan: Plan,
        mut version: String,
        mut digest: StateDigest,
    ) -> Result<Report, Error> {
        let total = plan.steps.len();
        let mut report = Report::default();
        let mut remaining: std::collections::VecDeque<Step> = plan.steps.into();
        let mut position = 0;
        while let Some(&step) = remaining.front() {
            self.started(step, position, total);
            let start = Instant::now();
            let mut after = digest;
            self.toggle(&mut after, step);
            match self.run_step(conn, generator, step, &mut version, &after).await {
                Ok(()) => {
                    digest = after;
                    let duration = start.elapsed();
                    remaining.pop_front();
                    position += 1;
                    report.steps.push(self.finished(step, duration));
                }
                Err(StepError::Replan | StepError::Duplicate) => {
                    // Another process changed the database (SQLite): re-read, re-check, and drop
                    // the steps it already did.
                    let (rows, v) = self.read_state(conn, generator).await?;
                    version = v;
                    let judged = self.judge(&rows);
                    self.gate(&judged, false)?;
                    digest = judged.digest;
                    remaining.retain(|s| {
                        let applied = judged.applied.contains(&self.graph.migration(s.index).revision);
                        applied == (s.direction == Direction::Down)
                    });
                }
                Err(StepError::Failed(e)) => return Err(e),
            }
        }
        Ok(report)
    }

    async fn run_step(
        &self,
        conn: &mut Conn,
        generator: &Generator<'_>,
        step: Step,
        version: &mut String,
        after: &StateDigest,
    ) -> Result<(), StepError> {
        let dialect = conn.dialect();
        let in_tx = generator.in_transaction(step.index);
        let mut batches = generator.step(step, Timing::Unknown, Some(after));
        if !in_tx && dialect != Dialect::MySql {
            // Outside a transaction: each statement on its own, then the record with the
            // measured duration.
            batches.pop();
            let start = Instant::now();
            for (k, batch) in batches.iter().enumerate() {
                if let Err(f) = conn.batch(&[batch.0[0].sql.as_str()]).await {
                    let aftermath = if k == 0 { Aftermath::RolledBack } else { Aftermath::Partial };
                    return Err(self.fail_step(step, &batch.0[0].origin, &f, aftermath).into());
                }
            }
            let record = generator.record_after(step, Timing::Measured(start.elapsed()), Some(after));
            return self.send(conn, &record, version).await;
        }
        let batch = &batches[0];
        let check = !(dialect == Dialect::Sqlite && step.direction == Direction::Up);
        match self.send_checked(conn, batch, version, check).await {
            Ok(()) => Ok(()),
            Err(StepError::Replan) => Err(StepError::Replan),
            Err(StepError::Duplicate) => {
                conn.quietly("ROLLBACK").await;
                Err(StepError::Replan)
            }
            Err(StepError::Failed(Error::Statement { line, message, .. })) if dialect != Dialect::MySql => {
                conn.quietly("ROLLBACK").await;
                let origin = Origin::Migration { index: step.index, line };
                Err(self.fail_with(step, origin, message, Aftermath::RolledBack).into())
            }
            Err(StepError::Failed(Error::Statement { line, message, .. })) => {
                conn.quietly("ROLLBACK").await;
                let m = self.graph.migration(step.index);
                let failure = format!("{}:{line}: {message}", m.path);
                let tables = generator.tables();
                conn.quietly(&tables.set_failure(&m.revision, &failure)).await;
                let origin = Origin::Migration { index: step.index, line };
                Err(self.fail_with(step, origin, message, Aftermath::Dirty).into())
            }
            Err(StepError::Failed(e)) => {
                conn.quietly("ROLLBACK").await;
                Err(e.into())
            }
        }
    }

    fn fail_step(&self, step: Step, origin: &Origin, f: &Failure, aftermath: Aftermath) -> Error {
        if f.is_busy() {
            return Error::LockTimeout { dialect: Dialect::Sqlite, waited: self.options.lock_timeout, holder: None };
        }
        self.fail_with(step, *origin, f.message.clone(), aftermath)
    }

    fn fail_with(&self, step: Step, origin: Origin, message: String, aftermath: Aftermath) -> Error {
        let m = self.graph.migration(step.index);
        let line = match origin {
            Origin::Migration { line, .. } => line,
            Origin::Bookkeeping => m.up_line,
        };
        Error::Statement {
            revision: m.revision.clone(),
            direction: step.direction,
            path: m.path.clone(),
            line,
            message,
            aftermath,
        }
    }

    async fn run_whole(
        &self,
        conn: &mut Conn,
        generator: &Generator<'_>,
        plan: &Plan,
        mut digest: StateDigest,
    ) -> Result<Report, Error> {
        let dialect = conn.dialect();
        let begin = dialect.begin();
        let rows = if dialect == Dialect::Sqlite {
            conn.rows(&format!("{begin}; PRAGMA data_version")).await
        } else {
            conn.rows(begin).await
        };
        rows.map_err(|f| self.busy_or(f, "cannot start the run's transaction"))?;
        // Under BEGIN IMMEDIATE (or the advisory lock) nobody else can have written since the
        // state was read in a way that matters, but SQLite re-checks to be exact.
        if dialect == Dialect::Sqlite {
            let (rows, _) = match self.read_state_in_tx(conn, generator).await {
                Ok(x) => x,
                Err(e) => {
                    conn.quietly("ROLLBACK").await;
                    return Err(e);
                }
            };
            let judged = self.judge(&rows);
            let again = plan.steps.iter().all(|s| {
                judged.applied.contains(&self.graph.migration(s.index).revision) == (s.direction == Direction::Down)
            });
            if !again {
                conn.quietly("ROLLBACK").await;
                return Err(Error::Database {
                    context: "the history changed while this run was starting".to_owned(),
                    message: "another process migrated the database at the same time; run again".to_owned(),
                });
            }
        }
        let total = plan.steps.len();
        let mut report = Report::default();
        for (position, &step) in plan.steps.iter().enumerate() {
            self.started(step, position, total);
            let start = Instant::now();
            self.toggle(&mut digest, step);
            let batches = generator.step(step, Timing::Unknown, Some(&digest));
            for batch in &batches {
                let statements: Vec<&str> = batch.0.iter().map(|s| s.sql.as_str()).collect();
                if let Err(f) = conn.batch(&statements).await {
                    conn.quietly("ROLLBACK").await;
                    let origin = batch.0.get(f.index).map_or(Origin::Bookkeeping, |s| s.origin);
                    return Err(match origin {
                        Origin::Bookkeeping => {
                            f.database("cannot update the history and log tables; the whole run was rolled back")
                        }
                        origin => self.fail_step(step, &origin, &f, Aftermath::RolledBackAll),
                    });
                }
            }
            let duration = start.elapsed();
            report.steps.push(self.finished(step, duration));
        }
        if let Err(f) = conn.batch(&[dialect.commit()]).await {
            conn.quietly("ROLLBACK").await;
            return Err(f.database("cannot commit the run's transaction; nothing changed"));
        }
        Ok(report)
    }

    async fn read_state_in_tx(
        &self,
        conn: &mut Conn,
        generator: &Generator<'_>,
    ) -> Result<(Vec<Recorded>, String), Error> {
        let rows = conn
            .rows(&generator.tables().select_state())
            .await
            .map_err(|f| f.database("cannot read the history table"))?;
        Ok((recorded(rows), String::new()))
    }

    async fn resolve(
        &self,
        conn: &mut Conn,
        generator: &Generator<'_>,
        judged: &Judged,
        resolution: Resolution,
        version: &str,
    ) -> Result<Report, Error> {
        let Some(dirty) = &judged.dirty else { return Ok(Report::default()) };
        let tables = generator.tables();
        let d = conn.dialect();
        let rev = dirty.revision.as_str();
        let mut batch = vec![d.begin().to_owned()];
        // A dirty upgrade is not in the digest yet; a dirty downgrade still is.
        let mut after = judged.digest;
        let checksum = self.graph.get(rev).map(|m| hex(&m.checksum.0)).unwrap_or_default();
        match (resolution, dirty.direction) {
            (Resolution::MarkApplied, Direction::Up) => after.toggle(rev, &checksum, true),
            (Resolution::MarkUnapplied, Direction::Down) => after.toggle(rev, &checksum, false),
            _ => {}
        }
        match resolution {
            Resolution::MarkApplied => {
                batch.push(tables.clear_dirty(rev));
                batch.push(tables.log_from_history(rev, Action::MarkApplied, Some(&after)));
            }
            Resolution::MarkUnapplied => {
                batch.push(tables.log_from_history(rev, Action::MarkUnapplied, Some(&after)));
                batch.push(tables.delete(rev));
            }
        }
        batch.push(d.commit().to_owned());
        let batch = Batch(batch.into_iter().map(|sql| crate::sql::Stmt { sql, origin: Origin::Bookkeeping }).collect());
        let mut version = version.to_owned();
        self.write(conn, &batch, &mut version).await?;
        Ok(Report {
            steps: vec![StepReport { revision: rev.to_owned(), direction: dirty.direction, duration: Duration::ZERO }],
        })
    }
}

fn recorded(rows: TextRows) -> Vec<Recorded> {
    rows.into_iter()
        .map(|r| Recorded {
            revision: col(&r, 0).unwrap_or_default(),
            checksum: col(&r, 1).unwrap_or_default(),
            dirty: parse_direction(col(&r, 2).as_deref()),
            failure: col(&r, 3),
        })
        .collect()
}
