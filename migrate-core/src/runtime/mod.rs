//! The runtime: applies a revision graph to SQLite, PostgreSQL and MySQL/MariaDB with sqlx —
//! exactly once under a lock, a transaction per migration (or one for the whole run), checksums
//! and dirty states checked before anything changes.

#[macro_use]
mod conn;
mod db;
mod embedded;
mod error;
mod migrator;

/// The sqlx this crate is built with, for building pools of a matching version.
pub use sqlx;

pub use db::{CONNECT_TIMEOUT, Db, redact_url};
pub use error::{Aftermath, ChangedRevision, DirtyRevision, Error, ErrorKind, Resolution};
pub use migrator::{AppliedRevision, LogEntry, Migrator, Report, Status, StepReport};
