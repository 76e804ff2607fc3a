//! `cargo migrate squash <from>:<to> -m MSG`: writes one revision that `replaces` a linear range
//! (the rules and the SQL are migrate-core's, `RevisionGraph::squash`); `squash --prune [REV]`
//! removes the replaced files once no database needs them.

use std::process::ExitCode;

use migrate_core::{Down, Range};

use crate::cli::SquashArgs;
use crate::commands::{Ctx, db};
use crate::error::{CliError, code};
use crate::output::Paint;
use crate::project::{Project, resolve_revision};
use crate::revision_file::{NewRevision, id_and_labels, now_rfc3339};

/// Runs `squash`.
pub(crate) fn exec(args: SquashArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    match (&args.prune, &args.range, &args.message) {
        (Some(which), _, _) => prune(ctx, (!which.is_empty()).then_some(which.as_str())),
        (None, Some(range), Some(message)) => squash(ctx, range, message, args.rev_id.as_deref()),
        _ => Err(CliError::Usage {
            message: "`squash` needs a range and a message".to_owned(),
            help: "cargo migrate squash <from>:<to> -m \"what it does\"".to_owned(),
        }),
    }
}

fn squash(ctx: &mut Ctx<'_>, range: &str, message: &str, rev_id: Option<&str>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let usage = || CliError::Usage {
        message: format!("`{range}` is not a range of revisions"),
        help: "give the oldest and the newest revision to squash: `<from>:<to>`, e.g. `3f2a:head`".to_owned(),
    };
    let parsed: Range = range.parse().map_err(|_| usage())?;
    let (Some(from), Some(to)) = (parsed.from, parsed.to) else { return Err(usage()) };
    let end = |t: &migrate_core::Target| -> Result<usize, CliError> {
        resolve_revision(graph, &t.to_string())?.ok_or_else(usage)
    };
    let (from, to) = (end(&from)?, end(&to)?);
    let (id, _) = id_and_labels(rev_id, None, graph)?;
    let squashed = graph
        .squash(from, to, &id, message)
        .map_err(|e| CliError::Target { message: format!("cannot squash `{range}`: {e}"), help: Some(e.help()) })?;
    let (down, irreversible_reason) = match squashed.down {
        Down::Sql { sql, .. } => (sql, None),
        Down::Irreversible { reason } => (String::new(), Some(reason)),
        Down::Missing => (String::new(), None),
    };
    let rev = NewRevision {
        id,
        parents: squashed.down_revisions,
        message: message.to_owned(),
        depends_on: squashed.depends_on,
        branch_labels: squashed.branch_labels,
        created: now_rfc3339(),
        body: Some((squashed.up, down)),
        autocommit: !squashed.transaction,
        replaces: squashed.replaces.clone(),
        irreversible_reason,
        ..NewRevision::default()
    };
    let path = rev.write(&project.config.migrations_dir, &project.config.migrations_display)?;
    let shown = project.config.show(&path);
    let replaced = &squashed.replaces;
    if ctx.out.quiet {
        ctx.out.line(shown);
        return Ok(ExitCode::SUCCESS);
    }
    ctx.out.line(format!(
        "Created squash revision {} replacing {} revisions ({} … {}): {shown}",
        ctx.out.paint(Paint::Rev, &rev.id),
        replaced.len(),
        replaced.first().map_or("", String::as_str),
        replaced.last().map_or("", String::as_str),
    ));
    ctx.out.status(format!(
        "new databases apply `{}` alone; those that applied the whole range record it in its place on their next run; \
         remove the old files with `cargo migrate squash --prune` once no database is partway through them",
        rev.id
    ));
    Ok(ExitCode::SUCCESS)
}

fn prune(ctx: &mut Ctx<'_>, which: Option<&str>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let squash = match which {
        None => None,
        Some(text) => {
            let i = resolve_revision(graph, text)?.filter(|&i| graph.migration(i).is_squash()).ok_or_else(|| {
                CliError::Target {
                    message: format!("`{text}` is not a squash revision"),
                    help: Some(
                        "name a revision with a `-- replaces:` line, or leave it out for all of them".to_owned(),
                    ),
                }
            })?;
            Some(graph.migration(i).revision.as_str())
        }
    };
    let files = graph.replaced_files(squash);
    if files.is_empty() {
        ctx.out.info("No replaced files to remove.");
        return Ok(ExitCode::SUCCESS);
    }
    refuse_if_partway(ctx, &project, squash)?;
    let mut removed = Vec::new();
    for m in &files {
        let path = project.path_of(&m.path);
        let shown = project.config.show(&path);
        std::fs::remove_file(&path).map_err(|e| CliError::Io { path: shown.clone(), message: e.to_string() })?;
        removed.push(shown);
    }
    ctx.out.info(format!("Removed {} replaced file{}:", removed.len(), if removed.len() == 1 { "" } else { "s" }));
    for shown in removed {
        ctx.out.line(format!("  {shown}"));
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses when the database given for this run is partway through a range whose files would go.
fn refuse_if_partway(ctx: &mut Ctx<'_>, project: &Project, squash: Option<&str>) -> Result<(), CliError> {
    if !project.config.database.source.is_explicit() {
        return Ok(());
    }
    let session = db::connect(ctx, project, db::options(&project.config))?;
    let status = session.block_on(session.migrator.status(&session.db));
    session.close();
    let partway: Vec<String> = status
        .map_err(|e| db::error(e, &project.config))?
        .partway
        .into_iter()
        .filter(|s| squash.is_none_or(|q| q == s))
        .collect();
    if partway.is_empty() {
        return Ok(());
    }
    Err(CliError::Database {
        message: format!(
            "{} is partway through the revisions squashed into {}, so it still needs their files",
            project.config.database.redacted(),
            partway.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        ),
        help: Some(
            "run `cargo migrate upgrade` on it first (it finishes the range and records the squash), then prune"
                .to_owned(),
        ),
        exit: code::FAILURE,
    })
}
