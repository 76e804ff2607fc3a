//! Several processes at once against the real servers: eight upgrading the same database (each
//! migration runs exactly once), the lock free again after a failing run, and processes killed
//! with SIGKILL at many moments of a long upgrade (consistent afterwards, no lock left behind).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use migrate_core::sql::Dialect;
use migrate_core::{Migrator, Resolution, Target, load_dir};
use migrate_tests::TestDb;
use migrate_tests::processes::{self, Lock, run_counts, text, write_chain, write_chain_with};

const RUNNER: &str = env!("CARGO_BIN_EXE_migrate_runner");

fn runner(url: &str, dir: &Path, lock_ms: u64, lock: Lock) -> Command {
    processes::runner(RUNNER, url, dir, lock_ms, lock)
}

async fn eight_processes_on(dialect: Dialect, lock: Lock) {
    let t = TestDb::new(dialect);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    write_chain(&dir, dialect, 16, 10, false);
    eight_upgrades(&t, &dir, lock).await;

    // A failing run leaves the lock free: the next run gets it at once.
    let broken_dir = tmp.path().join("broken");
    write_chain(&broken_dir, dialect, 18, 10, true);
    let out = runner(&t.url, &broken_dir, 2_000, lock).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[Statement]") && text(&out).contains("k017.sql:"), "{}", text(&out));
    write_chain(&broken_dir, dialect, 18, 10, false);
    let out = runner(&t.url, &broken_dir, 2_000, lock).output().unwrap();
    if dialect == Dialect::MySql {
        // It got the lock (dirty states are only judged under it) and says what to do.
        assert!(text(&out).contains("error[Dirty]") && text(&out).contains("resolve"), "{}", text(&out));
    } else {
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(t.recorded().await.len(), 18);
    }
}

/// Eight processes upgrade the 16 revisions in `dir` at once: each runs exactly once.
async fn eight_upgrades(t: &TestDb, dir: &Path, lock: Lock) {
    let children: Vec<_> = (0..8).map(|_| runner(&t.url, dir, 60_000, lock).spawn().unwrap()).collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let last = text(&out).trim().lines().last().unwrap_or_default().to_owned();
        applied += last.strip_prefix("ok ").unwrap().parse::<usize>().unwrap();
    }
    assert_eq!(applied, 16, "every migration ran in exactly one process");
    let counts = run_counts(t).await;
    assert_eq!(counts.len(), 16);
    assert!(counts.iter().all(|(_, n)| n == "1"), "{counts:?}");
    assert_eq!(t.recorded().await.len(), 16);
}

/// Regression: on SQLite, steps marked `transaction: false` ran in several processes at once,
/// because only each step's own transaction serialised them.
async fn eight_processes_without_transactions_on(dialect: Dialect, lock: Lock) {
    let t = TestDb::new(dialect);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    write_chain_with(&dir, dialect, 16, 10, false, true);
    eight_upgrades(&t, &dir, lock).await;
    if lock == Lock::Table {
        // Every claim was given back: the lock table is empty.
        assert_eq!(t.scalar("SELECT count(*) FROM migrate_history_lock").await.as_deref(), Some("0"));
    }
}

#[test]
fn eight_processes_without_transactions_sqlite() {
    tokio_run(eight_processes_without_transactions_on(Dialect::Sqlite, Lock::Session));
}
#[test]
fn eight_processes_without_transactions_postgres() {
    tokio_run(eight_processes_without_transactions_on(Dialect::Postgres, Lock::Session));
}
#[test]
fn eight_processes_without_transactions_lock_table_postgres() {
    tokio_run(eight_processes_without_transactions_on(Dialect::Postgres, Lock::Table));
}
#[test]
fn eight_processes_without_transactions_lock_table_mysql() {
    tokio_run(eight_processes_without_transactions_on(Dialect::MySql, Lock::Table));
}

#[test]
fn eight_processes_sqlite() {
    tokio_run(eight_processes_on(Dialect::Sqlite, Lock::Session));
}
#[test]
fn eight_processes_postgres() {
    tokio_run(eight_processes_on(Dialect::Postgres, Lock::Session));
}
#[test]
fn eight_processes_mysql() {
    tokio_run(eight_processes_on(Dialect::MySql, Lock::Session));
}
#[test]
fn eight_processes_lock_table_postgres() {
    tokio_run(eight_processes_on(Dialect::Postgres, Lock::Table));
}
#[test]
fn eight_processes_lock_table_mysql() {
    tokio_run(eight_processes_on(Dialect::MySql, Lock::Table));
}

fn tokio_run(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f);
}

/// Waits until no other session is connected to the test database: the server may still be
/// finishing a killed client's last batch (it commits or rolls back as a whole).
async fn settle(t: &TestDb) {
    let sql = match t.dialect {
        Dialect::Sqlite => return,
        Dialect::Postgres => {
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        }
        Dialect::MySql => {
            "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()"
        }
    };
    for _ in 0..200 {
        if t.scalar(sql).await.as_deref() == Some("0") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("sessions of a killed process are still connected after 5 s");
}

/// Ends the server sessions of the test database, as when a crashed client's connection is
/// noticed by the server in the middle of a statement.
async fn end_sessions(t: &TestDb) {
    match t.dialect {
        Dialect::Sqlite => {}
        Dialect::Postgres => {
            t.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").await;
        }
        Dialect::MySql => {
            let ids = t
                .query("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID()")
                .await;
            for id in ids.into_iter().filter_map(|r| r.into_iter().next().flatten()) {
                let _ = t.try_query(&format!("KILL {id}")).await;
            }
        }
    }
}

/// Checks that the database is consistent: every recorded revision fully applied, nothing
/// applied unrecorded (PostgreSQL, SQLite). Returns the dirty revision on MySQL.
async fn assert_consistent(t: &TestDb, migrator: &Migrator) -> Option<String> {
    let db = t.db().await;
    let history = migrator.history(&db).await.unwrap();
    db.close().await;
    let tables = t.tables().await;
    let dirty: Vec<&str> = history.iter().filter(|h| h.dirty.is_some()).map(|h| h.revision.as_str()).collect();
    assert!(dirty.len() <= 1, "{dirty:?}");
    let clean: Vec<&str> = history.iter().filter(|h| h.dirty.is_none()).map(|h| h.revision.as_str()).collect();
    let counts = if tables.contains(&"runs".to_owned()) { run_counts(t).await } else { Vec::new() };
    for rev in &clean {
        assert!(tables.contains(&(*rev).to_owned()), "{rev} recorded but its table is missing");
        assert!(
            counts.contains(&((*rev).to_owned(), "1".to_owned())),
            "{rev} recorded but did not run once: {counts:?}"
        );
    }
    let made: Vec<&String> = tables.iter().filter(|n| n.starts_with('k')).collect();
    if t.dialect != Dialect::MySql {
        assert!(dirty.is_empty());
        assert_eq!(made.len(), clean.len(), "half-applied revision on {}: {made:?} vs {clean:?}", t.dialect);
        assert_eq!(counts.len(), clean.len(), "{counts:?}");
    } else {
        assert!(made.len() <= clean.len() + 1 && counts.len() <= clean.len() + 1, "{made:?} {counts:?} {clean:?}");
        if dirty.is_empty() {
            assert_eq!(made.len(), clean.len());
        }
    }
    dirty.first().map(|s| (*s).to_owned())
}

async fn killed_on(dialect: Dialect, lock: Lock) {
    let t = TestDb::new(dialect);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    // Slow enough on the servers that ending the session lands inside a migration.
    let ms = if dialect == Dialect::Sqlite { 20 } else { 60 };
    write_chain(&dir, dialect, 80, ms, false);
    let migrator = Migrator::new(load_dir(&dir, "migrations").unwrap());
    let mut dirty_seen = 0;
    let mut took_over = 0;
    // Ten moments, each a different phase of a migration; every other time the server also
    // ends the dead client's session at once.
    // On MySQL, an eleventh kill waits until a revision is visibly in progress, so the dirty
    // path is always exercised however the timing of the others falls.
    let kills = if dialect == Dialect::MySql { 11 } else { 10 };
    for k in 0..kills {
        let delay = 40 + k * u64::from(ms + 3);
        let mut child = runner(&t.url, &dir, 10_000, lock).spawn().unwrap();
        if k == 10 {
            let in_progress = "SELECT count(*) FROM information_schema.tables t JOIN migrate_history h \
                               ON t.table_schema = DATABASE() AND t.table_name = 'migrate_history' WHERE h.dirty IS NOT NULL";
            for _ in 0..2000 {
                if t.try_scalar(in_progress).await.as_deref() == Some("1") {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        } else {
            std::thread::sleep(Duration::from_millis(delay));
        }
        child.kill().unwrap();
        if k % 2 == 1 || k == 10 {
            end_sessions(&t).await;
        }
        child.wait().unwrap();
        settle(&t).await;
        let dirty = assert_consistent(&t, &migrator).await;
        let db = t.db().await;
        let recorded = migrator.history(&db).await.unwrap().len();
        db.close().await;
        eprintln!("{dialect} killed after {delay} ms: {recorded} recorded, dirty {dirty:?}");
        assert!(recorded < 80, "the chain is long enough for every kill to land inside the run");
        if let Some(rev) = dirty {
            dirty_seen += 1;
            // The next run reports the dirty revision and the way out.
            let out = runner(&t.url, &dir, 3_000, lock).output().unwrap();
            let said = text(&out);
            took_over += said.matches("took over: ").count();
            assert!(
                said.contains("error[Dirty]") && said.contains(&format!("`{rev}`")) && said.contains("resolve"),
                "{said}"
            );
            // Undo its partial effects and mark it unapplied, so the next run retries it.
            let db = t.db().await;
            t.query(&format!("DROP TABLE IF EXISTS {rev}")).await;
            if rev == "k000" {
                t.query("DROP TABLE IF EXISTS runs").await;
            } else {
                t.query(&format!("DELETE FROM runs WHERE rev = '{rev}'")).await;
            }
            migrator.resolve_dirty(&db, &rev, Resolution::MarkUnapplied).await.unwrap();
            db.close().await;
            assert_consistent(&t, &migrator).await;
        }
    }
    if dialect == Dialect::MySql {
        assert!(dirty_seen > 0, "no kill landed inside a MySQL migration");
    }
    // No lock left behind (or, with the lock table, none that is not taken over within its
    // lease): a run with a short lock timeout finishes the upgrade.
    let out = runner(&t.url, &dir, 3_000, lock).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    took_over += text(&out).matches("took over: ").count();
    if lock == Lock::Table {
        // Each killed run left its claim; the next run took it over and said whose it was.
        assert!(took_over >= 1, "no takeover was reported");
        assert_eq!(t.scalar("SELECT count(*) FROM migrate_history_lock").await.as_deref(), Some("0"));
    }
    assert_eq!(t.recorded().await.len(), 80);
    assert_consistent(&t, &migrator).await;
    migrator.check(&t.db().await).await.unwrap();
    let _ = Target::Head;
}

#[test]
fn killed_sqlite() {
    tokio_run(killed_on(Dialect::Sqlite, Lock::Session));
}
#[test]
fn killed_postgres() {
    tokio_run(killed_on(Dialect::Postgres, Lock::Session));
}
#[test]
fn killed_mysql() {
    tokio_run(killed_on(Dialect::MySql, Lock::Session));
}
#[test]
fn killed_lock_table_postgres() {
    tokio_run(killed_on(Dialect::Postgres, Lock::Table));
}
#[test]
fn killed_lock_table_mysql() {
    tokio_run(killed_on(Dialect::MySql, Lock::Table));
}

/// A run whose lock-table claim is taken from it (here: overwritten by hand, as a takeover after
/// a stalled heartbeat would) stops before its next step, says so, and leaves the other claim.
async fn claim_taken_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    write_chain(&dir, dialect, 20, 150, false);
    // A lease of a minute: no heartbeat comes before the next step, so its fence is what notices.
    let child = runner(&t.url, &dir, 10_000, Lock::Table).env("MIGRATE_LOCK_LEASE_MS", "60000").spawn().unwrap();
    for _ in 0..400 {
        if t.try_scalar("SELECT count(*) FROM runs").await.and_then(|c| c.parse::<u32>().ok()).is_some_and(|c| c >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    t.query("UPDATE migrate_history_lock SET owner = 'another run'").await;
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("error[Lock]") && said.contains("lost its lock") && said.contains("another run"), "{said}");
    // The fence names the new holder and the revision it stopped before.
    assert!(said.contains("now names another run, not this run") && said.contains("was to start"), "{said}");
    let recorded = t.recorded().await.len();
    assert!((2..20).contains(&recorded), "{recorded} recorded");
    assert_eq!(run_counts(&t).await.len(), recorded, "nothing ran unrecorded");
    // The run gave back only its own claim.
    assert_eq!(t.scalar("SELECT owner FROM migrate_history_lock").await.as_deref(), Some("another run"));
}

#[test]
fn claim_taken_postgres() {
    tokio_run(claim_taken_on(Dialect::Postgres));
}
#[test]
fn claim_taken_mysql() {
    tokio_run(claim_taken_on(Dialect::MySql));
}
