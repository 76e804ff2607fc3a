//! Branching and merging with the real binary: two heads appear, `new` refuses to guess,
//! `check` fails, `merge` joins them, and `history --graph` draws it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

fn diamond(pkg: &Package) {
    pkg.revision("base00000000", "base", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    pkg.revision("left11111111", "left side", "CREATE TABLE l (x int);", "DROP TABLE l;", &[]);
    pkg.revision(
        "right2222222",
        "right side",
        "CREATE TABLE r (x int);",
        "DROP TABLE r;",
        &["--head", "base0000", "--branch-label", "rightside"],
    );
}

#[test]
fn branching_and_merge() {
    let db = TestDb::new(Backend::Sqlite);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("base00000000", "base", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    pkg.revision("left11111111", "left side", "CREATE TABLE l (x int);", "DROP TABLE l;", &[]);
    pkg.revision(
        "right2222222",
        "right side",
        "CREATE TABLE r (x int);",
        "DROP TABLE r;",
        &["--head", "base0000", "--branch-label", "rightside"],
    );

    let heads = pkg.run(&["heads"]);
    assert_eq!(heads.ok(), "left11111111 (head), left side\nright2222222 (rightside) (head), right side\n");

    let new = pkg.run(&["new", "-m", "where?"]);
    new.code(8);
    assert!(new.stderr.contains("there are 2 heads (left11111111, right2222222)"), "{}", new.stderr);
    assert!(new.stderr.contains("--head"), "{}", new.stderr);

    let check = pkg.run(&["check"]);
    check.code(4);
    assert!(check.stderr.contains("2 heads, but a single head is required"), "{}", check.stderr);
    assert!(check.stderr.contains("cargo migrate merge"), "{}", check.stderr);

    let up = pkg.run(&["upgrade"]);
    up.code(8);
    assert!(up.stderr.contains("`head` needs a single head"), "{}", up.stderr);
    pkg.run(&["upgrade", "heads"]).ok();
    pkg.run(&["downgrade", "rightside@-1"]).ok();
    assert_eq!(db.history().len(), 2);
    pkg.run(&["upgrade", "rightside@head"]).ok();

    let branches = pkg.run(&["branches"]);
    assert_eq!(
        branches.ok(),
        "base00000000 (branchpoint), base\n    -> left11111111 (head), left side\n    -> right2222222 (rightside) (head), right side\nBranch labels:\n    rightside: starts at right2222222\n"
    );

    pkg.run(&["merge", "-m", "join the sides", "--rev-id", "merge3333333"]).ok();
    pkg.run(&["check", "--offline"]).ok();
    pkg.run(&["check"]).code(5);
    let m = std::fs::read_to_string(pkg.file("merge3333333")).unwrap();
    assert!(m.contains("-- down_revision: left11111111, right2222222\n"), "{m}");
    pkg.run(&["upgrade"]).ok();
    pkg.run(&["check"]).ok();
    assert_eq!(db.history().len(), 4);

    pkg.revision("after4444444", "after the merge", "SELECT 1;", "SELECT 1;", &[]);
    let graph = pkg.run(&["history", "--graph"]);
    insta::assert_snapshot!("history_graph_after_merge", graph.ok());

    let merge_again = pkg.run(&["merge", "-m", "nothing"]);
    merge_again.code(8);
    assert!(merge_again.stderr.contains("only one head"), "{}", merge_again.stderr);
}

#[test]
fn merge_names_its_revisions_and_refuses_ancestors() {
    let pkg = Package::initialised();
    diamond(&pkg);
    let bad = pkg.run(&["merge", "-m", "x", "base0000", "left1111"]);
    bad.code(8);
    assert!(bad.stderr.contains("`base00000000` is already an ancestor of `left11111111`"), "{}", bad.stderr);
    let out = pkg.run(&["merge", "-m", "Join: both sides!", "left1111", "rightside@head"]);
    let line = out.ok();
    assert!(line.contains("on left11111111, right2222222: migrations/"), "{line}");
    assert!(line.trim_end().ends_with("_join_both_sides.sql"), "{line}");
}

#[test]
fn history_ranges_include_both_ends() {
    let pkg = Package::initialised();
    diamond(&pkg);
    let r = pkg.run(&["history", "-r", "base0000:left1111"]);
    assert_eq!(r.ok(), "base00000000 -> left11111111 (head), left side\n<base> -> base00000000 (branchpoint), base\n");
    let r = pkg.run(&["history", "-r", "left1111:"]);
    assert_eq!(r.ok(), "base00000000 -> left11111111 (head), left side\n");
    let r = pkg.run(&["history", "-r", ":base0000", "--json"]);
    let v: serde_json::Value = serde_json::from_str(r.ok()).unwrap();
    assert_eq!(v["revisions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["revisions"][0]["is_branch_point"], true);
}

#[test]
fn new_options_write_the_header() {
    let pkg = Package::initialised();
    diamond(&pkg);
    let run = pkg.run(&[
        "new",
        "-m",
        "drop old data",
        "--head",
        "left1111",
        "--depends-on",
        "right2222",
        "--irreversible",
        "--rev-id",
        "irrev5555555",
        "-q",
    ]);
    let path = pkg.path().join(run.ok().trim());
    assert!(path.ends_with("migrations/irrev5555555_drop_old_data.sql"), "{}", path.display());
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with(
        "-- revision: irrev5555555\n-- down_revision: left11111111\n-- message: drop old data\n-- created: "
    ));
    assert!(text.contains("Z\n-- depends_on: right2222222\n\n-- migrate:up\n"), "{text}");
    assert!(text.contains("-- migrate:down irreversible: TODO"), "{text}");
    let created = text.lines().nth(3).unwrap().trim_start_matches("-- created: ");
    assert!(humantime::parse_rfc3339(created).is_ok(), "{created}");

    let dup = pkg.run(&["new", "-m", "again", "--rev-id", "irrev5555555"]);
    dup.code(2);
    assert!(dup.stderr.contains("revision `irrev5555555` already exists"), "{}", dup.stderr);
    let label = pkg.run(&["new", "-m", "again", "--head", "irrev5555", "--branch-label", "rightside"]);
    label.code(2);
    assert!(label.stderr.contains("branch label `rightside` is already declared"), "{}", label.stderr);
}

#[test]
fn declared_branches_make_several_heads_valid() {
    let pkg = Package::initialised();
    pkg.revision("base00000000", "base", "", "", &[]);
    pkg.revision("expand000001", "expand", "", "", &["--branch-label", "expand"]);
    pkg.revision("contract0001", "contract", "", "", &["--head", "base0000", "--branch-label", "contract"]);
    pkg.run(&["check"]).code(4);
    let manifest = pkg.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text =
        text.replace("lock_timeout = \"60s\"\n", "lock_timeout = \"60s\"\nbranches = [\"expand\", \"contract\"]\n");
    std::fs::write(&manifest, text).unwrap();
    pkg.run(&["check"]).ok();
    // With declared branches, a plain upgrade goes to every head.
    pkg.run(&["upgrade"]).ok();
    let current = pkg.run(&["current", "--check-heads"]);
    assert_eq!(current.ok(), "contract0001 (contract) (head), contract\nexpand000001 (expand) (head), expand\n");
}
