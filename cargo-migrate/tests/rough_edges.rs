//! Places a new user tripped, each pinned with the real binary: Alembic's `merge heads`, a typo
//! of `head`, `.gitignore` after `init`, `check` saying it did not check a database, another
//! project's database behind `current`, and the global options under their own heading.
#![allow(clippy::unwrap_used)]

mod common;

use common::Package;

#[test]
fn merge_takes_alembics_heads() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "", "", &[]);
    pkg.revision("b1b1b1b1b1b1", "left", "", "", &["--head", "a0a0a0a0a0a0"]);
    pkg.revision("c2c2c2c2c2c2", "right", "", "", &["--head", "a0a0a0a0a0a0"]);
    let run = pkg.run(&["merge", "-m", "join", "heads", "--rev-id", "d3d3d3d3d3d3"]);
    run.ok();
    let text = std::fs::read_to_string(pkg.file("d3d3d3d3d3d3")).unwrap();
    assert!(text.contains("-- down_revision: b1b1b1b1b1b1, c2c2c2c2c2c2"), "{text}");
}

#[test]
fn a_typo_of_head_gets_a_suggestion() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "", "", &[]);
    let run = pkg.run(&["upgrade", "hed"]);
    run.code(8);
    assert!(run.stderr.contains("did you mean `head`?"), "{}", run.stderr);
}

#[test]
fn init_keeps_the_sqlite_file_and_its_lock_out_of_git() {
    let pkg = Package::new();
    std::fs::write(pkg.path().join(".gitignore"), "/target").unwrap();
    pkg.run(&["init"]).ok();
    let ignore = std::fs::read_to_string(pkg.path().join(".gitignore")).unwrap();
    assert_eq!(ignore, "/target\nmigrate.db\nmigrate.db-*\n");
    // Idempotent.
    let again = pkg.run(&["init"]);
    assert!(again.ok().contains("already ignores migrate.db"), "{}", again.stdout);
    assert_eq!(std::fs::read_to_string(pkg.path().join(".gitignore")).unwrap(), ignore);
}

#[test]
fn check_says_when_it_did_not_check_a_database() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "", "", &[]);
    let run = pkg.run_raw(&["check"], &[]);
    run.ok();
    assert!(run.stderr.contains("database not checked") && run.stderr.contains("--database-url"), "{}", run.stderr);
}

#[test]
fn current_on_another_projects_database_warns_and_fails() {
    let other = Package::initialised();
    other.revision("0th0th0th0th", "elsewhere", "CREATE TABLE other (x int);", "DROP TABLE other;", &[]);
    let db = other.path().join("shared.db");
    let url = format!("sqlite://{}", db.display());
    other.run(&["upgrade", "--database-url", &url]).ok();
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "mine", "", "", &[]);
    let run = pkg.run(&["current", "--database-url", &url]);
    run.code(10);
    assert!(run.stderr.contains("no file for") && run.stderr.contains("0th0th0th0th"), "{}", run.stderr);
}

#[test]
fn subcommand_help_lists_global_options_apart() {
    let pkg = Package::new();
    let run = pkg.run(&["upgrade", "--help"]);
    let help = run.ok();
    let global = help.find("Global options:").expect(help);
    let own = help.find("--sql").unwrap();
    assert!(own < global, "{help}");
    assert!(help[global..].contains("--database-url"), "{help}");
}

#[test]
fn a_relative_database_url_means_the_same_file_from_any_directory_and_reads_create_nothing() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    let env = [("DATABASE_URL", "sqlite:data.db")];
    // From src/, a read command neither resolves the path there nor creates the file.
    let src = pkg.path().join("src");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
    let out =
        cmd.args(["migrate", "current"]).current_dir(&src).env("DATABASE_URL", "sqlite:data.db").output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!src.join("data.db").exists() && !pkg.path().join("data.db").exists());
    // An upgrade from src/ creates it beside Cargo.toml, where every later command finds it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["migrate", "upgrade"])
        .current_dir(&src)
        .env("DATABASE_URL", "sqlite:data.db")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(pkg.path().join("data.db").exists() && !src.join("data.db").exists());
    assert!(pkg.run_raw(&["current"], &env).ok().contains("a0a0a0a0a0a0"));
}

#[test]
fn a_stray_file_in_the_migrations_directory_is_named() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "", "", &[]);
    std::fs::write(pkg.migrations().join("b1_add_email.SQL"), "-- revision: b1\n").unwrap();
    std::fs::write(pkg.migrations().join(".hidden"), "").unwrap();
    let run = pkg.run(&["heads"]);
    run.ok();
    assert!(run.stderr.contains("warning: migrations/b1_add_email.SQL is not a migration"), "{}", run.stderr);
    assert!(!run.stderr.contains(".hidden"), "{}", run.stderr);
}

#[test]
fn json_output_covers_runs_and_errors() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    pkg.revision("b1b1b1b1b1b1", "broken", "INSERT INTO nowhere VALUES (1);", "SELECT 1;", &[]);
    // A run that stops part-way: one JSON document with the error and what was applied.
    let run = pkg.run(&["upgrade", "--json"]);
    run.code(1);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["exit_code"], 1);
    assert!(v["error"]["message"].as_str().unwrap().contains("b1b1b1b1b1b1"), "{v}");
    assert_eq!(v["applied"]["steps"][0]["revision"], "a0a0a0a0a0a0");
    assert_eq!(v["applied"]["current"][0], "a0a0a0a0a0a0");
    // A successful run.
    std::fs::remove_file(pkg.file("b1b1b1b1b1b1")).unwrap();
    let run = pkg.run(&["downgrade", "base", "--json"]);
    let v: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["steps"][0]["direction"], "down");
    assert_eq!(v["current"], serde_json::json!([]));
    // Any command's error, with --json, is JSON on stdout (and a diagnostic on stderr).
    std::fs::write(pkg.migrations().join("c2_bad.sql"), "-- revision: c2c2\n-- migrate:up\nSELECT 1;\n").unwrap();
    let run = pkg.run(&["heads", "--json"]);
    run.code(4);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["error"]["code"], "migrate::broken_chain");
    assert_eq!(v["error"]["problems"][0]["path"], "migrations/c2_bad.sql");
    assert!(run.stderr.contains("c2_bad.sql"), "{}", run.stderr);
}

#[test]
fn history_draws_the_graph_for_pull_requests_and_graphviz() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "", "", &[]);
    pkg.revision("b1b1b1b1b1b1", "left", "", "", &["--head", "a0a0a0a0a0a0"]);
    pkg.revision("c2c2c2c2c2c2", "right", "", "", &["--head", "a0a0a0a0a0a0"]);
    pkg.run(&["merge", "-m", "join", "--rev-id", "d3d3d3d3d3d3"]).ok();
    let mermaid = pkg.run(&["history", "--format", "mermaid"]);
    let text = mermaid.ok();
    assert!(text.starts_with("flowchart TD\n"), "{text}");
    for edge in
        ["r_a0a0a0a0a0a0 --> r_b1b1b1b1b1b1", "r_b1b1b1b1b1b1 --> r_d3d3d3d3d3d3", "r_c2c2c2c2c2c2 --> r_d3d3d3d3d3d3"]
    {
        assert!(text.contains(edge), "{edge}\n{text}");
    }
    let dot = pkg.run(&["history", "--format", "dot", "-r", "b1b1b1b1b1b1:"]);
    let text = dot.ok();
    assert!(text.contains("\"b1b1b1b1b1b1\" -> \"d3d3d3d3d3d3\";") && !text.contains("a0a0a0a0a0a0"), "{text}");
    let json: serde_json::Value = serde_json::from_str(pkg.run(&["history", "--format", "json"]).ok()).unwrap();
    assert_eq!(json["revisions"].as_array().unwrap().len(), 4);
}

#[test]
fn a_statement_that_cannot_run_in_a_transaction_suggests_transaction_false() {
    let db = common::TestDb::new(common::Backend::Postgres);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("a0a0a0a0a0a0", "table", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    pkg.revision("b1b1b1b1b1b1", "index", "CREATE INDEX CONCURRENTLY t_x ON t (x);", "DROP INDEX t_x;", &[]);
    let run = pkg.run(&["upgrade"]);
    run.code(1);
    assert!(
        run.stderr.contains("help: this statement cannot run inside a transaction: add `-- transaction: false`"),
        "{}",
        run.stderr
    );
}

#[test]
fn show_sql_prints_one_revision_as_a_run_executes_it() {
    let db = common::TestDb::new(common::Backend::Postgres);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("a0a0a0a0a0a0", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.revision("b1b1b1b1b1b1", "email", "ALTER TABLE users ADD email text;", "ALTER TABLE users DROP email;", &[]);
    pkg.run(&["upgrade", "a0a0a0a0a0a0"]).ok();
    let script = pkg.run(&["show", "b1b1b1b1b1b1", "--sql"]);
    let text = script.ok().to_owned();
    assert!(text.contains("ALTER TABLE users ADD email text;") && !text.contains("DROP email"), "{text}");
    assert!(!text.contains("CREATE TABLE users (id int)"), "only this revision: {text}");
    // Applied by hand through psql, it is recorded exactly as a run would record it.
    let out = std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-c", &text])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    pkg.run(&["check"]).ok();
}

#[test]
fn chain_hygiene_a_repeated_parent_a_long_id_and_an_empty_upgrade() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "base", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    let text = "-- revision: b1b1\n-- down_revision: a0a0a0a0a0a0, a0a0a0a0a0a0\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n";
    std::fs::write(pkg.migrations().join("b1b1_twice.sql"), text).unwrap();
    let run = pkg.run(&["check"]);
    run.code(4);
    assert!(run.stderr.contains("`a0a0a0a0a0a0` appears twice in `down_revision`"), "{}", run.stderr);
    let long = "x".repeat(300);
    std::fs::write(
        pkg.migrations().join("b1b1_twice.sql"),
        format!("-- revision: {long}\n-- down_revision: a0a0a0a0a0a0\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"),
    )
    .unwrap();
    let run = pkg.run(&["check"]);
    run.code(4);
    assert!(run.stderr.contains("300 characters long; the history table holds 255"), "{}", run.stderr);
    // An empty upgrade with a downgrade is allowed, with a warning naming the file and line.
    std::fs::write(
        pkg.migrations().join("b1b1_twice.sql"),
        "-- revision: b1b1\n-- down_revision: a0a0a0a0a0a0\n-- migrate:up\n\n-- migrate:down\nDROP TABLE t;\n",
    )
    .unwrap();
    // (Offline: the stairway would rightly say this downgrade drops what no upgrade made.)
    let run = pkg.run(&["check", "--offline"]);
    run.ok();
    assert!(
        run.stderr.contains("warning: migrations/b1b1_twice.sql:3:1: the upgrade section is empty"),
        "{}",
        run.stderr
    );
}

#[test]
fn relative_steps_count_what_is_left_and_are_not_ambiguous_at_the_heads() {
    let pkg = Package::initialised();
    for (id, parent) in [("a0a0a0a0a0a0", None), ("b1b1b1b1b1b1", None), ("c2c2c2c2c2c2", None)] {
        let mut extra = vec![];
        if let Some(p) = parent {
            extra = vec!["--head", p];
        }
        pkg.revision(id, id, "", "", &extra);
    }
    pkg.run(&["upgrade", "a0a0a0a0a0a0"]).ok();
    let run = pkg.run(&["upgrade", "+5"]);
    run.code(8);
    assert!(run.stderr.contains("`+5` asks for 5 steps, but only 2 are possible from here"), "{}", run.stderr);
    assert!(run.stderr.contains("help: `+2` goes as far as there is"), "{}", run.stderr);

    // Two heads kept on purpose, both applied: nothing is left, whichever way one looks.
    let cargo = pkg.path().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&cargo).unwrap();
    std::fs::write(
        &cargo,
        manifest.replace("[package.metadata.migrate]", "[package.metadata.migrate]\nbranches = [\"left\", \"right\"]"),
    )
    .unwrap();
    pkg.revision("d3d3d3d3d3d3", "left", "", "", &["--head", "c2c2c2c2c2c2", "--branch-label", "left"]);
    pkg.revision("e4e4e4e4e4e4", "right", "", "", &["--head", "c2c2c2c2c2c2", "--branch-label", "right"]);
    pkg.run(&["upgrade", "heads"]).ok();
    let run = pkg.run(&["upgrade", "+4"]);
    run.code(8);
    assert!(run.stderr.contains("but none is possible from here"), "{}", run.stderr);
    assert!(!run.stderr.contains("ambiguous"), "{}", run.stderr);
}
