//! Bad input and the `check` gate with the real binary: every failure has its message and its
//! documented exit code, and a password never shows.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

fn users(pkg: &Package) {
    pkg.revision("a1a1a1a1a1a1", "create users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
}

#[test]
fn missing_directory() {
    let pkg = Package::new();
    let run = pkg.run(&["heads"]);
    run.code(3);
    insta::assert_snapshot!("missing_directory", run.stderr);
}

#[test]
fn malformed_file_names_file_and_line() {
    let pkg = Package::initialised();
    users(&pkg);
    std::fs::write(
        pkg.migrations().join("b2_broken.sql"),
        "-- revision: b2b2b2b2b2b2\n-- down_revison: a1a1a1a1a1a1\n-- migrate:up\nALTER TABLE users ADD x int;\n",
    )
    .unwrap();
    for command in [&["heads"][..], &["upgrade"], &["new", "-m", "x"], &["check"]] {
        let run = pkg.run(command);
        run.code(4);
        assert!(run.stderr.contains("unknown header key `down_revison`"), "{command:?}: {}", run.stderr);
        assert!(run.stderr.contains("[migrations/b2_broken.sql:2:4]"), "{command:?}: {}", run.stderr);
    }
    insta::assert_snapshot!("malformed_file", pkg.run(&["check"]).stderr);
    let json = pkg.run(&["check", "--json"]);
    json.code(4);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["chain"]["problems"][1]["path"], "migrations/b2_broken.sql");
    assert_eq!(v["chain"]["problems"][1]["line"], 2);
    assert_eq!(v["chain"]["problems"][1]["column"], 4);
}

#[test]
fn unknown_target_and_ambiguous_prefix() {
    let pkg = Package::initialised();
    pkg.revision("abcd1111aaaa", "one", "", "", &[]);
    pkg.revision("abcd2222bbbb", "two", "", "", &[]);
    let run = pkg.run(&["upgrade", "zzzzzz"]);
    run.code(8);
    assert!(run.stderr.contains("no revision `zzzzzz`"), "{}", run.stderr);
    let run = pkg.run(&["show", "abcd"]);
    run.code(8);
    insta::assert_snapshot!("ambiguous_prefix", run.stderr);
    let run = pkg.run(&["upgrade", "not a target!"]);
    run.code(8);
    assert!(run.stderr.contains("is not a target"), "{}", run.stderr);
    let run = pkg.run(&["downgrade", "abcd2222"]);
    run.code(8);
    assert!(run.stderr.contains("`abcd2222bbbb` is not applied"), "{}", run.stderr);
    pkg.run(&["show", "abcd1"]).ok();
}

#[test]
fn unreachable_database() {
    let pkg = Package::initialised().with_url("postgres://postgres:hunter2secret@127.0.0.1:1/nowhere");
    users(&pkg);
    let run = pkg.run(&["current"]);
    run.code(7);
    assert!(run.stderr.contains("cannot connect to postgres://postgres:***@127.0.0.1:1/nowhere"), "{}", run.stderr);
    assert!(run.stderr.contains("the URL came from --database-url"), "{}", run.stderr);
    assert!(!run.all().contains("hunter2secret"), "{}", run.all());
}

/// SQLite says only "unable to open database file" when the file's directory is missing.
#[test]
fn a_sqlite_file_in_a_missing_directory_is_named_as_such() {
    let pkg = Package::initialised();
    let url = format!("sqlite://{}", pkg.path().join("no/such/dir/app.db").display());
    users(&pkg);
    let run = pkg.run(&["upgrade", "--database-url", &url]);
    run.code(7);
    assert!(run.stderr.contains("no/such/dir of the database file does not exist"), "{}", run.stderr);
    assert!(run.stderr.contains("help: create the directory"), "{}", run.stderr);
    assert!(!pkg.path().join("no").exists());
}

#[test]
fn wrong_password_is_refused_and_never_printed() {
    let db = TestDb::new(Backend::MySql);
    let url = db.url.replacen("://root@", "://root:Wr0ngPassw0rd@", 1);
    assert_ne!(url, db.url, "MIGRATE_TEST_MYSQL_URL must name the user as user@host");
    let pkg = Package::initialised();
    users(&pkg);
    for args in [&["-v", "upgrade"][..], &["status", "--json"], &["check"]] {
        let run = pkg.run_env(args, &[("DATABASE_URL", &url)]);
        run.code(7);
        assert!(run.stderr.contains("cannot connect"), "{}", run.stderr);
        assert!(!run.all().contains("Wr0ngPassw0rd"), "{}", run.all());
    }
    let run = pkg.run_env(&["upgrade"], &[("DATABASE_URL", &url)]);
    assert!(run.stderr.contains("the server refused the URL's user or password"), "{}", run.stderr);
    assert!(run.stderr.contains("help: check the user and password in the URL"), "{}", run.stderr);
    // The diagnostic code tells a script this is a URL to fix, not a server to wait for.
    let run = pkg.run_env(&["status", "--json"], &[("DATABASE_URL", &url)]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["error"]["code"], "migrate::login_refused", "{v}");
    assert_eq!(v["error"]["exit_code"], 7, "{v}");
}

/// A database the server does not have is named as such, on both servers, decided by the
/// error's code.
#[test]
fn a_database_missing_on_the_server_says_to_create_it() {
    for backend in [Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        let (base, _) = db.url.rsplit_once('/').unwrap();
        let url = format!("{base}/no_such_database_here");
        let pkg = Package::initialised();
        users(&pkg);
        let run = pkg.run_env(&["upgrade"], &[("DATABASE_URL", &url)]);
        run.code(7);
        assert!(run.stderr.contains("the database named in the URL does not exist on the server"), "{}", run.stderr);
        assert!(run.stderr.contains("help: create it on the server first"), "{}", run.stderr);
        assert!(run.stderr.contains("migrate::no_such_database"), "{}", run.stderr);
    }
    // A server that is not there keeps the code that says so.
    let pkg = Package::initialised();
    let run = pkg.run_env(&["status", "--json"], &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x")]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["error"]["code"], "migrate::unreachable", "{v}");
}

#[test]
fn bad_configuration() {
    let pkg = Package::new();
    let run = pkg.run_raw(&["--manifest-path", "nowhere/Cargo.toml", "heads"], &[]);
    run.code(3);
    assert!(run.stderr.contains("no Cargo.toml at"), "{}", run.stderr);
    let manifest = pkg.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}\n[package.metadata.migrate]\ndirectry = \"db\"\n")).unwrap();
    let run = pkg.run(&["heads"]);
    run.code(3);
    assert!(run.stderr.contains("unknown field `directry`"), "{}", run.stderr);
    std::fs::write(&manifest, format!("{text}\n[package.metadata.migrate]\nlock_timeout = \"soon\"\n")).unwrap();
    let run = pkg.run(&["heads"]);
    run.code(3);
    assert!(run.stderr.contains("lock_timeout = \"soon\" is not a duration"), "{}", run.stderr);
    let run = pkg.run(&["-p", "other", "heads"]);
    run.code(3);
    assert!(run.stderr.contains("no package named `other`"), "{}", run.stderr);
}

#[test]
fn check_exit_codes() {
    let db = TestDb::new(Backend::Sqlite);
    let pkg = Package::initialised().with_url(&db.url);
    users(&pkg);
    // Reading never creates the SQLite file: a database that does not exist is reported as such.
    let missing = pkg.run(&["check"]);
    missing.code(7);
    assert!(
        missing.stderr.contains("does not exist") && missing.stderr.contains("never creates"),
        "{}",
        missing.stderr
    );
    assert!(!std::path::Path::new(db.url.trim_start_matches("sqlite://")).exists());
    pkg.run(&["upgrade"]).ok();
    pkg.run(&["check"]).ok();

    // Behind.
    pkg.revision(
        "b2b2b2b2b2b2",
        "add email",
        "ALTER TABLE users ADD email text;",
        "ALTER TABLE users DROP COLUMN email;",
        &[],
    );
    let behind = pkg.run(&["check"]);
    behind.code(5);
    assert!(behind.stderr.contains("1 revision(s) pending (b2b2b2b2b2b2)"), "{}", behind.stderr);
    let json = pkg.run(&["check", "--json"]);
    json.code(5);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["database"]["pending"], serde_json::json!(["b2b2b2b2b2b2"]));
    pkg.run(&["check", "--offline"]).ok();
    pkg.run(&["upgrade"]).ok();

    // Checksum changed.
    let file = pkg.file("a1a1a1a1a1a1");
    let original = std::fs::read_to_string(&file).unwrap();
    // An edit that changes the text, not the schema (one that changed the schema would be drift).
    std::fs::write(&file, original.replace("(id int)", "(id int /* reviewed */)")).unwrap();
    let changed = pkg.run(&["check"]);
    changed.code(6);
    assert!(changed.stderr.contains("--accept-changed a1a1a1a1a1a1"), "{}", changed.stderr);
    let refused = pkg.run(&["downgrade", "-1"]);
    refused.code(6);
    assert!(refused.stderr.contains("a1a1a1a1a1a1"), "{}", refused.stderr);
    pkg.run(&["upgrade", "--accept-changed", "a1a1"]).ok();
    pkg.run(&["check"]).ok();

    // Missing: the database records a revision with no file.
    std::fs::remove_file(pkg.file("b2b2b2b2b2b2")).unwrap();
    let missing = pkg.run(&["check"]);
    missing.code(10);
    assert!(missing.stderr.contains("b2b2b2b2b2b2"), "{}", missing.stderr);
    let status = pkg.run(&["status"]);
    assert!(status.ok().contains("Applied but missing a file (1):"), "{}", status.stdout);

    // Broken chain wins over everything.
    std::fs::write(pkg.migrations().join("zz.sql"), "nonsense\n").unwrap();
    pkg.run(&["check"]).code(4);
}

#[test]
fn a_failed_mysql_revision_is_dirty_until_resolved() {
    let db = TestDb::new(Backend::MySql);
    let pkg = Package::initialised().with_url(&db.url);
    users(&pkg);
    pkg.revision(
        "b2b2b2b2b2b2",
        "half done",
        "CREATE TABLE half (x int);\nINSERT INTO no_such_table VALUES (1);",
        "DROP TABLE half;",
        &[],
    );
    let failed = pkg.run(&["upgrade"]);
    failed.code(1);
    assert!(failed.stderr.contains("b2b2b2b2b2b2"), "{}", failed.stderr);
    assert!(failed.stderr.contains("migrations/b2b2b2b2b2b2_half_done.sql:8"), "the line is named: {}", failed.stderr);
    let check = pkg.run(&["check"]);
    check.code(9);
    assert!(check.stderr.contains("cargo migrate resolve b2b2b2b2b2b2"), "{}", check.stderr);
    let again = pkg.run(&["upgrade"]);
    again.code(9);
    for out in [&failed.stderr, &check.stderr, &again.stderr] {
        assert!(!out.contains("Migrator::"), "the command line is told the command, not the API: {out}");
    }
    let wrong = pkg.run(&["resolve", "a1a1a1a1a1a1", "--unapplied"]);
    wrong.code(8);
    assert!(wrong.stderr.contains("the dirty revision is `b2b2b2b2b2b2`"), "{}", wrong.stderr);

    // Undo by hand, fix the file, mark it unapplied, run it again.
    db.query("DROP TABLE half");
    let file = pkg.file("b2b2b2b2b2b2");
    let text = std::fs::read_to_string(&file).unwrap().replace("INSERT INTO no_such_table VALUES (1);", "");
    std::fs::write(&file, text).unwrap();
    let resolved = pkg.run(&["resolve", "b2b2", "--unapplied"]);
    assert!(resolved.ok().contains("Marked b2b2b2b2b2b2 as not applied"), "{}", resolved.stdout);
    pkg.run(&["upgrade"]).ok();
    pkg.run(&["check"]).ok();
    pkg.run(&["resolve", "b2b2", "--applied"]).ok();
}

#[test]
fn edit_opens_the_file_in_the_editor() {
    let pkg = Package::initialised();
    users(&pkg);
    let run = pkg.run(&["edit", "a1a1"]);
    run.code(3);
    assert!(run.stderr.contains("neither EDITOR nor VISUAL is set"), "{}", run.stderr);
    let script = pkg.path().join("fake-editor.sh");
    std::fs::write(&script, "#!/bin/sh\necho \"-- edited\" >> \"$1\"\n").unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    pkg.run_env(&["edit", "a1a1"], &[("VISUAL", script.to_str().unwrap())]).ok();
    assert!(std::fs::read_to_string(pkg.file("a1a1a1a1a1a1")).unwrap().ends_with("-- edited\n"));
    let failing = pkg.run_env(&["edit"], &[("EDITOR", "false")]);
    failing.code(1);
}

#[test]
fn help_documents_exit_codes_and_completions_work() {
    let pkg = Package::new();
    let help = pkg.run(&["--help"]);
    assert!(help.ok().contains("Exit codes:\n   0  success"), "{}", help.stdout);
    let bash = pkg.run(&["completions", "bash"]);
    assert!(bash.ok().contains("cargo-migrate"), "{}", bash.stdout);
    pkg.run(&["frobnicate"]).code(2);
}

#[test]
fn all_or_nothing_rolls_back_the_whole_run_or_is_refused() {
    let db = TestDb::new(Backend::Sqlite);
    let pkg = Package::initialised().with_url(&db.url);
    users(&pkg);
    pkg.revision("b2b2b2b2b2b2", "breaks", "INSERT INTO no_such_table VALUES (1);", "SELECT 1;", &[]);
    let run = pkg.run(&["upgrade", "--all-or-nothing"]);
    run.code(1);
    assert!(run.stderr.contains("migrations/b2b2b2b2b2b2_breaks.sql:7"), "{}", run.stderr);
    assert!(db.schema().is_empty(), "{:?}", db.schema());
    assert!(db.history().is_empty());

    let mysql = TestDb::new(Backend::MySql);
    let pkg = Package::initialised().with_url(&mysql.url);
    users(&pkg);
    let refused = pkg.run(&["upgrade", "--all-or-nothing"]);
    refused.code(2);
    assert!(refused.stderr.contains("all-or-nothing mode is not possible"), "{}", refused.stderr);
    assert!(mysql.schema().is_empty());
}

/// Regression: `--sql` printed a script for runs the online command refuses.
#[test]
fn offline_scripts_refuse_what_online_runs_refuse() {
    let pkg = Package::initialised();
    pkg.revision("aaaa00000001", "one", "CREATE TABLE a (x int);", "DROP TABLE a;", &[]);
    pkg.revision("bbbb00000001", "two", "CREATE TABLE b (x int);", "DROP TABLE b;", &[]);
    let run = pkg.run(&["--database-url", "mysql://root@127.0.0.1/x", "upgrade", "--sql", "--all-or-nothing"]);
    run.code(2);
    assert!(run.stderr.contains("all-or-nothing mode is not possible"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let run = pkg.run(&["upgrade", "--sql", "head:aaaa0000"]);
    run.code(2);
    assert!(run.stderr.contains("downgrade --sql head:aaaa0000"), "{}", run.stderr);
    // A downgrade target alone names no start: the help gives the range, in the words typed.
    let run = pkg.run(&["downgrade", "-1", "--sql"]);
    run.code(2);
    assert!(run.stderr.contains("`downgrade -1 --sql` needs to know where the database is"), "{}", run.stderr);
    assert!(run.stderr.contains("`cargo migrate downgrade head:-1 --sql`"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(pkg.run(&["downgrade", "head:-1", "--sql"]).ok().contains("DROP TABLE b;"));
}

/// Regression: a URL typed without its scheme was echoed with its password.
#[test]
fn a_url_without_a_scheme_keeps_its_password_hidden() {
    let pkg = Package::initialised();
    let run = pkg.run(&["--database-url", "qa_user:s3cretPW@127.0.0.1/db", "current"]);
    run.code(7);
    assert!(!run.stderr.contains("s3cretPW") && !run.stdout.contains("s3cretPW"), "{}", run.stderr);
    assert!(run.stderr.contains("qa_user:***@127.0.0.1/db"), "{}", run.stderr);
}
