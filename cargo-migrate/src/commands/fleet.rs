//! Fleets: `upgrade`, `downgrade`, `current` and `check` on several databases (`--database-url`
//! repeated, or `--database-urls FILE`), `--jobs` at a time, each with its own lock; a line per
//! database (URL redacted), a summary, and the first failure's exit code.

use std::process::ExitCode;
use std::time::Duration;

use migrate_core::{Backup, Cancel, Db, FleetOp, FleetOutcome, Migrator};
use serde_json::json;

use crate::cli::ApplyOpts;
use crate::commands::check::DRIFT_HELP;
use crate::commands::schema::listed;
use crate::commands::{Ctx, db, report, run};
use crate::error::{CliError, code};
use crate::output::Paint;
use crate::project::{Project, parse_target};

/// What a fleet command does.
pub(crate) enum Kind {
    /// `upgrade [target]` (default: `head`, or `heads` where several are declared).
    Upgrade(Option<String>, ApplyOpts),
    /// `downgrade <target>`.
    Downgrade(String, ApplyOpts),
    /// `current`.
    Current,
    /// `current --check-heads`: at the head.
    Check,
    /// `check`: at the head, and no drift.
    CheckDrift,
}

/// The fleet's URLs, when the run names more than one database (or a URL file); `None` for a
/// run on one database.
pub(crate) fn urls(ctx: &mut Ctx<'_>) -> Result<Option<Vec<String>>, CliError> {
    let mut urls = ctx.global.database_url.clone();
    let Some(file) = ctx.global.database_urls.clone() else {
        return Ok((urls.len() > 1).then_some(urls));
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| CliError::Io { path: file.display().to_string(), message: e.to_string() })?;
    urls.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned));
    if urls.is_empty() {
        return Err(CliError::Usage {
            message: format!("{} holds no database URL", file.display()),
            help: "write one URL a line".to_owned(),
        });
    }
    for url in &urls {
        for p in migrate_core::url_passwords(url) {
            ctx.out.add_secret(&p);
        }
    }
    Ok(Some(urls))
}

/// What `check` found in the files, checked once before the databases: its findings (exit
/// code, message) and its JSON sections (`chain`, `lint`, `downgrades`, `schema`).
pub(crate) struct Files {
    /// Each finding's exit code and message.
    pub(crate) findings: Vec<(u8, String)>,
    /// The JSON sections, merged into the fleet's.
    pub(crate) json: serde_json::Map<String, serde_json::Value>,
}

/// Runs `kind` on every database of `urls`.
pub(crate) fn exec(ctx: &mut Ctx<'_>, urls: Vec<String>, kind: Kind, json_out: bool) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    run_on(ctx, &project, urls, kind, json_out, None)
}

/// `check` on every database of `urls`, after the files' checks (`files`): the databases'
/// failures decide the exit code, the files' count when they are the only ones.
pub(crate) fn check(
    ctx: &mut Ctx<'_>,
    project: &Project,
    urls: Vec<String>,
    files: Files,
    json_out: bool,
) -> Result<ExitCode, CliError> {
    run_on(ctx, project, urls, Kind::CheckDrift, json_out, Some(files))
}

fn run_on(
    ctx: &mut Ctx<'_>,
    project: &Project,
    urls: Vec<String>,
    kind: Kind,
    json_out: bool,
    files: Option<Files>,
) -> Result<ExitCode, CliError> {
    if matches!(kind, Kind::Check | Kind::CheckDrift | Kind::Upgrade(..)) {
        project.check_heads()?;
    }
    let (op, apply) = match &kind {
        Kind::Upgrade(t, apply) => (
            FleetOp::Upgrade(parse_target(t.as_deref().unwrap_or(match project.config.head_policy() {
                migrate_core::HeadPolicy::Single if !project.graph.is_empty() => "head",
                _ => "heads",
            }))?),
            Some(apply),
        ),
        Kind::Downgrade(t, apply) => (FleetOp::Downgrade(parse_target(t)?), Some(apply)),
        Kind::Current => (FleetOp::Current, None),
        Kind::Check => (FleetOp::Check, None),
        Kind::CheckDrift => (FleetOp::CheckDrift, None),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Io { path: "tokio runtime".to_owned(), message: e.to_string() })?;
    // Each database's run takes the options one database's would: all-or-nothing, accepted
    // checksums, and a backup of its own in the backup directory.
    let mut options = db::options(&project.config);
    let mut backup = None;
    if let Some(apply) = apply {
        options.all_or_nothing = apply.all_or_nothing;
        options.accept_changed = run::accepted(project, &apply.accept_changed)?;
        backup = run::backup_dir(project, apply);
    }
    // Ctrl-C or SIGTERM cancels each database's run as it would a single one (the running
    // statement cancelled, its revision rolled back, scratch databases dropped), and no other
    // database starts.
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    runtime.spawn(async move {
        db::signalled().await;
        on_signal.cancel();
    });
    let mut migrator = Migrator::new(project.graph.clone())
        .with_options(options)
        .with_head_policy(project.config.head_policy())
        .with_cancel(cancel.clone());
    if let Some(dir) = backup {
        // The URL is each database's own, given per run.
        migrator = migrator.with_backup(Backup::new(dir, String::new()));
    }
    // Drift builds its schemas where a single check would: on the dev server when one is named.
    let dev = ctx.global.dev_url.clone().or_else(|| project.config.metadata.dev_url.clone());
    if let (Kind::CheckDrift, Some(dev)) = (&kind, dev) {
        ctx.out.verbose(format!("scratch databases on {}", migrate_core::redact_url(&dev)));
        let server = runtime.block_on(Db::connect_existing(&dev)).map_err(|e| db::error(e, &project.config))?;
        migrator = migrator.with_dev_database(server);
    }
    let (jobs, fail_fast) = (ctx.global.jobs, ctx.global.fail_fast);
    ctx.out.verbose(format!("{} database(s), {jobs} at a time", urls.len()));
    let results = runtime.block_on(migrator.fleet(&urls, &op, jobs, fail_fast));
    let cancelled = cancel.is_cancelled();

    let mut first_failure: Option<u8> = None;
    let mut rows = Vec::new();
    let (mut ok, mut failed, mut skipped) = (0, 0, 0);
    let total = results.len();
    for r in results {
        // Each database's line, and for --json what a script needs beside it: a failure's exit
        // code and diagnostic code, the differences of drift, the revisions a database is at.
        let (state, detail, extra) = match r.outcome {
            None => {
                skipped += 1;
                let why = if cancelled { "the run was cancelled" } else { "an earlier database failed (--fail-fast)" };
                ("skipped", format!("not run: {why}"), json!({}))
            }
            Some(Ok(FleetOutcome::CheckedDrift(status, drift))) if !drift.is_empty() => {
                failed += 1;
                first_failure.get_or_insert(code::DRIFT);
                let differences = drift.changes.differences();
                let found = listed(&differences);
                (
                    "failed",
                    format!("the schema is not what its applied revisions produce (drift):{found}\n  {DRIFT_HELP}"),
                    json!({ "exit_code": code::DRIFT, "code": "migrate::drift", "current": status.current, "drift": differences }),
                )
            }
            Some(Ok(outcome)) => {
                ok += 1;
                let extra = match &outcome {
                    FleetOutcome::Ran(report) => json!({ "current": report.current, "applied": report.steps.len() }),
                    FleetOutcome::Current(current) => json!({ "current": current }),
                    FleetOutcome::Checked(status) | FleetOutcome::CheckedDrift(status, _) => {
                        json!({ "current": status.current })
                    }
                    _ => json!({}),
                };
                ("ok", describe(&outcome, r.elapsed), extra)
            }
            Some(Err(e)) => {
                failed += 1;
                let cli = db::error(e, &project.config);
                first_failure.get_or_insert(cli.exit_code());
                ("failed", cli.to_string(), json!({ "exit_code": cli.exit_code(), "code": cli.code_name() }))
            }
        };
        rows.push((r.url, state, detail, extra));
    }
    let files = files.unwrap_or(Files { findings: Vec::new(), json: serde_json::Map::new() });
    let exit = if cancelled {
        code::CANCELLED
    } else {
        first_failure.or(files.findings.first().map(|(c, _)| *c)).unwrap_or(code::OK)
    };
    if json_out {
        let list: Vec<_> = rows
            .into_iter()
            .map(|(u, s, d, extra)| {
                let mut row = json!({ "url": u, "state": s, "detail": d });
                if let (Some(row), serde_json::Value::Object(extra)) = (row.as_object_mut(), extra) {
                    row.extend(extra);
                }
                row
            })
            .collect();
        let mut out = json!({ "ok": failed == 0 && files.findings.is_empty(), "exit_code": exit });
        if let Some(o) = out.as_object_mut() {
            o.extend(files.json);
            o.insert("databases".to_owned(), json!(list));
        }
        ctx.out.json(&out);
        return Ok(ExitCode::from(exit));
    }
    for (url, state, detail, _) in &rows {
        let mark = match *state {
            "ok" => ctx.out.paint(Paint::Good, "✓"),
            "failed" => ctx.out.paint(Paint::Bad, "✗"),
            _ => "-".to_owned(),
        };
        ctx.out.line(format!("{mark} {url}: {detail}"));
    }
    ctx.out.status(format!("{total} database(s): {ok} ok, {failed} failed, {skipped} skipped"));
    for (c, message) in files.findings {
        report(ctx.out, &CliError::Database { message, help: None, exit: c });
    }
    Ok(ExitCode::from(exit))
}

/// One line on what a database's run gave.
fn describe(outcome: &FleetOutcome, elapsed: Duration) -> String {
    let at = |current: &[String]| if current.is_empty() { "base".to_owned() } else { current.join(", ") };
    match outcome {
        FleetOutcome::Ran(report) => {
            let mut line = if report.steps.is_empty() {
                format!("nothing to do, at {}", at(&report.current))
            } else {
                format!("{} revision(s) in {}, now at {}", report.steps.len(), db::human(elapsed), at(&report.current))
            };
            if !report.accepted.is_empty() {
                line.push_str(&format!("; accepted the edited file of {}", report.accepted.join(", ")));
            }
            if let Some(path) = &report.backup {
                line.push_str(&format!("; backed up to {} first", path.display()));
            }
            line
        }
        FleetOutcome::Current(current) => format!("at {}", at(current)),
        FleetOutcome::Checked(status) => format!("at the head ({})", at(&status.current)),
        FleetOutcome::CheckedDrift(status, _) => {
            format!("at the head ({}), schema as its revisions make it", at(&status.current))
        }
        _ => "done".to_owned(),
    }
}
