//! A revision that lists the same parent twice.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/repeated_parent");

fn main() {
    let _ = MIGRATIONS;
}
