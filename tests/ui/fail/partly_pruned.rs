//! A squash whose replaced files are partly gone: `b2` was deleted by hand, `c3` is still here.

const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!("../../fixtures/partly_pruned");

fn main() {
    let _ = MIGRATIONS;
}
