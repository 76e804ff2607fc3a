//! Whole commands of the real binary, as a user runs them, each next to a floor measured in the
//! same run:
//!
//! - a no-op `upgrade` (1,000 revisions, all applied) against the database's own client running
//!   one `SELECT` from the history table (`sqlite3`, `psql`, `mariadb`), process start included:
//!   with the memo of the last read (a developer's machine, a long-lived host) and without it
//!   (a fresh container: every file read and parsed);
//! - applying 1,000 revisions to a new SQLite database, step by step and all-or-nothing,
//!   against `sqlite3` running the same DDL from a script: each migration in its own transaction
//!   with one bookkeeping row, and all of it in one transaction, bare and with a bookkeeping row
//!   each (files on tmpfs where there is one, so that the figures are the tools' and not the
//!   disk's);
//! - the read commands on a 2,000-revision chain with branches and merges, against the binary
//!   starting and printing its version;
//! - `check` proving 200 downgrades in a scratch database, against the chain check alone.
//!
//! Run with `cargo bench -p cargo-migrate` (or `cargo xtask bench`); `MIGRATE_BENCH_REVISIONS`
//! sets the read commands' chain length, `MIGRATE_BENCH_RUNS` the runs per figure. The servers
//! come from `MIGRATE_TEST_POSTGRES_URL` / `MIGRATE_TEST_MYSQL_URL` as in the tests.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A package with `n` revisions; every 50th has a side revision merged right after when
/// `branchy`.
fn package(dir: &Path, n: usize, branchy: bool) {
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"bench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
        .unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), "").unwrap();
    let m = dir.join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    let mut parent = String::new();
    for i in 0..n {
        let id = format!("r{i:011}");
        let down = if branchy && i % 50 == 49 {
            let side = format!("s{i:011}");
            std::fs::write(
                m.join(format!("{side}_side.sql")),
                format!("-- revision: {side}\n-- down_revision: {parent}\n-- message: side {i}\n-- migrate:up\nCREATE TABLE {side} (x int);\n-- migrate:down\nDROP TABLE {side};\n"),
            )
            .unwrap();
            format!("{parent}, {side}")
        } else {
            parent.clone()
        };
        std::fs::write(
            m.join(format!("{id}_step.sql")),
            format!("-- revision: {id}\n-- down_revision: {down}\n-- message: step {i}\n-- migrate:up\nCREATE TABLE t{i} (x int);\n-- migrate:down\nDROP TABLE t{i};\n"),
        )
        .unwrap();
        parent = id;
    }
}

/// The median of `runs` timings of each of two commands, run in turn (A B A B …) so that drift
/// in the machine's speed hits both alike.
fn pair(runs: usize, mut a: impl FnMut() -> Command, b: impl Fn() -> Command) -> (Duration, Duration) {
    let time = |cmd: &mut Command| {
        let start = Instant::now();
        let out = cmd.output().unwrap();
        let took = start.elapsed();
        assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
        took
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    time(&mut a());
    time(&mut b());
    for _ in 0..runs {
        ta.push(time(&mut a()));
        tb.push(time(&mut b()));
    }
    ta.sort();
    tb.sort();
    (ta[runs / 2], tb[runs / 2])
}

fn ours(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-migrate"));
    c.arg("migrate").args(args).current_dir(dir).env_remove("DATABASE_URL").env("XDG_CACHE_HOME", dir.join("cache"));
    c
}

fn line(what: &str, ours: Duration, floor: Duration, goal: Option<f64>) {
    let ratio = ours.as_secs_f64() / floor.as_secs_f64();
    let verdict = match goal {
        Some(g) if ratio <= g => format!("(goal {g}x, ok)"),
        Some(g) => format!("(goal {g}x, over goal)"),
        None => String::new(),
    };
    println!(
        "  {what:<38} {:>8.2} ms vs {:>8.2} ms  {ratio:>5.2}x  {verdict}",
        ours.as_secs_f64() * 1e3,
        floor.as_secs_f64() * 1e3
    );
}

/// A database: its label, our URL for it, its own client running the floor query, and the goal.
type Floor<'a> = (&'a str, &'a str, Box<dyn Fn() -> Command + 'a>, f64);

fn server_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let at = head.find("://").map_or(0, |i| i + 3);
    let prefix = head[at..].find('/').map_or(head, |i| &head[..at + i]);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

fn main() {
    let runs: usize = std::env::var("MIGRATE_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let n: usize = std::env::var("MIGRATE_BENCH_REVISIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);

    // The no-op run against each database's own client.
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), 1000, false);
    let d = dir.path();
    let name = format!("cmb_{}", std::process::id());
    println!("no-op upgrade, 1,000 revisions applied; median of {runs} runs, alternating");
    let sqlite = format!("sqlite://{}", d.join("bench.db").display());
    let pg =
        with_database(&server_url("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"), &name);
    let pg_admin = server_url("MIGRATE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres");
    let my = with_database(&server_url("MIGRATE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"), &name);
    let psql = |url: &str, sql: &str| {
        let mut c = Command::new("psql");
        c.args(["-X", "-q", "-tA", "-d", url, "-c", sql]);
        c
    };
    assert!(psql(&pg_admin, &format!("CREATE DATABASE {name}")).status().unwrap().success());
    let mariadb = |sql: &str, db: &str| {
        let mut c = Command::new("mariadb");
        c.args(["-h", "127.0.0.1", "-u", "root", "-N", "-e", sql]);
        if !db.is_empty() {
            c.arg(db);
        }
        c
    };
    assert!(mariadb(&format!("CREATE DATABASE {name}"), "").status().unwrap().success());
    let floors: [Floor<'_>; 3] = [
        (
            "SQLite",
            &sqlite,
            Box::new(|| {
                let mut c = Command::new("sqlite3");
                c.args([d.join("bench.db").to_str().unwrap(), "SELECT count(*) FROM migrate_history"]);
                c
            }),
            2.0,
        ),
        ("PostgreSQL", &pg, Box::new(|| psql(&pg, "SELECT count(*) FROM migrate_history")), 1.5),
        ("MariaDB", &my, Box::new(|| mariadb("SELECT count(*) FROM migrate_history", &name)), 1.5),
    ];
    let cache = d.join("cache");
    for (label, url, floor, goal) in floors {
        let up = ours(d, &["upgrade", "-q", "--database-url", url]).output().unwrap();
        assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
        // As on a developer's machine or a long-lived host: the memo of the last read is there.
        let warm = || {
            let mut c = ours(d, &["upgrade", "--database-url", url]);
            c.env("XDG_CACHE_HOME", &cache);
            c
        };
        let (a, b) = pair(runs, warm, &floor);
        line(&format!("{label}: no-op upgrade vs its client"), a, b, Some(goal));
        // As in a fresh container: no memo, every file read and parsed.
        let cold = || {
            let mut c = ours(d, &["upgrade", "--database-url", url]);
            c.env("XDG_CACHE_HOME", "/proc/no-cache-here").env("HOME", "");
            c
        };
        let (a, b) = pair(runs, cold, &floor);
        line(&format!("{label}: the same, no memo (fresh host)"), a, b, Some(goal));
    }
    let _ = psql(&pg_admin, &format!("DROP DATABASE {name} WITH (FORCE)")).status();
    let _ = mariadb(&format!("DROP DATABASE {name}"), "").status();

    // Applying every revision to a new SQLite database, against sqlite3 running the same DDL.
    let shm = Path::new("/dev/shm");
    let files = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let (ours_db, floor_db) = (files.path().join("ours.db"), files.path().join("floor.db"));
    let url = format!("sqlite://{}", ours_db.display());
    println!("apply 1,000 revisions to a new SQLite database; median of {runs} runs, alternating");
    // The floors: each migration in its own transaction with one bookkeeping row; all of them in
    // one transaction as the bare DDL (the goal's floor); and the same with one bookkeeping row
    // each, the least a run that records what it applied can write.
    let floors = [
        ("upgrade step by step", false, true, Some(1.05)),
        ("upgrade all-or-nothing", true, false, Some(1.1)),
        ("the same, vs one row each", true, true, None),
    ];
    for (what, whole, rows, goal) in floors {
        let mut script = String::from("CREATE TABLE bookkeeping (revision TEXT PRIMARY KEY);\n");
        script.push_str(if whole { "BEGIN;\n" } else { "" });
        for i in 0..1000 {
            script.push_str(if whole { "" } else { "BEGIN;\n" });
            script.push_str(&format!("CREATE TABLE t{i} (x int);\n"));
            if rows {
                script.push_str(&format!("INSERT INTO bookkeeping VALUES ('r{i:011}');\n"));
            }
            script.push_str(if whole { "" } else { "COMMIT;\n" });
        }
        script.push_str(if whole { "COMMIT;\n" } else { "" });
        let script_path = files.path().join("floor.sql");
        std::fs::write(&script_path, script).unwrap();
        let apply = || {
            let _ = std::fs::remove_file(&ours_db);
            let mut args = vec!["upgrade", "-q", "--database-url", url.as_str()];
            if whole {
                args.push("--all-or-nothing");
            }
            ours(d, &args)
        };
        let sqlite3 = || {
            let _ = std::fs::remove_file(&floor_db);
            let mut c = Command::new("sqlite3");
            c.arg(&floor_db).stdin(std::fs::File::open(&script_path).unwrap());
            c
        };
        let (a, b) = pair(runs, apply, sqlite3);
        line(&format!("SQLite: {what} vs sqlite3"), a, b, goal);
    }

    // The read commands on a large chain.
    let dir = tempfile::tempdir().unwrap();
    package(dir.path(), n, true);
    let d = dir.path();
    println!("read commands, {n} revision files (+ a branch and merge every 50); median of {runs} runs");
    for args in [
        &["heads"][..],
        &["check", "--offline"],
        &["history"],
        &["history", "--graph"],
        &["upgrade", "--sql", "--database-url", "postgres://u@h/db"],
    ] {
        let (a, b) = pair(runs, || ours(d, args), || ours(d, &["--version"]));
        line(&format!("{} vs --version", args.iter().take(2).copied().collect::<Vec<_>>().join(" ")), a, b, None);
    }

    // The downgrade proof that `check` runs where a scratch database is at hand: every revision
    // up, down and up again in a scratch SQLite database, the schema read around each.
    let proof = tempfile::tempdir().unwrap();
    package(proof.path(), 200, false);
    let p = proof.path();
    let (a, b) = pair(3, || ours(p, &["check"]), || ours(p, &["check", "--offline"]));
    line("check, proving 200 downgrades, vs check --offline", a, b, None);
}
