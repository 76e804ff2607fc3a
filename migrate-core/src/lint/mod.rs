//! The migration linter: the DDL that takes production down, found before it runs. Each
//! finding has a rule id, a severity, the file and line of its statement, why it is dangerous and
//! the safe way to write it. PostgreSQL's rules are squawk's (`postgres.rs`); MySQL/MariaDB's
//! and SQLite's are this crate's own, on a SQL parser (`mysql.rs`, `sqlite.rs`); a few hold for
//! every dialect (here). `-- lint: allow <rule-id> <reason>` on the line above a statement
//! suppresses that rule for it.

mod mysql;
mod postgres;
mod sqlite;

use std::fmt;

use crate::sql::{Dialect, split};
use crate::{Migration, RevisionGraph};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth a look; never fails `check`.
    Warning,
    /// Locks a table for long, loses data, or fails at run time; fails `check`.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule's id (what `-- lint: allow` names).
    pub rule: String,
    /// How bad it is.
    pub severity: Severity,
    /// The migration file.
    pub path: String,
    /// The 1-based line of the statement in the file.
    pub line: u32,
    /// The revision.
    pub revision: String,
    /// What is dangerous, and why.
    pub message: String,
    /// The safe way to write it.
    pub help: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}[{}]: {}\n  help: {}",
            self.path, self.line, self.severity, self.rule, self.message, self.help
        )
    }
}

/// A finding within one migration's up section, before it is placed in its file.
pub(crate) struct Hit {
    /// The 1-based line in the up section.
    line: u32,
    rule: String,
    severity: Severity,
    message: String,
    help: String,
}

impl Hit {
    pub(crate) fn new(
        line: u32,
        rule: &str,
        severity: Severity,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Self { line, rule: rule.to_owned(), severity, message: message.into(), help: help.into() }
    }
}

/// Lints the up section of every revision of `graph` for `dialect`, in topological order (the
/// revisions parsed on every core: parsing SQL is most of the time a long chain's check takes).
pub fn lint(graph: &RevisionGraph, dialect: Dialect) -> Vec<Finding> {
    let order = graph.topological_order().to_vec();
    crate::source::in_parallel(order, |i| lint_migration(graph.migration(i), dialect)).into_iter().flatten().collect()
}

/// Lints one revision's up section.
pub fn lint_migration(m: &Migration, dialect: Dialect) -> Vec<Finding> {
    let statements = split(&m.up, dialect);
    let mut hits = common(m, &statements, dialect);
    hits.extend(match dialect {
        Dialect::Postgres => postgres::lint(m),
        Dialect::MySql => mysql::lint(m, &statements),
        Dialect::Sqlite => sqlite::lint(m, &statements),
    });
    let lines: Vec<&str> = m.up.lines().collect();
    let mut out: Vec<Finding> = hits
        .into_iter()
        .filter_map(|h| {
            // The statement the hit is in: the last one starting at or before its line.
            let start = statements.iter().rev().find(|s| s.line <= h.line).map_or(h.line, |s| s.line);
            (!allowed(&lines, start, &h.rule)).then(|| Finding {
                rule: h.rule,
                severity: h.severity,
                path: m.path.clone(),
                line: m.up_line + start - 1,
                revision: m.revision.clone(),
                message: h.message,
                help: h.help,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.line, &a.rule).cmp(&(b.line, &b.rule)));
    out.dedup_by(|a, b| a.line == b.line && a.rule == b.rule);
    out
}

/// Whether `-- lint: allow <rule> <reason>` stands on the lines right above line `start`
/// (1-based) of the section.
fn allowed(lines: &[&str], start: u32, rule: &str) -> bool {
    let mut k = start as usize - 1;
    while k > 0 {
        k -= 1;
        let line = lines.get(k).map_or("", |l| l.trim());
        let Some(rest) = line.strip_prefix("--").map(str::trim).and_then(|r| r.strip_prefix("lint:")) else {
            return false;
        };
        let mut words = rest.split_whitespace();
        if words.next() == Some("allow") && words.next() == Some(rule) && words.next().is_some() {
            return true;
        }
    }
    false
}

/// The statements that cannot run inside a transaction, per dialect.
fn outside_transaction(sql: &str, dialect: Dialect) -> Option<&'static str> {
    let upper = sql.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    let starts = |w: &[&str]| words.len() >= w.len() && words[..w.len()] == *w;
    match dialect {
        Dialect::Postgres => {
            if (starts(&["CREATE", "INDEX", "CONCURRENTLY"]) || starts(&["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"]))
                || starts(&["DROP", "INDEX", "CONCURRENTLY"])
                || (starts(&["REINDEX"]) && words.contains(&"CONCURRENTLY"))
                || (starts(&["ALTER", "TABLE"]) && words.contains(&"DETACH") && words.contains(&"CONCURRENTLY"))
            {
                Some("a CONCURRENTLY statement")
            } else if starts(&["VACUUM"]) {
                Some("VACUUM")
            } else if starts(&["CREATE", "DATABASE"]) || starts(&["DROP", "DATABASE"]) {
                Some("CREATE/DROP DATABASE")
            } else if starts(&["ALTER", "SYSTEM"]) {
                Some("ALTER SYSTEM")
            } else {
                None
            }
        }
        Dialect::Sqlite => starts(&["VACUUM"]).then_some("VACUUM"),
        Dialect::MySql => None,
    }
}

/// The rules every dialect shares: drops (warnings; PostgreSQL's come from squawk), and
/// statements that cannot run in a transaction in a revision that runs in one (errors).
fn common(m: &Migration, statements: &[crate::sql::Statement], dialect: Dialect) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in statements {
        let upper = s.sql.to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        if m.transaction
            && dialect != Dialect::MySql
            && let Some(what) = outside_transaction(&s.sql, dialect)
        {
            hits.push(Hit::new(
                s.line,
                "no-transaction",
                Severity::Error,
                format!("{what} cannot run inside a transaction, and this revision runs in one: it fails at run time"),
                "add `-- transaction: false` to the revision's header, and keep such a statement alone in its revision",
            ));
        }
        if dialect == Dialect::Postgres {
            continue;
        }
        if words.len() >= 2 && words[0] == "DROP" && words[1] == "TABLE" {
            hits.push(Hit::new(
                s.line,
                "drop-table",
                Severity::Warning,
                "drops a table and every row in it; code still reading it fails",
                "stop using the table in a release before the one that drops it, and keep a backup (`upgrade --backup`)",
            ));
        }
        let drops_column =
            words.first() == Some(&"ALTER") && (upper.contains(" DROP COLUMN ") || drops_bare_column(&words));
        if drops_column {
            hits.push(Hit::new(
                s.line,
                "drop-column",
                Severity::Warning,
                "drops a column and its values; code still reading it fails",
                "stop using the column in a release before the one that drops it",
            ));
        }
    }
    hits
}

/// `ALTER TABLE t DROP c` (MySQL lets `COLUMN` out), not `DROP INDEX`/`CONSTRAINT`/….
fn drops_bare_column(words: &[&str]) -> bool {
    words.windows(2).any(|w| {
        w[0] == "DROP"
            && !matches!(
                w[1],
                "COLUMN"
                    | "INDEX"
                    | "KEY"
                    | "CONSTRAINT"
                    | "PRIMARY"
                    | "FOREIGN"
                    | "CHECK"
                    | "DEFAULT"
                    | "NOT"
                    | "PARTITION"
                    | "IF"
            )
    }) && words.get(1) == Some(&"TABLE")
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> u32 {
    text.get(..offset).map_or(1, |t| t.matches('\n').count() as u32 + 1)
}
