//! `cargo migrate squash` with the real binary on SQLite, PostgreSQL and MariaDB: a range with a
//! branch label and a dependency squashed into one revision, then databases that stood before,
//! inside and after the range (and a new one) brought to the head; a teammate's revision written
//! on the old ids; `--prune` refused while a database is partway, and what that database is told
//! once the files are gone anyway.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

const A: &str = "a0a0a0a0a0a0";
const B: &str = "b1b1b1b1b1b1";
const C: &str = "c2c2c2c2c2c2";
const D: &str = "d3d3d3d3d3d3";
const E: &str = "e4e4e4e4e4e4";
const S: &str = "s5s5s5s5s5s5";

fn revisions(pkg: &Package) {
    pkg.revision(A, "users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.revision(B, "posts", "CREATE TABLE posts (id int);", "DROP TABLE posts;", &["--branch-label", "core"]);
    pkg.revision(
        C,
        "email",
        "ALTER TABLE users ADD email varchar(100);",
        "ALTER TABLE users DROP COLUMN email;",
        &["--depends-on", A],
    );
    pkg.revision(D, "seed", "INSERT INTO posts (id) VALUES (1);", "DELETE FROM posts WHERE id = 1;", &[]);
}

fn at(pkg: &Package, db: &TestDb, args: &[&str]) -> common::Run {
    pkg.run_env(args, &[("DATABASE_URL", &db.url)])
}

fn recorded(db: &TestDb) -> Vec<String> {
    db.history().into_iter().map(|r| r[0].clone()).collect()
}

/// How many rows `table` holds (as text, which every backend's driver decodes alike).
fn rows(db: &TestDb, table: &str) -> String {
    let sql = format!("SELECT CASE count(*) WHEN 0 THEN '0' WHEN 1 THEN '1' ELSE 'more' END FROM {table}");
    db.query(&sql)[0][0].clone()
}

fn lifecycle(backend: Backend) {
    let pkg = Package::initialised();
    revisions(&pkg);
    let (before, inside, after, partway) =
        (TestDb::new(backend), TestDb::new(backend), TestDb::new(backend), TestDb::new(backend));
    at(&pkg, &before, &["upgrade", A]).ok();
    at(&pkg, &inside, &["upgrade", C]).ok();
    at(&pkg, &after, &["upgrade", D]).ok();
    at(&pkg, &partway, &["upgrade", B]).ok();

    let run = pkg.run(&["squash", &format!("{B}:{D}"), "-m", "posts and email", "--rev-id", S]);
    assert!(
        run.ok().contains(&format!("Created squash revision {S} replacing 3 revisions ({B} … {D})")),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(pkg.file(S)).unwrap();
    assert!(text.contains(&format!("-- down_revision: {A}\n")), "{text}");
    assert!(text.contains(&format!("-- replaces: {B}, {C}, {D}\n")), "{text}");
    assert!(text.contains("-- branch_labels: core\n"), "{text}");
    assert!(!text.contains("-- depends_on:"), "a dependency below the range adds nothing: {text}");
    pkg.run(&["check"]).ok();
    assert_eq!(pkg.run(&["heads"]).ok().split_whitespace().next(), Some(S));

    // A teammate's revision, written before the squash on the old ids, still fits: its parent
    // and its dependency read as the squash.
    pkg.revision(E, "tags", "CREATE TABLE tags (id int);", "DROP TABLE tags;", &[]);
    let file = pkg.file(E);
    let teammate = std::fs::read_to_string(&file).unwrap().replacen(
        &format!("-- down_revision: {S}\n"),
        &format!("-- down_revision: {D}\n-- depends_on: {C}\n"),
        1,
    );
    std::fs::write(&file, teammate).unwrap();
    pkg.run(&["check"]).ok();
    assert!(pkg.run(&["history"]).ok().starts_with(&format!("{S} -> {E} (head)")));

    let status = at(&pkg, &inside, &["status"]);
    assert!(status.ok().contains(&format!("Partway through the revisions squashed into {S}")), "{}", status.stdout);
    assert!(at(&pkg, &inside, &["current"]).ok().starts_with(C));

    let fresh = TestDb::new(backend);
    let mut expected = vec![A.to_owned(), E.to_owned(), S.to_owned()];
    expected.sort();
    for (db, applies) in [(&fresh, vec![A, S, E]), (&before, vec![S, E]), (&inside, vec![D, E]), (&after, vec![E])] {
        let run = at(&pkg, db, &["upgrade"]);
        let out = run.ok();
        for rev in &applies {
            assert!(out.contains(&format!("↑ {rev}")), "{rev} applied: {out}");
        }
        assert_eq!(out.matches(" ↑ ").count(), applies.len(), "{out}");
        let squash_line = format!("Recorded squash {S} in place of the 3 revisions it replaces");
        assert_eq!(run.stderr.contains(&squash_line), db.url == inside.url || db.url == after.url, "{}", run.stderr);
        assert!(out.contains(&format!("Now at {E} (head).")), "{out}");
        assert_eq!(recorded(db), expected);
        assert_eq!(db.schema(), fresh.schema(), "every road leads to the same schema");
        assert_eq!(rows(db, "posts"), "1");
        assert!(at(&pkg, db, &["upgrade"]).ok().contains("Nothing to do"));
    }
    let log: Vec<String> = inside.log().into_iter().map(|r| format!("{} {}", r[0], r[1])).collect();
    // The run finished the range from its files and went on to the head; then the squash took
    // over the range's records.
    assert_eq!(log[log.len() - 3..], [format!("{D} upgrade"), format!("{E} upgrade"), format!("{S} squash")]);
    at(&pkg, &inside, &["check"]).ok();

    // Down through the squash and up again.
    let down = at(&pkg, &after, &["downgrade", A]);
    assert!(down.ok().contains(&format!("↓ {S}")), "{}", down.stdout);
    assert_eq!(recorded(&after), [A]);
    assert_eq!(rows(&after, "users"), "0");
    at(&pkg, &after, &["upgrade", D]).ok();
    assert_eq!(recorded(&after), [A, S]);

    // Pruning is refused while a database given for the run is partway through the range.
    let refused = at(&pkg, &partway, &["squash", "--prune"]);
    refused.code(1);
    assert!(
        refused.stderr.contains("partway through the revisions squashed into `s5s5s5s5s5s5`"),
        "{}",
        refused.stderr
    );
    assert!(pkg.file(B).exists());
    let pruned = pkg.run(&["squash", "--prune", S]);
    assert!(pruned.ok().contains("Removed 3 replaced files"), "{}", pruned.stdout);
    let mut left: Vec<String> = std::fs::read_dir(pkg.migrations())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .map(|name| name[..12].to_owned())
        .collect();
    left.sort();
    assert_eq!(left, expected, "only the replaced files went");
    pkg.run(&["check"]).ok();
    assert!(pkg.run(&["show", S]).ok().contains(&format!("Replaces: {B}, {C}, {D} (pruned)")));
    assert!(pkg.run(&["squash", "--prune"]).ok().contains("No replaced files to remove"));

    // The database partway through now has no way forward but the files: it is told so.
    let stuck = at(&pkg, &partway, &["upgrade"]);
    stuck.code(10);
    assert!(stuck.stderr.contains(&format!("partway through the revisions squashed into `{S}`")), "{}", stuck.stderr);
    assert!(stuck.stderr.contains("restore the files"), "{}", stuck.stderr);
    assert_eq!(recorded(&partway), [A, B], "nothing changed");
    // The others carry on without the files.
    assert!(at(&pkg, &fresh, &["upgrade"]).ok().contains("Nothing to do"));
    at(&pkg, &before, &["check"]).ok();
}

#[test]
fn squash_lifecycle_on_sqlite() {
    lifecycle(Backend::Sqlite);
}

#[test]
fn squash_lifecycle_on_postgres() {
    lifecycle(Backend::Postgres);
}

#[test]
fn squash_lifecycle_on_mariadb() {
    lifecycle(Backend::MySql);
}

#[test]
fn ranges_that_cannot_be_squashed_say_why() {
    let pkg = Package::initialised();
    revisions(&pkg);
    pkg.revision("f5f5f5f5f5f5", "side", "CREATE TABLE side (id int);", "DROP TABLE side;", &["--head", B]);
    let branching = pkg.run(&["squash", &format!("{A}:{C}"), "-m", "x"]);
    branching.code(8);
    assert!(branching.stderr.contains("has another child"), "{}", branching.stderr);
    let backwards = pkg.run(&["squash", &format!("{D}:{B}"), "-m", "x"]);
    backwards.code(8);
    assert!(backwards.stderr.contains("does not descend from"), "{}", backwards.stderr);
    pkg.run(&["squash", "b1b1", "-m", "x"]).code(2);
    let not_a_squash = pkg.run(&["squash", "--prune", A]);
    not_a_squash.code(8);
    assert!(not_a_squash.stderr.contains("is not a squash revision"), "{}", not_a_squash.stderr);
    pkg.run(&["squash", &format!("{C}:{D}")]).code(2);
    let files = std::fs::read_dir(pkg.migrations()).unwrap().count();
    pkg.run(&["squash", &format!("{C}:{D}"), "-m", "tail", "--rev-id", S]).ok();
    assert_eq!(std::fs::read_dir(pkg.migrations()).unwrap().count(), files + 1);
    // Inside the squashed range only the last id stands for the squash.
    let inside = pkg.run(&["show", C]);
    inside.code(8);
    assert!(inside.stderr.contains(&format!("inside the range squashed into `{S}`")), "{}", inside.stderr);
    assert!(pkg.run(&["show", D]).ok().contains(&format!("Rev: {S}")));
}
