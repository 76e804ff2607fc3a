//! The database side of the commands, on migrate-core's runtime.

use migrate_core::Applied;

use crate::commands::Ctx;
use crate::error::{CliError, code};
use crate::project::Project;

/// The revisions recorded as applied.
pub(crate) fn applied(_ctx: &mut Ctx<'_>, _project: &Project) -> Result<Applied, CliError> {
    Err(CliError::Database { message: "the runtime is not wired yet".into(), help: None, exit: code::FAILURE })
}
