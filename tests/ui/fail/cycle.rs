//! Revisions that reach themselves through `down_revision`.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/cycle");

fn main() {
    let _ = MIGRATIONS;
}
