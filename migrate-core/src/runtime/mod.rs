//! The runtime: applies a revision graph to SQLite, PostgreSQL and MySQL/MariaDB with sqlx —
//! exactly once under a lock, a transaction per migration (or one for the whole run), checksums
//! and dirty states checked before anything changes.
//!
//! How each backend keeps a run exactly-once:
//!
//! - **PostgreSQL**: a session advisory lock (keyed by the history table's name) on a connection
//!   of the run's own, held across `transaction: false` steps; closing that connection releases
//!   it, so an error, a panic or a killed process never leaves it behind. Each migration's SQL,
//!   its history row and its log row are one transaction, sent in one round trip.
//! - **MySQL/MariaDB**: `GET_LOCK` on a connection of the run's own. DDL commits implicitly, so a
//!   step's history row is written first, marked dirty, and cleared when its last statement
//!   succeeds; a dirty row stops every later run until [`Migrator::resolve_dirty`] says how it
//!   ended. (While a step runs, [`Migrator::check`] from elsewhere sees it as dirty too.)
//! - **SQLite**: an OS lock on `<database>-migrate.lock` beside a file database, held for the
//!   whole run and released by the operating system when the process ends (SIGKILL included), so
//!   `transaction: false` steps run once too; each step is a `BEGIN IMMEDIATE` transaction that
//!   waits up to the lock timeout for other writers, with its history row first so a writer that
//!   bypasses the lock still hits the primary key. In-memory databases live in one process.
//!
//! The applied state is re-read under the lock, and every applied checksum is compared before
//! anything changes. A run with nothing to do takes no lock: it compares one value (the digest
//! of the applied state recorded by the newest log row) with the one this build expects.

#[macro_use]
mod conn;
mod db;
mod embedded;
mod error;
mod migrator;

/// The sqlx this crate is built with, for building pools of a matching version.
pub use sqlx;

pub use db::{CONNECT_TIMEOUT, Db};
pub use error::{Aftermath, ChangedRevision, DirtyRevision, Error, ErrorKind, Resolution};
pub use migrator::{AppliedRevision, LogEntry, Migrator, Report, Status, StepReport};
