//! Schema awareness through the real binary on SQLite, PostgreSQL and MariaDB: a new user's
//! walk (schema.sql, `new --autogenerate`, upgrade, `check`), `check` failing when schema.sql
//! moves on, drift (stamped but never applied, an index dropped by hand, a column changed, an
//! extra table), `diff`, `dump`, and scratch databases dropped on Ctrl-C.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// A schema each backend reads: a parent, a child with a cascading foreign key, an index, a
/// check and a view.
fn schema(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email text NOT NULL UNIQUE);\n\
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id int NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
             body text, CHECK (length(body) < 1000));\n\
             CREATE INDEX posts_user ON posts (user_id);\n\
             CREATE INDEX posts_by_body ON posts (id, body);\n\
             CREATE VIEW recent AS SELECT id, body FROM posts WHERE id > 10;\n"
        }
        Backend::Postgres => {
            "CREATE TYPE state AS ENUM ('draft', 'live');\n\
             CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE);\n\
             CREATE TABLE posts (id serial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE, \
             body text, st state NOT NULL DEFAULT 'draft', CHECK (length(body) < 1000));\n\
             CREATE INDEX posts_user ON posts (user_id) WHERE st = 'live';\n\
             CREATE INDEX posts_by_body ON posts (id, body);\n\
             CREATE VIEW recent AS SELECT id, body FROM posts WHERE id > 10;\n"
        }
        Backend::MySql => {
            "CREATE TABLE users (id bigint AUTO_INCREMENT PRIMARY KEY, email varchar(200) NOT NULL UNIQUE);\n\
             CREATE TABLE posts (id int PRIMARY KEY, user_id bigint NOT NULL, body text, \
             CONSTRAINT posts_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE, \
             CONSTRAINT short CHECK (length(body) < 1000));\n\
             CREATE INDEX posts_user ON posts (user_id);\n\
             CREATE INDEX posts_by_body ON posts (id, body(20));\n\
             CREATE VIEW recent AS SELECT id, body FROM posts WHERE id > 10;\n"
        }
    }
}

fn project(db: &TestDb, backend: Backend) -> Package {
    let pkg = Package::initialised().with_url(&db.url);
    std::fs::write(pkg.path().join("schema.sql"), schema(backend)).unwrap();
    pkg
}

fn revisions(pkg: &Package) -> usize {
    std::fs::read_dir(pkg.migrations())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql"))
        .count()
}

#[test]
fn a_new_user_autogenerates_upgrades_and_checks() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let pkg = project(&db, backend);
        let run = pkg.run(&["new", "--autogenerate", "-m", "create users and posts"]);
        run.ok();
        assert_eq!(revisions(&pkg), 1, "{backend:?}");
        let file = std::fs::read_dir(pkg.migrations()).unwrap().next().unwrap().unwrap().path();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("CREATE TABLE posts") && text.contains("CREATE VIEW recent"), "{backend:?}: {text}");
        assert!(
            text.contains("-- DESTRUCTIVE: drops table posts"),
            "{backend:?}: the down section marks its drops: {text}"
        );
        pkg.run(&["upgrade"]).ok();
        let check = pkg.run(&["check"]);
        check.code(0);
        assert!(check.all().contains("✓ schema: the migrations produce schema.sql"), "{backend:?}: {}", check.all());

        // Nothing new: no file.
        let again = pkg.run(&["new", "--autogenerate", "-m", "nothing"]);
        again.ok();
        assert!(again.stderr.contains("no revision written"), "{}", again.all());
        assert_eq!(revisions(&pkg), 1);
        assert_eq!(pkg.run(&["diff"]).ok(), "", "{backend:?}: diff prints nothing when in sync");

        // schema.sql moves on: check fails with 13 and names the difference, until a revision
        // captures it.
        let more = format!("{}CREATE TABLE tags (id int PRIMARY KEY, name varchar(40) NOT NULL);\n", schema(backend));
        std::fs::write(pkg.path().join("schema.sql"), more).unwrap();
        let check = pkg.run(&["check"]);
        check.code(13);
        assert!(check.stderr.contains("table tags: missing"), "{backend:?}: {}", check.all());
        let diff = pkg.run(&["diff"]);
        assert!(diff.ok().contains("CREATE TABLE tags"), "{backend:?}: {}", diff.all());
        let json: serde_json::Value = serde_json::from_str(pkg.run(&["diff", "--json"]).ok()).unwrap();
        assert_eq!(json["in_sync"], false);
        assert_eq!(json["differences"][0], "table tags: missing");
        pkg.run(&["new", "--autogenerate", "-m", "add tags"]).ok();
        pkg.run(&["upgrade"]).ok();
        pkg.run(&["check"]).code(0);
        // And back down: the generated down SQL returns to the first revision's schema.
        pkg.run(&["downgrade", "-1"]).ok();
        pkg.run(&["upgrade"]).ok();
        pkg.run(&["check"]).code(0);
    }
}

#[test]
fn check_names_the_drift() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let pkg = project(&db, backend);
        pkg.run(&["new", "--autogenerate", "-m", "init"]).ok();

        // Stamped but never applied.
        pkg.run(&["stamp", "head"]).ok();
        let check = pkg.run(&["check"]);
        check.code(14);
        for missing in ["table users: missing", "table posts: missing", "view recent: missing"] {
            assert!(check.stderr.contains(missing), "{backend:?}: {}", check.all());
        }
        let status = pkg.run(&["status"]);
        assert!(status.ok().contains("Drift ("), "{backend:?}: {}", status.all());
        let json: serde_json::Value = serde_json::from_str(pkg.run(&["status", "--json"]).ok()).unwrap();
        assert!(json["drift"].as_array().unwrap().len() >= 3, "{json}");

        // Applied for real: no drift.
        pkg.run(&["stamp", "base"]).ok();
        pkg.run(&["upgrade"]).ok();
        pkg.run(&["check"]).code(0);
        assert!(pkg.run(&["status"]).ok().contains("Schema: ✓"));

        // An index dropped, a column changed and a table added by hand.
        let hand = match backend {
            Backend::MySql => {
                "DROP INDEX posts_by_body ON posts; ALTER TABLE users MODIFY email varchar(300) NOT NULL; CREATE TABLE hotfix (id int)"
            }
            Backend::Postgres => {
                "DROP INDEX posts_by_body; ALTER TABLE users ALTER COLUMN email DROP NOT NULL; CREATE TABLE hotfix (id int)"
            }
            Backend::Sqlite => {
                "DROP INDEX posts_by_body; ALTER TABLE users RENAME COLUMN email TO mail; CREATE TABLE hotfix (id int)"
            }
        };
        db.run_script(hand);
        let check = pkg.run(&["check"]);
        check.code(14);
        assert!(check.stderr.contains("index posts_by_body on posts: missing"), "{backend:?}: {}", check.all());
        assert!(check.stderr.contains("table hotfix: extra"), "{backend:?}: {}", check.all());
        let changed = if backend == Backend::Sqlite { "column users.email: missing" } else { "column users.email: is" };
        assert!(check.stderr.contains(changed), "{backend:?}: {}", check.all());
        let json: serde_json::Value = serde_json::from_str(pkg.run(&["check", "--json"]).stdout.as_str()).unwrap();
        assert_eq!(json["exit_code"], 14);
    }
}

#[test]
fn dump_writes_what_the_migrations_or_the_database_hold() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let pkg = project(&db, backend);
        pkg.run(&["new", "--autogenerate", "-m", "init"]).ok();
        let dumped = pkg.run(&["dump"]);
        assert!(dumped.ok().contains("CREATE TABLE users"), "{backend:?}: {}", dumped.all());
        // The dump is itself a schema file that matches the migrations.
        std::fs::write(pkg.path().join("schema.sql"), &dumped.stdout).unwrap();
        assert_eq!(pkg.run(&["diff"]).ok(), "", "{backend:?}: a dump is a schema.sql the migrations produce");
        // Of a live database: empty before the upgrade (a SQLite file is never created by
        // reading), the schema after it.
        if backend != Backend::Sqlite {
            assert!(!pkg.run(&["dump", "--database"]).ok().contains("CREATE TABLE"));
        }
        pkg.run(&["upgrade"]).ok();
        let out = pkg.path().join("live.sql");
        pkg.run(&["dump", "--database", "-o", out.to_str().unwrap()]).ok();
        assert_eq!(std::fs::read_to_string(out).unwrap(), dumped.stdout, "{backend:?}");
    }
}

#[test]
fn a_broken_schema_file_names_its_line() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = project(&db, Backend::Postgres);
    let scratch = "SELECT datname FROM pg_database WHERE datname LIKE 'cargo_migrate_scratch_%'";
    let before = db.query(scratch);
    std::fs::write(pkg.path().join("schema.sql"), "CREATE TABLE a (id int);\n\nCREATE TABLE b (id nosuchtype);\n")
        .unwrap();
    let run = pkg.run(&["new", "--autogenerate", "-m", "x"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("schema.sql:3:"), "{}", run.all());
    assert!(run.stderr.contains("nothing else was touched"), "{}", run.all());
    assert_eq!(revisions(&pkg), 0);
    // Other tests' commands may have scratch databases right now; none that appeared since may
    // belong to a process that has ended (the name carries the pid).
    for row in db.query(scratch).into_iter().filter(|r| !before.contains(r)) {
        let pid = row[0].split('_').nth(4).unwrap_or_default().to_owned();
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "left behind: {}", row[0]);
    }
}

#[test]
fn no_schema_file_says_how_to_start_one() {
    let pkg = Package::initialised();
    let run = pkg.run(&["diff"]);
    run.code(2);
    assert!(run.stderr.contains("cargo migrate dump > schema.sql"), "{}", run.all());
}

#[cfg(unix)]
#[test]
fn ctrl_c_drops_the_scratch_databases() {
    for backend in [Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        let pkg = project(&db, backend);
        let sleep = if backend == Backend::Postgres { "SELECT pg_sleep(30);" } else { "SELECT SLEEP(30);" };
        std::fs::write(pkg.path().join("schema.sql"), format!("CREATE TABLE a (id int);\n{sleep}\n")).unwrap();
        let manifest = pkg.path().join("Cargo.toml");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .args(["migrate", "--manifest-path", manifest.to_str().unwrap(), "--database-url", &db.url, "diff"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pattern = format!("cargo_migrate_scratch_schema_{}_%", child.id());
        let list = match backend {
            Backend::Postgres => format!("SELECT datname FROM pg_database WHERE datname LIKE '{pattern}'"),
            _ => format!("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{pattern}'"),
        };
        let started = std::time::Instant::now();
        while db.query(&list).is_empty() {
            assert!(started.elapsed().as_secs() < 20, "{backend:?}: no scratch database appeared");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{backend:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(db.query(&list).is_empty(), "{backend:?}: a scratch database was left behind");
    }
}

#[test]
fn a_user_who_may_not_create_databases_is_told_what_to_do() {
    let db = TestDb::new(Backend::Postgres);
    let role = format!("{}_nocreate", db.name);
    db.run_script(&format!("CREATE ROLE {role} LOGIN NOCREATEDB"));
    let url = db.url.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    let pkg = Package::initialised().with_url(&url);
    std::fs::write(pkg.path().join("schema.sql"), schema(Backend::Postgres)).unwrap();
    let run = pkg.run(&["diff"]);
    db.run_script(&format!("DROP ROLE {role}"));
    run.code(1);
    assert!(run.stderr.contains("creating the scratch database cargo_migrate_scratch_"), "{}", run.all());
    assert!(run.stderr.contains("CREATEDB") && run.stderr.contains("--dev-url"), "{}", run.all());
}
