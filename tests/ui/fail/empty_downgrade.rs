//! A downgrade section that holds only a comment.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/empty_downgrade");

fn main() {
    let _ = MIGRATIONS;
}
