//! A misspelt header key and a revision id with invalid characters.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/malformed_header");

fn main() {
    let _ = MIGRATIONS;
}
