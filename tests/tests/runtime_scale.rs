//! 1,000 small migrations upgrade and downgrade correctly on every backend. Each inserts one
//! row, so the suite stays fast; the benchmark applies 1,000 tables with an index each.
#![allow(clippy::unwrap_used)]

use migrate_core::sql::Dialect;
use migrate_core::{Migrator, Options, Target};
use migrate_tests::{TestDb, graph, migration};

/// `r00000` creates `seq`; every later `rNNNNN` inserts its number.
fn rows(n: usize) -> migrate_core::RevisionGraph {
    let mut out = vec![migration("r00000", "", "CREATE TABLE seq (i INT PRIMARY KEY);", "DROP TABLE seq;")];
    for i in 1..n {
        out.push(migration(
            &format!("r{i:05}"),
            &format!("r{:05}", i - 1),
            &format!("INSERT INTO seq VALUES ({i});"),
            &format!("DELETE FROM seq WHERE i = {i};"),
        ));
    }
    graph(out)
}

async fn thousand_on(dialect: Dialect, all_or_nothing: bool) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let m = Migrator::new(rows(1000)).with_options(Options::default().all_or_nothing(all_or_nothing));
    let report = m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(report.steps.len(), 1000);
    assert_eq!(t.scalar("SELECT count(*) FROM seq").await.as_deref(), Some("999"));
    assert_eq!(t.recorded().await.len(), 1000);
    let order = m.history(&db).await.unwrap();
    assert!(order.windows(2).all(|w| w[0].applied_at <= w[1].applied_at));
    m.check(&db).await.unwrap();
    assert!(m.upgrade(&db, &Target::Head).await.unwrap().steps.is_empty());

    let report = m.downgrade(&db, &"r00500".parse().unwrap()).await.unwrap();
    assert_eq!(report.steps.len(), 499);
    assert_eq!(report.steps[0].revision, "r00999");
    assert_eq!(t.scalar("SELECT max(i) FROM seq").await.as_deref(), Some("500"));
    assert_eq!(t.scalar("SELECT count(*) FROM seq").await.as_deref(), Some("500"));
    let report = m.downgrade(&db, &Target::Base).await.unwrap();
    assert_eq!(report.steps.len(), 501);
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log"]);
    let log = m.log(&db).await.unwrap();
    assert_eq!(log.len(), 2000);
    // In run order, every upgrade timed, in either mode.
    let (ups, downs) = log.split_at(1000);
    assert!(ups.iter().enumerate().all(|(i, e)| e.revision == format!("r{i:05}") && e.action == "upgrade"));
    assert!(ups.iter().all(|e| e.duration.is_some()), "{:?}", ups.iter().find(|e| e.duration.is_none()));
    assert!(downs.iter().enumerate().all(|(i, e)| e.revision == format!("r{:05}", 999 - i) && e.action == "downgrade"));
    assert!(log.windows(2).all(|w| w[0].logged_at <= w[1].logged_at));
    db.close().await;
}

#[tokio::test]
async fn thousand_sqlite() {
    thousand_on(Dialect::Sqlite, false).await;
}
#[tokio::test]
async fn thousand_sqlite_all_or_nothing() {
    thousand_on(Dialect::Sqlite, true).await;
}
#[tokio::test]
async fn thousand_postgres() {
    thousand_on(Dialect::Postgres, false).await;
}
#[tokio::test]
async fn thousand_postgres_all_or_nothing() {
    thousand_on(Dialect::Postgres, true).await;
}
#[tokio::test]
async fn thousand_mysql() {
    thousand_on(Dialect::MySql, false).await;
}
