//! Shared helpers for the end-to-end test suites: fresh databases on the real servers, migration
//! graphs built from text, and schema inspection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use migrate_core::sql::Dialect;
use migrate_core::{Db, Migration, RevisionGraph, parse};

pub mod processes;
pub mod servers;

/// The PostgreSQL server the tests use (`MIGRATE_TEST_POSTGRES_URL`).
pub fn postgres_url() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The MySQL/MariaDB server the tests use (`MIGRATE_TEST_MYSQL_URL`).
pub fn mysql_url() -> String {
    std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique database name: `mt_<pid>_<counter>_<nanos>`.
pub fn unique_name() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("mt_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), nanos)
}

/// Replaces the database (path) part of a server URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |p| p + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |p| scheme_end + p);
    format!("{}/{name}{query}", &base[..path_start])
}

/// A fresh database on one backend, dropped when this value is dropped.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    /// Its dialect.
    pub dialect: Dialect,
    name: String,
    /// The server's URL, for creating and dropping it.
    server: String,
    _dir: Option<tempfile::TempDir>,
}

fn start_hint(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set MIGRATE_TEST_POSTGRES_URL (or run `bash .ci/run`)"
        }
        Dialect::MySql => {
            "start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` or set MIGRATE_TEST_MYSQL_URL (or run `bash .ci/run`)"
        }
        Dialect::Sqlite => "",
    }
}

/// Runs admin statements on a server in a thread of its own (usable from `Drop`).
fn admin(dialect: Dialect, server: String, sql: String) -> Result<(), String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        rt.block_on(async move {
            use sqlx::Connection;
            match dialect {
                Dialect::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&server).await.map_err(|e| e.to_string())?;
                    sqlx::raw_sql(&sql).execute(&mut c).await.map_err(|e| e.to_string())?;
                }
                Dialect::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(&server).await.map_err(|e| e.to_string())?;
                    sqlx::raw_sql(&sql).execute(&mut c).await.map_err(|e| e.to_string())?;
                }
                Dialect::Sqlite => {}
            }
            Ok(())
        })
    })
    .join()
    .map_err(|_| "admin thread panicked".to_owned())?
}

impl TestDb {
    /// Creates a fresh database; panics with how to start the server when it is unreachable.
    pub fn new(dialect: Dialect) -> TestDb {
        let name = unique_name();
        match dialect {
            Dialect::Sqlite => {
                // On a RAM disk when there is one: the suites commit thousands of times.
                let shm = std::path::Path::new("/dev/shm");
                let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
                let url = format!("sqlite:{}?mode=rwc", dir.path().join(format!("{name}.db")).display());
                TestDb { url, dialect, name, server: String::new(), _dir: Some(dir) }
            }
            Dialect::Postgres | Dialect::MySql => {
                let server = if dialect == Dialect::Postgres { postgres_url() } else { mysql_url() };
                Self::on_server(dialect, &server)
            }
        }
    }

    /// Creates a fresh database on the server at `server` (a URL of any database there).
    pub fn on_server(dialect: Dialect, server: &str) -> TestDb {
        let name = unique_name();
        if let Err(e) = admin(dialect, server.to_owned(), format!("CREATE DATABASE {name}")) {
            panic!("{dialect} at {server} is not usable ({e}); {}", start_hint(dialect));
        }
        TestDb { url: with_database(server, &name), dialect, name, server: server.to_owned(), _dir: None }
    }

    /// The URL of this database reached through `server` instead (a pooler, another node of a
    /// cluster): `server` with this database's name.
    pub fn url_via(&self, server: &str) -> String {
        with_database(server, &self.name)
    }

    /// Connects a pool to it.
    pub async fn db(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }

    /// Runs SQL and returns the rows as text.
    pub async fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        use sqlx::{Connection, Row};
        macro_rules! fetch {
            ($conn:ty) => {{
                let mut c = <$conn>::connect(&self.url).await.unwrap();
                let rows = sqlx::raw_sql(sql).fetch_all(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
                rows.iter()
                    .map(|r| (0..r.len()).map(|i| r.try_get_unchecked::<Option<String>, _>(i).unwrap()).collect())
                    .collect()
            }};
        }
        match self.dialect {
            Dialect::Sqlite => fetch!(sqlx::SqliteConnection),
            Dialect::Postgres => fetch!(sqlx::PgConnection),
            Dialect::MySql => fetch!(sqlx::MySqlConnection),
        }
    }

    /// Runs SQL, returning the error text instead of panicking.
    pub async fn try_query(&self, sql: &str) -> Result<(), String> {
        use sqlx::Connection;
        macro_rules! run {
            ($conn:ty) => {{
                let mut c = <$conn>::connect(&self.url).await.map_err(|e| e.to_string())?;
                sqlx::raw_sql(sql).execute(&mut c).await.map(drop).map_err(|e| e.to_string())
            }};
        }
        match self.dialect {
            Dialect::Sqlite => run!(sqlx::SqliteConnection),
            Dialect::Postgres => run!(sqlx::PgConnection),
            Dialect::MySql => run!(sqlx::MySqlConnection),
        }
    }

    /// One value of a query, or `None` when it fails (e.g. a table that does not exist yet).
    pub async fn try_scalar(&self, sql: &str) -> Option<String> {
        use sqlx::{Connection, Row};
        macro_rules! fetch {
            ($conn:ty) => {{
                let mut c = <$conn>::connect(&self.url).await.ok()?;
                let rows = sqlx::raw_sql(sql).fetch_all(&mut c).await.ok()?;
                rows.first()?.try_get_unchecked::<Option<String>, _>(0).ok()?
            }};
        }
        match self.dialect {
            Dialect::Sqlite => fetch!(sqlx::SqliteConnection),
            Dialect::Postgres => fetch!(sqlx::PgConnection),
            Dialect::MySql => fetch!(sqlx::MySqlConnection),
        }
    }

    /// One value of a query.
    pub async fn scalar(&self, sql: &str) -> Option<String> {
        self.query(sql).await.into_iter().next().and_then(|r| r.into_iter().next()).flatten()
    }

    /// The user tables, sorted (the history and log tables included).
    pub async fn tables(&self) -> Vec<String> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Dialect::Postgres => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            }
            Dialect::MySql => {
                "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
            }
        };
        self.query(sql).await.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect()
    }

    /// The columns of a table, in order.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.dialect {
            Dialect::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
            Dialect::Postgres => format!(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            ),
            Dialect::MySql => format!(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
            ),
        };
        self.query(&sql).await.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect()
    }

    /// The recorded revisions, sorted.
    pub async fn recorded(&self) -> Vec<String> {
        self.query("SELECT revision FROM migrate_history ORDER BY revision")
            .await
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = match self.dialect {
            Dialect::Sqlite => return,
            Dialect::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Dialect::MySql => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let _ = admin(self.dialect, self.server.clone(), sql);
    }
}

/// Every backend, for tests that run on all three.
pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

/// Builds a migration from its parts (`parents` comma-separated, empty for a base).
pub fn migration(id: &str, parents: &str, up: &str, down: &str) -> Migration {
    migration_with(id, parents, "", up, down)
}

/// Like [`migration`], with extra header lines (e.g. `-- transaction: false\n`).
pub fn migration_with(id: &str, parents: &str, header: &str, up: &str, down: &str) -> Migration {
    let text = migration_text(id, parents, header, up, down);
    parse(&format!("migrations/{id}.sql"), &text).unwrap_or_else(|e| panic!("{e}"))
}

/// The text of a migration file.
pub fn migration_text(id: &str, parents: &str, header: &str, up: &str, down: &str) -> String {
    format!(
        "-- revision: {id}\n-- down_revision: {parents}\n-- message: {id}\n{header}\n-- migrate:up\n{up}\n-- migrate:down\n{down}\n"
    )
}

/// A graph of migrations that must be valid.
pub fn graph(migrations: Vec<Migration>) -> RevisionGraph {
    RevisionGraph::new(migrations).unwrap_or_else(|e| panic!("{e}"))
}

/// A linear chain of `n` migrations, each creating table `t<i>` with an index.
pub fn chain(n: usize) -> RevisionGraph {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let parent = if i == 0 { String::new() } else { format!("r{:05}", i - 1) };
        out.push(migration(
            &format!("r{i:05}"),
            &parent,
            &format!("CREATE TABLE t{i} (id INT PRIMARY KEY, v INT);\nCREATE INDEX t{i}_v ON t{i} (v);"),
            &format!("DROP TABLE t{i};"),
        ));
    }
    graph(out)
}
