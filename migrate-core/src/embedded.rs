//! Migrations embedded in a binary by `migrate!()`: plain `'static` data the runtime consumes.

use crate::checksum::Checksum;
use crate::graph::{HeadPolicy, RevisionGraph};
use crate::migration::{Down, Lines, Migration};
use crate::problem::Problems;

/// One migration as embedded by `migrate!()`: already parsed and checksummed at compile time.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigration {
    /// The file, relative to the package.
    pub path: &'static str,
    /// The revision id.
    pub revision: &'static str,
    /// Parents.
    pub down_revisions: &'static [&'static str],
    /// Extra ordering edges.
    pub depends_on: &'static [&'static str],
    /// Branch labels.
    pub branch_labels: &'static [&'static str],
    /// The revisions this one squashes (`-- replaces:`), oldest first.
    pub replaces: &'static [&'static str],
    /// The message.
    pub message: &'static str,
    /// The `created:` header, or empty.
    pub created: &'static str,
    /// Whether it runs in a transaction.
    pub transaction: bool,
    /// Upgrade SQL.
    pub up: &'static str,
    /// First line of the upgrade SQL.
    pub up_line: u32,
    /// The downgrade.
    pub down: EmbeddedDown,
    /// SHA-256 of the normalised file.
    pub checksum: [u8; 32],
}

/// The downgrade of an [`EmbeddedMigration`].
#[derive(Debug, Clone, Copy)]
pub enum EmbeddedDown {
    /// Downgrade SQL and the line it starts on.
    Sql(&'static str, u32),
    /// Irreversible, with the reason.
    Irreversible(&'static str),
    /// No downgrade section (only valid when the upgrade is empty, e.g. a merge).
    Missing,
}

/// Every migration of a directory, as embedded by `migrate!()`.
///
/// Build the [`RevisionGraph`] with [`Migrations::graph`]; with a database feature enabled, the
/// runtime methods (`upgrade`, `downgrade`, …) are available on it too.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// The migrations, sorted by file name.
    pub migrations: &'static [EmbeddedMigration],
    /// Branch labels declared as intentional heads (empty: a single head).
    pub branches: &'static [&'static str],
}

impl Migrations {
    /// No migrations (also what `migrate!()` expands to after reporting errors).
    pub const EMPTY: Self = Self { migrations: &[], branches: &[] };

    /// Builds the validated graph.
    ///
    /// A value made by `migrate!()` was validated when the crate was compiled, so this only
    /// fails for hand-built values.
    pub fn graph(&self) -> Result<RevisionGraph, Problems> {
        let graph = RevisionGraph::new(self.migrations.iter().map(EmbeddedMigration::to_migration).collect())?;
        graph.check_heads(&self.head_policy())?;
        Ok(graph)
    }

    /// The head policy declared to the macro.
    pub fn head_policy(&self) -> HeadPolicy {
        if self.branches.is_empty() {
            HeadPolicy::Single
        } else {
            HeadPolicy::Branches(self.branches.iter().map(|s| (*s).to_owned()).collect())
        }
    }
}

impl EmbeddedMigration {
    /// The owned, parsed form.
    pub fn to_migration(&self) -> Migration {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Migration {
            path: self.path.to_owned(),
            revision: self.revision.to_owned(),
            down_revisions: owned(self.down_revisions),
            depends_on: owned(self.depends_on),
            branch_labels: owned(self.branch_labels),
            replaces: owned(self.replaces),
            message: self.message.to_owned(),
            created: (!self.created.is_empty()).then(|| self.created.to_owned()),
            transaction: self.transaction,
            up: self.up.to_owned(),
            up_line: self.up_line,
            down: match self.down {
                EmbeddedDown::Sql(sql, line) => Down::Sql { sql: sql.to_owned(), line },
                EmbeddedDown::Irreversible(reason) => Down::Irreversible { reason: reason.to_owned() },
                EmbeddedDown::Missing => Down::Missing,
            },
            checksum: Checksum(self.checksum),
            lines: Lines::default(),
        }
    }
}
