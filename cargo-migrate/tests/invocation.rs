//! How the binary is found and run: as `cargo migrate`, in workspaces with `-p`, with colours
//! only when asked for, and with `--json` on the read commands.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Package;

fn two(pkg: &Package) {
    pkg.revision("a1a1a1a1a1a1", "create users", "CREATE TABLE users (id int);", "DROP TABLE users;", &[]);
    pkg.revision(
        "b2b2b2b2b2b2",
        "add email",
        "ALTER TABLE users ADD email text;",
        "ALTER TABLE users DROP COLUMN email;",
        &[],
    );
}

#[test]
fn runs_as_a_cargo_subcommand() {
    let pkg = Package::initialised();
    two(&pkg);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cargo-migrate")).parent().unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["migrate", "heads"])
        .current_dir(pkg.path())
        .env("PATH", path)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b2b2b2b2b2b2 (head), add email\n");
}

#[test]
fn workspace_members_are_chosen_with_p_or_by_directory() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\nmembers = [\"api\", \"worker\"]\nresolver = \"2\"\n")
        .unwrap();
    for (name, rev) in [("api", "aaaa00000001"), ("worker", "bbbb00000001")] {
        let dir = ws.path().join(name);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("migrations")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), "").unwrap();
        std::fs::write(
            dir.join(format!("migrations/{rev}_first.sql")),
            format!(
                "-- revision: {rev}\n-- down_revision:\n-- message: first of {name}\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"
            ),
        )
        .unwrap();
    }
    let run = |dir: &Path, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
            .arg("migrate")
            .args(args)
            .current_dir(dir)
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, _) = run(ws.path(), &["-p", "worker", "heads"]);
    assert_eq!((code, out.as_str()), (Some(0), "bbbb00000001 (head), first of worker\n"));
    let (code, out, _) = run(&ws.path().join("api/src"), &["heads"]);
    assert_eq!((code, out.as_str()), (Some(0), "aaaa00000001 (head), first of api\n"));
    let (code, _, err) = run(ws.path(), &["heads"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("choose one with `-p <name>`: api, worker"), "{err}");
    // Paths are shown relative to where the command runs.
    let (_, out, _) = run(ws.path(), &["-p", "api", "show", "aaaa", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["path"], "api/migrations/aaaa00000001_first.sql");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let pkg = Package::initialised();
    two(&pkg);
    let plain = pkg.run(&["history"]);
    assert!(!plain.ok().contains('\u{1b}'), "{:?}", plain.stdout);
    let coloured = pkg.run(&["--color", "always", "history"]);
    assert!(coloured.ok().contains("\u{1b}["), "{:?}", coloured.stdout);
    let auto = pkg.run_env(&["history"], &[("CLICOLOR_FORCE", "1")]);
    assert!(!auto.ok().contains('\u{1b}'), "NO_COLOR wins over CLICOLOR_FORCE: {:?}", auto.stdout);
}

#[test]
fn read_commands_speak_json() {
    let pkg = Package::initialised();
    two(&pkg);
    for (args, key) in [
        (&["heads", "--json"][..], "heads"),
        (&["branches", "--json"], "branch_points"),
        (&["history", "--json"], "revisions"),
        (&["check", "--json"], "chain"),
    ] {
        let run = pkg.run(args);
        let v: serde_json::Value = serde_json::from_str(run.ok()).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(v.get(key).is_some(), "{args:?}: {v}");
    }
    let show = pkg.run(&["show", "a1a1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(show.ok()).unwrap();
    assert_eq!(v["up"], "CREATE TABLE users (id int);\n");
    assert_eq!(v["down_revisions"], serde_json::json!([]));
    pkg.run(&["upgrade", "a1a1"]).ok();
    let current = pkg.run(&["current", "--json"]);
    let v: serde_json::Value = serde_json::from_str(current.ok()).unwrap();
    assert_eq!(v["current"][0]["revision"], "a1a1a1a1a1a1");
    assert_eq!(v["at_head"], false);
}

#[test]
fn verbose_and_quiet() {
    let pkg = Package::initialised();
    two(&pkg);
    let verbose = pkg.run(&["history", "--verbose"]);
    let out = verbose.ok();
    assert!(
        out.contains("Rev: b2b2b2b2b2b2 (head)\nParent: a1a1a1a1a1a1\nPath: migrations/b2b2b2b2b2b2_add_email.sql\n"),
        "{out}"
    );
    assert!(verbose.stderr.contains("package: app (Cargo.toml)"), "{}", verbose.stderr);
    let quiet = pkg.run(&["-q", "upgrade"]);
    assert_eq!((quiet.stdout.as_str(), quiet.stderr.as_str()), ("", ""));
    let loud = pkg.run(&["downgrade", "base"]);
    assert!(loud.ok().contains("Downgraded 2 revisions"), "{}", loud.stdout);
    assert!(loud.stderr.contains("[1/2] downgrading b2b2b2b2b2b2"), "plain progress lines: {}", loud.stderr);
}

#[test]
fn init_is_idempotent_and_extends_build_rs() {
    let pkg = Package::new();
    std::fs::write(pkg.path().join("build.rs"), "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n")
        .unwrap();
    pkg.run(&["init"]).ok();
    let manifest = std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap();
    let build = std::fs::read_to_string(pkg.path().join("build.rs")).unwrap();
    assert_eq!(
        build,
        "fn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n"
    );
    assert!(manifest.contains("[package.metadata.migrate]\ndirectory = \"migrations\"\ndatabase_url = \"sqlite:migrate.db\"\nhistory_table = \"migrate_history\"\nlock_timeout = \"60s\"\n"), "{manifest}");
    let again = pkg.run(&["init"]);
    assert!(again.ok().contains("already"), "{}", again.stdout);
    assert_eq!(std::fs::read_to_string(pkg.path().join("Cargo.toml")).unwrap(), manifest);
    assert_eq!(std::fs::read_to_string(pkg.path().join("build.rs")).unwrap(), build);
    assert!(pkg.migrations().is_dir());
}

#[test]
fn runs_without_cargo_on_path_and_without_a_manifest_when_given_dir() {
    // A package: its Cargo.toml is read directly, cargo is never started.
    let pkg = Package::initialised();
    pkg.revision("a1a1a1a1a1a1", "first", "CREATE TABLE t (x int);", "DROP TABLE t;", &[]);
    let no_cargo = [("PATH", "/nonexistent"), ("CARGO", "/nonexistent/cargo")];
    let run = pkg.run_env(&["upgrade"], &no_cargo);
    assert!(run.ok().contains("Now at a1a1a1a1a1a1 (head)."), "{}", run.all());
    assert!(pkg.path().join("migrate.db").is_file(), "the metadata's URL, relative to Cargo.toml, was used");

    // No Cargo.toml at all: a directory of migrations and a URL are enough.
    let bare = tempfile::tempdir().unwrap();
    std::fs::create_dir(bare.path().join("db")).unwrap();
    std::fs::copy(pkg.file("a1a1a1a1a1a1"), bare.path().join("db/a1a1a1a1a1a1_first.sql")).unwrap();
    let url = format!("sqlite://{}", bare.path().join("app.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-migrate"))
        .args(["migrate", "--dir", "db", "--database-url", &url, "upgrade"])
        .current_dir(bare.path())
        .env("PATH", "/nonexistent")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Now at a1a1a1a1a1a1 (head)."), "{stdout}");
}
