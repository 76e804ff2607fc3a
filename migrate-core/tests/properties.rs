//! Property tests over random revision graphs: plans respect every edge and round-trip.
#![allow(clippy::unwrap_used)]

use migrate_core::{Applied, Direction, Migration, RevisionGraph, Target, parse};
use proptest::prelude::*;

/// A random DAG: revision i may point at any earlier revisions (parents) and depend on others.
fn dag() -> impl Strategy<Value = Vec<(Vec<usize>, Vec<usize>)>> {
    (1usize..30).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                let earlier = if i == 0 {
                    Just(vec![]).boxed()
                } else {
                    proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(2)).boxed()
                };
                let deps = if i == 0 {
                    Just(vec![]).boxed()
                } else {
                    proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(1)).boxed()
                };
                (earlier, deps)
            })
            .collect::<Vec<_>>()
    })
}

fn build(shape: &[(Vec<usize>, Vec<usize>)]) -> RevisionGraph {
    // File names in reverse so the input order differs from any valid order.
    let revs: Vec<Migration> = shape
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (parents, deps))| {
            let p: Vec<String> = parents.iter().map(|p| format!("r{p}")).collect();
            let d: Vec<String> = deps.iter().map(|p| format!("r{p}")).collect();
            let text = format!(
                "-- revision: r{i}\n-- down_revision: {}\n-- depends_on: {}\n-- migrate:up\nSELECT {i};\n-- migrate:down\nSELECT -{i};\n",
                p.join(", "),
                d.join(", ")
            );
            parse(&format!("m/r{i}.sql"), &text).unwrap()
        })
        .collect();
    RevisionGraph::new(revs).unwrap()
}

/// Applies a plan to an applied set, checking that each step's requirements hold when it runs.
fn apply(g: &RevisionGraph, applied: &mut [bool], plan: &migrate_core::Plan) {
    for step in &plan.steps {
        let i = step.index;
        match step.direction {
            Direction::Up => {
                assert!(!applied[i], "applying {i} twice");
                for &p in g.parents(i).iter().chain(g.dependencies(i)) {
                    assert!(applied[p], "{i} applied before its requirement {p}");
                }
                applied[i] = true;
            }
            Direction::Down => {
                assert!(applied[i], "removing unapplied {i}");
                for &c in g.children(i).iter().chain(g.dependents(i)) {
                    assert!(!applied[c], "{i} removed while {c} still needs it");
                }
                applied[i] = false;
            }
        }
    }
}

fn as_applied(g: &RevisionGraph, mask: &[bool]) -> Applied {
    Applied::new((0..g.len()).filter(|&i| mask[i]).map(|i| g.migration(i).revision.clone()))
}

proptest! {
    #[test]
    fn topological_order_respects_every_edge(shape in dag()) {
        let g = build(&shape);
        for &i in g.topological_order() {
            for &p in g.parents(i).iter().chain(g.dependencies(i)) {
                prop_assert!(g.position(p) < g.position(i));
            }
        }
    }

    #[test]
    fn upgrade_then_downgrade_returns_to_the_start(shape in dag(), pick in any::<prop::sample::Index>(), pick2 in any::<prop::sample::Index>()) {
        let g = build(&shape);
        // A consistent starting state: everything below some revision.
        let start_rev = pick.index(g.len());
        let mut mask = vec![false; g.len()];
        apply(&g, &mut mask, &g.plan_upgrade(&Applied::default(), &Target::Revision(g.migration(start_rev).revision.clone())).unwrap());

        // Upgrade to every head, then downgrade back revision by revision to the start set.
        let plan = g.plan_upgrade(&as_applied(&g, &mask), &Target::Heads).unwrap();
        apply(&g, &mut mask, &plan);
        prop_assert!(mask.iter().all(|&x| x), "heads means everything");
        let back = g.plan_downgrade(&as_applied(&g, &mask), &Target::Revision(g.migration(start_rev).revision.clone())).unwrap();
        apply(&g, &mut mask, &back);
        // Downgrading to start_rev removes exactly what is built on its children (their
        // descendants and dependents), as Alembic does: other branches stay, and so does a
        // revision that only depends on start_rev itself.
        let mut above: Vec<usize> = Vec::new();
        for &c in g.children(start_rev) {
            above.push(c);
            above.extend(g.descendants(c));
        }
        for (i, &applied) in mask.iter().enumerate() {
            prop_assert_eq!(applied, !above.contains(&i), "revision {}", i);
        }

        // Upgrade to any revision applies exactly its missing ancestors.
        let target = pick2.index(g.len());
        let mut fresh = vec![false; g.len()];
        apply(&g, &mut fresh, &g.plan_upgrade(&Applied::default(), &Target::Revision(g.migration(target).revision.clone())).unwrap());
        let mut want = g.ancestors(target);
        want.push(target);
        prop_assert_eq!(fresh.iter().filter(|&&x| x).count(), want.len());

        // And base removes everything.
        let all = g.plan_downgrade(&as_applied(&g, &mask), &Target::Base).unwrap();
        apply(&g, &mut mask, &all);
        prop_assert!(mask.iter().all(|&x| !x));
    }

    #[test]
    fn relative_steps_move_one_revision_at_a_time(shape in dag(), n in 1i64..5) {
        let g = build(&shape);
        let mut mask = vec![false; g.len()];
        apply(&g, &mut mask, &g.plan_upgrade(&Applied::default(), &Target::Heads).unwrap());
        if let Ok(plan) = g.plan_downgrade(&as_applied(&g, &mask), &Target::Relative(-n)) {
            prop_assert_eq!(plan.steps.len() as i64, n);
            apply(&g, &mut mask, &plan);
        }
    }
}

// The fuzz targets' properties (see `fuzz/`) over arbitrary input, so CI keeps running them.
proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_bytes_keeps_its_promises(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        migrate_core::fuzzing::parse_one(&data);
    }

    #[test]
    fn parsing_header_shaped_text_keeps_its_promises(text in header_shaped()) {
        migrate_core::fuzzing::parse_one(text.as_bytes());
    }

    #[test]
    fn splitting_arbitrary_sql_keeps_its_promises(text in sql_shaped()) {
        migrate_core::fuzzing::split_one(text.as_bytes());
    }

    #[test]
    fn graphs_from_arbitrary_files_plan_and_script(files in proptest::collection::vec(header_shaped(), 1..6)) {
        migrate_core::fuzzing::graph_plan_script(files.join("\0").as_bytes());
    }
}

/// Text made of the pieces a migration file is made of, with control characters among them.
fn header_shaped() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("-- revision: a1\n".to_owned()),
        Just("-- revision: b2\n".to_owned()),
        Just("-- down_revision:\n".to_owned()),
        Just("-- down_revision: a1\n".to_owned()),
        Just("-- depends_on: a1\n".to_owned()),
        Just("-- branch_labels: x\n".to_owned()),
        Just("-- transaction: false\n".to_owned()),
        Just("-- migrate:up\n".to_owned()),
        Just("-- migrate:down\n".to_owned()),
        Just("-- migrate:down irreversible: gone\n".to_owned()),
        Just("SELECT 1;\n".to_owned()),
        Just("\r\n".to_owned()),
        "-- message: [ -~\\r\\x1b\\x07\\u{202e}\\u{85}]{0,12}\n",
        "[ -~\\r\\n\\t]{0,20}",
    ];
    proptest::collection::vec(piece, 0..14).prop_map(|p| p.concat())
}

/// Text made of the pieces that make statement splitting hard.
fn sql_shaped() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(";".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("`".to_owned()),
        Just("$$".to_owned()),
        Just("$tag$".to_owned()),
        Just("--".to_owned()),
        Just("/*".to_owned()),
        Just("*/".to_owned()),
        Just("\n".to_owned()),
        Just("\r".to_owned()),
        Just("\\".to_owned()),
        Just("BEGIN ".to_owned()),
        Just("END".to_owned()),
        Just("CASE ".to_owned()),
        Just("DELIMITER //\n".to_owned()),
        Just("CREATE TRIGGER t ".to_owned()),
        "[a-zA-Z0-9 ()]{0,8}",
    ];
    proptest::collection::vec(piece, 0..30).prop_map(|p| p.concat())
}
