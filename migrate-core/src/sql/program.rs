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

/// Statements sent to the database together, in one round trip; the first failure stops the
/// rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch(pub Vec<Stmt>);

/// Turns plans into batches for one dialect and one configuration.
#[derive(Debug, Clone)]
pub struct Generator<'g> {
    graph: &'g RevisionGraph,
    tables: Tables,
    all_or_nothing: bool,
}

/// Why an all-or-nothing run of `plan` is impossible on `dialect`, or `None` when it is possible.
pub fn all_or_nothing_refusal(graph: &RevisionGraph, plan: &Plan, dialect: Dialect) -> Option<String> {
    if dialect == Dialect::MySql {
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

impl<'g> Generator<'g> {
    /// A generator for `graph` on `dialect` with `options` (table names, who applies, mode).
    pub fn new(graph: &'g RevisionGraph, dialect: Dialect, options: &Options) -> Self {
        Self { graph, tables: Tables::new(dialect, options), all_or_nothing: options.all_or_nothing }
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

    /// Whether `index` runs inside a transaction of its own (or the run's) in this dialect.
    pub fn in_transaction(&self, index: usize) -> bool {
        self.dialect().transactional_ddl() && self.graph.migration(index).transaction
    }

    /// The batches of one step. Steps that run outside a transaction (MySQL, `transaction:
    /// false`) come as one batch per statement followed by [`record_after`](Self::record_after)'s
    /// batch; `timing` is that batch's duration. `after` is the digest of the applied state the
    /// step leaves, recorded in its log row (`None` when unknown, e.g. offline).
    pub fn step(&self, step: Step, timing: Timing, after: Option<&StateDigest>) -> Vec<Batch> {
        let m = self.graph.migration(step.index);
        let t = &self.tables;
        let d = self.dialect();
        let stmts = self.statements(step.index, step.direction);
        let rev = m.revision.as_str();
        if d == Dialect::MySql {
            let mut batch = Vec::with_capacity(stmts.len() + 5);
            batch.push(Stmt::book(match step.direction {
                Direction::Up => t.insert_started(m, Some("up")),
                Direction::Down => t.mark_dirty(rev, "down"),
            }));
            batch.extend(stmts);
            // One commit for the closing rows (each autocommitted statement would flush the
            // redo log on its own); the dirty mark above has to be committed before the DDL.
            batch.push(Stmt::book(d.begin()));
            match step.direction {
                Direction::Up => {
                    batch.push(Stmt::book(t.log_since_started(rev, after)));
                    batch.push(Stmt::book(t.finish_started(rev)));
                }
                Direction::Down => {
                    batch.push(Stmt::book(t.insert_log(
                        rev,
                        Action::Downgrade,
                        Some(&m.checksum.to_hex()),
                        Timing::Unknown,
                        after,
                    )));
                    batch.push(Stmt::book(t.delete(rev)));
                }
            }
            batch.push(Stmt::book(d.commit()));
            return vec![Batch(batch)];
        }
        if !m.transaction {
            let mut out: Vec<Batch> = stmts.into_iter().map(|s| Batch(vec![s])).collect();
            out.push(self.record_after(step, timing, after));
            return out;
        }
        let mut batch = Vec::with_capacity(stmts.len() + 5);
        if !self.all_or_nothing {
            batch.push(Stmt::book(d.begin()));
        }
        let sqlite = d == Dialect::Sqlite;
        if sqlite && step.direction == Direction::Up {
            batch.push(Stmt::book(t.insert_started(m, None)));
        }
        batch.extend(stmts);
        let checksum = m.checksum.to_hex();
        match step.direction {
            // SQLite: the history row went first (as the guard against a concurrent run of the
            // same step); the log row measures the duration from it.
            Direction::Up if sqlite => batch.push(Stmt::book(t.log_since_started(rev, after))),
            // PostgreSQL: the history and log rows in one statement (one parse, one plan).
            Direction::Up => batch.push(Stmt::book(
                t.together(&t.insert_applied(m, Timing::Server), &t.log_upgrade(m, Timing::Server, after)),
            )),
            Direction::Down if sqlite => {
                batch.push(Stmt::book(t.insert_log(rev, Action::Downgrade, Some(&checksum), Timing::Unknown, after)));
                batch.push(Stmt::book(t.delete(rev)));
            }
            Direction::Down => batch.push(Stmt::book(t.together(
                &t.delete(rev),
                &t.insert_log(rev, Action::Downgrade, Some(&checksum), Timing::Server, after),
            ))),
        }
        if !self.all_or_nothing {
            batch.push(Stmt::book(d.commit()));
        }
        vec![Batch(batch)]
    }

    /// The bookkeeping batch that records a step run outside a transaction, once it succeeded.
    pub fn record_after(&self, step: Step, timing: Timing, after: Option<&StateDigest>) -> Batch {
        let m = self.graph.migration(step.index);
        let t = &self.tables;
        let d = self.dialect();
        let rev = m.revision.as_str();
        let mut batch = vec![Stmt::book(d.begin())];
        match step.direction {
            Direction::Up => {
                batch.push(Stmt::book(t.insert_applied(m, timing)));
                batch.push(Stmt::book(t.log_upgrade(m, timing, after)));
            }
            Direction::Down => {
                batch.push(Stmt::book(t.insert_log(rev, Action::Downgrade, Some(&m.checksum.to_hex()), timing, after)));
                batch.push(Stmt::book(t.delete(rev)));
            }
        }
        batch.push(Stmt::book(d.commit()));
        Batch(batch)
    }

    /// The batch that records the steps of a stamp plan (no migration SQL), in one transaction;
    /// `purge` first removes every record. `after` (the digest of the state it leaves) goes on
    /// the last log row.
    pub fn stamp(&self, plan: &Plan, purge: bool, after: Option<&StateDigest>) -> Batch {
        let t = &self.tables;
        let d = self.dialect();
        let mut batch = vec![Stmt::book(d.begin())];
        if purge {
            let last = plan.steps.is_empty();
            batch.push(Stmt::book(t.insert_log("*", Action::Purge, None, Timing::Unknown, after.filter(|_| last))));
            batch.push(Stmt::book(t.delete_all()));
        }
        for (k, step) in plan.steps.iter().enumerate() {
            let m = self.graph.migration(step.index);
            let after = after.filter(|_| k + 1 == plan.steps.len());
            match step.direction {
                Direction::Up => {
                    batch.push(Stmt::book(t.insert_applied(m, Timing::Unknown)));
                    batch.push(Stmt::book(t.log_from_history(&m.revision, Action::Stamp, after)));
                }
                Direction::Down => {
                    batch.push(Stmt::book(t.log_from_history(&m.revision, Action::Unstamp, after)));
                    batch.push(Stmt::book(t.delete(&m.revision)));
                }
            }
        }
        batch.push(Stmt::book(d.commit()));
        Batch(batch)
    }

    /// The batch that records new checksums for edited, accepted revisions.
    pub fn accept(&self, revisions: &[&Migration], after: Option<&StateDigest>) -> Batch {
        let t = &self.tables;
        let d = self.dialect();
        let mut batch = vec![Stmt::book(d.begin())];
        for (k, m) in revisions.iter().enumerate() {
            let after = after.filter(|_| k + 1 == revisions.len());
            batch.push(Stmt::book(t.update_checksum(m)));
            batch.push(Stmt::book(t.log_from_history(&m.revision, Action::AcceptChanged, after)));
        }
        batch.push(Stmt::book(d.commit()));
        Batch(batch)
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

    fn render(&self, out: &mut String, batch: &Batch) {
        for stmt in &batch.0 {
            render_statement(out, &stmt.sql, self.dialect());
        }
    }

    /// The offline script of a run of `plan`: table creation, then every step.
    pub fn script(&self, plan: &Plan) -> String {
        let d = self.dialect();
        let mut out = format!("-- {} for {d}\n\n", super::bookkeeping::TOOL_VERSION);
        for sql in self.tables.create() {
            render_statement(&mut out, &sql, d);
        }
        let whole = self.all_or_nothing && {
            match all_or_nothing_refusal(self.graph, plan, d) {
                Some(reason) => {
                    out.push_str(&format!("\n-- all-or-nothing is not possible: {}\n", reason.replace('\n', " ")));
                    false
                }
                None => true,
            }
        };
        let this = Self { all_or_nothing: whole, ..self.clone() };
        if whole {
            out.push('\n');
            render_statement(&mut out, d.begin(), d);
        }
        for &step in &plan.steps {
            out.push('\n');
            out.push_str(&this.header(step));
            for batch in this.step(step, Timing::Unknown, None) {
                this.render(&mut out, &batch);
            }
        }
        if whole {
            out.push('\n');
            render_statement(&mut out, d.commit(), d);
        }
        out
    }

    /// The offline script of a stamp.
    pub fn stamp_script(&self, plan: &Plan, purge: bool) -> String {
        let d = self.dialect();
        let mut out = format!("-- {} for {d}\n\n", super::bookkeeping::TOOL_VERSION);
        for sql in self.tables.create() {
            render_statement(&mut out, &sql, d);
        }
        out.push('\n');
        self.render(&mut out, &self.stamp(plan, purge, None));
        out
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

    #[test]
    fn a_transactional_step_is_one_batch_with_its_bookkeeping() {
        let g = graph();
        for d in [Dialect::Postgres, Dialect::Sqlite, Dialect::MySql] {
            let generator = Generator::new(&g, d, &Options::default());
            let batches = generator.step(Step { index: 0, direction: Direction::Up }, Timing::Unknown, None);
            assert_eq!(batches.len(), 1, "{d}");
            let sqls: Vec<&str> = batches[0].0.iter().map(|s| s.sql.as_str()).collect();
            assert!(sqls.contains(&"CREATE TABLE t (x int)"), "{d}");
            assert!(
                sqls.iter()
                    .any(|s| s.contains("INSERT INTO \"migrate_log\"") || s.contains("INSERT INTO `migrate_log`")),
                "{d}"
            );
            assert!(
                sqls.iter()
                    .any(|s| s.contains("INSERT INTO \"migrate_history\"")
                        || s.contains("INSERT INTO `migrate_history`")),
                "{d}"
            );
            assert_eq!(sqls.last(), Some(&"COMMIT"), "{d}");
            if d == Dialect::MySql {
                // The dirty mark goes first, outside the closing transaction.
                assert!(sqls[0].contains("'up'"), "{sqls:?}");
            }
        }
    }

    #[test]
    fn non_transactional_steps_run_statement_by_statement_then_record() {
        let g = graph();
        let generator = Generator::new(&g, Dialect::Postgres, &Options::default());
        let batches = generator.step(Step { index: 1, direction: Direction::Up }, Timing::Unknown, None);
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].0.len(), 1);
        assert_eq!(batches[1].0[0].sql, "BEGIN");
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
