//! `cargo migrate lint` through the real binary: each dialect's rules on a chain that trips
//! them (messages pinned as snapshots), `-- lint: allow` suppressing one finding, the dialect
//! taken from the URL, and `check` failing on errors (exit 16) while warnings alone pass.
#![allow(clippy::unwrap_used)]

mod common;

use common::Package;

/// A chain that trips rules on every dialect: an index built on an existing table, a NOT NULL
/// column without a default, a type change, CONCURRENTLY in a transaction, data and DDL mixed,
/// a MySQL column rewrite, drops, and one finding allowed on purpose.
fn risky(pkg: &Package) {
    pkg.revision(
        "a1a1a1a1a1a1",
        "users",
        "CREATE TABLE users (id int PRIMARY KEY, email text, legacy int);",
        "DROP TABLE users;",
        &[],
    );
    pkg.revision(
        "b2b2b2b2b2b2",
        "risky",
        "CREATE INDEX users_email ON users (email);\n\
         ALTER TABLE users ADD COLUMN age int NOT NULL;\n\
         ALTER TABLE users ALTER COLUMN id TYPE bigint;\n\
         CREATE INDEX CONCURRENTLY users_age ON users (age);\n\
         UPDATE users SET age = 1;\n\
         ALTER TABLE users MODIFY age bigint;\n\
         -- lint: allow drop-column nothing has read it since v2\n\
         ALTER TABLE users DROP COLUMN legacy;\n\
         DROP TABLE old_things;",
        "SELECT 1;",
        &[],
    );
}

#[test]
fn each_dialect_names_rule_file_line_and_the_safe_way() {
    let pkg = Package::initialised();
    risky(&pkg);
    for dialect in ["postgres", "mysql", "sqlite"] {
        let run = pkg.run(&["lint", "--dialect", dialect]);
        insta::assert_snapshot!(format!("lint_{dialect}"), run.stdout);
        let errors = run.stdout.contains("error[");
        assert_eq!(run.code, if errors { 16 } else { 0 }, "{dialect}: {}", run.all());
        assert!(!run.stdout.contains("[drop-column]"), "{dialect}: the allowed finding is suppressed: {}", run.stdout);
        assert!(run.stdout.contains("[drop-table]"), "{dialect}: {}", run.stdout);
    }
}

#[test]
fn json_and_the_dialect_of_the_url() {
    let pkg = Package::initialised().with_url("postgres://nobody@127.0.0.1:1/none");
    risky(&pkg);
    // Linting needs no database: the URL only says which dialect.
    let run = pkg.run(&["lint", "--json"]);
    run.code(16);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["dialect"], "PostgreSQL");
    let rules: Vec<&str> = v["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    for rule in [
        "require-concurrent-index-creation",
        "adding-required-field",
        "changing-column-type",
        "no-transaction",
        "drop-table",
    ] {
        assert!(rules.contains(&rule), "{rule} in {rules:?}");
    }
    let f = &v["findings"][0];
    assert_eq!(f["path"], "migrations/b2b2b2b2b2b2_risky.sql");
    assert!(f["line"].as_u64().unwrap() > 5 && !f["help"].as_str().unwrap().is_empty(), "{f}");
}

#[test]
fn check_fails_on_lint_errors_and_prints_warnings() {
    let pkg = Package::initialised();
    pkg.revision(
        "a1a1a1a1a1a1",
        "users",
        "CREATE TABLE users (id int PRIMARY KEY, legacy int);",
        "DROP TABLE users;",
        &[],
    );
    // A warning only: check passes and shows it.
    pkg.revision(
        "b2b2b2b2b2b2",
        "drop legacy",
        "ALTER TABLE users DROP COLUMN legacy;",
        "ALTER TABLE users ADD COLUMN legacy int;",
        &[],
    );
    let run = pkg.run(&["check"]);
    run.code(0);
    assert!(run.stdout.contains("warning[drop-column]"), "{}", run.all());
    // An error: SQLite cannot ALTER COLUMN.
    pkg.revision("c3c3c3c3c3c3", "retype", "ALTER TABLE users ALTER COLUMN id TYPE bigint;", "SELECT 1;", &[]);
    let run = pkg.run(&["check", "--offline"]);
    run.code(16);
    assert!(run.stdout.contains("error[sqlite-needs-rebuild]"), "{}", run.all());
    assert!(run.stderr.contains("the lint found 1 error(s) for SQLite"), "{}", run.all());
}
