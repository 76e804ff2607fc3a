//! The lock table's cost against the session lock on one server (PostgreSQL and MySQL/MariaDB),
//! each pair measured in the same run, alternating, median of several runs:
//!
//! - applying 1,000 small migrations (a table and an index each) to an empty database;
//! - a locked run with nothing to do (`stamp head` at head: the lock, the state read, the
//!   plan, the release);
//! - the no-op upgrade, which takes no lock in either mode (its fast path reads one row).
//!
//! Each ratio is the median of the ratios of runs measured next to each other.
//!
//! Goal: the lock table within 5% of the session lock.
//!
//! `cargo bench -p migrate-core --bench lock --features sqlite,postgres,mysql`
//! (`MIGRATE_BENCH_N`, `MIGRATE_BENCH_ITERATIONS` change the size; the server URLs come from
//! `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use migrate_core::sql::Dialect;
use migrate_core::sqlx::{self, Connection};
use migrate_core::{Db, LockMode, Migrator, Options, RevisionGraph, Target, parse};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn chain(n: usize) -> RevisionGraph {
    let migrations = (0..n)
        .map(|i| {
            let parent = if i == 0 { String::new() } else { format!("r{:05}", i - 1) };
            let text = format!(
                "-- revision: r{i:05}\n-- down_revision: {parent}\n-- migrate:up\nCREATE TABLE t{i} (id INT PRIMARY KEY, v INT);\n\
                 CREATE INDEX t{i}_v ON t{i} (v);\n-- migrate:down\nDROP TABLE t{i};\n"
            );
            parse(&format!("migrations/r{i:05}.sql"), &text).unwrap()
        })
        .collect();
    RevisionGraph::new(migrations).unwrap()
}

fn admin_url(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => std::env::var("MIGRATE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        _ => std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
    }
}

async fn admin(dialect: Dialect, sql: &str) {
    let url = admin_url(dialect);
    if dialect == Dialect::Postgres {
        let mut c = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL is not reachable");
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::MySqlConnection::connect(&url).await.expect("MySQL is not reachable");
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    }
}

/// A fresh, empty database and its URL.
async fn fresh(dialect: Dialect, name: &str) -> String {
    let force = if dialect == Dialect::Postgres { " WITH (FORCE)" } else { "" };
    admin(dialect, &format!("DROP DATABASE IF EXISTS {name}{force}")).await;
    admin(dialect, &format!("CREATE DATABASE {name}")).await;
    let url = admin_url(dialect);
    format!("{}/{name}", &url[..url.rfind('/').unwrap()])
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn show(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

/// The figures of both modes and the median of their ratios pair by pair (the i-th table run
/// against the i-th session run, measured next to each other), which the machine's drift
/// during the benchmark moves less than a ratio of medians.
fn line(what: &str, table: &[Duration], session: &[Duration]) {
    let mut ratios: Vec<f64> = table.iter().zip(session).map(|(t, s)| t.as_secs_f64() / s.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let (table, session) = (median(table.to_vec()), median(session.to_vec()));
    let verdict = if ratio <= 1.05 { "met" } else { "NOT met" };
    println!(
        "  {what:<36} table {:>10}  session {:>10}  {ratio:>5.3}x  (goal ≤1.05x, {verdict})",
        show(table),
        show(session)
    );
}

fn migrator(graph: &std::sync::Arc<RevisionGraph>, lock: LockMode) -> Migrator {
    Migrator::new(graph.clone()).with_options(Options::default().lock(lock))
}

async fn bench(dialect: Dialect, n: usize, iterations: usize) {
    let graph = std::sync::Arc::new(chain(n));
    let name = format!("migrate_bench_lock_{}", dialect.name().to_lowercase().replace('/', "_"));
    let (mut apply, mut locked, mut noop) =
        ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for i in 0..iterations {
        // Alternate which goes first, so that neither always meets a warmer server.
        let order =
            if i % 2 == 0 { [LockMode::Table, LockMode::Session] } else { [LockMode::Session, LockMode::Table] };
        for mode in order {
            let k = usize::from(mode == LockMode::Session);
            let url = fresh(dialect, &name).await;
            let m = migrator(&graph, mode);
            let db = Db::connect(&url).await.unwrap();
            let start = Instant::now();
            m.upgrade(&db, &Target::Head).await.unwrap();
            apply[k].push(start.elapsed());
            for _ in 0..20 {
                let start = Instant::now();
                m.stamp(&db, &Target::Head, false).await.unwrap();
                locked[k].push(start.elapsed());
                let start = Instant::now();
                m.upgrade(&db, &Target::Head).await.unwrap();
                noop[k].push(start.elapsed());
            }
            db.close().await;
        }
    }
    let force = if dialect == Dialect::Postgres { " WITH (FORCE)" } else { "" };
    admin(dialect, &format!("DROP DATABASE IF EXISTS {name}{force}")).await;
    let [t, s] = apply;
    line(&format!("apply {n} migrations"), &t, &s);
    let [t, s] = locked;
    line("locked run with nothing to do", &t, &s);
    let [t, s] = noop;
    line("no-op upgrade (takes no lock)", &t, &s);
}

fn main() {
    let n = env_or("MIGRATE_BENCH_N", 1000);
    let iterations = env_or("MIGRATE_BENCH_ITERATIONS", 3);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    println!(
        "lock table vs session lock, one server; {iterations} alternating pairs (20 a pair for the short runs); \
         the ratio is the median of the pairs' ratios"
    );
    for dialect in [Dialect::Postgres, Dialect::MySql] {
        println!("{dialect}:");
        rt.block_on(bench(dialect, n, iterations));
    }
}
