//! `cargo migrate check`: the CI gate. The chain must be valid with the same checks as
//! `migrate!()` (every file parses, the graph is sound, one head or one per declared branch).
//! When a database URL is given for the run (`--database-url`, `DATABASE_URL` or `.env`), the
//! database must also be at the head with no edited, missing or dirty revision, and its schema
//! must be what its applied revisions produce (no drift); over several databases, so must each,
//! the files checked once for the first one's kind. When a schema file exists, the
//! migrations must produce it. The lint runs (errors fail, warnings are printed), and so does the
//! stairway test where a scratch server is at hand. Each failure has its own exit code: 4 broken
//! chain, 5 behind, 6 checksum changed, 9 dirty, 10 missing, 13 schema file differs, 14 drift,
//! 15 a downgrade does not undo its upgrade, 16 lint error.

use std::process::ExitCode;

use serde_json::json;

use crate::cli::CheckArgs;
use crate::commands::fleet;
use crate::commands::schema::{Bench, listed};
use crate::commands::{Ctx, db, lint, report};
use crate::error::{CliError, code};
use crate::output::Paint;

/// Findings about the files (lint, downgrades, schema.sql) rather than the database: the
/// database's own come first and decide the exit code when there are both.
const FROM_FILES: [u8; 3] = [code::LINT, code::DOWNGRADE_BROKEN, code::SCHEMA_DIFFERS];

/// What to do about drift.
pub(crate) const DRIFT_HELP: &str = "find who changed it; repair it by hand, or capture the change in a new revision";

/// Runs `check`.
pub(crate) fn exec(args: CheckArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    // Offline, no database is read: the URLs, however many, do not matter. Over several
    // databases the files are checked once, against the first one's dialect and server.
    let fleet = if args.offline { None } else { fleet::urls(ctx)? };
    if let Some(urls) = &fleet {
        ctx.global.database_url = urls.iter().take(1).cloned().collect();
        ctx.global.database_urls = None;
        let dialects: std::collections::BTreeSet<&str> =
            urls.iter().filter_map(|u| migrate_core::sql::Dialect::from_url(u)).map(|d| d.name()).collect();
        let first = urls.first().and_then(|u| migrate_core::sql::Dialect::from_url(u));
        if let (true, Some(first)) = (dialects.len() > 1, first)
            && !args.json.json
        {
            ctx.out.status(format!(
                "the databases are of {} kinds ({}): the files are linted and their downgrades tested for {}, the first's",
                dialects.len(),
                dialects.into_iter().collect::<Vec<_>>().join(", "),
                first.name()
            ));
        }
    }
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
    let mut findings: Vec<(u8, String)> = Vec::new();
    let mut bench: Option<Bench> = None;

    // The lint: errors fail the check, warnings are printed.
    let dialect = lint::dialect_of(&project);
    let linted = migrate_core::lint::lint(graph, dialect);
    let lint_errors: Vec<&migrate_core::lint::Finding> =
        linted.iter().filter(|f| f.severity == migrate_core::lint::Severity::Error).collect();
    if !args.json.json {
        lint::show(ctx.out, &linted);
    }
    if !lint_errors.is_empty() {
        findings.push((
            code::LINT,
            format!(
                "the lint found {} error(s) for {} (listed above; `cargo migrate lint` for details)",
                lint_errors.len(),
                dialect.name()
            ),
        ));
    }
    let lint_json =
        json!({ "dialect": dialect.name(), "findings": linted.iter().map(lint::finding_json).collect::<Vec<_>>() });

    // The stairway: where scratch databases cost nothing (SQLite in memory) or a server was
    // named for this run.
    let mut stairway_json = serde_json::Value::Null;
    let scratch_ok = dialect == migrate_core::sql::Dialect::Sqlite
        || project.config.database.source.is_explicit()
        || ctx.global.dev_url.is_some()
        || project.config.metadata.dev_url.is_some();
    if !args.offline && !graph.is_empty() && scratch_ok {
        let b = Bench::open(ctx, &project)?;
        let report = b.block_on(b.migrator.stairway(&b.server, None, None)).map_err(|e| db::error(e, &project.config));
        bench = Some(b);
        let report = report?;
        let failed: Vec<String> = report.failures().map(|s| s.to_string()).collect();
        stairway_json = json!({ "ok": failed.is_empty(), "tested": report.steps.len(), "failures": failed });
        if failed.is_empty() {
            if !args.json.json {
                ctx.out.info(format!(
                    "{} downgrades: each of {} revision(s) undoes its upgrade",
                    ctx.out.paint(Paint::Good, "✓"),
                    report.steps.len()
                ));
            }
        } else {
            findings.push((code::DOWNGRADE_BROKEN, failed.join("\n")));
        }
    } else if !args.offline && !graph.is_empty() && !args.json.json {
        ctx.out.status("downgrades not tested: no server for scratch databases was given for this run (--database-url, DATABASE_URL or --dev-url); `cargo migrate test` tests them");
    }

    // The schema file against the schema the migrations produce.
    let mut schema_json = serde_json::Value::Null;
    if let (false, Some(path)) = (args.offline, project.config.schema_file()) {
        let b = match bench.take() {
            Some(b) => b,
            None => Bench::open(ctx, &project)?,
        };
        let (_, up, _) = b.autogenerate(&project)?;
        let shown = project.config.show(&path);
        let differences = up.differences();
        schema_json = json!({ "file": shown, "ok": up.is_empty(), "differences": differences });
        if up.is_empty() {
            if !args.json.json {
                ctx.out.info(format!("{} schema: the migrations produce {shown}", ctx.out.paint(Paint::Good, "✓")));
            }
        } else {
            findings.push((
                code::SCHEMA_DIFFERS,
                format!(
                    "{shown} differs from the schema the migrations produce:{}\n  write a revision for it with `cargo migrate new --autogenerate -m \"…\"` (see the SQL with `cargo migrate diff`)",
                    listed(&differences)
                ),
            ));
        }
        bench = Some(b);
    }

    if let Some(urls) = fleet {
        if let Some(b) = bench {
            b.close();
        }
        let mut json = serde_json::Map::new();
        json.insert("chain".to_owned(), chain_json);
        json.insert("lint".to_owned(), lint_json);
        json.insert("downgrades".to_owned(), stairway_json);
        json.insert("schema".to_owned(), schema_json);
        return fleet::check(ctx, &project, urls, fleet::Files { findings, json }, args.json.json);
    }

    let mut database_json = serde_json::Value::Null;
    if check_db {
        let session = db::connect(ctx, &project, db::options(&project.config))?;
        let status = session.block_on(session.migrator.status(&session.db));
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                session.close();
                return Err(db::error(e, &project.config));
            }
        };
        if let Some(d) = &status.dirty {
            findings.push((
                code::DIRTY,
                format!("{d}; run `cargo migrate resolve {} --applied | --unapplied`", d.revision),
            ));
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
        // Drift: only meaningful when the applied revisions are all known and none is dirty.
        let mut drift_list: Vec<String> = Vec::new();
        if status.dirty.is_none() && status.missing.is_empty() {
            let b = match bench.take() {
                Some(b) => b,
                None => Bench::open(ctx, &project)?,
            };
            let drift = b.drift(&project, &session.db);
            bench = Some(b);
            let drift = match drift {
                Ok(d) => d,
                Err(e) => {
                    session.close();
                    return Err(e);
                }
            };
            drift_list = drift.changes.differences();
            if !drift.is_empty() {
                findings.push((
                    code::DRIFT,
                    format!(
                        "the database's schema is not what its applied revisions produce (drift):{}\n  {DRIFT_HELP}",
                        listed(&drift_list)
                    ),
                ));
            }
        }
        session.close();
        let list: Vec<_> = findings
            .iter()
            .filter(|(c, _)| !FROM_FILES.contains(c))
            .map(|(c, m)| json!({ "exit_code": c, "message": m }))
            .collect();
        database_json = json!({
            "url": project.config.database.redacted(),
            "current": status.current,
            "pending": status.pending,
            "changed": status.changed.iter().map(|c| &c.revision).collect::<Vec<_>>(),
            "missing": status.missing,
            "dirty": status.dirty.as_ref().map(|d| &d.revision),
            "drift": drift_list,
            "findings": list,
        });
        if findings.iter().all(|(c, _)| FROM_FILES.contains(c)) && !args.json.json {
            ctx.out.info(format!(
                "{} database: at {}, schema as its revisions make it ({})",
                ctx.out.paint(Paint::Good, "✓"),
                if status.current.is_empty() { "base".to_owned() } else { status.current.join(", ") },
                project.config.database.redacted()
            ));
        }
    }
    if let Some(b) = bench {
        b.close();
    }
    // The database's own findings come first; the schema file's counts when it is the only one.
    let exit = findings
        .iter()
        .map(|(c, _)| *c)
        .find(|c| !FROM_FILES.contains(c))
        .or(findings.first().map(|(c, _)| *c))
        .unwrap_or(code::OK);
    if args.json.json {
        ctx.out.json(&json!({
            "ok": findings.is_empty(),
            "exit_code": exit,
            "chain": chain_json,
            "lint": lint_json,
            "downgrades": stairway_json,
            "schema": schema_json,
            "database": database_json,
        }));
        return Ok(ExitCode::from(exit));
    }
    for (c, message) in &findings {
        let e = CliError::Database { message: message.clone(), help: None, exit: *c };
        report(ctx.out, &e);
    }
    Ok(ExitCode::from(exit))
}
