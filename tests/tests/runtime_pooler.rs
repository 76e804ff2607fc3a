//! PostgreSQL behind a real PgBouncer and a real streaming standby. Through a transaction pooler
//! a session lock protects nothing, so the run detects the pooler and takes the lock table:
//! concurrent upgraders apply each revision exactly once and leave nothing held. Through a
//! session pooler with one server connection a run needs only that one. A standby is refused
//! before any lock or change, while reads work there.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use migrate_core::sql::Dialect;
use migrate_core::{ConnectFailure, Db, Error, ErrorKind, Migrator, Target, load_dir};
use migrate_tests::TestDb;
use migrate_tests::processes::{self, Lock, run_counts, text, write_chain, write_chain_with};
use migrate_tests::servers::{PgBouncer, PgPair, wait_until};

const RUNNER: &str = env!("CARGO_BIN_EXE_migrate_runner");

/// The runner in the default lock mode (auto), unlike [`processes::runner`]'s explicit one.
fn auto_runner(url: &str, dir: &Path, lock_ms: u64) -> Command {
    let mut c = processes::runner(RUNNER, url, dir, lock_ms, Lock::Session);
    c.env("MIGRATE_LOCK", "auto").env("MIGRATE_LOCK_LEASE_MS", std::env::var("LEASE").unwrap_or("1000".into()));
    c
}

fn tokio_run(f: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f);
}

/// Advisory locks held in the test database, seen from a direct connection.
async fn advisory_locks(t: &TestDb) -> String {
    t.scalar(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
         WHERE l.locktype = 'advisory' AND d.datname = current_database()",
    )
    .await
    .unwrap()
}

#[test]
fn transaction_pooling_applies_each_revision_once() {
    tokio_run(async {
        let bouncer = PgBouncer::start("transaction", 2);
        for trial in 0..3 {
            let t = TestDb::new(Dialect::Postgres);
            let url = t.url_via(&bouncer.url("postgres"));
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("migrations");
            // Every other revision `transaction: false`: the kind a session lock let run twice.
            write_chain_with(&dir, Dialect::Postgres, 12, 10, false, true);
            let children: Vec<_> = (0..8).map(|_| auto_runner(&url, &dir, 60_000).spawn().unwrap()).collect();
            let mut applied = 0;
            for child in children {
                let out = child.wait_with_output().unwrap();
                let said = text(&out);
                assert!(out.status.success(), "trial {trial}: {said}\n{}", bouncer.log());
                // Every process that took the lock chose the lock table, and said why.
                if said.contains("lock table: ") {
                    assert!(said.contains("a pooler or proxy"), "{said}");
                }
                let last = said.trim().lines().last().unwrap_or_default().to_owned();
                applied += last.strip_prefix("ok ").unwrap().parse::<usize>().unwrap();
            }
            assert_eq!(applied, 12, "trial {trial}: every revision ran in exactly one process");
            let counts = run_counts(&t).await;
            assert_eq!(counts.len(), 12, "{counts:?}");
            assert!(counts.iter().all(|(_, n)| n == "1"), "trial {trial}: {counts:?}");
            assert_eq!(t.recorded().await.len(), 12);
            // Nothing is left held: no claim, and no advisory lock on any server connection.
            assert_eq!(t.scalar("SELECT count(*) FROM migrate_history_lock").await.as_deref(), Some("0"));
            assert_eq!(advisory_locks(&t).await, "0");
            // A run connecting directly takes the session lock at once.
            let direct = auto_runner(&t.url, &dir, 2_000).output().unwrap();
            assert!(direct.status.success() && !text(&direct).contains("lock table"), "{}", text(&direct));
        }
    });
}

#[test]
fn session_pooling_needs_one_server_connection() {
    tokio_run(async {
        // One server connection for the database: a run that needed two would wait for the
        // pooler's queue timeout.
        let bouncer = PgBouncer::start("session", 1);
        let t = TestDb::new(Dialect::Postgres);
        let url = t.url_via(&bouncer.url("postgres"));
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("migrations");
        write_chain(&dir, Dialect::Postgres, 4, 10, false);
        for lock in ["auto", "session", "table"] {
            let started = std::time::Instant::now();
            let mut run = processes::runner(RUNNER, &url, &dir, 10_000, Lock::Session);
            let out = run.env("MIGRATE_LOCK", lock).output().unwrap();
            assert!(out.status.success(), "lock {lock}: {}\n{}", text(&out), bouncer.log());
            assert!(started.elapsed() < Duration::from_secs(8), "lock {lock} took {:?}", started.elapsed());
            let migrator = Migrator::new(load_dir(&dir, "migrations").unwrap());
            let db = Db::connect(&url).await.unwrap();
            migrator.downgrade(&db, &Target::Base).await.unwrap();
            db.close().await;
        }
        // A startup parameter the pooler does not know (its configuration does not ignore it),
        // and a database it does not list, are refusals at start-up, from the protocol-violation
        // code PgBouncer answers with.
        let refused = Db::connect(&format!("{url}?extra_float_digits=2")).await.unwrap_err();
        assert!(matches!(refused, Error::Connect { reason: ConnectFailure::StartupRefused, .. }), "{refused:?}");
        assert!(refused.help().unwrap_or_default().contains("ignore_startup_parameters"), "{refused}");
        assert!(refused.to_string().contains("unsupported startup parameter"), "{refused}");
    });
}

#[test]
fn a_standby_is_refused_before_anything_and_read_there() {
    tokio_run(async {
        let pair = PgPair::start();
        let t = TestDb::on_server(Dialect::Postgres, &pair.primary_url("postgres"));
        let standby = t.url_via(&pair.standby_url("postgres"));
        wait_until("the test database on the standby", 30, || {
            std::thread::spawn({
                let url = standby.clone();
                move || tokio::runtime::Runtime::new().unwrap().block_on(Db::connect_existing(&url)).is_ok()
            })
            .join()
            .unwrap()
        });
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("migrations");
        write_chain(&dir, Dialect::Postgres, 3, 1, false);
        let migrator = Migrator::new(load_dir(&dir, "migrations").unwrap());

        // Every kind of run is refused there, saying what the server is, before any lock.
        let db = Db::connect(&standby).await.unwrap();
        for result in [
            migrator.upgrade(&db, &Target::Head).await,
            migrator.downgrade(&db, &Target::Base).await,
            migrator.stamp(&db, &Target::Head, false).await,
        ] {
            let e = result.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ReadOnly, "{e}");
            assert!(e.to_string().contains("standby"), "{e}");
        }
        let out = processes::runner(RUNNER, &standby, &dir, 2_000, Lock::Session).output().unwrap();
        assert!(text(&out).contains("error[ReadOnly]") && text(&out).contains("pg_is_in_recovery"), "{}", text(&out));
        assert!(t.tables().await.is_empty(), "nothing was created on the primary");

        // Upgraded on the primary, the standby reads it.
        migrator.upgrade(&t.db().await, &Target::Head).await.unwrap();
        wait_until("the standby to replay the upgrade", 30, || {
            let url = standby.clone();
            let graph = migrator.clone();
            std::thread::spawn(move || {
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    let db = Db::connect(&url).await.unwrap();
                    graph.check(&db).await.is_ok()
                })
            })
            .join()
            .unwrap()
        });
        let status = migrator.status(&db).await.unwrap();
        assert_eq!(status.applied.len(), 3);
        assert_eq!(migrator.history(&db).await.unwrap().len(), 3);
        db.close().await;
    });
}
