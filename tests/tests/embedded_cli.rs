//! An app's own migration CLI (`cargo_migrate::embedded`) against `cargo migrate` on the same
//! migrations: every command it offers prints the same and exits with the same code, on each
//! backend, step by step from an empty database to head and back; the commands that work on the
//! files are refused with a usage error.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use migrate_core::sql::Dialect;
use migrate_tests::{ALL, TestDb};

const APP: &str = env!("CARGO_BIN_EXE_app_cli");
const CLI: &str = env!("CARGO_BIN_EXE_cargo_migrate_cli");
/// The migrations the app embeds, as `migrate!()` in `src/bin/app_cli.rs` names them: both
/// programs run from that file's directory, so that both show the same paths.
const DIR: &str = "../../../migrate-core/examples/app/migrations";

/// Exit code and stdout, with durations (which differ run to run) replaced by `T`.
fn run(program: &str, url: &str, args: &[&str], dir: Option<&str>) -> (Option<i32>, String) {
    let mut c = Command::new(program);
    c.arg("migrate").args(["--database-url", url]);
    if let Some(dir) = dir {
        c.args(["--dir", dir]);
    }
    let out = c
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin"))
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut shown = String::new();
    for word in stdout.split_inclusive([' ', '\n']) {
        let w = word.trim_end();
        let numeric =
            w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.chars().all(|c| c.is_ascii_digit() || c == '.');
        shown.push_str(if numeric { "N" } else { w });
        shown.push_str(&word[w.len()..]);
    }
    // Times in JSON: when each run happened and took.
    let shown: String = shown
        .lines()
        .map(|l| {
            let key = l.trim_start().split(':').next().unwrap_or_default();
            if ["\"applied_at\"", "\"duration_ms\"", "\"logged_at\"", "\"duration\""].contains(&key) { key } else { l }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let shown = shown.replace("N ms", "T").replace("N s", "T").replace("N µs", "T");
    // Columns padded to the width of a duration.
    let shown: Vec<String> =
        shown.lines().map(|l| l.split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")).collect();
    (out.status.code(), shown.join("\n"))
}

fn same_as_cargo_migrate(dialect: Dialect) {
    let (app_db, cli_db) = (TestDb::new(dialect), TestDb::new(dialect));
    let steps: &[&[&str]] = &[
        &["heads"],
        &["history"],
        &["current"],
        &["upgrade", "--sql"],
        &["upgrade", "9b8e5f6c1d2a"],
        &["current"],
        &["check"],
        &["status", "--json"],
        &["upgrade"],
        &["check"],
        &["history", "--json"],
        &["downgrade", "-1"],
        &["stamp", "head"],
        &["current", "--json"],
        &["show", "c3f7a1e5b9d2", "--sql"],
        &["downgrade", "base", "--sql"],
        &["downgrade", "base"],
        &["current"],
        &["upgrade", "no_such_revision"],
    ];
    for args in steps {
        let app = run(APP, &app_db.url, args, None);
        let cli = run(CLI, &cli_db.url, args, Some(DIR));
        // The database URLs differ; nothing else may.
        let app_out = app.1.replace(&app_db.url, "URL");
        let cli_out = cli.1.replace(&cli_db.url, "URL");
        assert_eq!(app.0, cli.0, "{dialect} `{}`: exit codes differ\napp: {app_out}\ncli: {cli_out}", args.join(" "));
        assert_eq!(app_out, cli_out, "{dialect} `{}`: outputs differ", args.join(" "));
    }
}

#[test]
fn every_command_matches_cargo_migrate() {
    for dialect in ALL {
        same_as_cargo_migrate(dialect);
    }
}

#[test]
fn file_commands_are_refused_and_suggestions_name_the_app() {
    let t = TestDb::new(Dialect::Sqlite);
    for args in [&["new", "-m", "x"][..], &["init"], &["lint"], &["merge", "-m", "m", "heads"]] {
        let out = Command::new(APP).arg("migrate").args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("works on the migration files"), "{args:?}");
    }
    // --dir has no meaning for migrations inside the binary.
    let out = Command::new(APP).args(["migrate", "--dir", "migrations", "heads"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // Help offers only what works, under the app's name.
    let out = Command::new(APP).args(["migrate", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: app_cli migrate") && help.contains("upgrade") && !help.contains("  new "), "{help}");
    // Errors suggest the app's own commands.
    let missing = format!("{}.missing", t.url.trim_end_matches("?mode=rwc"));
    let out = Command::new(APP).args(["migrate", "--database-url", &missing, "current"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("app_cli migrate upgrade") && !said.contains("cargo migrate"), "{said}");
}
