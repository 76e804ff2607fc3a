//! A chain the linter only warns about (a dropped column) builds with `migrate!()`: the lint is
//! advice for `cargo migrate lint` and `check`, never a build failure.

use migrate_core::Migrations;
use migrate_core::lint::{Severity, lint};
use migrate_core::sql::Dialect;
use migrate_macros::migrate;

const MIGRATIONS: Migrations = migrate!("../../fixtures/lint_warnings");

fn main() {
    let graph = MIGRATIONS.graph().expect("validated when the crate was compiled");
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
        let findings = lint(&graph, dialect);
        assert!(findings.iter().any(|f| f.rule == "drop-column" && f.severity == Severity::Warning), "{dialect}: {findings:?}");
        assert!(findings.iter().all(|f| f.severity == Severity::Warning), "{dialect}: {findings:?}");
    }
}
