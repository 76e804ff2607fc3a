//! `cargo migrate show <rev>`: everything about one revision, including its SQL; with `--sql`,
//! only its upgrade as the script a run executes for it, for a DBA to apply by hand.

use std::process::ExitCode;

use migrate_core::sql::Dialect;
use migrate_core::{Direction, Down, Plan, Step};
use serde_json::json;

use crate::cli::ShowArgs;
use crate::commands::{Ctx, db, text};
use crate::error::CliError;
use crate::output::Paint;
use crate::project::resolve_revision;

/// Runs `show`.
pub(crate) fn exec(args: ShowArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let graph = &project.graph;
    let Some(i) = resolve_revision(graph, &args.rev)? else {
        return Err(CliError::Target {
            message: "`base` is not a revision".to_owned(),
            help: Some("`cargo migrate history` lists the revisions".to_owned()),
        });
    };
    let m = graph.migration(i);
    if args.sql {
        let url = &project.config.database.url;
        let dialect = Dialect::from_url(url).ok_or_else(|| CliError::Usage {
            message: format!("`{}` does not name a database this tool knows", project.config.database.redacted()),
            help:
                "the script is written for the URL's dialect: use sqlite:, postgres:// or mysql:// (nothing connects)"
                    .to_owned(),
        })?;
        let plan = Plan { steps: vec![Step { index: i, direction: Direction::Up }] };
        let text = migrate_core::sql::script(graph, &plan, dialect, &db::options(&project.config));
        ctx.out.script(text.trim_end());
        return Ok(ExitCode::SUCCESS);
    }
    if args.json.json {
        let mut v = text::revision_json(graph, i, None);
        if let Some(o) = v.as_object_mut() {
            o.insert("up".to_owned(), json!(m.up));
            o.insert("down".to_owned(), json!(m.down_sql()));
        }
        ctx.out.json(&v);
        return Ok(ExitCode::SUCCESS);
    }
    ctx.out.line(text::verbose_block(ctx.out, graph, i, None));
    ctx.out.line(format!("Checksum: {}", m.checksum));
    ctx.out.line(format!("\n{}", ctx.out.paint(Paint::Bold, "Upgrade:")));
    ctx.out.line(indent(&m.up));
    match &m.down {
        Down::Sql { sql, .. } => {
            ctx.out.line(ctx.out.paint(Paint::Bold, "Downgrade:"));
            ctx.out.line(indent(sql));
        }
        Down::Irreversible { reason } => ctx.out.line(format!("Downgrade: irreversible: {reason}")),
        Down::Missing => ctx.out.line("Downgrade: none"),
    }
    Ok(ExitCode::SUCCESS)
}

fn indent(sql: &str) -> String {
    let body: Vec<String> = sql.trim_matches('\n').lines().map(|l| format!("    {l}").trim_end().to_owned()).collect();
    if body.iter().all(String::is_empty) { "    (empty)".to_owned() } else { body.join("\n") }
}
