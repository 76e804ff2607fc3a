//! Revision graphs by shape: validation problems, queries and the planner.
#![allow(clippy::unwrap_used)]

use migrate_core::{Applied, HeadPolicy, Migration, PlanError, ProblemKind, RevisionGraph, Target, parse};

/// A migration `id` with `parents` and `deps`, creating and dropping a table named after it.
fn rev(id: &str, parents: &[&str], deps: &[&str]) -> Migration {
    let mut text = format!("-- revision: {id}\n-- down_revision: {}\n", parents.join(", "));
    if !deps.is_empty() {
        text.push_str(&format!("-- depends_on: {}\n", deps.join(", ")));
    }
    text.push_str(&format!("-- migrate:up\nCREATE TABLE t_{id} (x int);\n-- migrate:down\nDROP TABLE t_{id};\n"));
    parse(&format!("m/{id}.sql"), &text).unwrap()
}

fn labelled(id: &str, parents: &[&str], label: &str) -> Migration {
    let text = format!(
        "-- revision: {id}\n-- down_revision: {}\n-- branch_labels: {label}\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
        parents.join(", ")
    );
    parse(&format!("m/{id}.sql"), &text).unwrap()
}

fn graph(revs: Vec<Migration>) -> RevisionGraph {
    RevisionGraph::new(revs).unwrap()
}

fn ids<'a>(ms: impl IntoIterator<Item = &'a Migration>) -> Vec<&'a str> {
    ms.into_iter().map(|m| m.revision.as_str()).collect()
}

fn up(g: &RevisionGraph, applied: &[&str], target: &str) -> Result<Vec<String>, PlanError> {
    let plan = g.plan_upgrade(&Applied::new(applied.iter().copied()), &target.parse().unwrap())?;
    Ok(plan.revisions(g).into_iter().map(str::to_owned).collect())
}

fn down(g: &RevisionGraph, applied: &[&str], target: &str) -> Result<Vec<String>, PlanError> {
    let plan = g.plan_downgrade(&Applied::new(applied.iter().copied()), &target.parse().unwrap())?;
    Ok(plan.revisions(g).into_iter().map(str::to_owned).collect())
}

fn linear() -> RevisionGraph {
    graph(vec![rev("a", &[], &[]), rev("b", &["a"], &[]), rev("c", &["b"], &[]), rev("d", &["c"], &[])])
}

/// a - b - c
///   \       \
///    x - y - m
fn diamond() -> RevisionGraph {
    graph(vec![
        rev("a", &[], &[]),
        rev("b", &["a"], &[]),
        rev("c", &["b"], &[]),
        rev("x", &["a"], &[]),
        rev("y", &["x"], &[]),
        rev("m", &["c", "y"], &[]),
    ])
}

#[test]
fn linear_queries() {
    let g = linear();
    assert_eq!(ids(g.heads()), ["d"]);
    assert_eq!(ids(g.bases()), ["a"]);
    assert!(g.branch_points().is_empty() && g.merge_points().is_empty());
    assert_eq!(ids(g.iter()), ["a", "b", "c", "d"]);
    let c = g.index_of("c").unwrap();
    assert_eq!(g.ancestors(c).len(), 2);
    assert_eq!(g.descendants(c), [g.index_of("d").unwrap()]);
    g.check_heads(&HeadPolicy::Single).unwrap();
}

#[test]
fn linear_planning() {
    let g = linear();
    assert_eq!(up(&g, &[], "head").unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(up(&g, &["a", "b"], "head").unwrap(), ["c", "d"]);
    assert_eq!(up(&g, &["a"], "+2").unwrap(), ["b", "c"]);
    assert_eq!(up(&g, &[], "+1").unwrap(), ["a"]);
    assert_eq!(up(&g, &[], "b+1").unwrap(), ["a", "b", "c"]);
    assert_eq!(up(&g, &["a", "b", "c", "d"], "head").unwrap(), Vec::<String>::new());
    assert_eq!(down(&g, &["a", "b", "c", "d"], "-1").unwrap(), ["d"]);
    assert_eq!(down(&g, &["a", "b", "c", "d"], "-3").unwrap(), ["d", "c", "b"]);
    assert_eq!(down(&g, &["a", "b", "c", "d"], "b").unwrap(), ["d", "c"]);
    assert_eq!(down(&g, &["a", "b", "c", "d"], "base").unwrap(), ["d", "c", "b", "a"]);
    assert_eq!(down(&g, &["a", "b", "c", "d"], "d-2").unwrap(), ["d", "c"]);
    assert!(matches!(down(&g, &["a", "b"], "-3"), Err(PlanError::NotEnough { requested: 3, available: 2, .. })));
    assert!(matches!(up(&g, &["a", "b", "c", "d"], "+1"), Err(PlanError::NotEnough { available: 0, .. })));
    assert!(matches!(up(&g, &[], "-1"), Err(PlanError::WrongDirection { .. })));
    assert!(matches!(down(&g, &["a"], "+1"), Err(PlanError::WrongDirection { .. })));
    assert!(matches!(down(&g, &["a"], "c"), Err(PlanError::NotApplied { .. })));
}

#[test]
fn diamond_merge() {
    let g = diamond();
    assert_eq!(ids(g.heads()), ["m"]);
    assert_eq!(ids(g.branch_points()), ["a"]);
    assert_eq!(ids(g.merge_points()), ["m"]);
    let order = ids(g.iter());
    for m in g.iter() {
        for p in &m.down_revisions {
            let (pi, ci) = (order.iter().position(|x| x == p), order.iter().position(|x| *x == m.revision));
            assert!(pi < ci, "{p} before {}", m.revision);
        }
    }
    assert_eq!(up(&g, &[], "head").unwrap().len(), 6);
    // Upgrading to the merge applies the missing side branch first.
    assert_eq!(up(&g, &["a", "b", "c"], "head").unwrap(), ["x", "y", "m"]);
    // One step down from the merge leaves two heads: going further is ambiguous.
    let all = ["a", "b", "c", "x", "y", "m"];
    assert_eq!(down(&g, &all, "-1").unwrap(), ["m"]);
    match down(&g, &all, "-2") {
        Err(PlanError::AmbiguousWalk { candidates, .. }) => assert_eq!(candidates, ["c", "y"]),
        other => panic!("{other:?}"),
    }
    // Alembic: downgrade to a revision removes only its descendants; the side branch stays.
    assert_eq!(down(&g, &all, "b").unwrap(), ["m", "c"]);
    assert_eq!(down(&g, &all, "y").unwrap(), ["m"]);
    // From the branch point, +1 is ambiguous and names both ways.
    match up(&g, &["a"], "+1") {
        Err(PlanError::AmbiguousWalk { candidates, .. }) => assert_eq!(candidates, ["b", "x"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn several_bases_and_heads() {
    let g = graph(vec![rev("a", &[], &[]), rev("b", &["a"], &[]), rev("p", &[], &[]), rev("q", &["p"], &[])]);
    assert_eq!(ids(g.bases()), ["a", "p"]);
    assert_eq!(ids(g.heads()), ["b", "q"]);
    let err = g.check_heads(&HeadPolicy::Single).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`b` (m/b.sql:1)") && text.contains("`q` (m/q.sql:1)"), "{text}");
    assert!(text.contains("cargo migrate merge"), "{text}");
    assert!(matches!(up(&g, &[], "head"), Err(PlanError::MultipleHeads { .. })));
    assert_eq!(up(&g, &[], "heads").unwrap(), ["a", "b", "p", "q"]);
    assert_eq!(up(&g, &[], "q").unwrap(), ["p", "q"]);
    assert!(matches!(up(&g, &[], "+1"), Err(PlanError::AmbiguousWalk { .. })));
}

#[test]
fn declared_branches() {
    let g = graph(vec![
        rev("root", &[], &[]),
        labelled("e1", &["root"], "expand"),
        rev("e2", &["e1"], &[]),
        labelled("c1", &["root"], "contract"),
    ]);
    g.check_heads(&HeadPolicy::Branches(vec!["expand".into(), "contract".into()])).unwrap();
    assert!(g.check_heads(&HeadPolicy::Single).is_err());
    let err = g.check_heads(&HeadPolicy::Branches(vec!["expand".into()])).unwrap_err();
    assert!(matches!(&err.0[0].kind, ProblemKind::StrayHead { revision, .. } if revision == "c1"), "{err}");
    let err =
        g.check_heads(&HeadPolicy::Branches(vec!["expand".into(), "contract".into(), "nope".into()])).unwrap_err();
    assert!(matches!(&err.0[0].kind, ProblemKind::UndeclaredLabel { label } if label == "nope"));

    assert_eq!(up(&g, &[], "expand@head").unwrap(), ["root", "e1", "e2"]);
    assert_eq!(up(&g, &["root"], "expand@+1").unwrap(), ["e1"]);
    assert_eq!(up(&g, &["root", "e1", "c1"], "expand@+1").unwrap(), ["e2"]);
    assert_eq!(down(&g, &["root", "e1", "e2", "c1"], "expand@-1").unwrap(), ["e2"]);
    assert_eq!(down(&g, &["root", "e1", "e2", "c1"], "expand@base").unwrap(), ["e2", "e1"]);
    assert!(matches!(up(&g, &[], "nope@head"), Err(PlanError::UnknownLabel { .. })));
}

#[test]
fn depends_on_across_branches() {
    let g = graph(vec![rev("a", &[], &[]), rev("b", &["a"], &[]), rev("p", &[], &[]), rev("q", &["p"], &["b"])]);
    // q needs b, so upgrading to q applies a and b too.
    assert_eq!(up(&g, &[], "q").unwrap(), ["a", "b", "p", "q"]);
    // Downgrading to a removes b, and q first because it depends on b.
    assert_eq!(down(&g, &["a", "b", "p", "q"], "a").unwrap(), ["q", "b"]);
    // depends_on does not make b a non-head.
    assert_eq!(ids(g.heads()), ["b", "q"]);
}

#[test]
fn prefixes() {
    let g =
        graph(vec![rev("abcd1111", &[], &[]), rev("abcd2222", &["abcd1111"], &[]), rev("kilo", &["abcd2222"], &[])]);
    assert_eq!(up(&g, &[], "abcd1").unwrap(), ["abcd1111"]);
    assert_eq!(up(&g, &[], "kilo").unwrap().len(), 3);
    match up(&g, &[], "abcd") {
        Err(PlanError::AmbiguousPrefix { candidates, .. }) => assert_eq!(candidates, ["abcd1111", "abcd2222"]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(up(&g, &[], "abc"), Err(PlanError::PrefixTooShort { .. })));
    assert!(matches!(up(&g, &[], "zzzz"), Err(PlanError::UnknownRevision { .. })));
    assert!(matches!(up(&g, &[], "kil0"), Err(PlanError::UnknownRevision { suggestion: Some(s), .. }) if s == "kilo"));
}

#[test]
fn irreversible_refuses_downgrade_but_not_stamp() {
    let irr = parse(
        "m/b.sql",
        "-- revision: b\n-- down_revision: a\n-- migrate:up\nDROP TABLE old;\n-- migrate:down irreversible: the data is gone\n",
    )
    .unwrap();
    let g = graph(vec![rev("a", &[], &[]), irr, rev("c", &["b"], &[])]);
    assert_eq!(down(&g, &["a", "b", "c"], "-1").unwrap(), ["c"]);
    match down(&g, &["a", "b", "c"], "base") {
        Err(e @ PlanError::Irreversible { .. }) => assert!(e.to_string().contains("the data is gone"), "{e}"),
        other => panic!("{other:?}"),
    }
    let stamp = g.plan_stamp(&Applied::new(["a", "b", "c"]), &Target::Base).unwrap();
    assert_eq!(stamp.revisions(&g), ["c", "b", "a"]);
}

#[test]
fn stamp_moves_either_way() {
    let g = linear();
    assert_eq!(g.plan_stamp(&Applied::default(), &Target::Revision("b".into())).unwrap().revisions(&g), ["a", "b"]);
    let applied = Applied::new(["a", "b", "c", "d"]);
    assert_eq!(g.plan_stamp(&applied, &Target::Revision("b".into())).unwrap().revisions(&g), ["d", "c"]);
}

#[test]
fn every_problem_at_once() {
    let cyc1 = rev("c1", &["c2"], &[]);
    let cyc2 = rev("c2", &["c1"], &[]);
    let selfref = rev("s", &["s"], &[]);
    let dangling = rev("d", &["nowhere"], &[]);
    let dup = parse("m/zz.sql", "-- revision: a\n-- down_revision:\n-- migrate:up\n-- migrate:down\n").unwrap();
    let nodown =
        parse("m/nd.sql", "-- revision: nd\n-- down_revision: a\n-- migrate:up\nCREATE TABLE t(x int);\n").unwrap();
    let emptydown = parse(
        "m/ed.sql",
        "-- revision: ed\n-- down_revision: a\n-- migrate:up\nCREATE TABLE t(x int);\n-- migrate:down\n-- nothing\n",
    )
    .unwrap();
    let err = RevisionGraph::new(vec![rev("a", &[], &[]), cyc1, cyc2, selfref, dangling, dup, nodown, emptydown])
        .unwrap_err();
    let kinds: Vec<_> = err.iter().map(|p| &p.kind).collect();
    assert_eq!(err.len(), 6, "{err}");
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::Cycle { revisions } if revisions.len() == 2)));
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::SelfReference { .. })));
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::UnknownDownRevision { parent, .. } if parent == "nowhere")));
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::DuplicateRevision { first, .. } if first.path == "m/a.sql")));
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::MissingDowngrade { .. })));
    assert!(kinds.iter().any(|k| matches!(k, ProblemKind::EmptyDowngrade { .. })));
    let text = err.to_string();
    assert!(text.contains("m/zz.sql:1:1: duplicate revision id `a` (also declared in m/a.sql:1)"), "{text}");
    assert!(text.contains("m/ed.sql:5:1"), "{text}");
}

#[test]
fn cycle_names_only_its_members() {
    // t hangs below a three-revision cycle; only the cycle is named.
    let err = RevisionGraph::new(vec![
        rev("x", &["z"], &[]),
        rev("y", &["x"], &[]),
        rev("z", &["y"], &[]),
        rev("t", &["x"], &[]),
    ])
    .unwrap_err();
    assert_eq!(err.len(), 1, "{err}");
    match &err.0[0].kind {
        ProblemKind::Cycle { revisions } => {
            let mut sorted = revisions.clone();
            sorted.sort();
            assert_eq!(sorted, ["x", "y", "z"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("cycle in the revision graph"), "{err}");
}

#[test]
fn merge_revision_without_sql_needs_no_downgrade() {
    let merge = parse("m/m.sql", "-- revision: m\n-- down_revision: b, c\n-- migrate:up\n").unwrap();
    let g = graph(vec![rev("a", &[], &[]), rev("b", &["a"], &[]), rev("c", &["a"], &[]), merge]);
    assert_eq!(down(&g, &["a", "b", "c", "m"], "-1").unwrap(), ["m"]);
}

#[test]
fn long_chain_is_fine() {
    let n = 20_000;
    let mut revs = vec![rev("r0", &[], &[])];
    for i in 1..n {
        revs.push(rev(&format!("r{i}"), &[&format!("r{}", i - 1)], &[]));
    }
    let g = graph(revs);
    assert_eq!(up(&g, &[], "head").unwrap().len(), n);
    let all: Vec<String> = (0..n).map(|i| format!("r{i}")).collect();
    let applied = Applied::new(all.iter().map(String::as_str));
    assert_eq!(g.plan_downgrade(&applied, &Target::Base).unwrap().steps.len(), n);
    assert_eq!(g.plan_downgrade(&applied, &Target::Relative(-500)).unwrap().steps.len(), 500);
}

#[test]
fn long_cycle_does_not_overflow() {
    let n = 50_000;
    let mut revs = vec![rev("r0", &[&format!("r{}", n - 1)], &[])];
    for i in 1..n {
        revs.push(rev(&format!("r{i}"), &[&format!("r{}", i - 1)], &[]));
    }
    let err = RevisionGraph::new(revs).unwrap_err();
    assert!(matches!(&err.0[0].kind, ProblemKind::Cycle { revisions } if revisions.len() == n));
}

#[test]
fn a_revision_nobody_filled_in_is_refused() {
    let empty = parse("m/e.sql", "-- revision: e\n-- down_revision: a\n-- migrate:up\n\n-- migrate:down\n\n").unwrap();
    let err = RevisionGraph::new(vec![rev("a", &[], &[]), empty]).unwrap_err();
    assert!(matches!(&err.0[0].kind, ProblemKind::EmptyRevision { revision } if revision == "e"), "{err}");
    assert!(err.to_string().contains("m/e.sql:3:1"), "{err}");
}

#[test]
fn a_label_may_not_be_a_revision_id() {
    let err = RevisionGraph::new(vec![rev("a", &[], &[]), labelled("b", &["a"], "a")]).unwrap_err();
    assert!(matches!(&err.0[0].kind, ProblemKind::LabelIsRevision { label } if label == "a"), "{err}");
}

#[test]
fn offline_ranges_start_where_they_say_and_refuse_what_cannot_be_planned() {
    use migrate_core::{Direction, Range};
    let g = linear();
    let plan = |text: &str, direction| -> Result<Vec<String>, PlanError> {
        let range: Range = text.parse().unwrap();
        Ok(g.plan_range(&range, direction)?.revisions(&g).into_iter().map(str::to_owned).collect())
    };
    assert_eq!(plan(":head", Direction::Up).unwrap(), ["a", "b", "c", "d"]);
    assert_eq!(plan("a:", Direction::Up).unwrap(), ["b", "c", "d"]);
    assert_eq!(plan("a:b", Direction::Up).unwrap(), ["b"]);
    assert_eq!(plan("head:b", Direction::Down).unwrap(), ["d", "c"]);
    assert_eq!(plan("head:-1", Direction::Down).unwrap(), ["d"]);
    assert!(matches!(plan("c:a", Direction::Up), Err(PlanError::Range { .. })), "not above");
    assert!(matches!(plan(":a", Direction::Down), Err(PlanError::Range { .. })), "no start");
    assert!(matches!(plan("head:", Direction::Down), Err(PlanError::Range { .. })), "no end");
    assert_eq!(g.applied_at(&Target::Revision("b".into())).unwrap(), Applied::new(["a", "b"]));
    assert_eq!(":head".parse::<Range>().unwrap().to_string(), ":head");
}
