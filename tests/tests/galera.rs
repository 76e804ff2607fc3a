//! MariaDB Galera for real: a three-node cluster on loopback, where `GET_LOCK` holds on one node
//! only. The run detects the cluster (`wsrep_on`) and takes the lock table instead: upgraders
//! started at the same moment through different nodes apply each revision exactly once, every
//! node agrees, and DDL runs under Total Order Isolation. A node killed mid-run leaves a claim
//! that an upgrade through another node takes over once its lease has run out, and finishes. A
//! node switched to Rolling Schema Upgrade is refused before anything changes.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use migrate_core::sql::Dialect;
use migrate_core::{Migrator, Resolution, load_dir};
use migrate_tests::processes::{self, Lock, text};
use migrate_tests::servers::Galera;
use migrate_tests::{TestDb, migration_text};

const RUNNER: &str = env!("CARGO_BIN_EXE_migrate_runner");

/// The runner in the default lock mode (auto) through `url`.
fn runner(url: &str, dir: &Path, lock_ms: u64) -> Command {
    let mut c = processes::runner(RUNNER, url, dir, lock_ms, Lock::Session);
    c.env("MIGRATE_LOCK", "auto");
    c
}

/// `n` revisions: `k000` creates `runs`; each `kNNN` waits `ms`, creates table `kNNN` and
/// records its run in `runs` (a side effect that is not idempotent).
fn write_chain(dir: &Path, n: usize, ms: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        let id = format!("k{i:03}");
        let parent = if i == 0 { String::new() } else { format!("k{:03}", i - 1) };
        let mut up = if i == 0 {
            "CREATE TABLE runs (id INT AUTO_INCREMENT PRIMARY KEY, rev VARCHAR(20) NOT NULL);\n".to_owned()
        } else {
            String::new()
        };
        up.push_str(&format!(
            "DO SLEEP({});\nCREATE TABLE {id} (id INT PRIMARY KEY);\nINSERT INTO runs (rev) VALUES ('{id}');",
            f64::from(ms) / 1000.0
        ));
        let down = if i == 0 { "DROP TABLE k000;\nDROP TABLE runs;".to_owned() } else { format!("DROP TABLE {id};") };
        std::fs::write(dir.join(format!("{id}.sql")), migration_text(&id, &parent, "", &up, &down)).unwrap();
    }
}

/// A test database made through node 1, returned once every node has it. `CREATE DATABASE`
/// returns when the cluster has certified it, while the other nodes may still be applying it;
/// `wsrep_sync_wait` makes each node's read wait for that.
fn database(cluster: &Galera) -> (TestDb, String) {
    let t = TestDb::on_server(Dialect::MySql, &cluster.url(0, "mysql"));
    let db = t.url.rsplit('/').next().unwrap().to_owned();
    let there = format!(
        "SET SESSION wsrep_sync_wait = 1; SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{db}'"
    );
    for node in 0..3 {
        assert_eq!(cluster.sql(node, &there).as_deref(), Ok("1"), "node {} has {db}", node + 1);
    }
    (t, db)
}

/// What `node` says of the test database, after waiting for every write the cluster has
/// certified (`wsrep_sync_wait`): history rows, dirty rows, runs, distinct runs, lock rows.
fn seen(cluster: &Galera, node: usize, db: &str) -> String {
    cluster
        .sql(
            node,
            &format!(
                "SET SESSION wsrep_sync_wait = 1; SELECT (SELECT count(*) FROM {db}.migrate_history), \
                 (SELECT count(dirty) FROM {db}.migrate_history), (SELECT count(*) FROM {db}.runs), \
                 (SELECT count(DISTINCT rev) FROM {db}.runs), (SELECT count(*) FROM {db}.migrate_history_lock)"
            ),
        )
        .unwrap_or_else(|e| format!("error: {e}"))
}

/// Six upgraders, two through each node, started at the same moment.
fn upgraders_through_every_node(cluster: &Galera, trial: usize) {
    let (t, db) = database(cluster);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    let n = 12;
    write_chain(&dir, n, 5);
    let children: Vec<_> = [0, 1, 2, 0, 1, 2]
        .into_iter()
        .map(|node| runner(&t.url_via(&cluster.url(node, "mysql")), &dir, 120_000).spawn().unwrap())
        .collect();
    let (mut applied, mut chose_table) = (0, 0);
    for child in children {
        let out = child.wait_with_output().unwrap();
        let said = text(&out);
        assert!(out.status.success(), "trial {trial}: {said}");
        if said.contains("lock table: ") {
            assert!(said.contains("Galera") && said.contains("wsrep_on"), "{said}");
            chose_table += 1;
        }
        let last = said.trim().lines().last().unwrap_or_default().to_owned();
        applied += last.strip_prefix("ok ").unwrap().parse::<usize>().unwrap();
    }
    assert_eq!(applied, n, "trial {trial}: every revision ran in exactly one process");
    assert!(chose_table >= 1, "trial {trial}: no process said it took the lock table");
    // Every node: each revision recorded once, its side effect once, nothing dirty or held.
    for node in 0..3 {
        assert_eq!(seen(cluster, node, &db), format!("{n}\t0\t{n}\t{n}\t0"), "trial {trial}, node {}", node + 1);
    }
    eprintln!("trial {trial}: {n} revisions applied once, agreed by all three nodes");
}

/// A node set to Rolling Schema Upgrade would apply a migration's DDL on itself alone while its
/// history row reached every node: refused before any lock or change.
fn a_node_in_rolling_schema_upgrade_is_refused(cluster: &Galera) {
    let (t, db) = database(cluster);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    write_chain(&dir, 3, 1);
    cluster.sql(1, "SET GLOBAL wsrep_OSU_method = 'RSU'").unwrap();
    let out = runner(&t.url_via(&cluster.url(1, "mysql")), &dir, 10_000).output().unwrap();
    cluster.sql(1, "SET GLOBAL wsrep_OSU_method = 'TOI'").unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("error[ReadOnly]") && said.contains("RSU") && said.contains("stamp"), "{said}");
    let tables = format!("SELECT count(*) FROM information_schema.tables WHERE table_schema = '{db}'");
    assert_eq!(cluster.sql(0, &tables).unwrap(), "0", "nothing was created");
    // Through the same node back in TOI, the run goes through.
    let out = runner(&t.url_via(&cluster.url(1, "mysql")), &dir, 10_000).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

/// A node killed with SIGKILL in the middle of a run through it.
fn a_killed_node(cluster: &mut Galera) {
    let (t, db) = database(cluster);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("migrations");
    let n = 30;
    write_chain(&dir, n, 200);
    let victim = runner(&t.url_via(&cluster.url(2, "mysql")), &dir, 60_000).spawn().unwrap();
    let runs = format!("SET SESSION wsrep_sync_wait = 1; SELECT count(*) FROM {db}.runs");
    processes_wait(|| cluster.sql(0, &runs).ok().and_then(|c| c.parse::<usize>().ok()).is_some_and(|c| c >= 3));
    cluster.kill(2);
    let out = victim.wait_with_output().unwrap();
    assert!(!out.status.success(), "the run through the killed node cannot have finished: {}", text(&out));
    cluster.wait_synced(0, 2, 60);
    cluster.wait_synced(1, 2, 60);

    // Through node 1: the dead run's claim is taken over once its lease ran out, and said so.
    let url = t.url_via(&cluster.url(0, "mysql"));
    let out = runner(&url, &dir, 30_000).output().unwrap();
    let said = text(&out);
    assert!(said.contains("took over: "), "{said}");
    eprintln!("after the kill, through node 1: {}", said.trim().lines().last().unwrap_or_default());
    if !out.status.success() {
        // The kill fell after a DDL statement of a revision: it is dirty, and said so.
        assert!(said.contains("error[Dirty]") && said.contains("resolve"), "{said}");
        let rev = said.split('`').nth(1).unwrap().to_owned();
        let fix = format!("DROP TABLE IF EXISTS {db}.{rev}; DELETE FROM {db}.runs WHERE rev = '{rev}'");
        cluster.sql(0, &fix).unwrap();
        let migrator = Migrator::new(load_dir(&dir, "migrations").unwrap());
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
            let pool = t_db(&url).await;
            migrator.resolve_dirty(&pool, &rev, Resolution::MarkUnapplied).await.unwrap();
            pool.close().await;
        });
        let out = runner(&url, &dir, 30_000).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
    }
    // Both surviving nodes agree: every revision once, nothing dirty, no claim left.
    for node in 0..2 {
        assert_eq!(seen(cluster, node, &db), format!("{n}\t0\t{n}\t{n}\t0"), "node {}", node + 1);
    }
    eprintln!("node 3 killed mid-run: the run was taken over through node 1 and finished; nodes 1 and 2 agree");
}

async fn t_db(url: &str) -> migrate_core::Db {
    migrate_core::Db::connect(url).await.unwrap()
}

fn processes_wait(mut ready: impl FnMut() -> bool) {
    migrate_tests::servers::wait_until("the run through node 3 to be under way", 60, &mut ready);
}

#[test]
fn galera_cluster() {
    let started = std::time::Instant::now();
    let mut cluster = Galera::start();
    eprintln!("three Synced nodes in {:.1} s", started.elapsed().as_secs_f64());
    for node in 0..3 {
        // DDL runs under Total Order Isolation: every node applies it in the same order.
        assert_eq!(cluster.sql(node, "SELECT @@wsrep_OSU_method").unwrap(), "TOI");
    }
    a_node_in_rolling_schema_upgrade_is_refused(&cluster);
    for trial in 0..5 {
        upgraders_through_every_node(&cluster, trial);
    }
    a_killed_node(&mut cluster);
    let _ = cluster.log(0);
}
