//! The lock table's statements: one row, claimed by a committed write, kept alive by a
//! heartbeat and deleted at the end of the run. Times are the server's, in milliseconds since
//! the Unix epoch, so that every client judges a lease by the same clock.

use super::{Dialect, Tables};

/// The one row's key.
const ROW: &str = "1";

impl Tables {
    /// The quoted (and qualified) lock table name: the history table's name with `_lock`.
    pub fn lock_table(&self) -> &str {
        &self.lock
    }

    /// The server's clock in milliseconds since the Unix epoch.
    fn now_ms(&self) -> &'static str {
        match self.dialect {
            Dialect::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
            Dialect::Postgres => "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
            Dialect::MySql => "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)",
        }
    }

    /// `CREATE TABLE IF NOT EXISTS` for the lock table (InnoDB on MySQL, so that a claim is a
    /// transaction and, on Galera, is certified cluster-wide).
    pub fn create_lock(&self) -> Vec<String> {
        let (key, text, tail) = match self.dialect {
            Dialect::Sqlite => ("TEXT", "TEXT", ""),
            Dialect::Postgres => ("VARCHAR(255)", "TEXT", ""),
            Dialect::MySql => ("VARCHAR(255)", "TEXT", " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"),
        };
        let mut out = Vec::new();
        if let Some(schema) = &self.schema {
            out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", self.dialect.quote_ident(schema)));
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    id INTEGER NOT NULL PRIMARY KEY,\n    owner {key} NOT NULL,\n    \
             acquired_ms BIGINT NOT NULL,\n    heartbeat_ms BIGINT NOT NULL,\n    expires_ms BIGINT NOT NULL,\n    \
             previous_owner {text}\n){tail}",
            self.lock
        ));
        out
    }

    /// One claim attempt, as separate autocommit statements: insert the row when there is none,
    /// take it over when its lease ran out (keeping who held it), then read who holds it now:
    /// `owner, previous_owner, ms since its heartbeat`. The claim is this run's exactly when
    /// the owner read back is `owner`.
    pub fn claim_lock(&self, owner: &str, lease_ms: u128) -> Vec<String> {
        let (now, me) = (self.now_ms(), self.dialect.quote_str(owner));
        let insert = match self.dialect {
            Dialect::Sqlite => "INSERT OR IGNORE INTO",
            Dialect::Postgres => "INSERT INTO",
            Dialect::MySql => "INSERT IGNORE INTO",
        };
        let conflict = if self.dialect == Dialect::Postgres { " ON CONFLICT (id) DO NOTHING" } else { "" };
        let mut out = self.unflushed();
        out.extend([
            format!(
                "{insert} {} (id, owner, acquired_ms, heartbeat_ms, expires_ms) VALUES ({ROW}, {me}, {now}, {now}, {now} + {lease_ms}){conflict}",
                self.lock
            ),
            // `previous_owner` first: MySQL assigns left to right, reading values already set.
            format!(
                "UPDATE {} SET previous_owner = {}, owner = {me}, acquired_ms = {now}, heartbeat_ms = {now}, \
                 expires_ms = {now} + {lease_ms} WHERE id = {ROW} AND expires_ms < {now}{}",
                self.lock,
                self.previous_owner(),
                self.unlocked_row(),
            ),
            self.select_lock(),
        ]);
        out
    }

    /// On PostgreSQL, a first statement that lets the lock table's own writes commit without
    /// waiting for the disk (`synchronous_commit = off` for their transaction): visible to every
    /// session at once, and a write a server crash loses only leaves a claim whose lease runs
    /// out, or none, while the run that wrote it has lost its connection anyway. It keeps the
    /// lock table's claim and release from costing two disk flushes a run.
    fn unflushed(&self) -> Vec<String> {
        match self.dialect {
            Dialect::Postgres => vec!["SELECT set_config('synchronous_commit', 'off', true)".to_owned()],
            _ => Vec::new(),
        }
    }

    /// On PostgreSQL, a condition that skips the row while a transaction holds it: a step of
    /// the holder is running (its fence locks the row until the step ends), so the holder is
    /// alive, and waiting on the row would only tie up a connection (a pooler's, perhaps).
    fn unlocked_row(&self) -> String {
        match self.dialect {
            Dialect::Postgres => {
                format!(" AND id IN (SELECT id FROM {} WHERE id = {ROW} FOR UPDATE SKIP LOCKED)", self.lock)
            }
            _ => String::new(),
        }
    }

    /// The text kept of a taken-over claim: its owner and how long before the takeover it last
    /// beat.
    fn previous_owner(&self) -> String {
        let now = self.now_ms();
        match self.dialect {
            Dialect::MySql => {
                format!("CONCAT(owner, ', last heartbeat ', {now} - heartbeat_ms, ' ms before the takeover')")
            }
            _ => format!("owner || ', last heartbeat ' || ({now} - heartbeat_ms) || ' ms before the takeover'"),
        }
    }

    /// Who holds the lock: `owner, previous_owner, ms since its heartbeat, ms until it expires`.
    pub fn select_lock(&self) -> String {
        let now = self.now_ms();
        format!(
            "SELECT owner, previous_owner, {now} - heartbeat_ms, expires_ms - {now} FROM {} WHERE id = {ROW}",
            self.lock
        )
    }

    /// Renews this run's claim for another lease, then reads the owner (`select_lock`), which
    /// is no longer `owner` when the claim was lost: one round trip.
    pub fn renew_lock(&self, owner: &str, lease_ms: u128) -> Vec<String> {
        let now = self.now_ms();
        let mut out = self.unflushed();
        out.extend([
            format!(
                "UPDATE {} SET heartbeat_ms = {now}, expires_ms = {now} + {lease_ms} WHERE id = {ROW} AND owner = {}",
                self.lock,
                self.dialect.quote_str(owner)
            ),
            self.select_lock(),
        ]);
        out
    }

    /// The fence a step of a lock-table run opens with: one statement that fails the step (a
    /// division by zero, or a subquery of two rows on MySQL) unless the row still names
    /// `owner`. On PostgreSQL it also locks the row (`FOR UPDATE`) until the step's transaction
    /// ends, so that no takeover can happen while a step of the holder runs; the heartbeat keeps
    /// the lease.
    pub fn fence_lock(&self, owner: &str) -> String {
        let me = self.dialect.quote_str(owner);
        match self.dialect {
            Dialect::Postgres => format!(
                "SELECT 1 / count(*) AS lock_still_held FROM (SELECT id FROM {} WHERE id = {ROW} AND owner = {me} FOR UPDATE) AS held",
                self.lock
            ),
            _ => format!(
                "SELECT (SELECT 1 UNION ALL SELECT 1{} WHERE NOT EXISTS (SELECT 1 FROM {} WHERE id = {ROW} AND owner = {me})) AS lock_still_held",
                if self.dialect == Dialect::MySql { " FROM DUAL" } else { "" },
                self.lock
            ),
        }
    }

    /// Deletes this run's claim (and nobody else's).
    pub fn release_lock(&self, owner: &str) -> Vec<String> {
        let mut out = self.unflushed();
        out.push(format!("DELETE FROM {} WHERE id = {ROW} AND owner = {}", self.lock, self.dialect.quote_str(owner)));
        out
    }
}
