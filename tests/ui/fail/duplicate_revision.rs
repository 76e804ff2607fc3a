//! Two files declare the same revision id.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/duplicate_revision");

fn main() {
    let _ = MIGRATIONS;
}
