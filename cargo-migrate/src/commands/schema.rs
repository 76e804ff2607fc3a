//! What the schema commands (`diff`, `dump`, `new --autogenerate`, and the schema parts of
//! `check` and `status`) share: the server scratch databases go on, the schema the migrations
//! produce, the desired schema file, and dropping every scratch database on Ctrl-C.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use migrate_core::schema::{Changes, Schema};
use migrate_core::{Db, Drift, Migrator, drop_scratch_databases};

use crate::commands::{Ctx, db};
use crate::error::{CliError, code};
use crate::project::Project;

/// Set when Ctrl-C or SIGTERM arrived: the process is about to end with exit 130.
static CANCELLED: AtomicBool = AtomicBool::new(false);

/// A runtime, the server scratch databases go on, and a migrator that builds on it.
pub(crate) struct Bench {
    runtime: tokio::runtime::Runtime,
    /// Where scratch databases go.
    pub(crate) server: Db,
    /// The migrator, its scratch builds on `server`.
    pub(crate) migrator: Migrator,
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
        // Scratch SQLite databases run one statement after another, as an upgrade does.
        db::Colocate::for_url(&url).here();
        // Ctrl-C or SIGTERM drops every scratch database before the process ends.
        runtime.spawn(async {
            db::signalled().await;
            CANCELLED.store(true, Ordering::SeqCst);
            drop_scratch_databases().await;
            eprintln!("cancelled; scratch databases dropped");
            std::process::exit(i32::from(code::CANCELLED));
        });
        let migrator = Migrator::new(project.graph.clone())
            .with_options(db::options(config))
            .with_head_policy(config.head_policy())
            .with_dev_database(server.clone());
        Ok(Self { runtime, server, migrator })
    }

    /// Runs an async call to completion. After Ctrl-C it never returns: the signal task drops
    /// the scratch databases (which fails the call) and ends the process with exit 130.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        let out = self.runtime.block_on(f);
        if CANCELLED.load(Ordering::SeqCst) {
            self.runtime.block_on(std::future::pending::<()>());
        }
        out
    }

    /// The schema the migrations produce at their head(s).
    pub(crate) fn head(&self, project: &Project) -> Result<Schema, CliError> {
        self.block_on(self.migrator.head_schema(&self.server)).map_err(|e| db::error(e, &project.config))
    }

    /// The schema file's path and text, or a usage error saying how to start one.
    fn schema_file(&self, project: &Project) -> Result<(PathBuf, String), CliError> {
        let path = project.config.schema_file().ok_or_else(|| CliError::Usage {
            message: "there is no schema file to compare with".to_owned(),
            help: "write the schema you want as DDL in schema.sql beside Cargo.toml (or name the file with `schema_file` in [package.metadata.migrate]); `cargo migrate dump > schema.sql` starts one from the migrations".to_owned(),
        })?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Io { path: project.config.show(&path), message: e.to_string() })?;
        Ok((path, text))
    }

    /// The changes from the migrations' head to the schema file, and the way back.
    pub(crate) fn autogenerate(&self, project: &Project) -> Result<(PathBuf, Changes, Changes), CliError> {
        let (path, text) = self.schema_file(project)?;
        let shown = project.config.show(&path);
        let (up, down) = self
            .block_on(self.migrator.autogenerate(&self.server, &text, &shown))
            .map_err(|e| db::error(e, &project.config))?;
        Ok((path, up, down))
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
