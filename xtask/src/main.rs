//! Project automation: `cargo xtask ci` runs every check CI runs; `cargo xtask bench` runs the
//! benchmarks and prints their ratios.

mod tidy;

use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci      format check, clippy (-D warnings), every test (SQLite, PostgreSQL, MariaDB), docs,
          and the fuzz targets compile
  bench   the benchmarks: graph validation and planning, macro expansion, applying migrations,
          whole commands against each database's own client
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench(),
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Every step CI runs, in order; the first failure stops the run.
fn ci() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    run("cargo", &["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"], &[])?;
    run("cargo", &["test", "--workspace", "--all-features", "--no-fail-fast"], &[])?;
    run("cargo", &["doc", "--workspace", "--no-deps", "--all-features"], &[("RUSTDOCFLAGS", "-D warnings")])?;
    // The fuzz targets live outside the workspace (cargo fuzz needs nightly); their properties
    // run above as property tests, and this keeps the targets themselves compiling.
    run("cargo", &["check", "--manifest-path", "fuzz/Cargo.toml"], &[("CARGO_TARGET_DIR", "target/fuzz")])?;
    Ok(())
}

/// The benchmarks, each a `harness = false` target that prints ratios to a baseline measured in
/// the same run.
fn bench() -> Result<(), String> {
    run("cargo", &["bench", "-p", "migrate-core", "--bench", "graph"], &[])?;
    run("cargo", &["bench", "-p", "migrate-macros", "--bench", "expand"], &[])?;
    run("cargo", &["bench", "-p", "migrate-core", "--bench", "apply", "--features", "sqlite,postgres,mysql"], &[])?;
    run(
        "cargo",
        &["bench", "-p", "migrate-core", "--bench", "autogenerate", "--features", "sqlite,postgres,mysql"],
        &[],
    )?;
    run("cargo", &["bench", "-p", "migrate-core", "--bench", "fleet", "--features", "sqlite,postgres,mysql"], &[])?;
    run("cargo", &["bench", "-p", "migrate-core", "--bench", "lock", "--features", "sqlite,postgres,mysql"], &[])?;
    run("cargo", &["bench", "-p", "cargo-migrate", "--bench", "commands"], &[])?;
    Ok(())
}

fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{program} {}` failed ({status})", args.join(" "))) }
}
