//! Benchmarks of graph validation and planning over 100,000 revisions: a linear chain and a
//! branchy graph full of branch/merge diamonds and `depends_on` edges.
//!
//! Every time is the median of several runs and is printed next to its ratio to a baseline
//! measured in the same run over the same data: the least work any validator must do (an id
//! index in a `HashMap` and a sorted list of the ids).
//!
//! Run with `cargo bench -p migrate-core --bench graph`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use migrate_core::{Applied, HeadPolicy, Migration, RevisionGraph, SourceFile, Target, load_files, parse_bytes};

const REVISIONS: usize = 100_000;
const TAIL: usize = 1_000;
const ITERATIONS: usize = 7;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("revision graph over {REVISIONS} revisions (median of {ITERATIONS} runs)");
    println!("baseline: HashMap<String, usize> of the ids plus a sorted Vec of them, same data\n");
    bench("linear chain", chain(REVISIONS))?;
    bench("branchy graph", branchy(REVISIONS))?;
    Ok(())
}

/// One revision's file, as `cargo migrate new` would write it.
struct Spec {
    id: String,
    parents: Vec<String>,
    depends_on: Vec<String>,
}

impl Spec {
    fn new(id: String, parents: Vec<String>) -> Self {
        Self { id, parents, depends_on: Vec::new() }
    }

    fn file(&self) -> SourceFile {
        let mut text = format!("-- revision: {}\n-- down_revision: {}\n", self.id, self.parents.join(", "));
        if !self.depends_on.is_empty() {
            text.push_str(&format!("-- depends_on: {}\n", self.depends_on.join(", ")));
        }
        text.push_str(&format!(
            "-- message: Change number {id}\n-- created: 2026-11-21T15:00:00Z\n\n-- migrate:up\n\
             CREATE TABLE t_{id} (id bigint PRIMARY KEY, note text DEFAULT 'a;b');\n\n-- migrate:down\nDROP TABLE t_{id};\n",
            id = self.id
        ));
        let display = format!("migrations/{}_change.sql", self.id);
        SourceFile { path: display.clone().into(), display, bytes: text.into_bytes() }
    }
}

fn id(i: usize) -> String {
    format!("{:012x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16)
}

/// A linear chain of `n` revisions.
fn chain(n: usize) -> Vec<Spec> {
    (0..n).map(|i| Spec::new(id(i), if i == 0 { vec![] } else { vec![id(i - 1)] })).collect()
}

/// Diamonds (a branch point, a left arm of four, a right arm of three whose first revision
/// depends on the left arm's first, a merge) up to `n - TAIL` revisions, then a linear tail.
fn branchy(n: usize) -> Vec<Spec> {
    let mut specs = vec![Spec::new(id(0), vec![])];
    let mut next = 1;
    let mut fresh = || {
        next += 1;
        id(next - 1)
    };
    let mut tip = id(0);
    while specs.len() + 9 <= n - TAIL {
        let point = fresh();
        specs.push(Spec::new(point.clone(), vec![tip]));
        let mut left = point.clone();
        let mut first_left = String::new();
        for k in 0..4 {
            let rev = fresh();
            specs.push(Spec::new(rev.clone(), vec![left]));
            if k == 0 {
                first_left = rev.clone();
            }
            left = rev;
        }
        let mut right = point;
        for k in 0..3 {
            let rev = fresh();
            let mut spec = Spec::new(rev.clone(), vec![right]);
            if k == 0 {
                spec.depends_on.push(first_left.clone());
            }
            specs.push(spec);
            right = rev;
        }
        let merge = fresh();
        specs.push(Spec::new(merge.clone(), vec![left, right]));
        tip = merge;
    }
    while specs.len() < n {
        let rev = fresh();
        specs.push(Spec::new(rev.clone(), vec![tip]));
        tip = rev;
    }
    specs
}

fn bench(name: &str, specs: Vec<Spec>) -> Result<(), Box<dyn std::error::Error>> {
    let mut files: Vec<SourceFile> = specs.iter().map(Spec::file).collect();
    // Files come sorted by name, and names are random ids: not the graph's order.
    files.sort_by(|a, b| a.display.cmp(&b.display));
    let migrations: Vec<Migration> =
        files.iter().map(|f| parse_bytes(&f.display, &f.bytes)).collect::<Result<_, _>>()?;
    let graph = RevisionGraph::new(migrations.clone())?;
    graph.check_heads(&HeadPolicy::Single)?;
    let all = Applied::new(graph.iter().map(|m| m.revision.clone()));
    println!("{name}: {} revisions, {} merge points", graph.len(), graph.merge_points().len());

    let baseline = median(|| {
        let mut index: HashMap<String, usize> = HashMap::with_capacity(migrations.len());
        for (i, m) in migrations.iter().enumerate() {
            index.insert(m.revision.clone(), i);
        }
        let mut ids: Vec<&str> = migrations.iter().map(|m| m.revision.as_str()).collect();
        ids.sort_unstable();
        (index, ids)
    });
    report("baseline", baseline, baseline);
    let validate = median_with(
        || migrations.clone(),
        |input| {
            let graph = RevisionGraph::new(input);
            let heads_ok = graph.as_ref().map(|g| g.check_heads(&HeadPolicy::Single).is_ok());
            (heads_ok.is_ok_and(|ok| ok), graph)
        },
    );
    report("validate (RevisionGraph::new + check_heads)", validate, baseline);
    let up = median(|| graph.plan_upgrade(&Applied::default(), &Target::Head));
    report("plan_upgrade base -> head", up, baseline);
    let down = median(|| graph.plan_downgrade(&all, &Target::Base));
    report("plan_downgrade head -> base", down, baseline);
    let walk = median(|| graph.plan_downgrade(&all, &Target::Relative(-(TAIL as i64))));
    report(&format!("plan_downgrade -{TAIL}"), walk, baseline);
    let load = median(|| load_files(&files));
    report("for scale: parse + validate the files", load, baseline);

    // The plans are real: check them once.
    assert_eq!(graph.plan_upgrade(&Applied::default(), &Target::Head)?.steps.len(), graph.len());
    assert_eq!(graph.plan_downgrade(&all, &Target::Base)?.steps.len(), graph.len());
    assert_eq!(graph.plan_downgrade(&all, &Target::Relative(-(TAIL as i64)))?.steps.len(), TAIL);
    println!();
    Ok(())
}

/// The median time of `f`, after a warm-up run. What it returns is dropped outside the timing.
fn median<O>(mut f: impl FnMut() -> O) -> Duration {
    median_with(|| (), |()| f())
}

/// The median time of `f`, each run on a fresh input from `setup` (not timed), after a warm-up.
/// What it returns is dropped outside the timing.
fn median_with<I, O>(mut setup: impl FnMut() -> I, mut f: impl FnMut(I) -> O) -> Duration {
    black_box(f(setup()));
    let mut times = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let input = setup();
        let start = Instant::now();
        let out = f(input);
        times.push(start.elapsed());
        drop(black_box(out));
    }
    times.sort();
    times[ITERATIONS / 2]
}

fn report(what: &str, time: Duration, baseline: Duration) {
    let ratio = time.as_secs_f64() / baseline.as_secs_f64();
    println!("  {what:<45} {:>9.2} ms  {ratio:>6.1}x baseline", time.as_secs_f64() * 1e3);
}
