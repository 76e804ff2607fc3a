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

/// SQLite has no server to cancel from: the run's progress handler interrupts the statement
/// in this process, so Ctrl-C stops a long statement at once, rolls its revision back and
/// leaves the database free.
#[test]
fn ctrl_c_interrupts_a_long_sqlite_statement() {
    let db = TestDb::new(Backend::Sqlite);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("c1c1c1c1c1c1", "quick", "CREATE TABLE quick (id int);", "DROP TABLE quick;", &[]);
    // About half a minute of work, were it not interrupted.
    let slow = "INSERT INTO quick VALUES (1);\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c \
                WHERE i < 200000000) SELECT count(*) FROM c;";
    pkg.revision("c2c2c2c2c2c2", "slow", slow, "SELECT 1;", &[]);
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let lock = std::path::PathBuf::from(format!("{file}-migrate.lock"));
    let child = spawn_upgrade(&pkg, &db.url);
    // The run's lock file appears as it starts; the first revision takes a millisecond.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lock.exists() {
        assert!(Instant::now() < deadline, "the run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(700));
    let start = Instant::now();
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains("Upgraded 1 revision before the failure"), "{stdout}");
    assert!(stderr.contains("the run was cancelled while `c2c2c2c2c2c2` ran"), "{stderr}");
    assert!(stderr.contains("rolled back"), "{stderr}");
    assert_eq!(db.query("SELECT CAST(count(*) AS TEXT) FROM quick"), [["0"]]);
    assert_eq!(db.history().len(), 1);
    let down = pkg.run(&["downgrade", "base"]);
    assert!(down.ok().contains("Downgraded 1 revision"), "{}", down.stderr);
}

/// An accepted checksum is recorded before the first step, so a run that fails after it still
/// says it accepted the file; asked again, it says there is nothing left to accept.
#[test]
fn a_failed_run_says_which_edited_files_it_had_accepted() {
    let db = TestDb::new(Backend::Sqlite);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("e1e1e1e1e1e1", "first", "CREATE TABLE e1 (id int);", "DROP TABLE e1;", &[]);
    pkg.run(&["upgrade"]).ok();
    let file = pkg.file("e1e1e1e1e1e1");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("(id int)", "(id int /* reviewed */)")).unwrap();
    pkg.revision("e2e2e2e2e2e2", "broken", "INSERT INTO no_such_table VALUES (1);", "SELECT 1;", &[]);

    let run = pkg.run(&["upgrade", "--accept-changed", "e1e1"]);
    run.code(1);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(said.contains("accepted the edited file of e1e1e1e1e1e1"), "{said}");
    assert!(run.stderr.contains("upgrade of `e2e2e2e2e2e2` failed"), "{}", run.stderr);

    // Recorded: asked again, there is nothing to accept, in words and in JSON.
    let again = pkg.run(&["upgrade", "--accept-changed", "e1e1"]);
    again.code(1);
    let said = format!("{}{}", again.stdout, again.stderr);
    assert!(said.contains("e1e1e1e1e1e1 is as recorded: nothing to accept"), "{said}");
    assert!(!said.contains("accepted the edited file"), "{said}");
    let json = pkg.run(&["upgrade", "--accept-changed", "e1e1", "--json"]);
    json.code(1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["applied"]["accepted_changed"], serde_json::json!([]), "{}", json.stdout);
    std::fs::remove_file(pkg.file("e2e2e2e2e2e2")).unwrap();
    pkg.run(&["check"]).ok();
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

/// A MariaDB server of the test's own on a free loopback port, with TLS on (a certificate made
/// for it) and a user `app` that must use it; stopped and removed when dropped.
struct TlsMariaDb {
    dir: tempfile::TempDir,
    port: u16,
    child: std::process::Child,
}

impl TlsMariaDb {
    fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("migrate-tls-mariadb-").tempdir().unwrap();
        let d = dir.path();
        // A temporary directory of its own: a starting server removes the `#sql*` files it finds
        // in its tmpdir, so two servers starting at once in /tmp delete each other's.
        std::fs::create_dir(d.join("tmp")).unwrap();
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"])
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--tmpdir={}", d.join("tmp").display()))
            .output()
            .expect("mariadb-install-db (package mariadb-server) must be installed");
        assert!(install.status.success(), "{}", String::from_utf8_lossy(&install.stderr));
        // A CA of the test's own, and the server's certificate signed by it for 127.0.0.1.
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(d).output().expect("openssl must be installed");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        openssl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem"]
                .into_iter()
                .chain(["-subj", "/CN=migrate test CA", "-days", "2"])
                .collect::<Vec<_>>(),
        );
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("mariadbd")
            .args(["--no-defaults", "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin", "--user=root"])
            .arg("--innodb-buffer-pool-size=32M")
            .arg(format!("--port={port}"))
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--tmpdir={}", d.join("tmp").display()))
            .arg(format!("--socket={}", d.join("sock").display()))
            .arg(format!("--pid-file={}", d.join("pid").display()))
            .arg(format!("--ssl-cert={}", d.join("cert.pem").display()))
            .arg(format!("--ssl-key={}", d.join("key.pem").display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd (package mariadb-server) must be installed");
        let server = Self { dir, port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while server.admin("SELECT 1").is_err() {
            assert!(Instant::now() < deadline, "the TLS MariaDB did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server.admin("CREATE DATABASE app; CREATE USER app@'%' REQUIRE SSL; GRANT ALL ON app.* TO app@'%'").unwrap();
        server
    }

    /// Runs SQL as root over the server's own socket (which needs no TLS).
    fn admin(&self, sql: &str) -> Result<String, String> {
        let out = Command::new("mariadb")
            .args(["-uroot", "-N", "-e", sql])
            .arg(format!("--socket={}", self.dir.path().join("sock").display()))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn mariadb_urls_that_require_tls_connect_over_tls() {
    let server = TlsMariaDb::start();
    let pkg = Package::initialised();
    pkg.revision(
        "d1d1d1d1d1d1",
        "cipher",
        "CREATE TABLE seen AS SELECT VARIABLE_VALUE AS cipher FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher';",
        "DROP TABLE seen;",
        &[],
    );
    let base = format!("mysql://app@127.0.0.1:{}/app", server.port);
    // The server refuses this user without TLS: the URL's ssl-mode decides.
    let plain = pkg.run_env(&["current"], &[("DATABASE_URL", &format!("{base}?ssl-mode=disabled"))]);
    plain.code(7);
    let url = format!("{base}?ssl-mode=required");
    pkg.run_env(&["upgrade"], &[("DATABASE_URL", &url)]).ok();
    let cipher = server.admin("SELECT cipher FROM app.seen").unwrap();
    assert!(!cipher.is_empty() && cipher != "NULL", "no TLS cipher recorded: {cipher:?}");
    // Checking the server against a CA: the one that signed its certificate passes (also for
    // its identity), an unrelated one does not.
    let ca = server.dir.path().join("ca.pem");
    for mode in ["verify_ca", "verify_identity"] {
        let verified = format!("{base}?ssl-mode={mode}&ssl-ca={}", ca.display());
        assert!(pkg.run_env(&["current"], &[("DATABASE_URL", &verified)]).ok().contains("d1d1d1d1d1d1"), "{mode}");
    }
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), include_str!("fixtures/unrelated-ca.pem")).unwrap();
    let wrong = format!("{base}?ssl-mode=verify_ca&ssl-ca={}", ca.path().display());
    let refused = pkg.run_env(&["current"], &[("DATABASE_URL", &wrong)]);
    refused.code(7);
    assert!(refused.stderr.contains("certificate") && refused.stderr.contains("TLS settings"), "{}", refused.stderr);
}

#[test]
fn read_only_servers_are_named_before_any_lock_or_change() {
    // PostgreSQL: a session that may not write (a standby answers the same way, through
    // pg_is_in_recovery()).
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised();
    pkg.revision("e1e1e1e1e1e1", "first", "CREATE TABLE first_t (id int);", "DROP TABLE first_t;", &[]);
    let url = format!("{}?options=-c%20default_transaction_read_only%3Don", db.url);
    let run = pkg.run_env(&["upgrade"], &[("DATABASE_URL", &url)]);
    run.code(12);
    assert!(
        run.stderr.contains("accepts no writes") && run.stderr.contains("default_transaction_read_only"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("point the URL at the primary"), "{}", run.stderr);
    let tables = db.query("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'public'");
    assert_eq!(tables, [["0"]], "nothing was created");
    // Reading works there.
    pkg.run_env(&["current"], &[("DATABASE_URL", &url)]).ok();

    // MariaDB with read_only on: a user who may not bypass it is told so.
    let server = TlsMariaDb::start();
    server.admin("SET GLOBAL read_only = 1").unwrap();
    let url = format!("mysql://app@127.0.0.1:{}/app?ssl-mode=required", server.port);
    let run = pkg.run_env(&["upgrade"], &[("DATABASE_URL", &url)]);
    run.code(12);
    assert!(run.stderr.contains("read_only is on"), "{}", run.stderr);
    assert_eq!(server.admin("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'app'").unwrap(), "0");
}
