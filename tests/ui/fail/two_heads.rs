//! Two branches each added a revision and nobody merged them.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/two_heads");

fn main() {
    let _ = MIGRATIONS;
}
