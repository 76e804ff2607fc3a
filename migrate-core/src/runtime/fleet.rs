//! Fleets: one migrator run against many databases (a database per tenant), with bounded
//! parallelism. Each database is its own run with its own connection and its own lock; a failing
//! database does not stop the others unless the caller asks (`fail_fast`). A migrator with a
//! backup backs up each database into the same directory, each under its own name.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::db::Db;
use super::drift::Drift;
use super::error::Error;
use super::migrator::Migrator;
use super::report::{Report, Status};
use crate::Target;
use crate::secret::redact_url;

/// What a fleet run does to each database.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FleetOp {
    /// [`Migrator::upgrade`] to the target.
    Upgrade(Target),
    /// [`Migrator::downgrade`] to the target.
    Downgrade(Target),
    /// [`Migrator::current`].
    Current,
    /// [`Migrator::check`].
    Check,
    /// [`Migrator::check`], then [`Migrator::drift`]: at the head, and the schema what the
    /// revisions make it. The expected schema is built once per scratch server, not once per
    /// database.
    CheckDrift,
}

/// What a database's run gave.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetOutcome {
    /// An upgrade's or downgrade's report.
    Ran(Report),
    /// The current revisions.
    Current(Vec<String>),
    /// The status `check` judged (at the head).
    Checked(Status),
    /// The status `check` judged (at the head), and the database's drift (empty when its
    /// schema is what its revisions make it).
    CheckedDrift(Status, Box<Drift>),
}

/// One database of a fleet run.
#[derive(Debug)]
pub struct FleetResult {
    /// Its URL, password redacted.
    pub url: String,
    /// What happened; `None` when it was not run because another database failed first
    /// (`fail_fast`).
    pub outcome: Option<Result<FleetOutcome, Error>>,
    /// How long its run took, connecting included.
    pub elapsed: Duration,
}

impl FleetResult {
    /// Whether this database failed: an error, or drift found by [`FleetOp::CheckDrift`].
    pub fn failed(&self) -> bool {
        self.outcome.as_ref().is_some_and(failed)
    }
}

/// Whether a database's outcome is a failure.
fn failed(outcome: &Result<FleetOutcome, Error>) -> bool {
    match outcome {
        Err(_) => true,
        Ok(FleetOutcome::CheckedDrift(_, drift)) => !drift.is_empty(),
        Ok(_) => false,
    }
}

impl Migrator {
    /// Runs `op` on every database of `urls`, at most `jobs` at a time, and returns one result
    /// per URL in the order given. Each database gets its own connection and lock; a slow one
    /// holds up only its own slot. With `fail_fast`, databases not yet started when one fails
    /// (drift counts) are skipped, as are all not yet started once the migrator's
    /// [`Cancel`](crate::Cancel) fires.
    pub async fn fleet(&self, urls: &[String], op: &FleetOp, jobs: usize, fail_fast: bool) -> Vec<FleetResult> {
        let stop = AtomicBool::new(false);
        let stop = &stop;
        let mut results: Vec<(usize, FleetResult)> = futures_util::stream::iter(urls.iter().enumerate())
            .map(|(i, url)| async move {
                let shown = redact_url(url);
                if stop.load(Ordering::SeqCst) || self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
                    return (i, FleetResult { url: shown, outcome: None, elapsed: Duration::ZERO });
                }
                let started = Instant::now();
                let outcome = self.fleet_one(url, op).await;
                if fail_fast && failed(&outcome) {
                    stop.store(true, Ordering::SeqCst);
                }
                (i, FleetResult { url: shown, outcome: Some(outcome), elapsed: started.elapsed() })
            })
            .buffer_unordered(jobs.max(1))
            .collect()
            .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, r)| r).collect()
    }

    async fn fleet_one(&self, url: &str, op: &FleetOp) -> Result<FleetOutcome, Error> {
        let db = match op {
            FleetOp::Upgrade(_) | FleetOp::Downgrade(_) => Db::connect(url).await?,
            FleetOp::Current | FleetOp::Check | FleetOp::CheckDrift => Db::connect_existing(url).await?,
        };
        // A backup is of the database at hand: each gets its own, in the same directory.
        let own;
        let this = match &self.backup {
            Some(b) => {
                own = self.clone().with_backup(b.of(url));
                &own
            }
            None => self,
        };
        let outcome = match op {
            FleetOp::Upgrade(t) => this.upgrade(&db, t).await.map(FleetOutcome::Ran),
            FleetOp::Downgrade(t) => this.downgrade(&db, t).await.map(FleetOutcome::Ran),
            FleetOp::Current => this.current(&db).await.map(FleetOutcome::Current),
            FleetOp::Check => this.check(&db).await.map(FleetOutcome::Checked),
            FleetOp::CheckDrift => match this.check(&db).await {
                Ok(status) => this.drift(&db).await.map(|d| FleetOutcome::CheckedDrift(status, Box::new(d))),
                Err(e) => Err(e),
            },
        };
        db.close().await;
        outcome
    }
}
