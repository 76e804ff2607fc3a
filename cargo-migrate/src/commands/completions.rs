//! `cargo migrate completions <shell>`: shell completions for `cargo-migrate`.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cargo, CompletionsArgs};
use crate::commands::Ctx;
use crate::error::CliError;

/// Runs `completions`.
pub(crate) fn exec(args: CompletionsArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let mut cmd = Cargo::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "cargo-migrate", &mut buf);
    ctx.out.line(String::from_utf8_lossy(&buf).trim_end());
    Ok(ExitCode::SUCCESS)
}
