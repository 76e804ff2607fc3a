//! An app that embeds its migrations and brings its database up to date at start-up.
//!
//! ```text
//! cargo run -p migrate-core --example app --features sqlite
//! DATABASE_URL=postgres://postgres@127.0.0.1/app cargo run -p migrate-core --example app --features sqlite,postgres
//! ```
//!
//! Without `DATABASE_URL` it uses (and creates) `app.db` in the current directory through the
//! app's own sqlx pool. Running it twice applies nothing the second time.
//!
//! With `migrate` first it is its own migration CLI over the same embedded migrations:
//!
//! ```text
//! cargo run -p migrate-core --example app --features sqlite -- migrate history
//! cargo run -p migrate-core --example app --features sqlite -- migrate downgrade base
//! cargo run -p migrate-core --example app --features sqlite -- migrate upgrade --sql
//! cargo run -p migrate-core --example app --features sqlite -- migrate check
//! ```

use std::process::ExitCode;

use migrate_core::sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use migrate_core::{Db, Migrations};
use migrate_macros::migrate;

/// Every migration of `examples/app/migrations`, checked and embedded at compile time.
static MIGRATIONS: Migrations = migrate!("examples/app/migrations");

/// The app's database when `DATABASE_URL` is not set.
const APP_DB: &str = "sqlite:app.db";

fn main() -> ExitCode {
    // `app migrate <command>`: the app is its own migration CLI (upgrade, downgrade, stamp,
    // current, status, history, heads, check, `--sql`…) over the migrations embedded in it,
    // with cargo migrate's flags, output and exit codes.
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return cargo_migrate::embedded(&MIGRATIONS, std::env::args_os(), Some(APP_DB));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve())
}

async fn serve() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let db = match std::env::var("DATABASE_URL") {
        // Any backend this build supports, by URL.
        Ok(url) => Db::connect(&url).await?,
        // The app's own pool, as an app usually has one already.
        Err(_) => {
            let options = SqliteConnectOptions::new().filename("app.db").create_if_missing(true);
            Db::from(SqlitePool::connect_with(options).await?)
        }
    };

    // The one line an app needs: takes the lock, applies what is missing, each migration in a
    // transaction with its history row; a no-op when the database is up to date.
    let report = MIGRATIONS.upgrade(&db).await?;
    if report.steps.is_empty() {
        println!("the {} database is up to date", db.dialect());
    }
    for step in &report.steps {
        println!("applied {} in {:.1} ms", step.revision, step.duration.as_secs_f64() * 1000.0);
    }

    let status = MIGRATIONS.status(&db).await?;
    println!("current revision: {}", status.current.join(", "));
    println!("applied: {}, pending: {}", status.applied.len(), status.pending.len());

    // A health probe would call this: exactly at head, nothing edited, nothing dirty.
    MIGRATIONS.check(&db).await?;
    println!("check: ok");
    db.close().await;
    Ok(())
}
