//! The step programs on the real servers: the statements an online run executes are, statement
//! for statement, those the offline script prints; a MySQL migration's data changes are atomic;
//! a cancelled run cancels the statement on the server, rolls the step back, releases the lock
//! and reports what it had applied.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use migrate_core::sql::{Dialect, split};
use migrate_core::{Aftermath, Applied, Cancel, Error, Event, Migrator, Options, Target};
use migrate_tests::{TestDb, graph, migration, migration_with};

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// A chain with a plain step, a `transaction: false` step and a compound statement.
fn varied(dialect: Dialect) -> migrate_core::RevisionGraph {
    let drop_index =
        if dialect == Dialect::MySql { "DROP INDEX items_name ON items;" } else { "DROP INDEX items_name;" };
    let (index, compound, drop_compound) = match dialect {
        Dialect::Postgres => (
            "CREATE INDEX CONCURRENTLY items_name ON items (name);",
            "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;",
            "DROP FUNCTION f();",
        ),
        Dialect::MySql => (
            "CREATE INDEX items_name ON items (name);",
            "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;",
            "DROP PROCEDURE p;",
        ),
        Dialect::Sqlite => (
            "CREATE INDEX items_name ON items (name);",
            "CREATE TRIGGER tr AFTER INSERT ON items BEGIN SELECT 1; END;",
            "DROP TRIGGER tr;",
        ),
    };
    graph(vec![
        migration("s1", "", "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50));", "DROP TABLE items;"),
        migration_with("s2", "s1", "-- transaction: false", index, drop_index),
        migration(
            "s3",
            "s2",
            &format!("INSERT INTO items VALUES (1, 'a');\n{compound}"),
            &format!("{drop_compound}\nDELETE FROM items;"),
        ),
    ])
}

/// `sql` with every applied-state digest literal (`'<count>:<64 hex digits>'`, which only an
/// online run knows) written as NULL, as the offline script has it.
fn null_digests(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('\'') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let count = tail.bytes().take_while(u8::is_ascii_digit).count();
        let hex = tail.get(count + 1..count + 65).unwrap_or("");
        let is_digest = count > 0
            && tail[count..].starts_with(':')
            && hex.len() == 64
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && tail[count + 65..].starts_with('\'');
        if is_digest {
            out.push_str("NULL");
            rest = &tail[count + 66..];
        } else {
            out.push('\'');
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The statements of a script (or of one executed statement) without the table definitions,
/// digests written as NULL.
fn statements(sql: &str, dialect: Dialect) -> Vec<String> {
    split(sql, dialect)
        .into_iter()
        .map(|s| null_digests(&s.sql))
        .filter(|s| !s.starts_with("CREATE TABLE IF NOT EXISTS") && !s.starts_with("CREATE SCHEMA"))
        .collect()
}

/// Upgrades `g` to its head and back to base with `options`, asserting each time that the
/// statements the run executed are those the offline script of its plan prints.
async fn online_equals_offline(t: &TestDb, g: &migrate_core::RevisionGraph, options: &Options, what: &str) {
    let dialect = t.dialect;
    let db = t.db().await;
    let executed = Arc::new(Mutex::new(Vec::new()));
    let seen = executed.clone();
    let options = options.clone().applied_by("same").on_event(move |e| {
        if let Event::Statement { sql } = e {
            seen.lock().unwrap().push(sql.clone());
        }
    });
    let m = Migrator::new(g.clone()).with_options(options.clone());
    let up = g.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
    m.upgrade(&db, &Target::Head).await.unwrap();
    let online: Vec<String> = executed.lock().unwrap().drain(..).map(|s| statements(&s, dialect).concat()).collect();
    let offline = statements(&m.script(&up, dialect), dialect);
    assert_eq!(online, offline, "{dialect}, {what}: upgrade");
    assert!(online.len() >= 8, "{dialect}, {what}: {online:#?}");

    let all = Applied::new(["s1", "s2", "s3"]);
    let down = g.plan_downgrade(&all, &Target::Base).unwrap();
    m.downgrade(&db, &Target::Base).await.unwrap();
    let online: Vec<String> = executed.lock().unwrap().drain(..).map(|s| statements(&s, dialect).concat()).collect();
    let offline = statements(&m.script(&down, dialect), dialect);
    assert_eq!(online, offline, "{dialect}, {what}: downgrade");
    db.close().await;
}

#[tokio::test]
async fn online_runs_execute_exactly_what_the_offline_script_prints() {
    for dialect in DIALECTS {
        let t = TestDb::new(dialect);
        online_equals_offline(&t, &varied(dialect), &Options::default(), "step by step").await;
    }
}

#[tokio::test]
async fn all_or_nothing_runs_execute_exactly_what_the_offline_script_prints() {
    // MySQL refuses all-or-nothing runs (its DDL commits implicitly).
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let t = TestDb::new(dialect);
        let g = graph(vec![
            migration("s1", "", "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(50));", "DROP TABLE items;"),
            migration("s2", "s1", "INSERT INTO items VALUES (1, 'a');", "DELETE FROM items;"),
            migration("s3", "s2", "CREATE INDEX items_name ON items (name);", "DROP INDEX items_name;"),
        ]);
        online_equals_offline(&t, &g, &Options::default().all_or_nothing(true), "all-or-nothing").await;
        // The log holds the run's steps in their order, each upgrade with its duration.
        let log = t
            .query("SELECT revision, action, CASE WHEN duration_ms >= 0 THEN 'timed' END FROM migrate_log ORDER BY id")
            .await;
        let log: Vec<String> =
            log.iter().map(|r| r.iter().map(|c| c.clone().unwrap_or_default()).collect::<Vec<_>>().join(" ")).collect();
        let want = if dialect == Dialect::Sqlite { "" } else { "timed" };
        let downgrades = ["s3 downgrade", "s2 downgrade", "s1 downgrade"].map(|d| format!("{d} {want}"));
        let mut expected = vec!["s1 upgrade timed", "s2 upgrade timed", "s3 upgrade timed"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        expected.extend(downgrades);
        assert_eq!(log, expected, "{dialect}");
    }
}

#[tokio::test]
async fn a_mysql_migration_that_only_changes_data_is_atomic() {
    let t = TestDb::new(Dialect::MySql);
    let db = t.db().await;
    let base = migration(
        "d1",
        "",
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance INT NOT NULL);",
        "DROP TABLE accounts;",
    );
    let data = migration(
        "d2",
        "d1",
        "INSERT INTO accounts VALUES (1, 100);\nINSERT INTO accounts VALUES (2, 50);\nUPDATE accounts SET balance = no_such_column;",
        "DELETE FROM accounts;",
    );
    let m = Migrator::new(graph(vec![base.clone(), data]));
    let err = m.upgrade(&db, &Target::Head).await.unwrap_err();
    let Error::Statement { revision, line, aftermath, .. } = &err else { panic!("{err:?}") };
    assert_eq!((revision.as_str(), *line, *aftermath), ("d2", 8, Aftermath::RolledBack), "{err}");
    // No rows left behind, nothing dirty: the next run simply retries.
    assert_eq!(t.scalar("SELECT CAST(count(*) AS CHAR) FROM accounts").await.as_deref(), Some("0"));
    assert_eq!(t.recorded().await, ["d1"]);
    assert!(m.status(&db).await.unwrap().dirty.is_none());
    let fixed = migration(
        "d2",
        "d1",
        "INSERT INTO accounts VALUES (1, 100);\nINSERT INTO accounts VALUES (2, 50);\nUPDATE accounts SET balance = balance + 1;",
        "DELETE FROM accounts;",
    );
    Migrator::new(graph(vec![base, fixed])).upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.scalar("SELECT CAST(sum(balance) AS CHAR) FROM accounts").await.as_deref(), Some("152"));
    db.close().await;
}

/// A statement that runs for a long time and fails when cancelled.
fn slow(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "SELECT pg_sleep(30);",
        // SLEEP() and BENCHMARK() return normally when interrupted; a long join fails with
        // "query execution was interrupted".
        _ => "SELECT count(*) FROM seq_1_to_1000000 a JOIN seq_1_to_1000000 b ON a.seq + b.seq = 0;",
    }
}

#[tokio::test]
async fn a_cancelled_run_cancels_the_statement_on_the_server_and_reports_what_it_applied() {
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        let t = TestDb::new(dialect);
        let db = t.db().await;
        let g = graph(vec![
            migration("c1", "", "CREATE TABLE before_slow (id INT);", "DROP TABLE before_slow;"),
            migration("c2", "c1", &format!("INSERT INTO before_slow VALUES (1);\n{}", slow(dialect)), "SELECT 1;"),
            migration("c3", "c2", "CREATE TABLE after_slow (id INT);", "DROP TABLE after_slow;"),
        ]);
        let cancel = Cancel::new();
        let m = Migrator::new(g.clone()).with_cancel(cancel.clone());
        let db2 = db.clone();
        let run = tokio::spawn(async move { m.upgrade(&db2, &Target::Head).await });
        // Wait until the slow statement runs on the server, then cancel.
        let probe = match dialect {
            Dialect::Postgres => {
                "SELECT count(*)::text FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
            }
            _ => {
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%BENCHMARK(2000%' AND ID <> CONNECTION_ID()"
            }
        };
        for _ in 0..500 {
            if t.scalar(probe).await.as_deref() == Some("1") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let start = Instant::now();
        cancel.cancel();
        let err = run.await.unwrap().unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5), "{dialect}: took {:?}", start.elapsed());
        let Error::Cancelled { revision, aftermath, report } = &err else { panic!("{dialect}: {err:?}") };
        assert_eq!(revision.as_deref(), Some("c2"), "{dialect}");
        assert_eq!(*aftermath, Some(Aftermath::RolledBack), "{dialect}");
        assert_eq!(report.steps.iter().map(|s| s.revision.as_str()).collect::<Vec<_>>(), ["c1"], "{dialect}");
        assert_eq!(report.current, ["c1"], "{dialect}");
        // The server is no longer running it, the step rolled back, and the lock is free.
        assert_eq!(t.scalar(probe).await.as_deref(), Some("0"), "{dialect}");
        assert_eq!(t.recorded().await, ["c1"], "{dialect}");
        assert_eq!(t.scalar("SELECT CAST(count(*) AS CHAR) FROM before_slow").await.as_deref(), Some("0"), "{dialect}");
        let fast = graph(vec![
            migration("c1", "", "CREATE TABLE before_slow (id INT);", "DROP TABLE before_slow;"),
            migration("c2", "c1", "INSERT INTO before_slow VALUES (1);", "SELECT 1;"),
        ]);
        let quick = Migrator::new(fast).with_options(Options::default().lock_timeout(Duration::from_secs(2)));
        assert_eq!(quick.upgrade(&db, &Target::Head).await.unwrap().current, ["c2"], "{dialect}");
        db.close().await;
    }
}

#[tokio::test]
async fn a_run_cancelled_before_it_starts_changes_nothing() {
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let cancel = Cancel::new();
    cancel.cancel();
    let g = graph(vec![migration("x1", "", "CREATE TABLE x (id INT);", "DROP TABLE x;")]);
    let err = Migrator::new(g).with_cancel(cancel).upgrade(&db, &Target::Head).await.unwrap_err();
    assert!(
        matches!(&err, Error::Cancelled { revision: None, aftermath: None, report } if report.steps.is_empty()),
        "{err:?}"
    );
    assert!(t.tables().await.is_empty(), "nothing was created");
}
