//! Shared pieces of the end-to-end tests: a temporary cargo package, running the real
//! `cargo-migrate` binary in it, and fresh databases on the local PostgreSQL and MariaDB servers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Connection, Row};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for messages.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "expected exit {code}\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// A temporary package with a Cargo.toml, src/lib.rs and (after `init`) a migrations directory.
pub struct Package {
    pub dir: tempfile::TempDir,
    pub url: Option<String>,
}

impl Package {
    /// A fresh package named `app` with no dependencies (so `cargo metadata` works offline).
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("cm-test-").tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "").unwrap();
        Self { dir, url: None }
    }

    /// A package that has run `init`.
    pub fn initialised() -> Self {
        let p = Self::new();
        p.run(&["init"]).ok();
        p
    }

    /// The same package, with every run using `url` (`--database-url`).
    pub fn with_url(mut self, url: &str) -> Self {
        self.url = Some(url.to_owned());
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn migrations(&self) -> PathBuf {
        self.path().join("migrations")
    }

    /// Runs `cargo-migrate migrate <args>` in the package with a clean environment.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// Like [`run`](Self::run) with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let manifest = self.path().join("Cargo.toml");
        let mut all = vec!["--manifest-path", manifest.to_str().unwrap()];
        all.extend_from_slice(args);
        self.run_raw(&all, env)
    }

    /// Runs `cargo-migrate migrate <args>` in the package directory, without `--manifest-path`.
    pub fn run_raw(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
        cmd.arg("migrate")
            .args(args)
            .current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env_remove("EDITOR")
            .env_remove("VISUAL")
            .env_remove("CLICOLOR_FORCE")
            .env("NO_COLOR", "1")
            .env("USER", "tester");
        if let Some(url) = &self.url {
            cmd.arg("--database-url").arg(url);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Creates a revision with `cargo migrate new` and fills in its SQL. Returns the id.
    pub fn revision(&self, id: &str, message: &str, up: &str, down: &str, extra: &[&str]) -> String {
        let mut args = vec!["new", "-m", message, "--rev-id", id, "-q"];
        args.extend_from_slice(extra);
        let run = self.run(&args);
        let path = self.path().join(run.ok().trim());
        let text = std::fs::read_to_string(&path).unwrap();
        // A revision with no SQL at all is refused; tests that do not care get a no-op pair.
        let (up, down) = if up.is_empty() && down.is_empty() { ("SELECT 1;", "SELECT 1;") } else { (up, down) };
        let text = text.replacen("-- migrate:up\n\n\n", &format!("-- migrate:up\n{up}\n"), 1).replacen(
            "-- migrate:down\n\n",
            &format!("-- migrate:down\n{down}\n"),
            1,
        );
        std::fs::write(&path, text).unwrap();
        id.to_owned()
    }

    /// The file of revision `id`.
    pub fn file(&self, id: &str) -> PathBuf {
        std::fs::read_dir(self.migrations())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{id}_")))
            .unwrap()
    }
}

/// The three backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MySql,
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub name: String,
    admin: String,
    _file: Option<tempfile::TempDir>,
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
    format!("mt_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), nanos)
}

pub fn postgres_url() -> String {
    std::env::var("MIGRATE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn mysql_url() -> String {
    std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// `base` with its database name replaced.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let prefix = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

impl TestDb {
    /// A fresh, empty database on `backend`. Fails loudly when the server is down.
    pub fn new(backend: Backend) -> Self {
        let name = unique_name();
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join(format!("{name}.db")).display());
                Self { backend, url, name, admin: String::new(), _file: Some(dir) }
            }
            Backend::Postgres => {
                let admin = postgres_url();
                block_on(async {
                    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is not reachable at {admin} ({e}); start it with \
                             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                             or set MIGRATE_TEST_POSTGRES_URL"
                        )
                    });
                    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
                });
                Self { backend, url: with_database(&admin, &name), name, admin, _file: None }
            }
            Backend::MySql => {
                let admin = mysql_url();
                block_on(async {
                    let mut c = sqlx::MySqlConnection::connect(&admin).await.unwrap_or_else(|e| {
                        panic!(
                            "MariaDB is not reachable at {admin} ({e}); start it with \
                             `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` \
                             or set MIGRATE_TEST_MYSQL_URL"
                        )
                    });
                    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
                });
                Self { backend, url: with_database(&admin, &name), name, admin, _file: None }
            }
        }
    }

    /// Rows of `sql` as text (NULL as `NULL`), for comparing databases.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        fn text<R: Row>(row: &R, i: usize) -> String
        where
            for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            row.try_get::<Option<String>, _>(i).ok().flatten().unwrap_or_else(|| "NULL".to_owned())
        }
        block_on(async {
            match self.backend {
                Backend::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                    let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
                    rows.iter().map(|r| (0..r.len()).map(|i| text(r, i)).collect()).collect()
                }
                Backend::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
                    let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
                    rows.iter().map(|r| (0..r.len()).map(|i| text(r, i)).collect()).collect()
                }
                Backend::MySql => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url).await.unwrap();
                    let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
                    rows.iter().map(|r| (0..r.len()).map(|i| text(r, i)).collect()).collect()
                }
            }
        })
    }

    /// The user tables and their columns, sorted, without the bookkeeping tables.
    pub fn schema(&self) -> Vec<Vec<String>> {
        let sql = match self.backend {
            Backend::Sqlite => "SELECT m.name, p.name, p.type FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'migrate_%' \
                 ORDER BY m.name, p.cid"
                .to_owned(),
            Backend::Postgres => "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name NOT LIKE 'migrate_%' ORDER BY table_name, ordinal_position"
                .to_owned(),
            Backend::MySql => format!(
                "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR), CAST(column_type AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = '{}' AND table_name NOT LIKE 'migrate_%' ORDER BY table_name, ordinal_position",
                self.name
            ),
        };
        self.query(&sql)
    }

    /// The recorded history: revision, parents, message, checksum, applied_by, dirty.
    pub fn history(&self) -> Vec<Vec<String>> {
        let cast = |c: &str| match self.backend {
            Backend::MySql => format!("CAST({c} AS CHAR)"),
            _ => c.to_owned(),
        };
        self.query(&format!(
            "SELECT {}, {}, {}, {}, {} FROM migrate_history ORDER BY revision",
            cast("revision"),
            cast("parents"),
            cast("message"),
            cast("checksum"),
            cast("dirty")
        ))
    }

    /// The log: revision and action, in order.
    pub fn log(&self) -> Vec<Vec<String>> {
        let cast = |c: &str| match self.backend {
            Backend::MySql => format!("CAST({c} AS CHAR)"),
            _ => c.to_owned(),
        };
        self.query(&format!("SELECT {}, {} FROM migrate_log ORDER BY id", cast("revision"), cast("action")))
    }

    /// Runs a script through the database's own client (sqlx's for SQLite, which has none here).
    pub fn run_script(&self, script: &str) {
        match self.backend {
            Backend::Sqlite => block_on(async {
                let mut c = sqlx::SqliteConnection::connect(&format!("{}?mode=rwc", self.url)).await.unwrap();
                sqlx::raw_sql(script).execute(&mut c).await.unwrap();
            }),
            Backend::Postgres => {
                let out = Command::new("psql")
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-f", "-"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .and_then(|mut child| {
                        use std::io::Write;
                        child.stdin.take().unwrap().write_all(script.as_bytes())?;
                        child.wait_with_output()
                    })
                    .expect("psql (postgresql-client) must be installed");
                assert!(out.status.success(), "psql failed:\n{}", String::from_utf8_lossy(&out.stderr));
            }
            Backend::MySql => {
                let (user, host, port) = mysql_parts(&self.url);
                let out = Command::new("mariadb")
                    .args(["-h", &host, "-P", &port, "-u", &user, &self.name])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .and_then(|mut child| {
                        use std::io::Write;
                        child.stdin.take().unwrap().write_all(script.as_bytes())?;
                        child.wait_with_output()
                    })
                    .expect("the mariadb client must be installed");
                assert!(out.status.success(), "mariadb failed:\n{}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}

/// User, host and port of a `mysql://user@host:port/db` URL.
fn mysql_parts(url: &str) -> (String, String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let (user, hostport) = authority.rsplit_once('@').unwrap_or(("root", authority));
    let user = user.split(':').next().unwrap_or("root");
    let (host, port) = hostport.split_once(':').unwrap_or((hostport, "3306"));
    (user.to_owned(), host.to_owned(), port.to_owned())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = self.admin.clone();
        match self.backend {
            Backend::Sqlite => {}
            Backend::Postgres => block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await;
                }
            }),
            Backend::MySql => block_on(async {
                if let Ok(mut c) = sqlx::MySqlConnection::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut c).await;
                }
            }),
        }
    }
}
