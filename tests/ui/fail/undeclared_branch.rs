//! A declared branch label that no revision carries, and a head on no declared branch.

const MIGRATIONS: migrate_core::Migrations =
    migrate_macros::migrate!("../../fixtures/branches", branches = ["expand", "hotfix"]);

fn main() {
    let _ = MIGRATIONS;
}
