//! A chain with a branch, a merge and an irreversible revision embeds exactly what the runtime
//! loader reads from the same directory, in a `const`, a `static` and a local binding.

use std::path::Path;

use migrate_core::{Applied, EmbeddedDown, Migrations, PlanError, Target, load_dir};
use migrate_macros::migrate;

const FIXTURE: &str = "../../fixtures/linear_merge";
const MIGRATIONS: Migrations = migrate!("../../fixtures/linear_merge");
static ALSO_STATIC: Migrations = migrate!("../../fixtures/linear_merge",);

fn main() {
    let graph = MIGRATIONS.graph().expect("validated when the crate was compiled");
    let dir = Path::new(file!()).parent().unwrap().join(FIXTURE);
    let loaded = load_dir(&dir, FIXTURE).unwrap();

    // Every field, in file order, equals what the loader parses at run time.
    assert_eq!(MIGRATIONS.migrations.len(), 5);
    for (i, embedded) in MIGRATIONS.migrations.iter().enumerate() {
        let mut expected = loaded.migration(i).clone();
        expected.lines = Default::default();
        assert_eq!(embedded.to_migration(), expected, "{}", embedded.path);
    }
    assert_eq!(MIGRATIONS.migrations[0].path, "../../fixtures/linear_merge/1a2b3c4d5e6f_create_users.sql");
    assert_eq!(MIGRATIONS.migrations[0].checksum, loaded.migration(0).checksum.0);
    assert!(MIGRATIONS.branches.is_empty());

    // The shape: one base, one merge point, one head.
    assert_eq!(graph.merge_points()[0].revision, "4d5e6f7a8b9c");
    assert_eq!(graph.heads()[0].revision, "5e6f7a8b9c0d");
    let last = &MIGRATIONS.migrations[4];
    assert!(!last.transaction);
    assert!(matches!(last.down, EmbeddedDown::Irreversible("the flags are gone for good")));
    assert!(matches!(MIGRATIONS.migrations[3].down, EmbeddedDown::Missing));
    assert!(matches!(MIGRATIONS.migrations[2].down, EmbeddedDown::Sql(sql, 17) if sql.starts_with("DROP FUNCTION")));

    // The planner works on the embedded graph.
    let plan = graph.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
    assert_eq!(plan.revisions(&graph).len(), 5);
    let all = Applied::new(graph.iter().map(|m| m.revision.clone()));
    assert!(matches!(graph.plan_downgrade(&all, &Target::Base), Err(PlanError::Irreversible { .. })));

    // The same value from a `static` and from an expression.
    let local = migrate!("./../../fixtures/linear_merge");
    assert_eq!(ALSO_STATIC.migrations.len(), local.migrations.len());
    assert_eq!(ALSO_STATIC.migrations[1].up, local.migrations[1].up);
}
