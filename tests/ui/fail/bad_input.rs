//! Macro input that is not understood: each error points at the offending token.

use migrate_core::Migrations;
use migrate_macros::migrate;

const NOT_A_STRING: Migrations = migrate!(migrations);
const UNKNOWN_KEY: Migrations = migrate!("../../fixtures/linear_merge", dir = "x");
const BRANCHES_NOT_A_LIST: Migrations = migrate!(branches = "expand");
const BAD_LABELS: Migrations = migrate!(branches = ["ex pand", "contract", "contract"]);
const PATH_TWICE: Migrations = migrate!("a", "b");

fn main() {
    // The fallback value is well-typed: no errors follow from using it.
    let all: [Migrations; 5] = [NOT_A_STRING, UNKNOWN_KEY, BRANCHES_NOT_A_LIST, BAD_LABELS, PATH_TWICE];
    assert!(all.iter().all(|m| m.migrations.is_empty()));
}
