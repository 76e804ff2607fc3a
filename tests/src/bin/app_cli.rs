//! An app that embeds its migrations with `migrate!()` and is its own migration CLI
//! (`app_cli migrate <command>`), for the tests that hold it against `cargo migrate`.

use std::process::ExitCode;

use migrate_core::Migrations;
use migrate_macros::migrate;

static MIGRATIONS: Migrations = migrate!("../../../migrate-core/examples/app/migrations");

fn main() -> ExitCode {
    cargo_migrate::embedded(&MIGRATIONS, std::env::args_os(), None)
}
