//! A `down_revision` that names no revision (a typo).

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/dangling_parent");

fn main() {
    let _ = MIGRATIONS;
}
