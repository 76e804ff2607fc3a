//! Loading the package's migrations through migrate-core's one loader, and resolving the
//! revision arguments people type (`head`, ids, prefixes, `<label>@head`) against the graph.

use std::sync::Arc;

use migrate_core::{Applied, PlanError, ProblemKind, RevisionGraph, SourceFile, Target};

use crate::config::Config;
use crate::error::{CliError, broken_chain};

/// The package's configuration and its validated revision graph.
pub(crate) struct Project {
    /// The configuration.
    pub(crate) config: Config,
    /// The revision graph.
    pub(crate) graph: Arc<RevisionGraph>,
    /// The files read, for quoting them in messages.
    pub(crate) files: Vec<SourceFile>,
}

impl Project {
    /// Reads and validates the migrations directory (heads are not checked here), with the
    /// files there that are not migrations (see [`migrate_core::Listing::skipped`]).
    pub(crate) fn load(config: Config) -> Result<(Self, Vec<String>), CliError> {
        let migrate_core::Loaded { listing: migrate_core::Listing { files, skipped }, graph } = read_files(&config)?;
        let graph = graph.map_err(|problems| broken_chain(&config.migrations_display, problems, &files))?.into();
        Ok((Self { config, graph, files }, skipped))
    }

    /// Checks the heads against the declared branches (or a single head), as the macro does.
    pub(crate) fn check_heads(&self) -> Result<(), CliError> {
        self.graph
            .check_heads(&self.config.head_policy())
            .map_err(|problems| broken_chain(&self.config.migrations_display, problems, &self.files))
    }

    /// The graph a database's status names its revisions in: this one, or expanded back to the
    /// replaced files of the squashes the database is partway through.
    pub(crate) fn graph_for(
        &self,
        status: &migrate_core::Status,
    ) -> Result<std::borrow::Cow<'_, RevisionGraph>, CliError> {
        if status.partway.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(&self.graph));
        }
        let expanded = self
            .graph
            .expand(&status.partway)
            .map_err(|problems| broken_chain(&self.config.migrations_display, problems, &self.files))?;
        Ok(std::borrow::Cow::Owned(expanded))
    }

    /// The file of revision `i` on disk.
    pub(crate) fn file_of(&self, i: usize) -> std::path::PathBuf {
        self.path_of(&self.graph.migration(i).path)
    }

    /// The file on disk shown to people as `shown` (a revision's `path`, also a replaced one's).
    pub(crate) fn path_of(&self, shown: &str) -> std::path::PathBuf {
        self.files
            .iter()
            .find(|f| f.display == shown)
            .map(|f| f.path.clone())
            .unwrap_or_else(|| std::path::PathBuf::from(shown))
    }
}

/// Reads and parses every migration file, turning a missing directory into a clear configuration
/// error.
fn read_files(config: &Config) -> Result<migrate_core::Loaded, CliError> {
    if !config.migrations_dir.is_dir() {
        return Err(CliError::MissingDirectory { path: config.migrations_display.clone() });
    }
    migrate_core::load_listing(&config.migrations_dir, &config.migrations_display).map_err(|p| match p.kind {
        ProblemKind::MissingDirectory { .. } => CliError::MissingDirectory { path: config.migrations_display.clone() },
        _ => broken_chain(&config.migrations_display, p.into(), &[]),
    })
}

/// Parses a target as typed, with the target error as a CLI error.
pub(crate) fn parse_target(text: &str) -> Result<Target, CliError> {
    text.parse::<Target>().map_err(|e| CliError::Target { message: e.to_string(), help: None })
}

/// A planner error as a CLI error.
pub(crate) fn plan_error(e: PlanError) -> CliError {
    if let PlanError::Range { range, problem, suggestion } = e {
        return CliError::Usage { message: format!("`{range}` {problem}"), help: suggestion };
    }
    // Each message already says what to type instead; the help adds what the message does not.
    let help = match &e {
        PlanError::PrefixTooShort { .. } => Some("type at least 4 characters of the id, or the whole id".to_owned()),
        PlanError::UnknownLabel { .. } => Some("`cargo migrate branches` lists the branch labels".to_owned()),
        PlanError::NotApplied { .. } => Some("`cargo migrate current` shows what is applied".to_owned()),
        PlanError::NotEnough { available: 0, .. } => {
            Some("`cargo migrate current` shows where the database is".to_owned())
        }
        PlanError::NotEnough { target, available, .. } => {
            let at_most = format!("{}{available}", target.trim_end_matches(|c: char| c.is_ascii_digit()));
            Some(format!("`{at_most}` goes as far as there is"))
        }
        PlanError::Irreversible { .. } => {
            Some("downgrade to a later revision, or `cargo migrate stamp` past it if you undid it by hand".to_owned())
        }
        _ => None,
    };
    CliError::Target { message: e.to_string(), help }
}

/// Resolves one revision argument to an index; `Ok(None)` means `base` (before every revision).
///
/// Accepts ids, unique prefixes, `head`, `<label>@head`, `<label>@base` and `<rev>±N`.
pub(crate) fn resolve_revision(graph: &RevisionGraph, text: &str) -> Result<Option<usize>, CliError> {
    let target = parse_target(text)?;
    match &target {
        Target::Base => Ok(None),
        Target::Revision(id) => graph.resolve(id).map(Some).map_err(plan_error),
        Target::Relative(_) | Target::LabelRelative(..) => Err(CliError::Target {
            message: format!("`{text}` is relative to the database's current revision, which is not known here"),
            help: Some("name a revision, `head`, or `<label>@head`".to_owned()),
        }),
        Target::Heads => {
            let heads = graph.heads();
            match heads.as_slice() {
                [one] => Ok(graph.index_of(&one.revision)),
                _ => Err(plan_error(PlanError::MultipleHeads {
                    target: text.to_owned(),
                    heads: heads.iter().map(|m| m.revision.clone()).collect(),
                })),
            }
        }
        _ => {
            // The destination of an upgrade from nothing is the last step of its plan: every
            // other step is one of its ancestors.
            let plan = graph.plan_upgrade(&Applied::default(), &target).map_err(plan_error)?;
            Ok(plan.steps.last().map(|s| s.index))
        }
    }
}
