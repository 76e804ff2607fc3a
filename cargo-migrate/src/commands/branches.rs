//! `cargo migrate branches`: where the chain forks, and the named branches.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::JsonOnly;
use crate::commands::{Ctx, text};
use crate::error::CliError;
use crate::output::Paint;

/// Runs `branches`.
pub(crate) fn exec(args: JsonOnly, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let points: Vec<usize> = graph.branch_points().iter().filter_map(|m| graph.index_of(&m.revision)).collect();
    let labels = graph.labels();
    if args.json.json {
        let points: Vec<_> = points
            .iter()
            .map(|&i| {
                let mut v = text::revision_json(graph, i, None);
                if let Some(o) = v.as_object_mut() {
                    let children: Vec<&str> =
                        graph.children(i).iter().map(|&c| graph.migration(c).revision.as_str()).collect();
                    o.insert("children".to_owned(), json!(children));
                }
                v
            })
            .collect();
        let labels: Vec<_> =
            labels.iter().map(|(label, m)| json!({ "label": label, "revision": m.revision, "path": m.path })).collect();
        ctx.out.json(&json!({ "branch_points": points, "labels": labels }));
        return Ok(ExitCode::SUCCESS);
    }
    if points.is_empty() && labels.is_empty() {
        ctx.out.status("no branches: the chain is linear");
    }
    for i in points {
        ctx.out.line(text::short_line(ctx.out, graph, i, None));
        for &c in graph.children(i) {
            ctx.out.line(format!("    -> {}", text::short_line(ctx.out, graph, c, None)));
        }
    }
    if !labels.is_empty() {
        ctx.out.line("Branch labels:");
        for (label, m) in labels {
            ctx.out.line(format!(
                "    {}: starts at {}",
                ctx.out.paint(Paint::Tag, label),
                ctx.out.paint(Paint::Rev, &m.revision)
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}
