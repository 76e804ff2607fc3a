//! `upgrade`, `downgrade` and `stamp`: online through migrate-core's migrator (locked, one
//! transaction per revision, with progress and a summary), or offline with `--sql`, printing the
//! exact script the runtime would execute for the URL's dialect without connecting.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use migrate_core::sql::{Dialect, all_or_nothing_refusal, script, stamp_script};
use migrate_core::{Applied, Backup, Direction, Plan, Range, Report, Target};

use crate::cli::{ApplyOpts, DowngradeArgs, StampArgs, UpgradeArgs};
use crate::commands::Ctx;
use crate::commands::db::{self, Progress, human};
use crate::commands::fleet;
use crate::error::CliError;
use crate::memo;
use crate::output::Paint;
use crate::project::{Project, parse_target, plan_error, resolve_revision};

/// What kind of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Upgrade,
    Downgrade,
    Stamp { purge: bool },
}

/// The project, with the database connecting (and, for an upgrade, answering the first read of
/// its no-op check) while the migrations are read, unless the run is offline.
fn load(ctx: &mut Ctx<'_>, offline: bool, purpose: db::Start) -> Result<(Project, Option<db::Early>), CliError> {
    let config = ctx.config()?;
    let early = if offline { None } else { Some(db::start(ctx, &config, &db::options(&config), purpose)?) };
    Ok((ctx.load(config)?, early))
}

/// Runs `upgrade`.
pub(crate) fn upgrade(args: UpgradeArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    if let Some(urls) = fleet::urls(ctx)? {
        refuse_sql_for_fleet(args.run.sql)?;
        return fleet::exec(
            ctx,
            urls,
            fleet::Kind::Upgrade(args.target.clone(), args.apply.clone()),
            args.run.json.json,
        );
    }
    let config = ctx.config()?;
    let Some(mut early) =
        (!args.run.sql).then(|| db::start(ctx, &config, &db::options(&config), db::Start::Upgrade)).transpose()?
    else {
        let project = ctx.load(config)?;
        let target = default_target(&project, &args.target);
        let apply = Apply::new(&project, &args.apply)?;
        return offline(ctx, &project, Kind::Upgrade, &target, apply);
    };
    // The remembered no-op: with the directory as it was, a database whose log vouches for the
    // state the target expects has nothing to do, and no file needs reading.
    let typed = args.target.clone().unwrap_or_default();
    let fingerprint = (remembers(&args, &config) && memo::keepable(&config.migrations_dir))
        .then(|| migrate_core::fingerprint(&config.migrations_dir))
        .flatten();
    if let Some(fingerprint) = &fingerprint
        && let Some(memo) = memo::recall(&config.migrations_dir, &typed, fingerprint)
        && early.last().is_some_and(|last| last.vouches_for(&memo.digest))
    {
        early.close();
        ctx.out.verbose(
            "the migrations are as they were when last read, and the database is at their target: no file read",
        );
        for w in &memo.warnings {
            ctx.out.warn(w.clone());
        }
        let report = Report { current: memo.current.iter().map(|(id, _)| id.clone()).collect(), ..Report::default() };
        return Ok(nothing_to_do(ctx, &report, &memo.current));
    }
    let (project, warnings) = ctx.load_warning(config)?;
    let target = default_target(&project, &args.target);
    let apply = Apply::new(&project, &args.apply)?;
    let seed = fingerprint.map(|fingerprint| memo::Memo {
        fingerprint,
        target: typed,
        digest: String::new(),
        current: Vec::new(),
        warnings,
    });
    online(ctx, &project, early, Kind::Upgrade, &target, apply, seed)
}

/// `upgrade`'s target when none is given: `head`, or `heads` with declared branches (or no
/// revision yet, when there is nothing to do).
fn default_target(project: &Project, given: &Option<String>) -> String {
    given.clone().unwrap_or_else(|| match project.config.head_policy() {
        migrate_core::HeadPolicy::Single if !project.graph.is_empty() => "head".to_owned(),
        _ => "heads".to_owned(),
    })
}

/// Whether this upgrade may use, and keeps, the remembered no-op: files on disk (not an app's
/// embedded migrations), a target that names a state (not `+N`), and nothing asked that reads
/// the migrations for another reason.
fn remembers(args: &UpgradeArgs, config: &crate::config::Config) -> bool {
    let relative = args
        .target
        .as_deref()
        .is_some_and(|t| matches!(t.parse::<Target>(), Ok(Target::Relative(_) | Target::LabelRelative(..)) | Err(_)));
    !config.embedded && !relative && args.apply.accept_changed.is_empty() && !args.apply.all_or_nothing
}

/// Runs `downgrade`.
pub(crate) fn downgrade(args: DowngradeArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    if let Some(urls) = fleet::urls(ctx)? {
        refuse_sql_for_fleet(args.run.sql)?;
        return fleet::exec(
            ctx,
            urls,
            fleet::Kind::Downgrade(args.target.clone(), args.apply.clone()),
            args.run.json.json,
        );
    }
    let (project, early) = load(ctx, args.run.sql, db::Start::Write)?;
    let apply = Apply::new(&project, &args.apply)?;
    match early {
        None => offline(ctx, &project, Kind::Downgrade, &args.target, apply),
        Some(early) => online(ctx, &project, early, Kind::Downgrade, &args.target, apply, None),
    }
}

/// Runs `stamp`.
pub(crate) fn stamp(args: StampArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let (project, early) = load(ctx, args.run.sql, db::Start::Write)?;
    let kind = Kind::Stamp { purge: args.purge };
    match early {
        None => offline(ctx, &project, kind, &args.target, Apply::default()),
        Some(early) => online(ctx, &project, early, kind, &args.target, Apply::default(), None),
    }
}

/// What a run is asked to do besides its target.
#[derive(Debug, Default)]
struct Apply {
    all_or_nothing: bool,
    /// Full ids of the revisions given to `--accept-changed`.
    accept: Vec<String>,
    /// `--backup`, else `backup` in the metadata (relative to the package).
    backup: Option<PathBuf>,
}

impl Apply {
    fn new(project: &Project, opts: &ApplyOpts) -> Result<Self, CliError> {
        let backup = backup_dir(project, opts);
        Ok(Self { all_or_nothing: opts.all_or_nothing, accept: accepted(project, &opts.accept_changed)?, backup })
    }
}

/// Where backups go: `--backup`, else `backup` in the metadata (relative to the package).
pub(crate) fn backup_dir(project: &Project, opts: &ApplyOpts) -> Option<PathBuf> {
    let config = &project.config;
    opts.backup
        .as_ref()
        .map(|d| config.cwd.join(d))
        .or_else(|| config.metadata.backup.as_ref().map(|d| config.package.dir.join(d)))
}

/// Full ids of the revisions given to `--accept-changed`.
pub(crate) fn accepted(project: &Project, given: &[String]) -> Result<Vec<String>, CliError> {
    let mut out = Vec::new();
    for g in given {
        match resolve_revision(&project.graph, g)? {
            Some(i) => out.push(project.graph.migration(i).revision.clone()),
            None => {
                return Err(CliError::Usage {
                    message: "`--accept-changed base` names no revision".to_owned(),
                    help: "name the edited revision".to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// Runs against the database; with `memo` (its fingerprint, target and warnings filled in),
/// keeps what the target expects once the run has succeeded.
fn online(
    ctx: &mut Ctx<'_>,
    project: &Project,
    early: db::Early,
    kind: Kind,
    target_text: &str,
    apply: Apply,
    memo: Option<memo::Memo>,
) -> Result<ExitCode, CliError> {
    let Apply { all_or_nothing, accept, backup } = apply;
    if target_text.contains(':') {
        return Err(CliError::Usage {
            message: format!("`{target_text}` is a range, which only offline mode takes"),
            help: "add `--sql` to print the script for that range, or give a single target".to_owned(),
        });
    }
    let target = parse_target(target_text)?;
    let progress = Progress::new(ctx);
    let mut options = db::options(&project.config);
    options.all_or_nothing = all_or_nothing;
    options.accept_changed = accept.clone();
    let options = progress.hook(options);
    let (session, last) = early.session(project, options)?;
    let mut migrator = session.migrator.clone().with_cancel(db::cancel_on_signals(&session));
    if let Some(dir) = backup {
        migrator = migrator.with_backup(Backup::new(dir, project.config.database.url.clone()));
    }
    let result = session.block_on(async {
        match (kind, last) {
            (Kind::Upgrade, Some(last)) => migrator.upgrade_after(&session.db, &target, last).await,
            (Kind::Upgrade, None) => migrator.upgrade(&session.db, &target).await,
            (Kind::Downgrade, _) => migrator.downgrade(&session.db, &target).await,
            (Kind::Stamp { purge }, _) => migrator.stamp(&session.db, &target, purge).await,
        }
    });
    progress.finish();
    session.close();
    if let (Ok(_), Some(mut memo)) = (&result, memo)
        && let Ok((digest, current)) = migrator.expected_state(&target)
    {
        memo.digest = digest;
        memo.current = heads_tagged(&project.graph, &current);
        memo::remember(&project.config.migrations_dir, &memo);
    }
    let json = ctx.json;
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let partial = e.partial().cloned();
            let error = db::error(e, &project.config);
            // What completed before the failure is recorded: say so, before the error.
            return Err(match partial {
                Some(p) if json => CliError::Stopped { error: Box::new(error), applied: report_json(&p) },
                Some(p) => {
                    say_accepted(ctx, &p, &accept);
                    if p.steps.is_empty() {
                        backed_up(ctx, project, &p);
                    } else {
                        summary(ctx, project, kind, &p, true);
                    }
                    error
                }
                None => error,
            });
        }
    };
    if !json {
        say_accepted(ctx, &report, &accept);
    }
    if report.steps.is_empty() {
        return Ok(nothing_to_do(ctx, &report, &heads_tagged(&project.graph, &report.current)));
    }
    if json {
        ctx.out.json(&success_json(&report));
        return Ok(ExitCode::SUCCESS);
    }
    summary(ctx, project, kind, &report, false);
    Ok(ExitCode::SUCCESS)
}

/// Says which edited files the run accepted (as its report says, whatever became of its steps),
/// and which of those `asked` for were as recorded, with nothing to accept.
fn say_accepted(ctx: &mut Ctx<'_>, report: &Report, asked: &[String]) {
    for a in &report.accepted {
        ctx.out.status(format!("accepted the edited file of {a} (its new checksum is recorded)"));
    }
    for a in asked.iter().filter(|a| !report.accepted.contains(a)) {
        ctx.out.status(format!("{a} is as recorded: nothing to accept"));
    }
}

/// Says a run had nothing to do (`current` tagged with whether each is a head), as text or JSON.
fn nothing_to_do(ctx: &mut Ctx<'_>, report: &Report, current: &[(String, bool)]) -> ExitCode {
    if ctx.json {
        ctx.out.json(&success_json(report));
    } else {
        let at = at_tagged(ctx, current);
        ctx.out.info(format!("Nothing to do: the database is at {at}."));
    }
    ExitCode::SUCCESS
}

/// A finished run's JSON answer: its report and `ok`.
fn success_json(report: &Report) -> serde_json::Value {
    let mut v = report_json(report);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("ok".to_owned(), serde_json::json!(true));
    }
    v
}

/// A run's report as JSON: each step (revision, direction, milliseconds), the current revisions,
/// the backup and the edited files whose new checksums it recorded.
fn report_json(report: &Report) -> serde_json::Value {
    let steps: Vec<_> = report
        .steps
        .iter()
        .map(|s| {
            serde_json::json!({
                "revision": s.revision,
                "direction": if s.direction == Direction::Up { "up" } else { "down" },
                "duration_ms": s.duration.as_secs_f64() * 1e3,
            })
        })
        .collect();
    serde_json::json!({
        "steps": steps,
        "current": report.current,
        "backup": report.backup,
        "accepted_changed": report.accepted,
    })
}

/// Says where the run's backup went, when it wrote one.
fn backed_up(ctx: &mut Ctx<'_>, project: &Project, report: &Report) {
    if let Some(path) = &report.backup {
        ctx.out.info(format!("Backed up to {} first.", project.config.show(path)));
    }
}

/// What ran, how long each step took, and where the database is now (as the run itself read
/// it under its lock and kept it up to date: never a state that was not read). `stopped` says
/// the run failed after these steps.
fn summary(ctx: &mut Ctx<'_>, project: &Project, kind: Kind, report: &Report, stopped: bool) {
    let graph = &project.graph;
    let at = at(ctx, graph, &report.current);
    if report.steps.is_empty() {
        ctx.out.info(format!("Nothing to do: the database is at {at}."));
        return;
    }
    backed_up(ctx, project, report);
    let total: Duration = report.steps.iter().map(|s| s.duration).sum();
    let n = report.steps.len();
    let what = match kind {
        Kind::Upgrade => "Upgraded",
        Kind::Downgrade => "Downgraded",
        Kind::Stamp { .. } => "Stamped",
    };
    let before = if stopped { " before the failure" } else { "" };
    ctx.out.info(format!("{what} {n} revision{}{before} in {}:", if n == 1 { "" } else { "s" }, human(total)));
    let width = report.steps.iter().map(|s| s.revision.len()).max().unwrap_or(0);
    for step in &report.steps {
        let arrow = match step.direction {
            Direction::Up => ctx.out.paint(Paint::Good, "↑"),
            Direction::Down => ctx.out.paint(Paint::Warn, "↓"),
        };
        let message = graph.find(&step.revision).map(|m| m.message.as_str()).unwrap_or("");
        let pad = " ".repeat(width.saturating_sub(step.revision.len()));
        let duration =
            if matches!(kind, Kind::Stamp { .. }) { String::new() } else { format!("  {:>7}", human(step.duration)) };
        ctx.out.info(format!("  {arrow} {}{pad}{duration}  {message}", ctx.out.paint(Paint::Rev, &step.revision)));
    }
    ctx.out.info(format!("Now at {at}."));
}

/// Where the database is, as the summary says it: its current revisions, tagged `(head)`.
fn at(ctx: &Ctx<'_>, graph: &migrate_core::RevisionGraph, current: &[String]) -> String {
    at_tagged(ctx, &heads_tagged(graph, current))
}

/// Each of `current` with whether it is a head of `graph`.
fn heads_tagged(graph: &migrate_core::RevisionGraph, current: &[String]) -> Vec<(String, bool)> {
    current.iter().map(|c| (c.clone(), graph.index_of(c).is_some_and(|i| graph.children(i).is_empty()))).collect()
}

/// [`at`] for revisions already tagged with whether each is a head.
fn at_tagged(ctx: &Ctx<'_>, current: &[(String, bool)]) -> String {
    if current.is_empty() {
        return "base (nothing applied)".to_owned();
    }
    current
        .iter()
        .map(|(c, head)| format!("{}{}", ctx.out.paint(Paint::Rev, c), if *head { " (head)" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn offline(
    ctx: &mut Ctx<'_>,
    project: &Project,
    kind: Kind,
    target_text: &str,
    apply: Apply,
) -> Result<ExitCode, CliError> {
    let Apply { all_or_nothing, accept, .. } = apply;
    let url = &project.config.database.url;
    let dialect = Dialect::from_url(url).ok_or_else(|| CliError::Usage {
        message: format!("`{}` does not name a database this tool knows", project.config.database.redacted()),
        help: "offline SQL is written for the URL's dialect: use sqlite:, postgres:// or mysql:// (nothing connects)"
            .to_owned(),
    })?;
    if !accept.is_empty() {
        return Err(CliError::Usage {
            message: "--accept-changed needs the database's recorded checksums, so it does not work with --sql"
                .to_owned(),
            help: "run it online, or restore the edited file".to_owned(),
        });
    }
    if kind == Kind::Downgrade && !target_text.contains(':') {
        return Err(CliError::Usage {
            message: format!(
                "`downgrade {target_text} --sql` needs to know where the database is, and --sql connects to nothing"
            ),
            help: format!("name where it starts, as a range: `cargo migrate downgrade head:{target_text} --sql`"),
        });
    }
    let graph = &project.graph;
    // A single target is the range from base (nothing applied) to it.
    let range: Range = if target_text.contains(':') {
        target_text
            .parse()
            .map_err(|e: migrate_core::TargetParseError| CliError::Target { message: e.to_string(), help: None })?
    } else {
        Range { from: None, to: Some(parse_target(target_text)?) }
    };
    let plan: Plan = match kind {
        Kind::Upgrade => graph.plan_range(&range, Direction::Up),
        Kind::Downgrade => graph.plan_range(&range, Direction::Down),
        Kind::Stamp { .. } => {
            let from = match &range.from {
                Some(from) => graph.applied_at(from),
                None => Ok(Applied::default()),
            };
            from.and_then(|applied| graph.plan_stamp(&applied, range.to.as_ref().unwrap_or(&Target::Heads)))
        }
    }
    .map_err(plan_error)?;
    // Refused exactly as an online run would refuse it.
    if all_or_nothing
        && !matches!(kind, Kind::Stamp { .. })
        && let Some(reason) = all_or_nothing_refusal(graph, &plan, dialect)
    {
        return Err(db::error(migrate_core::Error::AllOrNothingRefused { reason }, &project.config));
    }
    let mut options = db::options(&project.config);
    options.all_or_nothing = all_or_nothing;
    ctx.out.verbose(format!("offline {} script: {} step(s)", dialect.name(), plan.steps.len()));
    let text = match kind {
        Kind::Stamp { purge } => stamp_script(graph, &plan, dialect, &options, purge),
        _ => script(graph, &plan, dialect, &options),
    };
    ctx.out.script(text.trim_end());
    Ok(ExitCode::SUCCESS)
}

/// `--sql` prints one script, for one database.
fn refuse_sql_for_fleet(sql: bool) -> Result<(), CliError> {
    if sql {
        return Err(CliError::Usage {
            message: "--sql prints one script and connects to no database, so it takes no list of databases".to_owned(),
            help: "drop the extra --database-url / --database-urls, or run without --sql".to_owned(),
        });
    }
    Ok(())
}
