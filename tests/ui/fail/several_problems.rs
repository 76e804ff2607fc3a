//! Problems of several kinds in several files: every one is reported in one build.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/several_problems");

fn main() {
    let _ = MIGRATIONS;
}
