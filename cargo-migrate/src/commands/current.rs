//! `cargo migrate current`: the revisions the database is at; `--check-heads` fails (exit 5)
//! unless that is the head (or every declared head).

use std::process::ExitCode;

use serde_json::json;

use crate::cli::CurrentArgs;
use crate::commands::fleet;
use crate::commands::{Ctx, db, text};
use crate::error::{CliError, code};
use crate::output::Paint;

/// Runs `current`.
pub(crate) fn exec(args: CurrentArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    if let Some(urls) = fleet::urls(ctx)? {
        let kind = if args.check_heads { fleet::Kind::Check } else { fleet::Kind::Current };
        return fleet::exec(ctx, urls, kind, args.json.json);
    }
    let project = ctx.project()?;
    let session = db::connect(ctx, &project, db::options(&project.config))?;
    let status = session.block_on(session.migrator.status(&session.db));
    session.close();
    let status = status.map_err(|e| db::error(e, &project.config))?;
    let graph = &*project.graph_for(&status)?;
    let at_head = status.at_head();
    if args.json.json {
        let current: Vec<_> = status
            .current
            .iter()
            .map(|c| match graph.index_of(c) {
                Some(i) => text::revision_json(graph, i, None),
                None => json!({ "revision": c, "unknown": true }),
            })
            .collect();
        ctx.out.json(&json!({ "current": current, "at_head": at_head, "missing": status.missing }));
    } else {
        if status.current.is_empty() {
            ctx.out.status("no revision is applied (the database is at base)");
        }
        for c in &status.current {
            let line = match graph.index_of(c) {
                Some(i) if ctx.out.verbose > 0 => text::verbose_block(ctx.out, graph, i, None),
                Some(i) => text::short_line(ctx.out, graph, i, None),
                None => format!("{} (no file for this revision)", ctx.out.paint(Paint::Rev, c)),
            };
            ctx.out.line(line);
        }
        for m in &status.missing {
            if !status.current.contains(m) {
                ctx.out.line(format!("{} (no file for this revision)", ctx.out.paint(Paint::Rev, m)));
            }
        }
    }
    if !status.missing.is_empty() {
        // Revisions this checkout has no file for: another project's database, or a newer build's.
        ctx.out.warn(format!(
            "the database records {} revision(s) this checkout has no file for ({}); is the URL right? `cargo migrate upgrade` refuses until they are accounted for",
            status.missing.len(),
            status.missing.join(", ")
        ));
        return Ok(ExitCode::from(code::MISSING));
    }
    if args.check_heads && !at_head {
        ctx.out.status(format!(
            "the database is not at the head: {} revision(s) pending; run `cargo migrate upgrade`",
            status.pending.len()
        ));
        return Ok(ExitCode::from(code::BEHIND));
    }
    Ok(ExitCode::SUCCESS)
}
