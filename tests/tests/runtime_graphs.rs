//! The runtime against real SQLite, PostgreSQL and MariaDB: upgrade, downgrade and stamp over
//! linear, branched and merged graphs, with the schema inspected afterwards.
#![allow(clippy::unwrap_used)]

use migrate_core::sql::Dialect;
use migrate_core::{ErrorKind, Event, Migrator, Options, Target};
use migrate_tests::{TestDb, graph, migration};
use std::sync::{Arc, Mutex};

fn target(s: &str) -> Target {
    s.parse().unwrap()
}

fn linear() -> migrate_core::RevisionGraph {
    graph(vec![
        migration("a1", "", "CREATE TABLE users (id INT PRIMARY KEY);", "DROP TABLE users;"),
        migration(
            "b2",
            "a1",
            "ALTER TABLE users ADD COLUMN email VARCHAR(100);",
            "ALTER TABLE users DROP COLUMN email;",
        ),
        migration("c3", "b2", "CREATE TABLE posts (id INT PRIMARY KEY, author INT);", "DROP TABLE posts;"),
    ])
}

async fn linear_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let m = Migrator::new(linear())
        .with_options(Options::default().on_event(move |e| seen.lock().unwrap().push(e.clone())));

    let report = m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(report.steps.iter().map(|s| s.revision.as_str()).collect::<Vec<_>>(), ["a1", "b2", "c3"]);
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log", "posts", "users"]);
    assert_eq!(t.columns("users").await, ["id", "email"]);
    let steps = events.lock().unwrap().iter().filter(|e| !matches!(e, Event::Statement { .. })).count();
    assert_eq!(steps, 6);
    assert!(
        matches!(&events.lock().unwrap()[0], Event::Started { revision, index: 0, total: 3, .. } if revision == "a1")
    );
    m.check(&db).await.unwrap();

    // A second run is a no-op.
    assert!(m.upgrade(&db, &Target::Head).await.unwrap().steps.is_empty());

    let history = m.history(&db).await.unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[1].parents, ["a1"]);
    assert_eq!(history[1].checksum, m.graph().get("b2").unwrap().checksum.to_hex());
    assert!(
        history[0].applied_at.ends_with('Z') && history[0].applied_at.starts_with("20"),
        "{}",
        history[0].applied_at
    );
    assert!(history.iter().all(|h| h.duration.is_some() && h.dirty.is_none()));

    m.downgrade(&db, &target("-1")).await.unwrap();
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log", "users"]);
    let err = m.check(&db).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Behind, "{err}");
    assert!(err.to_string().contains("c3"), "{err}");

    m.downgrade(&db, &target("a1")).await.unwrap();
    assert_eq!(t.columns("users").await, ["id"]);
    m.downgrade(&db, &Target::Base).await.unwrap();
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log"]);
    assert!(t.recorded().await.is_empty());

    // Stamp records without running SQL.
    m.stamp(&db, &Target::Head, false).await.unwrap();
    assert_eq!(t.recorded().await, ["a1", "b2", "c3"]);
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log"]);
    m.stamp(&db, &target("a1"), false).await.unwrap();
    assert_eq!(t.recorded().await, ["a1"]);
    m.stamp(&db, &Target::Base, false).await.unwrap();
    assert!(t.recorded().await.is_empty());

    let log: Vec<String> =
        m.log(&db).await.unwrap().into_iter().map(|l| format!("{} {}", l.action, l.revision)).collect();
    assert_eq!(
        log,
        [
            "upgrade a1",
            "upgrade b2",
            "upgrade c3",
            "downgrade c3",
            "downgrade b2",
            "downgrade a1",
            "stamp a1",
            "stamp b2",
            "stamp c3",
            "unstamp c3",
            "unstamp b2",
            "unstamp a1"
        ]
    );
    db.close().await;
}

#[tokio::test]
async fn linear_sqlite() {
    linear_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn linear_postgres() {
    linear_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn linear_mysql() {
    linear_on(Dialect::MySql).await;
}

/// root → (left, right) → merge.
fn diamond() -> migrate_core::RevisionGraph {
    graph(vec![
        migration("root", "", "CREATE TABLE base_t (id INT);", "DROP TABLE base_t;"),
        migration("left", "root", "CREATE TABLE left_t (id INT);", "DROP TABLE left_t;"),
        migration("right", "root", "CREATE TABLE right_t (id INT);", "DROP TABLE right_t;"),
        migration("merge", "left, right", "CREATE TABLE merged_t (id INT);", "DROP TABLE merged_t;"),
    ])
}

async fn branches_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let m = Migrator::new(diamond());
    m.upgrade(&db, &target("left")).await.unwrap();
    assert_eq!(t.tables().await, ["base_t", "left_t", "migrate_history", "migrate_log"]);
    assert_eq!(m.current(&db).await.unwrap(), ["left"]);

    m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.tables().await, ["base_t", "left_t", "merged_t", "migrate_history", "migrate_log", "right_t"]);
    assert_eq!(m.current(&db).await.unwrap(), ["merge"]);

    // Downgrading to `left` removes only what descends from it.
    let report = m.downgrade(&db, &target("left")).await.unwrap();
    assert_eq!(report.steps.iter().map(|s| s.revision.as_str()).collect::<Vec<_>>(), ["merge"]);
    assert_eq!(t.tables().await, ["base_t", "left_t", "migrate_history", "migrate_log", "right_t"]);
    let mut current = m.current(&db).await.unwrap();
    current.sort();
    assert_eq!(current, ["left", "right"]);

    m.downgrade(&db, &target("root")).await.unwrap();
    assert_eq!(t.tables().await, ["base_t", "migrate_history", "migrate_log"]);

    // Stamp to the merge records every ancestor.
    m.stamp(&db, &target("merge"), false).await.unwrap();
    assert_eq!(t.recorded().await, ["left", "merge", "right", "root"]);
    let status = m.status(&db).await.unwrap();
    assert!(status.pending.is_empty() && status.dirty.is_none() && status.changed.is_empty());
    db.close().await;
}

#[tokio::test]
async fn branches_sqlite() {
    branches_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn branches_postgres() {
    branches_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn branches_mysql() {
    branches_on(Dialect::MySql).await;
}

/// Configured table names, schema-qualified on PostgreSQL; two configurations in one database
/// keep separate histories (and separate locks).
#[tokio::test]
async fn postgres_schema_and_table_names() {
    let t = TestDb::new(Dialect::Postgres);
    let db = t.db().await;
    let options = Options::default().schema("meta").history_table("app_history").log_table("app_log");
    let m = Migrator::new(linear()).with_options(options.clone());
    m.upgrade(&db, &Target::Head).await.unwrap();
    assert!(m.upgrade(&db, &Target::Head).await.unwrap().steps.is_empty());
    let meta = t.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'meta' ORDER BY 1").await;
    assert_eq!(meta, [[Some("app_history".to_owned())], [Some("app_log".to_owned())]]);
    assert_eq!(t.tables().await, ["posts", "users"]);
    assert_eq!(m.history(&db).await.unwrap().len(), 3);
    m.check(&db).await.unwrap();

    // Another configuration sees an empty history of its own.
    let other = Migrator::new(linear());
    assert_eq!(other.status(&db).await.unwrap().pending.len(), 3);
    assert!(other.history(&db).await.unwrap().is_empty());
    m.downgrade(&db, &Target::Base).await.unwrap();
    assert!(t.tables().await.is_empty());
}

/// Values embedded by `migrate!()` run through the same runtime.
#[tokio::test]
async fn embedded_migrations_upgrade_with_one_call() {
    static MIGRATIONS: migrate_core::Migrations =
        migrate_macros::migrate!("../../migrate-core/examples/app/migrations");
    let t = TestDb::new(Dialect::Sqlite);
    let pool = sqlx::SqlitePool::connect(&t.url).await.unwrap();
    let report = MIGRATIONS.upgrade(&pool).await.unwrap();
    assert_eq!(report.steps.len(), 3);
    assert!(MIGRATIONS.upgrade(&pool).await.unwrap().steps.is_empty());
    MIGRATIONS.check(&pool).await.unwrap();
    assert_eq!(t.columns("users").await, ["id", "name", "email"]);
    assert_eq!(MIGRATIONS.status(&pool).await.unwrap().current, ["c3f7a1e5b9d2"]);
    MIGRATIONS.downgrade(&pool, &Target::Base).await.unwrap();
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log"]);
}

/// A project without migrations upgrades to nothing and checks clean.
#[tokio::test]
async fn no_migrations_at_all() {
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let m = Migrator::new(migrate_core::RevisionGraph::new(Vec::new()).unwrap());
    assert!(m.upgrade(&db, &Target::Head).await.unwrap().steps.is_empty());
    m.check(&db).await.unwrap();
    assert!(migrate_core::Migrations::EMPTY.upgrade(&db).await.unwrap().steps.is_empty());
}

/// On SQLite the stairway compares the catalogue's `CREATE` texts before it reads schemas: a
/// downgrade that restores the schema in other words (a table rebuilt, spelled differently) still
/// passes, one that leaves an index behind still fails with what it left, and the revision after
/// it is tested from a clean start.
#[tokio::test]
async fn the_stairway_tells_a_respelled_schema_from_a_changed_one() {
    use migrate_core::StairwayOutcome;
    let respelled = migration(
        "m2",
        "m1",
        "ALTER TABLE t ADD COLUMN y int;",
        "CREATE TABLE t_old (x   INT);\nINSERT INTO t_old SELECT x FROM t;\nDROP TABLE t;\nALTER TABLE t_old RENAME TO t;",
    );
    let leaky = migration("m3", "m2", "CREATE INDEX t_x ON t (x);", "SELECT 1;");
    let m = Migrator::new(graph(vec![
        migration("m1", "", "CREATE TABLE t (x int);", "DROP TABLE t;"),
        respelled,
        leaky,
        migration("m4", "m3", "CREATE TABLE u (z int);", "DROP TABLE u;"),
    ]));
    let server = TestDb::new(Dialect::Sqlite);
    let report = m.stairway(server.db().await, None, None).await.unwrap();
    let outcomes: Vec<_> = report.steps.iter().map(|s| (s.revision.as_str(), &s.outcome)).collect();
    assert!(matches!(outcomes[0], ("m1", StairwayOutcome::Clean)), "{outcomes:?}");
    assert!(matches!(outcomes[1], ("m2", StairwayOutcome::Clean)), "{outcomes:?}");
    assert!(
        matches!(outcomes[2], ("m3", StairwayOutcome::LeavesDifferences(d)) if d.iter().any(|l| l.contains("t_x"))),
        "{outcomes:?}"
    );
    assert!(matches!(outcomes[3], ("m4", StairwayOutcome::Clean)), "{outcomes:?}");
}

/// A `#[test]` proves every downgrade of `migrate!()`'s value: the example app's chain passes,
/// on SQLite in memory and beside a PostgreSQL database, which stays untouched.
#[tokio::test]
async fn embedded_migrations_prove_their_downgrades() {
    static MIGRATIONS: migrate_core::Migrations =
        migrate_macros::migrate!("../../migrate-core/examples/app/migrations");
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    let report = MIGRATIONS.test_downgrades(&pool).await.unwrap();
    assert!(report.passed(), "{:#?}", report.failures().collect::<Vec<_>>());
    assert_eq!(report.steps.len(), 3);
    let t = TestDb::new(Dialect::Postgres);
    let report = MIGRATIONS.test_downgrades(&t.db().await).await.unwrap();
    assert!(report.passed(), "{:#?}", report.failures().collect::<Vec<_>>());
    assert!(t.tables().await.is_empty(), "the stairway ran in the database itself");
}

/// A service whose database stopped partway through a squashed range (`b2` of `b2, c3`, squashed
/// into `s9`): `migrate!()` embedded the replaced files, so one `upgrade` call finishes the range
/// with them, records the squash in its place, and goes on to the head.
#[tokio::test]
async fn embedded_migrations_finish_a_squashed_range() {
    static MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../fixtures/squashed");
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let graph = MIGRATIONS.graph().unwrap();
    let before = Migrator::new(graph.expand(&["s9".to_owned()]).unwrap());
    before.upgrade(&db, &target("b2")).await.unwrap();

    let status = MIGRATIONS.status(&db).await.unwrap();
    assert_eq!(status.partway, ["s9"]);
    assert_eq!(status.current, ["b2"]);
    assert_eq!(status.pending, ["c3", "d4"]);

    let report = MIGRATIONS.upgrade(&db).await.unwrap();
    let applied: Vec<&str> = report.steps.iter().map(|s| s.revision.as_str()).collect();
    assert_eq!(applied, ["c3", "d4"]);
    assert_eq!(report.current, ["d4"]);
    MIGRATIONS.check(&db).await.unwrap();
    let status = MIGRATIONS.status(&db).await.unwrap();
    assert_eq!(status.applied, ["a1", "s9", "d4"]);
    assert!(status.partway.is_empty());
    assert_eq!(t.columns("t").await, ["x", "y", "z"]);
    assert!(MIGRATIONS.upgrade(&db).await.unwrap().steps.is_empty());
}

/// When the squash cannot be recorded once a run has finished its range, the error still says
/// which revisions the run applied: they stay applied and recorded.
#[tokio::test]
async fn a_squash_that_cannot_be_recorded_still_reports_the_steps_that_ran() {
    static MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../fixtures/squashed");
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let before = Migrator::new(MIGRATIONS.graph().unwrap().expand(&["s9".to_owned()]).unwrap());
    before.upgrade(&db, &target("b2")).await.unwrap();
    t.query(
        "CREATE TRIGGER no_squash BEFORE INSERT ON migrate_log WHEN NEW.action = 'squash' \
         BEGIN SELECT RAISE(ABORT, 'squashes are refused'); END",
    )
    .await;
    let err = MIGRATIONS.upgrade(&db).await.unwrap_err();
    assert!(err.to_string().contains("squashes are refused"), "{err}");
    let partial = err.partial().expect("the error says what the run had done");
    let applied: Vec<&str> = partial.steps.iter().map(|s| s.revision.as_str()).collect();
    assert_eq!(applied, ["c3", "d4"]);
    assert_eq!(t.columns("t").await, ["x", "y", "z"]);
    // The failed record's transaction was rolled back, not left open on the pool's connection:
    // another writer that does not wait gets in.
    t.try_query("PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; COMMIT").await.unwrap();
}
