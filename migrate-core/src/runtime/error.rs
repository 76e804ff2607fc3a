//! Everything a run can refuse or fail with; every message says what happened and what to do.

use std::fmt;
use std::time::Duration;

use crate::plan::{Direction, PlanError};
use crate::problem::Problems;
use crate::sql::Dialect;

use super::report::Report;

/// A revision whose file changed after it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedRevision {
    /// The revision id.
    pub revision: String,
    /// Its file.
    pub path: String,
    /// The checksum recorded when it was applied.
    pub recorded: String,
    /// The checksum of the file in this build.
    pub current: String,
}

/// A revision left half-done on MySQL/MariaDB (which commits DDL as it goes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyRevision {
    /// The revision id.
    pub revision: String,
    /// The direction that did not finish.
    pub direction: Direction,
    /// Its file, when this build knows the revision.
    pub path: Option<String>,
    /// What failed (`line N: message`), when the failure was seen; `None` when the process
    /// stopped without reporting (killed, connection lost).
    pub failure: Option<String>,
}

impl fmt::Display for DirtyRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.direction {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        };
        write!(f, "revision `{}`", self.revision)?;
        if let Some(path) = &self.path {
            write!(f, " ({path})")?;
        }
        write!(f, " is dirty: its {verb} started and did not finish")?;
        match &self.failure {
            Some(failure) => write!(f, "; it failed at {failure}"),
            None => write!(f, "; the process running it stopped before it could report why"),
        }
    }
}

/// How to resolve a dirty revision (see [`Migrator::resolve_dirty`](crate::Migrator::resolve_dirty)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The revision's SQL has been completed by hand: record it as applied.
    MarkApplied,
    /// The revision's partial effects have been undone by hand: forget it, so that the next
    /// upgrade runs it again (this plus an upgrade is a retry).
    MarkUnapplied,
}

/// The category of an [`Error`], for choosing an exit code or a reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request cannot be planned (unknown target, multiple heads, irreversible revision…).
    Plan,
    /// The migrations themselves are invalid.
    Graph,
    /// The database cannot be reached or the URL is wrong.
    Connection,
    /// Another run holds the lock.
    Lock,
    /// Applied migrations were edited.
    Changed,
    /// The database has revisions this build does not know.
    Unknown,
    /// A revision is half-applied (MySQL).
    Dirty,
    /// A migration's statement failed.
    Statement,
    /// The database is not at its head(s).
    Behind,
    /// The requested mode cannot be honoured.
    Refused,
    /// The run was cancelled (Ctrl-C, SIGTERM, or the caller's [`Cancel`](crate::Cancel)).
    Cancelled,
    /// The server accepts no writes (a standby or a read-only server).
    ReadOnly,
    /// The history or log tables could not be read or written.
    Database,
    /// A schema could not be built or read (a scratch database, a schema file, a catalogue).
    Schema,
}

/// Why a run did not happen or did not finish. Nothing is changed when a run is refused; a
/// failed statement rolls its migration back (PostgreSQL, SQLite, MySQL data changes) or leaves
/// it dirty (MySQL DDL).
///
/// The message ([`Display`](fmt::Display)) says what happened; [`Error::help`] says what to do
/// next, naming the command-line way and the API way where both exist; [`Error::partial`] holds
/// what a run that stopped part-way had applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The target cannot be planned.
    #[error("{0}")]
    Plan(PlanError),
    /// The migrations do not form a valid chain.
    #[error("the migrations are not a valid chain:\n{0}")]
    Graph(#[from] Problems),
    /// The URL's scheme is not one this build supports.
    #[error("`{url}` is not a database URL this build supports{}", if hint.is_empty() { String::new() } else { format!(" ({hint})") })]
    UnsupportedUrl {
        /// The URL, password removed.
        url: String,
        /// What is missing (e.g. a disabled feature).
        hint: String,
    },
    /// The URL's user-info password holds characters that must be percent-encoded, so the URL
    /// cannot be read as written (nothing was connected to).
    #[error("cannot parse the database URL {url}: its password holds characters that are not allowed there unencoded")]
    UnencodedPassword {
        /// The URL, password removed.
        url: String,
    },
    /// The database could not be reached.
    #[error("cannot connect to {url}: {message}")]
    Connect {
        /// The URL, password removed.
        url: String,
        /// Why, as far as the driver's error tells: what [`Error::help`] advises.
        reason: ConnectFailure,
        /// What went wrong, password removed.
        message: String,
        /// The driver's error, for callers that inspect it, when the pool was the app's own
        /// (left out for a URL: its text may hold the URL's password).
        #[source]
        source: Option<sqlx::Error>,
    },
    /// The backup asked for before a run could not be written; nothing was changed.
    #[error("cannot write the backup {path} before the run: {message}; nothing was changed")]
    Backup {
        /// The file it was going to be.
        path: String,
        /// Why not.
        message: String,
        /// The database's dump tool (`pg_dump`, `mariadb-dump`) is not installed.
        tool_missing: bool,
    },
    /// The server accepts no writes (a standby, a read-only server or session); nothing was
    /// changed and no lock was taken.
    #[error("this {dialect} server accepts no writes: {why}; nothing was changed")]
    ReadOnly {
        /// The backend.
        dialect: Dialect,
        /// What makes it read-only.
        why: String,
    },
    /// A MariaDB Galera node that applies DDL outside the cluster's total order (Rolling Schema
    /// Upgrade): a migration's DDL would change that node alone while its history row reached
    /// every node. Refused before any lock or change.
    #[error(
        "this Galera node applies DDL under {method} (wsrep_OSU_method), on itself alone: a migration's DDL would change this node while its history row reached every node; nothing was changed"
    )]
    RollingSchemaUpgrade {
        /// The node's `wsrep_OSU_method`.
        method: String,
    },
    /// Another run held the lock for longer than the lock timeout.
    #[error(
        "another migration run holds the lock on this {dialect} database and did not release it within {}; it is held by {}",
        humantime_secs(*waited),
        holder.as_deref().unwrap_or("a process the database cannot name")
    )]
    LockTimeout {
        /// The backend.
        dialect: Dialect,
        /// How long this run waited.
        waited: Duration,
        /// Who holds it, when the backend can tell.
        holder: Option<String>,
        /// The lock is a claim in the lock table, with a lease a run that died loses.
        leased: bool,
        /// When it stopped a run that had begun (a step waited for the database's write lock):
        /// what the run had completed before, and where its backup went.
        report: Option<Box<Report>>,
    },
    /// The run's lock-table claim was taken over while it worked (its heartbeat could not renew
    /// it in time); it stopped before its next step.
    #[error("this run lost its lock while it worked: {why}; it stopped before its next step")]
    LockLost {
        /// What happened to the claim.
        why: String,
        /// The steps that completed (and are recorded) before it stopped.
        report: Box<Report>,
    },
    /// Applied migrations were edited since they ran.
    #[error(
        "{} applied migration(s) changed since they ran:\n{}",
        changed.len(),
        changed.iter().map(|c| format!("  - `{}` ({}): recorded {}, now {}", c.revision, c.path, short(&c.recorded), short(&c.current))).collect::<Vec<_>>().join("\n")
    )]
    Changed {
        /// The edited revisions.
        changed: Vec<ChangedRevision>,
    },
    /// The database records revisions this build does not have.
    #[error("the database records revision(s) this build does not have: {}", revisions.join(", "))]
    UnknownApplied {
        /// The unknown ids.
        revisions: Vec<String>,
    },
    /// The database is partway through a squashed range whose files were pruned.
    #[error(
        "the database is partway through the revisions squashed into `{squash}`: it has {} applied but not {}, and their files are gone",
        applied.join(", "),
        pending.join(", ")
    )]
    SquashPruned {
        /// The squash revision.
        squash: String,
        /// The replaced revisions it has applied.
        applied: Vec<String>,
        /// The replaced revisions it has not.
        pending: Vec<String>,
    },
    /// A revision is half-applied (MySQL/MariaDB).
    #[error("{revision}")]
    Dirty {
        /// The dirty revision.
        revision: DirtyRevision,
    },
    /// A statement of a migration failed.
    #[error(
        "{} of `{revision}` failed at {path}:{line}: {message}\n  note: {}",
        if matches!(direction, Direction::Up) { "upgrade" } else { "downgrade" },
        aftermath.describe(*direction)
    )]
    Statement {
        /// The revision.
        revision: String,
        /// Up or down.
        direction: Direction,
        /// Its file.
        path: String,
        /// The statement's first line in the file.
        line: u32,
        /// The database's message.
        message: String,
        /// What kind of failure the database reported, where it changes what to do.
        cause: StatementCause,
        /// What state the failure left behind.
        aftermath: Aftermath,
        /// The steps that completed (and are recorded) before this one.
        report: Box<Report>,
    },
    /// The run was cancelled; `report` says what completed before, `aftermath` what happened to
    /// the step that was running (if one was).
    #[error(
        "the run was cancelled{}",
        match (revision, aftermath) {
            (Some(r), Some(a)) => format!(" while `{r}` ran\n  note: {}", a.describe(Direction::Up)),
            (Some(r), None) => format!(" after `{r}` completed"),
            _ => " before any revision ran".to_owned(),
        }
    )]
    Cancelled {
        /// The revision running when the run was cancelled.
        revision: Option<String>,
        /// What the cancelled step left behind, when one was running.
        aftermath: Option<Aftermath>,
        /// The steps that completed (and are recorded) before the cancellation.
        report: Box<Report>,
    },
    /// A statement is larger than the MySQL server accepts in one packet; refused before
    /// anything ran.
    #[error(
        "a statement of `{revision}` at {path}:{line} is {size} bytes, more than this server accepts in one packet (max_allowed_packet = {limit} bytes); nothing was run"
    )]
    PacketTooLarge {
        /// The revision.
        revision: String,
        /// Its file.
        path: String,
        /// The statement's first line in the file.
        line: u32,
        /// The statement's size in bytes.
        size: usize,
        /// The server's `max_allowed_packet`.
        limit: usize,
    },
    /// The database is not at its head(s) (from [`Migrator::check`](crate::Migrator::check)).
    #[error(
        "the database is behind: {} revision(s) not applied ({})",
        pending.len(),
        pending.iter().take(10).cloned().collect::<Vec<_>>().join(", ") + if pending.len() > 10 { ", …" } else { "" }
    )]
    Behind {
        /// The revisions not applied, in order.
        pending: Vec<String>,
    },
    /// All-or-nothing mode cannot be honoured.
    #[error("all-or-nothing mode is not possible here: {reason}")]
    AllOrNothingRefused {
        /// Why.
        reason: String,
    },
    /// A downgrade would pass an irreversible revision.
    #[error("cannot downgrade past `{revision}` ({path}): it is irreversible: {reason}")]
    Irreversible {
        /// The revision.
        revision: String,
        /// Its file.
        path: String,
        /// Its stated reason.
        reason: String,
    },
    /// A resolution named a revision that is not the dirty one (or nothing is dirty).
    #[error("{}", match actual { Some(d) => format!("`{expected}` is not dirty; the dirty revision is `{}`", d.revision), None => format!("`{expected}` is not dirty; nothing is") })]
    NotDirty {
        /// The revision the caller expected to resolve.
        expected: String,
        /// The dirty revision, if any.
        actual: Option<DirtyRevision>,
    },
    /// A statement of a schema file failed in the scratch database it was being built in.
    #[error("{origin}:{line}: {message}")]
    Script {
        /// The file (or other origin) of the SQL.
        origin: String,
        /// The statement's first line.
        line: u32,
        /// The database's message.
        message: String,
    },
    /// A scratch database could not be created (or a schema could not be read).
    #[error("{context}: {message}")]
    Scratch {
        /// What was being done.
        context: String,
        /// The database's message.
        message: String,
    },
    /// The history or log tables could not be read or written.
    #[error("{context}: {message}")]
    Database {
        /// What was being done.
        context: String,
        /// The database's message.
        message: String,
        /// The driver's error, for callers that inspect it (`sqlx::Error::as_database_error`).
        #[source]
        source: Option<sqlx::Error>,
        /// When it stopped a run that had begun: what the run had completed (and recorded)
        /// before, and where its backup went.
        report: Option<Box<Report>>,
    },
}

/// Why a connection failed, decided from the driver's error (its type, the server's error code)
/// and never from its text; it chooses [`Error::help`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// The server did not answer, or refused for a reason not named below.
    Unreachable,
    /// The server has no database of the URL's name.
    NoSuchDatabase,
    /// The server refused the URL's user or password.
    RefusedLogin,
    /// TLS could not be negotiated or the server's certificate not verified.
    Tls,
    /// The server, or a pooler before it such as PgBouncer, refused the connection as it
    /// started (a protocol violation in PostgreSQL's terms): an unknown startup parameter, a
    /// database the pooler does not list, a full pooler.
    StartupRefused,
    /// The SQLite file to read does not exist (reading never creates one).
    MissingFile,
    /// The directory of the SQLite file does not exist.
    MissingDirectory,
    /// The run's lock file beside the SQLite file could not be opened.
    LockFile,
}

/// What kind of failure the database reported for a migration's statement, where it changes
/// what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatementCause {
    /// The statement cannot run inside a transaction (PostgreSQL's `CREATE INDEX CONCURRENTLY`,
    /// SQLite's `VACUUM`).
    InTransaction,
    /// The server or the session accepts no writes.
    ReadOnly,
    /// A lock the statement waited for (on a table or rows the app is using) did not come
    /// within the statement's lock timeout.
    LockWait,
    /// Anything else: the statement itself is wrong for this schema.
    Other,
}

/// What a failed statement left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aftermath {
    /// The revision's transaction was rolled back.
    RolledBack,
    /// The run's single transaction was rolled back.
    RolledBackAll,
    /// Statements before the failing one stay applied (`transaction: false`).
    Partial,
    /// The revision's statements all ran but its record could not be written.
    NotRecorded,
    /// The revision is recorded as dirty (MySQL).
    Dirty,
}

impl Aftermath {
    /// One sentence on the state left behind.
    pub fn describe(self, direction: Direction) -> &'static str {
        match (self, direction) {
            (Self::RolledBack, Direction::Up) => {
                "the revision was rolled back and is not recorded; revisions before it stay applied"
            }
            (Self::RolledBack, Direction::Down) => {
                "the downgrade was rolled back, so the revision is still applied; revisions reverted before it stay reverted"
            }
            (Self::RolledBackAll, _) => "the whole run was rolled back; nothing changed",
            (Self::Partial, _) => {
                "this revision runs outside a transaction (`transaction: false`), so the statements before this one stay applied and are not recorded; undo them or make them idempotent before running it again"
            }
            (Self::NotRecorded, _) => {
                "this revision runs outside a transaction (`transaction: false`); its statements ran but it could not be recorded"
            }
            (Self::Dirty, _) => {
                "MySQL committed part of it (DDL commits implicitly), so the revision is now recorded as dirty and every run refuses to continue until it is resolved"
            }
        }
    }
}

fn short(checksum: &str) -> &str {
    checksum.get(..12).unwrap_or(checksum)
}

fn humantime_secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{:.1} s", d.as_secs_f64()) }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Irreversible { revision, path, reason } => Self::Irreversible { revision, path, reason },
            other => Self::Plan(other),
        }
    }
}

impl Error {
    /// The error's category.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Plan(_) | Self::Irreversible { .. } => ErrorKind::Plan,
            Self::Graph(_) => ErrorKind::Graph,
            Self::UnsupportedUrl { .. } | Self::UnencodedPassword { .. } | Self::Connect { .. } => {
                ErrorKind::Connection
            }
            Self::LockTimeout { .. } | Self::LockLost { .. } => ErrorKind::Lock,
            Self::Changed { .. } => ErrorKind::Changed,
            Self::UnknownApplied { .. } | Self::SquashPruned { .. } => ErrorKind::Unknown,
            Self::Dirty { .. } | Self::NotDirty { .. } => ErrorKind::Dirty,
            Self::Statement { .. } | Self::PacketTooLarge { .. } => ErrorKind::Statement,
            Self::Behind { .. } => ErrorKind::Behind,
            Self::AllOrNothingRefused { .. } => ErrorKind::Refused,
            Self::Cancelled { .. } => ErrorKind::Cancelled,
            Self::ReadOnly { .. } | Self::RollingSchemaUpgrade { .. } => ErrorKind::ReadOnly,
            Self::Database { .. } | Self::Backup { .. } => ErrorKind::Database,
            Self::Script { .. } | Self::Scratch { .. } => ErrorKind::Schema,
        }
    }

    /// This error as the end of a run that had begun: a database error or a lock timeout then
    /// carries what the run had done (the other errors of a run carry it already).
    pub(crate) fn stopping(mut self, done: Report) -> Self {
        if let Self::Database { report, .. } | Self::LockTimeout { report, .. } = &mut self {
            *report = Some(Box::new(done));
        }
        self
    }

    /// This error with `accepted` (the checksums the run recorded before its first step) in the
    /// report of what the run had done.
    pub(crate) fn with_accepted(mut self, accepted: Vec<String>) -> Self {
        if let Some(report) = self.partial_mut() {
            report.accepted = accepted;
        }
        self
    }

    /// What a run that stopped part-way had applied (and recorded) before it stopped.
    pub fn partial(&self) -> Option<&Report> {
        match self {
            Self::Statement { report, .. } | Self::Cancelled { report, .. } | Self::LockLost { report, .. } => {
                Some(report.as_ref())
            }
            Self::Database { report, .. } | Self::LockTimeout { report, .. } => report.as_deref(),
            _ => None,
        }
    }

    /// [`partial`](Self::partial), to amend.
    fn partial_mut(&mut self) -> Option<&mut Report> {
        match self {
            Self::Statement { report, .. } | Self::Cancelled { report, .. } | Self::LockLost { report, .. } => {
                Some(report.as_mut())
            }
            Self::Database { report, .. } | Self::LockTimeout { report, .. } => report.as_deref_mut(),
            _ => None,
        }
    }

    /// What to do next, when there is something to say: the command-line way (`cargo migrate …`,
    /// or the same words after an app's own `migrate` command) and the API way.
    pub fn help(&self) -> Option<String> {
        self.help_with(true)
    }

    /// [`help`](Self::help) for a person at the command line: the command-line way only.
    pub fn command_line_help(&self) -> Option<String> {
        self.help_with(false)
    }

    fn help_with(&self, api: bool) -> Option<String> {
        // The API way, after the command-line way.
        let or = |call: &str| if api { format!(" (or `{call}`)") } else { String::new() };
        Some(match self {
            Self::Plan(_) | Self::Graph(_) | Self::Database { .. } | Self::AllOrNothingRefused { .. } => return None,
            Self::Behind { .. } => format!("run the upgrade: `cargo migrate upgrade`{}", or("Migrator::upgrade")),
            Self::UnsupportedUrl { hint, .. } if hint.is_empty() => {
                "use sqlite:path.db, postgres://user@host/db or mysql://user@host/db".to_owned()
            }
            Self::UnsupportedUrl { .. } => return None,
            Self::UnencodedPassword { .. } => "percent-encode special characters in the password (`@` as `%40`, `/` as `%2F`, `?` as `%3F`, `#` as `%23`, `%` as `%25`, a space as `%20`)".to_owned(),
            Self::Connect { reason: ConnectFailure::StartupRefused, .. } => {
                "a pooler (PgBouncer) or the server refused the connection as it started, for the reason in the message: an `unsupported startup parameter` goes into PgBouncer's `ignore_startup_parameters` (or out of the URL); a `no such database` into its `[databases]`; `max_client_conn` means the pooler is full".to_owned()
            }
            Self::Connect { reason: ConnectFailure::Tls, .. } => {
                "check the URL's TLS settings: `sslmode=require` (PostgreSQL) or `ssl-mode=required` (MySQL) encrypts; `verify-ca`/`verify-full` also need `sslrootcert=<CA file>`".to_owned()
            }
            Self::Connect { reason: ConnectFailure::NoSuchDatabase, .. } => {
                "create it on the server first (`CREATE DATABASE <name>`, or `createdb <name>` for PostgreSQL), or fix its name in the URL: a run creates tables, never server databases".to_owned()
            }
            Self::Connect { reason: ConnectFailure::RefusedLogin, .. } => {
                "check the user and password in the URL (special characters in the password percent-encoded, `@` as `%40`), and that the server lets this user in from here".to_owned()
            }
            Self::Connect { reason: ConnectFailure::MissingDirectory, .. } => {
                "create the directory, or check the URL's path (`sqlite://relative.db`, `sqlite:///absolute/path.db`)".to_owned()
            }
            Self::Connect { reason: ConnectFailure::MissingFile, .. } => {
                format!("reading never creates a database: check the URL, or create it by applying the migrations: `cargo migrate upgrade`{}", or("Migrator::upgrade"))
            }
            Self::Connect { reason: ConnectFailure::LockFile, .. } => {
                "a run locks that file, beside the database file: let this user create and write it there (a directory or a read-only file in its place stops it)".to_owned()
            }
            Self::Connect { .. } => "check that the server is running and that the URL is right".to_owned(),
            Self::Backup { tool_missing: true, .. } => "install the database's client tools (`postgresql-client` for pg_dump, `mariadb-client` for mariadb-dump), or run without a backup".to_owned(),
            Self::Backup { .. } => "fix what the tool says (permissions, disk space, the URL), or run without a backup".to_owned(),
            Self::ReadOnly { .. } => "point the URL at the primary (read commands such as `current` and `status` work on a replica)".to_owned(),
            Self::RollingSchemaUpgrade { .. } => format!("run it through a node in Total Order Isolation (`SET GLOBAL wsrep_OSU_method = 'TOI'`); for a Rolling Schema Upgrade, apply the DDL node by node by hand and record it once with `cargo migrate stamp <rev>`{}", or("Migrator::stamp")),
            Self::LockTimeout { leased: true, .. } => format!("wait for that run to finish (a run that died is taken over once its lease runs out), or raise the lock timeout: `lock_timeout` in [package.metadata.migrate]{}", or("Options::lock_timeout")),
            Self::LockTimeout { .. } => format!("wait for that run to finish, or raise the lock timeout: `lock_timeout` in [package.metadata.migrate]{}", or("Options::lock_timeout")),
            Self::LockLost { .. } => format!("another run took over: check its output, then `cargo migrate status`; if the heartbeat could not reach the database in time, raise `lock_lease`{}", or("Options::lock_lease")),
            Self::Changed { changed } => format!(
                "restore the files, or accept the change explicitly to record the new checksum: `cargo migrate upgrade --accept-changed {}`{}",
                changed.first().map_or("<revision>", |c| c.revision.as_str()),
                or("Options::accept_changed")
            ),
            Self::SquashPruned { squash, .. } => format!("restore the files `{squash}` replaces from version control (they were removed by `cargo migrate squash --prune`), run the upgrade to finish the range with them, then remove them again"),
            Self::UnknownApplied { .. } => "run a build that includes them (the database may have been upgraded by a newer version), or remove their records with `cargo migrate stamp --purge <target>` if they are truly gone".to_owned(),
            Self::Dirty { revision } => format!(
                "inspect the database, then either finish the revision by hand and mark it applied, or undo its partial effects and mark it unapplied (the next upgrade runs it again): `cargo migrate resolve {} --applied | --unapplied`{}",
                revision.revision,
                or("Migrator::resolve_dirty")
            ),
            Self::Statement { aftermath: Aftermath::Dirty, revision, .. } => format!(
                "fix the statement, inspect what it left, then `cargo migrate resolve {revision} --applied | --unapplied`{}",
                or("Migrator::resolve_dirty")
            ),
            Self::Statement { cause: StatementCause::InTransaction, .. } => {
                "this statement cannot run inside a transaction: add `-- transaction: false` to the revision's header".to_owned()
            }
            Self::Statement { cause: StatementCause::LockWait, .. } => {
                "another session holds a lock this statement needs (the app's open transactions, a long query): find it (PostgreSQL `pg_locks` and `pg_stat_activity`, MySQL `SHOW PROCESSLIST`), then run again, or when traffic is lower".to_owned()
            }
            Self::Statement { cause: StatementCause::ReadOnly, .. } => {
                "this server accepts no writes (a read-only replica or transaction); point the URL at the primary".to_owned()
            }
            Self::Statement { .. } => "fix the statement in the file and run again".to_owned(),
            Self::Cancelled { .. } => "run the same command again to continue from where it stopped".to_owned(),
            Self::PacketTooLarge { size, .. } => format!(
                "raise the server's limit (`SET GLOBAL max_allowed_packet = {}` as an administrator, and `max_allowed_packet` in the server's configuration so it survives a restart), or split the statement into smaller ones (e.g. several INSERTs)",
                size.next_power_of_two().max(1 << 20)
            ),
            Self::Irreversible { revision, .. } => {
                format!("downgrade to `{revision}` or later, or stamp if the schema was changed by hand")
            }
            Self::NotDirty { actual: Some(d), .. } => format!("resolve `{}` instead, if that is the one you inspected", d.revision),
            Self::NotDirty { actual: None, .. } => "nothing needs resolving".to_owned(),
            Self::Script { origin, line, .. } => format!(
                "fix the statement at {origin}:{line}; it ran in a scratch database, so nothing else was touched"
            ),
            Self::Scratch { .. } => format!("schema commands build schemas in scratch databases on the server: give the user the right to create databases (PostgreSQL `ALTER ROLE … CREATEDB`, MySQL `GRANT ALL ON *.*`), or point `dev_url` in [package.metadata.migrate] (or `--dev-url`) at a server where it may{}", or("Migrator::with_dev_database")),
        })
    }
}
