//! What a run executes, as data: every step becomes batches of statements (the migration's own SQL
//! with its file lines, plus the bookkeeping and transaction statements around it). The runtime
//! executes these batches and [`script`] prints them, so offline SQL is exactly what runs online.

use super::bookkeeping::{Action, StateDigest, Tables, Timing};
use super::{Dialect, Options, split};
use crate::graph::RevisionGraph;
use crate::migration::{Down, Migration};
use crate::plan::{Direction, Plan, Step};
use crate::text::escape_unsafe;

/// Where a statement comes from, so that a failure can name the file and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// History, log and transaction statements.
    Bookkeeping,
    /// A migration's own SQL.
    Migration {
        /// The revision's index in the graph.
        index: usize,
        /// The 1-based line of the statement in the migration's file.
        line: u32,
    },
}

/// One statement and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// The SQL, without a terminating `;`.
    pub sql: String,
    /// Where it comes from.
    pub origin: Origin,
}

impl Stmt {
    fn book(sql: impl Into<String>) -> Self {
        Self { sql: sql.into(), origin: Origin::Bookkeeping }
    }
}

/// How a step's statements run, which decides what a failure leaves behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// One transaction holding the SQL and its history and log rows (PostgreSQL, SQLite): a
    /// failure rolls all of it back.
    Transaction,
    /// `transaction: false`: each statement commits on its own, then the record is written in
    /// a transaction of its own. A failure after the first statement leaves the earlier ones.
    Autocommit,
    /// MySQL/MariaDB: one transaction that a DDL statement commits implicitly. The dirty mark is
    /// its first write, so it is committed together with the first DDL statement; a step whose
    /// transaction was never committed (data only, or failing before its DDL) rolls back whole.
    ImplicitCommit,
}

/// Everything one step runs, in order: `open` (transaction start and guard rows), `body` (the
/// migration's own statements, with their file lines) and `close` (history and log rows, commit).
/// The runtime executes exactly these statements and the offline script prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProgram {
    /// The step.
    pub step: Step,
    /// How its statements run.
    pub kind: StepKind,
    /// Statements before the migration's own.
    pub open: Vec<Stmt>,
    /// The migration's statements.
    pub body: Vec<Stmt>,
    /// Statements after them.
    pub close: Vec<Stmt>,
    /// For a step whose DDL may commit part of it (MySQL): a query that returns a row when the
    /// step's dirty mark was committed, i.e. when a failure rolled back only part of it. Run
    /// after the rollback; not part of the script.
    pub committed: Option<String>,
}

impl StepProgram {
    /// Every statement, in order.
    pub fn statements(&self) -> impl Iterator<Item = &Stmt> {
        self.open.iter().chain(&self.body).chain(&self.close)
    }
}

/// A whole run as data: the table definitions, the run's own transaction boundaries (only in
/// all-or-nothing mode) and every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// `CREATE … IF NOT EXISTS` of the schema and the tables (the online run sends these only
    /// when the tables are missing).
    pub create: Vec<Stmt>,
    /// The run's `BEGIN` in all-or-nothing mode; empty otherwise.
    pub begin: Vec<Stmt>,
    /// The steps.
    pub steps: Vec<StepProgram>,
    /// The run's closing statements in all-or-nothing mode (on SQLite, the run's log rows, then
    /// `COMMIT`); empty otherwise.
    pub end: Vec<Stmt>,
}

/// Turns plans into programs for one dialect and one configuration.
#[derive(Debug, Clone)]
pub struct Generator<'g> {
    graph: &'g RevisionGraph,
    tables: Tables,
    all_or_nothing: bool,
    /// The lock-table claim every step checks first, and the statement that checks it.
    fence: Option<(String, Stmt)>,
}

/// Why an all-or-nothing run of `plan` is impossible on `dialect`, or `None` when it is possible.
pub fn all_or_nothing_refusal(graph: &RevisionGraph, plan: &Plan, dialect: Dialect) -> Option<String> {
    if !dialect.transactional_ddl() {
        return Some(
            "MySQL and MariaDB commit every DDL statement implicitly, so a run cannot be undone as a whole; \
             run without all-or-nothing (each migration is recorded as it completes)"
                .to_owned(),
        );
    }
    plan.steps.iter().map(|s| graph.migration(s.index)).find(|m| !m.transaction).map(|m| {
        format!(
            "revision `{}` ({}) says `transaction: false`, so it cannot run inside the run's transaction; \
             run without all-or-nothing, or apply up to its parent first",
            m.revision, m.path
        )
    })
}

/// The PostgreSQL session setting that remembers when a `transaction: false` step started, so
/// that its record holds its duration without the client rewriting anything.
const PG_STEP_START: &str = "cargo_migrate.step_started";

impl<'g> Generator<'g> {
    /// A generator for `graph` on `dialect` with `options` (table names, who applies, mode).
    pub fn new(graph: &'g RevisionGraph, dialect: Dialect, options: &Options) -> Self {
        Self::with_tables(graph, Tables::new(dialect, options), options.all_or_nothing)
    }

    /// A generator over already built [`Tables`] (the runtime builds them once per run).
    pub fn with_tables(graph: &'g RevisionGraph, tables: Tables, all_or_nothing: bool) -> Self {
        Self { graph, tables, all_or_nothing, fence: None }
    }

    /// Opens every step (after its transaction begins, before the migration's own statements)
    /// with the lock table's check that `owner` still holds its claim ([`Tables::fence_lock`]).
    pub fn fenced(mut self, owner: &str) -> Self {
        let fence = Stmt::book(self.tables.fence_lock(owner));
        self.fence = Some((owner.to_owned(), fence));
        self
    }

    /// The claim's owner, when `sql` is the statement that checks it.
    pub fn fence_owner(&self, sql: &str) -> Option<&str> {
        self.fence.as_ref().filter(|(_, f)| f.sql == sql).map(|(owner, _)| owner.as_str())
    }

    /// The bookkeeping statements.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    fn dialect(&self) -> Dialect {
        self.tables.dialect()
    }

    /// The migration's own statements for `direction`, with their lines in its file.
    pub fn statements(&self, index: usize, direction: Direction) -> Vec<Stmt> {
        let m = self.graph.migration(index);
        let (sql, first_line) = match (direction, &m.down) {
            (Direction::Up, _) => (m.up.as_str(), m.up_line),
            (Direction::Down, Down::Sql { sql, line }) => (sql.as_str(), *line),
            (Direction::Down, _) => ("", 0),
        };
        split(sql, self.dialect())
            .into_iter()
            .map(|s| Stmt { sql: s.sql, origin: Origin::Migration { index, line: first_line + s.line - 1 } })
            .collect()
    }

    /// How step `index` runs on this dialect.
    pub fn kind(&self, index: usize) -> StepKind {
        if !self.dialect().transactional_ddl() {
            StepKind::ImplicitCommit
        } else if self.graph.migration(index).transaction {
            StepKind::Transaction
        } else {
            StepKind::Autocommit
        }
    }

    /// The program of a whole run along `plan`. `digests` yields, step by step, the digest of
    /// the applied state each step leaves (recorded in its log row), or `None` when unknown
    /// (offline).
    pub fn program(&self, plan: &Plan, mut digests: impl FnMut(Step) -> Option<StateDigest>) -> Program {
        let d = self.dialect();
        let whole = self.all_or_nothing;
        let mut last = None;
        let steps = plan
            .steps
            .iter()
            .map(|&s| {
                last = digests(s);
                self.step(s, last.as_ref())
            })
            .collect();
        let mut end = Vec::new();
        if self.logs_at_end() && !plan.is_empty() {
            let logged: Vec<_> = plan
                .steps
                .iter()
                .map(|s| {
                    let m = self.graph.migration(s.index);
                    let action = if s.direction == Direction::Up { Action::Upgrade } else { Action::Downgrade };
                    (m.revision.as_str(), action, m.checksum.to_hex())
                })
                .collect();
            end.push(Stmt::book(self.tables.log_run(&logged, last.as_ref())));
        }
        if whole {
            end.push(Stmt::book(d.commit()));
        }
        Program {
            create: self.tables.create().into_iter().map(Stmt::book).collect(),
            begin: if whole { vec![Stmt::book(d.begin())] } else { Vec::new() },
            steps,
            end,
        }
    }

    /// Whether the log rows of the run are written by one statement at its end rather than one
    /// per step: in a SQLite all-or-nothing run, where nothing is seen before the `COMMIT`, and
    /// where every statement a step sends costs a hand-off to the connection's thread and a parse
    /// against a schema the step's DDL just changed.
    fn logs_at_end(&self) -> bool {
        self.all_or_nothing && self.dialect() == Dialect::Sqlite
    }

    /// The program of one step; `after` is the digest of the applied state it leaves.
    pub fn step(&self, step: Step, after: Option<&StateDigest>) -> StepProgram {
        let m = self.graph.migration(step.index);
        let t = &self.tables;
        let d = self.dialect();
        let rev = m.revision.as_str();
        // The log row of a downgrade (the history row is about to go, so it carries the checksum).
        let log_down = |timing| t.insert_log(rev, Action::Downgrade, Some(&m.checksum.to_hex()), timing, after);
        let kind = self.kind(step.index);
        let body = self.statements(step.index, step.direction);
        let own_transaction = !self.all_or_nothing;
        let mut open = Vec::new();
        let mut close = Vec::new();
        let book = |sql: String| Stmt::book(sql);
        let begin = || Stmt::book(d.begin());
        let commit = || Stmt::book(d.commit());
        match (kind, step.direction) {
            (StepKind::ImplicitCommit, direction) => {
                // With autocommit off, the dirty mark opens the step's transaction; a DDL
                // statement commits it (and the mark) implicitly, and the statements after it
                // run in a new transaction that the final COMMIT closes, so the closing rows cost
                // one commit, not one each.
                open.push(book("SET autocommit = 0".to_owned()));
                match direction {
                    Direction::Up => {
                        open.push(book(t.insert_started(m, Some("up"))));
                        close.push(book(t.log_since_started(rev, after)));
                        close.push(book(t.finish_started(rev)));
                    }
                    Direction::Down => {
                        open.push(book(t.mark_dirty(rev, "down")));
                        close.push(book(log_down(Timing::Unknown)));
                        close.push(book(t.delete(rev)));
                    }
                }
                close.push(commit());
                close.push(book("SET autocommit = 1".to_owned()));
            }
            (StepKind::Autocommit, direction) => {
                // PostgreSQL keeps the start in a session setting. Behind a transaction pooler
                // the closing transaction may run on another server connection: there the
                // setting is missing or emptied by the last step that read it, and the duration
                // is NULL rather than wrong.
                let timing = if d == Dialect::Postgres {
                    open.push(book(format!("SELECT set_config('{PG_STEP_START}', clock_timestamp()::text, false)")));
                    Timing::Since(format!("NULLIF(current_setting('{PG_STEP_START}', true), '')::timestamptz"))
                } else {
                    Timing::Unknown
                };
                close.push(begin());
                match direction {
                    Direction::Up => {
                        close.push(book(t.insert_applied(m, timing.clone())));
                        close.push(book(t.log_upgrade(m, timing, after)));
                    }
                    Direction::Down => {
                        close.push(book(log_down(timing)));
                        close.push(book(t.delete(rev)));
                    }
                }
                if d == Dialect::Postgres {
                    close.push(book(format!("SELECT set_config('{PG_STEP_START}', '', false)")));
                }
                close.push(commit());
            }
            (StepKind::Transaction, direction) => {
                if own_transaction {
                    open.push(begin());
                }
                let sqlite = d == Dialect::Sqlite;
                match direction {
                    // SQLite: the history row goes first (a second writer that bypasses the run
                    // lock hits its primary key), and the log row measures the time since it.
                    Direction::Up if sqlite => {
                        open.push(book(t.insert_started(m, None)));
                        if !self.logs_at_end() {
                            close.push(book(t.log_since_started(rev, after)));
                        }
                    }
                    Direction::Down if self.logs_at_end() => close.push(book(t.delete(rev))),
                    // PostgreSQL: the history and log rows in one statement (one parse, one plan).
                    Direction::Up => close.push(book(
                        t.together(&t.insert_applied(m, Timing::Server), &t.log_upgrade(m, Timing::Server, after)),
                    )),
                    Direction::Down if sqlite => {
                        close.push(book(log_down(Timing::Unknown)));
                        close.push(book(t.delete(rev)));
                    }
                    Direction::Down => close.push(book(t.together(&t.delete(rev), &log_down(Timing::Server)))),
                }
                if own_transaction {
                    close.push(commit());
                }
            }
        }
        open.extend(self.fence.iter().map(|(_, f)| f.clone()));
        let committed = (kind == StepKind::ImplicitCommit).then(|| {
            let wanted = if step.direction == Direction::Up { "up" } else { "down" };
            t.select_dirty(rev, wanted)
        });
        StepProgram { step, kind, open, body, close, committed }
    }

    /// The statements that record the steps of a stamp plan (no migration SQL), in one
    /// transaction; `purge` first removes every record. `after` (the digest of the state it
    /// leaves) goes on the last log row.
    pub fn stamp(&self, plan: &Plan, purge: bool, after: Option<&StateDigest>) -> Vec<Stmt> {
        let t = &self.tables;
        let d = self.dialect();
        let mut out = vec![Stmt::book(d.begin())];
        if purge {
            let last = plan.steps.is_empty();
            out.push(Stmt::book(t.insert_log("*", Action::Purge, None, Timing::Unknown, after.filter(|_| last))));
            out.push(Stmt::book(t.delete_all()));
        }
        for (k, step) in plan.steps.iter().enumerate() {
            let m = self.graph.migration(step.index);
            let after = after.filter(|_| k + 1 == plan.steps.len());
            match step.direction {
                Direction::Up => {
                    out.push(Stmt::book(t.insert_applied(m, Timing::Unknown)));
                    out.push(Stmt::book(t.log_from_history(&m.revision, Action::Stamp, after)));
                }
                Direction::Down => {
                    out.push(Stmt::book(t.log_from_history(&m.revision, Action::Unstamp, after)));
                    out.push(Stmt::book(t.delete(&m.revision)));
                }
            }
        }
        out.push(Stmt::book(d.commit()));
        out
    }

    /// The statements that record the squash revision `squash` in place of the revisions it
    /// replaces (all recorded), logged with the digest of the state they leave.
    pub fn squash(&self, squash: &Migration, after: &StateDigest) -> Vec<Stmt> {
        let t = &self.tables;
        let d = self.dialect();
        vec![
            Stmt::book(d.begin()),
            Stmt::book(t.delete_each(&squash.replaces)),
            Stmt::book(t.insert_applied(squash, Timing::Unknown)),
            Stmt::book(t.log_from_history(&squash.revision, Action::Squash, Some(after))),
            Stmt::book(d.commit()),
        ]
    }

    /// The statements that record new checksums for edited, accepted revisions.
    pub fn accept(&self, revisions: &[&Migration], after: Option<&StateDigest>) -> Vec<Stmt> {
        let t = &self.tables;
        let d = self.dialect();
        let mut out = vec![Stmt::book(d.begin())];
        for (k, m) in revisions.iter().enumerate() {
            let after = after.filter(|_| k + 1 == revisions.len());
            out.push(Stmt::book(t.update_checksum(m)));
            out.push(Stmt::book(t.log_from_history(&m.revision, Action::AcceptChanged, after)));
        }
        out.push(Stmt::book(d.commit()));
        out
    }

    /// The statements that resolve a dirty revision: `mark_applied` clears its mark, otherwise
    /// its record goes; either way logged, with the digest of the state it leaves.
    pub fn resolve(&self, revision: &str, mark_applied: bool, after: &StateDigest) -> Vec<Stmt> {
        let t = &self.tables;
        let d = self.dialect();
        let mut out = vec![Stmt::book(d.begin())];
        if mark_applied {
            out.push(Stmt::book(t.clear_dirty(revision)));
            out.push(Stmt::book(t.log_from_history(revision, Action::MarkApplied, Some(after))));
        } else {
            out.push(Stmt::book(t.log_from_history(revision, Action::MarkUnapplied, Some(after))));
            out.push(Stmt::book(t.delete(revision)));
        }
        out.push(Stmt::book(d.commit()));
        out
    }

    fn header(&self, step: Step) -> String {
        let m = self.graph.migration(step.index);
        // The parser refuses control characters in header values; a `Migration` built by other
        // code is escaped here too, so no text can end this comment early in any client.
        let parents = escape_unsafe(&m.down_revisions.join(", ")).into_owned();
        let (revision, message) = (escape_unsafe(&m.revision), escape_unsafe(&m.message));
        match step.direction {
            Direction::Up => format!("-- Running upgrade {parents} -> {revision}: {message}\n"),
            Direction::Down => format!("-- Running downgrade {revision} -> {parents}: {message}\n"),
        }
    }

    /// The offline script of a run of `plan`: table creation, then every step.
    pub fn script(&self, plan: &Plan) -> String {
        let d = self.dialect();
        let whole = self.all_or_nothing && all_or_nothing_refusal(self.graph, plan, d).is_none();
        let this = Self { all_or_nothing: whole, ..self.clone() };
        let program = this.program(plan, |_| None);
        let mut out = format!("-- {} for {d}\n\n", super::bookkeeping::TOOL_VERSION);
        render(&mut out, &program.create, d);
        if self.all_or_nothing && !whole {
            let reason = all_or_nothing_refusal(self.graph, plan, d).unwrap_or_default();
            out.push_str(&format!("\n-- all-or-nothing is not possible: {}\n", escape_unsafe(&reason)));
        }
        if whole {
            out.push('\n');
            render(&mut out, &program.begin, d);
        }
        for step in &program.steps {
            out.push('\n');
            out.push_str(&this.header(step.step));
            render(&mut out, step.statements(), d);
        }
        if whole {
            out.push('\n');
            render(&mut out, &program.end, d);
        }
        out
    }

    /// The offline script of a stamp.
    pub fn stamp_script(&self, plan: &Plan, purge: bool) -> String {
        let d = self.dialect();
        let mut out = format!("-- {} for {d}\n\n", super::bookkeeping::TOOL_VERSION);
        render(&mut out, &self.tables.create().into_iter().map(Stmt::book).collect::<Vec<_>>(), d);
        out.push('\n');
        render(&mut out, &self.stamp(plan, purge, None), d);
        out
    }
}

/// Appends statements, each with its terminator.
fn render<'a>(out: &mut String, statements: impl IntoIterator<Item = &'a Stmt>, dialect: Dialect) {
    for stmt in statements {
        render_statement(out, &stmt.sql, dialect);
    }
}

/// Appends one statement and its terminator; on MySQL a statement with `;` inside is wrapped in
/// `DELIMITER` lines so that the `mysql` client sends it whole.
fn render_statement(out: &mut String, sql: &str, dialect: Dialect) {
    if dialect == Dialect::MySql && sql.contains(';') {
        let delim = mysql_delimiter(sql);
        out.push_str(&format!("DELIMITER {delim}\n{sql}{delim}\nDELIMITER ;\n"));
    } else {
        out.push_str(sql);
        out.push_str(";\n");
    }
}

/// A `DELIMITER` for the `mysql` client that appears nowhere in `sql`: a familiar one when
/// possible, otherwise `$$` followed by a number, which always exists (`sql` is finite).
fn mysql_delimiter(sql: &str) -> String {
    ["$$", "//", ";;"]
        .into_iter()
        .map(str::to_owned)
        .chain((1..).map(|n| format!("$${n}$$")))
        .find(|d| !sql.contains(d.as_str()))
        .unwrap_or_default()
}

/// The offline SQL of a run of `plan` (upgrade or downgrade): exactly the statements the runtime
/// executes, including table creation, history and log rows and transaction boundaries. Literal
/// timestamps are the database's clock; durations of steps outside a transaction are `NULL`.
///
/// ```
/// use migrate_core::{parse, RevisionGraph, Applied, Target, sql::{script, Dialect}, Options};
/// let m = parse("m/a.sql", "-- revision: aaaa\n-- down_revision:\n-- migrate:up\nCREATE TABLE t (x int);\n-- migrate:down\nDROP TABLE t;\n").unwrap();
/// let graph = RevisionGraph::new(vec![m]).unwrap();
/// let plan = graph.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
/// let sql = script(&graph, &plan, Dialect::Postgres, &Options::default());
/// assert!(sql.contains("BEGIN;\nCREATE TABLE t (x int);\nWITH recorded AS (INSERT INTO \"migrate_history\""));
/// assert!(sql.ends_with("COMMIT;\n"));
/// ```
pub fn script(graph: &RevisionGraph, plan: &Plan, dialect: Dialect, options: &Options) -> String {
    Generator::new(graph, dialect, options).script(plan)
}

/// The offline SQL of a stamp plan (records only), optionally purging every record first.
pub fn stamp_script(graph: &RevisionGraph, plan: &Plan, dialect: Dialect, options: &Options, purge: bool) -> String {
    Generator::new(graph, dialect, options).stamp_script(plan, purge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Applied, Target, parse};

    fn graph() -> RevisionGraph {
        let a = parse(
            "m/a.sql",
            "-- revision: aaaa\n-- down_revision:\n-- message: first\n-- migrate:up\nCREATE TABLE t (x int);\nCREATE INDEX i ON t (x);\n-- migrate:down\nDROP TABLE t;\n",
        );
        let b = parse(
            "m/b.sql",
            "-- revision: bbbb\n-- down_revision: aaaa\n-- transaction: false\n-- migrate:up\nCREATE INDEX CONCURRENTLY j ON t (x);\n-- migrate:down\nDROP INDEX j;\n",
        );
        RevisionGraph::new(vec![a.unwrap_or_else(|e| panic!("{e}")), b.unwrap_or_else(|e| panic!("{e}"))])
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn statements_carry_file_lines() {
        let g = graph();
        let generator = Generator::new(&g, Dialect::Postgres, &Options::default());
        let lines: Vec<_> = generator.statements(0, Direction::Up).iter().map(|s| s.origin).collect();
        assert_eq!(lines, [Origin::Migration { index: 0, line: 5 }, Origin::Migration { index: 0, line: 6 }]);
        assert_eq!(generator.statements(0, Direction::Down)[0].origin, Origin::Migration { index: 0, line: 8 });
    }

    fn sqls(program: &StepProgram) -> Vec<&str> {
        program.statements().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn a_transactional_step_holds_its_bookkeeping_and_its_transaction() {
        let g = graph();
        for d in [Dialect::Postgres, Dialect::Sqlite, Dialect::MySql] {
            let generator = Generator::new(&g, d, &Options::default());
            let program = generator.step(Step { index: 0, direction: Direction::Up }, None);
            let sqls = sqls(&program);
            assert_eq!(program.body.len(), 2, "{d}");
            if d != Dialect::MySql {
                assert_eq!(sqls[0], d.begin(), "{d}");
            }
            assert!(sqls.contains(&"CREATE TABLE t (x int)"), "{d}");
            let has = |table: &str| {
                sqls.iter().any(|s| {
                    s.contains(&format!("INSERT INTO \"{table}\"")) || s.contains(&format!("INSERT INTO `{table}`"))
                })
            };
            assert!(has("migrate_log") && has("migrate_history"), "{d}: {sqls:?}");
            assert!(sqls.contains(&"COMMIT"), "{d}");
        }
    }

    #[test]
    fn a_mysql_step_is_one_transaction_that_opens_with_its_dirty_mark() {
        let g = graph();
        let generator = Generator::new(&g, Dialect::MySql, &Options::default());
        let program = generator.step(Step { index: 0, direction: Direction::Up }, None);
        assert_eq!(program.kind, StepKind::ImplicitCommit);
        assert_eq!(program.open[0].sql, "SET autocommit = 0");
        assert!(program.open[1].sql.contains("'up'"), "{:?}", program.open);
        assert_eq!(program.close.last().map(|s| s.sql.as_str()), Some("SET autocommit = 1"));
        let down = generator.step(Step { index: 0, direction: Direction::Down }, None);
        assert!(down.open[1].sql.starts_with("UPDATE `migrate_history` SET dirty = 'down'"), "{:?}", down.open);
    }

    #[test]
    fn non_transactional_steps_record_after_their_statements_with_a_server_side_duration() {
        let g = graph();
        let generator = Generator::new(&g, Dialect::Postgres, &Options::default());
        let program = generator.step(Step { index: 1, direction: Direction::Up }, None);
        assert_eq!(program.kind, StepKind::Autocommit);
        assert!(program.open[0].sql.contains("set_config"), "{:?}", program.open);
        assert_eq!(program.body.len(), 1);
        assert_eq!(program.close[0].sql, "BEGIN");
        // Read NULL-safe, then emptied: behind a transaction pooler the closing transaction may
        // run on a server connection where the setting is missing or another step's.
        assert!(
            program.close[1].sql.contains("NULLIF(current_setting('cargo_migrate.step_started', true), '')"),
            "{}",
            program.close[1].sql
        );
        let n = program.close.len();
        assert_eq!(program.close[n - 2].sql, "SELECT set_config('cargo_migrate.step_started', '', false)");
        assert_eq!(program.close[n - 1].sql, "COMMIT");
    }

    #[test]
    fn all_or_nothing_is_refused_with_reasons() {
        let g = graph();
        let plan = g.plan_upgrade(&Applied::default(), &Target::Head).unwrap_or_else(|e| panic!("{e}"));
        assert!(all_or_nothing_refusal(&g, &plan, Dialect::MySql).is_some_and(|r| r.contains("implicitly")));
        assert!(all_or_nothing_refusal(&g, &plan, Dialect::Postgres).is_some_and(|r| r.contains("bbbb")));
        let first =
            g.plan_upgrade(&Applied::default(), &Target::Revision("aaaa".into())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all_or_nothing_refusal(&g, &first, Dialect::Sqlite), None);
        let sql = script(&g, &first, Dialect::Sqlite, &Options::default().all_or_nothing(true));
        assert_eq!(sql.matches("BEGIN IMMEDIATE;").count(), 1, "{sql}");
    }

    #[test]
    fn mysql_scripts_wrap_compound_statements() {
        let mut out = String::new();
        render_statement(&mut out, "CREATE PROCEDURE p() BEGIN SELECT 1; END", Dialect::MySql);
        assert_eq!(out, "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\n");
    }

    #[test]
    fn the_mysql_delimiter_never_occurs_in_the_statement() {
        assert_eq!(mysql_delimiter("SELECT 1; SELECT '$$ // ;;'"), "$$1$$");
        assert_eq!(mysql_delimiter("a; $$ // ;; $$1$$"), "$$2$$");
        assert_eq!(mysql_delimiter("a; //"), "$$");
    }

    #[test]
    fn script_comments_escape_what_could_end_them() {
        let mut g = graph();
        let mut ms: Vec<Migration> = (0..g.len()).map(|i| g.migration(i).clone()).collect();
        ms[0].message = "harmless\rDROP TABLE victim; \\! touch pwned".to_owned();
        g = RevisionGraph::new(ms).unwrap_or_else(|e| panic!("{e}"));
        let first =
            g.plan_upgrade(&Applied::default(), &Target::Revision("aaaa".into())).unwrap_or_else(|e| panic!("{e}"));
        let sql = script(&g, &first, Dialect::Postgres, &Options::default());
        let comments: Vec<&str> = sql.split('\n').filter(|l| l.starts_with("--")).collect();
        assert!(comments.iter().all(|l| !l.contains('\r')), "{comments:?}");
        assert!(sql.contains("-- Running upgrade  -> aaaa: harmless\\rDROP TABLE victim; \\! touch pwned\n"), "{sql}");
    }
}
