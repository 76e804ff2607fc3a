//! The runtime: applies a revision graph to SQLite, PostgreSQL and MySQL/MariaDB with sqlx —
//! exactly once under a lock, a transaction per migration (or one for the whole run), checksums
//! and dirty states checked before anything changes.
//!
//! [`Migrator`] holds the policy (read, judge, gate, plan, loop); one backend file per
//! database holds what differs. How each keeps a run exactly-once:
//!
//! - **PostgreSQL**: a session advisory lock (keyed by the history table's name) on a connection
//!   of the run's own, held across `transaction: false` steps; closing that connection releases
//!   it, so an error, a panic or a killed process never leaves it behind. Each migration's SQL,
//!   its history row and its log row are one transaction, sent in one round trip.
//! - **MySQL/MariaDB**: `GET_LOCK` on a connection of the run's own. Each step is one
//!   transaction whose first write marks the revision dirty; DDL commits implicitly (and the
//!   mark with it), so a failure after DDL leaves the revision dirty and every later run refuses
//!   until [`Migrator::resolve_dirty`] says how it ended, while a step that only changes data
//!   rolls back whole. (While a step runs, [`Migrator::check`] from elsewhere sees it as dirty.)
//! - **SQLite**: an OS lock on `<database>-migrate.lock` beside a file database, held for the
//!   whole run and released by the operating system when the process ends (SIGKILL included), so
//!   `transaction: false` steps run once too; each step is a `BEGIN IMMEDIATE` transaction that
//!   waits up to the lock timeout for other writers, with its history row first so a writer that
//!   bypasses the lock still hits the primary key. In-memory databases live in one process.
//!
//! The applied state is re-read under the lock, and every applied checksum is compared before
//! anything changes. A run with nothing to do takes no lock: it compares one value (the digest
//! of the applied state recorded by the newest log row) with the one this build expects.

mod backend;
mod backup;
mod cancel;
mod db;
mod drift;
mod embedded;
mod error;
mod fleet;
mod io;
mod lock;
mod migrator;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod probe;
mod records;
mod report;
mod scratch;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod server;
#[cfg(feature = "sqlite")]
mod sqlite;
mod stairway;
mod state;
mod steps;

/// The sqlx this crate is built with, for building pools of a matching version.
pub use sqlx;

pub use backup::Backup;
pub use cancel::Cancel;
pub use db::{CONNECT_TIMEOUT, Db};
pub use drift::Drift;
pub use error::{
    Aftermath, ChangedRevision, ConnectFailure, DirtyRevision, Error, ErrorKind, Resolution, StatementCause,
};
pub use fleet::{FleetOp, FleetOutcome, FleetResult};
pub use migrator::Migrator;
pub use probe::LastState;
pub use report::{AppliedRevision, LogEntry, Report, Status, StepReport};
pub use scratch::{Scratch, drop_scratch_databases, schema_of_script};
pub use stairway::{StairwayOutcome, StairwayReport, StairwayStep};
