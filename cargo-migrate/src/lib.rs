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
mod memo;
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
    execute(Cargo::try_parse_from(args), None)
}

/// Runs parsed arguments (or prints the parse error or help), on the package's files or, with
/// `embedded`, on an app's embedded migrations.
fn execute(parsed: Result<Cargo, clap::Error>, embedded: Option<commands::Embedded>) -> ExitCode {
    let Cargo::Migrate(cli) = match parsed {
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
    let mut ctx = Ctx::new(&mut out);
    ctx.embedded = embedded;
    let code = commands::dispatch(cli, &mut ctx);
    out.flush();
    code
}

/// An app's own migration CLI over the migrations `migrate!()` embedded in it: `<app> migrate
/// upgrade`, `downgrade`, `stamp`, `current`, `status`, `history`, `heads`, `branches`, `show`,
/// `check`, `resolve` and `test`, with `cargo migrate`'s flags, output and exit codes (the same
/// code runs them). `args` are the process's arguments, `migrate` included; the database comes
/// from `--database-url`, `DATABASE_URL` (also from `.env`), else `default_url`.
///
/// ```no_run
/// # static MIGRATIONS: migrate_core::Migrations = migrate_core::Migrations::EMPTY;
/// fn main() -> std::process::ExitCode {
///     if std::env::args().nth(1).as_deref() == Some("migrate") {
///         return cargo_migrate::embedded(&MIGRATIONS, std::env::args_os(), Some("sqlite:app.db"));
///     }
///     // … the app itself …
///     std::process::ExitCode::SUCCESS
/// }
/// ```
#[cfg(feature = "embedded")]
pub fn embedded<I, T>(migrations: &migrate_core::Migrations, args: I, default_url: Option<&str>) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map_or_else(|| "app".to_owned(), |n| n.to_string_lossy().into_owned());
    let graph = match migrations.graph() {
        Ok(graph) => std::sync::Arc::new(graph),
        Err(problems) => {
            eprintln!("error: the embedded migrations are not a valid chain:\n{problems}");
            return ExitCode::from(error::code::USAGE);
        }
    };
    let mut command = Cargo::command().bin_name(program.clone());
    command = command.mut_subcommand("migrate", |m| {
        let hidden: Vec<String> = m
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .filter(|n| !crate::cli::Command::EMBEDDED.contains(&n.as_str()))
            .collect();
        let about = format!(
            "The database migrations embedded in {program}: the commands of `cargo migrate` that work on the database."
        );
        let m = ["manifest_path", "package", "dir"].into_iter().fold(m, |m, arg| m.mut_arg(arg, |a| a.hide(true)));
        hidden.iter().fold(m.about(about.clone()).long_about(about), |m, name| m.mut_subcommand(name, |c| c.hide(true)))
    });
    let parsed = command.try_get_matches_from(args).and_then(|m| Cargo::from_arg_matches(&m));
    let embedded = commands::Embedded {
        program,
        graph,
        branches: migrations.branches.iter().map(|s| (*s).to_owned()).collect(),
        default_url: default_url.map(str::to_owned),
    };
    execute(parsed, Some(embedded))
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
