//! `upgrade`, `downgrade`, `stamp`.

use std::process::ExitCode;

use crate::cli::{DowngradeArgs, StampArgs, UpgradeArgs};
use crate::commands::Ctx;
use crate::error::CliError;

/// Runs `upgrade`.
pub(crate) fn upgrade(_args: UpgradeArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    super::db::applied(ctx, &project).map(|_| ExitCode::SUCCESS)
}
/// Runs `downgrade`.
pub(crate) fn downgrade(_args: DowngradeArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    super::db::applied(ctx, &project).map(|_| ExitCode::SUCCESS)
}
/// Runs `stamp`.
pub(crate) fn stamp(_args: StampArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    super::db::applied(ctx, &project).map(|_| ExitCode::SUCCESS)
}
