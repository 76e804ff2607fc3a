//! Migration histories of a real project's size: a 10,000-revision chain and a branchy graph
//! with 40 branch/merge diamonds load and validate through `load_dir`, and embed through the
//! `migrate!()` expansion (`migrate_core::codegen`, the code the macro runs, called directly on
//! `proc_macro2` tokens).
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::Path;

use migrate_core::codegen::{self, MigrationsDir, Spans};
use migrate_core::{Applied, HeadPolicy, Target, load_dir};

/// One migration file's text.
fn migration(id: &str, parents: &[&str], extra_header: &str) -> String {
    let mut text = format!("-- revision: {id}\n-- down_revision: {}\n{extra_header}", parents.join(", "));
    let _ = write!(
        text,
        "-- message: Revision {id}\n\n-- migrate:up\nCREATE TABLE t_{id} (id bigint PRIMARY KEY, note text DEFAULT 'a;b');\n\n\
         -- migrate:down\nDROP TABLE t_{id};\n"
    );
    text
}

fn id(i: usize) -> String {
    format!("{i:012x}")
}

/// A linear chain of `n` revisions, files named `<id>_step_<i>.sql`.
fn write_chain(dir: &Path, n: usize) {
    for i in 0..n {
        let parent = if i == 0 { String::new() } else { id(i - 1) };
        let parents: &[&str] = if i == 0 { &[] } else { &[&parent] };
        std::fs::write(dir.join(format!("{}_step_{i}.sql", id(i))), migration(&id(i), parents, "")).unwrap();
    }
}

/// Counts `needle` in the rendered expansion.
fn count(tokens: &str, needle: &str) -> usize {
    tokens.matches(needle).count()
}

#[test]
fn a_ten_thousand_revision_chain_validates_and_embeds() {
    const N: usize = 10_000;
    let tmp = tempfile::tempdir().unwrap();
    write_chain(tmp.path(), N);

    let graph = load_dir(tmp.path(), "migrations").unwrap();
    assert_eq!(graph.len(), N);
    graph.check_heads(&HeadPolicy::Single).unwrap();
    assert_eq!(graph.heads()[0].revision, id(N - 1));
    assert_eq!(graph.bases()[0].revision, id(0));
    let plan = graph.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
    assert_eq!(plan.steps.len(), N);

    let tokens = codegen::expand(&MigrationsDir::new(tmp.path(), "migrations"), &[], &Spans::default()).to_string();
    assert_eq!(count(&tokens, "compile_error"), 0);
    assert_eq!(count(&tokens, ":: migrate_core :: EmbeddedMigration {"), N);
    assert_eq!(count(&tokens, "include_str"), N);
    // File order: the first and last revisions in place, every file's display path present.
    let first = tokens.find(&format!("revision : \"{}\"", id(0))).unwrap();
    let last = tokens.find(&format!("revision : \"{}\"", id(N - 1))).unwrap();
    assert!(first < last);
    assert!(tokens.contains(&format!("path : \"migrations/{}_step_{}.sql\"", id(N - 1), N - 1)));
}

#[test]
fn problems_in_a_ten_thousand_revision_chain_are_each_reported_once() {
    const N: usize = 10_000;
    let tmp = tempfile::tempdir().unwrap();
    write_chain(tmp.path(), N);
    // A dangling parent in the middle, and a copy of an old revision at the end.
    std::fs::write(tmp.path().join(format!("{}_step_5000.sql", id(5000))), migration(&id(5000), &[&id(N + 7)], ""))
        .unwrap();
    std::fs::write(tmp.path().join("zz_copy.sql"), migration(&id(1234), &[&id(1233)], "")).unwrap();

    let problems = load_dir(tmp.path(), "migrations").unwrap_err();
    assert_eq!(problems.len(), 2, "{problems}");
    let tokens = codegen::expand(&MigrationsDir::new(tmp.path(), "migrations"), &[], &Spans::default()).to_string();
    assert_eq!(count(&tokens, "compile_error"), 2, "{tokens}");
    assert!(tokens.contains(&format!(
        "migrations/{}_step_5000.sql:2:1: revision `{}` has down_revision",
        id(5000),
        id(5000)
    )));
    assert!(tokens.contains(&format!("migrations/zz_copy.sql:1:1: duplicate revision id `{}`", id(1234))));
    assert!(tokens.ends_with(":: migrate_core :: Migrations :: EMPTY }"));
}

/// `diamonds` times: a branch point, a left arm of two revisions, a right arm of one (which
/// depends on the first left revision), and a merge; then a tail. File names are random-looking
/// ids, so file order is not the graph's order.
fn write_diamonds(dir: &Path, diamonds: usize) -> usize {
    let mut written = 0;
    let mut put = |name: &str, parents: &[&str], extra: &str| {
        // A hash-like file name prefix scrambles the file order.
        let prefix = format!("{:08x}", (written as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32);
        std::fs::write(dir.join(format!("{prefix}_{name}.sql")), migration(name, parents, extra)).unwrap();
        written += 1;
    };
    put("base", &[], "");
    let mut tip = "base".to_owned();
    for k in 0..diamonds {
        let (point, l1, l2, r1, merge) =
            (format!("p{k}"), format!("l{k}a"), format!("l{k}b"), format!("r{k}"), format!("m{k}"));
        put(&point, &[&tip], "");
        put(&l1, &[&point], "");
        put(&l2, &[&l1], "");
        put(&r1, &[&point], &format!("-- depends_on: {l1}\n"));
        put(&merge, &[&l2, &r1], "");
        tip = merge;
    }
    put("tail", &[&tip], "");
    written
}

#[test]
fn a_branchy_graph_with_forty_diamonds_validates_plans_and_embeds() {
    const DIAMONDS: usize = 40;
    let tmp = tempfile::tempdir().unwrap();
    let n = write_diamonds(tmp.path(), DIAMONDS);

    let graph = load_dir(tmp.path(), "migrations").unwrap();
    assert_eq!(graph.len(), n);
    graph.check_heads(&HeadPolicy::Single).unwrap();
    assert_eq!(graph.merge_points().len(), DIAMONDS);
    assert_eq!(graph.branch_points().len(), DIAMONDS);
    assert_eq!(graph.heads()[0].revision, "tail");

    // Parents (and dependencies) always come first, whatever the file order.
    let order: Vec<&str> = graph.iter().map(|m| m.revision.as_str()).collect();
    let at = |id: &str| order.iter().position(|x| *x == id).unwrap();
    for k in 0..DIAMONDS {
        assert!(at(&format!("p{k}")) < at(&format!("l{k}a")));
        assert!(at(&format!("l{k}a")) < at(&format!("r{k}")), "depends_on orders r{k} after l{k}a");
        assert!(at(&format!("l{k}b")) < at(&format!("m{k}")) && at(&format!("r{k}")) < at(&format!("m{k}")));
    }
    let all = Applied::new(order.iter().copied());
    let down = graph.plan_downgrade(&all, &"m20".parse().unwrap()).unwrap();
    assert_eq!(down.steps.len(), 5 * (DIAMONDS - 21) + 1, "everything above m20");

    let tokens = codegen::expand(&MigrationsDir::new(tmp.path(), "migrations"), &[], &Spans::default()).to_string();
    assert_eq!(count(&tokens, "compile_error"), 0, "{tokens}");
    assert_eq!(count(&tokens, ":: migrate_core :: EmbeddedMigration {"), n);
    for k in 0..DIAMONDS {
        assert_eq!(count(&tokens, &format!("down_revisions : & [\"l{k}b\" , \"r{k}\"]")), 1, "merge m{k}");
    }
}
