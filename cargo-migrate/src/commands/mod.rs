//! One module per command, each with an `exec` that returns the exit code or an expected
//! failure; [`dispatch`] runs one and renders its error.

mod branches;
mod check;
mod completions;
mod current;
mod db;
mod diff;
mod dump;
mod edit;
mod fleet;
mod heads;
mod history;
mod init;
mod lint;
mod merge;
mod new;
mod rebase;
mod resolve;
mod run;
mod schema;
mod show;
mod squash;
mod status;
mod test;
mod text;

use std::process::ExitCode;

use crate::cli::{Command, GlobalOpts, MigrateCli};
use crate::config::Config;
use crate::error::{self, CliError};
use crate::output::Output;
use crate::project::Project;

/// What every command gets: the output streams and the global options.
pub(crate) struct Ctx<'o> {
    /// Where to write.
    pub(crate) out: &'o mut Output,
    /// The global options.
    pub(crate) global: GlobalOpts,
    /// Whether the command was asked for JSON.
    pub(crate) json: bool,
    /// The app whose embedded migrations these commands work on (its own migration CLI);
    /// `None` for `cargo migrate`, which reads the files.
    pub(crate) embedded: Option<Embedded>,
}

/// Migrations embedded in an app, for its own migration CLI.
pub(crate) struct Embedded {
    /// The app's name, as its commands are shown.
    pub(crate) program: String,
    /// The validated graph.
    pub(crate) graph: std::sync::Arc<migrate_core::RevisionGraph>,
    /// The branch labels declared to `migrate!()`.
    pub(crate) branches: Vec<String>,
    /// The app's own database URL, used when none is given.
    pub(crate) default_url: Option<String>,
}

impl<'o> Ctx<'o> {
    /// A context writing to `out`.
    pub(crate) fn new(out: &'o mut Output) -> Self {
        Self { out, global: GlobalOpts::default(), json: false, embedded: None }
    }

    /// The validated configuration; its database password is registered for scrubbing and the
    /// sources are reported with `-v`.
    pub(crate) fn config(&mut self) -> Result<Config, CliError> {
        for url in &self.global.database_url {
            for p in migrate_core::url_passwords(url) {
                self.out.add_secret(&p);
            }
        }
        let config = match &self.embedded {
            Some(e) => Config::embedded(&self.global, &e.program, e.branches.clone(), e.default_url.as_deref())?,
            None => Config::load(&self.global)?,
        };
        for p in migrate_core::url_passwords(&config.database.url) {
            self.out.add_secret(&p);
        }
        self.out.verbose(format!("package: {} ({})", config.package.name, config.show(&config.package.manifest_path)));
        self.out.verbose(format!("migrations: {}", config.migrations_display));
        self.out.verbose(format!(
            "database: {} (from {})",
            config.database.redacted(),
            config.database.source.describe(&config.cwd)
        ));
        Ok(config)
    }

    /// The configuration and the validated migrations.
    pub(crate) fn project(&mut self) -> Result<Project, CliError> {
        let config = self.config()?;
        self.load(config)
    }

    /// The validated migrations of `config`, with a warning for each file in the directory that
    /// is skipped because it is not a `.sql` file.
    pub(crate) fn load(&mut self, config: Config) -> Result<Project, CliError> {
        Ok(self.load_warning(config)?.0)
    }

    /// [`load`](Self::load), also returning the warnings it printed.
    pub(crate) fn load_warning(&mut self, config: Config) -> Result<(Project, Vec<String>), CliError> {
        if let Some(e) = &self.embedded {
            return Ok((Project { config, graph: e.graph.clone(), files: Vec::new() }, Vec::new()));
        }
        let (project, skipped) = Project::load(config)?;
        let warnings: Vec<String> = skipped
            .into_iter()
            .map(|stray| format!("{stray} is not a migration (only `.sql` files are read) and is skipped"))
            .chain(project.graph.warnings().iter().map(ToString::to_string))
            .collect();
        for w in &warnings {
            self.out.warn(w.clone());
        }
        Ok((project, warnings))
    }
}

/// Runs the command and renders its error, if any.
pub(crate) fn dispatch(cli: MigrateCli, ctx: &mut Ctx<'_>) -> ExitCode {
    ctx.global = cli.global;
    let json = cli.command.wants_json();
    ctx.json = json;
    let fleet_ok =
        matches!(cli.command, Command::Upgrade(_) | Command::Downgrade(_) | Command::Current(_) | Command::Check(_));
    if !fleet_ok && (ctx.global.database_url.len() > 1 || ctx.global.database_urls.is_some()) {
        let e = CliError::Usage {
            message: "only upgrade, downgrade, current and check run on several databases".to_owned(),
            help: "give this command one --database-url".to_owned(),
        };
        report(ctx.out, &e);
        return e.exit();
    }
    if let Some(e) = &ctx.embedded
        && !cli.command.works_embedded()
    {
        let e = CliError::Usage {
            message: format!(
                "`{}` works on the migration files, which {} does not have",
                cli.command.name(),
                e.program
            ),
            help: "run it with `cargo migrate` in the source tree".to_owned(),
        };
        report(ctx.out, &e);
        return e.exit();
    }
    let result = match cli.command {
        Command::Init(a) => init::exec(a, ctx),
        Command::New(a) => new::exec(a, ctx),
        Command::Upgrade(a) => run::upgrade(a, ctx),
        Command::Downgrade(a) => run::downgrade(a, ctx),
        Command::Stamp(a) => run::stamp(a, ctx),
        Command::Current(a) => current::exec(a, ctx),
        Command::Status(a) => status::exec(a, ctx),
        Command::History(a) => history::exec(a, ctx),
        Command::Heads(a) => heads::exec(a, ctx),
        Command::Branches(a) => branches::exec(a, ctx),
        Command::Show(a) => show::exec(a, ctx),
        Command::Merge(a) => merge::exec(a, ctx),
        Command::Rebase(a) => rebase::exec(a, ctx),
        Command::Squash(a) => squash::exec(a, ctx),
        Command::Check(a) => check::exec(a, ctx),
        Command::Diff(a) => diff::exec(a, ctx),
        Command::Dump(a) => dump::exec(a, ctx),
        Command::Test(a) => test::exec(a, ctx),
        Command::Lint(a) => lint::exec(a, ctx),
        Command::Edit(a) => edit::exec(a, ctx),
        Command::Resolve(a) => resolve::exec(a, ctx),
        Command::Completions(a) => completions::exec(a, ctx),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if json {
                // Scripts read stdout: the error comes there as JSON too.
                ctx.out.json(&e.to_json());
            }
            match &ctx.embedded {
                Some(app) => report_as(ctx.out, &e, &app.program),
                None => report(ctx.out, &e),
            }
            e.exit()
        }
    }
}

/// Writes `e` to stderr for an app's own migration CLI: the commands it suggests are the app's.
fn report_as(out: &mut Output, e: &CliError, program: &str) {
    let text =
        error::render(e, out.err_color, out.err_is_terminal).replace("cargo migrate ", &format!("{program} migrate "));
    out.error_text(&text);
}

/// Writes `e` to stderr as a diagnostic.
pub(crate) fn report(out: &mut Output, e: &CliError) {
    let text = error::render(e, out.err_color, out.err_is_terminal);
    out.error_text(&text);
}
