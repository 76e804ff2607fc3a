//! Revision-graph database migrations: the pure model (parser, graph, planner, checksums) and,
//! behind the `sqlite`, `postgres` and `mysql` features, the runtime that applies it with sqlx.
//!
//! The same loader and validator serve the `migrate!()` macro, the `cargo migrate` CLI and the
//! runtime, so a chain that compiles is the chain that runs.
//!
//! ```
//! use migrate_core::{parse, RevisionGraph, HeadPolicy, Target, Applied};
//!
//! let base = parse("m/a.sql", "-- revision: aaaa\n-- down_revision:\n-- migrate:up\nCREATE TABLE t(x int);\n-- migrate:down\nDROP TABLE t;\n").unwrap();
//! let next = parse("m/b.sql", "-- revision: bbbb\n-- down_revision: aaaa\n-- migrate:up\nALTER TABLE t ADD y int;\n-- migrate:down\nALTER TABLE t DROP y;\n").unwrap();
//! let graph = RevisionGraph::new(vec![base, next]).unwrap();
//! graph.check_heads(&HeadPolicy::Single).unwrap();
//! let plan = graph.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
//! assert_eq!(plan.revisions(&graph), ["aaaa", "bbbb"]);
//! ```
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod checksum;
#[cfg(feature = "codegen")]
#[doc(hidden)]
pub mod codegen;
mod embedded;
#[doc(hidden)]
pub mod fuzzing;
mod graph;
#[cfg(feature = "lint")]
pub mod lint;
mod migration;
mod parse;
mod plan;
mod problem;
mod rebase;
#[cfg(feature = "runtime")]
mod runtime;
pub mod schema;
mod secret;
mod source;
pub mod sql;
mod squash;
mod target;
pub mod text;

pub use checksum::{Checksum, normalize};
pub use embedded::{EmbeddedDown, EmbeddedMigration, Migrations};
pub use graph::{HeadPolicy, RevisionGraph};
pub use migration::{Down, Migration, is_valid_id, is_valid_label};
pub use parse::{parse, parse_bytes};
pub use plan::{Applied, Direction, Plan, PlanError, Step};
pub use problem::{Location, Problem, ProblemKind, Problems};
pub use rebase::{RebaseError, rewrite_down_revision};
#[cfg(feature = "runtime")]
pub use runtime::*;
pub use secret::{password_needs_encoding, redact_url, scrub_url, split_password, url_passwords};
pub use source::{
    Listing, Loaded, SourceFile, fingerprint, load_dir, load_files, load_listing, read_dir, read_listing,
};
pub use sql::{Event, LockMode, Options};
pub use squash::{Squash, SquashError};
pub use target::{Range, Target, TargetParseError};
