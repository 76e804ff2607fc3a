//! `cargo migrate merge -m "..." [revs]`: writes a merge revision whose parents are the given
//! revisions (default: every head).

use std::process::ExitCode;

use crate::cli::MergeArgs;
use crate::commands::{Ctx, new::write_created};
use crate::error::CliError;
use crate::project::resolve_revision;
use crate::revision_file::{NewRevision, id_and_labels, now_rfc3339};

/// Runs `merge`.
pub(crate) fn exec(args: MergeArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let mut parents: Vec<usize> = Vec::new();
    if args.revisions.is_empty() {
        parents = graph.heads().iter().filter_map(|m| graph.index_of(&m.revision)).collect();
    } else {
        for r in &args.revisions {
            // Alembic's spelling: `merge -m msg heads` joins every head.
            if r == "heads" {
                for m in graph.heads() {
                    if let Some(i) = graph.index_of(&m.revision).filter(|i| !parents.contains(i)) {
                        parents.push(i);
                    }
                }
                continue;
            }
            match resolve_revision(graph, r)? {
                Some(i) if !parents.contains(&i) => parents.push(i),
                Some(_) => {}
                None => {
                    return Err(CliError::Usage {
                        message: "`base` cannot be merged".to_owned(),
                        help: "name the revisions to join".to_owned(),
                    });
                }
            }
        }
    }
    if parents.len() < 2 {
        let heads: Vec<String> = graph.heads().iter().map(|m| m.revision.clone()).collect();
        return Err(CliError::Target {
            message: format!(
                "a merge needs two or more revisions; {}",
                if heads.is_empty() {
                    "there are no revisions yet".to_owned()
                } else if args.revisions.is_empty() {
                    format!("there is only one head ({})", heads.join(", "))
                } else {
                    "only one distinct revision was given".to_owned()
                }
            ),
            help: Some("nothing to merge: `cargo migrate new` adds a revision on the head".to_owned()),
        });
    }
    for &a in &parents {
        for &b in &parents {
            if a != b && graph.ancestors(b).contains(&a) {
                return Err(CliError::Target {
                    message: format!(
                        "`{}` is already an ancestor of `{}`",
                        graph.migration(a).revision,
                        graph.migration(b).revision
                    ),
                    help: Some("merge only revisions on different branches".to_owned()),
                });
            }
        }
    }
    let (id, branch_labels) = id_and_labels(args.rev_id.as_deref(), args.branch_label.as_deref(), graph)?;
    let rev = NewRevision {
        id,
        parents: parents.iter().map(|&i| graph.migration(i).revision.clone()).collect(),
        message: args.message.clone(),
        branch_labels,
        created: now_rfc3339(),
        ..NewRevision::default()
    };
    let path = rev.write(&project.config.migrations_dir, &project.config.migrations_display)?;
    write_created(ctx, &project, &rev, &path);
    Ok(ExitCode::SUCCESS)
}
