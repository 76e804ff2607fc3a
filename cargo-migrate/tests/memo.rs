//! The remembered no-op with the real binary: a second `upgrade` with nothing to do reads no
//! migration file, and every change that matters — an edited file, a new one, a removed one, a
//! database moved by someone else, another target — is seen as if there were no memo.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

const READ_NOTHING: &str = "no file read";

fn upgrade(pkg: &Package, args: &[&str]) -> common::Run {
    let cache = pkg.path().join("cache");
    let mut all = vec!["upgrade", "-v"];
    all.extend_from_slice(args);
    pkg.run_env(&all, &[("XDG_CACHE_HOME", cache.to_str().unwrap())])
}

fn memo_follows_the_files(backend: Backend) {
    let db = TestDb::new(backend);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("a0a0a0a0a0a0", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.revision("b1b1b1b1b1b1", "posts", "CREATE TABLE posts (id int);", "DROP TABLE posts;", &[]);

    let first = upgrade(&pkg, &[]);
    assert!(first.ok().contains("Upgraded 2 revisions"), "{}", first.stdout);
    assert!(!first.stderr.contains(READ_NOTHING));
    let second = upgrade(&pkg, &[]);
    assert_eq!(second.ok(), "Nothing to do: the database is at b1b1b1b1b1b1 (head).\n");
    assert!(second.stderr.contains(READ_NOTHING), "the memo was used: {}", second.stderr);
    // Its JSON is the ordinary one.
    let json = upgrade(&pkg, &["--json"]);
    let v: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ok": true, "steps": [], "current": ["b1b1b1b1b1b1"], "backup": null, "accepted_changed": []})
    );

    // An applied file edited, even to the same size: refused as edited, not "nothing to do".
    let file = pkg.file("a0a0a0a0a0a0");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("CREATE TABLE users (id int);", "CREATE TABLE users (ID int);")).unwrap();
    let edited = upgrade(&pkg, &[]);
    edited.code(6);
    std::fs::write(&file, &text).unwrap();
    assert!(upgrade(&pkg, &[]).ok().contains("Nothing to do"));

    // A new file is applied.
    pkg.revision("c2c2c2c2c2c2", "tags", "CREATE TABLE tags (id int);", "DROP TABLE tags;", &[]);
    let added = upgrade(&pkg, &[]);
    assert!(added.ok().contains("Upgraded 1 revision"), "{}", added.stdout);
    assert!(upgrade(&pkg, &[]).stderr.contains(READ_NOTHING));

    // The database moved by another run: its log no longer vouches for the memo's state.
    pkg.run(&["downgrade", "-1"]).ok();
    let again = upgrade(&pkg, &[]);
    assert!(again.ok().contains("Upgraded 1 revision"), "{}", again.stdout);

    // Another target, and a relative one, are planned from the files.
    let older = upgrade(&pkg, &["b1b1b1b1b1b1"]);
    assert!(!older.stderr.contains(READ_NOTHING), "{}", older.stderr);
    assert!(older.ok().contains("Nothing to do: the database is at c2c2c2c2c2c2 (head)"), "{}", older.stdout);
    let relative = upgrade(&pkg, &["+1"]);
    relative.code(8);

    // A file removed: the chain is read again (and here found unknown to the database).
    std::fs::remove_file(pkg.file("c2c2c2c2c2c2")).unwrap();
    upgrade(&pkg, &[]).code(10);
}

#[test]
fn the_memo_follows_the_files_on_sqlite() {
    memo_follows_the_files(Backend::Sqlite);
}

#[test]
fn the_memo_follows_the_files_on_postgres() {
    memo_follows_the_files(Backend::Postgres);
}

#[test]
fn no_cache_directory_means_no_memo_and_no_error() {
    let pkg = Package::initialised();
    pkg.revision("a0a0a0a0a0a0", "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    for _ in 0..2 {
        let run = pkg.run_env(&["upgrade", "-v"], &[("XDG_CACHE_HOME", "/proc/no-such-dir"), ("HOME", "")]);
        run.ok();
        assert!(!run.stderr.contains(READ_NOTHING), "{}", run.stderr);
    }
}
