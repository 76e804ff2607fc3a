//! `cargo migrate resolve <rev> --applied | --unapplied`: the way out of a revision left dirty
//! by a failed run on MySQL/MariaDB, once it has been finished or undone by hand.

use std::process::ExitCode;

use migrate_core::Resolution;

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
    let status = session.block_on(session.migrator.status(&session.db));
    let dirty = match status {
        Ok(s) => s.dirty,
        Err(e) => {
            session.close();
            return Err(db::error(e, &project));
        }
    };
    let Some(dirty) = dirty else {
        session.close();
        ctx.out.info("Nothing is dirty: no revision needs resolving.");
        return Ok(ExitCode::SUCCESS);
    };
    if dirty.revision != given {
        session.close();
        return Err(CliError::Database {
            message: format!("the dirty revision is `{}`, not `{}`", dirty.revision, args.rev),
            help: Some(format!("run `cargo migrate resolve {} --applied | --unapplied`", dirty.revision)),
            exit: code::TARGET,
        });
    }
    let resolution = if args.applied { Resolution::MarkApplied } else { Resolution::MarkUnapplied };
    let result = session.block_on(session.migrator.resolve_dirty(&session.db, resolution));
    session.close();
    result.map_err(|e| db::error(e, &project))?;
    ctx.out.info(if args.applied {
        format!("Marked {given} as applied.")
    } else {
        format!("Marked {given} as not applied; `cargo migrate upgrade` runs it again.")
    });
    Ok(ExitCode::SUCCESS)
}
