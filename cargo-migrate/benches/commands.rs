//! How long the read commands take on a large chain, next to the fixed cost every command pays
//! (`cargo metadata` finding the package), measured in the same run.
//!
//! Run with `cargo bench -p cargo-migrate`; `MIGRATE_BENCH_REVISIONS` sets the chain length.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A chain of `n` revisions with a branch and a merge every 50.
fn package(dir: &Path, n: usize) {
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
        .unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let m = dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    let mut parent = String::new();
    for i in 0..n {
        let id = format!("r{i:011}");
        let down = if i % 50 == 49 {
            // A side revision off the same parent, merged right after.
            let side = format!("s{i:011}");
            std::fs::write(
                m.join(format!("{side}_side.sql")),
                format!("-- revision: {side}\n-- down_revision: {parent}\n-- message: side {i}\n-- migrate:up\nCREATE TABLE {side} (x int);\n-- migrate:down\nDROP TABLE {side};\n"),
            )
            .unwrap();
            format!("{parent}, {side}")
        } else {
            parent.clone()
        };
        std::fs::write(
            m.join(format!("{id}_step.sql")),
            format!("-- revision: {id}\n-- down_revision: {down}\n-- message: step {i}\n-- migrate:up\nCREATE TABLE t{i} (x int);\n-- migrate:down\nDROP TABLE t{i};\n"),
        )
        .unwrap();
        parent = id;
    }
}

fn time(mut cmd: impl FnMut() -> Command) -> Duration {
    let mut runs: Vec<Duration> = (0..7)
        .map(|_| {
            let mut c = cmd();
            let start = Instant::now();
            let out = c.output().unwrap();
            let took = start.elapsed();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            took
        })
        .collect();
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let n: usize = std::env::var("MIGRATE_BENCH_REVISIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), n);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let baseline = time(|| {
        let mut c = Command::new(&cargo);
        c.args(["metadata", "--no-deps", "--format-version", "1"]).current_dir(dir.path());
        c
    });
    println!("{n} revision files (+ a branch and merge every 50); median of 7 runs");
    println!("{:<24} {:>10} {:>8}", "command", "time", "ratio");
    println!("{:<24} {:>10.1?} {:>8}", "cargo metadata (base)", baseline, "1.00");
    for args in [
        &["heads"][..],
        &["check"],
        &["history"],
        &["history", "--graph"],
        &["upgrade", "--sql", "--database-url", "postgres://u@h/db"],
    ] {
        let took = time(|| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
            c.arg("migrate").args(args).current_dir(dir.path()).env_remove("DATABASE_URL");
            c
        });
        println!(
            "{:<24} {:>10.1?} {:>8.2}",
            args.iter().take(2).copied().collect::<Vec<_>>().join(" "),
            took,
            took.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
