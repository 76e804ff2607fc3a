//! `cargo migrate rebase` with the real binary: two developers' branches made linear again,
//! only the `down_revision` line rewritten, branch labels and `depends_on` kept, merged branches
//! left alone, and a database that has the branch applied refused with the way out.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

/// base ─ ours1 ─ ours2 (ours, labelled)   base ─ theirs (theirs)
fn two_branches(pkg: &Package) {
    pkg.revision("a0a0a0a0a0a0", "base", "CREATE TABLE base_t (id int);", "DROP TABLE base_t;", &[]);
    pkg.revision(
        "c0c0c0c0c0c0",
        "theirs",
        "CREATE TABLE theirs_t (id int);",
        "DROP TABLE theirs_t;",
        &["--head", "a0a0a0a0a0a0"],
    );
    pkg.revision(
        "b1b1b1b1b1b1",
        "ours one",
        "CREATE TABLE ours_t (id int);",
        "DROP TABLE ours_t;",
        &["--head", "a0a0a0a0a0a0", "--branch-label", "ours", "--depends-on", "a0a0a0a0a0a0"],
    );
    pkg.revision(
        "b2b2b2b2b2b2",
        "ours two",
        "ALTER TABLE ours_t ADD x int;",
        "ALTER TABLE ours_t DROP COLUMN x;",
        &["--head", "ours@head"],
    );
}

#[test]
fn rebase_makes_the_chain_linear_and_touches_one_line() {
    let pkg = Package::initialised();
    two_branches(&pkg);
    pkg.run(&["check"]).code(4);
    let before = std::fs::read(pkg.file("b1b1b1b1b1b1")).unwrap();
    let run = pkg.run(&["rebase", "b1b1b1b1b1b1"]);
    assert!(run.ok().contains("Rebased b1b1b1b1b1b1 and its 1 descendant onto c0c0c0c0c0c0"), "{}", run.stdout);
    let after = std::fs::read(pkg.file("b1b1b1b1b1b1")).unwrap();
    let expected = String::from_utf8(before).unwrap().replacen(
        "-- down_revision: a0a0a0a0a0a0\n",
        "-- down_revision: c0c0c0c0c0c0\n",
        1,
    );
    assert_eq!(String::from_utf8(after).unwrap(), expected, "only the down_revision line changed");
    // One head, the label and the dependency kept, and the chain is valid for the macro too.
    pkg.run(&["check"]).ok();
    assert_eq!(pkg.run(&["heads"]).ok().split_whitespace().next(), Some("b2b2b2b2b2b2"));
    assert!(pkg.run(&["branches"]).ok().contains("ours"));
    assert!(std::fs::read_to_string(pkg.file("b1b1b1b1b1b1")).unwrap().contains("-- depends_on: a0a0a0a0a0a0"));
    pkg.run(&["upgrade"]).ok();
    // Nothing left to move onto; a merged branch stays.
    pkg.run(&["rebase", "b1b1b1b1b1b1"]).code(8);
}

#[test]
fn a_merged_branch_is_left_alone() {
    let pkg = Package::initialised();
    two_branches(&pkg);
    pkg.run(&["merge", "-m", "join", "--rev-id", "d9d9d9d9d9d9"]).ok();
    let run = pkg.run(&["rebase", "b1b1b1b1b1b1", "--onto", "c0c0c0c0c0c0"]);
    run.code(8);
    assert!(run.stderr.contains("already merged") && run.stderr.contains("d9d9d9d9d9d9"), "{}", run.stderr);
}

#[test]
fn a_database_with_the_branch_applied_is_refused_on_every_backend() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        let pkg = Package::initialised().with_url(&db.url);
        two_branches(&pkg);
        pkg.run(&["upgrade", "ours@head"]).ok();
        let before = std::fs::read(pkg.file("b1b1b1b1b1b1")).unwrap();
        let run = pkg.run(&["rebase", "b1b1b1b1b1b1"]);
        run.code(1);
        assert!(run.stderr.contains("b1b1b1b1b1b1, b2b2b2b2b2b2 are applied"), "{backend:?}: {}", run.stderr);
        assert!(run.stderr.contains("cargo migrate downgrade a0a0a0a0a0a0"), "{backend:?}: {}", run.stderr);
        assert_eq!(std::fs::read(pkg.file("b1b1b1b1b1b1")).unwrap(), before, "{backend:?}: the file was not touched");
        // The way out, as it says: downgrade, rebase, upgrade.
        pkg.run(&["downgrade", "a0a0a0a0a0a0"]).ok();
        pkg.run(&["rebase", "b1b1b1b1b1b1"]).ok();
        pkg.run(&["upgrade"]).ok();
        assert_eq!(db.history().len(), 4, "{backend:?}");
    }
}
