//! The revision graph: built eagerly from parsed migrations, valid by construction, with the
//! queries Alembic users rely on (heads, bases, branch and merge points, ancestry, order).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::migration::{Down, Migration};
use crate::problem::{Problem, ProblemKind, Problems, closest};

/// Which heads a chain may have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HeadPolicy {
    /// Exactly one head (the default).
    #[default]
    Single,
    /// Several heads kept on purpose: each named branch label has exactly one head, and every
    /// head is on one of them.
    Branches(Vec<String>),
}

/// A validated revision graph.
///
/// Holding one means: ids are unique, every parent and dependency exists, there is no cycle,
/// and every revision that changes the schema can be downgraded (or says why not).
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    migrations: Vec<Migration>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    deps: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    order: Vec<usize>,
    position: Vec<usize>,
    labels: HashMap<String, usize>,
    /// What squashes set aside: the replaced files still present (and, in an expanded graph,
    /// the expanded squash revisions), with the ids they stand for.
    squashes: crate::squash::Squashes,
}

impl RevisionGraph {
    /// Builds and validates the graph, returning every problem at once.
    ///
    /// The order of `migrations` (usually sorted by file name) breaks ties in the topological order.
    pub fn new(migrations: Vec<Migration>) -> Result<Self, Problems> {
        Self::build(migrations, &[])
    }

    /// Builds the graph with the squash revisions in `expand` replaced by the revisions they
    /// squash (whose files must be present).
    pub(crate) fn build(migrations: Vec<Migration>, expand: &[String]) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::with_capacity(migrations.len());
        let mut kept = Vec::with_capacity(migrations.len());
        for m in migrations {
            if let Some(&first) = index.get(&m.revision) {
                let first: &Migration = &kept[first];
                problems.push(Problem::new(
                    ProblemKind::DuplicateRevision {
                        revision: m.revision.clone(),
                        first: first.at(first.lines.revision),
                    },
                    m.at(m.lines.revision),
                ));
                continue;
            }
            index.insert(m.revision.clone(), kept.len());
            kept.push(m);
        }
        let (migrations, squashes) = crate::squash::Squashes::partition(kept, expand, &mut problems);
        let index: HashMap<String, usize> =
            migrations.iter().enumerate().map(|(i, m)| (m.revision.clone(), i)).collect();
        let n = migrations.len();

        let resolve = |m: &Migration, ids: &[String], problems: &mut Vec<Problem>, is_parent: bool| {
            let mut out: Vec<usize> = Vec::with_capacity(ids.len());
            for id in ids {
                let line = if is_parent { m.lines.down_revision } else { m.lines.depends_on };
                if *id == m.revision {
                    problems.push(Problem::new(ProblemKind::SelfReference { revision: id.clone() }, m.at(line)));
                    continue;
                }
                let canonical = squashes.canonical(id);
                if canonical == m.revision && *id != m.revision {
                    // A squash naming a revision it replaces (or, expanded, its own last one).
                    problems.push(Problem::new(ProblemKind::SelfReference { revision: id.clone() }, m.at(line)));
                    continue;
                }
                match index.get(canonical) {
                    Some(&i) if !out.contains(&i) => out.push(i),
                    Some(_) => {}
                    None => {
                        let suggestion = suggest(id, &migrations);
                        let kind = if is_parent {
                            ProblemKind::UnknownDownRevision {
                                revision: m.revision.clone(),
                                parent: id.clone(),
                                suggestion,
                            }
                        } else {
                            ProblemKind::UnknownDependency {
                                revision: m.revision.clone(),
                                dependency: id.clone(),
                                suggestion,
                            }
                        };
                        problems.push(Problem::new(kind, m.at(line)));
                    }
                }
            }
            out
        };
        let mut parents = Vec::with_capacity(n);
        let mut deps = Vec::with_capacity(n);
        let mut children = vec![Vec::new(); n];
        let mut dependents = vec![Vec::new(); n];
        for (i, m) in migrations.iter().enumerate() {
            let p = resolve(m, &m.down_revisions, &mut problems, true);
            let d: Vec<usize> =
                resolve(m, &m.depends_on, &mut problems, false).into_iter().filter(|x| !p.contains(x)).collect();
            for &x in &p {
                children[x].push(i);
            }
            for &x in &d {
                dependents[x].push(i);
            }
            parents.push(p);
            deps.push(d);
        }

        let mut labels: HashMap<String, usize> = HashMap::new();
        for (i, m) in migrations.iter().enumerate() {
            let blank_down = match &m.down {
                Down::Missing => true,
                Down::Sql { sql, .. } => crate::migration::is_blank_sql(sql),
                Down::Irreversible { .. } => false,
            };
            let revision = m.revision.clone();
            if m.has_up_sql() && matches!(m.down, Down::Missing) {
                problems.push(Problem::new(ProblemKind::MissingDowngrade { revision }, m.at(m.lines.up)));
            } else if m.has_up_sql() && blank_down {
                problems.push(Problem::new(ProblemKind::EmptyDowngrade { revision }, m.at(m.lines.down)));
            } else if !m.has_up_sql() && blank_down && !m.is_merge() {
                // A file `cargo migrate new` wrote and nobody filled in.
                problems.push(Problem::new(ProblemKind::EmptyRevision { revision }, m.at(m.lines.up)));
            }
            for label in &m.branch_labels {
                if let Some(&first) = labels.get(label) {
                    let first = &migrations[first];
                    problems.push(Problem::new(
                        ProblemKind::DuplicateLabel {
                            label: label.clone(),
                            first: first.at(first.lines.branch_labels),
                        },
                        m.at(m.lines.branch_labels),
                    ));
                } else if index.contains_key(label) {
                    problems.push(Problem::new(
                        ProblemKind::LabelIsRevision { label: label.clone() },
                        m.at(m.lines.branch_labels),
                    ));
                } else {
                    labels.insert(label.clone(), i);
                }
            }
        }

        // Kahn's algorithm; ties broken by input position so the order is deterministic.
        let mut pending: Vec<usize> = (0..n).map(|i| parents[i].len() + deps[i].len()).collect();
        let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&i| pending[i] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &c in children[i].iter().chain(&dependents[i]) {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(Reverse(c));
                }
            }
        }
        if order.len() < n {
            for cycle in cycles(&pending, &parents, &deps) {
                let first = &migrations[cycle[0]];
                problems.push(Problem::new(
                    ProblemKind::Cycle { revisions: cycle.iter().map(|&i| migrations[i].revision.clone()).collect() },
                    first.at(first.lines.down_revision),
                ));
            }
        }

        if !problems.is_empty() {
            problems.sort_by(|a, b| a.location.cmp(&b.location));
            return Err(Problems(problems));
        }
        let mut position = vec![0; n];
        for (p, &i) in order.iter().enumerate() {
            position[i] = p;
        }
        Ok(Self { migrations, index, parents, deps, children, dependents, order, position, labels, squashes })
    }

    /// Checks the heads against `policy`: one head, or one per declared branch label.
    pub fn check_heads(&self, policy: &HeadPolicy) -> Result<(), Problems> {
        let heads = self.head_indices();
        let mut problems = Vec::new();
        match policy {
            HeadPolicy::Single => {
                if heads.len() > 1 {
                    let list =
                        heads.iter().map(|&h| (self.migrations[h].revision.clone(), self.at_revision(h))).collect();
                    problems.push(Problem::new(ProblemKind::MultipleHeads { heads: list }, self.at_revision(heads[1])));
                }
            }
            HeadPolicy::Branches(labels) => {
                let mut covered = vec![false; self.len()];
                for label in labels {
                    let Some(&start) = self.labels.get(label) else {
                        let at = heads
                            .first()
                            .map(|&h| self.at_revision(h))
                            .unwrap_or_else(|| crate::Location::new("", 1, 1));
                        problems.push(Problem::new(ProblemKind::UndeclaredLabel { label: label.clone() }, at));
                        continue;
                    };
                    let branch_heads = self.branch_heads(start);
                    for &h in &branch_heads {
                        covered[h] = true;
                    }
                    if branch_heads.len() > 1 {
                        let heads = branch_heads.iter().map(|&h| self.migrations[h].revision.clone()).collect();
                        problems.push(Problem::new(
                            ProblemKind::BranchHeads { label: label.clone(), heads },
                            self.at_revision(branch_heads[1]),
                        ));
                    }
                }
                for &h in &heads {
                    if !covered[h] {
                        problems.push(Problem::new(
                            ProblemKind::StrayHead {
                                revision: self.migrations[h].revision.clone(),
                                labels: labels.clone(),
                            },
                            self.at_revision(h),
                        ));
                    }
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Problems(problems)) }
    }

    fn at_revision(&self, i: usize) -> crate::Location {
        let m = &self.migrations[i];
        m.at(m.lines.revision)
    }

    /// The number of revisions.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether there are no revisions.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration at index `i` (indices are stable for the life of the graph).
    ///
    /// # Panics
    /// If `i` is not below [`len`](Self::len).
    pub fn migration(&self, i: usize) -> &Migration {
        &self.migrations[i]
    }

    /// What is allowed but probably a mistake, with file and line: an empty upgrade whose
    /// downgrade has SQL. The chain is valid; tools show these and carry on.
    pub fn warnings(&self) -> Vec<crate::problem::Problem> {
        self.migrations
            .iter()
            .filter(|m| m.up.trim().is_empty() && m.down_sql().is_some_and(|d| !d.trim().is_empty()))
            .map(|m| crate::problem::Problem::new(crate::problem::ProblemKind::EmptyUpgrade, m.at(m.lines.up)))
            .collect()
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Migration> {
        self.index.get(id).map(|&i| &self.migrations[i])
    }

    /// The index of the revision with exactly this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn squash_parts(&self) -> &crate::squash::Squashes {
        &self.squashes
    }

    /// The index of the revision that declares branch `label`.
    pub fn label(&self, label: &str) -> Option<usize> {
        self.labels.get(label).copied()
    }

    /// Every declared branch label and the revision that declares it, sorted by label.
    pub fn labels(&self) -> Vec<(&str, &Migration)> {
        let mut out: Vec<_> = self.labels.iter().map(|(l, &i)| (l.as_str(), &self.migrations[i])).collect();
        out.sort_by_key(|(l, _)| *l);
        out
    }

    /// Every revision in topological order: parents (and dependencies) before children.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Migration> + ExactSizeIterator {
        self.order.iter().map(|&i| &self.migrations[i])
    }

    /// Indices in topological order.
    pub fn topological_order(&self) -> &[usize] {
        &self.order
    }

    /// The position of index `i` in the topological order.
    pub fn position(&self, i: usize) -> usize {
        self.position[i]
    }

    /// Parents of `i` (its `down_revision`s).
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// Extra dependencies of `i` (its `depends_on`).
    pub fn dependencies(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    /// Revisions whose `down_revision` includes `i`.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// Revisions whose `depends_on` includes `i`.
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.dependents[i]
    }

    pub(crate) fn head_indices(&self) -> Vec<usize> {
        self.order.iter().copied().filter(|&i| self.children[i].is_empty()).collect()
    }

    /// Heads: revisions no other revision points down to, in topological order.
    pub fn heads(&self) -> Vec<&Migration> {
        self.head_indices().into_iter().map(|i| &self.migrations[i]).collect()
    }

    /// Bases: revisions with no parent.
    pub fn bases(&self) -> Vec<&Migration> {
        self.order.iter().filter(|&&i| self.parents[i].is_empty()).map(|&i| &self.migrations[i]).collect()
    }

    /// Branch points: revisions with two or more children.
    pub fn branch_points(&self) -> Vec<&Migration> {
        self.order.iter().filter(|&&i| self.children[i].len() > 1).map(|&i| &self.migrations[i]).collect()
    }

    /// Merge points: revisions with two or more parents.
    pub fn merge_points(&self) -> Vec<&Migration> {
        self.order.iter().filter(|&&i| self.parents[i].len() > 1).map(|&i| &self.migrations[i]).collect()
    }

    /// Everything `i` needs (parents and dependencies, transitively), not `i` itself, in
    /// topological order.
    pub fn ancestors(&self, i: usize) -> Vec<usize> {
        let mut out = self.walk(&[i], |g, x| g.parents[x].iter().chain(&g.deps[x]));
        out.retain(|&x| x != i);
        out
    }

    /// Everything that needs `i` (children and dependents, transitively), not `i` itself, in
    /// topological order.
    pub fn descendants(&self, i: usize) -> Vec<usize> {
        let mut out = self.walk(&[i], |g, x| g.children[x].iter().chain(&g.dependents[x]));
        out.retain(|&x| x != i);
        out
    }

    /// Heads among `start` and its descendants through `down_revision` (the heads of a branch).
    pub(crate) fn branch_heads(&self, start: usize) -> Vec<usize> {
        let mut members = self.walk(&[start], |g, x| g.children[x].iter());
        members.retain(|&x| self.children[x].is_empty());
        members
    }

    /// `start` and its descendants through `down_revision` only, as a membership mask.
    pub(crate) fn branch_mask(&self, start: usize) -> Vec<bool> {
        let mut mask = vec![false; self.len()];
        for i in self.walk(&[start], |g, x| g.children[x].iter()) {
            mask[i] = true;
        }
        mask
    }

    /// Breadth-first closure of `start` under `next`, returned in topological order.
    pub(crate) fn walk<'g, I>(&'g self, start: &[usize], next: impl Fn(&'g Self, usize) -> I) -> Vec<usize>
    where
        I: Iterator<Item = &'g usize>,
    {
        let mut seen = vec![false; self.len()];
        let mut out = Vec::new();
        for &s in start {
            if !seen[s] {
                seen[s] = true;
                out.push(s);
            }
        }
        let mut k = 0;
        while k < out.len() {
            let x = out[k];
            k += 1;
            for &y in next(self, x) {
                if !seen[y] {
                    seen[y] = true;
                    out.push(y);
                }
            }
        }
        self.sort_topologically(&mut out);
        out
    }

    /// Sorts indices into topological order.
    pub fn sort_topologically(&self, indices: &mut [usize]) {
        indices.sort_unstable_by_key(|&i| self.position[i]);
    }
}

/// A known revision id close to `id`: one it is a prefix of, or one a typo away.
fn suggest(id: &str, migrations: &[Migration]) -> Option<String> {
    if id.len() >= 4 {
        let mut matches = migrations.iter().filter(|m| m.revision.starts_with(id));
        if let (Some(m), None) = (matches.next(), matches.next()) {
            return Some(m.revision.clone());
        }
    }
    if migrations.len() > 10_000 {
        return None;
    }
    closest(id, migrations.iter().map(|m| m.revision.as_str())).map(str::to_owned)
}

/// Finds one cycle per strongly connected component among the nodes Kahn's algorithm could not
/// order (those with `pending > 0`). Iterative Tarjan, so deep graphs cannot overflow the stack.
fn cycles(pending: &[usize], parents: &[Vec<usize>], deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = pending.len();
    let stuck = |i: usize| pending[i] > 0;
    let succ = |i: usize| parents[i].iter().chain(&deps[i]).copied().filter(move |&j| stuck(j));
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![UNSEEN; n];
    let mut components: Vec<Vec<usize>> = Vec::new();
    let mut counter = 0;
    for root in (0..n).filter(|&i| stuck(i)) {
        if index[root] != UNSEEN {
            continue;
        }
        let mut call: Vec<(usize, Vec<usize>, usize)> = vec![(root, succ(root).collect(), 0)];
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some((v, edges, next)) = call.last_mut() {
            let v = *v;
            if *next < edges.len() {
                let w = edges[*next];
                *next += 1;
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, succ(w).collect(), 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some((u, _, _)) = call.last() {
                    low[*u] = low[*u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut members = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component[w] = components.len();
                        members.push(w);
                        if w == v {
                            break;
                        }
                    }
                    components.push(members);
                }
            }
        }
    }
    let mut out = Vec::new();
    for (c, members) in components.iter().enumerate() {
        if members.len() < 2 {
            continue;
        }
        // Walk inside the component from its smallest member until a node repeats.
        let start = *members.iter().min().unwrap_or(&members[0]);
        let mut path = vec![start];
        let mut seen_at: HashMap<usize, usize> = HashMap::from([(start, 0)]);
        let mut v = start;
        while let Some(w) = succ(v).find(|&w| component[w] == c) {
            if let Some(&at) = seen_at.get(&w) {
                path.drain(..at);
                break;
            }
            seen_at.insert(w, path.len());
            path.push(w);
            v = w;
        }
        out.push(path);
    }
    out.sort();
    out
}
