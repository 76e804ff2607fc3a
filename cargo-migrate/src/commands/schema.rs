//! What the schema commands (`diff`, `dump`, `new --autogenerate`, and the schema parts of
//! `check` and `status`) share: the server scratch databases go on, the schema the migrations
//! produce, the desired schema file, and dropping every scratch database on Ctrl-C.

use std::path::PathBuf;

use migrate_core::schema::{Changes, Schema, diff};
use migrate_core::{Db, Drift, Migrator, Options, drop_scratch_databases, schema_of_script};

use crate::commands::{Ctx, db};
use crate::error::{CliError, code};
use crate::project::Project;

/// A runtime, the server scratch databases go on, and a migrator that builds on it.
pub(crate) struct Bench {
    runtime: tokio::runtime::Runtime,
    /// Where scratch databases go.
    pub(crate) server: Db,
    /// The migrator, its scratch builds on `server`.
    pub(crate) migrator: Migrator,
    options: Options,
}

impl Bench {
    /// Connects to the scratch server: `--dev-url`, else `dev_url` in the metadata, else the
    /// database's own server (in memory for SQLite).
    pub(crate) fn open(ctx: &mut Ctx<'_>, project: &Project) -> Result<Self, CliError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| CliError::Io { path: "tokio runtime".to_owned(), message: e.to_string() })?;
        let config = &project.config;
        let dev = ctx.global.dev_url.clone().or_else(|| config.metadata.dev_url.clone());
        let url = match (&dev, migrate_core::sql::Dialect::from_url(&config.database.url)) {
            (Some(dev), _) => dev.clone(),
            (None, Some(migrate_core::sql::Dialect::Sqlite)) => "sqlite::memory:".to_owned(),
            (None, _) => config.database.url.clone(),
        };
        ctx.out.verbose(format!("scratch databases on {}", migrate_core::redact_url(&url)));
        let server = runtime.block_on(Db::connect_existing(&url)).map_err(|e| db::error(e, config))?;
        // Ctrl-C or SIGTERM drops every scratch database before the process ends.
        runtime.spawn(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut term) = signal(SignalKind::terminate()) else { return };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
            drop_scratch_databases().await;
            eprintln!("cancelled; scratch databases dropped");
            std::process::exit(i32::from(code::CANCELLED));
        });
        let options = db::options(config);
        let migrator = Migrator::new(project.graph.clone())
            .with_options(options.clone())
            .with_head_policy(config.head_policy())
            .with_dev_database(server.clone());
        Ok(Self { runtime, server, migrator, options })
    }

    /// Runs an async call to completion.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// The schema the migrations produce at their head(s).
    pub(crate) fn head(&self, project: &Project) -> Result<Schema, CliError> {
        self.block_on(self.migrator.head_schema(&self.server)).map_err(|e| db::error(e, &project.config))
    }

    /// The schema the schema file describes, or `None` when there is no schema file.
    pub(crate) fn desired(&self, project: &Project) -> Result<Option<(PathBuf, Schema)>, CliError> {
        let Some(path) = project.config.schema_file() else { return Ok(None) };
        let shown = project.config.show(&path);
        let text =
            std::fs::read_to_string(&path).map_err(|e| CliError::Io { path: shown.clone(), message: e.to_string() })?;
        let schema = self
            .block_on(schema_of_script(&self.server, &text, &shown, &self.options))
            .map_err(|e| db::error(e, &project.config))?;
        Ok(Some((path, schema)))
    }

    /// The schema file's schema, or a configuration error saying how to make one.
    pub(crate) fn require_desired(&self, project: &Project) -> Result<(PathBuf, Schema), CliError> {
        self.desired(project)?.ok_or_else(|| CliError::Usage {
            message: "there is no schema file to compare with".to_owned(),
            help: "write the schema you want as DDL in schema.sql beside Cargo.toml (or name the file with `schema_file` in [package.metadata.migrate]); `cargo migrate dump > schema.sql` starts one from the migrations".to_owned(),
        })
    }

    /// The changes from the migrations' head to the schema file, and the way back.
    pub(crate) fn autogenerate(&self, project: &Project) -> Result<(PathBuf, Changes, Changes), CliError> {
        let (path, desired) = self.require_desired(project)?;
        let head = self.head(project)?;
        Ok((path, diff(&head, &desired), diff(&desired, &head)))
    }

    /// Drift of `database`.
    pub(crate) fn drift(&self, project: &Project, database: &Db) -> Result<Drift, CliError> {
        self.block_on(self.migrator.drift(database)).map_err(|e| db::error(e, &project.config))
    }

    /// Closes the scratch server's connections.
    pub(crate) fn close(self) {
        self.runtime.block_on(self.server.close());
    }
}

/// Differences as an indented list, for messages.
pub(crate) fn listed(differences: &[String]) -> String {
    differences.iter().map(|d| format!("\n  - {d}")).collect()
}
