//! The applied state as recorded, judged against the graph: what is applied, unknown, edited or
//! dirty, the digest of it all, and the gate that refuses a run on a state it must not touch.

use std::time::Duration;

use super::error::{ChangedRevision, DirtyRevision, Error};
use super::io::TextRows;
use super::report::{AppliedRevision, LogEntry, Status};
use crate::graph::RevisionGraph;
use crate::plan::{Applied, Direction, Step};
use crate::sql::{StateDigest, hex};

/// One recorded row of the state query.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub revision: String,
    pub checksum: String,
    pub dirty: Option<Direction>,
    pub failure: Option<String>,
}

/// The recorded state, judged against the graph.
#[derive(Debug, Clone, Default)]
pub(crate) struct Judged {
    pub applied: Applied,
    pub unknown: Vec<String>,
    pub changed: Vec<ChangedRevision>,
    pub dirty: Option<DirtyRevision>,
    /// The digest of the applied rows as recorded (checksums as stored).
    pub digest: StateDigest,
}

fn col(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

fn ms(row: &[Option<String>], i: usize) -> Option<Duration> {
    col(row, i).and_then(|s| s.trim().parse::<f64>().ok()).map(|v| Duration::from_millis(v.max(0.0) as u64))
}

fn direction(s: Option<&str>) -> Option<Direction> {
    match s {
        Some("down") => Some(Direction::Down),
        Some(s) if !s.is_empty() => Some(Direction::Up),
        _ => None,
    }
}

/// The rows of `select_state`.
pub(crate) fn recorded(rows: TextRows) -> Vec<Recorded> {
    rows.into_iter()
        .map(|r| Recorded {
            revision: col(&r, 0).unwrap_or_default(),
            checksum: col(&r, 1).unwrap_or_default(),
            dirty: direction(col(&r, 2).as_deref()),
            failure: col(&r, 3),
        })
        .collect()
}

/// The rows of `select_digest`'s list (`revision:checksum,…`), or `None` when it was cut short
/// (MySQL's `group_concat_max_len`) or something is dirty: the locked path reads it all.
pub(crate) fn from_digest_row(row: &[Option<String>]) -> Option<Vec<Recorded>> {
    let count: usize = col(row, 0)?.parse().ok()?;
    if col(row, 1).as_deref() != Some("0") {
        return None;
    }
    let list = col(row, 2).unwrap_or_default();
    let rows: Vec<Recorded> = list
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|pair| pair.split_once(':'))
        .map(|(revision, checksum)| Recorded {
            revision: revision.to_owned(),
            checksum: checksum.to_owned(),
            dirty: None,
            failure: None,
        })
        .collect();
    (rows.len() == count).then_some(rows)
}

/// The rows of `select_history`.
pub(crate) fn history_rows(rows: TextRows) -> Vec<AppliedRevision> {
    rows.into_iter()
        .map(|r| AppliedRevision {
            revision: col(&r, 0).unwrap_or_default(),
            parents: col(&r, 1).unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            message: col(&r, 2).unwrap_or_default(),
            checksum: col(&r, 3).unwrap_or_default(),
            applied_at: col(&r, 4).unwrap_or_default(),
            duration: ms(&r, 5),
            applied_by: col(&r, 6).unwrap_or_default(),
            tool_version: col(&r, 7).unwrap_or_default(),
            dirty: direction(col(&r, 8).as_deref()),
            failure: col(&r, 9),
        })
        .collect()
}

/// The rows of `select_log`.
pub(crate) fn log_rows(rows: TextRows) -> Vec<LogEntry> {
    rows.into_iter()
        .map(|r| LogEntry {
            id: col(&r, 0).and_then(|s| s.parse().ok()).unwrap_or_default(),
            revision: col(&r, 1).unwrap_or_default(),
            action: col(&r, 2).unwrap_or_default(),
            checksum: col(&r, 3),
            logged_at: col(&r, 4).unwrap_or_default(),
            duration: ms(&r, 5),
            applied_by: col(&r, 6).unwrap_or_default(),
            tool_version: col(&r, 7).unwrap_or_default(),
        })
        .collect()
}

/// The recorded state as a graph with squash revisions reads it.
#[derive(Debug, Default)]
pub(crate) struct Squashed {
    /// The graph expanded back to the replaced files of every squash the database is partway
    /// through; `None` when it is partway through none.
    pub expanded: Option<RevisionGraph>,
    /// The rows, each fully recorded squashed range read as its squash revision.
    pub rows: Vec<Recorded>,
    /// The squash revisions (indices in the graph) whose ranges are recorded in full, so that
    /// a locked run rewrites those records.
    pub complete: Vec<usize>,
}

/// Reads `rows` through `graph`'s squash revisions: a range recorded in full counts as its
/// squash; a range recorded in part needs the graph expanded back to its files (or, when they
/// are gone, cannot go on).
pub(crate) fn squashed(graph: &RevisionGraph, mut rows: Vec<Recorded>) -> Result<Squashed, Error> {
    if graph.squashes().is_empty() {
        return Ok(Squashed { rows, ..Squashed::default() });
    }
    let mut complete = Vec::new();
    let mut expand = Vec::new();
    let by_id: std::collections::HashMap<&str, &Recorded> = rows.iter().map(|r| (r.revision.as_str(), r)).collect();
    let row = |id: &str| by_id.get(id).copied();
    for squash in graph.squashes() {
        let recorded: Vec<&String> = squash.replaces.iter().filter(|r| row(r).is_some()).collect();
        if recorded.is_empty() || row(&squash.revision).is_some() {
            // Nothing of the range, or stale records beside the squash's own (shown as unknown).
            continue;
        }
        if squash.replaces.iter().all(|r| row(r).is_some_and(|r| r.dirty.is_none())) {
            complete.extend(graph.index_of(&squash.revision));
        } else if squash.files_present {
            expand.push(squash.revision.clone());
        } else {
            return Err(Error::SquashPruned {
                squash: squash.revision.clone(),
                applied: recorded.into_iter().cloned().collect(),
                pending: squash.replaces.iter().filter(|r| row(r).is_none()).cloned().collect(),
            });
        }
    }
    for &i in &complete {
        let m = graph.migration(i);
        rows.retain(|r| !m.replaces.contains(&r.revision));
        rows.push(Recorded { revision: m.revision.clone(), checksum: hex(&m.checksum.0), dirty: None, failure: None });
    }
    let expanded = if expand.is_empty() { None } else { Some(graph.expand(&expand)?) };
    Ok(Squashed { expanded, rows, complete })
}

/// Judges recorded rows against `graph`.
pub(crate) fn judge(graph: &RevisionGraph, rows: &[Recorded]) -> Judged {
    let mut judged = Judged::default();
    let mut applied = Vec::with_capacity(rows.len());
    for r in rows {
        let known = graph.get(&r.revision);
        if let Some(direction) = r.dirty {
            judged.dirty = Some(DirtyRevision {
                revision: r.revision.clone(),
                direction,
                path: known.map(|m| m.path.clone()),
                failure: r.failure.clone(),
            });
            if direction == Direction::Up {
                continue;
            }
        }
        match known {
            None => judged.unknown.push(r.revision.clone()),
            Some(m) => {
                let current = hex(&m.checksum.0);
                if !r.checksum.eq_ignore_ascii_case(&current) {
                    judged.changed.push(ChangedRevision {
                        revision: r.revision.clone(),
                        path: m.path.clone(),
                        recorded: r.checksum.clone(),
                        current,
                    });
                }
            }
        }
        judged.digest.toggle(&r.revision, &r.checksum, true);
        applied.push(r.revision.clone());
    }
    judged.unknown.sort();
    judged.changed.sort_by(|a, b| a.path.cmp(&b.path));
    judged.applied = Applied::new(applied);
    judged
}

impl Judged {
    /// Refuses a run on a dirty, unknown or changed state (the accepted changes aside).
    pub fn gate(&self, accept_changed: &[String], allow_unknown: bool) -> Result<(), Error> {
        if let Some(revision) = &self.dirty {
            return Err(Error::Dirty { revision: revision.clone() });
        }
        if !allow_unknown && !self.unknown.is_empty() {
            return Err(Error::UnknownApplied { revisions: self.unknown.clone() });
        }
        let refused: Vec<ChangedRevision> =
            self.changed.iter().filter(|c| !accept_changed.contains(&c.revision)).cloned().collect();
        if !refused.is_empty() {
            return Err(Error::Changed { changed: refused });
        }
        Ok(())
    }

    /// Where the database stands.
    pub fn status(self, graph: &RevisionGraph) -> Status {
        let order = graph.topological_order();
        let applied_ids = |applied: bool| {
            order
                .iter()
                .filter(|&&i| self.applied.contains(&graph.migration(i).revision) == applied)
                .map(|&i| graph.migration(i).revision.clone())
                .collect::<Vec<_>>()
        };
        Status {
            applied: applied_ids(true),
            current: current(graph, &self.applied),
            pending: applied_ids(false),
            changed: self.changed,
            missing: self.unknown,
            dirty: self.dirty,
            partway: graph.expanded().to_vec(),
        }
    }
}

/// The current revisions of an applied set.
pub(crate) fn current(graph: &RevisionGraph, applied: &Applied) -> Vec<String> {
    graph.current_heads(applied).into_iter().map(|m| m.revision.clone()).collect()
}

/// Applies a step to a state digest.
pub(crate) fn toggle(graph: &RevisionGraph, digest: &mut StateDigest, step: Step) {
    let m = graph.migration(step.index);
    digest.toggle(&m.revision, &hex(&m.checksum.0), step.direction == Direction::Up);
}

/// Applies a step to a state digest and an applied set.
pub(crate) fn apply(graph: &RevisionGraph, digest: &mut StateDigest, applied: &mut Applied, step: Step) {
    toggle(graph, digest, step);
    let m = graph.migration(step.index);
    applied.set(&m.revision, step.direction == Direction::Up);
}
