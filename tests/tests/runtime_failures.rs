//! The runtime's refusals and failures against the real servers: a migration failing halfway,
//! edited and unknown applied revisions, irreversible downgrades, all-or-nothing runs, file and
//! line in errors, and passwords kept out of every message.
#![allow(clippy::unwrap_used)]

use migrate_core::sql::Dialect;
use migrate_core::{Aftermath, Db, Error, ErrorKind, Migrator, Options, Resolution, Target};
use migrate_tests::{TestDb, graph, migration, migration_with};

fn ok_first() -> migrate_core::Migration {
    migration("m1", "", "CREATE TABLE first_t (id INT);", "DROP TABLE first_t;")
}

/// `m2`'s second statement (file line 7) refers to a table that does not exist.
fn broken_second() -> migrate_core::Migration {
    migration(
        "m2",
        "m1",
        "CREATE TABLE second_t (id INT);\nINSERT INTO no_such_table VALUES (1);",
        "DROP TABLE second_t;",
    )
}

fn fixed_second() -> migrate_core::Migration {
    migration("m2", "m1", "CREATE TABLE second_t (id INT);\nINSERT INTO first_t VALUES (1);", "DROP TABLE second_t;")
}

fn third() -> migrate_core::Migration {
    migration("m3", "m2", "CREATE TABLE third_t (id INT);", "DROP TABLE third_t;")
}

async fn failing_halfway_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let broken = Migrator::new(graph(vec![ok_first(), broken_second(), third()]));
    let err = broken.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Statement, "{err}");
    let text = err.to_string();
    assert!(text.contains("migrations/m2.sql:7"), "{text}");
    assert!(text.contains("no_such_table"), "{text}");
    let Error::Statement { revision, line, aftermath, .. } = &err else { panic!("{err:?}") };
    assert_eq!((revision.as_str(), *line), ("m2", 7));
    // The error carries what the run had applied before it failed, and where that left it.
    let partial = err.partial().unwrap();
    assert_eq!(partial.steps.iter().map(|s| s.revision.as_str()).collect::<Vec<_>>(), ["m1"]);
    assert_eq!(partial.current, ["m1"]);

    // Everything before it stays applied.
    assert!(t.tables().await.contains(&"first_t".to_owned()));
    assert!(!t.tables().await.contains(&"third_t".to_owned()));
    let fixed = Migrator::new(graph(vec![ok_first(), fixed_second(), third()]));
    if dialect == Dialect::MySql {
        // DDL committed: the revision is dirty, and every run says so and what to do.
        assert_eq!(*aftermath, Aftermath::Dirty);
        assert!(t.tables().await.contains(&"second_t".to_owned()));
        assert!(err.help().unwrap().contains("cargo migrate resolve m2"), "{:?}", err.help());
        let again = fixed.upgrade(&db, &Target::Head).await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Dirty, "{again}");
        let help = again.help().unwrap_or_default();
        assert!(help.contains("Migrator::resolve_dirty") && help.contains("cargo migrate resolve m2"), "{help}");
        let again = again.to_string();
        assert!(again.contains("`m2`") && again.contains("migrations/m2.sql:7"), "{again}");
        let status = fixed.status(&db).await.unwrap();
        assert_eq!(status.dirty.as_ref().map(|d| d.revision.as_str()), Some("m2"));
        assert_eq!(fixed.check(&db).await.unwrap_err().kind(), ErrorKind::Dirty);
        // The operator undoes the partial effects and marks it unapplied; the next run retries.
        t.query("DROP TABLE second_t").await;
        let resolved = fixed.resolve_dirty(&db, "m2", Resolution::MarkUnapplied).await.unwrap();
        assert_eq!(resolved.steps[0].revision, "m2");
        assert_eq!(resolved.current, ["m1"]);
        let twice = fixed.resolve_dirty(&db, "m2", Resolution::MarkUnapplied).await.unwrap_err();
        assert!(matches!(twice, Error::NotDirty { actual: None, .. }), "{twice:?}");
    } else {
        // Rolled back: no table, no record.
        assert_eq!(*aftermath, Aftermath::RolledBack);
        assert!(!t.tables().await.contains(&"second_t".to_owned()));
    }
    assert_eq!(t.recorded().await, ["m1"]);
    let report = fixed.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(report.steps.len(), 2);
    assert_eq!(t.recorded().await, ["m1", "m2", "m3"]);
    fixed.check(&db).await.unwrap();
    if dialect == Dialect::MySql {
        let log: Vec<String> = fixed.log(&db).await.unwrap().into_iter().map(|l| l.action).collect();
        assert!(log.contains(&"mark_unapplied".to_owned()), "{log:?}");
    }
    db.close().await;
}

#[tokio::test]
async fn failing_halfway_sqlite() {
    failing_halfway_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn failing_halfway_postgres() {
    failing_halfway_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn failing_halfway_mysql() {
    failing_halfway_on(Dialect::MySql).await;
}

#[tokio::test]
async fn mysql_mark_applied_after_finishing_by_hand() {
    let t = TestDb::new(Dialect::MySql);
    let db = t.db().await;
    let broken = Migrator::new(graph(vec![ok_first(), broken_second()]));
    broken.upgrade(&db, &Target::Head).await.unwrap_err();
    let wrong = broken.resolve_dirty(&db, "m1", Resolution::MarkApplied).await.unwrap_err();
    assert!(matches!(&wrong, Error::NotDirty { actual: Some(d), .. } if d.revision == "m2"), "{wrong:?}");
    let still = broken.status(&db).await.unwrap().dirty.map(|d| d.revision);
    assert_eq!(still.as_deref(), Some("m2"), "refused before anything changed");
    let resolved = broken.resolve_dirty(&db, "m2", Resolution::MarkApplied).await.unwrap();
    assert_eq!(resolved.current, ["m2"]);
    assert_eq!(t.recorded().await, ["m1", "m2"]);
    let history = broken.history(&db).await.unwrap();
    assert!(history.iter().all(|h| h.dirty.is_none() && h.failure.is_none()), "{history:?}");
    broken.check(&db).await.unwrap();
    db.close().await;
}

async fn edited_applied_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let original = Migrator::new(graph(vec![ok_first(), fixed_second()]));
    original.upgrade(&db, &Target::Head).await.unwrap();
    let before = original.history(&db).await.unwrap();

    let edited_first = migration("m1", "", "CREATE TABLE first_t (id INT, extra INT);", "DROP TABLE first_t;");
    let edited = Migrator::new(graph(vec![edited_first.clone(), fixed_second(), third()]));
    let err = edited.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Changed, "{err}");
    let text = err.to_string();
    assert!(text.contains("`m1` (migrations/m1.sql)"), "{text}");
    let help = err.help().unwrap_or_default();
    assert!(help.contains("--accept-changed m1") && help.contains("Options::accept_changed"), "{help}");
    // Refused before anything changed.
    assert!(!t.tables().await.contains(&"third_t".to_owned()));
    assert_eq!(edited.history(&db).await.unwrap(), before);
    assert_eq!(edited.check(&db).await.unwrap_err().kind(), ErrorKind::Changed);
    assert_eq!(edited.status(&db).await.unwrap().changed.len(), 1);

    // Accepting the change re-records the checksum and goes on.
    let accepting = Migrator::new(graph(vec![edited_first, fixed_second(), third()]))
        .with_options(Options::default().accept_changed("m1"));
    let report = accepting.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(report.accepted, ["m1"], "the report says what was accepted");
    assert!(t.tables().await.contains(&"third_t".to_owned()));
    edited.check(&db).await.unwrap();
    let log: Vec<String> =
        edited.log(&db).await.unwrap().into_iter().map(|l| format!("{} {}", l.action, l.revision)).collect();
    assert!(log.contains(&"accept_changed m1".to_owned()), "{log:?}");
    db.close().await;
}

#[tokio::test]
async fn edited_applied_sqlite() {
    edited_applied_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn edited_applied_postgres() {
    edited_applied_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn edited_applied_mysql() {
    edited_applied_on(Dialect::MySql).await;
}

async fn unknown_and_irreversible_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let gone = migration_with("m2", "m1", "", "DROP TABLE first_t;", "");
    let irreversible = {
        let text = migrate_tests::migration_text("m2", "m1", "", "DROP TABLE first_t;", "")
            .replace("-- migrate:down\n", "-- migrate:down irreversible: the data is gone\n");
        migrate_core::parse("migrations/m2.sql", &text).unwrap()
    };
    let _ = gone;
    let full = Migrator::new(graph(vec![ok_first(), irreversible, third()]));
    full.upgrade(&db, &Target::Head).await.unwrap();

    let err = full.downgrade(&db, &Target::Base).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Plan);
    assert!(err.to_string().contains("irreversible: the data is gone"), "{err}");
    assert_eq!(t.recorded().await, ["m1", "m2", "m3"], "nothing touched");
    assert!(t.tables().await.contains(&"third_t".to_owned()));
    full.downgrade(&db, &"m2".parse().unwrap()).await.unwrap();

    // An older build that lacks m2 refuses to run.
    let older = Migrator::new(graph(vec![ok_first()]));
    let err = older.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unknown, "{err}");
    assert!(err.to_string().contains("m2"), "{err}");
    assert_eq!(older.check(&db).await.unwrap_err().kind(), ErrorKind::Unknown);
    assert_eq!(older.status(&db).await.unwrap().missing, ["m2"]);
    // … until the records are purged.
    older.stamp(&db, &Target::Head, true).await.unwrap();
    assert_eq!(t.recorded().await, ["m1"]);
    older.check(&db).await.unwrap();
    db.close().await;
}

#[tokio::test]
async fn unknown_and_irreversible_sqlite() {
    unknown_and_irreversible_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn unknown_and_irreversible_postgres() {
    unknown_and_irreversible_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn unknown_and_irreversible_mysql() {
    unknown_and_irreversible_on(Dialect::MySql).await;
}

async fn all_or_nothing_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let options = Options::default().all_or_nothing(true);
    let broken = Migrator::new(graph(vec![ok_first(), broken_second()])).with_options(options.clone());
    let err = broken.upgrade(&db, &Target::Head).await.unwrap_err();
    if dialect == Dialect::MySql {
        assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
        assert!(err.to_string().contains("implicitly"), "{err}");
        assert!(!t.tables().await.contains(&"first_t".to_owned()));
        return;
    }
    assert_eq!(err.kind(), ErrorKind::Statement, "{err}");
    assert!(matches!(err, Error::Statement { aftermath: Aftermath::RolledBackAll, line: 7, .. }), "{err:?}");
    assert!(!t.tables().await.contains(&"first_t".to_owned()), "the whole run rolled back");
    assert!(t.recorded().await.is_empty());

    let fine = Migrator::new(graph(vec![ok_first(), fixed_second(), third()])).with_options(options.clone());
    assert_eq!(fine.upgrade(&db, &Target::Head).await.unwrap().steps.len(), 3);
    assert_eq!(t.recorded().await, ["m1", "m2", "m3"]);
    assert_eq!(fine.downgrade(&db, &Target::Base).await.unwrap().steps.len(), 3);
    assert!(t.recorded().await.is_empty());

    let outside =
        migration_with("m4", "m3", "-- transaction: false", "CREATE TABLE fourth_t (id INT);", "DROP TABLE fourth_t;");
    let mixed = Migrator::new(graph(vec![ok_first(), fixed_second(), third(), outside])).with_options(options);
    let err = mixed.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert!(err.to_string().contains("`m4`"), "{err}");
    assert!(t.recorded().await.is_empty());
    db.close().await;
}

#[tokio::test]
async fn all_or_nothing_sqlite() {
    all_or_nothing_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn all_or_nothing_postgres() {
    all_or_nothing_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn all_or_nothing_mysql() {
    all_or_nothing_on(Dialect::MySql).await;
}

/// A SQLite all-or-nothing run writes its log rows at its end, before the COMMIT: when they fail,
/// the error names them (not the commit), and the whole run is rolled back.
#[tokio::test]
async fn an_all_or_nothing_run_whose_log_rows_fail_names_them_and_changes_nothing() {
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let closes_the_log = migration(
        "m2",
        "m1",
        "CREATE TRIGGER closed_log BEFORE INSERT ON migrate_log BEGIN SELECT RAISE(ABORT, 'the log is closed'); END;",
        "DROP TRIGGER closed_log;",
    );
    let migrator =
        Migrator::new(graph(vec![ok_first(), closes_the_log])).with_options(Options::default().all_or_nothing(true));
    let err = migrator.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database, "{err}");
    let text = err.to_string();
    assert!(text.starts_with("cannot write the run's log rows"), "{text}");
    assert!(text.contains("the log is closed") && text.contains("nothing changed"), "{text}");
    let partial = err.partial().expect("the error says what the run had done");
    assert!(partial.steps.is_empty() && partial.current.is_empty(), "{partial:?}");
    assert!(!t.tables().await.contains(&"first_t".to_owned()), "the whole run rolled back");
    assert!(t.recorded().await.is_empty());
    db.close().await;
}

#[tokio::test]
async fn passwords_never_appear_in_errors() {
    for url in [
        "postgres://postgres:Hunter2Secret@127.0.0.1:1/app",
        "mysql://root:Hunter2Secret@127.0.0.1:3306/test",
        "postgresql://someone:Hunter2Secret@127.0.0.1:5432/postgres",
        "mysql://root@127.0.0.1:1/test?password=Hunter2Secret",
        "oracle://root:Hunter2Secret@127.0.0.1/x",
    ]
    .map(|url| tokio::spawn(async move { Db::connect(url).await.unwrap_err() }))
    {
        let err = url.await.unwrap();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("Hunter2Secret"), "{shown}");
        assert!(shown.contains("***") || shown.contains("oracle"), "{shown}");
        assert_eq!(err.kind(), ErrorKind::Connection);
    }
    let t = TestDb::new(Dialect::Postgres);
    let db = t.db().await;
    assert!(!format!("{db:?}").contains("postgres@"), "{db:?}");
}

#[tokio::test]
async fn postgres_runs_non_transactional_migrations_outside_a_transaction() {
    let t = TestDb::new(Dialect::Postgres);
    let db = t.db().await;
    let concurrently = migration_with(
        "m2",
        "m1",
        "-- transaction: false",
        "CREATE INDEX CONCURRENTLY first_idx ON first_t (id);\nCREATE INDEX CONCURRENTLY first_idx2 ON first_t (id);",
        "DROP INDEX CONCURRENTLY first_idx2;\nDROP INDEX CONCURRENTLY first_idx;",
    );
    let broken = migration_with(
        "m3",
        "m2",
        "-- transaction: false",
        "CREATE INDEX CONCURRENTLY third_idx ON first_t (id);\nCREATE INDEX CONCURRENTLY bad ON missing_t (id);",
        "DROP INDEX third_idx;",
    );
    let m = Migrator::new(graph(vec![ok_first(), concurrently, broken]));
    let err = m.upgrade(&db, &Target::Head).await.unwrap_err();
    assert!(matches!(err, Error::Statement { aftermath: Aftermath::Partial, line: 7, .. }), "{err:?}");
    assert!(err.to_string().contains("transaction: false"), "{err}");
    assert_eq!(t.recorded().await, ["m1", "m2"]);
    let indexes = t.query("SELECT indexname FROM pg_indexes WHERE tablename = 'first_t' ORDER BY 1").await;
    assert_eq!(indexes.len(), 3, "{indexes:?}");
    let history = m.history(&db).await.unwrap();
    assert!(history[1].duration.is_some());
    m.downgrade(&db, &Target::Base).await.unwrap();
    assert!(t.recorded().await.is_empty());
}

#[tokio::test]
async fn sqlite_lock_is_reported_when_another_writer_holds_it() {
    use sqlx::Connection;
    let t = TestDb::new(Dialect::Sqlite);
    let mut holder = sqlx::SqliteConnection::connect(&t.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE; CREATE TABLE x (id INT)").execute(&mut holder).await.unwrap();
    let db = t.db().await;
    let m = Migrator::new(graph(vec![ok_first()]))
        .with_options(Options::default().lock_timeout(std::time::Duration::from_millis(300)));
    let err = m.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Lock, "{err}");
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.recorded().await, ["m1"]);
}

/// What another connection that does not wait sees of a SQLite database while a run is between
/// two steps: with a rollback journal, nothing (the run holds the database from its first step
/// to its end, so no reader sees half a run); in WAL mode, where readers never wait for a
/// writer, the steps done so far. Either way the run lets go of the database when it ends.
#[tokio::test]
async fn a_sqlite_run_keeps_other_connections_from_seeing_it_half_done_and_lets_go_after() {
    use std::sync::{Arc, Mutex};
    for wal in [false, true] {
        let t = TestDb::new(Dialect::Sqlite);
        if wal {
            assert_eq!(t.scalar("PRAGMA journal_mode = WAL").await.as_deref(), Some("wal"));
        }
        // The app's pool, of one connection: the run's, which goes back to it.
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&t.url).await.unwrap();
        let seen: Arc<Mutex<Option<Result<String, String>>>> = Arc::default();
        let (url, seen_then) = (t.url.clone(), seen.clone());
        let hook = move |event: &migrate_core::Event| {
            let migrate_core::Event::Finished { revision, .. } = event else { return };
            if revision != "m1" {
                return;
            }
            let url = url.clone();
            let read = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    let mut c = sqlx::SqliteConnection::connect(&url).await.map_err(|e| e.to_string())?;
                    sqlx::raw_sql("PRAGMA busy_timeout = 0").execute(&mut c).await.map_err(|e| e.to_string())?;
                    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM migrate_history")
                        .fetch_one(&mut c)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(count.to_string())
                })
            });
            *seen_then.lock().unwrap() = Some(read.join().unwrap());
        };
        let m = Migrator::new(graph(vec![ok_first(), fixed_second()])).with_options(Options::default().on_event(hook));
        m.upgrade(&pool, &Target::Head).await.unwrap();
        let seen = seen.lock().unwrap().take().expect("the hook ran once m1 was done");
        if wal {
            assert_eq!(seen, Ok("1".to_owned()));
        } else {
            let err = seen.expect_err("a reader got in between two steps");
            assert!(err.contains("database is locked"), "{err}");
        }
        // The run let go: a writer that does not wait gets in at once, and the pool's
        // connection is back in normal locking mode.
        t.try_query("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; CREATE TABLE after_t (id INT); COMMIT").await.unwrap();
        assert_eq!(t.recorded().await, ["m1", "m2"]);
        let mode: String = sqlx::query_scalar("PRAGMA locking_mode").fetch_one(&pool).await.unwrap();
        assert_eq!(mode, "normal", "wal: {wal}");
    }
}

/// A step that waits out the lock timeout behind another writer stops the run with what it had
/// done: the steps before it stay applied, and the error's report says which. (Only in WAL mode
/// can another writer get in between two steps: with a rollback journal the run holds the
/// database to its end.)
#[tokio::test]
async fn a_step_that_times_out_behind_another_writer_reports_what_the_run_had_done() {
    use std::sync::{Arc, Mutex, mpsc};
    let t = TestDb::new(Dialect::Sqlite);
    assert_eq!(t.scalar("PRAGMA journal_mode = WAL").await.as_deref(), Some("wal"));
    let db = t.db().await;
    // Once `m1` is done, another connection takes the write lock until the test releases it.
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(Some(released));
    let holder: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let (url, hold) = (t.url.clone(), holder.clone());
    let hook = move |event: &migrate_core::Event| {
        let migrate_core::Event::Finished { revision, .. } = event else { return };
        let Some(released) = released.lock().unwrap().take().filter(|_| revision == "m1") else { return };
        let (held, holding) = mpsc::channel();
        let url = url.clone();
        *hold.lock().unwrap() = Some(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut c).await.unwrap();
                held.send(()).unwrap();
                released.recv().unwrap();
                sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
            });
        }));
        holding.recv().unwrap();
    };
    let second = migration("m2", "m1", "CREATE TABLE second_t (id INT);", "DROP TABLE second_t;");
    let m = Migrator::new(graph(vec![ok_first(), second]))
        .with_options(Options::default().lock_timeout(std::time::Duration::from_millis(300)).on_event(hook));
    let err = m.upgrade(&db, &Target::Head).await.unwrap_err();
    release.send(()).unwrap();
    holder.lock().unwrap().take().expect("the lock was taken after m1").join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Lock, "{err}");
    let partial = err.partial().expect("the error says what the run had done");
    let done: Vec<&str> = partial.steps.iter().map(|s| s.revision.as_str()).collect();
    assert_eq!((done, partial.current.clone()), (vec!["m1"], vec!["m1".to_owned()]));
    assert_eq!(t.recorded().await, ["m1"]);
    m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.recorded().await, ["m1", "m2"]);
}

#[tokio::test]
async fn sqlite_run_lock_times_out_naming_its_holder_and_is_free_once_released() {
    use std::io::Write;
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let file = t.try_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'").await.unwrap();
    let lock_path = format!("{file}-migrate.lock");
    let mut held = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&lock_path).unwrap();
    held.lock().unwrap();
    writeln!(held, "process 4242 on test-host").unwrap();
    let m = Migrator::new(graph(vec![ok_first()]))
        .with_options(Options::default().lock_timeout(std::time::Duration::from_millis(300)));
    let err = m.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Lock, "{err}");
    let text = err.to_string();
    assert!(text.contains("process 4242 on test-host") && text.contains(&lock_path), "{text}");
    let recorded = t.try_scalar("SELECT count(*) FROM migrate_history").await;
    assert!(recorded.is_none_or(|n| n == "0"), "nothing ran without the lock");
    drop(held);
    m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.recorded().await, ["m1"]);
}

async fn lock_timeout_names_the_holder_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let slow_sql = if dialect == Dialect::Postgres { "SELECT pg_sleep(3);" } else { "DO SLEEP(3);" };
    let first = || migration("m0", "", "CREATE TABLE first_t (id INT);", "DROP TABLE first_t;");
    let both = || graph(vec![first(), migration("m1", "m0", slow_sql, "SELECT 1;")]);
    let timeout = Options::default().lock_timeout(std::time::Duration::from_secs(1));
    let slow = Migrator::new(both());
    let other = Migrator::new(both()).with_options(timeout.clone());
    let db2 = db.clone();
    let running = tokio::spawn(async move { slow.upgrade(&db2, &Target::Head).await });
    // Once m0 is recorded, the slow run holds the lock until m1 is done.
    for _ in 0..500 {
        if t.try_scalar("SELECT count(*) FROM migrate_history WHERE revision = 'm0'").await.as_deref() == Some("1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let err = other.upgrade(&db, &Target::Head).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Lock, "{err}");
    let text = err.to_string();
    let who = if dialect == Dialect::Postgres { "PostgreSQL backend pid" } else { "MySQL connection" };
    assert!(text.contains(who), "{text}");
    if dialect == Dialect::Postgres {
        // The holder's session is named after the tool, so people can tell what holds the lock.
        assert!(text.contains("application `cargo-migrate`"), "{text}");
    }
    assert!(text.contains("SLEEP(3)") || text.contains("pg_sleep(3)"), "{text}");
    // A build whose head is already applied has nothing to do and needs no lock. (On MySQL the
    // revision in flight is marked dirty inside its transaction, which only DDL would commit.)
    let older = Migrator::new(graph(vec![first()])).with_options(timeout);
    let start = std::time::Instant::now();
    let report = older.upgrade(&db, &Target::Head).await.unwrap();
    assert!(report.steps.is_empty());
    assert_eq!(report.current, ["m0"]);
    assert!(start.elapsed() < std::time::Duration::from_millis(500), "{:?}", start.elapsed());
    running.await.unwrap().unwrap();
    // Released: the next run takes it at once.
    assert_eq!(other.downgrade(&db, &Target::Base).await.unwrap().steps.len(), 2);
}

#[tokio::test]
async fn lock_timeout_names_the_holder_postgres() {
    lock_timeout_names_the_holder_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn lock_timeout_names_the_holder_mysql() {
    lock_timeout_names_the_holder_on(Dialect::MySql).await;
}

/// Regression: when the connection was lost while a step ran, the run said the revision had
/// been rolled back, though the server may have run the whole batch, its COMMIT included.
/// Here it did: the error says the outcome is unknown, and the database records the revision.
#[tokio::test]
async fn a_connection_lost_during_a_step_does_not_claim_a_rollback() {
    let t = TestDb::new(Dialect::Postgres);
    let proxy = migrate_tests::servers::CutProxy::start("127.0.0.1:5432", b"cut_here");
    // In clear text, so that the proxy sees the marker.
    let url = t.url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1) + "?sslmode=disable";
    assert_ne!(url, t.url, "the test database is on 127.0.0.1:5432");
    let db = Db::connect(&url).await.unwrap();
    let g = graph(vec![ok_first(), migration("m2", "m1", "CREATE TABLE cut_here (id INT);", "DROP TABLE cut_here;")]);
    let err = Migrator::new(g).upgrade(&db, &Target::Head).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("the connection was lost while `m2` ran") && text.contains("unknown"), "{text}");
    assert!(!text.contains("rolled back"), "{text}");
    assert_eq!(err.partial().unwrap().current, ["m1"], "what the run knows it applied");
    // The server ran the batch to its COMMIT once the client was gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.recorded().await != ["m1", "m2"] {
        assert!(std::time::Instant::now() < deadline, "{:?}", t.recorded().await);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    db.close().await;
}
