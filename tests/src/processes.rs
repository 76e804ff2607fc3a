//! Helpers for the tests that run the migration runner as separate processes: chains of slow
//! migrations that count their own runs, and the runner's command line.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use migrate_core::sql::Dialect;

use crate::{TestDb, migration_text};

/// SQL that takes about `ms` milliseconds.
pub fn sleep_sql(dialect: Dialect, ms: u32) -> String {
    match dialect {
        Dialect::Postgres => format!("SELECT pg_sleep({});", f64::from(ms) / 1000.0),
        Dialect::MySql => format!("DO SLEEP({});", f64::from(ms) / 1000.0),
        // No sleep function: burn a little CPU instead.
        Dialect::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) SELECT count(*) FROM c;",
            ms * 6_000
        ),
    }
}

/// Writes `n` migrations: `k000` creates the `runs` table; each `kNNN` creates table `kNNN`,
/// waits `ms`, then records its run in `runs`. `broken` makes the last one fail at its end.
pub fn write_chain(dir: &Path, dialect: Dialect, n: usize, ms: u32, broken: bool) {
    write_chain_with(dir, dialect, n, ms, broken, false);
}

/// [`write_chain`], with every odd revision marked `transaction: false` when `no_tx` is set.
pub fn write_chain_with(dir: &Path, dialect: Dialect, n: usize, ms: u32, broken: bool, no_tx: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let id = format!("k{i:03}");
        let parent = if i == 0 { String::new() } else { format!("k{:03}", i - 1) };
        let mut up = if i == 0 { "CREATE TABLE runs (rev VARCHAR(20));\n".to_owned() } else { String::new() };
        up.push_str(&format!(
            "CREATE TABLE {id} (id INT);\n{}\nINSERT INTO runs VALUES ('{id}');",
            sleep_sql(dialect, ms)
        ));
        if broken && i == n - 1 {
            up.push_str("\nINSERT INTO no_such_table VALUES (1);");
        }
        let down = if i == 0 { "DROP TABLE k000;\nDROP TABLE runs;".to_owned() } else { format!("DROP TABLE {id};") };
        let header = if no_tx && i % 2 == 1 { "-- transaction: false" } else { "" };
        std::fs::write(dir.join(format!("{id}.sql")), migration_text(&id, &parent, header, &up, &down)).unwrap();
    }
}

/// Which lock the runners take: the server's session lock, or the lock table with a short lease
/// (so that a killed run's claim is taken over within the tests' lock timeouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// The server's session lock.
    Session,
    /// The lock table, with a one-second lease.
    Table,
}

/// The runner binary `bin` upgrading `url` to head with the migrations of `dir`, waiting up to
/// `lock_ms` for the lock.
pub fn runner(bin: &str, url: &str, dir: &Path, lock_ms: u64, lock: Lock) -> Command {
    let mut c = Command::new(bin);
    c.args([url, dir.to_str().unwrap(), "upgrade", "head"])
        .env("MIGRATE_LOCK_TIMEOUT_MS", lock_ms.to_string())
        .env("MIGRATE_LOCK", if lock == Lock::Table { "table" } else { "session" })
        .env("MIGRATE_LOCK_LEASE_MS", "1000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Everything a process printed.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// How many times each revision ran, from the `runs` table.
pub async fn run_counts(t: &TestDb) -> Vec<(String, String)> {
    t.query("SELECT rev, count(*) FROM runs GROUP BY rev ORDER BY rev")
        .await
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect()
}
