//! What a run says about itself, with the real binary on the real servers: the revisions a failed
//! run had applied, Ctrl-C and SIGTERM (the statement cancelled on the server, the state reported,
//! exit 130), the server's notices with `-v`, the statements with `-vv`, TLS from the URL.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, Package, TestDb};

#[test]
fn a_failed_run_reports_what_it_applied_before_the_failure() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        let pkg = Package::initialised().with_url(&db.url);
        pkg.revision("f1f1f1f1f1f1", "first", "CREATE TABLE ok_one (id int);", "DROP TABLE ok_one;", &[]);
        pkg.revision("f2f2f2f2f2f2", "second", "CREATE TABLE ok_two (id int);", "DROP TABLE ok_two;", &[]);
        pkg.revision("f3f3f3f3f3f3", "broken", "INSERT INTO no_such_table VALUES (1);", "SELECT 1;", &[]);
        let run = pkg.run(&["upgrade"]);
        run.code(1);
        assert!(run.stdout.contains("Upgraded 2 revisions before the failure"), "{backend:?}: {}", run.stdout);
        assert!(run.stdout.contains("Now at f2f2f2f2f2f2."), "{backend:?}: {}", run.stdout);
        assert!(
            run.stderr.contains("upgrade of `f3f3f3f3f3f3` failed at migrations/f3f3f3f3f3f3_broken.sql"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("rolled back"), "{backend:?}: {}", run.stderr);
        assert!(run.stderr.contains("help: fix the statement"), "{backend:?}: {}", run.stderr);
    }
}

/// Starts `cargo-migrate upgrade` in `pkg` with `url`, in the background.
fn spawn_upgrade(pkg: &Package, url: &str) -> std::process::Child {
    let manifest = pkg.path().join("Cargo.toml");
    Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["migrate", "--manifest-path", manifest.to_str().unwrap(), "upgrade", "--database-url", url])
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn ctrl_c_and_sigterm_cancel_the_statement_on_the_server_and_report_the_state() {
    let cases = [
        (Backend::Postgres, "INT", "SELECT pg_sleep(60);", "pg_sleep(60)"),
        (
            Backend::MySql,
            "TERM",
            "SELECT count(*) FROM seq_1_to_1000000 a JOIN seq_1_to_1000000 b ON a.seq + b.seq = 0;",
            "seq_1_to_1000000 a",
        ),
    ];
    for (backend, signal, slow, marker) in cases {
        let db = TestDb::new(backend);
        let pkg = Package::initialised().with_url(&db.url);
        let manifest = pkg.path().join("Cargo.toml");
        let toml =
            std::fs::read_to_string(&manifest).unwrap().replace("lock_timeout = \"60s\"", "lock_timeout = \"3s\"");
        std::fs::write(&manifest, toml).unwrap();
        pkg.revision("c1c1c1c1c1c1", "quick", "CREATE TABLE quick (id int);", "DROP TABLE quick;", &[]);
        pkg.revision("c2c2c2c2c2c2", "slow", &format!("INSERT INTO quick VALUES (1);\n{slow}"), "SELECT 1;", &[]);
        let running = match backend {
            Backend::Postgres => format!(
                "SELECT count(*)::text FROM pg_stat_activity WHERE query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
            ),
            _ => format!(
                "SELECT CAST(count(*) AS CHAR) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%{marker}%' AND ID <> CONNECTION_ID()"
            ),
        };
        let child = spawn_upgrade(&pkg, &db.url);
        let deadline = Instant::now() + Duration::from_secs(30);
        while db.query(&running)[0][0] != "1" {
            assert!(Instant::now() < deadline, "{backend:?}: the slow statement never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let start = Instant::now();
        let killed = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(start.elapsed() < Duration::from_secs(10), "{backend:?}: took {:?}", start.elapsed());
        assert_eq!(out.status.code(), Some(130), "{backend:?}\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("Upgraded 1 revision before the failure") && stdout.contains("Now at c1c1c1c1c1c1."),
            "{stdout}"
        );
        assert!(stderr.contains("the run was cancelled while `c2c2c2c2c2c2` ran"), "{stderr}");
        assert!(stderr.contains("rolled back"), "{stderr}");
        // The server stopped the statement at once, the step left nothing, the lock is free.
        assert_eq!(db.query(&running)[0][0], "0", "{backend:?}");
        assert_eq!(db.query("SELECT CAST(count(*) AS CHAR) FROM quick"), [["0"]], "{backend:?}");
        assert_eq!(db.history().len(), 1, "{backend:?}");
        assert!(pkg.run(&["current"]).ok().contains("c1c1c1c1c1c1"), "{backend:?}");
        let down = pkg.run(&["downgrade", "base"]);
        assert!(down.ok().contains("Downgraded 1 revision"), "{backend:?}: the lock was left held");
    }
}

#[test]
fn notices_show_with_v_and_statements_with_vv() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision(
        "a1a1a1a1a1a1",
        "noisy",
        "DO $$ BEGIN RAISE NOTICE 'hello from %', 'the migration'; END $$;",
        "SELECT 1;",
        &[],
    );
    let quiet = pkg.run(&["upgrade", "--sql"]);
    let script = quiet.ok().to_owned();
    let run = pkg.run(&["upgrade", "-v"]);
    run.ok();
    assert!(run.stderr.contains("notice: hello from the migration"), "{}", run.stderr);
    pkg.run(&["downgrade", "base"]).ok();
    let plain = pkg.run(&["upgrade"]);
    assert!(!plain.stderr.contains("hello from"), "{}", plain.stderr);
    pkg.run(&["downgrade", "base"]).ok();
    // -vv: each statement as the script has it.
    let run = pkg.run(&["upgrade", "-vv"]);
    run.ok();
    for statement in ["BEGIN;", "DO $$ BEGIN RAISE NOTICE 'hello from %', 'the migration'; END $$;", "COMMIT;"] {
        assert!(run.stderr.contains(statement) && script.contains(statement), "{statement}\n{}", run.stderr);
    }
}

#[test]
fn postgres_urls_that_require_tls_connect_over_tls() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised();
    pkg.revision(
        "b1b1b1b1b1b1",
        "who am i",
        "CREATE TABLE seen AS SELECT ssl, current_setting('application_name') AS app FROM pg_stat_ssl WHERE pid = pg_backend_pid();",
        "DROP TABLE seen;",
        &[],
    );
    let url = format!("{}?sslmode=require", db.url);
    pkg.run_env(&["upgrade"], &[("DATABASE_URL", &url)]).ok();
    assert_eq!(db.query("SELECT ssl::text, app FROM seen"), [["true", "cargo-migrate"]]);
    // A CA that does not match is refused, saying it is about TLS.
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), include_str!("fixtures/unrelated-ca.pem")).unwrap();
    let strict = format!("{}?sslmode=verify-full&sslrootcert={}", db.url, ca.path().display());
    let run = pkg.run_env(&["current"], &[("DATABASE_URL", &strict)]);
    run.code(7);
    assert!(run.stderr.to_lowercase().contains("tls") || run.stderr.contains("certificate"), "{}", run.stderr);
    // Without TLS on a server that offers it, the URL still decides.
    let plain = format!("{}?sslmode=disable", db.url);
    pkg.run_env(&["current"], &[("DATABASE_URL", &plain)]).ok();
}
