//! A fleet's drift check through the library against the real PostgreSQL: every database checked
//! against the head and for drift, the expected schema built once for all of them (the only
//! test in its binary, so that the count of scratch databases is this test's own).
#![allow(clippy::unwrap_used)]

use migrate_core::sql::Dialect;
use migrate_core::{FleetOp, FleetOutcome, Migrator, Scratch, Target};
use migrate_tests::{TestDb, graph, migration};

/// The number this process's next scratch database takes (its name ends with it).
async fn next_scratch(server: &migrate_core::Db) -> u32 {
    let probe = Scratch::create(server, "probe").await.unwrap();
    let n = probe.name().rsplit('_').next().unwrap().parse().unwrap();
    probe.drop().await;
    n
}

#[tokio::test]
async fn a_fleet_drift_check_builds_the_expected_schema_once() {
    let tenants = [TestDb::new(Dialect::Postgres), TestDb::new(Dialect::Postgres), TestDb::new(Dialect::Postgres)];
    let urls: Vec<String> = tenants.iter().map(|t| t.url.clone()).collect();
    let migrator = Migrator::new(graph(vec![
        migration("m1", "", "CREATE TABLE a (id int PRIMARY KEY);", "DROP TABLE a;"),
        migration("m2", "m1", "ALTER TABLE a ADD COLUMN b text;", "ALTER TABLE a DROP COLUMN b;"),
    ]));
    for r in migrator.fleet(&urls, &FleetOp::Upgrade(Target::Head), 3, false).await {
        assert!(!r.failed(), "{:?}", r.outcome);
    }
    tenants[2].try_query("CREATE INDEX by_b ON a (b)").await.unwrap();

    let server = tenants[0].db().await;
    let before = next_scratch(&server).await;
    let results = migrator.fleet(&urls, &FleetOp::CheckDrift, 3, false).await;
    let after = next_scratch(&server).await;
    assert_eq!(after - before - 1, 1, "one scratch build for three databases at the same revisions");

    let drifts: Vec<bool> = results
        .iter()
        .map(|r| match &r.outcome {
            Some(Ok(FleetOutcome::CheckedDrift(status, drift))) => {
                assert_eq!(status.current, ["m2"]);
                !drift.is_empty()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(drifts, [false, false, true]);
    let left = tenants[0]
        .query("SELECT datname FROM pg_database WHERE datname LIKE 'cargo_migrate_scratch_build_%'")
        .await
        .into_iter()
        .filter(|row| row[0].as_deref().is_some_and(|n| n.contains(&format!("_{}_", std::process::id()))))
        .count();
    assert_eq!(left, 0, "every scratch database is dropped");
    server.close().await;
}
