//! `cargo migrate edit <rev>`: opens the revision's file in `$EDITOR` (or `$VISUAL`).

use std::process::ExitCode;

use crate::cli::EditArgs;
use crate::commands::Ctx;
use crate::error::CliError;
use crate::project::resolve_revision;

/// Runs `edit`.
pub(crate) fn exec(args: EditArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let Some(i) = resolve_revision(&project.graph, &args.rev)? else {
        return Err(CliError::Target {
            message: "`base` is not a revision".to_owned(),
            help: Some("`cargo migrate history` lists the revisions".to_owned()),
        });
    };
    let path = project.file_of(i);
    let shown = project.config.show(&path);
    let editor = ["EDITOR", "VISUAL"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .ok_or_else(|| CliError::NoEditor { path: shown.clone() })?;
    let mut words = editor.split_whitespace();
    let program = words.next().unwrap_or_default();
    ctx.out.verbose(format!("running {editor} {shown}"));
    let status = std::process::Command::new(program)
        .args(words)
        .arg(&path)
        .status()
        .map_err(|e| CliError::Editor { editor: editor.clone(), message: e.to_string() })?;
    if !status.success() {
        return Err(CliError::Editor { editor, message: status.to_string() });
    }
    Ok(ExitCode::SUCCESS)
}
