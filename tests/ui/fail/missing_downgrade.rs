//! A revision that changes the schema has no `-- migrate:down` section.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/missing_downgrade");

fn main() {
    let _ = MIGRATIONS;
}
