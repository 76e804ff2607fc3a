//! The planner: from the set of applied revisions and a target, the ordered list of up or down
//! steps, with Alembic's semantics (a downgrade to `<rev>` removes only `<rev>`'s descendants).

use std::collections::HashSet;

use crate::graph::RevisionGraph;
use crate::migration::Down;
use crate::target::{Range, Target};

/// The revisions recorded as applied in a database (ids, possibly unknown to the graph).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied(HashSet<String>);

impl Applied {
    /// The applied set from recorded ids.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        Self(ids.into_iter().map(Into::into).collect())
    }

    /// Records `id` as applied (or not).
    pub fn set(&mut self, id: &str, applied: bool) {
        if applied {
            self.0.insert(id.to_owned());
        } else {
            self.0.remove(id);
        }
    }

    /// Whether `id` is applied.
    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    /// How many revisions are applied.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is applied.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Applied ids that `graph` does not know (their files are missing), sorted.
    pub fn unknown<'a>(&'a self, graph: &RevisionGraph) -> Vec<&'a str> {
        let mut out: Vec<&str> = self.0.iter().filter(|id| graph.index_of(id).is_none()).map(String::as_str).collect();
        out.sort_unstable();
        out
    }

    fn mask(&self, graph: &RevisionGraph) -> Vec<bool> {
        let mut mask = vec![false; graph.len()];
        for id in &self.0 {
            if let Some(i) = graph.index_of(id) {
                mask[i] = true;
            }
        }
        mask
    }
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Apply the upgrade SQL.
    Up,
    /// Apply the downgrade SQL.
    Down,
}

/// One step of a plan: run revision `index` in `direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The revision's index in the graph.
    pub index: usize,
    /// Which way.
    pub direction: Direction,
}

/// An ordered list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The revision ids of the steps, in order.
    pub fn revisions<'g>(&self, graph: &'g RevisionGraph) -> Vec<&'g str> {
        self.steps.iter().map(|s| graph.migration(s.index).revision.as_str()).collect()
    }

    fn up(indices: Vec<usize>) -> Self {
        Self { steps: indices.into_iter().map(|index| Step { index, direction: Direction::Up }).collect() }
    }

    fn down(mut indices: Vec<usize>) -> Self {
        indices.reverse();
        Self { steps: indices.into_iter().map(|index| Step { index, direction: Direction::Down }).collect() }
    }
}

/// Why a target could not be planned. Every variant says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// No revision has this id or prefix.
    #[error("no revision `{id}`{}; `cargo migrate history` lists them", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownRevision {
        /// What was typed.
        id: String,
        /// A close id, if any.
        suggestion: Option<String>,
    },
    /// A revision inside a squashed range, where a database that is not partway through it
    /// cannot stop (the last one of a range stands for the squash).
    #[error(
        "`{id}` is inside the range squashed into `{squash}`; a database not partway through that range can only stop before or after it (at `{squash}`)"
    )]
    InsideSquash {
        /// What was typed.
        id: String,
        /// The squash revision.
        squash: String,
    },
    /// A prefix matches several revisions.
    #[error("`{prefix}` is ambiguous: it matches {}; type more characters", candidates.join(", "))]
    AmbiguousPrefix {
        /// What was typed.
        prefix: String,
        /// Every matching id.
        candidates: Vec<String>,
    },
    /// A prefix shorter than 4 characters.
    #[error("`{prefix}` is not a revision id, and prefixes need at least 4 characters")]
    PrefixTooShort {
        /// What was typed.
        prefix: String,
    },
    /// No revision declares this branch label.
    #[error("no branch labelled `{label}`{}", if known.is_empty() { String::new() } else { format!("; known labels: {}", known.join(", ")) })]
    UnknownLabel {
        /// What was typed.
        label: String,
        /// The labels that exist.
        known: Vec<String>,
    },
    /// `head` was asked for but there are no revisions at all.
    #[error(
        "`{target}` names a head, but there are no revisions yet; `cargo migrate new -m \"...\"` creates the first"
    )]
    NoRevisions {
        /// The target as typed.
        target: String,
    },
    /// `head` was asked for but there are several heads.
    #[error("`{target}` needs a single head, but there are {}: {}; use `heads` for all of them, `<label>@head` for one branch, or join them with `cargo migrate merge`", heads.len(), heads.join(", "))]
    MultipleHeads {
        /// The target as typed.
        target: String,
        /// The heads.
        heads: Vec<String>,
    },
    /// A relative step could go more than one way.
    #[error("`{target}` is ambiguous from here: it could go to {}; name the revision or the branch (`<label>@{target}`) instead", candidates.join(" or "))]
    AmbiguousWalk {
        /// The target as typed.
        target: String,
        /// The ways it could go.
        candidates: Vec<String>,
    },
    /// A relative step goes past the end of the chain.
    #[error("`{target}` asks for {}, but {} from here", count(*requested, "step", "steps"), possible(*available))]
    NotEnough {
        /// The target as typed.
        target: String,
        /// Steps asked for.
        requested: u64,
        /// Steps possible.
        available: u64,
    },
    /// A relative target in the wrong direction (`upgrade -1`).
    #[error("`{target}` goes the other way; use `{suggestion}`")]
    WrongDirection {
        /// The target as typed.
        target: String,
        /// The command that does it.
        suggestion: String,
    },
    /// An offline range that cannot be planned as written (no start for a downgrade, no end, or
    /// an upgrade whose end is not above its start).
    #[error("`{range}` {problem}; {suggestion}")]
    Range {
        /// The range as given.
        range: String,
        /// What is wrong with it.
        problem: String,
        /// What to write instead.
        suggestion: String,
    },
    /// A downgrade target that is not applied.
    #[error("`{revision}` is not applied, so it is not a downgrade target (applied heads: {})", if current.is_empty() { "none".to_owned() } else { current.join(", ") })]
    NotApplied {
        /// The target revision.
        revision: String,
        /// The applied heads.
        current: Vec<String>,
    },
    /// The downgrade would pass an irreversible revision.
    #[error("cannot downgrade past `{revision}` ({path}): it is irreversible: {reason}")]
    Irreversible {
        /// The irreversible revision.
        revision: String,
        /// Its file.
        path: String,
        /// Its stated reason.
        reason: String,
    },
}

impl RevisionGraph {
    /// Resolves an id or a unique prefix (4+ characters) to an index.
    pub fn resolve(&self, id: &str) -> Result<usize, PlanError> {
        if let Some(i) = self.index_of(id) {
            return Ok(i);
        }
        if let Some(s) = self.replaced_by(id) {
            let squash = self.migration(s);
            return match squash.replaces.last() {
                Some(last) if last == id => Ok(s),
                _ => Err(PlanError::InsideSquash { id: id.to_owned(), squash: squash.revision.clone() }),
            };
        }
        let candidates: Vec<usize> = (0..self.len()).filter(|&i| self.migration(i).revision.starts_with(id)).collect();
        if id.len() < 4 {
            return Err(if candidates.is_empty() {
                let keyword = crate::problem::closest(id, ["head", "heads", "base"]).map(str::to_owned);
                PlanError::UnknownRevision { id: id.to_owned(), suggestion: keyword }
            } else {
                PlanError::PrefixTooShort { prefix: id.to_owned() }
            });
        }
        match candidates.as_slice() {
            [one] => Ok(*one),
            [] => Err(PlanError::UnknownRevision {
                id: id.to_owned(),
                suggestion: if let Some(k) = crate::problem::closest(id, ["head", "heads", "base"]) {
                    Some(k.to_owned())
                } else if self.len() <= 10_000 {
                    crate::problem::closest(id, (0..self.len()).map(|i| self.migration(i).revision.as_str()))
                        .map(str::to_owned)
                } else {
                    None
                },
            }),
            many => {
                let mut candidates: Vec<String> = many.iter().map(|&i| self.migration(i).revision.clone()).collect();
                candidates.sort();
                Err(PlanError::AmbiguousPrefix { prefix: id.to_owned(), candidates })
            }
        }
    }

    fn resolve_label(&self, label: &str) -> Result<usize, PlanError> {
        self.label(label).ok_or_else(|| PlanError::UnknownLabel {
            label: label.to_owned(),
            known: self.labels().into_iter().map(|(l, _)| l.to_owned()).collect(),
        })
    }

    fn single_head(&self, target: &Target, heads: Vec<usize>) -> Result<usize, PlanError> {
        match heads.as_slice() {
            [one] => Ok(*one),
            [] => Err(PlanError::NoRevisions { target: target.to_string() }),
            _ => Err(PlanError::MultipleHeads { target: target.to_string(), heads: self.ids(&heads) }),
        }
    }

    fn ids(&self, indices: &[usize]) -> Vec<String> {
        indices.iter().map(|&i| self.migration(i).revision.clone()).collect()
    }

    /// Walks `n` steps from `from` (forward through children, back through parents); each step
    /// must be unambiguous. Stepping back from a base reaches `None` (base).
    fn walk_from(&self, target: &Target, from: usize, n: i64) -> Result<Option<usize>, PlanError> {
        let mut at = Some(from);
        for k in 0..n.unsigned_abs() {
            let Some(cur) = at else {
                return Err(PlanError::NotEnough {
                    target: target.to_string(),
                    requested: n.unsigned_abs(),
                    available: k,
                });
            };
            let next = if n > 0 { self.children(cur) } else { self.parents(cur) };
            at = match next {
                [] if n < 0 => None,
                [] => {
                    return Err(PlanError::NotEnough {
                        target: target.to_string(),
                        requested: n.unsigned_abs(),
                        available: k,
                    });
                }
                [one] => Some(*one),
                many => {
                    return Err(PlanError::AmbiguousWalk { target: target.to_string(), candidates: self.ids(many) });
                }
            };
        }
        Ok(at)
    }

    /// The revision a non-relative target names, or `None` for `base`.
    fn destinations(&self, target: &Target) -> Result<Option<Vec<usize>>, PlanError> {
        Ok(Some(match target {
            Target::Base => return Ok(None),
            Target::Head => vec![self.single_head(target, self.head_indices())?],
            Target::Heads => self.head_indices(),
            Target::Revision(id) => vec![self.resolve(id)?],
            Target::RevisionRelative(id, n) => match self.walk_from(target, self.resolve(id)?, *n)? {
                Some(i) => vec![i],
                None => return Ok(None),
            },
            Target::LabelHead(label) => vec![self.single_head(target, self.branch_heads(self.resolve_label(label)?))?],
            Target::LabelBase(label) => vec![self.resolve_label(label)?],
            Target::Relative(_) | Target::LabelRelative(..) => {
                unreachable!("relative targets are planned step by step")
            }
        }))
    }

    /// Plans an upgrade from `applied` to `target`: every missing ancestor of the target, parents first.
    pub fn plan_upgrade(&self, applied: &Applied, target: &Target) -> Result<Plan, PlanError> {
        let mut mask = applied.mask(self);
        match target {
            Target::Relative(n) | Target::LabelRelative(_, n) if *n < 0 => {
                Err(PlanError::WrongDirection { target: target.to_string(), suggestion: format!("downgrade {target}") })
            }
            Target::Relative(n) => self.step_up(&mut mask, target, *n, None),
            Target::LabelRelative(label, n) => {
                let scope = self.branch_mask(self.resolve_label(label)?);
                self.step_up(&mut mask, target, *n, Some(&scope))
            }
            _ => Ok(match self.destinations(target)? {
                None => Plan::default(),
                Some(dest) => Plan::up(self.missing_ancestors(&mut mask, &dest)),
            }),
        }
    }

    /// The applied state of a database exactly at `target`: the target and everything it needs
    /// (nothing for `base`).
    pub fn applied_at(&self, target: &Target) -> Result<Applied, PlanError> {
        let plan = self.plan_upgrade(&Applied::default(), target)?;
        Ok(Applied::new(plan.revisions(self)))
    }

    /// Plans an offline run over `range` (`from:to`, as `upgrade --sql` takes it): the database
    /// is taken to be exactly at `from` (at base when open); `to` defaults to `head` for an
    /// upgrade. A downgrade needs both ends, and an upgrade's end must be above its start.
    pub fn plan_range(&self, range: &Range, direction: Direction) -> Result<Plan, PlanError> {
        let text = range.to_string();
        let wrong = |problem: &str, suggestion: String| PlanError::Range {
            range: text.clone(),
            problem: problem.to_owned(),
            suggestion,
        };
        let applied = match &range.from {
            Some(from) => self.applied_at(from)?,
            None if direction == Direction::Down => {
                let to = range.to.as_ref().map_or_else(|| "base".to_owned(), ToString::to_string);
                return Err(wrong(
                    "has no start, and an offline downgrade needs to know where the database is",
                    format!("give a range `<from>:<to>`, e.g. `head:{to}`"),
                ));
            }
            None => Applied::default(),
        };
        let to = match (&range.to, direction) {
            (Some(to), _) => to.clone(),
            (None, Direction::Up) => Target::Head,
            (None, Direction::Down) => {
                return Err(wrong("has no end", "write `from:to`, e.g. `head:-1` or `ae10:base`".to_owned()));
            }
        };
        match direction {
            Direction::Up => {
                let plan = self.plan_upgrade(&applied, &to)?;
                if plan.is_empty() && range.from.as_ref().is_some_and(|f| *f != to) {
                    let from = range.from.as_ref().map(ToString::to_string).unwrap_or_default();
                    return Err(wrong("does not go up", format!("to go down, use `downgrade --sql {from}:{to}`")));
                }
                Ok(plan)
            }
            Direction::Down => self.plan_downgrade(&applied, &to),
        }
    }

    /// Plans reverting exactly one applied revision, `id`, which nothing applied may build on
    /// or depend on (the stairway test reverts each revision right after applying it).
    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    pub(crate) fn plan_revert(&self, applied: &Applied, id: &str) -> Result<Plan, PlanError> {
        let i = self.resolve(id)?;
        let mask = applied.mask(self);
        if !mask[i] {
            return Err(PlanError::NotApplied {
                revision: self.migration(i).revision.clone(),
                current: self.ids(&self.applied_heads(&mask)),
            });
        }
        let above: Vec<usize> =
            self.children(i).iter().chain(self.dependents(i)).copied().filter(|&c| mask[c]).collect();
        if let Some(&c) = above.first() {
            return Err(PlanError::NotApplied {
                revision: format!(
                    "{} (applied `{}` builds on it)",
                    self.migration(i).revision,
                    self.migration(c).revision
                ),
                current: self.ids(&self.applied_heads(&mask)),
            });
        }
        let m = self.migration(i);
        if let Down::Irreversible { reason } = &m.down {
            return Err(PlanError::Irreversible {
                revision: m.revision.clone(),
                path: m.path.clone(),
                reason: reason.clone(),
            });
        }
        Ok(Plan::down(vec![i]))
    }

    /// Plans a downgrade from `applied` to `target`: the applied descendants of the target,
    /// children first. Side branches that do not descend from the target stay applied.
    pub fn plan_downgrade(&self, applied: &Applied, target: &Target) -> Result<Plan, PlanError> {
        let plan = self.plan_down_unchecked(applied, target)?;
        for step in &plan.steps {
            let m = self.migration(step.index);
            if let Down::Irreversible { reason } = &m.down {
                return Err(PlanError::Irreversible {
                    revision: m.revision.clone(),
                    path: m.path.clone(),
                    reason: reason.clone(),
                });
            }
        }
        Ok(plan)
    }

    fn plan_down_unchecked(&self, applied: &Applied, target: &Target) -> Result<Plan, PlanError> {
        let mut mask = applied.mask(self);
        match target {
            Target::Relative(n) | Target::LabelRelative(_, n) if *n > 0 => {
                Err(PlanError::WrongDirection { target: target.to_string(), suggestion: format!("upgrade {target}") })
            }
            Target::Relative(n) => self.step_down(&mut mask, target, *n, None),
            Target::LabelRelative(label, n) => {
                let scope = self.branch_mask(self.resolve_label(label)?);
                self.step_down(&mut mask, target, *n, Some(&scope))
            }
            Target::LabelBase(label) => {
                let start = self.resolve_label(label)?;
                let mut remove = self.descendants(start);
                remove.push(start);
                remove.retain(|&i| mask[i]);
                self.sort_topologically(&mut remove);
                Ok(Plan::down(remove))
            }
            _ => match self.destinations(target)? {
                None => Ok(Plan::down(self.topological_order().iter().copied().filter(|&i| mask[i]).collect())),
                Some(dest) => {
                    if let Some(&missing) = dest.iter().find(|&&d| !mask[d]) {
                        return Err(PlanError::NotApplied {
                            revision: self.migration(missing).revision.clone(),
                            current: self.ids(&self.applied_heads(&mask)),
                        });
                    }
                    // As Alembic: what goes is everything built on the target's children (their
                    // descendants and dependents, transitively). A revision that only depends on
                    // the target itself stays: the target stays applied, so the dependency holds.
                    let above: Vec<usize> = dest.iter().flat_map(|&d| self.children(d).iter().copied()).collect();
                    let mut remove = self.walk(&above, |g, x| g.children(x).iter().chain(g.dependents(x)));
                    remove.retain(|&i| mask[i] && !dest.contains(&i));
                    Ok(Plan::down(remove))
                }
            },
        }
    }

    /// Plans a stamp: the steps whose records change, without running SQL. Irreversible
    /// revisions do not stop a stamp.
    pub fn plan_stamp(&self, applied: &Applied, target: &Target) -> Result<Plan, PlanError> {
        match target {
            Target::Relative(n) | Target::LabelRelative(_, n) if *n < 0 => self.plan_down_unchecked(applied, target),
            Target::Base | Target::LabelBase(_) => self.plan_down_unchecked(applied, target),
            Target::Relative(_) | Target::LabelRelative(..) | Target::Heads => self.plan_upgrade(applied, target),
            _ => {
                let mask = applied.mask(self);
                match self.destinations(target)? {
                    Some(dest) if dest.iter().all(|&d| mask[d]) => self.plan_down_unchecked(applied, target),
                    _ => self.plan_upgrade(applied, target),
                }
            }
        }
    }

    /// The applied revisions nothing applied depends on, in topological order.
    pub fn current_heads(&self, applied: &Applied) -> Vec<&crate::Migration> {
        self.applied_heads(&applied.mask(self)).into_iter().map(|i| self.migration(i)).collect()
    }

    fn applied_heads(&self, mask: &[bool]) -> Vec<usize> {
        self.topological_order()
            .iter()
            .copied()
            .filter(|&i| mask[i] && !self.children(i).iter().chain(self.dependents(i)).any(|&c| mask[c]))
            .collect()
    }

    /// Marks and returns (in topological order) every unapplied revision among `dest` and
    /// their ancestors. Only unapplied revisions are visited, so repeated calls stay linear.
    fn missing_ancestors(&self, mask: &mut [bool], dest: &[usize]) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for &d in dest {
            if !mask[d] {
                mask[d] = true;
                out.push(d);
            }
        }
        let mut k = 0;
        while k < out.len() {
            let x = out[k];
            k += 1;
            for &p in self.parents(x).iter().chain(self.dependencies(x)) {
                if !mask[p] {
                    mask[p] = true;
                    out.push(p);
                }
            }
        }
        self.sort_topologically(&mut out);
        out
    }

    fn step_up(&self, mask: &mut [bool], target: &Target, n: i64, scope: Option<&[bool]>) -> Result<Plan, PlanError> {
        let in_scope = |i: usize| scope.is_none_or(|s| s[i]);
        let mut heads: Vec<usize> = self
            .topological_order()
            .iter()
            .copied()
            .filter(|&i| mask[i] && in_scope(i) && !self.children(i).iter().any(|&c| mask[c] && in_scope(c)))
            .collect();
        let mut steps = Vec::new();
        for k in 0..n as u64 {
            let mut candidates: Vec<usize> = if heads.is_empty() {
                match scope {
                    None => (0..self.len()).filter(|&i| self.parents(i).is_empty() && !mask[i]).collect(),
                    Some(s) => (0..self.len())
                        .filter(|&i| s[i] && !mask[i] && self.parents(i).iter().all(|&p| !s[p]))
                        .collect(),
                }
            } else {
                heads.iter().flat_map(|&h| self.children(h)).copied().filter(|&c| !mask[c] && in_scope(c)).collect()
            };
            self.sort_topologically(&mut candidates);
            candidates.dedup();
            let next = match candidates.as_slice() {
                [one] => *one,
                [] => {
                    return Err(PlanError::NotEnough { target: target.to_string(), requested: n as u64, available: k });
                }
                many => {
                    return Err(PlanError::AmbiguousWalk { target: target.to_string(), candidates: self.ids(many) });
                }
            };
            let added = self.missing_ancestors(mask, &[next]);
            heads.retain(|&h| !self.children(h).iter().any(|&c| mask[c] && in_scope(c)));
            heads.push(next);
            steps.extend(added);
        }
        Ok(Plan::up(steps))
    }

    fn step_down(&self, mask: &mut [bool], target: &Target, n: i64, scope: Option<&[bool]>) -> Result<Plan, PlanError> {
        let in_scope = |i: usize| scope.is_none_or(|s| s[i]);
        // How many applied revisions need each revision.
        let mut needed_by = vec![0usize; self.len()];
        for i in (0..self.len()).filter(|&i| mask[i]) {
            for &p in self.parents(i).iter().chain(self.dependencies(i)) {
                needed_by[p] += 1;
            }
        }
        let mut heads: Vec<usize> = (0..self.len()).filter(|&i| mask[i] && needed_by[i] == 0 && in_scope(i)).collect();
        let mut removed = Vec::new();
        for k in 0..n.unsigned_abs() {
            let h = match heads.as_slice() {
                [one] => *one,
                [] => {
                    return Err(PlanError::NotEnough {
                        target: target.to_string(),
                        requested: n.unsigned_abs(),
                        available: k,
                    });
                }
                many => {
                    let mut many = many.to_vec();
                    self.sort_topologically(&mut many);
                    return Err(PlanError::AmbiguousWalk { target: target.to_string(), candidates: self.ids(&many) });
                }
            };
            mask[h] = false;
            heads.retain(|&x| x != h);
            removed.push(h);
            for &p in self.parents(h).iter().chain(self.dependencies(h)) {
                needed_by[p] -= 1;
                if needed_by[p] == 0 && mask[p] && in_scope(p) {
                    heads.push(p);
                }
            }
        }
        removed.reverse();
        Ok(Plan::down(removed))
    }
}

/// `n` with its noun, singular or plural.
fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// How many steps are possible, as the end of a sentence.
fn possible(n: u64) -> String {
    match n {
        0 => "none is possible".to_owned(),
        1 => "only 1 is possible".to_owned(),
        n => format!("only {n} are possible"),
    }
}
