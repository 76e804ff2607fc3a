//! A squash revision with its replaced files still here: the graph reads the replaced ids as
//! the squash, and every file is embedded so that a database partway through can finish.

use migrate_core::{Applied, Migrations, Target};
use migrate_macros::migrate;

const MIGRATIONS: Migrations = migrate!("../../fixtures/squashed");

fn main() {
    assert_eq!(MIGRATIONS.migrations.len(), 5, "the replaced files are embedded too");
    let graph = MIGRATIONS.graph().expect("validated when the crate was compiled");
    let order: Vec<&str> = graph.iter().map(|m| m.revision.as_str()).collect();
    assert_eq!(order, ["a1", "s9", "d4"]);
    assert_eq!(graph.squashes()[0].replaces, ["b2", "c3"]);

    let expanded = graph.expand(&["s9".to_owned()]).unwrap();
    let plan = expanded.plan_upgrade(&Applied::new(["a1".to_owned(), "b2".to_owned()]), &Target::Head).unwrap();
    assert_eq!(plan.revisions(&expanded), ["c3", "d4"]);
}
