//! `cargo migrate lint`: the migrations' up sections through the linter for the database's
//! dialect (or `--dialect`); errors exit 16, warnings are printed. `check` runs the same.

use std::process::ExitCode;

use migrate_core::lint::{Finding, Severity, lint};
use migrate_core::sql::Dialect;
use serde_json::json;

use crate::cli::{DialectArg, LintArgs};
use crate::commands::Ctx;
use crate::error::{CliError, code};
use crate::output::{Output, Paint};
use crate::project::Project;

/// Runs `lint`.
pub(crate) fn exec(args: LintArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let dialect = match args.dialect {
        Some(DialectArg::Sqlite) => Dialect::Sqlite,
        Some(DialectArg::Postgres) => Dialect::Postgres,
        Some(DialectArg::Mysql) => Dialect::MySql,
        None => dialect_of(&project),
    };
    let findings = lint(&project.graph, dialect);
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let exit = if errors > 0 { code::LINT } else { code::OK };
    if args.json.json {
        let list: Vec<_> = findings.iter().map(finding_json).collect();
        ctx.out.json(&json!({ "ok": errors == 0, "exit_code": exit, "dialect": dialect.name(), "findings": list }));
        return Ok(ExitCode::from(exit));
    }
    show(ctx.out, &findings);
    let warnings = findings.len() - errors;
    ctx.out.status(format!(
        "{} revision(s) linted for {}: {errors} error(s), {warnings} warning(s)",
        project.graph.len(),
        dialect.name()
    ));
    Ok(ExitCode::from(exit))
}

/// The dialect of the configured database.
pub(crate) fn dialect_of(project: &Project) -> Dialect {
    Dialect::from_url(&project.config.database.url).unwrap_or(Dialect::Sqlite)
}

/// Findings on stdout, one block each.
pub(crate) fn show(out: &mut Output, findings: &[Finding]) {
    for f in findings {
        let label = match f.severity {
            Severity::Error => out.paint(Paint::Bad, format!("error[{}]", f.rule)),
            Severity::Warning => out.paint(Paint::Warn, format!("warning[{}]", f.rule)),
        };
        out.line(format!("{}:{}: {label}: {}\n  help: {}", f.path, f.line, f.message, f.help));
    }
}

/// A finding as JSON.
pub(crate) fn finding_json(f: &Finding) -> serde_json::Value {
    json!({
        "rule": f.rule, "severity": f.severity.to_string(), "path": f.path, "line": f.line,
        "revision": f.revision, "message": f.message, "help": f.help,
    })
}
