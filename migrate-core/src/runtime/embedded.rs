//! The runtime methods of the value `migrate!()` produces, so that
//! `migrate!().upgrade(&pool).await?` is all an app needs.

use std::sync::Mutex;

use super::db::Db;
use super::error::Error;
use super::migrator::Migrator;
use super::report::{Report, Status};
use crate::embedded::Migrations;
use crate::target::Target;

/// The migrators of the embedded values used so far in this process, by the addresses and
/// lengths of their data: the graph is validated and the expected states computed once, not on
/// every call.
static MIGRATORS: Mutex<Vec<(Key, Migrator)>> = Mutex::new(Vec::new());

/// Where an embedded value's migrations and branch labels live, and how many there are.
type Key = [usize; 4];

impl Migrations {
    /// A [`Migrator`] for these migrations, with their declared head policy; built once per
    /// process and shared (cloning a migrator is cheap).
    pub fn migrator(&self) -> Result<Migrator, Error> {
        let key: Key = [
            self.migrations.as_ptr() as usize,
            self.migrations.len(),
            self.branches.as_ptr() as usize,
            self.branches.len(),
        ];
        let cached = |list: &Vec<(Key, Migrator)>| list.iter().find(|(k, _)| *k == key).map(|(_, m)| m.clone());
        if let Some(m) = MIGRATORS.lock().ok().and_then(|l| cached(&l)) {
            return Ok(m);
        }
        let migrator = Migrator::new(self.graph()?).with_head_policy(self.head_policy());
        if let Ok(mut list) = MIGRATORS.lock() {
            list.push((key, migrator.clone()));
        }
        Ok(migrator)
    }

    /// Upgrades to the head (or every declared branch head), taking the lock; a no-op run
    /// costs one query.
    pub async fn upgrade(&self, db: impl Into<Db>) -> Result<Report, Error> {
        let migrator = self.migrator()?;
        let target = migrator.head_target();
        migrator.upgrade(db, &target).await
    }

    /// Downgrades to `target`.
    pub async fn downgrade(&self, db: impl Into<Db>, target: &Target) -> Result<Report, Error> {
        self.migrator()?.downgrade(db, target).await
    }

    /// Where the database stands.
    pub async fn status(&self, db: impl Into<Db>) -> Result<Status, Error> {
        self.migrator()?.status(db).await
    }

    /// Succeeds when the database is exactly at head (see [`Migrator::check`]).
    pub async fn check(&self, db: impl Into<Db>) -> Result<(), Error> {
        self.migrator()?.check(db).await.map(|_| ())
    }

    /// The stairway test over every revision ([`Migrator::stairway`]), in a scratch database
    /// beside `server`'s (an in-memory one for SQLite), for a `#[test]`:
    ///
    /// ```no_run
    /// # async fn t(pool: sqlx::SqlitePool, migrations: &migrate_core::Migrations) {
    /// let report = migrations.test_downgrades(&pool).await.unwrap();
    /// assert!(report.passed(), "{:#?}", report.failures().collect::<Vec<_>>());
    /// # }
    /// ```
    pub async fn test_downgrades(&self, server: impl Into<Db>) -> Result<super::StairwayReport, Error> {
        self.migrator()?.stairway(server, None, None).await
    }
}
