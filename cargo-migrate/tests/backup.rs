//! `upgrade --backup DIR` with the real binary and the real tools: SQLite's VACUUM INTO,
//! pg_dump and mariadb-dump write a backup under the lock before anything changes, named after
//! the database, the time and the revision it was at; nothing is written when there is nothing
//! to do; a missing tool stops the run with nothing changed.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{Backend, Package, Run, TestDb};

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_backup_is_written_before_changes_and_only_then() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        let pkg = Package::initialised().with_url(&db.url);
        let backups = tempfile::tempdir().unwrap();
        let dir = backups.path().to_str().unwrap();
        pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
        pkg.run(&["upgrade", "--backup", dir]).ok();
        let first = files(backups.path());
        assert_eq!(first.len(), 1, "{backend:?}: {first:?}");
        assert!(first[0].contains("-at-base."), "{backend:?}: {first:?}");
        // Nothing to do: nothing written.
        let again = pkg.run(&["upgrade", "--backup", dir]);
        assert!(again.ok().contains("Nothing to do"), "{}", again.stdout);
        assert_eq!(files(backups.path()), first, "{backend:?}");
        // The next change backs up the state it starts from, and says where.
        pkg.revision(
            "b2b2b2b2b2b2",
            "email",
            "ALTER TABLE users ADD email text;",
            "ALTER TABLE users DROP COLUMN email;",
            &[],
        );
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let run = pkg.run(&["upgrade", "--backup", dir]);
        assert!(run.ok().contains("Backed up to "), "{backend:?}: {}", run.stdout);
        let second: Vec<String> = files(backups.path()).into_iter().filter(|f| !first.contains(f)).collect();
        assert_eq!(second.len(), 1, "{backend:?}");
        assert!(second[0].contains("-at-a1a1a1a1a1a1."), "{backend:?}: {second:?}");
        let path = backups.path().join(&second[0]);
        match backend {
            Backend::Sqlite => {
                let out =
                    Command::new("sqlite3").arg(&path).arg("SELECT revision FROM migrate_history").output().unwrap();
                assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "a1a1a1a1a1a1", "the state before the change");
            }
            Backend::Postgres => {
                let out = Command::new("pg_restore").arg("-l").arg(&path).output().unwrap();
                let listing = String::from_utf8_lossy(&out.stdout);
                assert!(out.status.success() && listing.contains("TABLE public users"), "{listing}");
            }
            Backend::MySql => {
                let dump = std::fs::read_to_string(&path).unwrap();
                assert!(dump.contains("CREATE TABLE `users`") && dump.contains("a1a1a1a1a1a1"), "{backend:?}");
                assert!(!dump.contains("`email`"), "taken before the change");
            }
        }
    }
}

#[test]
fn a_missing_dump_tool_stops_the_upgrade_before_any_change() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    let backups = tempfile::tempdir().unwrap();
    let run = pkg.run_env(&["upgrade", "--backup", backups.path().to_str().unwrap()], &[("PATH", "/nonexistent")]);
    run.code(1);
    assert!(
        run.stderr.contains("`pg_dump` is not installed") && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("postgresql-client"), "{}", run.stderr);
    assert!(db.history().is_empty());
    assert!(files(backups.path()).is_empty());
}

#[test]
fn the_metadata_names_a_backup_directory_for_every_run() {
    let pkg = Package::initialised();
    let manifest = pkg.path().join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("lock_timeout = \"60s\"", "lock_timeout = \"60s\"\nbackup = \"backups\"");
    std::fs::write(&manifest, toml).unwrap();
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.run(&["upgrade"]).ok();
    pkg.run(&["downgrade", "base"]).ok();
    let written = files(&pkg.path().join("backups"));
    assert_eq!(written.len(), 2, "{written:?}");
    assert!(written.iter().any(|f| f.starts_with("migrate-") && f.ends_with("-at-base.db")), "{written:?}");
    assert!(written.iter().any(|f| f.ends_with("-at-a1a1a1a1a1a1.db")), "{written:?}");
}

#[test]
fn a_backup_directory_that_cannot_be_made_stops_the_run_before_any_change() {
    let pkg = Package::initialised();
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    // A file where the directory should be.
    let blocker = pkg.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let run = pkg.run(&["upgrade", "--backup", blocker.to_str().unwrap()]);
    run.code(1);
    assert!(
        run.stderr.contains("cannot write the backup") && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    let current = pkg.run(&["current"]);
    assert!(!current.stdout.contains("a1a1a1a1a1a1"), "nothing was applied: {}", current.all());
}

/// A package at `a1a1…`, with `b2b2…` (a column) and `c3c3…` (`c3_up`) to come, applied up to
/// `at` first when given; and the `upgrade --backup <dir>` command, with `args`, to run on it.
fn before_the_third(c3_up: &str, at: Option<&str>, args: &[&str]) -> (Package, tempfile::TempDir, Vec<String>) {
    let pkg = Package::initialised();
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.run(&["upgrade"]).ok();
    pkg.revision("b2b2b2b2b2b2", "email", "ALTER TABLE users ADD email text;", "SELECT 1;", &[]);
    pkg.revision("c3c3c3c3c3c3", "third", c3_up, "SELECT 1;", &[]);
    if let Some(at) = at {
        pkg.run(&["upgrade", at]).ok();
    }
    let backups = tempfile::tempdir().unwrap();
    let mut command = vec!["upgrade".to_owned(), "--backup".to_owned(), backups.path().display().to_string()];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    (pkg, backups, command)
}

/// Runs `command`, which fails, and checks that it wrote one backup and printed its path.
fn fails_naming_its_backup(pkg: &Package, command: &[String], backups: &std::path::Path, what: &str) -> Run {
    let run = pkg.run(&command.iter().map(String::as_str).collect::<Vec<_>>());
    run.code(1);
    let written = files(backups);
    assert_eq!(written.len(), 1, "{what}: {written:?}");
    assert!(run.stdout.contains("Backed up to ") && run.stdout.contains(&written[0]), "{what}: {}", run.stdout);
    run
}

#[test]
fn a_failed_run_still_says_where_its_backup_went() {
    // Step by step with the first step failing, and all-or-nothing with the second: in both the
    // database is as it was, and the backup is the way back the operator asked for.
    for (args, what) in [(&[][..], "step by step"), (&["--all-or-nothing"][..], "all-or-nothing")] {
        // Step by step, the next step is the broken one.
        let at = args.is_empty().then_some("b2b2b2b2b2b2");
        let (pkg, backups, mut command) = before_the_third("ALTER TABLE nowhere ADD x int;", at, args);
        let run = fails_naming_its_backup(&pkg, &command, backups.path(), what);
        assert!(run.stderr.contains("nowhere"), "{what}: {}", run.stderr);

        command.push("--json".to_owned());
        let run = pkg.run(&command.iter().map(String::as_str).collect::<Vec<_>>());
        run.code(1);
        assert!(run.stdout.contains("\"backup\"") && !run.stdout.contains("\"backup\":null"), "{what}: {}", run.stdout);
    }
}

#[test]
fn a_run_whose_bookkeeping_fails_still_says_what_it_did_and_where_its_backup_went() {
    // The last revision's own statements run, but its log row cannot be written: step by step
    // the revision before it stays applied and is reported; all-or-nothing nothing is.
    let closes_the_log =
        "CREATE TRIGGER closed BEFORE INSERT ON migrate_log BEGIN SELECT RAISE(ABORT, 'the log is closed'); END;";
    for (args, what) in [(&[][..], "step by step"), (&["--all-or-nothing"][..], "all-or-nothing")] {
        let (pkg, backups, command) = before_the_third(closes_the_log, None, args);
        let run = fails_naming_its_backup(&pkg, &command, backups.path(), what);
        assert!(run.stderr.contains("the log is closed"), "{what}: {}", run.stderr);
        assert_eq!(run.stdout.contains("b2b2b2b2b2b2"), args.is_empty(), "{what}: {}", run.stdout);
        let current = pkg.run(&["current"]);
        assert_eq!(current.stdout.contains("b2b2b2b2b2b2"), args.is_empty(), "{what}: {}", current.stdout);
        assert!(!current.stdout.contains("c3c3c3c3c3c3"), "{what}: {}", current.stdout);
    }
}

/// Regression: when recording an accepted checksum failed after the backup was written, the
/// error did not say where the backup went.
#[test]
fn a_failed_acceptance_after_the_backup_names_the_backup() {
    let db = TestDb::new(Backend::Sqlite);
    let pkg = Package::initialised().with_url(&db.url);
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path().to_str().unwrap();
    pkg.revision("a1a1a1a1a1a1", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.run(&["upgrade"]).ok();
    // The history row refuses the new checksum; a pending revision makes the run back up first.
    db.run_script(
        "CREATE TRIGGER frozen BEFORE UPDATE ON migrate_history BEGIN SELECT RAISE(ABORT, 'history is frozen'); END;",
    );
    let file = pkg.file("a1a1a1a1a1a1");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("(id int)", "(id int /* reviewed */)")).unwrap();
    pkg.revision("b2b2b2b2b2b2", "more", "CREATE TABLE more (x int);", "DROP TABLE more;", &[]);
    let run = pkg.run(&["upgrade", "--accept-changed", "a1a1", "--backup", dir]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("history is frozen"), "{}", run.all());
    let written = files(backups.path());
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(run.stdout.contains("Backed up to ") && run.stdout.contains(&written[0]), "{}", run.all());
    assert_eq!(db.history().len(), 1, "nothing else was recorded: {}", run.all());
}
