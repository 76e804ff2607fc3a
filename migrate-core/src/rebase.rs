//! Rebasing: moving an unmerged branch of revisions onto another revision so that the chain is
//! linear again, instead of joining the heads with a merge revision. Pure: it says what the
//! moved revision's parents become, after checking that the result is a valid chain; the caller
//! rewrites the one header line.

use crate::graph::RevisionGraph;
use crate::migration::Migration;
use crate::problem::Problems;

/// Why a rebase is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RebaseError {
    /// The revision is already on top of the target.
    #[error("`{revision}` already has `{onto}` as its only parent")]
    AlreadyThere {
        /// The revision.
        revision: String,
        /// The target.
        onto: String,
    },
    /// The target descends from the revision (or is the revision): the chain would loop.
    #[error("`{onto}` descends from `{revision}`, so `{revision}` cannot be moved onto it")]
    OntoDescendant {
        /// The revision.
        revision: String,
        /// The target.
        onto: String,
    },
    /// A descendant of the revision is a merge point or a `depends_on` target of another branch:
    /// the branch is already joined, and moving it would move what the other side relies on.
    #[error("`{revision}` is already merged: `{joined}` joins its branch with another one")]
    Merged {
        /// The revision.
        revision: String,
        /// The descendant where another branch joins.
        joined: String,
    },
    /// A merge revision cannot be moved: it has several parents by design.
    #[error("`{revision}` is a merge revision; rebase the revisions of one of its branches instead")]
    MergeRevision {
        /// The revision.
        revision: String,
    },
    /// The moved chain is not valid (heads or labels would clash).
    #[error("the chain would not be valid after the rebase:\n{0}")]
    Invalid(Problems),
}

impl RevisionGraph {
    /// The parents revision `index` gets when its branch is moved onto `onto`: `[onto]`, after
    /// checking that the branch from `index` to its head is not merged into anything, that
    /// `onto` does not descend from it, and that the graph stays valid.
    pub fn rebase(&self, index: usize, onto: usize) -> Result<Vec<String>, RebaseError> {
        let m = self.migration(index);
        let target = self.migration(onto).revision.clone();
        let revision = m.revision.clone();
        if m.down_revisions.len() > 1 {
            return Err(RebaseError::MergeRevision { revision });
        }
        if m.down_revisions == [target.clone()] {
            return Err(RebaseError::AlreadyThere { revision, onto: target });
        }
        let moved: Vec<usize> = std::iter::once(index).chain(self.descendants(index)).collect();
        if moved.contains(&onto) {
            return Err(RebaseError::OntoDescendant { revision, onto: target });
        }
        // Unmerged: nothing outside the moved branch has a parent or a dependency inside it, and
        // nothing inside it (but the revision itself) has a parent outside it. A dependency from
        // inside on a revision elsewhere is fine: it still holds after the move.
        let inside = |id: &String| self.index_of(id).is_some_and(|p| moved.contains(&p));
        for i in 0..self.len() {
            let m = self.migration(i);
            let joined = if moved.contains(&i) {
                i != index && m.down_revisions.iter().any(|p| !inside(p))
            } else {
                m.down_revisions.iter().chain(&m.depends_on).any(inside)
            };
            if joined {
                return Err(RebaseError::Merged { revision, joined: m.revision.clone() });
            }
        }
        let parents = vec![target];
        let migrations: Vec<Migration> = (0..self.len())
            .map(|i| {
                let mut m = self.migration(i).clone();
                if i == index {
                    m.down_revisions = parents.clone();
                }
                m
            })
            .collect();
        RevisionGraph::new(migrations).map_err(RebaseError::Invalid)?;
        Ok(parents)
    }
}

/// `text` (a migration file) with its `-- down_revision:` value replaced by `parents`, every
/// other byte kept as it was (line endings included). `None` when the file has no such line.
pub fn rewrite_down_revision(text: &str, parents: &[String]) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let is_key = !done
            && body.trim_start().strip_prefix("--").is_some_and(|rest| rest.trim_start().starts_with("down_revision:"));
        if is_key {
            let at = body.find("down_revision:").map_or(0, |p| p + "down_revision:".len());
            out.push_str(&body[..at]);
            if !parents.is_empty() {
                out.push(' ');
                out.push_str(&parents.join(", "));
            }
            out.push_str(ending);
            done = true;
        } else {
            out.push_str(line);
        }
    }
    done.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn rev(id: &str, parents: &str, extra: &str) -> Migration {
        let text = format!(
            "-- revision: {id}\n-- down_revision: {parents}\n{extra}-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"
        );
        parse(&format!("m/{id}.sql"), &text).unwrap_or_else(|e| panic!("{e}"))
    }

    /// a ─ b ─ c (ours)   a ─ x ─ y (theirs)
    fn two_heads() -> RevisionGraph {
        RevisionGraph::new(vec![
            rev("a", "", ""),
            rev("b", "a", ""),
            rev("c", "b", ""),
            rev("x", "a", ""),
            rev("y", "x", ""),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_branch_moves_onto_the_other_head() {
        let g = two_heads();
        let (b, y) = (g.index_of("b").unwrap_or(0), g.index_of("y").unwrap_or(0));
        assert_eq!(g.rebase(b, y).unwrap_or_default(), ["y"]);
        let a = g.index_of("a").unwrap_or(0);
        assert!(matches!(g.rebase(b, a), Err(RebaseError::AlreadyThere { .. })));
        let c = g.index_of("c").unwrap_or(0);
        assert!(matches!(g.rebase(b, c), Err(RebaseError::OntoDescendant { .. })));
    }

    #[test]
    fn merged_branches_and_merge_revisions_stay() {
        let merged =
            RevisionGraph::new(vec![rev("a", "", ""), rev("b", "a", ""), rev("x", "a", ""), rev("m", "b, x", "")])
                .unwrap_or_else(|e| panic!("{e}"));
        let (b, x, m) =
            (merged.index_of("b").unwrap_or(0), merged.index_of("x").unwrap_or(0), merged.index_of("m").unwrap_or(0));
        assert!(matches!(merged.rebase(b, x), Err(RebaseError::Merged { .. })));
        assert!(matches!(merged.rebase(m, x), Err(RebaseError::MergeRevision { .. })));
        // y (their branch) depends on c (ours): our branch is joined through depends_on.
        let depended = RevisionGraph::new(vec![
            rev("a", "", ""),
            rev("b", "a", ""),
            rev("c", "b", ""),
            rev("x", "a", ""),
            rev("y", "x", "-- depends_on: c\n"),
            rev("z", "y", ""),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let (b, x) = (depended.index_of("b").unwrap_or(0), depended.index_of("x").unwrap_or(0));
        let r = depended.rebase(b, x);
        assert!(matches!(r, Err(RebaseError::Merged { .. })), "y depends on c: {r:?}");
        // Moving ours onto theirs when theirs depends on ours would loop.
        let z = depended.index_of("z").unwrap_or(0);
        assert!(matches!(depended.rebase(b, z), Err(RebaseError::OntoDescendant { .. })));
    }

    #[test]
    fn only_the_down_revision_line_changes() {
        let text = "-- revision: b\r\n-- down_revision: a\r\n-- message: keep: this\r\n-- migrate:up\r\nSELECT 1; -- down_revision: not this\r\n";
        let out = rewrite_down_revision(text, &["y".to_owned()]).unwrap_or_default();
        assert_eq!(out, text.replacen("-- down_revision: a\r\n", "-- down_revision: y\r\n", 1));
        assert_eq!(rewrite_down_revision("-- revision: b\n", &[]), None);
    }
}
