//! `cargo migrate resolve <rev> --applied | --unapplied`: the way out of a revision left dirty
//! by a failed run on MySQL/MariaDB, once it has been finished or undone by hand.

use std::process::ExitCode;

use migrate_core::{Error, Resolution};

use crate::cli::ResolveArgs;
use crate::commands::{Ctx, db};
use crate::error::{CliError, code};
use crate::project::resolve_revision;

/// Runs `resolve`.
pub(crate) fn exec(args: ResolveArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let given = match resolve_revision(&project.graph, &args.rev) {
        Ok(Some(i)) => project.graph.migration(i).revision.clone(),
        // A dirty revision may be one this checkout has no file for.
        _ => args.rev.clone(),
    };
    let session = db::connect(ctx, &project, db::options(&project.config))?;
    let resolution = if args.applied { Resolution::MarkApplied } else { Resolution::MarkUnapplied };
    // The revision is checked under the lock, in the same operation that resolves it.
    let result = session.block_on(session.migrator.resolve_dirty(&session.db, &given, resolution));
    session.close();
    match result {
        Ok(_) => {}
        Err(Error::NotDirty { actual: None, .. }) => {
            ctx.out.info("Nothing is dirty: no revision needs resolving.");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e @ Error::NotDirty { .. }) => {
            let help = e.command_line_help();
            return Err(CliError::Database { message: e.to_string(), help, exit: code::TARGET });
        }
        Err(e) => return Err(db::error(e, &project.config)),
    }
    ctx.out.info(if args.applied {
        format!("Marked {given} as applied.")
    } else {
        format!("Marked {given} as not applied; `cargo migrate upgrade` runs it again.")
    });
    Ok(ExitCode::SUCCESS)
}
