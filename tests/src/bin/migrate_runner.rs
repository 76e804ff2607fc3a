//! A separate process for the concurrency and crash tests: upgrades (or downgrades) a database
//! with the migrations of a directory and prints what happened.
//!
//! Usage: `migrate_runner <url> <dir> upgrade|downgrade <target>`; `MIGRATE_LOCK_TIMEOUT_MS`
//! sets the lock timeout, `MIGRATE_LOCK` the lock mode (`auto`, `session`, `table`) and
//! `MIGRATE_LOCK_LEASE_MS` the lock table's lease; a takeover of a dead run's claim is printed
//! as `took over: <previous owner>`, the choice of the lock table as `lock table: <why>`. Exit code 0 on success, 2 on an error (printed as
//! `error[<kind>]: <message>` and its help), 3 on bad arguments.

use std::process::ExitCode;
use std::time::Duration;

use migrate_core::{Db, Event, LockMode, Migrator, Options, Target, load_dir};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, dir, op, target] = args.as_slice() else {
        eprintln!("usage: migrate_runner <url> <dir> upgrade|downgrade <target>");
        return ExitCode::from(3);
    };
    let graph = match load_dir(std::path::Path::new(dir), "migrations") {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(3);
        }
    };
    let Ok(target) = target.parse::<Target>() else {
        eprintln!("bad target {target}");
        return ExitCode::from(3);
    };
    let mut options = Options::default().applied_by(format!("pid {}", std::process::id()));
    if let Some(ms) = std::env::var("MIGRATE_LOCK_TIMEOUT_MS").ok().and_then(|s| s.parse().ok()) {
        options.lock_timeout = Duration::from_millis(ms);
    }
    if let Some(mode) = std::env::var("MIGRATE_LOCK").ok().and_then(|s| LockMode::parse(&s)) {
        options.lock = mode;
    }
    if let Some(ms) = std::env::var("MIGRATE_LOCK_LEASE_MS").ok().and_then(|s| s.parse().ok()) {
        options.lock_lease = Duration::from_millis(ms);
    }
    let options = options.on_event(|event| match event {
        Event::TookOver { previous } => println!("took over: {previous}"),
        Event::TableLock { reason } => println!("lock table: {reason}"),
        _ => {}
    });
    let migrator = Migrator::new(graph).with_options(options);
    let result = match Db::connect(url).await {
        Ok(db) => {
            let r = if op == "downgrade" {
                migrator.downgrade(&db, &target).await
            } else {
                migrator.upgrade(&db, &target).await
            };
            db.close().await;
            r
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(report) => {
            println!("ok {}", report.steps.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error[{:?}]: {e}", e.kind());
            if let Some(help) = e.help() {
                println!("  help: {help}");
            }
            ExitCode::from(2)
        }
    }
}
