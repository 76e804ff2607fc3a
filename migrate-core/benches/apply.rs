//! Applying 1,000 small migrations (a table and an index each) to an empty database, and the
//! no-op run, on SQLite, PostgreSQL and MySQL/MariaDB, each printed as a ratio to a baseline
//! measured in the same run:
//!
//! - per-migration mode vs the simplest client loop sending, per migration, the same DDL plus one
//!   bookkeeping insert in its own transaction (one round trip each);
//! - all-or-nothing mode vs the same DDL sent in one transaction;
//! - the no-op run (`Db::connect` + upgrade with everything applied) vs a bare connect and one
//!   query that reads a table;
//! - on SQLite, the client loop itself against the `sqlite3` shell running the same statements
//!   from a script (process start included): what the driver costs before any of our work.
//!
//! `cargo bench -p migrate-core --bench apply --features sqlite,postgres,mysql`
//! (`MIGRATE_BENCH_N`, `MIGRATE_BENCH_ITERATIONS` change the size, `MIGRATE_BENCH_DIALECTS=sqlite,postgres`
//! picks backends; the server URLs come from
//! `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use migrate_core::sql::Dialect;
use migrate_core::sqlx::{self, Connection};
use migrate_core::{Db, Migrator, Options, RevisionGraph, Target, parse};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn ddl(i: usize) -> String {
    format!("CREATE TABLE t{i} (id INT PRIMARY KEY, v INT);\nCREATE INDEX t{i}_v ON t{i} (v);")
}

fn chain(n: usize) -> RevisionGraph {
    let migrations = (0..n)
        .map(|i| {
            let parent = if i == 0 { String::new() } else { format!("r{:05}", i - 1) };
            let text = format!(
                "-- revision: r{i:05}\n-- down_revision: {parent}\n-- message: table {i}\n-- migrate:up\n{}\n-- migrate:down\nDROP TABLE t{i};\n",
                ddl(i)
            );
            parse(&format!("migrations/r{i:05}.sql"), &text).unwrap()
        })
        .collect();
    RevisionGraph::new(migrations).unwrap()
}

struct Server {
    dialect: Dialect,
    admin: String,
    dir: Option<tempfile::TempDir>,
}

impl Server {
    fn new(dialect: Dialect) -> Self {
        let admin = match dialect {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => std::env::var("MIGRATE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            Dialect::MySql => {
                std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
            }
        };
        let shm = std::path::Path::new("/dev/shm");
        let dir = (dialect == Dialect::Sqlite)
            .then(|| if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap());
        Self { dialect, admin, dir }
    }

    async fn admin(&self, sql: &str) {
        match self.dialect {
            Dialect::Sqlite => {}
            Dialect::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.admin).await.expect("PostgreSQL is not reachable");
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
            Dialect::MySql => {
                let mut c = sqlx::MySqlConnection::connect(&self.admin).await.expect("MySQL is not reachable");
                sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
            }
        }
    }

    /// A fresh, empty database and its URL.
    async fn fresh(&self, name: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => {
                let path = self.dir.as_ref().unwrap().path().join(format!("{name}.db"));
                let _ = std::fs::remove_file(&path);
                format!("sqlite:{}?mode=rwc", path.display())
            }
            _ => {
                self.drop_db(name).await;
                self.admin(&format!("CREATE DATABASE {name}")).await;
                let base = &self.admin[..self.admin.rfind('/').unwrap()];
                format!("{base}/{name}")
            }
        }
    }

    async fn drop_db(&self, name: &str) {
        match self.dialect {
            Dialect::Sqlite => {}
            Dialect::Postgres => self.admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await,
            Dialect::MySql => self.admin(&format!("DROP DATABASE IF EXISTS {name}")).await,
        }
    }
}

/// Runs `body` on a connection of `url`'s backend.
macro_rules! with_conn {
    ($dialect:expr, $url:expr, $c:ident => $body:expr) => {
        match $dialect {
            Dialect::Sqlite => {
                let mut $c = sqlx::SqliteConnection::connect($url).await.unwrap();
                $body;
                $c.close().await.unwrap();
            }
            Dialect::Postgres => {
                let mut $c = sqlx::PgConnection::connect($url).await.unwrap();
                $body;
                $c.close().await.unwrap();
            }
            Dialect::MySql => {
                let mut $c = sqlx::MySqlConnection::connect($url).await.unwrap();
                $body;
                $c.close().await.unwrap();
            }
        }
    };
}

/// The simplest client loop: per migration, one round trip with BEGIN, the DDL, one
/// bookkeeping insert and COMMIT.
async fn baseline_loop(dialect: Dialect, url: &str, n: usize) -> Duration {
    let start = Instant::now();
    with_conn!(dialect, url, c => {
        sqlx::raw_sql("CREATE TABLE bookkeeping (revision VARCHAR(255) PRIMARY KEY)").execute(&mut c).await.unwrap();
        for i in 0..n {
            let sql = format!("BEGIN;\n{}\nINSERT INTO bookkeeping VALUES ('r{i:05}');\nCOMMIT;", ddl(i));
            sqlx::raw_sql(&sql).execute(&mut c).await.unwrap();
        }
    });
    start.elapsed()
}

/// The client loop's statements as one script, run by the `sqlite3` shell on the database file
/// of `url` (process start included).
fn sqlite3_loop(url: &str, n: usize) -> Duration {
    let path = url.trim_start_matches("sqlite:").split('?').next().unwrap().to_owned();
    let mut script = String::from("CREATE TABLE bookkeeping (revision VARCHAR(255) PRIMARY KEY);\n");
    for i in 0..n {
        script.push_str(&format!("BEGIN;\n{}\nINSERT INTO bookkeeping VALUES ('r{i:05}');\nCOMMIT;\n", ddl(i)));
    }
    let script_path = format!("{path}.sql");
    std::fs::write(&script_path, script).unwrap();
    let start = Instant::now();
    let out = std::process::Command::new("sqlite3")
        .arg(&path)
        .stdin(std::fs::File::open(&script_path).unwrap())
        .output()
        .expect("the sqlite3 shell is not installed");
    let took = start.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    took
}

/// The same DDL in one transaction, one round trip per migration.
async fn baseline_one_transaction(dialect: Dialect, url: &str, n: usize) -> Duration {
    let start = Instant::now();
    with_conn!(dialect, url, c => {
        sqlx::raw_sql("BEGIN").execute(&mut c).await.unwrap();
        for i in 0..n {
            sqlx::raw_sql(&ddl(i)).execute(&mut c).await.unwrap();
        }
        sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
    });
    start.elapsed()
}

/// A bare connect and one query.
async fn baseline_noop(dialect: Dialect, url: &str, sql: &str) -> Duration {
    let start = Instant::now();
    with_conn!(dialect, url, c => {
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    });
    start.elapsed()
}

async fn ours(url: &str, migrator: &Migrator) -> Duration {
    let start = Instant::now();
    let db = Db::connect(url).await.unwrap();
    let report = migrator.upgrade(&db, &Target::Head).await.unwrap();
    db.close().await;
    let took = start.elapsed();
    assert_eq!(report.steps.len(), migrator.graph().len());
    took
}

async fn ours_noop(url: &str, migrator: &Migrator) -> Duration {
    let start = Instant::now();
    let db = Db::connect(url).await.unwrap();
    let report = migrator.upgrade(&db, &Target::Head).await.unwrap();
    db.close().await;
    let took = start.elapsed();
    assert!(report.steps.is_empty());
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn show(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

/// Prints the medians of both sides and the median of the pairs' ratios: runs a few seconds
/// apart on a shared machine differ by more than the effects measured here, so each of ours is
/// compared with the baseline run right beside it.
fn line(what: &str, pairs: &[(Duration, Duration)], goal: Option<f64>) {
    let ours = median(pairs.iter().map(|p| p.0).collect());
    let base = median(pairs.iter().map(|p| p.1).collect());
    let mut ratios: Vec<f64> = pairs.iter().map(|(o, b)| o.as_secs_f64() / b.as_secs_f64()).collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let verdict = match goal {
        Some(goal) if ratio <= goal => format!("(goal {goal}x, ok)"),
        Some(goal) => format!("(goal {goal}x, over goal)"),
        None => String::new(),
    };
    println!("  {what:<34} {:>10} vs {:>10}  {ratio:>5.3}x  {verdict}", show(ours), show(base));
}

fn main() {
    let n = env_or("MIGRATE_BENCH_N", 1000);
    let noop_runs = 31;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let graph = chain(n);
    let per_migration = Migrator::new(graph.clone());
    let whole = Migrator::new(graph).with_options(Options::default().all_or_nothing(true));
    println!("apply {n} migrations (a table and an index each); median of the ratios of runs side by side");
    let only = std::env::var("MIGRATE_BENCH_DIALECTS").unwrap_or_default().to_ascii_lowercase();
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        if !only.is_empty() && !only.split(',').any(|d| dialect.name().to_ascii_lowercase().starts_with(d.trim())) {
            continue;
        }
        // A SQLite run takes a fraction of a second: more pairs cost little and steady the ratio.
        let iterations = env_or("MIGRATE_BENCH_ITERATIONS", if dialect == Dialect::Sqlite { 15 } else { 4 }).max(1);
        rt.block_on(async {
            let server = Server::new(dialect);
            let name = format!("mb_{}", std::process::id());
            let (mut per, mut tx, mut shell) = (vec![], vec![], vec![]);
            for iteration in 0..iterations {
                // Alternate which side goes first, so drift in the machine's speed (and the
                // cost of the previous database's drop) hits both sides alike.
                let ours_first = iteration % 2 == 1;
                let (mut mine, mut base) = (Duration::ZERO, Duration::ZERO);
                for side in [ours_first, !ours_first] {
                    let url = server.fresh(&name).await;
                    if side {
                        mine = ours(&url, &per_migration).await;
                    } else {
                        base = baseline_loop(dialect, &url, n).await;
                    }
                }
                per.push((mine, base));
                if dialect == Dialect::Sqlite {
                    let url = server.fresh(&name).await;
                    shell.push((base, sqlite3_loop(&url, n)));
                }
                if dialect != Dialect::MySql {
                    for side in [ours_first, !ours_first] {
                        let url = server.fresh(&name).await;
                        if side {
                            mine = ours(&url, &whole).await;
                        } else {
                            base = baseline_one_transaction(dialect, &url, n).await;
                        }
                    }
                    tx.push((mine, base));
                }
            }
            // The database now holds every migration: measure the no-op run.
            let url = server.fresh(&name).await;
            ours(&url, &per_migration).await;
            let mut noop = vec![];
            for _ in 0..noop_runs {
                let mine = ours_noop(&url, &per_migration).await;
                // Against a query that reads a table: the first one on a connection makes SQLite
                // parse the schema and PostgreSQL fill its catalogue caches, whoever sends it.
                let table = baseline_noop(dialect, &url, "SELECT count(*) FROM t0").await;
                noop.push((mine, table));
            }
            server.drop_db(&name).await;
            println!("{dialect} ({iterations} pairs):");
            line("per-migration vs client loop", &per, Some(1.05));
            if dialect != Dialect::MySql {
                line("all-or-nothing vs one transaction", &tx, Some(1.1));
            }
            line("no-op run vs connect + 1 table query", &noop, Some(1.5));
            if dialect == Dialect::Sqlite {
                line("client loop (sqlx) vs sqlite3 shell", &shell, None);
            }
        });
    }
}
