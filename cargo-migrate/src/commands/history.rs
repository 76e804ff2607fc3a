//! `cargo migrate history`: the revisions newest first, as Alembic lists them, optionally in a
//! range (`-r from:to`, both ends included), marked with the database's current revisions, or
//! drawn as a graph of branches and merges.

use std::process::ExitCode;

use migrate_core::{Applied, Range, RevisionGraph, Target};
use serde_json::json;

use crate::cli::{HistoryArgs, HistoryFormat};
use crate::commands::{Ctx, db, text};
use crate::error::CliError;
use crate::project::{Project, parse_target, plan_error, resolve_revision};
use crate::{draw, picture};

/// Runs `history`.
pub(crate) fn exec(args: HistoryArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    // The range is parsed by the core (`current`, a name only history knows, reads as a revision
    // id there and is recognised by `endpoint`).
    let (lower, upper) = match &args.range {
        None => (None, None),
        Some(r) => {
            let range: Range = r.parse().map_err(|_| CliError::Usage {
                message: format!("`{r}` is not a range"),
                help: "write `from:to`, e.g. `-r ae10:head`, `-r base:`, `-r -3:current`".to_owned(),
            })?;
            (range.from.map(|t| t.to_string()), range.to.map(|t| t.to_string()))
        }
    };
    let needs_db =
        args.indicate_current || [&lower, &upper].into_iter().flatten().any(|e| e == "current" || is_relative(e));
    let applied = if needs_db { Some(db::applied(ctx, &project)?) } else { None };

    let mut keep = vec![true; graph.len()];
    if let Some(up) = &upper {
        let mut within = vec![false; graph.len()];
        for e in endpoint(&project, up, applied.as_ref())? {
            within[e] = true;
            for a in graph.ancestors(e) {
                within[a] = true;
            }
        }
        keep = within;
    }
    if let Some(low) = &lower {
        let ends = endpoint(&project, low, applied.as_ref())?;
        // A lower end at base (`base`, or `-N` reaching it) keeps everything.
        if !ends.is_empty() {
            let mut within = vec![false; graph.len()];
            for e in ends {
                within[e] = true;
                for d in graph.descendants(e) {
                    within[d] = true;
                }
            }
            for (k, w) in keep.iter_mut().zip(within) {
                *k &= w;
            }
        }
    }
    let mut order: Vec<usize> = graph.topological_order().iter().copied().filter(|&i| keep[i]).collect();
    order.reverse();
    let current: Option<Vec<bool>> = applied.as_ref().filter(|_| args.indicate_current).map(|a| current_mask(graph, a));
    let current = current.as_deref();

    match (args.format, args.json.json) {
        (HistoryFormat::Json, _) | (_, true) => {
            let list: Vec<_> = order.iter().map(|&i| text::revision_json(graph, i, current)).collect();
            ctx.out.json(&json!({ "revisions": list }));
            return Ok(ExitCode::SUCCESS);
        }
        (HistoryFormat::Mermaid, _) => {
            ctx.out.line(picture::mermaid(graph, &order, current).trim_end());
            return Ok(ExitCode::SUCCESS);
        }
        (HistoryFormat::Dot, _) => {
            ctx.out.line(picture::dot(graph, &order, current).trim_end());
            return Ok(ExitCode::SUCCESS);
        }
        (HistoryFormat::Text, false) => {}
    }
    if order.is_empty() {
        ctx.out.status("no revisions to show");
    }
    if args.graph {
        for row in draw::draw(graph, &order) {
            let line = match row.revision {
                Some(i) => format!("{} {}", row.art, text::short_line(ctx.out, graph, i, current)),
                None => row.art,
            };
            ctx.out.line(line);
        }
    } else if ctx.out.verbose > 0 {
        for i in order {
            ctx.out.line(text::verbose_block(ctx.out, graph, i, current));
        }
    } else {
        for i in order {
            ctx.out.line(text::log_line(ctx.out, graph, i, current));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn is_relative(e: &str) -> bool {
    matches!(e.parse::<Target>(), Ok(Target::Relative(_) | Target::LabelRelative(..)))
}

/// Which revisions the database is at: the applied heads.
pub(crate) fn current_mask(graph: &RevisionGraph, applied: &Applied) -> Vec<bool> {
    let mut mask = vec![false; graph.len()];
    for m in graph.current_heads(applied) {
        if let Some(i) = graph.index_of(&m.revision) {
            mask[i] = true;
        }
    }
    mask
}

/// The revisions a range end names (`base` names none).
fn endpoint(project: &Project, text: &str, applied: Option<&Applied>) -> Result<Vec<usize>, CliError> {
    let graph = &project.graph;
    let heads_of = |applied: &Applied| -> Vec<usize> {
        graph.current_heads(applied).iter().filter_map(|m| graph.index_of(&m.revision)).collect()
    };
    if text == "current" {
        return Ok(applied.map(heads_of).unwrap_or_default());
    }
    let target = parse_target(text)?;
    match &target {
        Target::Heads => Ok(graph.heads().iter().filter_map(|m| graph.index_of(&m.revision)).collect()),
        Target::Relative(n) | Target::LabelRelative(_, n) => {
            let applied = applied.cloned().unwrap_or_default();
            let plan =
                if *n < 0 { graph.plan_downgrade(&applied, &target) } else { graph.plan_upgrade(&applied, &target) }
                    .map_err(plan_error)?;
            let mut ids: Vec<String> = graph
                .topological_order()
                .iter()
                .map(|&i| graph.migration(i).revision.clone())
                .filter(|id| applied.contains(id))
                .collect();
            for step in &plan.steps {
                let id = &graph.migration(step.index).revision;
                match step.direction {
                    migrate_core::Direction::Up => ids.push(id.clone()),
                    migrate_core::Direction::Down => ids.retain(|x| x != id),
                }
            }
            Ok(heads_of(&Applied::new(ids)))
        }
        _ => Ok(resolve_revision(graph, text)?.into_iter().collect()),
    }
}
