//! The workflow every team writes down, run with the real binary on SQLite, PostgreSQL and
//! MariaDB: init, new, upgrade, downgrade -1, upgrade, history, check; and offline `--sql`
//! scripts compared with what the online run did.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

const USERS_UP: &str = "CREATE TABLE users (id integer PRIMARY KEY, name varchar(100) NOT NULL);";
const USERS_DOWN: &str = "DROP TABLE users;";
const EMAIL_UP: &str = "ALTER TABLE users ADD COLUMN email varchar(200);\n-- lint: allow require-concurrent-index-creation users is small here\nCREATE INDEX users_email ON users (email);";
const EMAIL_DOWN_SQLITE: &str = "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;";
const EMAIL_DOWN_MYSQL: &str = "DROP INDEX users_email ON users;\nALTER TABLE users DROP COLUMN email;";

fn two_revisions(pkg: &Package, backend: Backend) {
    pkg.revision("a1a1a1a1a1a1", "create users", USERS_UP, USERS_DOWN, &[]);
    let down = if backend == Backend::MySql { EMAIL_DOWN_MYSQL } else { EMAIL_DOWN_SQLITE };
    pkg.revision("b2b2b2b2b2b2", "add email", EMAIL_UP, down, &[]);
}

fn workflow(backend: Backend) {
    let db = TestDb::new(backend);
    let pkg = Package::initialised().with_url(&db.url);
    two_revisions(&pkg, backend);

    let up = pkg.run(&["upgrade"]);
    let out = up.ok();
    assert!(out.contains("Upgraded 2 revisions"), "{out}");
    assert!(out.contains("a1a1a1a1a1a1") && out.contains("b2b2b2b2b2b2"), "{out}");
    assert!(out.contains("Now at b2b2b2b2b2b2 (head)."), "{out}");
    assert_eq!(db.history().len(), 2);
    assert_eq!(db.schema().iter().filter(|c| c[0] == "users").count(), 3);

    let down = pkg.run(&["downgrade", "-1"]);
    assert!(down.ok().contains("Downgraded 1 revision"), "{}", down.stdout);
    assert!(down.stdout.contains("Now at a1a1a1a1a1a1."), "{}", down.stdout);
    assert_eq!(db.history().len(), 1);
    assert_eq!(db.schema().iter().filter(|c| c[0] == "users").count(), 2);

    let below = pkg.run(&["history", "-r", ":current"]);
    assert_eq!(below.ok(), "<base> -> a1a1a1a1a1a1, create users\n");
    let around = pkg.run(&["history", "-r", "-1:current", "-i"]);
    assert_eq!(around.ok(), "<base> -> a1a1a1a1a1a1 (current), create users\n");
    let above = pkg.run(&["history", "-r", "current:"]);
    assert_eq!(above.ok().lines().count(), 2);

    let current = pkg.run(&["current", "--check-heads"]);
    current.code(5);
    assert!(current.stdout.starts_with("a1a1a1a1a1a1"), "{}", current.stdout);

    pkg.run(&["upgrade"]).ok();
    let again = pkg.run(&["upgrade"]);
    assert!(again.ok().contains("Nothing to do"), "{}", again.stdout);

    let history = pkg.run(&["history", "--indicate-current"]);
    assert_eq!(
        history.ok(),
        "a1a1a1a1a1a1 -> b2b2b2b2b2b2 (head) (current), add email\n<base> -> a1a1a1a1a1a1, create users\n"
    );
    pkg.run(&["check"]).ok();
    pkg.run(&["current", "--check-heads"]).ok();

    let log: Vec<String> = db.log().into_iter().map(|r| format!("{} {}", r[0], r[1])).collect();
    assert_eq!(log, ["a1a1a1a1a1a1 upgrade", "b2b2b2b2b2b2 upgrade", "b2b2b2b2b2b2 downgrade", "b2b2b2b2b2b2 upgrade"]);
    let status = pkg.run(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_str(status.ok()).unwrap();
    assert_eq!(v["pending"], serde_json::json!([]));
    assert_eq!(v["applied"][0]["applied_by"], "tester");
}

#[test]
fn workflow_on_sqlite() {
    workflow(Backend::Sqlite);
}

#[test]
fn workflow_on_postgres() {
    workflow(Backend::Postgres);
}

#[test]
fn workflow_on_mariadb() {
    workflow(Backend::MySql);
}

#[test]
fn the_embedded_default_is_a_sqlite_file_beside_the_manifest() {
    let pkg = Package::new();
    std::fs::create_dir(pkg.migrations()).unwrap();
    two_revisions(&pkg, Backend::Sqlite);
    let run = pkg.run(&["-v", "upgrade"]);
    run.ok();
    assert!(pkg.path().join("migrate.db").is_file());
    assert!(run.stderr.contains("(from the embedded default `sqlite:migrate.db`)"), "{}", run.stderr);
    // A run from another directory finds the same file.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["migrate", "current", "--manifest-path"])
        .arg(pkg.path().join("Cargo.toml"))
        .current_dir(elsewhere.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b2b2b2b2b2b2 (head), add email\n");
}

#[test]
fn database_url_precedence_flag_env_dotenv_metadata() {
    let pkg = Package::initialised();
    two_revisions(&pkg, Backend::Sqlite);
    let source = |run: common::Run| {
        run.stderr.lines().find(|l| l.starts_with("database: ")).map(str::to_owned).unwrap_or_default()
    };
    assert!(source(pkg.run(&["-v", "heads"])).contains("(from database_url in [package.metadata.migrate]"));
    std::fs::write(pkg.path().join(".env"), "DATABASE_URL=sqlite:from_dotenv.db\n").unwrap();
    let s = source(pkg.run(&["-v", "heads"]));
    assert!(s.contains("from_dotenv.db") && s.contains("(from DATABASE_URL in .env)"), "{s}");
    let s = source(pkg.run_env(&["-v", "heads"], &[("DATABASE_URL", "sqlite:from_env.db")]));
    // Relative to the package, like the metadata's URL.
    assert!(s.contains("from_env.db (from DATABASE_URL in the environment)") && s.contains("sqlite:///"), "{s}");
    let s =
        source(pkg.run_env(&["-v", "--database-url", "sqlite:flag.db", "heads"], &[("DATABASE_URL", "sqlite:x.db")]));
    assert!(s.contains("sqlite:flag.db (from --database-url)"), "{s}");
}

/// Applies the offline script to one database and runs online on another: same schema, same
/// history rows, same log.
fn offline_matches_online(backend: Backend) {
    let online = TestDb::new(backend);
    let offline = TestDb::new(backend);
    let pkg = Package::initialised().with_url(&online.url);
    two_revisions(&pkg, backend);

    let script = pkg.run(&["upgrade", "--sql"]);
    let script = script.ok();
    assert!(script.contains("-- Running upgrade  -> a1a1a1a1a1a1: create users"), "{script}");
    offline.run_script(script);
    pkg.run(&["upgrade"]).ok();
    assert_eq!(offline.schema(), online.schema());
    assert_eq!(offline.history(), online.history());
    assert_eq!(offline.log(), online.log());
    let rows = online.history();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..3], ["a1a1a1a1a1a1", "", "create users"]);
    assert_eq!(rows[1][..3], ["b2b2b2b2b2b2", "a1a1a1a1a1a1", "add email"]);
    assert_eq!(rows[0][3].len(), 64, "{rows:?}");
    assert_eq!(rows[0][4], "NULL", "{rows:?}");

    // The same package pointed at the offline database sees it at head.
    let check = pkg.run(&["--database-url", &offline.url, "check"]);
    check.ok();

    // Offline downgrade from head to base, against the online downgrade.
    let down = pkg.run(&["downgrade", "--sql", "head:base"]);
    offline.run_script(down.ok());
    pkg.run(&["downgrade", "base"]).ok();
    assert_eq!(offline.schema(), online.schema());
    assert!(online.schema().is_empty(), "{:?}", online.schema());
    assert_eq!(offline.history(), online.history());
    assert_eq!(offline.log(), online.log());

    // A stamp script records without running SQL.
    let stamp = pkg.run(&["stamp", "--sql", "a1a1"]);
    offline.run_script(stamp.ok());
    pkg.run(&["stamp", "a1a1"]).ok();
    assert_eq!(offline.history(), online.history());
    assert_eq!(offline.log(), online.log());
    assert!(online.schema().is_empty());
    let actions: Vec<String> = online.log().into_iter().map(|r| r[1].clone()).collect();
    assert_eq!(actions, ["upgrade", "upgrade", "downgrade", "downgrade", "stamp"]);
}

#[test]
fn offline_sql_matches_online_on_sqlite() {
    offline_matches_online(Backend::Sqlite);
}

#[test]
fn offline_sql_matches_online_on_postgres() {
    offline_matches_online(Backend::Postgres);
}

#[test]
fn offline_sql_matches_online_on_mariadb() {
    offline_matches_online(Backend::MySql);
}

#[test]
fn offline_sql_never_connects_and_takes_ranges() {
    let pkg = Package::initialised().with_url("postgres://nobody:secretpw@127.0.0.1:1/nowhere");
    two_revisions(&pkg, Backend::Postgres);
    let full = pkg.run(&["upgrade", "--sql"]);
    assert!(full.ok().contains("CREATE TABLE users"));
    let range = pkg.run(&["upgrade", "--sql", "a1a1a1a1a1a1:head"]);
    let range = range.ok();
    assert!(!range.contains("CREATE TABLE users") && range.contains("ALTER TABLE users ADD COLUMN email"), "{range}");
    let down = pkg.run(&["downgrade", "--sql", "-1"]);
    down.code(2);
    assert!(down.stderr.contains("needs to know where the database is"), "{}", down.stderr);
    assert!(down.stderr.contains("head:-1"), "{}", down.stderr);
    let down = pkg.run(&["downgrade", "--sql", "head:-1"]);
    assert!(down.ok().contains("ALTER TABLE users DROP COLUMN email"));
    let range_online = pkg.run(&["upgrade", "a1a1:head"]);
    range_online.code(2);
    assert!(!pkg.run(&["upgrade", "--sql"]).all().contains("secretpw"));
}

#[test]
fn a_fresh_package_has_nothing_to_do() {
    let pkg = Package::initialised();
    let run = pkg.run(&["upgrade"]);
    assert_eq!(run.ok(), "Nothing to do: the database is at base (nothing applied).\n");
    pkg.run(&["check"]).ok();
    let merge = pkg.run(&["merge", "-m", "x"]);
    merge.code(8);
    assert!(merge.stderr.contains("there are no revisions yet"), "{}", merge.stderr);
    let first = pkg.run(&["new", "-m", "first"]);
    assert!(first.ok().contains("on <base>"), "{}", first.stdout);
}
