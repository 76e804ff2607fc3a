//! One parsed migration file: its header, its SQL sections and where each came from.

use crate::checksum::Checksum;
use crate::problem::Location;

/// One revision, parsed from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Where the file is, as shown to people (usually relative to the package).
    pub path: String,
    /// The revision id (`-- revision:`), `[A-Za-z0-9_]+`.
    pub revision: String,
    /// The parents (`-- down_revision:`): none for a base, two or more for a merge.
    pub down_revisions: Vec<String>,
    /// Extra ordering edges to revisions on other branches (`-- depends_on:`).
    pub depends_on: Vec<String>,
    /// Names for the branch this revision starts (`-- branch_labels:`).
    pub branch_labels: Vec<String>,
    /// The linear range of older revisions this one squashes, oldest first (`-- replaces:`);
    /// empty for an ordinary revision. See [`crate::Squash`].
    pub replaces: Vec<String>,
    /// What the revision does (`-- message:`).
    pub message: String,
    /// When it was created (`-- created:`), as written.
    pub created: Option<String>,
    /// Whether it runs inside a transaction (`-- transaction: false` turns that off).
    pub transaction: bool,
    /// The upgrade SQL.
    pub up: String,
    /// The 1-based line of the first line of the upgrade SQL.
    pub up_line: u32,
    /// The downgrade.
    pub down: Down,
    /// The checksum of the whole normalised file.
    pub checksum: Checksum,
    /// Lines of the header keys and section markers, for messages that point at them.
    pub lines: Lines,
}

/// The downgrade section of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Down {
    /// SQL that undoes the upgrade; `line` is the 1-based line of its first line.
    Sql {
        /// The SQL text.
        sql: String,
        /// The first line of the SQL in the file.
        line: u32,
    },
    /// `-- migrate:down irreversible: <reason>`.
    Irreversible {
        /// Why the revision cannot be undone.
        reason: String,
    },
    /// No `-- migrate:down` section at all.
    Missing,
}

/// 1-based lines of the parts of a file that messages point at (0 when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    /// `-- revision:`.
    pub revision: u32,
    /// `-- down_revision:`.
    pub down_revision: u32,
    /// `-- depends_on:`.
    pub depends_on: u32,
    /// `-- branch_labels:`.
    pub branch_labels: u32,
    /// `-- replaces:`.
    pub replaces: u32,
    /// `-- migrate:up`.
    pub up: u32,
    /// `-- migrate:down`.
    pub down: u32,
}

impl Migration {
    /// A location in this migration's file.
    pub fn at(&self, line: u32) -> Location {
        Location::new(&self.path, line.max(1), 1)
    }

    /// Whether this revision squashes older ones (`-- replaces:`).
    pub fn is_squash(&self) -> bool {
        !self.replaces.is_empty()
    }

    /// Whether this revision joins two or more parents.
    pub fn is_merge(&self) -> bool {
        self.down_revisions.len() > 1
    }

    /// Whether the upgrade section holds anything besides whitespace and comments.
    pub fn has_up_sql(&self) -> bool {
        !is_blank_sql(&self.up)
    }

    /// The downgrade SQL, if the revision has one.
    pub fn down_sql(&self) -> Option<&str> {
        match &self.down {
            Down::Sql { sql, .. } => Some(sql),
            _ => None,
        }
    }
}

/// Whether `id` is a valid revision id: one or more of `[A-Za-z0-9_]`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether `label` is a valid branch label: one or more of `[A-Za-z0-9_.-]`.
pub fn is_valid_label(label: &str) -> bool {
    !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Whether `sql` holds only whitespace, `--` line comments and `/* */` block comments.
pub(crate) fn is_blank_sql(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if rest.is_empty() {
            return true;
        }
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail).trim_start();
        } else if let Some(after) = rest.strip_prefix("/*") {
            match after.split_once("*/") {
                Some((_, tail)) => rest = tail.trim_start(),
                None => return true,
            }
        } else {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["kilo", "x2s8ocx6rto6", "Ibac91d24da2", "a_b", "1"] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", "a-b", "a b", "é", "a.b"] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn blank_sql() {
        assert!(is_blank_sql(""));
        assert!(is_blank_sql("  \n-- nothing here\n/* or here */\n"));
        assert!(!is_blank_sql("-- comment\nDROP TABLE t;"));
        assert!(!is_blank_sql("/* c */ SELECT 1"));
    }
}
