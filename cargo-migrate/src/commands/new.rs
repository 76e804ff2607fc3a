//! `cargo migrate new -m "..."`: writes a new revision file whose parent is the single head (or
//! `--head`). Needs no database; with `--autogenerate`, its SQL is the difference from the
//! migrations' head to the schema file, found in scratch databases.

use std::process::ExitCode;

use crate::cli::NewArgs;
use crate::commands::Ctx;
use crate::commands::schema::Bench;
use crate::error::CliError;
use crate::output::Paint;
use crate::project::{Project, resolve_revision};
use crate::revision_file::{NewRevision, id_and_labels, now_rfc3339};

/// Runs `new`.
pub(crate) fn exec(args: NewArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let (id, branch_labels) = id_and_labels(args.rev_id.as_deref(), args.branch_label.as_deref(), graph)?;
    let parents = match &args.head {
        Some(head) => match resolve_revision(graph, head)? {
            Some(i) => vec![graph.migration(i).revision.clone()],
            None => Vec::new(),
        },
        None => {
            let heads = graph.heads();
            match heads.as_slice() {
                [] => Vec::new(),
                [one] => vec![one.revision.clone()],
                many => {
                    let list: Vec<&str> = many.iter().map(|m| m.revision.as_str()).collect();
                    return Err(CliError::Target {
                        message: format!(
                            "there are {} heads ({}), so the parent is not clear",
                            many.len(),
                            list.join(", ")
                        ),
                        help: Some(format!(
                            "choose one with `--head <rev>` (or `--head <label>@head`), or join them first with `cargo migrate merge -m \"merge heads\"`; e.g. `cargo migrate new -m \"{}\" --head {}`",
                            args.message, list[0]
                        )),
                    });
                }
            }
        }
    };
    let mut depends_on = Vec::new();
    for dep in &args.depends_on {
        match resolve_revision(graph, dep)? {
            Some(i) => depends_on.push(graph.migration(i).revision.clone()),
            None => {
                return Err(CliError::Usage {
                    message: "`--depends-on base` names no revision".to_owned(),
                    help: "name the revision this one needs".to_owned(),
                });
            }
        }
    }
    let mut rev = NewRevision {
        id,
        parents,
        message: args.message.clone(),
        depends_on,
        branch_labels,
        irreversible: args.irreversible,
        created: now_rfc3339(),
        ..NewRevision::default()
    };
    if args.autogenerate {
        let bench = Bench::open(ctx, &project)?;
        let result = bench.autogenerate(&project);
        bench.close();
        let (path, up, down) = result?;
        let shown = project.config.show(&path);
        if up.is_empty() {
            ctx.out.status(format!("no difference between the migrations' head and {shown}; no revision written"));
            return Ok(ExitCode::SUCCESS);
        }
        for note in &up.notes {
            ctx.out.warn(format!("check the generated file: {note}"));
        }
        rev.autocommit = up.needs_autocommit() || down.needs_autocommit();
        rev.body = Some((up.script(), down.script()));
    }
    let path = rev.write(&project.config.migrations_dir, &project.config.migrations_display)?;
    write_created(ctx, &project, &rev, &path);
    Ok(ExitCode::SUCCESS)
}

/// Reports a written revision: the path on stdout (alone with `-q`), what it builds on on stderr.
pub(crate) fn write_created(ctx: &mut Ctx<'_>, project: &Project, rev: &NewRevision, path: &std::path::Path) {
    let shown = project.config.show(path);
    if ctx.out.quiet {
        ctx.out.line(shown);
        return;
    }
    let on = if rev.parents.is_empty() { "<base>".to_owned() } else { rev.parents.join(", ") };
    ctx.out.line(format!("Created revision {} on {on}: {shown}", ctx.out.paint(Paint::Rev, &rev.id)));
    if rev.irreversible {
        ctx.out.status(format!("fill in the reason on the `-- migrate:down irreversible:` line of {shown}"));
    }
}
