//! The history and log tables: their definitions and every statement that reads or writes them,
//! with names quoted and values written as literals for the dialect.

use std::fmt;

use sha2::{Digest, Sha256};

use super::{Dialect, Options};
use crate::migration::Migration;

/// The version recorded with every row.
pub const TOOL_VERSION: &str = concat!("cargo-migrate ", env!("CARGO_PKG_VERSION"));

/// What a log row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A revision's upgrade ran.
    Upgrade,
    /// A revision's downgrade ran.
    Downgrade,
    /// A revision was recorded as applied without running SQL.
    Stamp,
    /// A revision's record was removed without running SQL.
    Unstamp,
    /// Every record was removed (`stamp --purge`).
    Purge,
    /// An edited file's new checksum was recorded.
    AcceptChanged,
    /// A dirty revision was declared applied.
    MarkApplied,
    /// A dirty revision was declared not applied.
    MarkUnapplied,
    /// The lock table's claim of a run that had stopped heartbeating was taken over.
    LockTakeover,
    /// The records of a fully applied squashed range were replaced by its squash revision's.
    Squash,
}

impl Action {
    /// The word stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upgrade => "upgrade",
            Self::Downgrade => "downgrade",
            Self::Stamp => "stamp",
            Self::Unstamp => "unstamp",
            Self::Purge => "purge",
            Self::AcceptChanged => "accept_changed",
            Self::MarkApplied => "mark_applied",
            Self::MarkUnapplied => "mark_unapplied",
            Self::LockTakeover => "lock_takeover",
            Self::Squash => "squash",
        }
    }
}

/// An order-independent fingerprint of a set of applied revisions (each with its checksum):
/// the count and the XOR of `sha256("revision:checksum")`. Every log row records the digest of
/// the state it leaves, so a run with nothing to do can confirm that with one tiny query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateDigest {
    count: u64,
    xor: [u8; 32],
}

impl StateDigest {
    /// The digest of a set of `(revision, checksum hex)` pairs.
    pub fn of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut d = Self::default();
        for (revision, checksum) in pairs {
            d.toggle(revision, checksum, true);
        }
        d
    }

    /// Adds (`add`) or removes a revision.
    pub fn toggle(&mut self, revision: &str, checksum: &str, add: bool) {
        let h = Sha256::new()
            .chain_update(revision)
            .chain_update(":")
            .chain_update(checksum.to_ascii_lowercase())
            .finalize();
        for (x, y) in self.xor.iter_mut().zip(h.iter()) {
            *x ^= y;
        }
        self.count = if add { self.count + 1 } else { self.count.saturating_sub(1) };
    }
}

impl fmt::Display for StateDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.count, hex(&self.xor))
    }
}

/// Lowercase hexadecimal, without the formatting machinery (it runs for every revision).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// How long a step took, as far as the statement recording it can know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timing {
    /// Computed by the database from the time the step's statements arrived.
    Server,
    /// Computed by the database from the time a SQL expression holds (e.g. a session setting
    /// written when the step started).
    Since(String),
    /// Not known.
    Unknown,
}

/// The statements of the history and log tables for one dialect and one configuration.
#[derive(Debug, Clone)]
pub struct Tables {
    pub(super) dialect: Dialect,
    pub(super) schema: Option<String>,
    history: String,
    log: String,
    pub(super) lock: String,
    who: String,
}

impl Tables {
    /// The statements for `dialect` with the names and the `applied_by` value of `options`.
    pub fn new(dialect: Dialect, options: &Options) -> Self {
        Self::with_who(dialect, options, &options.who())
    }

    /// The statements for `dialect` with the names of `options`, recording `who` as who applies.
    pub fn with_who(dialect: Dialect, options: &Options, who: &str) -> Self {
        let schema = options.schema.clone().filter(|_| dialect == Dialect::Postgres);
        let qualify = |name: &str| match &schema {
            Some(s) => format!("{}.{}", dialect.quote_ident(s), dialect.quote_ident(name)),
            None => dialect.quote_ident(name),
        };
        Self {
            dialect,
            history: qualify(&options.history_table),
            log: qualify(&options.log_table),
            lock: qualify(&format!("{}_lock", options.history_table)),
            schema,
            who: dialect.quote_str(who),
        }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The quoted (and qualified) history table name.
    pub fn history_table(&self) -> &str {
        &self.history
    }

    /// The quoted (and qualified) log table name.
    pub fn log_table(&self) -> &str {
        &self.log
    }

    /// `CREATE … IF NOT EXISTS` for the schema (PostgreSQL) and both tables.
    pub fn create(&self) -> Vec<String> {
        let (text, key, ts, bigint, id, tail) = match self.dialect {
            Dialect::Sqlite => ("TEXT", "TEXT", "TEXT", "INTEGER", "INTEGER PRIMARY KEY", ""),
            Dialect::Postgres => ("TEXT", "VARCHAR(255)", "TIMESTAMPTZ", "BIGINT", "BIGSERIAL PRIMARY KEY", ""),
            Dialect::MySql => (
                "TEXT",
                "VARCHAR(255)",
                "DATETIME(6)",
                "BIGINT",
                "BIGINT AUTO_INCREMENT PRIMARY KEY",
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            ),
        };
        // MySQL keeps started-but-unfinished revisions; the no-op check looks them up by index.
        let dirty_index = if self.dialect == Dialect::MySql { ",\n    INDEX (dirty)" } else { "" };
        let mut out = Vec::new();
        if let Some(schema) = &self.schema {
            out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", self.dialect.quote_ident(schema)));
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    revision {key} NOT NULL PRIMARY KEY,\n    parents {text} NOT NULL,\n    \
             message {text} NOT NULL,\n    checksum {key} NOT NULL,\n    applied_at {ts} NOT NULL,\n    \
             duration_ms {bigint},\n    applied_by {text} NOT NULL,\n    tool_version {text} NOT NULL,\n    \
             dirty {key},\n    failure {text}{dirty_index}\n){tail}",
            self.history
        ));
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    id {id},\n    revision {key} NOT NULL,\n    action {key} NOT NULL,\n    \
             checksum {key},\n    logged_at {ts} NOT NULL,\n    duration_ms {bigint},\n    applied_by {text} NOT NULL,\n    \
             tool_version {text} NOT NULL,\n    applied_digest {key}\n){tail}",
            self.log
        ));
        out
    }

    /// The applied state in one query: `revision, checksum, dirty, failure`.
    pub fn select_state(&self) -> String {
        format!("SELECT revision, checksum, dirty, failure FROM {}", self.history)
    }

    fn ts_text(&self, column: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"),
            Dialect::MySql => format!("CAST(DATE_FORMAT({column}, '%Y-%m-%dT%H:%i:%s.%fZ') AS CHAR)"),
        }
    }

    /// The digest of the applied state that the newest log row left (and, on MySQL, how many
    /// revisions are dirty): the whole lock-free check of a run with nothing to do.
    pub fn select_last_state(&self) -> String {
        let last = format!("SELECT applied_digest FROM {} ORDER BY id DESC LIMIT 1", self.log);
        match self.dialect {
            Dialect::MySql => {
                format!("SELECT ({last}), (SELECT count(*) FROM {} WHERE dirty IS NOT NULL)", self.history)
            }
            _ => format!("SELECT ({last}), 0"),
        }
    }

    /// The applied state folded into one row, for the lock-free check of a run with nothing to
    /// do: `count, dirty count, revision:checksum,…` (in no particular order). On MySQL the
    /// list may be cut at `group_concat_max_len`; the count tells.
    pub fn select_digest(&self) -> String {
        let list = match self.dialect {
            Dialect::Sqlite => "group_concat(revision || ':' || checksum, ',')",
            Dialect::Postgres => "string_agg(revision || ':' || checksum, ',')",
            Dialect::MySql => "GROUP_CONCAT(revision, ':', checksum SEPARATOR ',')",
        };
        format!("SELECT count(*), count(dirty), {list} FROM {}", self.history)
    }

    /// Every history row: `revision, parents, message, checksum, applied_at, duration_ms,
    /// applied_by, tool_version, dirty, failure`, oldest first.
    pub fn select_history(&self) -> String {
        // SQLite keeps a step's duration in its log row (one statement fewer per step).
        let duration = match self.dialect {
            Dialect::Sqlite => format!(
                "COALESCE(h.duration_ms, (SELECT l.duration_ms FROM {} l WHERE l.revision = h.revision \
                 AND l.action = 'upgrade' ORDER BY l.id DESC LIMIT 1))",
                self.log
            ),
            _ => "h.duration_ms".to_owned(),
        };
        format!(
            "SELECT h.revision, h.parents, h.message, h.checksum, {} AS applied_at, {duration}, h.applied_by, \
             h.tool_version, h.dirty, h.failure FROM {} h ORDER BY h.applied_at, h.revision",
            self.ts_text("h.applied_at"),
            self.history
        )
    }

    /// Appends the log row of an upgrade whose history row was written when it started, with
    /// the time since then as its duration (SQLite, MySQL).
    pub fn log_since_started(&self, revision: &str, after: Option<&StateDigest>) -> String {
        format!(
            // Every column in the table's order, none named (as `values`); a NULL id is the next.
            "INSERT INTO {} SELECT NULL, revision, {}, checksum, {}, {}, {}, {}, {} FROM {} WHERE revision = {}",
            self.log,
            self.dialect.quote_str(Action::Upgrade.as_str()),
            self.dialect.now(),
            self.duration_since("applied_at"),
            self.who,
            self.dialect.quote_str(TOOL_VERSION),
            self.digest(after),
            self.history,
            self.dialect.quote_str(revision),
        )
    }

    /// Every log row: `id, revision, action, checksum, logged_at, duration_ms, applied_by,
    /// tool_version`, oldest first.
    pub fn select_log(&self) -> String {
        format!(
            "SELECT id, revision, action, checksum, {} AS logged_at, duration_ms, applied_by, tool_version FROM {} ORDER BY id",
            self.ts_text("logged_at"),
            self.log
        )
    }

    fn duration_since(&self, start: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("CAST(ROUND((julianday('now') - julianday({start})) * 86400000) AS INTEGER)"),
            Dialect::Postgres => format!("CAST(EXTRACT(EPOCH FROM clock_timestamp() - {start}) * 1000 AS BIGINT)"),
            Dialect::MySql => format!("TIMESTAMPDIFF(MICROSECOND, {start}, UTC_TIMESTAMP(6)) DIV 1000"),
        }
    }

    /// The expression of a duration, when it can be known.
    fn timing(&self, timing: &Timing) -> Option<String> {
        match timing {
            Timing::Server => Some(self.duration_since(self.dialect.now())),
            Timing::Since(start) => Some(self.duration_since(start)),
            Timing::Unknown => None,
        }
    }

    fn values(&self, m: &Migration, duration: Option<&str>, dirty: Option<&str>) -> String {
        let d = self.dialect;
        // Every column in the table's order (`create`), none named: this statement is sent for
        // every revision, and SQLite spends as long on a column list as on the values.
        format!(
            "INSERT INTO {} VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, NULL)",
            self.history,
            d.quote_str(&m.revision),
            d.quote_str(&m.down_revisions.join(",")),
            d.quote_str(&m.message),
            d.quote_str(&m.checksum.to_hex()),
            d.now(),
            duration.unwrap_or("NULL"),
            self.who,
            d.quote_str(TOOL_VERSION),
            d.quote_opt(dirty),
        )
    }

    /// Records `m` as applied, with its duration per `timing`.
    pub fn insert_applied(&self, m: &Migration, timing: Timing) -> String {
        self.values(m, self.timing(&timing).as_deref(), None)
    }

    /// Records `m` as started (the first statement of a step that fills in its duration at the
    /// end); `dirty` is the direction in progress on MySQL, `None` elsewhere.
    pub fn insert_started(&self, m: &Migration, dirty: Option<&str>) -> String {
        self.values(m, None, dirty)
    }

    /// Marks a recorded revision as being downgraded (MySQL).
    pub fn mark_dirty(&self, revision: &str, direction: &str) -> String {
        format!(
            "UPDATE {} SET dirty = {} WHERE revision = {}",
            self.history,
            self.dialect.quote_str(direction),
            self.dialect.quote_str(revision)
        )
    }

    /// Completes a row written by [`insert_started`](Self::insert_started): clean, with its duration.
    pub fn finish_started(&self, revision: &str) -> String {
        format!(
            "UPDATE {} SET dirty = NULL, failure = NULL, duration_ms = {} WHERE revision = {}",
            self.history,
            self.duration_since("applied_at"),
            self.dialect.quote_str(revision)
        )
    }

    /// A row when `revision` is recorded with `dirty = direction`.
    pub fn select_dirty(&self, revision: &str, direction: &str) -> String {
        format!(
            "SELECT revision FROM {} WHERE revision = {} AND dirty = {}",
            self.history,
            self.dialect.quote_str(revision),
            self.dialect.quote_str(direction)
        )
    }

    /// Records why a dirty revision failed.
    pub fn set_failure(&self, revision: &str, failure: &str) -> String {
        format!(
            "UPDATE {} SET failure = {} WHERE revision = {}",
            self.history,
            self.dialect.quote_str(failure),
            self.dialect.quote_str(revision)
        )
    }

    /// Clears a revision's dirty mark.
    pub fn clear_dirty(&self, revision: &str) -> String {
        format!(
            "UPDATE {} SET dirty = NULL, failure = NULL WHERE revision = {}",
            self.history,
            self.dialect.quote_str(revision)
        )
    }

    /// Replaces a revision's recorded checksum.
    pub fn update_checksum(&self, m: &Migration) -> String {
        format!(
            "UPDATE {} SET checksum = {} WHERE revision = {}",
            self.history,
            self.dialect.quote_str(&m.checksum.to_hex()),
            self.dialect.quote_str(&m.revision)
        )
    }

    /// Two writes as one PostgreSQL statement (`first` in a data-modifying `WITH`, then
    /// `second`), which costs one parse and one plan instead of two.
    pub fn together(&self, first: &str, second: &str) -> String {
        format!("WITH recorded AS ({first}) {second}")
    }

    /// Removes a revision's record.
    pub fn delete(&self, revision: &str) -> String {
        format!("DELETE FROM {} WHERE revision = {}", self.history, self.dialect.quote_str(revision))
    }

    /// Removes the records of `revisions`.
    pub fn delete_each(&self, revisions: &[String]) -> String {
        let list: Vec<String> = revisions.iter().map(|r| self.dialect.quote_str(r)).collect();
        format!("DELETE FROM {} WHERE revision IN ({})", self.history, list.join(", "))
    }

    /// Removes every record.
    pub fn delete_all(&self) -> String {
        format!("DELETE FROM {}", self.history)
    }

    /// Appends a log row for `revision` copied from its history row (which must exist), with
    /// the duration recorded there.
    pub fn log_from_history(&self, revision: &str, action: Action, after: Option<&StateDigest>) -> String {
        format!(
            "INSERT INTO {} (revision, action, checksum, logged_at, duration_ms, applied_by, tool_version, applied_digest) \
             SELECT revision, {}, checksum, {}, duration_ms, {}, {}, {} FROM {} WHERE revision = {}",
            self.log,
            self.dialect.quote_str(action.as_str()),
            self.dialect.now(),
            self.who,
            self.dialect.quote_str(TOOL_VERSION),
            self.digest(after),
            self.history,
            self.dialect.quote_str(revision),
        )
    }

    fn digest(&self, after: Option<&StateDigest>) -> String {
        self.dialect.quote_opt(after.map(ToString::to_string).as_deref())
    }

    /// Appends the log row of an upgrade of `m` that was just recorded. PostgreSQL writes the
    /// values directly (the duration from the statement's start); the others copy the history
    /// row, which holds the duration.
    pub fn log_upgrade(&self, m: &Migration, timing: Timing, after: Option<&StateDigest>) -> String {
        match self.dialect {
            Dialect::Postgres => {
                self.insert_log(&m.revision, Action::Upgrade, Some(&m.checksum.to_hex()), timing, after)
            }
            _ => self.log_from_history(&m.revision, Action::Upgrade, after),
        }
    }

    /// The log rows of a whole all-or-nothing SQLite run, in one statement before its `COMMIT`
    /// instead of one per step: `steps` are `(revision, action, checksum)` in run order.
    ///
    /// An upgrade's duration runs from its history row's `applied_at` (written as the step
    /// began) to the start of the next step, or to now for the last one; a downgrade's is
    /// unknown, as it is in a step of its own. Only the state the run leaves is ever seen, so
    /// `after`, its digest, goes on the last row alone.
    pub fn log_run(&self, steps: &[(&str, Action, String)], after: Option<&StateDigest>) -> String {
        let d = self.dialect;
        let mut run = String::with_capacity(steps.len() * 110);
        for (k, (revision, action, checksum)) in steps.iter().enumerate() {
            run.push_str(if k > 0 { ",\n    " } else { "\n    " });
            let digest = if k + 1 == steps.len() { self.digest(after) } else { "NULL".to_owned() };
            run.push_str(&format!(
                "({k}, {}, {}, {}, {digest})",
                d.quote_str(revision),
                d.quote_str(action.as_str()),
                d.quote_str(checksum)
            ));
        }
        let now = d.now();
        format!(
            "WITH run (k, revision, action, checksum, applied_digest) AS (VALUES{run}\n),\n\
             timed AS (\n    SELECT run.*, h.applied_at AS started, LEAD(h.applied_at, 1, {now}) OVER (ORDER BY run.k) AS ended\n    \
             FROM run LEFT JOIN {history} h ON run.action = {up} AND h.revision = run.revision\n)\n\
             INSERT INTO {log} (revision, action, checksum, logged_at, duration_ms, applied_by, tool_version, applied_digest)\n\
             SELECT revision, action, checksum, COALESCE(ended, {now}),\n    \
             CAST(ROUND((julianday(ended) - julianday(started)) * 86400000) AS INTEGER), {who}, {tool}, applied_digest\n\
             FROM timed ORDER BY k",
            history = self.history,
            up = d.quote_str(Action::Upgrade.as_str()),
            log = self.log,
            who = self.who,
            tool = d.quote_str(TOOL_VERSION),
        )
    }

    /// Appends a log row with explicit values.
    pub fn insert_log(
        &self,
        revision: &str,
        action: Action,
        checksum: Option<&str>,
        timing: Timing,
        after: Option<&StateDigest>,
    ) -> String {
        format!(
            "INSERT INTO {} (revision, action, checksum, logged_at, duration_ms, applied_by, tool_version, applied_digest) \
             VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            self.log,
            self.dialect.quote_str(revision),
            self.dialect.quote_str(action.as_str()),
            self.dialect.quote_opt(checksum),
            self.dialect.now(),
            self.timing(&timing).as_deref().unwrap_or("NULL"),
            self.who,
            self.dialect.quote_str(TOOL_VERSION),
            self.digest(after),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_and_qualified() {
        let options = Options::default().schema("app").history_table("h\"x").applied_by("ann");
        let pg = Tables::new(Dialect::Postgres, &options);
        assert_eq!(pg.history_table(), "\"app\".\"h\"\"x\"");
        assert!(pg.create()[0].starts_with("CREATE SCHEMA IF NOT EXISTS \"app\""));
        let my = Tables::new(Dialect::MySql, &options);
        assert_eq!(my.history_table(), "`h\"x`", "schemas are PostgreSQL-only");
        assert_eq!(my.create().len(), 2);
    }

    #[test]
    fn values_are_literals() {
        let m = crate::parse(
            "m/a.sql",
            "-- revision: a1\n-- down_revision:\n-- message: it's \\ here\n-- migrate:up\n-- migrate:down\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let t = Tables::new(Dialect::Postgres, &Options::default().applied_by("o'neil"));
        let sql = t.insert_applied(&m, Timing::Since("'2026-01-01'::timestamptz".into()));
        assert!(sql.contains("E'it''s \\\\ here'"), "{sql}");
        assert!(sql.contains("'o''neil'"), "{sql}");
        assert!(sql.contains("clock_timestamp() - '2026-01-01'::timestamptz"), "{sql}");
    }
}
