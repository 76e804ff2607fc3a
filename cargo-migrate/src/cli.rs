//! The command line: `cargo migrate <command>` (also `cargo-migrate migrate <command>`), parsed
//! with clap into plain data that the commands turn into a validated configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::EXIT_CODES_HELP;
use crate::output::ColorChoice;

/// `cargo`, as cargo runs its subcommands: `cargo-migrate migrate ...`.
#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo", version, propagate_version = true)]
pub(crate) enum Cargo {
    /// Alembic's revision-graph migrations for Rust.
    Migrate(MigrateCli),
}

/// Alembic's revision-graph migrations, as a cargo subcommand.
#[derive(Debug, Args)]
#[command(
    version,
    about = "Alembic-style revision-graph migrations for Rust",
    long_about = "Alembic-style revision-graph migrations for Rust.\n\n\
The migrations live in one `.sql` file per revision (default `migrations/` beside the package's \
Cargo.toml). The database URL is taken from --database-url, then DATABASE_URL (also from .env), then \
`database_url` in [package.metadata.migrate], else the embedded default `sqlite:migrate.db` beside the \
Cargo.toml.",
    after_long_help = EXIT_CODES_HELP
)]
pub(crate) struct MigrateCli {
    /// Options every command takes.
    #[command(flatten)]
    pub(crate) global: GlobalOpts,
    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct GlobalOpts {
    /// Path to the package's Cargo.toml.
    #[arg(long, global = true, help_heading = "Global options", value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// The package to work on, in a workspace.
    #[arg(short, long, global = true, help_heading = "Global options", value_name = "SPEC")]
    pub(crate) package: Option<String>,
    /// The migrations directory (overrides `directory` in [package.metadata.migrate]).
    #[arg(long, global = true, help_heading = "Global options", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// The database URL (overrides DATABASE_URL and the metadata). Repeat it to run `upgrade`,
    /// `downgrade`, `current` or `check` on each of several databases.
    #[arg(long, global = true, help_heading = "Global options", value_name = "URL", hide_env_values = true)]
    pub(crate) database_url: Vec<String>,
    /// A file with one database URL a line (blank lines and `#` comments skipped): run
    /// `upgrade`, `downgrade`, `current` or `check` on each (`--all-or-nothing`,
    /// `--accept-changed` and `--backup` apply to each; `check` checks the files once).
    #[arg(long, global = true, help_heading = "Fleets", value_name = "FILE")]
    pub(crate) database_urls: Option<PathBuf>,
    /// How many databases of a fleet run at once.
    #[arg(long, global = true, help_heading = "Fleets", value_name = "N", default_value_t = 4)]
    pub(crate) jobs: usize,
    /// Stop starting databases once one fails, drift included (default: go on, and report each).
    #[arg(long, global = true, help_heading = "Fleets")]
    pub(crate) fail_fast: bool,
    /// Which lock keeps other runs out (overrides `lock` in [package.metadata.migrate]): the
    /// server's session lock, the lock table (holds across a Galera cluster and through
    /// transaction poolers), or auto: the lock table where the session lock would not hold.
    #[arg(long, global = true, help_heading = "Global options", value_enum, value_name = "MODE")]
    pub(crate) lock: Option<LockArg>,
    /// Server for scratch databases (schema commands), instead of the database's own server.
    #[arg(long, global = true, help_heading = "Global options", value_name = "URL", hide_env_values = true)]
    pub(crate) dev_url: Option<String>,
    /// Print only results and errors.
    #[arg(short, long, global = true, help_heading = "Global options", conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Print more: where the configuration came from, full revision details.
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// When to colour the output.
    #[arg(long, global = true, help_heading = "Global options", value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
}

/// `--lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LockArg {
    /// The lock table where the session lock would not hold (Galera, a pooler between).
    Auto,
    /// The server's session lock (advisory lock, GET_LOCK).
    Session,
    /// A row of the tool's lock table, with a heartbeat and a lease.
    Table,
}

impl From<LockArg> for migrate_core::LockMode {
    fn from(arg: LockArg) -> Self {
        match arg {
            LockArg::Auto => Self::Auto,
            LockArg::Session => Self::Session,
            LockArg::Table => Self::Table,
        }
    }
}

/// `--json` on read commands.
#[derive(Debug, Clone, Copy, Default, Args)]
pub(crate) struct JsonArg {
    /// Print JSON instead of text, for scripts.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the migrations directory, add [package.metadata.migrate] and the build.rs line.
    Init(InitArgs),
    /// Create a new revision file whose parent is the current head.
    #[command(alias = "revision")]
    New(NewArgs),
    /// Apply revisions up to a target (default `head`).
    Upgrade(UpgradeArgs),
    /// Revert revisions down to a target (`-1`, `base`, a revision...).
    Downgrade(DowngradeArgs),
    /// Record a target as the current state without running any SQL.
    Stamp(StampArgs),
    /// Show the revisions the database is at.
    Current(CurrentArgs),
    /// Show applied, pending, changed and missing revisions.
    Status(JsonOnly),
    /// List revisions, newest first.
    History(HistoryArgs),
    /// List the head revisions.
    Heads(JsonOnly),
    /// List branch points and branch labels.
    Branches(JsonOnly),
    /// Show one revision.
    Show(ShowArgs),
    /// Create a merge revision joining several heads (default: all of them).
    Merge(MergeArgs),
    /// Move an unmerged branch onto another revision (default: the other head), so the chain
    /// is linear again instead of merged. Rewrites only the `down_revision` line of <REV>.
    Rebase(RebaseArgs),
    /// Replace a linear range of revisions with one revision that `replaces` them.
    ///
    /// The new revision runs the range's upgrades in order and its downgrades in reverse. New
    /// databases apply it alone; a database that applied the whole range records it in their
    /// place on its next run; one partway through finishes the range with the old files while
    /// they exist. `--prune` removes those files once no database is partway through them.
    Squash(SquashArgs),
    /// The CI gate: check the chain, and the database when a URL is given.
    ///
    /// The chain gets the same checks as `migrate!()`. The database is checked when its URL comes
    /// from --database-url, DATABASE_URL or .env (not from the metadata or the embedded default):
    /// it must be at the head with nothing edited, missing or dirty, and its schema what its
    /// revisions produce (no drift). When schema.sql exists, the migrations must produce it.
    /// The lint runs (errors fail), and the stairway test where scratch databases are at hand.
    /// Exit codes: 4 broken chain, 5 behind, 6 checksum changed, 9 dirty, 10 missing,
    /// 13 schema.sql differs, 14 drift, 15 a downgrade does not undo its upgrade, 16 lint error.
    Check(CheckArgs),
    /// Print the SQL that takes the migrations' head to the schema file (schema.sql); nothing
    /// when they agree.
    Diff(JsonOnly),
    /// Write a schema as DDL: the one the migrations produce, or the database's (--database).
    Dump(DumpArgs),
    /// Lint the migrations' SQL for statements that lock tables, lose data or fail at run time.
    /// Exit code 16 when there is an error; warnings alone pass.
    Lint(LintArgs),
    /// The stairway test: apply, revert and re-apply every revision in a scratch database,
    /// comparing schemas, so that every downgrade is proven to undo its upgrade. Exit code 15
    /// when one does not.
    Test(TestArgs),
    /// Open a revision file in $EDITOR (or $VISUAL).
    Edit(EditArgs),
    /// Mark a revision left dirty by a failed run as applied or unapplied (MySQL).
    Resolve(ResolveArgs),
    /// Print shell completions for `cargo-migrate`.
    Completions(CompletionsArgs),
}

/// `init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {}

/// `new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// What the revision does; also gives the file name.
    #[arg(short, long)]
    pub(crate) message: String,
    /// The revision to build on (`head`, a revision, `<label>@head`, or `base` for a new base).
    #[arg(long, value_name = "REV")]
    pub(crate) head: Option<String>,
    /// Start a named branch at this revision.
    #[arg(long, value_name = "LABEL")]
    pub(crate) branch_label: Option<String>,
    /// Revisions on other branches this one depends on.
    #[arg(long, value_name = "REV", value_delimiter = ',')]
    pub(crate) depends_on: Vec<String>,
    /// Use this id instead of a random one.
    #[arg(long, value_name = "ID")]
    pub(crate) rev_id: Option<String>,
    /// Mark the downgrade as irreversible (fill in the reason).
    #[arg(long)]
    pub(crate) irreversible: bool,
    /// Write the SQL too: diff the migrations' head against the schema file (schema.sql) in
    /// scratch databases and fill the up and down sections with the difference.
    #[arg(long, conflicts_with = "irreversible")]
    pub(crate) autogenerate: bool,
}

/// Options shared by `upgrade`, `downgrade` and `stamp`.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct RunOpts {
    /// Print the SQL script instead of running it (no connection is made); takes `from:to` ranges.
    #[arg(long)]
    pub(crate) sql: bool,
    /// Print the summary (and any error) as JSON, for scripts.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

/// Options shared by `upgrade` and `downgrade`, the commands that run migration SQL.
#[derive(Debug, Clone, Args)]
pub(crate) struct ApplyOpts {
    /// Accept the edited file of an applied revision and record its new checksum.
    #[arg(long, value_name = "REV")]
    pub(crate) accept_changed: Vec<String>,
    /// Run every revision in one transaction: all apply or none (PostgreSQL, SQLite).
    #[arg(long)]
    pub(crate) all_or_nothing: bool,
    /// Write a backup into DIR first (under the lock, before any change; nothing when there is
    /// nothing to do), with the database's own tool: SQLite VACUUM INTO, pg_dump, mariadb-dump.
    #[arg(long, value_name = "DIR")]
    pub(crate) backup: Option<PathBuf>,
}

/// `upgrade`.
#[derive(Debug, Args)]
pub(crate) struct UpgradeArgs {
    /// Where to go: `head` (the default; `heads` when branches are declared), a revision or
    /// prefix, `+N`, `<label>@head`; with --sql, `from:to`.
    #[arg(allow_negative_numbers = true)]
    pub(crate) target: Option<String>,
    /// Shared options.
    #[command(flatten)]
    pub(crate) run: RunOpts,
    /// Options of commands that run migration SQL.
    #[command(flatten)]
    pub(crate) apply: ApplyOpts,
}

/// `downgrade`.
#[derive(Debug, Args)]
pub(crate) struct DowngradeArgs {
    /// Where to go: `-1`, `base`, a revision or prefix, `<label>@-1`; with --sql, `from:to`.
    #[arg(allow_negative_numbers = true)]
    pub(crate) target: String,
    /// Shared options.
    #[command(flatten)]
    pub(crate) run: RunOpts,
    /// Options of commands that run migration SQL.
    #[command(flatten)]
    pub(crate) apply: ApplyOpts,
}

/// `stamp`.
#[derive(Debug, Args)]
pub(crate) struct StampArgs {
    /// The state to record: `head`, `base`, a revision or prefix, `+N`, `-N`; with --sql, `from:to`.
    #[arg(allow_negative_numbers = true)]
    pub(crate) target: String,
    /// Shared options.
    #[command(flatten)]
    pub(crate) run: RunOpts,
    /// Clear the history table first, then record only the target.
    #[arg(long)]
    pub(crate) purge: bool,
}

/// `current`.
#[derive(Debug, Args)]
pub(crate) struct CurrentArgs {
    /// Exit with code 5 unless the database is at the head(s).
    #[arg(long)]
    pub(crate) check_heads: bool,
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

impl Command {
    /// Whether the command was asked for JSON output (errors then come as JSON too).
    pub(crate) fn wants_json(&self) -> bool {
        match self {
            Self::Upgrade(a) => a.run.json.json,
            Self::Downgrade(a) => a.run.json.json,
            Self::Stamp(a) => a.run.json.json,
            Self::Current(a) => a.json.json,
            Self::Status(a) | Self::Heads(a) | Self::Branches(a) | Self::Diff(a) => a.json.json,
            Self::History(a) => a.json.json || a.format == HistoryFormat::Json,
            Self::Show(a) => a.json.json,
            Self::Check(a) => a.json.json,
            Self::Test(a) => a.json.json,
            Self::Lint(a) => a.json.json,
            _ => false,
        }
    }

    /// The commands an app's own migration CLI offers: those that work on the database and the
    /// embedded migrations, not on the migration files.
    pub(crate) const EMBEDDED: &'static [&'static str] = &[
        "upgrade",
        "downgrade",
        "stamp",
        "current",
        "status",
        "history",
        "heads",
        "branches",
        "show",
        "check",
        "resolve",
        "test",
    ];

    /// Whether an app's own migration CLI offers the command.
    pub(crate) fn works_embedded(&self) -> bool {
        Self::EMBEDDED.contains(&self.name())
    }

    /// The command's name, as typed.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Init(_) => "init",
            Self::New(_) => "new",
            Self::Upgrade(_) => "upgrade",
            Self::Downgrade(_) => "downgrade",
            Self::Stamp(_) => "stamp",
            Self::Current(_) => "current",
            Self::Status(_) => "status",
            Self::History(_) => "history",
            Self::Heads(_) => "heads",
            Self::Branches(_) => "branches",
            Self::Show(_) => "show",
            Self::Merge(_) => "merge",
            Self::Rebase(_) => "rebase",
            Self::Squash(_) => "squash",
            Self::Check(_) => "check",
            Self::Diff(_) => "diff",
            Self::Dump(_) => "dump",
            Self::Test(_) => "test",
            Self::Lint(_) => "lint",
            Self::Edit(_) => "edit",
            Self::Resolve(_) => "resolve",
            Self::Completions(_) => "completions",
        }
    }
}

/// Commands whose only option is `--json`.
#[derive(Debug, Args)]
pub(crate) struct JsonOnly {
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

/// `history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only revisions in `from:to` (both ends included; either may be empty; `current` is allowed).
    #[arg(short = 'r', long = "rev-range", value_name = "RANGE", allow_hyphen_values = true)]
    pub(crate) range: Option<String>,
    /// Mark the revisions the database is at with `(current)`.
    #[arg(short = 'i', long)]
    pub(crate) indicate_current: bool,
    /// Draw branches and merges, like `git log --graph`.
    #[arg(long)]
    pub(crate) graph: bool,
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
    /// The output format: text, json, or the graph as a picture (mermaid for pull requests,
    /// dot for Graphviz).
    #[arg(long, value_enum, default_value_t = HistoryFormat::Text, value_name = "FORMAT")]
    pub(crate) format: HistoryFormat,
}

/// `history --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HistoryFormat {
    /// One line per revision (or `--graph`, `--verbose`).
    Text,
    /// JSON, as `--json`.
    Json,
    /// A Mermaid flowchart, which GitHub renders in pull requests and issues.
    Mermaid,
    /// Graphviz's DOT language (`| dot -Tsvg`).
    Dot,
}

/// `show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The revision: an id, a prefix, `head` or `<label>@head`.
    pub(crate) rev: String,
    /// Print only this revision's upgrade as the script a run executes for it (its SQL inside
    /// its transaction, with its history and log rows), for the URL's dialect; nothing connects.
    /// Feeding the migration file itself to psql or mysql would run the down section too.
    #[arg(long, conflicts_with = "json")]
    pub(crate) sql: bool,
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

/// `merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// What the merge is for; also gives the file name.
    #[arg(short, long)]
    pub(crate) message: String,
    /// The revisions to join (default: every head).
    pub(crate) revisions: Vec<String>,
    /// Use this id instead of a random one.
    #[arg(long, value_name = "ID")]
    pub(crate) rev_id: Option<String>,
    /// Start a named branch at the merge revision.
    #[arg(long, value_name = "LABEL")]
    pub(crate) branch_label: Option<String>,
}

/// `rebase`.
#[derive(Debug, Args)]
pub(crate) struct RebaseArgs {
    /// The first revision of the branch to move.
    pub(crate) rev: String,
    /// The revision to build on (default: the one other head).
    #[arg(long, value_name = "REV")]
    pub(crate) onto: Option<String>,
}

/// `squash`.
#[derive(Debug, Args)]
pub(crate) struct SquashArgs {
    /// The range to squash, oldest first: `<rev>:<rev>` (ids, prefixes, `head`).
    #[arg(value_name = "FROM:TO", required_unless_present = "prune", conflicts_with = "prune")]
    pub(crate) range: Option<String>,
    /// What the squash is; also gives the file name.
    #[arg(short, long, required_unless_present = "prune", conflicts_with = "prune")]
    pub(crate) message: Option<String>,
    /// Use this id instead of a random one.
    #[arg(long, value_name = "ID", conflicts_with = "prune")]
    pub(crate) rev_id: Option<String>,
    /// Remove the files that squashes replace (of every squash, or of the one named). With a
    /// database URL given, refused while that database is partway through them.
    #[arg(long, value_name = "SQUASH", num_args = 0..=1, default_missing_value = "")]
    pub(crate) prune: Option<String>,
}

/// `check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Check only the migration files, even when a database URL is given.
    #[arg(long)]
    pub(crate) offline: bool,
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

/// `lint`.
#[derive(Debug, Args)]
pub(crate) struct LintArgs {
    /// The SQL dialect (default: the database URL's).
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub(crate) dialect: Option<DialectArg>,
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

/// A SQL dialect on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DialectArg {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

/// `test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Start testing at this revision (the ones before are applied without testing).
    #[arg(long, value_name = "REV")]
    pub(crate) from: Option<String>,
    /// Stop after this revision.
    #[arg(long, value_name = "REV")]
    pub(crate) to: Option<String>,
    /// JSON output.
    #[command(flatten)]
    pub(crate) json: JsonArg,
}

/// `dump`.
#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// Dump the live database's schema instead of the one the migrations produce.
    #[arg(long)]
    pub(crate) database: bool,
    /// Write to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// `edit`.
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The revision to open: an id, a prefix, `head` or `<label>@head`.
    #[arg(default_value = "head")]
    pub(crate) rev: String,
}

/// `resolve`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("resolution").required(true))]
pub(crate) struct ResolveArgs {
    /// The dirty revision.
    pub(crate) rev: String,
    /// Its SQL did run completely (you finished it by hand): record it as applied.
    #[arg(long, group = "resolution")]
    pub(crate) applied: bool,
    /// Its SQL did not take effect (you rolled it back by hand): record it as not applied.
    #[arg(long, group = "resolution")]
    pub(crate) unapplied: bool,
}

/// `completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cargo::command().debug_assert();
    }

    fn parse(line: &str) -> Result<MigrateCli, String> {
        let args = std::iter::once("cargo").chain(line.split_whitespace());
        match Cargo::try_parse_from(args) {
            Ok(Cargo::Migrate(cli)) => Ok(cli),
            Err(e) => Err(e.kind().to_string()),
        }
    }

    #[test]
    fn arguments_parse_as_intended() {
        type Check = fn(&MigrateCli) -> bool;
        let cases: &[(&str, Check)] = &[
            ("migrate upgrade", |c| matches!(&c.command, Command::Upgrade(a) if a.target.is_none() && !a.run.sql)),
            (
                "migrate upgrade +2 --sql",
                |c| matches!(&c.command, Command::Upgrade(a) if a.target.as_deref() == Some("+2") && a.run.sql),
            ),
            ("migrate downgrade -1", |c| matches!(&c.command, Command::Downgrade(a) if a.target == "-1")),
            ("migrate downgrade base --sql", |c| matches!(&c.command, Command::Downgrade(a) if a.run.sql)),
            (
                "migrate upgrade --accept-changed ab12 --accept-changed cd34 --all-or-nothing",
                |c| matches!(&c.command, Command::Upgrade(a) if a.apply.accept_changed == ["ab12", "cd34"] && a.apply.all_or_nothing),
            ),
            (
                "migrate stamp head --purge",
                |c| matches!(&c.command, Command::Stamp(a) if a.purge && a.target == "head"),
            ),
            ("migrate new -m hello --head base --depends-on a,b --rev-id x1 --irreversible", |c| {
                matches!(&c.command, Command::New(a) if a.head.as_deref() == Some("base") && a.depends_on == ["a", "b"]
                    && a.rev_id.as_deref() == Some("x1") && a.irreversible)
            }),
            ("migrate revision -m hi", |c| matches!(&c.command, Command::New(a) if a.message == "hi")),
            ("migrate history -r ab12:head --graph -i --json", |c| {
                matches!(&c.command, Command::History(a) if a.range.as_deref() == Some("ab12:head") && a.graph
                    && a.indicate_current && a.json.json)
            }),
            (
                "migrate history -r -3:",
                |c| matches!(&c.command, Command::History(a) if a.range.as_deref() == Some("-3:")),
            ),
            ("migrate -v history", |c| c.global.verbose == 1),
            ("migrate history -vv", |c| c.global.verbose == 2),
            ("migrate current --check-heads", |c| matches!(&c.command, Command::Current(a) if a.check_heads)),
            ("migrate merge -m join a1 b2", |c| matches!(&c.command, Command::Merge(a) if a.revisions == ["a1", "b2"])),
            ("migrate edit", |c| matches!(&c.command, Command::Edit(a) if a.rev == "head")),
            ("migrate resolve ab12 --applied", |c| matches!(&c.command, Command::Resolve(a) if a.applied)),
            ("migrate completions bash", |c| matches!(&c.command, Command::Completions(_))),
            (
                "migrate --manifest-path x/Cargo.toml -p app --dir m --database-url sqlite:x.db --color never heads",
                |c| {
                    c.global.package.as_deref() == Some("app")
                        && c.global.database_url.first().map(String::as_str) == Some("sqlite:x.db")
                        && c.global.color == ColorChoice::Never
                },
            ),
            ("migrate heads -q --json", |c| c.global.quiet && matches!(&c.command, Command::Heads(a) if a.json.json)),
        ];
        for (line, check) in cases {
            let cli = parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert!(check(&cli), "{line}: {cli:?}");
        }
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for line in [
            "migrate downgrade",
            "migrate new",
            "migrate resolve ab12",
            "migrate resolve ab12 --applied --unapplied",
            "migrate -q -v heads",
            "migrate completions nosuchshell",
            "migrate frobnicate",
            "migrate upgrade --json=yes",
        ] {
            assert!(parse(line).is_err(), "{line} should be refused");
        }
    }
}
