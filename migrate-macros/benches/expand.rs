//! Benchmark of the `migrate!()` expansion over 1,000 migration files, against a baseline of
//! only reading those files, measured in the same run.
//!
//! Run with `cargo bench -p migrate-macros --bench expand`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use migrate_core::codegen::{self, MigrationsDir, Spans};

const FILES: usize = 1_000;
const ITERATIONS: usize = 15;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;
    write_chain(tmp.path(), FILES)?;
    let dir = MigrationsDir::new(tmp.path(), "migrations");

    // Check once that the expansion embeds every file, so the timings are of real work.
    let out = codegen::expand(&dir, &[], &Spans::default()).to_string();
    if out.contains("compile_error") || out.matches("include_str").count() != FILES {
        return Err(format!("the generated chain did not expand cleanly: {}", &out[..out.len().min(500)]).into());
    }

    let read = median(|| {
        let mut entries: Vec<_> = std::fs::read_dir(tmp.path())?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        let mut total = 0;
        for entry in entries {
            total += std::fs::read(entry.path())?.len();
        }
        black_box(total);
        Ok(())
    })?;
    let expand = median(|| {
        black_box(codegen::expand(&dir, &[], &Spans::default()));
        Ok(())
    })?;
    let render = median(|| {
        black_box(codegen::expand(&dir, &[], &Spans::default()).to_string());
        Ok(())
    })?;

    println!("migrate!() expansion over {FILES} files (median of {ITERATIONS} runs)");
    report("baseline: read the files", read, read);
    report("expand (read, parse, validate, embed)", expand, read);
    report("expand and render the tokens as text", render, read);
    Ok(())
}

/// The median time of `ITERATIONS` runs of `f`, after one warm-up run.
fn median(mut f: impl FnMut() -> std::io::Result<()>) -> std::io::Result<Duration> {
    f()?;
    let mut times = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[ITERATIONS / 2])
}

fn report(what: &str, time: Duration, baseline: Duration) {
    let ratio = time.as_secs_f64() / baseline.as_secs_f64();
    println!("  {what:<40} {:>10.3} ms  {ratio:>7.1}x baseline", time.as_secs_f64() * 1e3);
}

/// A linear chain of `n` migrations, each a few lines of SQL, named as `cargo migrate new` names them.
fn write_chain(dir: &Path, n: usize) -> std::io::Result<()> {
    for i in 0..n {
        let id = format!("{i:012x}");
        let parent = if i == 0 { String::new() } else { format!("{:012x}", i - 1) };
        let text = format!(
            "-- revision: {id}\n-- down_revision: {parent}\n-- message: Add table number {i}\n\
             -- created: 2026-11-21T15:00:00Z\n\n-- migrate:up\nCREATE TABLE t_{i} (\n    id bigint PRIMARY KEY,\n    \
             name text NOT NULL DEFAULT 'x; y',\n    created_at timestamp\n);\nCREATE INDEX t_{i}_name ON t_{i} (name);\n\n\
             -- migrate:down\nDROP TABLE t_{i};\n"
        );
        std::fs::write(dir.join(format!("{id}_add_table_{i}.sql")), text)?;
    }
    Ok(())
}
