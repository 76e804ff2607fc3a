//! `cargo migrate status`: applied, pending, changed and missing revisions, a dirty one, and
//! drift (the schema held against what the applied revisions produce).

use std::process::ExitCode;

use serde_json::json;

use crate::cli::JsonOnly;
use crate::commands::schema::Bench;
use crate::commands::{Ctx, db, text};
use crate::error::CliError;
use crate::output::Paint;

/// Runs `status`.
pub(crate) fn exec(args: JsonOnly, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let session = db::connect(ctx, &project, db::options(&project.config))?;
    let result = session.block_on(async {
        let status = session.migrator.status(&session.db).await?;
        let history = session.migrator.history(&session.db).await?;
        Ok::<_, migrate_core::Error>((status, history))
    });
    let dialect = session.db.dialect();
    let (status, history) = match result {
        Ok(r) => r,
        Err(e) => {
            session.close();
            return Err(db::error(e, &project.config));
        }
    };
    // Drift, when the applied revisions are all known and none is dirty.
    let drift = if status.dirty.is_none() && status.missing.is_empty() {
        let bench = Bench::open(ctx, &project)?;
        let drift = bench.drift(&project, &session.db);
        bench.close();
        Some(drift?.changes.differences())
    } else {
        None
    };
    session.close();
    let graph = &*project.graph_for(&status)?;
    let row = |id: &str| history.iter().find(|h| h.revision == id);
    if args.json.json {
        let applied: Vec<_> = status
            .applied
            .iter()
            .map(|id| {
                let h = row(id);
                json!({
                    "revision": id,
                    "applied_at": h.map(|h| h.applied_at.clone()),
                    "applied_by": h.map(|h| h.applied_by.clone()),
                    "duration_ms": h.and_then(|h| h.duration).map(|d| d.as_millis() as u64),
                })
            })
            .collect();
        let changed: Vec<_> = status
            .changed
            .iter()
            .map(|c| json!({ "revision": c.revision, "path": c.path, "recorded": c.recorded, "current": c.current }))
            .collect();
        ctx.out.json(&json!({
            "database": project.config.database.redacted(),
            "dialect": dialect.name(),
            "current": status.current,
            "applied": applied,
            "pending": status.pending,
            "changed": changed,
            "missing": status.missing,
            "partway": status.partway,
            "dirty": status.dirty.as_ref().map(|d| json!({ "revision": d.revision, "message": d.to_string() })),
            "drift": drift,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let out = &mut *ctx.out;
    out.line(format!("Database: {} ({})", project.config.database.redacted(), dialect.name()));
    let current: Vec<String> = status.current.iter().map(|c| out.paint(Paint::Rev, c)).collect();
    out.line(format!("Current: {}", if current.is_empty() { "base".to_owned() } else { current.join(", ") }));
    for squash in &status.partway {
        out.line(format!(
            "Partway through the revisions squashed into {}: an upgrade finishes them from their files, then records {} in their place.",
            out.paint(Paint::Rev, squash),
            squash
        ));
    }
    out.line(format!("Applied ({}):", status.applied.len()));
    for id in &status.applied {
        let when = row(id).map(|h| format!("  {} by {}", h.applied_at, h.applied_by)).unwrap_or_default();
        let message = graph.get(id).map(|m| m.message.as_str()).unwrap_or_default();
        out.line(format!("  {} {}{when}  {message}", out.paint(Paint::Good, "✓"), out.paint(Paint::Rev, id)));
    }
    out.line(format!("Pending ({}):", status.pending.len()));
    for id in &status.pending {
        match graph.index_of(id) {
            Some(i) => out.line(format!("  • {}", text::short_line(out, graph, i, None))),
            None => out.line(format!("  • {id}")),
        }
    }
    if !status.changed.is_empty() {
        out.line(format!("Changed since applied ({}):", status.changed.len()));
        for c in &status.changed {
            out.line(format!("  {} {} ({})", out.paint(Paint::Bad, "!"), out.paint(Paint::Rev, &c.revision), c.path));
        }
    }
    if !status.missing.is_empty() {
        out.line(format!("Applied but missing a file ({}):", status.missing.len()));
        for m in &status.missing {
            out.line(format!("  {} {}", out.paint(Paint::Bad, "?"), out.paint(Paint::Rev, m)));
        }
    }
    match &drift {
        Some(list) if list.is_empty() => {
            out.line(format!("Schema: {} as its revisions make it", out.paint(Paint::Good, "✓")))
        }
        Some(list) => {
            out.line(format!(
                "{} ({}): the schema is not what its revisions make it",
                out.paint(Paint::Bad, "Drift"),
                list.len()
            ));
            for d in list {
                out.line(format!("  {} {d}", out.paint(Paint::Bad, "≠")));
            }
        }
        None => {}
    }
    if let Some(d) = &status.dirty {
        out.line(format!("{} {d}", out.paint(Paint::Bad, "Dirty:")));
        out.line(format!(
            "  run `cargo migrate resolve {} --applied` or `--unapplied` once you have fixed it by hand",
            d.revision
        ));
    }
    Ok(ExitCode::SUCCESS)
}
