//! A fleet: the same 5-revision chain upgraded on 1,000 SQLite and 100 PostgreSQL databases
//! with `Migrator::fleet` (8 at a time), as the time per database against upgrading one database
//! alone, measured in the same run.
//!
//! `cargo bench -p migrate-core --bench fleet --features sqlite,postgres,mysql`
//! (`MIGRATE_BENCH_FLEET_SQLITE`, `MIGRATE_BENCH_FLEET_POSTGRES` change the sizes;
//! `MIGRATE_TEST_POSTGRES_URL` the server).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use migrate_core::sqlx::{self, Connection};
use migrate_core::{Db, FleetOp, Migrator, RevisionGraph, Target, parse};

fn graph() -> RevisionGraph {
    let migrations = (0..5)
        .map(|i| {
            let parent = if i == 0 { String::new() } else { format!("r{}", i - 1) };
            let text = format!(
                "-- revision: r{i}\n-- down_revision: {parent}\n-- migrate:up\nCREATE TABLE t{i} (id int PRIMARY KEY, v int);\nCREATE INDEX t{i}_v ON t{i} (v);\n-- migrate:down\nDROP TABLE t{i};\n"
            );
            parse(&format!("migrations/r{i}.sql"), &text).unwrap()
        })
        .collect();
    RevisionGraph::new(migrations).unwrap()
}

fn size(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    let cut = base.rfind('/').unwrap_or(base.len());
    format!("{}/{name}", &base[..cut])
}

async fn alone(migrator: &Migrator, urls: &[String]) -> Duration {
    let mut times = Vec::new();
    for url in urls {
        let start = Instant::now();
        let db = Db::connect(url).await.unwrap();
        migrator.upgrade(&db, &Target::Head).await.unwrap();
        db.close().await;
        times.push(start.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

async fn run(label: &str, migrator: &Migrator, single: Vec<String>, fleet: Vec<String>) {
    let one = alone(migrator, &single).await;
    let start = Instant::now();
    let results = migrator.fleet(&fleet, &FleetOp::Upgrade(Target::Head), 8, false).await;
    let total = start.elapsed();
    assert!(results.iter().all(|r| matches!(r.outcome, Some(Ok(_)))), "a database failed");
    let per = total / fleet.len() as u32;
    println!(
        "fleet {label:<10} {:>5} databases  {:>7.2} s in all  {:>6.1} ms per database  vs {:>6.1} ms alone  ({:.2}×)",
        fleet.len(),
        total.as_secs_f64(),
        per.as_secs_f64() * 1e3,
        one.as_secs_f64() * 1e3,
        per.as_secs_f64() / one.as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let migrator = Migrator::new(graph());

    let n = size("MIGRATE_BENCH_FLEET_SQLITE", 1000);
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let url = |i: usize| format!("sqlite:{}?mode=rwc", dir.path().join(format!("tenant{i}.db")).display());
    let single: Vec<String> = (0..7).map(|i| url(100_000 + i)).collect();
    rt.block_on(run("SQLite", &migrator, single, (0..n).map(url).collect()));

    let n = size("MIGRATE_BENCH_FLEET_POSTGRES", 100);
    let admin = std::env::var("MIGRATE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let names: Vec<String> = (0..n + 5).map(|i| format!("bench_fleet_{}_{i}", std::process::id())).collect();
    rt.block_on(async {
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        for name in &names {
            sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
        }
        let urls: Vec<String> = names.iter().map(|n| with_database(&admin, n)).collect();
        run("PostgreSQL", &migrator, urls[n..].to_vec(), urls[..n].to_vec()).await;
        for name in &names {
            sqlx::raw_sql(&format!("DROP DATABASE {name}")).execute(&mut c).await.unwrap();
        }
    });
}
