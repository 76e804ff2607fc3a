//! A directory that does not exist: the error points at the path.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/does_not_exist");

fn main() {
    let _ = MIGRATIONS;
}
