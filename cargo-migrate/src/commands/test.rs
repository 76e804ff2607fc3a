//! `cargo migrate test`: the stairway test over the chain (or `--from`/`--to`), in a scratch
//! database on the database's server (never in the database itself) or on `--dev-url`.

use std::process::ExitCode;

use migrate_core::StairwayOutcome;
use serde_json::json;

use crate::cli::TestArgs;
use crate::commands::schema::Bench;
use crate::commands::{Ctx, db, report};
use crate::error::{CliError, code};
use crate::output::Paint;

/// Runs `test`.
pub(crate) fn exec(args: TestArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let bench = Bench::open(ctx, &project)?;
    let result = bench.block_on(bench.migrator.stairway(&bench.server, args.from.as_deref(), args.to.as_deref()));
    bench.close();
    let result = result.map_err(|e| db::error(e, &project.config))?;
    let exit = if result.passed() { code::OK } else { code::DOWNGRADE_BROKEN };
    if args.json.json {
        let steps: Vec<_> = result
            .steps
            .iter()
            .map(|s| {
                let (outcome, details): (&str, Vec<String>) = match &s.outcome {
                    StairwayOutcome::Clean => ("clean", Vec::new()),
                    StairwayOutcome::Skipped { reason } => ("skipped", vec![reason.clone()]),
                    StairwayOutcome::LeavesDifferences(d) => ("leaves_differences", d.clone()),
                    StairwayOutcome::NotRepeatable(d) => ("not_repeatable", d.clone()),
                    StairwayOutcome::Failed(m) => ("failed", vec![m.clone()]),
                    _ => ("unknown", Vec::new()),
                };
                json!({ "revision": s.revision, "path": s.path, "outcome": outcome, "details": details })
            })
            .collect();
        ctx.out.json(&json!({ "ok": result.passed(), "exit_code": exit, "revisions": steps }));
        return Ok(ExitCode::from(exit));
    }
    for step in &result.steps {
        match &step.outcome {
            StairwayOutcome::Clean => ctx.out.info(format!(
                "{} {} up, down, up",
                ctx.out.paint(Paint::Good, "✓"),
                ctx.out.paint(Paint::Rev, &step.revision)
            )),
            StairwayOutcome::Skipped { reason } => ctx.out.info(format!(
                "- {} irreversible, not downgraded: {reason}",
                ctx.out.paint(Paint::Rev, &step.revision)
            )),
            _ => {}
        }
    }
    let failed: Vec<_> = result.failures().collect();
    if failed.is_empty() {
        ctx.out.status(format!("every downgrade undoes its upgrade ({} revision(s) tested)", result.steps.len()));
        return Ok(ExitCode::SUCCESS);
    }
    for step in &failed {
        let e = CliError::Database {
            message: step.to_string(),
            help: Some(format!(
                "fix the down section of {} so that it removes exactly what its up section adds",
                step.path
            )),
            exit,
        };
        report(ctx.out, &e);
    }
    Ok(ExitCode::from(exit))
}
