//! `cargo migrate test` through the real binary on SQLite, PostgreSQL and MariaDB: a correct
//! chain passes; downgrades that forget an index, a column, a view or a sequence are caught and
//! named; irreversible revisions are skipped with their reason; `--from`/`--to` limit the range;
//! the database the URL names is never touched.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// A chain whose every downgrade is right.
fn good_chain(pkg: &Package) {
    pkg.revision(
        "a1a1a1a1a1a1",
        "users",
        "CREATE TABLE users (id int PRIMARY KEY, email varchar(100));",
        "DROP TABLE users;",
        &[],
    );
    pkg.revision(
        "b2b2b2b2b2b2",
        "index",
        "CREATE INDEX users_email ON users (email);",
        "DROP INDEX users_email ON users;",
        &[],
    );
    pkg.revision(
        "c3c3c3c3c3c3",
        "column",
        "ALTER TABLE users ADD COLUMN name varchar(40);",
        "ALTER TABLE users DROP COLUMN name;",
        &[],
    );
    pkg.revision("d4d4d4d4d4d4", "view", "CREATE VIEW named AS SELECT id, name FROM users;", "DROP VIEW named;", &[]);
}

/// `DROP INDEX` is spelled differently on each backend.
fn fix_drop_index(pkg: &Package, backend: Backend) {
    if backend != Backend::MySql {
        let f = pkg.file("b2b2b2b2b2b2");
        let text =
            std::fs::read_to_string(&f).unwrap().replace("DROP INDEX users_email ON users;", "DROP INDEX users_email;");
        std::fs::write(f, text).unwrap();
    }
}

#[test]
fn a_correct_chain_passes_and_the_database_is_not_touched() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let pkg = Package::initialised().with_url(&db.url);
        good_chain(&pkg);
        fix_drop_index(&pkg, backend);
        let run = pkg.run(&["test"]);
        run.code(0);
        assert!(
            run.stderr.contains("every downgrade undoes its upgrade (4 revision(s) tested)"),
            "{backend:?}: {}",
            run.all()
        );
        assert!(run.stdout.contains("✓ d4d4d4d4d4d4 up, down, up"), "{backend:?}: {}", run.all());
        // The stairway ran beside the database, never in it.
        let own = match backend {
            Backend::MySql => {
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'users' AND table_schema = DATABASE()"
            }
            Backend::Postgres => {
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'users' AND table_catalog = current_database()"
            }
            Backend::Sqlite => "SELECT 1 FROM sqlite_schema WHERE name = 'users'",
        };
        if backend != Backend::Sqlite || std::path::Path::new(db.url.trim_start_matches("sqlite://")).exists() {
            assert!(db.query(own).is_empty(), "{backend:?}: the stairway touched the database");
        }
    }
}

#[test]
fn downgrades_that_forget_something_are_named() {
    for backend in BACKENDS {
        let db = TestDb::new(backend);
        let pkg = Package::initialised().with_url(&db.url);
        good_chain(&pkg);
        fix_drop_index(&pkg, backend);
        // Each of these forgets what its up section made.
        pkg.revision("e5e5e5e5e5e5", "forgets an index", "CREATE INDEX users_name ON users (name);", "SELECT 1;", &[]);
        pkg.revision("f6f6f6f6f6f6", "forgets a column", "ALTER TABLE users ADD COLUMN age int;", "SELECT 1;", &[]);
        pkg.revision(
            "a7a7a7a7a7a7",
            "forgets a view",
            "CREATE VIEW adults AS SELECT id FROM users WHERE age > 17;",
            "SELECT 1;",
            &[],
        );
        let mut expect = vec![
            ("e5e5e5e5e5e5", "index users_name on users: extra"),
            ("f6f6f6f6f6f6", "column users.age: extra"),
            ("a7a7a7a7a7a7", "view adults: extra"),
        ];
        if backend != Backend::Sqlite {
            // SQLite has no sequences; PostgreSQL and MariaDB do.
            pkg.revision("b8b8b8b8b8b8", "forgets a sequence", "CREATE SEQUENCE invoice_no;", "SELECT 1;", &[]);
            expect.push(("b8b8b8b8b8b8", "sequence invoice_no: extra"));
        }
        let run = pkg.run(&["test"]);
        run.code(15);
        for (rev, what) in &expect {
            assert!(
                run.stderr.contains(rev) && run.stderr.contains(what),
                "{backend:?}: {rev} / {what}:\n{}",
                run.all()
            );
        }
        // The good ones still pass, and each failure is reported once, with the file to fix.
        assert!(run.stdout.contains("✓ d4d4d4d4d4d4 up, down, up"), "{backend:?}: {}", run.all());
        assert!(run.stderr.contains("fix the down section of"), "{}", run.stderr);
        let json: serde_json::Value = serde_json::from_str(pkg.run(&["test", "--json"]).stdout.as_str()).unwrap();
        assert_eq!(json["exit_code"], 15);
        let bad: Vec<&str> = json["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["outcome"] != "clean")
            .map(|r| r["revision"].as_str().unwrap())
            .collect();
        assert_eq!(bad, expect.iter().map(|(r, _)| *r).collect::<Vec<_>>(), "{backend:?}");
        // --from/--to test only part of the chain.
        let part = pkg.run(&["test", "--from", "b2b2", "--to", "d4d4"]);
        part.code(0);
        assert!(part.stderr.contains("(3 revision(s) tested)"), "{backend:?}: {}", part.all());
    }
}

#[test]
fn irreversible_revisions_are_skipped_with_their_reason() {
    let pkg = Package::initialised();
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int PRIMARY KEY);", "DROP TABLE users;", &[]);
    pkg.run(&["new", "-m", "one way", "--rev-id", "b2b2b2b2b2b2", "--irreversible", "-q"]).ok();
    let f = pkg.file("b2b2b2b2b2b2");
    let text = std::fs::read_to_string(&f)
        .unwrap()
        .replacen("-- migrate:up\n\n\n", "-- migrate:up\nDELETE FROM users;\n", 1)
        .replace("TODO say why this revision cannot be undone", "deleted rows cannot come back");
    std::fs::write(&f, text).unwrap();
    let run = pkg.run(&["test"]);
    run.code(0);
    assert!(run.stdout.contains("irreversible, not downgraded: deleted rows cannot come back"), "{}", run.all());
}
