//! `cargo migrate check`: the CI gate. The chain must be valid with the same checks as
//! `migrate!()` (every file parses, the graph is sound, one head or one per declared branch).
//! When a database URL is given for the run (`--database-url`, `DATABASE_URL` or `.env`), the
//! database must also be at the head with no edited, missing or dirty revision. Each failure
//! has its own exit code: 4 broken chain, 5 behind, 6 checksum changed, 9 dirty, 10 missing.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::CheckArgs;
use crate::commands::{Ctx, db, report};
use crate::error::{CliError, code};
use crate::output::Paint;

/// Runs `check`.
pub(crate) fn exec(args: CheckArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let config = ctx.config()?;
    let chain = ctx.load(config).and_then(|p| p.check_heads().map(|()| p));
    let project = match chain {
        Ok(p) => p,
        Err(e) if args.json.json => {
            let problems: Vec<_> = match &e {
                CliError::BrokenChain { problems, .. } => problems
                    .iter()
                    .map(|r| {
                        let p = &r.problem;
                        json!({
                            "path": p.location.path, "line": p.location.line, "column": p.location.column,
                            "message": p.kind.to_string(), "help": p.help(),
                        })
                    })
                    .collect(),
                other => vec![json!({ "message": other.to_string() })],
            };
            let exit = e.exit_code();
            ctx.out.json(&json!({ "ok": false, "exit_code": exit, "chain": { "ok": false, "problems": problems } }));
            return Ok(ExitCode::from(exit));
        }
        Err(e) => return Err(e),
    };
    let graph = &project.graph;
    let heads: Vec<&str> = graph.heads().iter().map(|m| m.revision.as_str()).collect();
    let check_db = !args.offline && project.config.database.source.is_explicit();
    if !check_db && !args.offline {
        ctx.out.status(format!(
            "database not checked: no URL was given for this run (the configured {} is a development default); \
             check one with --database-url or DATABASE_URL",
            project.config.database.redacted()
        ));
    }
    if !args.json.json {
        ctx.out.info(format!(
            "{} chain: {} revision{}, head{} {}",
            ctx.out.paint(Paint::Good, "✓"),
            graph.len(),
            if graph.len() == 1 { "" } else { "s" },
            if heads.len() == 1 { "" } else { "s" },
            if heads.is_empty() { "none".to_owned() } else { heads.join(", ") }
        ));
    }
    let chain_json = json!({ "ok": true, "revisions": graph.len(), "heads": heads });
    if !check_db {
        if args.json.json {
            ctx.out.json(&json!({ "ok": true, "exit_code": 0, "chain": chain_json, "database": null }));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let session = db::connect(ctx, &project, db::options(&project.config))?;
    let status = session.block_on(session.migrator.status(&session.db));
    session.close();
    let status = status.map_err(|e| db::error(e, &project.config))?;
    let mut findings: Vec<(u8, String)> = Vec::new();
    if let Some(d) = &status.dirty {
        findings
            .push((code::DIRTY, format!("{d}; run `cargo migrate resolve {} --applied | --unapplied`", d.revision)));
    }
    if !status.missing.is_empty() {
        findings.push((
            code::MISSING,
            format!(
                "the database records revision(s) with no file: {}; restore the files or `cargo migrate stamp --purge`",
                status.missing.join(", ")
            ),
        ));
    }
    for c in &status.changed {
        findings.push((
            code::CHECKSUM_CHANGED,
            format!(
                "`{}` ({}) was edited after it was applied; restore it, or accept it with `cargo migrate upgrade --accept-changed {}`",
                c.revision, c.path, c.revision
            ),
        ));
    }
    if !status.pending.is_empty() {
        findings.push((
            code::BEHIND,
            format!(
                "the database is behind: {} revision(s) pending ({}); run `cargo migrate upgrade`",
                status.pending.len(),
                status.pending.join(", ")
            ),
        ));
    }
    let exit = findings.first().map_or(code::OK, |(c, _)| *c);
    if args.json.json {
        let list: Vec<_> = findings.iter().map(|(c, m)| json!({ "exit_code": c, "message": m })).collect();
        ctx.out.json(&json!({
            "ok": findings.is_empty(),
            "exit_code": exit,
            "chain": chain_json,
            "database": {
                "url": project.config.database.redacted(),
                "current": status.current,
                "pending": status.pending,
                "changed": status.changed.iter().map(|c| &c.revision).collect::<Vec<_>>(),
                "missing": status.missing,
                "dirty": status.dirty.as_ref().map(|d| &d.revision),
                "findings": list,
            },
        }));
        return Ok(ExitCode::from(exit));
    }
    if findings.is_empty() {
        ctx.out.info(format!(
            "{} database: at {} ({})",
            ctx.out.paint(Paint::Good, "✓"),
            if status.current.is_empty() { "base".to_owned() } else { status.current.join(", ") },
            project.config.database.redacted()
        ));
        return Ok(ExitCode::SUCCESS);
    }
    for (c, message) in &findings {
        let e = CliError::Database { message: message.clone(), help: None, exit: *c };
        report(ctx.out, &e);
    }
    Ok(ExitCode::from(exit))
}
