//! `check`.

use std::process::ExitCode;

use crate::cli::CheckArgs;
use crate::commands::Ctx;
use crate::error::CliError;

/// Runs `check`.
pub(crate) fn exec(_args: CheckArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    project.check_heads()?;
    Ok(ExitCode::SUCCESS)
}
