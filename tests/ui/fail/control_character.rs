//! A carriage return inside a header value (it would end the comment of an offline script early).

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/control_character");

fn main() {
    let _ = MIGRATIONS;
}
