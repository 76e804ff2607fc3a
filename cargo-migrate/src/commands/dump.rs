//! `cargo migrate dump`: a schema as DDL — the one the migrations produce (built in a scratch
//! database), or with `--database` the live database's — to review in pull requests, or to
//! start a schema.sql or a baseline revision from an existing database.

use std::process::ExitCode;

use crate::cli::DumpArgs;
use crate::commands::schema::Bench;
use crate::commands::{Ctx, db};
use crate::error::CliError;

/// Runs `dump`.
pub(crate) fn exec(args: DumpArgs, ctx: &mut Ctx<'_>) -> Result<ExitCode, CliError> {
    let project = ctx.project()?;
    let schema = if args.database {
        let session = db::connect(ctx, &project, db::options(&project.config))?;
        let schema = session.block_on(session.db.schema(session.migrator.options()));
        session.close();
        schema.map_err(|e| db::error(e, &project.config))?
    } else {
        let bench = Bench::open(ctx, &project)?;
        let schema = bench.head(&project);
        bench.close();
        schema?
    };
    let text = schema.to_sql().iter().map(|s| format!("{s};\n")).collect::<Vec<_>>().join("\n");
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| CliError::Io { path: path.display().to_string(), message: e.to_string() })?;
            ctx.out.status(format!(
                "wrote {} table(s) and {} view(s) to {}",
                schema.tables.len(),
                schema.views.len(),
                path.display()
            ));
        }
        None => ctx.out.script(text.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
