//! `cargo migrate rebase <rev> [--onto <target>]`: moves an unmerged branch onto another revision
//! (by default the other head) so that the chain is linear again, rewriting only the
//! `down_revision` line of `<rev>`'s file. The rules are migrate-core's (`RevisionGraph::rebase`).

use std::process::ExitCode;

use migrate_core::{RebaseError, rewrite_down_revision};

use crate::cli::RebaseArgs;
use crate::commands::{Ctx, db};
use crate::error::{CliError, code};
use crate::output::Paint;
use crate::project::{Project, resolve_revision};

/// Runs `rebase`.
pub(crate) fn exec(args: RebaseArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let usage = |message: String, help: &str| CliError::Usage { message, help: help.to_owned() };
    let rev =
        resolve_revision(graph, &args.rev)?.ok_or_else(|| usage("`base` cannot be moved".into(), "name a revision"))?;
    let onto = match &args.onto {
        Some(t) => resolve_revision(graph, t)?
            .ok_or_else(|| usage("a branch cannot be moved onto `base`".into(), "name the revision to build on"))?,
        None => other_head(&project, rev)?,
    };
    let parents = graph.rebase(rev, onto).map_err(|e| match e {
        RebaseError::Merged { .. } => CliError::Target {
            message: e.to_string(),
            help: Some("a merged branch stays as it is; `cargo migrate merge` joins heads instead".to_owned()),
        },
        other => CliError::Target { message: other.to_string(), help: None },
    })?;
    let moved: Vec<usize> = std::iter::once(rev).chain(graph.descendants(rev)).collect();
    refuse_if_applied(ctx, &project, rev, &moved)?;

    let path = project.file_of(rev);
    let shown = project.config.show(&path);
    let text =
        std::fs::read_to_string(&path).map_err(|e| CliError::Io { path: shown.clone(), message: e.to_string() })?;
    let new = rewrite_down_revision(&text, &parents).ok_or_else(|| CliError::Io {
        path: shown.clone(),
        message: "it has no `-- down_revision:` line to rewrite".to_owned(),
    })?;
    std::fs::write(&path, new).map_err(|e| CliError::Io { path: shown.clone(), message: e.to_string() })?;
    let m = graph.migration(rev);
    let more = moved.len() - 1;
    ctx.out.info(format!(
        "Rebased {}{} onto {}: {shown} now says `down_revision: {}`.",
        ctx.out.paint(Paint::Rev, &m.revision),
        if more == 0 {
            String::new()
        } else {
            format!(" and its {more} descendant{}", if more == 1 { "" } else { "s" })
        },
        ctx.out.paint(Paint::Rev, &graph.migration(onto).revision),
        parents.join(", ")
    ));
    Ok(ExitCode::SUCCESS)
}

/// The one head that does not descend from `rev`: the other side of a two-headed chain.
fn other_head(project: &Project, rev: usize) -> Result<usize, CliError> {
    let graph = &project.graph;
    let ours: Vec<usize> = std::iter::once(rev).chain(graph.descendants(rev)).collect();
    let others: Vec<usize> =
        graph.heads().iter().filter_map(|m| graph.index_of(&m.revision)).filter(|h| !ours.contains(h)).collect();
    match others.as_slice() {
        [one] => Ok(*one),
        [] => Err(CliError::Target {
            message: format!("there is no other head to move `{}` onto", graph.migration(rev).revision),
            help: Some("give the revision to build on with `--onto <rev>`".to_owned()),
        }),
        many => Err(CliError::Target {
            message: format!(
                "there are several other heads: {}",
                many.iter().map(|&h| graph.migration(h).revision.clone()).collect::<Vec<_>>().join(", ")
            ),
            help: Some("choose one with `--onto <rev>`".to_owned()),
        }),
    }
}

/// Refuses when the database given for this run has any moved revision applied: its history
/// would then record parents the files no longer have.
fn refuse_if_applied(ctx: &mut Ctx<'_>, project: &Project, rev: usize, moved: &[usize]) -> Result<(), CliError> {
    if !project.config.database.source.is_explicit() {
        return Ok(());
    }
    let session = db::connect(ctx, project, db::options(&project.config))?;
    let status = session.block_on(session.migrator.status(&session.db));
    session.close();
    let status = status.map_err(|e| db::error(e, &project.config))?;
    let graph = &project.graph;
    let applied: Vec<&str> = moved
        .iter()
        .map(|&i| graph.migration(i).revision.as_str())
        .filter(|id| status.applied.iter().any(|a| a == id))
        .collect();
    if applied.is_empty() {
        return Ok(());
    }
    let m = graph.migration(rev);
    let below = if m.down_revisions.is_empty() { "base".to_owned() } else { m.down_revisions.join(" ") };
    Err(CliError::Database {
        message: format!(
            "{} applied to {}, so moving `{}` would leave its history out of step with the files",
            if applied.len() == 1 { format!("`{}` is", applied[0]) } else { format!("{} are", applied.join(", ")) },
            project.config.database.redacted(),
            m.revision
        ),
        help: Some(format!("downgrade it first (`cargo migrate downgrade {below}`), rebase, then upgrade again")),
        exit: code::FAILURE,
    })
}
