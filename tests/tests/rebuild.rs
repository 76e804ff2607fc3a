//! Cargo rebuilds a crate that embeds migrations when a migration file is edited, and, with the
//! `build.rs` line `cargo migrate init` writes, when a file is added.
//!
//! Each test builds a scratch crate that depends on migrate-core and migrate-macros by path and
//! prints what `migrate!()` embedded. The scratch crates share one target directory
//! (`<target>/rebuild-test`) so their dependencies compile once.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAIN: &str = r#"
const MIGRATIONS: migrate_core::Migrations = migrate_macros::migrate!();

fn main() {
    for m in MIGRATIONS.migrations {
        println!("{} {} {}", m.revision, migrate_core::Checksum(m.checksum), m.up.trim());
    }
}
"#;

/// A crate in a temporary directory, built with the workspace's lock file.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new(name: &str, build_rs: Option<&str>) -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nmigrate-core = {{ path = {core:?} }}\nmigrate-macros = {{ path = {macros:?} }}\n\n\
             [workspace]\n",
            core = workspace.join("migrate-core"),
            macros = workspace.join("migrate-macros"),
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
        // The same versions as the workspace: nothing new to fetch or compile.
        std::fs::copy(workspace.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/main.rs"), MAIN).unwrap();
        if let Some(build_rs) = build_rs {
            std::fs::write(dir.path().join("build.rs"), build_rs).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("migrations")).unwrap();
        Self { dir }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join("migrations").join(name), text).unwrap();
    }

    fn cargo(&self, command: &str) -> Output {
        // The test binary is `<target>/<profile>/deps/rebuild-<hash>`.
        let exe = std::env::current_exe().unwrap();
        let target: PathBuf = exe.ancestors().nth(3).unwrap().join("rebuild-test");
        Command::new(env!("CARGO"))
            .args([command, "--quiet", "--offline", "--target-dir"])
            .arg(target)
            .current_dir(self.dir.path())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap()
    }

    /// Builds (if needed) and runs the crate; its output.
    fn run(&self) -> String {
        let out = self.cargo("run");
        assert!(out.status.success(), "cargo run failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

fn migration(id: &str, parent: &str, up: &str) -> String {
    format!("-- revision: {id}\n-- down_revision: {parent}\n-- migrate:up\n{up}\n-- migrate:down\nSELECT 0;\n")
}

#[test]
fn editing_a_migration_rebuilds_the_crate() {
    let krate = Scratch::new("rebuild_on_edit", None);
    krate.write("a_first.sql", &migration("aaaa", "", "CREATE TABLE one (x int);"));
    let before = krate.run();
    assert!(before.starts_with("aaaa ") && before.contains("CREATE TABLE one"), "{before}");

    krate.write("a_first.sql", &migration("aaaa", "", "CREATE TABLE two (x int);"));
    let after = krate.run();
    assert!(after.contains("CREATE TABLE two"), "the edit was not picked up:\n{after}");
    assert_ne!(before.split(' ').nth(1), after.split(' ').nth(1), "the checksum did not change");

    // A broken edit fails the build with the problem, its place and the fix.
    krate.write("a_first.sql", "-- revision: aaaa\n-- down_revision:\n-- migrate:up\nDROP TABLE two;\n");
    let out = krate.cargo("build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("migrations/a_first.sql:3:1: revision `aaaa` has no `-- migrate:down` section"),
        "{stderr}"
    );
    assert!(stderr.contains("help: add `-- migrate:down`"), "{stderr}");
}

#[test]
fn with_the_build_script_line_a_new_migration_is_picked_up() {
    let build_rs = "fn main() {\n    println!(\"cargo:rerun-if-changed=migrations\");\n}\n";
    let krate = Scratch::new("rebuild_on_add", Some(build_rs));
    krate.write("a_first.sql", &migration("aaaa", "", "CREATE TABLE one (x int);"));
    let before = krate.run();
    assert_eq!(before.lines().count(), 1, "{before}");

    krate.write("b_second.sql", &migration("bbbb", "aaaa", "CREATE TABLE two (x int);"));
    let after = krate.run();
    let revisions: Vec<&str> = after.lines().filter_map(|l| l.split(' ').next()).collect();
    assert_eq!(revisions, ["aaaa", "bbbb"], "the new file was not picked up:\n{after}");
}
