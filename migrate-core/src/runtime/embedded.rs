//! The runtime methods of the value `migrate!()` produces, so that
//! `migrate!().upgrade(&pool).await?` is all an app needs.

use super::db::Db;
use super::error::Error;
use super::migrator::{Migrator, Report, Status};
use crate::embedded::Migrations;
use crate::target::Target;

impl Migrations {
    /// A [`Migrator`] for these migrations, with their declared head policy.
    pub fn migrator(&self) -> Result<Migrator, Error> {
        Ok(Migrator::new(self.graph()?).with_head_policy(self.head_policy()))
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
        self.migrator()?.check(db).await
    }
}
