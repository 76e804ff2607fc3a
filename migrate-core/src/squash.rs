//! Squash revisions (`-- replaces: a, b, c`): one revision standing for a linear range of older
//! ones. The graph sets the replaced files aside and reads every reference to a replaced id as
//! the squash; a database partway through the range is planned on the graph *expanded* back to
//! the replaced files ([`RevisionGraph::expand`]); [`RevisionGraph::squash`] writes a new one.

use std::collections::{HashMap, HashSet};

use crate::graph::RevisionGraph;
use crate::migration::{Down, Lines, Migration};
use crate::problem::{Problem, ProblemKind, Problems};

/// A squash revision of a graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Squash {
    /// The squash revision's id.
    pub revision: String,
    /// The revisions it replaces, oldest first.
    pub replaces: Vec<String>,
    /// Whether the replaced files are still here, so that a database partway through them can
    /// finish the range with them.
    pub files_present: bool,
}

/// What the squashes of a set of files set aside, and the ids that stand for others.
#[derive(Debug, Clone, Default)]
pub(crate) struct Squashes {
    /// Files not in the graph: replaced revisions still present, and expanded squash revisions.
    aside: Vec<Migration>,
    /// A replaced id → the id standing for it (in an expanded graph: the squash's id → the last
    /// revision it replaces).
    aliases: HashMap<String, String>,
    /// The squash revisions in the graph.
    active: Vec<Squash>,
    /// The squash revisions expanded in this graph.
    expanded: Vec<String>,
}

impl Squashes {
    /// Splits `files` into the graph's revisions and what squashes set aside, expanding the
    /// squashes named in `expand`. Problems go to `problems`.
    pub(crate) fn partition(
        files: Vec<Migration>,
        expand: &[String],
        problems: &mut Vec<Problem>,
    ) -> (Vec<Migration>, Self) {
        if files.iter().all(|m| m.replaces.is_empty()) {
            return (files, Self::default());
        }
        let position: HashMap<&str, usize> = files.iter().enumerate().map(|(i, m)| (m.revision.as_str(), i)).collect();
        let mut replaced_by: HashMap<&str, usize> = HashMap::new();
        for (i, m) in files.iter().enumerate().filter(|(_, m)| m.is_squash()) {
            for r in &m.replaces {
                if *r == m.revision {
                    problems
                        .push(Problem::new(ProblemKind::SelfReference { revision: r.clone() }, m.at(m.lines.replaces)));
                } else if let Some(&first) = replaced_by.get(r.as_str()) {
                    let first = &files[first];
                    problems.push(Problem::new(
                        ProblemKind::ReplacedTwice { revision: r.clone(), first: first.at(first.lines.replaces) },
                        m.at(m.lines.replaces),
                    ));
                } else {
                    replaced_by.insert(r, i);
                }
            }
        }
        let mut out = Self::default();
        let mut set_aside = vec![false; files.len()];
        for (i, m) in files.iter().enumerate().filter(|(_, m)| m.is_squash()) {
            let (present, missing): (Vec<&String>, Vec<&String>) =
                m.replaces.iter().filter(|r| **r != m.revision).partition(|r| position.contains_key(r.as_str()));
            if !present.is_empty() && !missing.is_empty() {
                let owned = |v: &[&String]| v.iter().map(|s| (*s).clone()).collect();
                problems.push(Problem::new(
                    ProblemKind::PartlyPruned {
                        squash: m.revision.clone(),
                        missing: owned(&missing),
                        present: owned(&present),
                    },
                    m.at(m.lines.replaces),
                ));
            }
            for r in &present {
                let inner = &files[position[r.as_str()]];
                if inner.replaces.iter().any(|x| position.contains_key(x.as_str())) {
                    problems.push(Problem::new(
                        ProblemKind::NestedSquash { squash: m.revision.clone(), inner: inner.revision.clone() },
                        m.at(m.lines.replaces),
                    ));
                }
            }
            let files_present = missing.is_empty();
            if expand.contains(&m.revision) && files_present {
                set_aside[i] = true;
                if let Some(last) = m.replaces.last() {
                    out.aliases.insert(m.revision.clone(), last.clone());
                }
                out.expanded.push(m.revision.clone());
            } else {
                for r in &m.replaces {
                    out.aliases.insert(r.clone(), m.revision.clone());
                    if let Some(&j) = position.get(r.as_str()) {
                        set_aside[j] = true;
                    }
                }
            }
        }
        for m in files.iter().zip(&set_aside).filter(|(m, aside)| m.is_squash() && !**aside).map(|(m, _)| m) {
            let present = m.replaces.iter().all(|r| position.contains_key(r.as_str()));
            out.active.push(Squash {
                revision: m.revision.clone(),
                replaces: m.replaces.clone(),
                files_present: present,
            });
            if present {
                out.check_chain(m, &files, &position, problems);
            }
        }
        let mut kept = Vec::with_capacity(files.len());
        for (i, m) in files.into_iter().enumerate() {
            if set_aside[i] { out.aside.push(m) } else { kept.push(m) }
        }
        (kept, out)
    }

    /// Checks that the present replaced files of `squash` form its chain: the first has the
    /// squash's parents, each next one the one before it.
    fn check_chain(
        &self,
        squash: &Migration,
        files: &[Migration],
        position: &HashMap<&str, usize>,
        problems: &mut Vec<Problem>,
    ) {
        let canonical_set =
            |ids: &[String]| -> HashSet<String> { ids.iter().map(|id| self.canonical(id).to_owned()).collect() };
        let mut expected: Vec<String> = squash.down_revisions.clone();
        for (k, r) in squash.replaces.iter().enumerate() {
            let Some(&j) = position.get(r.as_str()) else { return };
            let m = &files[j];
            // The first has the squash's parents (read through other squashes), each next one
            // exactly the one before it.
            let fits = if k == 0 {
                canonical_set(&m.down_revisions) == canonical_set(&expected)
            } else {
                m.down_revisions == expected
            };
            if !fits {
                problems.push(Problem::new(
                    ProblemKind::NotAChain { squash: squash.revision.clone(), revision: m.revision.clone(), expected },
                    m.at(m.lines.down_revision),
                ));
                return;
            }
            expected = vec![m.revision.clone()];
        }
    }

    /// The id standing for `id` in this graph (`id` itself unless a squash replaces it).
    pub(crate) fn canonical<'a>(&'a self, id: &'a str) -> &'a str {
        let mut at = id;
        for _ in 0..=self.aliases.len() {
            match self.aliases.get(at) {
                Some(next) => at = next,
                None => break,
            }
        }
        at
    }
}

/// Why a range cannot be squashed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SquashError {
    /// `from` is not an ancestor of `to` along single parents.
    #[error("`{to}` does not descend from `{from}` along one line of single parents")]
    NotALine {
        /// The range's first revision.
        from: String,
        /// The range's last revision.
        to: String,
    },
    /// A revision inside the range (not the first) joins several parents.
    #[error("`{revision}` is a merge inside the range; a squash replaces a linear range")]
    Merge {
        /// The merge revision.
        revision: String,
    },
    /// A revision inside the range (not the last) has a child outside it.
    #[error("`{revision}` inside the range has another child, `{child}`, outside it")]
    Branches {
        /// The branch point.
        revision: String,
        /// A child outside the range.
        child: String,
    },
    /// The range holds one revision.
    #[error("the range holds only `{revision}`; a squash replaces two or more revisions")]
    TooShort {
        /// The only revision.
        revision: String,
    },
    /// Some revisions of the range run in a transaction and others do not.
    #[error("`{revision}` runs outside a transaction (`transaction: false`) and others in the range do not")]
    MixedTransaction {
        /// The first revision that differs.
        revision: String,
    },
    /// A revision of the range is a squash whose replaced files are still here.
    #[error("`{revision}` is itself a squash whose replaced files are still here")]
    Nested {
        /// The inner squash.
        revision: String,
    },
    /// The graph with the squash would not be valid.
    #[error("the squash would leave the graph invalid:\n{0}")]
    Invalid(Problems),
}

impl SquashError {
    /// What to do about it.
    pub fn help(&self) -> String {
        match self {
            Self::NotALine { .. } | Self::Merge { .. } | Self::Branches { .. } => {
                "squash a stretch of the chain with no branch or merge inside it (`cargo migrate history` shows the chain)".into()
            }
            Self::TooShort { .. } => "give a range of two or more revisions: `<oldest>:<newest>`".into(),
            Self::MixedTransaction { .. } => {
                "squash the revisions before it and after it separately, and keep it on its own".into()
            }
            Self::Nested { revision } => {
                format!("prune its replaced files first (`cargo migrate squash --prune {revision}`)")
            }
            Self::Invalid(_) => "choose another range".into(),
        }
    }
}

impl RevisionGraph {
    /// The squash revisions in this graph.
    pub fn squashes(&self) -> &[Squash] {
        &self.squash_parts().active
    }

    /// The squash revisions this graph was expanded for ([`expand`](Self::expand)).
    pub fn expanded(&self) -> &[String] {
        &self.squash_parts().expanded
    }

    /// The index of the revision standing for `id` when a squash replaces it.
    pub fn replaced_by(&self, id: &str) -> Option<usize> {
        let canonical = self.squash_parts().canonical(id);
        if canonical == id { None } else { self.index_of(canonical) }
    }

    /// The revision `id` in this graph, or a replaced file still present that a squash sets
    /// aside (to name what a run finishing a squashed range applied).
    pub fn find(&self, id: &str) -> Option<&Migration> {
        self.get(id).or_else(|| self.squash_parts().aside.iter().find(|m| m.revision == id))
    }

    /// Every file the graph was built from, in input order: its revisions, and when squashes
    /// set some aside, those too (then sorted by path, the order files are read in).
    pub fn files(&self) -> Vec<&Migration> {
        let mut all: Vec<&Migration> = (0..self.len()).map(|i| self.migration(i)).collect();
        if !self.squash_parts().aside.is_empty() {
            all.extend(&self.squash_parts().aside);
            all.sort_by(|a, b| a.path.cmp(&b.path));
        }
        all
    }

    /// The replaced files still present that `squash` (or any squash, with `None`) sets aside.
    pub fn replaced_files(&self, squash: Option<&str>) -> Vec<&Migration> {
        let parts = self.squash_parts();
        parts
            .aside
            .iter()
            .filter(|m| !parts.expanded.contains(&m.revision))
            .filter(|m| {
                squash.is_none_or(|s| self.replaced_by(&m.revision).is_some_and(|i| self.migration(i).revision == s))
            })
            .collect()
    }

    /// This graph with the squash revisions `squashes` replaced by the files they replace (for
    /// a database partway through them). A squash whose files are gone stays as it is.
    pub fn expand(&self, squashes: &[String]) -> Result<RevisionGraph, Problems> {
        let files: Vec<Migration> = self.files().into_iter().cloned().collect();
        let mut expand: Vec<String> = self.expanded().to_vec();
        expand.extend(squashes.iter().cloned());
        RevisionGraph::build(files, &expand)
    }

    /// The revision squashing the linear range `from..=to` (indices), with id `id` and `message`:
    /// the range's parents, dependencies and labels, its upgrades in order and its downgrades in
    /// reverse. The graph it would make is checked before it is returned.
    pub fn squash(&self, from: usize, to: usize, id: &str, message: &str) -> Result<Migration, SquashError> {
        let name = |i: usize| self.migration(i).revision.clone();
        let mut range = vec![to];
        let mut at = to;
        while at != from {
            let parents = self.parents(at);
            match parents {
                [one] => at = *one,
                [] => return Err(SquashError::NotALine { from: name(from), to: name(to) }),
                _ => return Err(SquashError::Merge { revision: name(at) }),
            }
            range.push(at);
        }
        range.reverse();
        if range.len() < 2 {
            return Err(SquashError::TooShort { revision: name(to) });
        }
        for pair in range.windows(2) {
            if let Some(&child) = self.children(pair[0]).iter().find(|&&c| c != pair[1]) {
                return Err(SquashError::Branches { revision: name(pair[0]), child: name(child) });
            }
        }
        let members: Vec<&Migration> = range.iter().map(|&i| self.migration(i)).collect();
        if let Some(m) = members.iter().find(|m| m.transaction != members[0].transaction) {
            return Err(SquashError::MixedTransaction {
                revision: if members[0].transaction { m.revision.clone() } else { members[0].revision.clone() },
            });
        }
        if let Some(m) = members.iter().find(|m| m.is_squash() && !self.replaced_files(Some(&m.revision)).is_empty()) {
            return Err(SquashError::Nested { revision: m.revision.clone() });
        }
        let ids: Vec<String> = members.iter().map(|m| m.revision.clone()).collect();
        // A dependency the squash's parents already bring adds nothing.
        let below: Vec<String> = self.ancestors(from).into_iter().map(name).collect();
        let mut depends_on: Vec<String> = Vec::new();
        let mut branch_labels: Vec<String> = Vec::new();
        for m in &members {
            for d in &m.depends_on {
                let d = self.squash_parts().canonical(d).to_owned();
                if !ids.contains(&d) && !below.contains(&d) && !depends_on.contains(&d) {
                    depends_on.push(d);
                }
            }
            branch_labels.extend(m.branch_labels.iter().cloned());
        }
        let section = |m: &Migration, sql: &str| -> String {
            let sql = sql.trim_matches('\n');
            if sql.trim().is_empty() { String::new() } else { format!("-- {}: {}\n{sql}\n", m.revision, m.message) }
        };
        let up: Vec<String> = members.iter().map(|m| section(m, &m.up)).filter(|s| !s.is_empty()).collect();
        let irreversible: Vec<String> = members
            .iter()
            .filter_map(|m| match &m.down {
                Down::Irreversible { reason } => Some(format!("{}: {reason}", m.revision)),
                _ => None,
            })
            .collect();
        let down = if irreversible.is_empty() {
            let sql: Vec<String> = members
                .iter()
                .rev()
                .filter_map(|m| m.down_sql().map(|d| section(m, d)))
                .filter(|s| !s.is_empty())
                .collect();
            Down::Sql { sql: sql.join("\n"), line: 0 }
        } else {
            Down::Irreversible { reason: irreversible.join("; ") }
        };
        let first = members[0];
        let squash = Migration {
            path: format!("{id}.sql"),
            revision: id.to_owned(),
            down_revisions: first.down_revisions.clone(),
            depends_on,
            branch_labels,
            replaces: ids,
            message: message.to_owned(),
            created: None,
            transaction: first.transaction,
            up: up.join("\n"),
            up_line: 0,
            down,
            checksum: crate::Checksum::of(""),
            lines: Lines::default(),
        };
        let mut files: Vec<Migration> = self.iter().cloned().collect();
        files.extend(self.squash_parts().aside.iter().cloned());
        files.push(squash.clone());
        RevisionGraph::new(files).map_err(SquashError::Invalid)?;
        Ok(squash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn rev(id: &str, parents: &str, extra: &str) -> Migration {
        let text = format!(
            "-- revision: {id}\n-- down_revision: {parents}\n{extra}-- migrate:up\nCREATE TABLE {id} (x int);\n-- migrate:down\nDROP TABLE {id};\n"
        );
        parse(&format!("m/{id}.sql"), &text).unwrap()
    }

    fn squash_of(id: &str, parents: &str, replaces: &str) -> Migration {
        rev(id, parents, &format!("-- replaces: {replaces}\n"))
    }

    fn chain() -> Vec<Migration> {
        vec![rev("a1", "", ""), rev("b2", "a1", ""), rev("c3", "b2", ""), rev("d4", "c3", "")]
    }

    fn kinds(files: Vec<Migration>) -> Vec<ProblemKind> {
        RevisionGraph::new(files).unwrap_err().into_iter().map(|p| p.kind).collect()
    }

    #[test]
    fn a_squash_stands_for_what_it_replaces() {
        let mut files = chain();
        files.push(squash_of("s9", "a1", "b2, c3"));
        let g = RevisionGraph::new(files).unwrap();
        let ids: Vec<&str> = g.iter().map(|m| m.revision.as_str()).collect();
        assert_eq!(ids, ["a1", "s9", "d4"], "d4's parent c3 reads as s9");
        assert_eq!(g.replaced_by("c3"), g.index_of("s9"));
        assert_eq!(g.replaced_by("b2"), g.index_of("s9"));
        assert_eq!(g.replaced_by("d4"), None);
        assert_eq!(g.squashes()[0].replaces, ["b2", "c3"]);
        assert!(g.squashes()[0].files_present);
        assert_eq!(g.replaced_files(Some("s9")).len(), 2);

        let e = g.expand(&["s9".into()]).unwrap();
        let ids: Vec<&str> = e.iter().map(|m| m.revision.as_str()).collect();
        assert_eq!(ids, ["a1", "b2", "c3", "d4"]);
        assert!(e.squashes().is_empty());
        assert_eq!(e.expanded(), ["s9"]);
        assert!(e.replaced_files(None).is_empty());
    }

    #[test]
    fn children_written_after_the_squash_follow_the_last_replaced_when_expanded() {
        let mut files = chain();
        files.retain(|m| m.revision != "d4");
        files.push(squash_of("s9", "a1", "b2, c3"));
        files.push(rev("e5", "s9", ""));
        let g = RevisionGraph::new(files).unwrap();
        let e = g.expand(&["s9".into()]).unwrap();
        let e5 = e.index_of("e5").unwrap();
        assert_eq!(e.parents(e5), [e.index_of("c3").unwrap()]);
    }

    #[test]
    fn pruned_squashes_keep_their_aliases() {
        let files = vec![rev("a1", "", ""), squash_of("s9", "a1", "b2, c3"), rev("d4", "c3", "")];
        let g = RevisionGraph::new(files).unwrap();
        assert!(!g.squashes()[0].files_present);
        assert_eq!(g.parents(g.index_of("d4").unwrap()), [g.index_of("s9").unwrap()]);
        let e = g.expand(&["s9".into()]).unwrap();
        assert!(e.expanded().is_empty(), "a squash whose files are gone stays as it is");
    }

    #[test]
    fn bad_squashes_are_problems() {
        let mut files = chain();
        files.retain(|m| m.revision != "c3");
        files.push(squash_of("s9", "a1", "b2, c3"));
        assert!(matches!(kinds(files)[..], [ProblemKind::PartlyPruned { .. }]));

        let mut files = chain();
        files.push(squash_of("s9", "a1", "c3, b2"));
        assert!(kinds(files).iter().any(|k| matches!(k, ProblemKind::NotAChain { .. })));

        let mut files = chain();
        files.push(squash_of("s9", "a1", "b2, c3"));
        files.push(squash_of("s8", "b2", "c3, d4"));
        assert!(kinds(files).iter().any(|k| matches!(k, ProblemKind::ReplacedTwice { .. })));

        let mut files = chain();
        files.push(squash_of("s9", "a1", "s9, b2"));
        assert!(kinds(files).iter().any(|k| matches!(k, ProblemKind::SelfReference { .. })));
    }

    #[test]
    fn squash_builds_the_range() {
        let g = RevisionGraph::new(chain()).unwrap();
        let (b, c) = (g.index_of("b2").unwrap(), g.index_of("c3").unwrap());
        let s = g.squash(b, c, "s9", "squashed").unwrap();
        assert_eq!(s.down_revisions, ["a1"]);
        assert_eq!(s.replaces, ["b2", "c3"]);
        assert!(s.up.find("CREATE TABLE b2").unwrap() < s.up.find("CREATE TABLE c3").unwrap());
        let down = s.down_sql().unwrap();
        assert!(down.find("DROP TABLE c3").unwrap() < down.find("DROP TABLE b2").unwrap());

        assert!(matches!(g.squash(c, c, "s9", "x"), Err(SquashError::TooShort { .. })));
        assert!(matches!(g.squash(c, b, "s9", "x"), Err(SquashError::NotALine { .. })));
    }

    #[test]
    fn squash_refuses_mixed_transactions_and_squashes_of_present_squashes() {
        let mut files = chain();
        files[2] = rev("c3", "b2", "-- transaction: false\n");
        let g = RevisionGraph::new(files).unwrap();
        let (a, d) = (g.index_of("a1").unwrap(), g.index_of("d4").unwrap());
        assert!(
            matches!(g.squash(a, d, "s9", "x"), Err(SquashError::MixedTransaction { revision }) if revision == "c3")
        );

        let mut files = chain();
        files.push(squash_of("s8", "a1", "b2, c3"));
        let g = RevisionGraph::new(files).unwrap();
        let (s8, d) = (g.index_of("s8").unwrap(), g.index_of("d4").unwrap());
        assert!(matches!(g.squash(s8, d, "s9", "x"), Err(SquashError::Nested { revision }) if revision == "s8"));
        // In the files themselves, the same nesting is a problem of the graph.
        let mut files = chain();
        files.push(squash_of("s8", "a1", "b2, c3"));
        files.push(squash_of("s9", "a1", "s8, d4"));
        assert!(kinds(files).iter().any(|k| matches!(k, ProblemKind::NestedSquash { .. })));
    }

    #[test]
    fn squash_refuses_branches_inside_the_range() {
        let mut files = chain();
        files.push(rev("x7", "b2", ""));
        let g = RevisionGraph::new(files).unwrap();
        let (a, c) = (g.index_of("a1").unwrap(), g.index_of("c3").unwrap());
        assert!(matches!(g.squash(a, c, "s9", "x"), Err(SquashError::Branches { .. })));
    }
}
