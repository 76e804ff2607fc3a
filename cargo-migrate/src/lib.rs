//! `cargo migrate`: Alembic's revision-graph migration workflow as a cargo subcommand.
//!
//! The binary is a thin wrapper around [`main`]; every command lives in its own module and runs
//! on a validated configuration (package, migrations directory, database URL) built from the
//! command line, `[package.metadata.migrate]`, `DATABASE_URL` and `.env`.
//!
//! ```text
//! cargo migrate init
//! cargo migrate new -m "create users"
//! cargo migrate upgrade
//! cargo migrate downgrade -1
//! cargo migrate history --graph
//! cargo migrate check
//! ```

mod cli;
mod commands;
mod config;
mod draw;
mod error;
mod notices;
mod output;
mod picture;
mod project;
mod revision_file;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cargo;
use crate::commands::Ctx;
use crate::output::Output;

/// Runs `cargo migrate` with the process's arguments and streams, returning its exit code.
///
/// The exit codes are listed at the end of `cargo migrate --help`.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs `cargo migrate` with the given arguments (the first one is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = normalize_args(args.into_iter().map(Into::into).collect());
    let Cargo::Migrate(cli) = match Cargo::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { error::code::USAGE } else { error::code::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let mut out = Output::stdio(cli.global.color);
    out.quiet = cli.global.quiet;
    out.verbose = cli.global.verbose;
    if out.verbose > 0 && !out.quiet {
        notices::show();
    }
    let code = commands::dispatch(cli, &mut Ctx::new(&mut out));
    out.flush();
    code
}

/// Accepts both `cargo-migrate migrate <cmd>` (how cargo runs it) and `cargo-migrate <cmd>`.
fn normalize_args(mut args: Vec<OsString>) -> Vec<OsString> {
    if args.get(1).is_none_or(|a| a != "migrate") {
        args.insert(1, OsString::from("migrate"));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subcommand_name_is_optional() {
        let a = normalize_args(vec!["cargo-migrate".into(), "migrate".into(), "heads".into()]);
        let b = normalize_args(vec!["cargo-migrate".into(), "heads".into()]);
        assert_eq!(a, b);
        assert_eq!(normalize_args(vec!["cargo-migrate".into()]).len(), 2);
    }
}
