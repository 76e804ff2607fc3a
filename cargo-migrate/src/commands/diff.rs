//! `cargo migrate diff`: the SQL that takes the migrations' head to the schema file, built and
//! compared in scratch databases; nothing when they agree.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::JsonOnly;
use crate::commands::Ctx;
use crate::commands::schema::Bench;
use crate::error::CliError;

/// Runs `diff`.
pub(crate) fn exec(args: JsonOnly, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let bench = Bench::open(ctx, &project)?;
    let result = bench.autogenerate(&project);
    bench.close();
    let (path, up, down) = result?;
    let shown = project.config.show(&path);
    if args.json.json {
        ctx.out.json(&json!({
            "schema_file": shown,
            "in_sync": up.is_empty(),
            "differences": up.differences(),
            "notes": up.notes,
            "transaction": !up.needs_autocommit(),
            "up": up.up(),
            "down": down.up(),
        }));
        return Ok(ExitCode::SUCCESS);
    }
    if up.is_empty() {
        ctx.out.status(format!("the migrations' head matches {shown}"));
        return Ok(ExitCode::SUCCESS);
    }
    ctx.out.status(format!("{} difference(s) from the migrations' head to {shown}", up.differences().len()));
    ctx.out.script(&up.script());
    Ok(ExitCode::SUCCESS)
}
