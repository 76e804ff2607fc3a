//! `current`.

use std::process::ExitCode;

use crate::commands::Ctx;
use crate::error::CliError;

/// Runs `current`.
pub(crate) fn exec<A>(_args: A, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    super::db::applied(ctx, &project).map(|_| ExitCode::SUCCESS)
}
