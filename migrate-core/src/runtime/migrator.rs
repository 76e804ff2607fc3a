//! [`Migrator`]: the policy of a run — read, judge, gate, plan, loop — over any [`Backend`].
//! What differs per database lives in the backends; what a step runs comes from
//! [`crate::sql::Generator`] as a [`StepProgram`], executed as is.

use std::sync::{Arc, Mutex, OnceLock};

use super::backend::{Backend, busy, on_backend};
use super::backup::Backup;
use super::cancel::Cancel;
use super::db::Db;
use super::error::Error;
use super::io::Failure;
use super::lock::{Claim, Held};
use super::probe::LastState;
use super::report::{AppliedRevision, LogEntry, Report, Status};
use super::state;
use crate::graph::{HeadPolicy, RevisionGraph};
use crate::plan::{Applied, Plan};
use crate::sql::{Action, Dialect, Event, Generator, Options, StateDigest, Tables, Timing, all_or_nothing_refusal};
use crate::target::Target;

/// Applies a [`RevisionGraph`] to databases.
///
/// ```no_run
/// # async fn demo(pool: sqlx::SqlitePool, graph: migrate_core::RevisionGraph) -> Result<(), migrate_core::Error> {
/// use migrate_core::{Migrator, Options, Target};
/// let migrator = Migrator::new(graph).with_options(Options::default().applied_by("deploy"));
/// let report = migrator.upgrade(&pool, &Target::Head).await?;
/// println!("applied {} revision(s); now at {:?}", report.steps.len(), report.current);
/// migrator.check(&pool).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    pub(super) graph: Arc<RevisionGraph>,
    pub(super) options: Options,
    heads: HeadPolicy,
    pub(super) cancel: Option<Cancel>,
    pub(super) backup: Option<Backup>,
    /// Where scratch databases go (default: beside the database being worked on).
    pub(super) dev: Option<Db>,
    pub(super) cache: Arc<Cache>,
}

/// What a migrator computes once and keeps (shared by its clones).
#[derive(Debug, Default)]
pub(super) struct Cache {
    /// Who applies, asked of the environment once.
    who: OnceLock<String>,
    /// For each target asked so far: the digest and the current revisions of a database
    /// exactly there.
    pub(super) expected: Mutex<Vec<(Target, StateDigest, Vec<String>)>>,
    /// The schemas the migrations produce, per scratch server ([`Db::server_key`]) and set of
    /// applied revisions, once built (a fleet's drift checks build each once). Held while one
    /// is built, so that databases checked at once wait for it rather than build it each.
    pub(super) schemas: tokio::sync::Mutex<Vec<(String, Vec<String>, crate::schema::Schema)>>,
}

/// What a locked run does.
#[derive(Debug, Clone)]
pub(super) enum Op<'t> {
    Upgrade(&'t Target),
    Downgrade(&'t Target),
    Stamp(&'t Target, bool),
    Resolve(&'t str, super::error::Resolution),
    /// Revert exactly this revision (the stairway test).
    Revert(&'t str),
}

impl Migrator {
    /// A migrator for `graph` (owned or shared) with default [`Options`] and a single head.
    pub fn new(graph: impl Into<Arc<RevisionGraph>>) -> Self {
        Self {
            graph: graph.into(),
            options: Options::default(),
            heads: HeadPolicy::Single,
            cancel: None,
            backup: None,
            dev: None,
            cache: Arc::default(),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self.cache = Arc::default();
        self
    }

    /// Sets which heads the chain may have ([`check`](Self::check) and `head` use it).
    pub fn with_head_policy(mut self, heads: HeadPolicy) -> Self {
        self.heads = heads;
        self
    }

    /// Makes runs stop when `cancel` is cancelled: the statement running on the server is
    /// cancelled there, its step rolls back (or, on MySQL after DDL, stays dirty), the lock is
    /// released, and the run returns [`Error::Cancelled`] with what it had applied.
    pub fn with_cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Makes upgrades and downgrades that change something write `backup` first, under the
    /// lock, before any change; a backup that cannot be written stops the run with nothing
    /// changed. A run with nothing to do writes nothing.
    pub fn with_backup(mut self, backup: Backup) -> Self {
        self.backup = Some(backup);
        self
    }

    /// Builds scratch databases (for schemas and drift) on `dev`'s server instead of beside the
    /// database being worked on.
    pub fn with_dev_database(mut self, dev: impl Into<Db>) -> Self {
        self.dev = Some(dev.into());
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
        Generator::with_tables(&self.graph, self.tables(dialect), self.options.all_or_nothing).script(plan)
    }

    /// The generator of a locked run's steps, fenced by the lock table's claim when it holds one.
    pub(super) fn generator(&self, tables: &Tables, all_or_nothing: bool, claim: Option<&Claim>) -> Generator<'_> {
        let generator = Generator::with_tables(&self.graph, tables.clone(), all_or_nothing);
        match claim {
            Some(c) => generator.fenced(&c.owner),
            None => generator,
        }
    }

    /// The bookkeeping statements for `dialect`, with who applies asked of the environment once.
    pub(super) fn tables(&self, dialect: Dialect) -> Tables {
        let who = self.cache.who.get_or_init(|| self.options.who());
        Tables::with_who(dialect, &self.options, who)
    }

    /// Upgrades to `target`. Takes the lock, re-reads the state, refuses on dirty, unknown or
    /// changed revisions before changing anything, then applies each revision in its own
    /// transaction together with its history row (or all in one with `all_or_nothing`).
    ///
    /// When the database is already at the target this costs one query and takes no lock.
    ///
    /// On a SQLite database with a rollback journal (the default), the run holds the database
    /// from its first step to its end: the pool's other connections see the schema before or
    /// after it, and wait for it as for any write (their busy timeout). In WAL mode they read on.
    pub async fn upgrade(&self, db: impl Into<Db>, target: &Target) -> Result<Report, Error> {
        self.upgrade_from(db.into(), target, None).await
    }

    /// [`upgrade`](Self::upgrade) with the first read of its no-op check already done: `last`
    /// comes from [`Db::last_state`], which a caller can start before it has the migrations (the
    /// command-line tool reads the files while the database answers).
    pub async fn upgrade_after(&self, db: impl Into<Db>, target: &Target, last: LastState) -> Result<Report, Error> {
        self.upgrade_from(db.into(), target, Some(last)).await
    }

    async fn upgrade_from(&self, db: Db, target: &Target, last: Option<LastState>) -> Result<Report, Error> {
        if self.graph.is_empty() && matches!(target, Target::Head | Target::Heads) {
            // No migrations at all (a new project): nothing to apply, nothing to create.
            return Ok(Report::default());
        }
        if let Some(done) = self.probe(&db, target, last).await? {
            return Ok(done);
        }
        self.locked(&db, Op::Upgrade(target)).await
    }

    /// Downgrades to `target`; revisions that do not descend from it stay applied.
    /// A downgrade past an irreversible revision is refused before anything changes.
    pub async fn downgrade(&self, db: impl Into<Db>, target: &Target) -> Result<Report, Error> {
        self.locked(&db.into(), Op::Downgrade(target)).await
    }

    /// Reverts exactly `revision`, which nothing applied may build on.
    pub(super) async fn revert(&self, db: &Db, revision: &str) -> Result<Report, Error> {
        self.locked(db, Op::Revert(revision)).await
    }

    /// Records the database as being at `target` without running SQL; `purge` first removes
    /// every record (also of revisions this build does not know).
    pub async fn stamp(&self, db: impl Into<Db>, target: &Target, purge: bool) -> Result<Report, Error> {
        self.locked(&db.into(), Op::Stamp(target, purge)).await
    }

    /// Resolves the dirty revision `revision` (MySQL) after the operator has finished or undone
    /// it by hand. Refused with [`Error::NotDirty`] when `revision` is not the one dirty under
    /// the lock (someone resolved it, or another one failed since it was inspected).
    pub async fn resolve_dirty(
        &self,
        db: impl Into<Db>,
        revision: &str,
        resolution: super::error::Resolution,
    ) -> Result<Report, Error> {
        self.locked(&db.into(), Op::Resolve(revision, resolution)).await
    }

    /// Every history row, oldest first (empty when the table does not exist yet).
    pub async fn history(&self, db: impl Into<Db>) -> Result<Vec<AppliedRevision>, Error> {
        let db = db.into();
        let sql = self.tables(db.dialect()).select_history();
        Ok(state::history_rows(self.read(&db, &sql, "read the history table").await?))
    }

    /// Every log row, oldest first (empty when the table does not exist yet).
    pub async fn log(&self, db: impl Into<Db>) -> Result<Vec<LogEntry>, Error> {
        let db = db.into();
        let sql = self.tables(db.dialect()).select_log();
        Ok(state::log_rows(self.read(&db, &sql, "read the log table").await?))
    }

    /// The current revision(s): applied revisions nothing applied depends on.
    pub async fn current(&self, db: impl Into<Db>) -> Result<Vec<String>, Error> {
        Ok(self.status(db).await?.current)
    }

    /// Where the database stands: applied, current, pending, changed, missing and dirty.
    pub async fn status(&self, db: impl Into<Db>) -> Result<Status, Error> {
        let db = db.into();
        let sql = self.tables(db.dialect()).select_state();
        let rows = state::recorded(self.read(&db, &sql, "read the history table").await?);
        let view = state::squashed(&self.graph, rows)?;
        let graph = view.expanded.as_ref().unwrap_or(&self.graph);
        Ok(state::judge(graph, &view.rows).status(graph))
    }

    /// Succeeds when the database is exactly at the head(s) of this build (per the head
    /// policy), nothing applied was edited, nothing is dirty and nothing unknown is recorded.
    /// Read-only and lock-free, for health probes and CI gates.
    pub async fn check(&self, db: impl Into<Db>) -> Result<Status, Error> {
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
        Ok(status)
    }

    // ---- a locked run --------------------------------------------------------------------

    async fn locked(&self, db: &Db, op: Op<'_>) -> Result<Report, Error> {
        on_backend!(db, for_run, c => {
            let tables = self.tables(db.dialect());
            // Stamps and resolutions run no migration SQL.
            let runs_ddl = !matches!(op, Op::Stamp(..) | Op::Resolve(..));
            let result = match self.take_lock(&mut c, &tables, runs_ddl).await {
                Ok(Held::Session) => self.run(&mut c, &tables, op, None).await,
                Ok(Held::Table(claim)) => {
                    let result = tokio::select! {
                        result = self.run(&mut c, &tables, op, Some(&claim)) => result,
                        never = self.heartbeat(db, &tables, &claim) => match never {},
                    };
                    self.give_back(&mut c, &tables, &claim).await;
                    result
                }
                Err(e) => Err(e),
            };
            c.release().await;
            result
        })
    }

    async fn take_lock<B: Backend>(&self, conn: &mut B, tables: &Tables, runs_ddl: bool) -> Result<Held, Error> {
        // A standby or read-only server would refuse the first write, blamed on a migration, after
        // the lock was taken there: say what it is before anything.
        match conn.read_only().await {
            Ok(Some(why)) => return Err(Error::ReadOnly { dialect: B::DIALECT, why }),
            Ok(None) => {}
            Err(f) => return Err(f.database("cannot ask whether the server accepts writes")),
        }
        if runs_ddl {
            match conn.ddl_stays_local().await {
                Ok(Some(method)) => return Err(Error::RollingSchemaUpgrade { method }),
                Ok(None) => {}
                Err(f) => return Err(f.database("cannot ask how the server applies DDL")),
            }
        }
        let lock = self.acquire(conn, tables);
        match &self.cancel {
            None => lock.await,
            Some(cancel) => tokio::select! {
                biased;
                () = cancel.cancelled() => Err(Error::Cancelled { revision: None, aftermath: None, report: Box::default() }),
                result = lock => result,
            },
        }
    }

    /// Reads the state under the lock (creating the tables on first use), records fully applied
    /// squashed ranges as their squash revisions, and runs `op` — on the graph expanded back to
    /// the replaced files when the database is partway through a squashed range, recording the
    /// range as its squash once the run has finished it.
    async fn run<B: Backend>(
        &self,
        conn: &mut B,
        tables: &Tables,
        op: Op<'_>,
        claim: Option<&Claim>,
    ) -> Result<Report, Error> {
        let rows = self.read_state(conn, tables).await?;
        if let Op::Stamp(_, true) = op {
            // Every record goes: nothing to read through the squashes.
            return self.run_judged(conn, tables, op, claim, &rows).await;
        }
        let view = state::squashed(&self.graph, rows)?;
        self.record_squashes(conn, tables, claim, &view).await?;
        let Some(expanded) = view.expanded else {
            return self.run_judged(conn, tables, op, claim, &view.rows).await;
        };
        let mut report = self.on_graph(expanded).run_judged(conn, tables, op, claim, &view.rows).await?;
        let squashed = async {
            let view = state::squashed(&self.graph, self.read_state(conn, tables).await?)?;
            self.record_squashes(conn, tables, claim, &view).await?;
            Ok::<_, Error>(view)
        };
        // The run's steps are applied and recorded whatever happens to the squash records.
        let view = squashed.await.map_err(|e| e.stopping(report.clone()))?;
        if view.expanded.is_none() {
            report.current = state::current(&self.graph, &state::judge(&self.graph, &view.rows).applied);
        }
        Ok(report)
    }

    /// Replaces the records of each fully applied squashed range with its squash revision's,
    /// in one transaction, logged.
    async fn record_squashes<B: Backend>(
        &self,
        conn: &mut B,
        tables: &Tables,
        claim: Option<&Claim>,
        view: &state::Squashed,
    ) -> Result<(), Error> {
        if view.complete.is_empty() {
            return Ok(());
        }
        // Every log row gets the digest of the state the transaction leaves: the one others see.
        let after = state::judge(&self.graph, &view.rows).digest;
        let generator = self.generator(tables, false, claim);
        let statements: Vec<_> =
            view.complete.iter().flat_map(|&i| generator.squash(self.graph.migration(i), &after)).collect();
        self.write(conn, &statements).await?;
        for &i in &view.complete {
            let m = self.graph.migration(i);
            self.options.emit(Event::Squashed { revision: m.revision.clone(), replaced: m.replaces.clone() });
        }
        Ok(())
    }

    /// This migrator on another graph (the expanded one of a database partway through a squash).
    pub(super) fn on_graph(&self, graph: RevisionGraph) -> Migrator {
        let cache = Cache { who: self.cache.who.clone(), ..Cache::default() };
        Migrator { graph: Arc::new(graph), cache: Arc::new(cache), ..self.clone() }
    }

    /// Judges the recorded `rows`, refuses what must not be touched, plans once and runs the plan.
    async fn run_judged<B: Backend>(
        &self,
        conn: &mut B,
        tables: &Tables,
        op: Op<'_>,
        claim: Option<&Claim>,
        rows: &[state::Recorded],
    ) -> Result<Report, Error> {
        let judged = state::judge(&self.graph, rows);
        if claim.is_some_and(|c| c.previous.is_some()) {
            // The takeover goes into the log, with the state as it stands (so the no-op check
            // still reads one row).
            let row = tables.insert_log("*", Action::LockTakeover, None, Timing::Unknown, Some(&judged.digest));
            conn.batch(&[row.as_str()]).await.map_err(|f| self.busy_or::<B>(f, "cannot log the lock takeover"))?;
        }
        let generator = self.generator(tables, false, claim);
        if let Op::Resolve(expected, resolution) = op {
            return self.resolve(conn, &generator, judged, expected, resolution).await;
        }
        let purge = matches!(op, Op::Stamp(_, true));
        judged.gate(&self.options.accept_changed, purge)?;
        let plan = match op {
            Op::Upgrade(t) => self.graph.plan_upgrade(&judged.applied, t)?,
            Op::Downgrade(t) => self.graph.plan_downgrade(&judged.applied, t)?,
            Op::Stamp(t, true) => self.graph.plan_stamp(&Applied::default(), t)?,
            Op::Stamp(t, false) => self.graph.plan_stamp(&judged.applied, t)?,
            Op::Resolve(..) => Plan::default(),
            Op::Revert(id) => self.graph.plan_revert(&judged.applied, id)?,
        };
        let stamp = matches!(op, Op::Stamp(..));
        let whole = self.options.all_or_nothing && !stamp && !plan.is_empty();
        if whole && let Some(reason) = all_or_nothing_refusal(&self.graph, &plan, B::DIALECT) {
            return Err(Error::AllOrNothingRefused { reason });
        }
        if !stamp {
            self.check_packets(conn, &generator, &plan).await?;
        }
        let mut digest = if purge { StateDigest::default() } else { judged.digest };
        let applied = if purge { Applied::default() } else { judged.applied.clone() };
        // The backup comes before the first write, an accepted checksum included.
        let backup = match &self.backup {
            Some(b) if !stamp && !plan.is_empty() => {
                Some(self.write_backup(conn, b, &state::current(&self.graph, &applied)).await?)
            }
            _ => None,
        };
        let accepted = match self.accept_changed(conn, &generator, &judged, &mut digest).await {
            Ok(accepted) => accepted,
            // Nothing was recorded, but the backup was written: the error says where.
            Err(e) => {
                let current = state::current(&self.graph, &applied);
                return Err(e.stopping(Report { current, backup, ..Report::default() }));
            }
        };
        let run = match op {
            Op::Stamp(_, purge) => self.stamp_plan(conn, &generator, &plan, purge, digest, applied).await,
            _ if whole => self.run_whole(conn, tables, &plan, (digest, applied), claim, backup).await,
            _ => self.run_each(conn, &generator, &plan, (digest, applied), claim, backup).await,
        };
        // What was accepted stays recorded, whatever the steps after it did: say so either way.
        match run {
            Ok(report) => Ok(Report { accepted, ..report }),
            Err(e) => Err(e.with_accepted(accepted)),
        }
    }

    /// A failed bookkeeping statement as an error: SQLite's busy timeout is the lock error it
    /// means, anything else a database error saying what was being done.
    pub(super) fn busy_or<B: Backend>(&self, f: Failure, context: &str) -> Error {
        busy(&f, B::DIALECT, self.options.lock_timeout).unwrap_or_else(|| f.database(context))
    }

    /// Writes the backup of a database at `at`, returning its path.
    async fn write_backup<B: Backend>(
        &self,
        conn: &mut B,
        backup: &Backup,
        at: &[String],
    ) -> Result<std::path::PathBuf, Error> {
        let path = backup.reserve(B::DIALECT, at).map_err(|message| Error::Backup {
            path: backup.dir().display().to_string(),
            message,
            tool_missing: false,
        })?;
        if let Err(f) = conn.backup(backup.url(), &path).await {
            // The name was taken empty; a backup that failed leaves nothing behind.
            let _ = std::fs::remove_file(&path);
            return Err(Error::Backup {
                path: path.display().to_string(),
                message: f.message,
                tool_missing: f.tool_missing,
            });
        }
        Ok(path)
    }
}

#[cfg(test)]
mod send_tests {
    use super::*;

    fn assert_send<T: Send>(_: T) {}

    /// Every public future is `Send`, so apps can spawn them on any executor.
    #[allow(dead_code)]
    fn futures_are_send(m: &Migrator, db: &Db, t: &Target, e: &crate::Migrations) {
        assert_send(m.upgrade(db, t));
        assert_send(m.downgrade(db, t));
        assert_send(m.stamp(db, t, false));
        assert_send(m.status(db));
        assert_send(m.check(db));
        assert_send(m.history(db));
        assert_send(m.log(db));
        assert_send(m.resolve_dirty(db, "x", crate::Resolution::MarkApplied));
        assert_send(e.upgrade(db));
        assert_send(Db::connect("sqlite::memory:"));
    }
}
