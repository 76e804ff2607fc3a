//! The expected failures of `cargo migrate`, each with a documented exit code, rendered as
//! diagnostics: what went wrong, where (file and line for migration files), and what to run next.

use std::fmt;
use std::process::ExitCode;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use migrate_core::{Problem, ProblemKind, Problems, SourceFile};

/// The exit codes, documented in `--help` and in the README.
pub(crate) mod code {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// A migration failed, or another database error.
    pub(crate) const FAILURE: u8 = 1;
    /// The command line is invalid.
    pub(crate) const USAGE: u8 = 2;
    /// Configuration: no package, bad `[package.metadata.migrate]`, no migrations directory, no editor.
    pub(crate) const CONFIG: u8 = 3;
    /// Broken chain: a migration file does not parse, or the revision graph is invalid.
    pub(crate) const BROKEN_CHAIN: u8 = 4;
    /// Database behind: revisions are pending (`check`, `current --check-heads`).
    pub(crate) const BEHIND: u8 = 5;
    /// Checksum changed: an applied revision's file was edited.
    pub(crate) const CHECKSUM_CHANGED: u8 = 6;
    /// The database cannot be reached or refused the credentials.
    pub(crate) const UNREACHABLE: u8 = 7;
    /// A target or revision could not be resolved (unknown, ambiguous, several heads).
    pub(crate) const TARGET: u8 = 8;
    /// The database is dirty: a revision failed half-way (MySQL); see `cargo migrate resolve`.
    pub(crate) const DIRTY: u8 = 9;
    /// The database records revisions that have no file.
    pub(crate) const MISSING: u8 = 10;
    /// Another process holds the migration lock and the lock timeout passed.
    pub(crate) const LOCKED: u8 = 11;
    /// The server accepts no writes (a standby or a read-only server); nothing was changed.
    pub(crate) const READ_ONLY: u8 = 12;
    /// The schema file (schema.sql) differs from the schema the migrations produce.
    pub(crate) const SCHEMA_DIFFERS: u8 = 13;
    /// The database's schema differs from the one its applied revisions produce (drift).
    pub(crate) const DRIFT: u8 = 14;
    /// A downgrade does not undo its upgrade (`test`).
    pub(crate) const DOWNGRADE_BROKEN: u8 = 15;
    /// The lint found an error (`lint`, `check`).
    pub(crate) const LINT: u8 = 16;
    /// The run was cancelled by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    pub(crate) const CANCELLED: u8 = 130;
}

/// The exit-code table shown at the end of `--help`.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
   0  success
   1  a migration failed, or another database error
   2  invalid command line
   3  configuration problem (package, [package.metadata.migrate], directory, editor)
   4  broken chain: a migration file or the revision graph is invalid
   5  database behind: revisions are pending (check, current --check-heads)
   6  checksum changed: an applied revision's file was edited
   7  database unreachable, or credentials refused
   8  target or revision not found, ambiguous, or several heads
   9  database dirty: a revision failed half-way (see `cargo migrate resolve`)
  10  the database records revisions that have no file
  11  the migration lock: held by another run past the timeout, or taken over mid-run
  12  the server may not take this run: a standby, a read-only server, or a Galera
      node in Rolling Schema Upgrade; nothing changed
  13  schema.sql differs from the schema the migrations produce (check)
  14  drift: the database's schema differs from what its applied revisions produce (check)
  15  a downgrade does not undo its upgrade (test)
  16  the lint found an error: a statement that locks a table for long, loses data or fails (lint, check)
 130  the run was cancelled (Ctrl-C or SIGTERM); what it applied is reported";

/// An expected failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// The command line is wrong in a way clap cannot see.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        help: String,
    },
    /// No `Cargo.toml` where one was expected.
    #[error("no Cargo.toml at {path}")]
    ManifestNotFound {
        /// Where it was looked for.
        path: String,
    },
    /// `cargo metadata` failed.
    #[error("`cargo metadata` failed: {message}")]
    CargoMetadata {
        /// Its error.
        message: String,
    },
    /// `-p` names no workspace member.
    #[error("no package named `{name}` in this workspace")]
    PackageNotFound {
        /// The name given.
        name: String,
        /// The members.
        available: Vec<String>,
    },
    /// A virtual workspace and no way to tell which member was meant.
    #[error("this workspace has several packages and the current directory is in none of them")]
    AmbiguousPackage {
        /// The members.
        available: Vec<String>,
    },
    /// `[package.metadata.migrate]` is invalid.
    #[error("{manifest}: {message}")]
    Metadata {
        /// The Cargo.toml.
        manifest: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A `.env` file cannot be read.
    #[error("cannot read {path}: {message}")]
    DotEnv {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The migrations directory does not exist.
    #[error("migrations directory `{path}` not found")]
    MissingDirectory {
        /// The directory.
        path: String,
    },
    /// A file or directory operation failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A file that would be written already exists.
    #[error("{path} already exists")]
    FileExists {
        /// The file.
        path: String,
    },
    /// The migrations do not form a valid chain.
    #[error("{} in {dir}", plural(problems.len(), "problem"))]
    BrokenChain {
        /// The directory.
        dir: String,
        /// Every problem, with its source.
        problems: Vec<ProblemReport>,
    },
    /// A target or revision could not be resolved.
    #[error("{message}")]
    Target {
        /// What is wrong.
        message: String,
        /// What to do.
        help: Option<String>,
    },
    /// Neither `$EDITOR` nor `$VISUAL` is set.
    #[error("no editor: neither EDITOR nor VISUAL is set")]
    NoEditor {
        /// The file that would have been opened.
        path: String,
    },
    /// The editor exited with an error.
    #[error("the editor `{editor}` failed: {message}")]
    Editor {
        /// The command.
        editor: String,
        /// Why.
        message: String,
    },
    /// A database operation failed.
    #[error("{message}")]
    Database {
        /// What went wrong (already free of passwords).
        message: String,
        /// What to do.
        help: Option<String>,
        /// The exit code for this kind of failure.
        exit: u8,
    },
    /// The database could not be reached (exit 7); `reason` names why in the diagnostic code,
    /// so that a script can tell a server that is down (try again) from a URL to fix.
    #[error("{message}")]
    Connect {
        /// What went wrong (already free of passwords).
        message: String,
        /// What to do.
        help: Option<String>,
        /// Why, as the driver's error tells.
        reason: migrate_core::ConnectFailure,
    },
    /// A run stopped part-way: the error, and what it had applied before (for `--json`).
    #[error("{error}")]
    Stopped {
        /// The error.
        error: Box<CliError>,
        /// The revisions applied before it and where that left the database, as JSON.
        applied: serde_json::Value,
    },
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. } => code::USAGE,
            Self::ManifestNotFound { .. }
            | Self::CargoMetadata { .. }
            | Self::PackageNotFound { .. }
            | Self::AmbiguousPackage { .. }
            | Self::Metadata { .. }
            | Self::DotEnv { .. }
            | Self::MissingDirectory { .. }
            | Self::FileExists { .. }
            | Self::NoEditor { .. } => code::CONFIG,
            Self::Io { .. } | Self::Editor { .. } => code::FAILURE,
            Self::BrokenChain { .. } => code::BROKEN_CHAIN,
            Self::Target { .. } => code::TARGET,
            Self::Database { exit, .. } => *exit,
            Self::Connect { .. } => code::UNREACHABLE,
            Self::Stopped { error, .. } => error.exit_code(),
        }
    }

    /// The process exit code as an [`ExitCode`].
    pub(crate) fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code())
    }

    /// A stable short name for the kind of failure (shown as the diagnostic code).
    pub(crate) fn code_name(&self) -> &'static str {
        match self {
            Self::Usage { .. } => "migrate::usage",
            Self::ManifestNotFound { .. }
            | Self::CargoMetadata { .. }
            | Self::PackageNotFound { .. }
            | Self::AmbiguousPackage { .. } => "migrate::package",
            Self::Metadata { .. } | Self::DotEnv { .. } => "migrate::config",
            Self::MissingDirectory { .. } => "migrate::no_directory",
            Self::Io { .. } => "migrate::io",
            Self::FileExists { .. } => "migrate::file_exists",
            Self::BrokenChain { .. } => "migrate::broken_chain",
            Self::Target { .. } => "migrate::target",
            Self::NoEditor { .. } | Self::Editor { .. } => "migrate::editor",
            Self::Stopped { error, .. } => error.code_name(),
            Self::Connect { reason, .. } => {
                use migrate_core::ConnectFailure as F;
                match reason {
                    F::NoSuchDatabase => "migrate::no_such_database",
                    F::RefusedLogin => "migrate::login_refused",
                    F::Tls => "migrate::tls",
                    F::StartupRefused => "migrate::startup_refused",
                    F::MissingFile => "migrate::no_database_file",
                    F::MissingDirectory => "migrate::no_database_directory",
                    F::LockFile => "migrate::lock_file",
                    _ => "migrate::unreachable",
                }
            }
            Self::Database { exit, .. } => match *exit {
                code::UNREACHABLE => "migrate::unreachable",
                code::CHECKSUM_CHANGED => "migrate::checksum_changed",
                code::DIRTY => "migrate::dirty",
                code::MISSING => "migrate::missing",
                code::LOCKED => "migrate::locked",
                code::BEHIND => "migrate::behind",
                code::CANCELLED => "migrate::cancelled",
                code::READ_ONLY => "migrate::read_only",
                code::SCHEMA_DIFFERS => "migrate::schema_differs",
                code::DRIFT => "migrate::drift",
                code::DOWNGRADE_BROKEN => "migrate::downgrade_broken",
                code::LINT => "migrate::lint",
                _ => "migrate::database",
            },
        }
    }

    fn help_text(&self) -> Option<String> {
        match self {
            Self::Usage { help, .. } | Self::Metadata { help, .. } => Some(help.clone()),
            Self::ManifestNotFound { .. } => {
                Some("run it inside a cargo package, or pass `--manifest-path path/to/Cargo.toml`".to_owned())
            }
            Self::CargoMetadata { .. } => Some("fix the Cargo.toml so that `cargo metadata` succeeds".to_owned()),
            Self::PackageNotFound { available, .. } | Self::AmbiguousPackage { available } => {
                Some(format!("choose one with `-p <name>`: {}", available.join(", ")))
            }
            Self::DotEnv { .. } => Some("each line of a .env file is `KEY=value`".to_owned()),
            Self::MissingDirectory { .. } => Some(
                "run `cargo migrate init` to create it, or point at the right one with `--dir` or `directory` in [package.metadata.migrate]"
                    .to_owned(),
            ),
            Self::Io { .. } => None,
            Self::FileExists { .. } => Some("choose another `--rev-id`, or remove the file".to_owned()),
            Self::BrokenChain { .. } => None,
            Self::Target { help, .. } | Self::Database { help, .. } | Self::Connect { help, .. } => help.clone(),
            Self::Stopped { error, .. } => error.help_text(),
            Self::NoEditor { path } => Some(format!("set EDITOR (for example `export EDITOR=vi`), or open {path} yourself")),
            Self::Editor { .. } => None,
        }
    }
}

impl Diagnostic for CliError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code_name()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help_text().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            Self::BrokenChain { problems, .. } => Some(Box::new(problems.iter().map(|p| p as &dyn Diagnostic))),
            _ => None,
        }
    }
}

/// One problem in a migration file, with the file's text so the line can be shown.
#[derive(Debug)]
pub(crate) struct ProblemReport {
    /// The problem.
    pub(crate) problem: Problem,
    source: Option<NamedSource<String>>,
    span: Option<SourceSpan>,
}

impl ProblemReport {
    /// A report of `problem`, quoting its line from `files` when the file is among them.
    pub(crate) fn new(problem: Problem, files: &[SourceFile]) -> Self {
        let file = files.iter().find(|f| f.display == problem.location.path);
        let (source, span) = match file {
            Some(f) => {
                let text = String::from_utf8_lossy(&f.bytes).into_owned();
                let span = span_at(&text, problem.location.line, problem.location.column);
                (Some(NamedSource::new(&f.display, text)), span)
            }
            None => (None, None),
        };
        Self { problem, source, span }
    }
}

/// The byte span from `line:column` (1-based, column in characters) to the end of that line.
fn span_at(text: &str, line: u32, column: u32) -> Option<SourceSpan> {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line as usize {
            let content = l.trim_end_matches(['\n', '\r']);
            let start: usize = content.chars().take(column.saturating_sub(1) as usize).map(char::len_utf8).sum();
            let len = content.len().saturating_sub(start).max(1).min(l.len().saturating_sub(start).max(1));
            return Some(SourceSpan::new((offset + start).into(), len));
        }
        offset += l.len();
    }
    None
}

impl fmt::Display for ProblemReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source.is_some() && self.span.is_some() {
            write!(f, "{}", self.problem.kind)
        } else {
            write!(f, "{}: {}", self.problem.location, self.problem.kind)
        }
    }
}

impl std::error::Error for ProblemReport {}

impl Diagnostic for ProblemReport {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = match &self.problem.kind {
            ProblemKind::MultipleHeads { .. } => "join them with `cargo migrate merge -m \"merge heads\"`, or declare the branches you keep on purpose: `branches = [...]` in [package.metadata.migrate] and `migrate!(branches = [...])`".to_owned(),
            kind => kind.help(),
        };
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        let label = format!("line {}", self.problem.location.line);
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(Some(label), span))))
    }
}

/// Turns loader problems into the CLI's error, quoting each file.
pub(crate) fn broken_chain(dir: &str, problems: Problems, files: &[SourceFile]) -> CliError {
    CliError::BrokenChain {
        dir: dir.to_owned(),
        problems: problems.into_iter().map(|p| ProblemReport::new(p, files)).collect(),
    }
}

impl CliError {
    /// The error as JSON, for commands given `--json`: its stable code, exit code, message and
    /// help, and what a stopped run had applied.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ok": false,
            "error": {
                "code": self.code_name(),
                "exit_code": self.exit_code(),
                "message": self.to_string(),
                "help": self.help_text(),
            },
        });
        if let (Self::Stopped { applied, .. }, Some(obj)) = (self, v.as_object_mut()) {
            obj.insert("applied".to_owned(), applied.clone());
        }
        if let (Self::BrokenChain { problems, .. }, Some(err)) =
            (self, v.get_mut("error").and_then(|e| e.as_object_mut()))
        {
            let list: Vec<_> = problems
                .iter()
                .map(|r| {
                    let p = &r.problem;
                    serde_json::json!({
                        "path": p.location.path, "line": p.location.line, "column": p.location.column,
                        "message": p.kind.to_string(), "help": p.help(),
                    })
                })
                .collect();
            err.insert("problems".to_owned(), serde_json::Value::Array(list));
        }
        v
    }
}

/// Renders `diagnostic` for a terminal (`color`) or a log.
pub(crate) fn render(diagnostic: &dyn Diagnostic, color: bool, terminal: bool) -> String {
    let theme = if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() };
    let mut handler = miette::GraphicalReportHandler::new_themed(theme).with_links(false);
    if !terminal {
        // Logs and captured output keep each message on one line, so it can be searched.
        handler = handler.with_wrap_lines(false);
    }
    let mut out = String::new();
    if handler.render_report(&mut out, diagnostic).is_err() {
        out = format!("error: {diagnostic}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_the_line() {
        let text = "first\nsécond line\nthird";
        let span = span_at(text, 2, 3).unwrap();
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "cond line");
        assert!(span_at(text, 9, 1).is_none());
        let empty = span_at("a\n\nb", 2, 1).unwrap();
        assert_eq!(empty.len(), 1);
    }

    #[test]
    fn every_error_has_a_distinct_documented_code() {
        for c in (0..=code::LINT).chain([code::CANCELLED]) {
            assert!(EXIT_CODES_HELP.contains(&format!("\n {c:>3}  ")) || c == 0, "{c}");
        }
    }
}
