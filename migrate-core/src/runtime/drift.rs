//! The schema the migrations produce, and drift: the live database's schema held against the
//! one its applied revisions produce, both read by introspection, built in a scratch database.

use super::db::Db;
use super::error::Error;
use super::migrator::Migrator;
use super::scratch::Scratch;
use crate::Target;
use crate::schema::{Changes, Schema, diff};

/// How a live database differs from what its applied revisions produce.
#[derive(Debug, Clone)]
pub struct Drift {
    /// The schema the applied revisions produce, built in a scratch database.
    pub expected: Schema,
    /// The live database's schema.
    pub actual: Schema,
    /// What would bring the live database back to `expected` (empty when there is no drift).
    pub changes: Changes,
}

impl Drift {
    /// Whether the database is exactly what its revisions make it.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl Migrator {
    /// The schema the migrations produce at their head(s), built in a scratch database beside
    /// `server`'s (or on the [`with_dev_database`](Self::with_dev_database) server).
    pub async fn head_schema(&self, server: impl Into<Db>) -> Result<Schema, Error> {
        let heads: Vec<String> = self.graph.heads().iter().map(|m| m.revision.clone()).collect();
        self.schema_at(server, &heads).await
    }

    /// The schema the migrations produce with exactly `revisions` (and what they need) applied,
    /// built in a scratch database.
    ///
    /// Each such schema is built once per scratch server and kept by the migrator (and its
    /// clones).
    pub async fn schema_at(&self, server: impl Into<Db>, revisions: &[String]) -> Result<Schema, Error> {
        let on = self.scratch_server(server.into());
        let mut sorted = revisions.to_vec();
        sorted.sort();
        let key = on.server_key();
        let mut built = self.cache.schemas.lock().await;
        if let Some((.., schema)) = built.iter().find(|(k, r, _)| *k == key && *r == sorted) {
            return Ok(schema.clone());
        }
        let scratch = Scratch::create(&on, "build").await?;
        let result = match self.quiet().apply_each(scratch.db(), revisions.iter().map(String::as_str)).await {
            Ok(()) => scratch.schema(&self.options).await,
            Err(e) => Err(e),
        };
        scratch.drop().await;
        if let Ok(schema) = &result {
            built.push((key, sorted, schema.clone()));
        }
        result
    }

    /// Where scratch databases go: the dev server when one is set, else `server`'s.
    pub(super) fn scratch_server(&self, server: Db) -> Db {
        self.dev.clone().unwrap_or(server)
    }

    /// This migrator for scratch builds: it reports nothing and backs nothing up.
    pub(super) fn quiet(&self) -> Migrator {
        let mut quiet = self.clone();
        quiet.options.on_event = None;
        quiet.backup = None;
        quiet
    }

    /// Applies each revision (with what it needs) in turn.
    pub(super) async fn apply_each<'r>(
        &self,
        db: &Db,
        revisions: impl IntoIterator<Item = &'r str>,
    ) -> Result<(), Error> {
        for revision in revisions {
            self.upgrade(db, &Target::Revision(revision.to_owned())).await?;
        }
        Ok(())
    }

    /// What a new revision must do to reach the schema `schema_sql` describes (a schema file):
    /// the up and down changes between the migrations' head and that schema, both built in
    /// scratch databases at the same time. Empty when the migrations already produce it.
    pub async fn autogenerate(
        &self,
        server: impl Into<Db>,
        schema_sql: &str,
        origin: &str,
    ) -> Result<(Changes, Changes), Error> {
        let on = self.scratch_server(server.into());
        let (head, desired) = tokio::join!(
            self.head_schema(&on),
            super::scratch::schema_of_script(&on, schema_sql, origin, &self.options)
        );
        let (head, desired) = (head?, desired?);
        Ok((diff(&head, &desired), diff(&desired, &head)))
    }

    /// Drift: how the live database's schema differs from the one its applied revisions
    /// produce — a revision stamped but never applied, an index dropped by hand, a hot fix.
    /// Read-only on `db`; the expected schema is built in a scratch database.
    ///
    /// Refused like [`check`](Self::check) when the database records revisions this build
    /// does not have, or a dirty one: there is no telling what they should have made.
    pub async fn drift(&self, db: impl Into<Db>) -> Result<Drift, Error> {
        let db = db.into();
        let status = self.status(&db).await?;
        if let Some(revision) = status.dirty {
            return Err(Error::Dirty { revision });
        }
        if !status.missing.is_empty() {
            return Err(Error::UnknownApplied { revisions: status.missing });
        }
        let expected = if status.partway.is_empty() {
            self.schema_at(&db, &status.current).await?
        } else {
            self.on_graph(self.graph.expand(&status.partway)?).schema_at(&db, &status.current).await?
        };
        let actual = db.schema(&self.options).await?;
        let changes = diff(&actual, &expected);
        Ok(Drift { expected, actual, changes })
    }
}
