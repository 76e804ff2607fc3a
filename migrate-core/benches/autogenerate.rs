//! Autogenerate against a 200-table schema on SQLite, PostgreSQL and MySQL/MariaDB: the
//! migrations (20 revisions of 10 tables, each with an index, every tenth with a foreign key)
//! built in one scratch database, a schema file (the same tables, 50 of them with one more
//! column) in another, both read back, diffed and rendered as up and down SQL. Prints the
//! median time and the share spent creating and dropping the two scratch databases.
//!
//! `cargo bench -p migrate-core --bench autogenerate --features sqlite,postgres,mysql`
//! (`MIGRATE_BENCH_ITERATIONS`, `MIGRATE_BENCH_DIALECTS=sqlite,postgres`; servers from
//! `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use migrate_core::sql::Dialect;
use migrate_core::{Db, Migrator, RevisionGraph, Scratch, parse};

const TABLES: usize = 200;

fn table(i: usize, extra: bool) -> String {
    let fk = if i % 10 == 9 {
        format!(", CONSTRAINT t{i}_p FOREIGN KEY (p) REFERENCES t{} (id)", i - 1)
    } else {
        String::new()
    };
    let more = if extra { ", note varchar(40)" } else { "" };
    format!(
        "CREATE TABLE t{i} (id int PRIMARY KEY, p int, name varchar(40) NOT NULL DEFAULT 'x', n int, created varchar(30){more}{fk});\nCREATE INDEX t{i}_n ON t{i} (n);\n"
    )
}

fn graph() -> RevisionGraph {
    let migrations = (0..TABLES / 10)
        .map(|r| {
            let parent = if r == 0 { String::new() } else { format!("r{:03}", r - 1) };
            let up: String = (r * 10..r * 10 + 10).map(|i| table(i, false)).collect();
            let down: String = (r * 10..r * 10 + 10).rev().map(|i| format!("DROP TABLE t{i};\n")).collect();
            let text =
                format!("-- revision: r{r:03}\n-- down_revision: {parent}\n-- migrate:up\n{up}-- migrate:down\n{down}");
            parse(&format!("migrations/r{r:03}.sql"), &text).unwrap()
        })
        .collect();
    RevisionGraph::new(migrations).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn bench(dialect: Dialect, url: &str, iterations: usize) {
    let server = Db::connect(url).await.unwrap();
    let migrator = Migrator::new(graph());
    let schema_file: String = (0..TABLES).map(|i| table(i, i % 4 == 0)).collect();
    let mut total = Vec::new();
    let mut scratch = Vec::new();
    for _ in 0..iterations {
        let start = Instant::now();
        let (up, down) = migrator.autogenerate(&server, &schema_file, "schema.sql").await.unwrap();
        assert_eq!(up.changes.len(), TABLES / 4);
        let _ = (up.script(), down.script());
        total.push(start.elapsed());

        let start = Instant::now();
        for purpose in ["bench_a", "bench_b"] {
            Scratch::create(&server, purpose).await.unwrap().drop().await;
        }
        scratch.push(start.elapsed());
    }
    let (t, s) = (median(total), median(scratch));
    println!(
        "autogenerate {TABLES} tables  {:<10} {:>8.0} ms   scratch databases {:>6.0} ms ({:.0}% of it)",
        dialect.name(),
        t.as_secs_f64() * 1e3,
        s.as_secs_f64() * 1e3,
        100.0 * s.as_secs_f64() / t.as_secs_f64()
    );
}

fn main() {
    let iterations = std::env::var("MIGRATE_BENCH_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let dialects = std::env::var("MIGRATE_BENCH_DIALECTS").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for d in dialects.split(',') {
        let (dialect, url) = match d.trim() {
            "sqlite" => (Dialect::Sqlite, "sqlite::memory:".to_owned()),
            "postgres" => (
                Dialect::Postgres,
                std::env::var("MIGRATE_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            ),
            "mysql" => (
                Dialect::MySql,
                std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
            ),
            other => panic!("unknown dialect {other}"),
        };
        rt.block_on(bench(dialect, &url, iterations));
    }
}
