//! `migrate!()`: embeds a migrations directory in the binary and fails the build when the chain
//! is broken.
//!
//! The macro reads every `*.sql` file of the directory at compile time, parses and validates them
//! with the same loader the `cargo migrate` CLI and the runtime use, and expands to a
//! [`migrate_core::Migrations`] value: every revision's parsed header, its SQL and its checksum,
//! as `'static` data. It can initialise a `const` or a `static`, or be used as an expression.
//!
//! ```
//! use migrate_core::Migrations;
//! use migrate_macros::migrate;
//!
//! // `migrations/` next to this package's Cargo.toml.
//! const MIGRATIONS: Migrations = migrate!();
//!
//! let graph = MIGRATIONS.graph().unwrap();
//! assert_eq!(graph.heads()[0].revision, "b7e1c2d3f4a5");
//! assert_eq!(MIGRATIONS.migrations[0].message, "Create the users table");
//! ```
//!
//! # Arguments
//!
//! - `migrate!()` embeds `migrations/` beside the calling package's `Cargo.toml`.
//! - `migrate!("db/migrations")` embeds a directory relative to that `Cargo.toml`; an absolute
//!   path is accepted too.
//! - `migrate!("../migrations")`: a path that starts with `./` or `../` is relative to the
//!   directory of the source file that calls the macro, as with `include_str!`. This is how a
//!   file outside any package (a test case compiled from a scratch project, for instance) points
//!   at its own migrations.
//! - `branches = ["expand", "contract"]` (alone or after the path) declares branch labels kept
//!   as heads on purpose: each declared label must then have exactly one head, and every head
//!   must be on one of them. Without it the chain must have exactly one head.
//!
//! ```ignore
//! static MIGRATIONS: Migrations = migrate!("db/migrations", branches = ["expand", "contract"]);
//! ```
//!
//! # Errors
//!
//! Every problem is reported at once, one error each, with the file, line and column, what is
//! wrong and how to fix it; paths are shown relative to the package:
//!
//! ```text
//! error: migrations/3f2a9c1b7d4e_add_email.sql:7:1: revision `3f2a9c1b7d4e` has no `-- migrate:down` section
//!          help: add `-- migrate:down` with SQL that undoes the upgrade, or `-- migrate:down irreversible: <reason>`
//! ```
//!
//! The macro then still produces a well-typed (empty) value, so no unrelated errors follow.
//!
//! # Rebuilds
//!
//! Each embedded file is referenced with `include_str!`, so editing a migration rebuilds the
//! crate that embeds it. A *new* file is only noticed when something else triggers a rebuild:
//! `cargo migrate init` adds `println!("cargo:rerun-if-changed=migrations")` to `build.rs` so new
//! files also trigger a rebuild.

mod args;
mod expand;

/// Embeds a migrations directory; see the [crate documentation](crate) for the arguments.
#[proc_macro]
pub fn migrate(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from);
    expand::expand(input.into(), manifest_dir.as_deref(), |span| span.unwrap().local_file()).into()
}
