//! Fleets through the real binary: `upgrade`, `downgrade`, `current` and `check` over SQLite,
//! PostgreSQL and MariaDB databases at once (`--database-url` repeated, `--database-urls FILE`),
//! a failing database reported without stopping the others (or stopping them with
//! `--fail-fast`), passwords redacted, one database listed twice still applied once, the run
//! options (`--all-or-nothing`, `--accept-changed`, `--backup`) applied to every database, and
//! `check`'s file checks run once for the fleet.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

fn chain(pkg: &Package) {
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int PRIMARY KEY);", "DROP TABLE users;", &[]);
    pkg.revision(
        "b2b2b2b2b2b2",
        "email",
        "ALTER TABLE users ADD COLUMN email varchar(50);",
        "ALTER TABLE users DROP COLUMN email;",
        &[],
    );
}

/// Regression: a fleet run took none of the options of a single run; `--all-or-nothing` was
/// ignored, so a failure left each database half upgraded.
#[test]
fn the_run_options_apply_to_every_database_of_a_fleet() {
    let dbs = [TestDb::new(Backend::Sqlite), TestDb::new(Backend::Sqlite)];
    let pkg = Package::initialised();
    chain(&pkg);
    let urls: Vec<&str> = dbs.iter().flat_map(|d| ["--database-url", d.url.as_str()]).collect();
    pkg.run(&[&["upgrade"][..], &urls].concat()).code(0);

    // All or nothing on each: the failing second revision takes the first one back with it.
    pkg.revision("c3c3c3c3c3c3", "fine", "CREATE TABLE fine (x int);", "DROP TABLE fine;", &[]);
    pkg.revision("d4d4d4d4d4d4", "broken", "INSERT INTO no_such_table VALUES (1);", "SELECT 1;", &[]);
    let run = pkg.run(&[&["upgrade", "--all-or-nothing"][..], &urls].concat());
    run.code(1);
    for db in &dbs {
        assert_eq!(db.history().len(), 2, "rolled back as a whole: {}", run.all());
        assert!(db.schema().iter().all(|row| row[0] != "fine"), "{}", run.all());
    }

    // Accepted on each, and each backed up first into the one directory, under its own name.
    std::fs::remove_file(pkg.file("d4d4d4d4d4d4")).unwrap();
    let file = pkg.file("a1a1a1a1a1a1");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("PRIMARY KEY)", "PRIMARY KEY /* reviewed */)")).unwrap();
    let backups = pkg.path().join("backups");
    let backup_arg = backups.to_str().unwrap();
    let run = pkg.run(&[&["upgrade", "--accept-changed", "a1a1", "--backup", backup_arg][..], &urls].concat());
    run.code(0);
    assert_eq!(run.stdout.matches("accepted the edited file of a1a1a1a1a1a1").count(), 2, "{}", run.all());
    assert_eq!(run.stdout.matches("backed up to").count(), 2, "{}", run.all());
    assert_eq!(std::fs::read_dir(&backups).unwrap().count(), 2, "{}", run.all());
    for db in &dbs {
        assert_eq!(db.history().len(), 3, "{}", run.all());
    }
}

/// Regression: `check` over several databases left out the checks of the files (the lint, the
/// downgrade proof, the schema file) and drift. The files are now checked once, and every
/// database for drift as well as against the head.
#[test]
fn a_fleet_check_checks_the_files_once_and_every_database() {
    let dbs = [TestDb::new(Backend::Sqlite), TestDb::new(Backend::Sqlite)];
    let pkg = Package::initialised();
    chain(&pkg);
    let urls: Vec<&str> = dbs.iter().flat_map(|d| ["--database-url", d.url.as_str()]).collect();
    pkg.run(&[&["upgrade"][..], &urls].concat()).code(0);
    let run = pkg.run(&[&["check"][..], &urls].concat());
    run.code(0);
    assert_eq!(run.stdout.matches("downgrades: each of 2 revision(s) undoes its upgrade").count(), 1, "{}", run.all());
    assert_eq!(
        run.stdout.matches("at the head (b2b2b2b2b2b2), schema as its revisions make it").count(),
        2,
        "{}",
        run.all()
    );

    // Drift on one database fails it, and only it.
    dbs[1].run_script("CREATE TABLE hotfix (x int);");
    let run = pkg.run(&[&["check"][..], &urls].concat());
    run.code(14);
    assert!(run.stdout.contains("(drift):") && run.stdout.contains("hotfix"), "{}", run.all());
    assert!(run.stderr.contains("2 database(s): 1 ok, 1 failed"), "{}", run.all());
    let run = pkg.run(&[&["check", "--json"][..], &urls].concat());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let second = &v["databases"][1];
    assert_eq!((&second["exit_code"], &second["code"]), (&14.into(), &"migrate::drift".into()), "{v}");
    assert!(second["drift"][0].as_str().unwrap().contains("hotfix"), "{v}");
    assert_eq!(v["databases"][0]["current"][0], "b2b2b2b2b2b2", "{v}");
    // Drift stops a --fail-fast fleet as any failure does.
    let reversed = ["--database-url", dbs[1].url.as_str(), "--database-url", dbs[0].url.as_str()];
    let run = pkg.run(&[&["check", "--fail-fast", "--jobs", "1"][..], &reversed].concat());
    run.code(14);
    assert!(run.stdout.contains("not run: an earlier database failed"), "{}", run.all());
    dbs[1].run_script("DROP TABLE hotfix;");

    // A downgrade that does not undo its upgrade fails the check though every database is at
    // the head; the JSON has the files' sections beside the databases.
    pkg.revision("c3c3c3c3c3c3", "keeps", "CREATE TABLE kept (x int);", "SELECT 1;", &[]);
    pkg.run(&[&["upgrade"][..], &urls].concat()).code(0);
    let run = pkg.run(&[&["check"][..], &urls].concat());
    run.code(15);
    assert!(run.stderr.contains("c3c3c3c3c3c3"), "{}", run.all());
    assert!(run.stderr.contains("2 database(s): 2 ok, 0 failed"), "{}", run.all());
    let run = pkg.run(&[&["check", "--json"][..], &urls].concat());
    run.code(15);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["downgrades"]["ok"], false, "{v}");
    assert_eq!(v["chain"]["revisions"], 3, "{v}");
    assert!(v["databases"].as_array().unwrap().iter().all(|d| d["state"] == "ok"), "{v}");

    // A database's own failure decides the exit code before the files'.
    pkg.run(&["downgrade", "-1", "--database-url", &dbs[1].url]).code(0);
    pkg.run(&[&["check"][..], &urls].concat()).code(5);
}

/// Regression: `check --offline` with several URLs connected to each of them.
#[test]
fn an_offline_check_reads_no_database_however_many_are_given() {
    let pkg = Package::initialised();
    chain(&pkg);
    let run = pkg.run(&[
        "check",
        "--offline",
        "--database-url",
        "sqlite:///nonexistent/dir/x.db",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/nowhere",
    ]);
    run.code(0);
    assert!(run.stdout.contains("chain: 2 revisions"), "{}", run.all());
    assert!(!run.all().contains("database(s)"), "{}", run.all());
}

#[test]
fn a_fleet_of_three_backends_with_one_broken_database() {
    let dbs = [TestDb::new(Backend::Sqlite), TestDb::new(Backend::Postgres), TestDb::new(Backend::MySql)];
    let pkg = Package::initialised();
    chain(&pkg);
    // The PostgreSQL URL carries a password (the server trusts loopback, so any works).
    let pg = dbs[1].url.replacen("postgres://postgres@", "postgres://postgres:s3cr3t-pw@", 1);
    let broken = "sqlite:///nonexistent/dir/x.db".to_owned();
    let file = pkg.path().join("tenants.txt");
    std::fs::write(&file, format!("# tenants\n{}\n\n{pg}\n{broken}\n{}\n", dbs[0].url, dbs[2].url)).unwrap();
    let file = file.to_str().unwrap();

    let run = pkg.run(&["upgrade", "--database-urls", file, "--jobs", "2"]);
    run.code(7);
    assert!(!run.all().contains("s3cr3t-pw"), "the password is redacted: {}", run.all());
    assert!(run.stdout.contains("✗ sqlite:///nonexistent/dir/x.db"), "{}", run.all());
    assert_eq!(run.stdout.matches("2 revision(s)").count(), 3, "the others went on: {}", run.all());
    assert!(run.stderr.contains("4 database(s): 3 ok, 1 failed, 0 skipped"), "{}", run.all());
    for db in &dbs {
        assert_eq!(db.history().len(), 2, "{:?}", db.backend);
    }

    // current and check over the good ones, with --database-url repeated.
    let good: Vec<&str> = vec!["--database-url", &dbs[0].url, "--database-url", &pg, "--database-url", &dbs[2].url];
    let run = pkg.run(&[&["current"][..], &good].concat());
    run.code(0);
    assert_eq!(run.stdout.matches("at b2b2b2b2b2b2").count(), 3, "{}", run.all());
    pkg.run(&[&["check"][..], &good].concat()).code(0);
    pkg.run(&[&["downgrade", "-1"][..], &good].concat()).code(0);
    let run = pkg.run(&[&["check", "--json"][..], &good].concat());
    run.code(5);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["databases"].as_array().unwrap().len(), 3);
    assert!(v["databases"].as_array().unwrap().iter().all(|d| d["state"] == "failed"), "{v}");
    assert!(
        v["databases"].as_array().unwrap().iter().all(|d| d["exit_code"] == 5 && d["code"] == "migrate::behind"),
        "{v}"
    );

    // --fail-fast: nothing after the broken one starts (one at a time, so the order holds).
    let run = pkg.run(&["upgrade", "--database-urls", file, "--jobs", "1", "--fail-fast"]);
    run.code(7);
    assert!(run.stdout.contains(&format!("- {}: not run", migrate_core::redact_url(&dbs[2].url))), "{}", run.all());
    assert_eq!(dbs[2].history().len(), 1, "the database after the failure was not touched");
}

#[test]
fn one_database_listed_twice_is_applied_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend);
        let pkg = Package::initialised();
        chain(&pkg);
        let mut args = vec!["upgrade", "--jobs", "4"];
        for _ in 0..4 {
            args.extend(["--database-url", db.url.as_str()]);
        }
        let run = pkg.run(&args);
        run.code(0);
        assert_eq!(db.history().len(), 2, "{backend:?}");
        // Exactly one run applied the revisions; the others found nothing to do (or waited and then did).
        assert_eq!(run.stdout.matches("2 revision(s)").count(), 1, "{backend:?}: {}", run.all());
    }
}

#[test]
fn other_commands_take_one_database() {
    let pkg = Package::initialised();
    let run = pkg.run(&["status", "--database-url", "sqlite:a.db", "--database-url", "sqlite:b.db"]);
    run.code(2);
    assert!(
        run.stderr.contains("only upgrade, downgrade, current and check run on several databases"),
        "{}",
        run.all()
    );
    let run = pkg.run(&["upgrade", "--sql", "--database-url", "sqlite:a.db", "--database-url", "sqlite:b.db"]);
    run.code(2);
}

/// Regression: Ctrl-C during a fleet run killed the process where it stood (a server kept
/// running the statement, a lock-table claim waited out its lease), and after a fleet `check`
/// had checked the files it was ignored altogether. Each database's run is now cancelled as a
/// single one is, and no other database starts.
#[cfg(unix)]
#[test]
fn ctrl_c_cancels_a_fleet_run_and_starts_no_other_database() {
    let dbs = [TestDb::new(Backend::Postgres), TestDb::new(Backend::Postgres)];
    let pkg = Package::initialised();
    pkg.revision("a1a1a1a1a1a1", "slow", "CREATE TABLE slow (x int);\nSELECT pg_sleep(60);", "DROP TABLE slow;", &[]);
    let manifest = pkg.path().join("Cargo.toml");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["migrate", "--manifest-path", manifest.to_str().unwrap(), "upgrade", "--jobs", "1"])
        .args(["--database-url", &dbs[0].url, "--database-url", &dbs[1].url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let running =
        "SELECT count(*)::text FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while dbs[0].query(running)[0][0] != "1" {
        assert!(std::time::Instant::now() < deadline, "the slow statement never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let start = std::time::Instant::now();
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(start.elapsed() < std::time::Duration::from_secs(10), "took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains("the run was cancelled while `a1a1a1a1a1a1` ran"), "{stdout}");
    assert!(stdout.contains("not run: the run was cancelled"), "{stdout}");
    assert_eq!(dbs[0].query(running)[0][0], "0", "the server stopped the statement");
    assert!(dbs[0].history().is_empty(), "the revision rolled back");
    let tables = "SELECT count(*)::text FROM information_schema.tables WHERE table_schema = 'public'";
    assert_eq!(dbs[1].query(tables)[0][0], "0", "the second database was never touched");
}

/// Regression: a fleet ignored `--dev-url` (and `dev_url`), building the schemas for drift on
/// each tenant's server, where its user may not create databases.
#[test]
fn a_fleet_check_builds_its_schemas_on_the_dev_server() {
    let dbs = [TestDb::new(Backend::Postgres), TestDb::new(Backend::Postgres)];
    let pkg = Package::initialised();
    chain(&pkg);
    let admin: Vec<&str> = dbs.iter().flat_map(|d| ["--database-url", d.url.as_str()]).collect();
    pkg.run(&[&["upgrade"][..], &admin].concat()).code(0);
    // The tenants' own user reads its tables and may not create databases.
    let role = format!("{}_tenant", dbs[0].name);
    dbs[0].run_script(&format!("CREATE ROLE {role} LOGIN NOCREATEDB"));
    for db in &dbs {
        db.run_script(&format!("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"));
    }
    let tenant: Vec<String> =
        dbs.iter().map(|d| d.url.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1)).collect();
    let urls: Vec<&str> = tenant.iter().flat_map(|u| ["--database-url", u.as_str()]).collect();
    let dev = format!("--dev-url={}", dbs[0].url);
    let run = pkg.run(&[&["check", &dev][..], &urls].concat());
    for db in &dbs {
        db.run_script(&format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"));
    }
    dbs[0].run_script(&format!("DROP ROLE {role}"));
    run.code(0);
    assert_eq!(run.stdout.matches("schema as its revisions make it").count(), 2, "{}", run.all());
}
