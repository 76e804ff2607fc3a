//! The planner against Alembic itself: for graph shapes with branches, merges, several bases
//! and `depends_on` (the expand/contract pattern among them), the revisions an upgrade applies
//! and a downgrade removes must be the sets Alembic computes. `tests/alembic/record.py` recorded
//! them into `tests/alembic/fixtures.json` with Alembic's own `RevisionMap`; this test needs no
//! Python.
#![allow(clippy::unwrap_used)]

use migrate_core::{Applied, RevisionGraph, Target, parse};

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

fn graph(revisions: &serde_json::Value) -> RevisionGraph {
    let migrations = revisions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap();
            let mut header = format!("-- revision: {id}\n-- down_revision: {}\n", strings(&r["parents"]).join(", "));
            let deps = strings(&r["depends_on"]);
            if !deps.is_empty() {
                header.push_str(&format!("-- depends_on: {}\n", deps.join(", ")));
            }
            let labels = strings(&r["labels"]);
            if !labels.is_empty() {
                header.push_str(&format!("-- branch_labels: {}\n", labels.join(", ")));
            }
            let text = format!("{header}-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n");
            parse(&format!("migrations/{id}.sql"), &text).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    RevisionGraph::new(migrations).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn upgrade_and_downgrade_sets_match_alembic() {
    let fixtures: serde_json::Value =
        serde_json::from_str(include_str!("../alembic/fixtures.json")).expect("tests/alembic/fixtures.json");
    let mut compared = 0;
    for shape in fixtures["shapes"].as_array().unwrap() {
        let name = shape["name"].as_str().unwrap();
        let g = graph(&shape["revisions"]);
        let everything = Applied::new((0..g.len()).map(|i| g.migration(i).revision.clone()));
        for check in shape["checks"].as_array().unwrap() {
            let target = Target::Revision(check["target"].as_str().unwrap().to_owned());
            let sorted = |plan: migrate_core::Plan| {
                let mut ids: Vec<String> = plan.revisions(&g).into_iter().map(str::to_owned).collect();
                ids.sort();
                ids
            };
            let up = sorted(g.plan_upgrade(&Applied::default(), &target).unwrap());
            assert_eq!(up, strings(&check["upgrade_applies"]), "{name}: upgrade {target}");
            let down = sorted(g.plan_downgrade(&everything, &target).unwrap());
            assert_eq!(down, strings(&check["downgrade_removes"]), "{name}: downgrade {target}");
            compared += 2;
        }
    }
    assert!(compared >= 60, "only {compared} sets compared");
}
