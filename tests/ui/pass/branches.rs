//! Branch labels declared as intentional heads: each has exactly one head.

use migrate_core::{Applied, HeadPolicy, Migrations, Target};
use migrate_macros::migrate;

const MIGRATIONS: Migrations = migrate!("../../fixtures/branches", branches = ["expand", "contract"]);
const IN_ANY_ORDER: Migrations = migrate!(branches = ["contract", "expand"], "../../fixtures/branches");

fn main() {
    assert_eq!(MIGRATIONS.branches, ["expand", "contract"]);
    assert_eq!(MIGRATIONS.head_policy(), HeadPolicy::Branches(vec!["expand".into(), "contract".into()]));
    assert_eq!(IN_ANY_ORDER.branches, ["contract", "expand"]);

    let graph = MIGRATIONS.graph().expect("validated when the crate was compiled");
    let heads: Vec<&str> = graph.heads().iter().map(|m| m.revision.as_str()).collect();
    assert_eq!(heads, ["bb02", "cc01"]);
    assert_eq!(MIGRATIONS.migrations[3].depends_on, ["bb02"]);
    assert_eq!(MIGRATIONS.migrations[3].branch_labels, ["contract"]);

    let plan = graph.plan_upgrade(&Applied::default(), &"contract@head".parse::<Target>().unwrap()).unwrap();
    assert_eq!(plan.revisions(&graph), ["aa00", "bb01", "bb02", "cc01"]);
}
