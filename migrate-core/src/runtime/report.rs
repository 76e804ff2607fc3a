//! What the runtime returns: the report of a run, the rows of the history and log tables, and
//! where a database stands.

use std::time::Duration;

use super::error::{ChangedRevision, DirtyRevision};
use crate::plan::Direction;

/// What a run did, and where it left the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The steps this process ran (or recorded, for a stamp), in order.
    pub steps: Vec<StepReport>,
    /// The current revisions afterwards (applied revisions nothing applied depends on), as
    /// this run knows them: read under its lock and updated with each step; empty at base.
    pub current: Vec<String>,
    /// The backup written before the first change, when one was asked for and there was
    /// something to change.
    pub backup: Option<std::path::PathBuf>,
    /// The edited revisions whose new checksums this run recorded before its first step (those
    /// of [`Options::accept_changed`](crate::sql::Options::accept_changed) that were edited):
    /// recorded whatever became of the steps after.
    pub accepted: Vec<String>,
}

/// One step of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// The revision id.
    pub revision: String,
    /// Up or down.
    pub direction: Direction,
    /// How long it took, as seen by this process.
    pub duration: Duration,
}

/// One row of the history table: an applied revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRevision {
    /// The revision id.
    pub revision: String,
    /// Its parents when it was applied.
    pub parents: Vec<String>,
    /// Its message.
    pub message: String,
    /// The checksum recorded (64 hex characters).
    pub checksum: String,
    /// When it was applied, RFC 3339 in UTC (e.g. `2026-11-21T15:00:00.123456Z`).
    pub applied_at: String,
    /// How long its SQL took, when known.
    pub duration: Option<Duration>,
    /// Who applied it.
    pub applied_by: String,
    /// The tool version that applied it.
    pub tool_version: String,
    /// The direction in progress when the revision is dirty (MySQL).
    pub dirty: Option<Direction>,
    /// What failed, for a dirty revision.
    pub failure: Option<String>,
}

/// One row of the append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The row's sequence number.
    pub id: i64,
    /// The revision (`*` for a purge).
    pub revision: String,
    /// What happened: `upgrade`, `downgrade`, `stamp`, `unstamp`, `purge`, `accept_changed`,
    /// `mark_applied`, `mark_unapplied`, or `lock_takeover` (a run took over the lock-table
    /// claim of one that had stopped heartbeating; revision `*`).
    pub action: String,
    /// The revision's checksum at the time.
    pub checksum: Option<String>,
    /// When, RFC 3339 in UTC.
    pub logged_at: String,
    /// How long it took, when known.
    pub duration: Option<Duration>,
    /// Who did it.
    pub applied_by: String,
    /// The tool version.
    pub tool_version: String,
}

/// Where a database stands relative to this build's migrations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Applied revisions this build knows, in topological order.
    pub applied: Vec<String>,
    /// The applied revisions nothing applied depends on.
    pub current: Vec<String>,
    /// Revisions not applied yet, in the order an upgrade to every head would apply them.
    pub pending: Vec<String>,
    /// Applied revisions whose file changed since.
    pub changed: Vec<ChangedRevision>,
    /// Applied revisions this build does not have (their files are missing).
    pub missing: Vec<String>,
    /// A half-applied revision (MySQL).
    pub dirty: Option<DirtyRevision>,
    /// Squash revisions whose replaced ranges the database has applied in part. The other
    /// fields then name the revisions those squashes replace, as in
    /// [`RevisionGraph::expand`](crate::RevisionGraph::expand)`(&partway)`.
    pub partway: Vec<String>,
}

impl Status {
    /// Whether the database is exactly at this build's head(s): nothing pending, edited,
    /// missing or dirty. The one definition of "at head" every command and the API use.
    pub fn at_head(&self) -> bool {
        self.pending.is_empty() && self.changed.is_empty() && self.missing.is_empty() && self.dirty.is_none()
    }
}
