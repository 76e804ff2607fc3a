//! `cargo migrate heads`: the revisions nothing builds on.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::JsonOnly;
use crate::commands::{Ctx, text};
use crate::error::CliError;

/// Runs `heads`.
pub(crate) fn exec(args: JsonOnly, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let heads: Vec<usize> = graph.heads().iter().filter_map(|m| graph.index_of(&m.revision)).collect();
    if args.json.json {
        let list: Vec<_> = heads.iter().map(|&i| text::revision_json(graph, i, None)).collect();
        ctx.out.json(&json!({ "heads": list }));
        return Ok(ExitCode::SUCCESS);
    }
    if heads.is_empty() {
        ctx.out.status("no revisions yet: `cargo migrate new -m \"...\"` creates the first one");
    }
    for i in heads {
        let line = if ctx.out.verbose > 0 {
            text::verbose_block(ctx.out, graph, i, None)
        } else {
            text::short_line(ctx.out, graph, i, None)
        };
        ctx.out.line(line);
    }
    Ok(ExitCode::SUCCESS)
}
