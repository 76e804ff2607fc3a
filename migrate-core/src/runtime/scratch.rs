//! Scratch databases: where schemas are built to be read — SQLite in memory, PostgreSQL and
//! MySQL a database created beside the target on its server (or on the `dev_url` server), named
//! `cargo_migrate_scratch_<purpose>_<pid>_<n>` so that a leftover says what it is, and always
//! dropped: by [`Scratch::drop`], and on Ctrl-C by [`drop_scratch_databases`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use super::db::Db;
use super::error::Error;
use crate::schema::Schema;
use crate::sql::{Options, split};

/// Scratch databases alive in this process: the server each lives on, and its name.
static LIVE: Mutex<Vec<(Db, String)>> = Mutex::new(Vec::new());
static NEXT: AtomicU32 = AtomicU32::new(0);
/// Held while a database is created and registered, and by [`drop_scratch_databases`]: a
/// database whose `CREATE` is on the wire when Ctrl-C arrives is registered before the drop
/// reads the list. `true` once the drop has run, so that nothing is created after it.
static CREATING: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// Creates database `$name` on `$pool`'s server (quoting it with `$q`) and connects a small pool
/// of the `Db::$variant` kind to it; the same steps for both servers.
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! on_server {
    ($server:expr, $pool:expr, $name:expr, $fail:expr, $q:literal, $variant:ident) => {{
        let context = format!("creating the scratch database {}", $name);
        {
            let closed = CREATING.lock().await;
            if *closed {
                return Err(Error::Scratch { context, message: "cancelled: the process is ending".to_owned() });
            }
            sqlx::raw_sql(&format!("CREATE DATABASE {q}{}{q}", $name, q = $q))
                .execute($pool)
                .await
                .map_err($fail(context.clone()))?;
            register($server, &$name);
        }
        let options = (*$pool.connect_options()).clone().database(&$name);
        let db = sqlx::pool::PoolOptions::new()
            .max_connections(2)
            .acquire_timeout(super::db::CONNECT_TIMEOUT)
            .connect_with(options)
            .await;
        Self::finish($server, $name, db.map(Db::$variant).map_err($fail(context))).await
    }};
}

/// A database of the tool's own, to build a schema in and read it back. Call
/// [`drop`](Self::drop) when done.
#[derive(Debug)]
pub struct Scratch {
    db: Db,
    /// The server it lives on (`None` for SQLite's in-memory database).
    server: Option<Db>,
    name: String,
}

impl Scratch {
    /// Creates an empty scratch database beside `server`'s (in memory for SQLite). `purpose`
    /// goes into its name (`head`, `schema`, `drift`…).
    pub async fn create(server: &Db, purpose: &str) -> Result<Scratch, Error> {
        let name =
            format!("cargo_migrate_scratch_{purpose}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused_variables))]
        let fail = |context: String| move |e: sqlx::Error| Error::Scratch { context, message: e.to_string() };
        match server {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => {
                let db = Db::connect("sqlite::memory:").await?;
                Ok(Scratch { db, server: None, name })
            }
            #[cfg(feature = "postgres")]
            Db::Postgres(pool) => on_server!(server, pool, name, fail, '"', Postgres),
            #[cfg(feature = "mysql")]
            Db::MySql(pool) => on_server!(server, pool, name, fail, '`', MySql),
        }
    }

    #[cfg(any(feature = "postgres", feature = "mysql"))]
    async fn finish(server: &Db, name: String, db: Result<Db, Error>) -> Result<Scratch, Error> {
        match db {
            Ok(db) => Ok(Scratch { db, server: Some(server.clone()), name }),
            Err(e) => {
                drop_database(server, &name).await;
                Err(e)
            }
        }
    }

    /// The scratch database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a SQL text (a schema file) statement by statement; a failure names `origin` and the
    /// statement's line.
    pub async fn run_script(&self, sql: &str, origin: &str) -> Result<(), Error> {
        self.db.run_script(sql, origin).await
    }

    /// Reads the scratch database's schema.
    pub async fn schema(&self, options: &Options) -> Result<Schema, Error> {
        self.db.schema(options).await
    }

    /// The catalogue's text of the scratch database's schema, where the backend has one
    /// ([`Db::catalogue_text`]).
    pub(crate) async fn catalogue_text(&self, options: &Options) -> Result<Option<String>, Error> {
        self.db.catalogue_text(options).await
    }

    /// Closes and drops the database.
    pub async fn drop(self) {
        self.db.close().await;
        if let Some(server) = &self.server {
            drop_database(server, &self.name).await;
        }
    }
}

/// Builds the schema a SQL text describes in a scratch database beside `server`'s, and reads it.
pub async fn schema_of_script(server: &Db, sql: &str, origin: &str, options: &Options) -> Result<Schema, Error> {
    let scratch = Scratch::create(server, "schema").await?;
    let result = match scratch.run_script(sql, origin).await {
        Ok(()) => scratch.schema(options).await,
        Err(e) => Err(e),
    };
    scratch.drop().await;
    result
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
fn register(server: &Db, name: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.push((server.clone(), name.to_owned()));
    }
}

async fn drop_database(server: &Db, name: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(_, n)| n != name);
    }
    match server {
        #[cfg(feature = "postgres")]
        Db::Postgres(pool) => {
            let force = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(pool).await;
            if force.is_err() {
                let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS \"{name}\"")).execute(pool).await;
            }
        }
        #[cfg(feature = "mysql")]
        Db::MySql(pool) => {
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS `{name}`")).execute(pool).await;
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

/// Drops every scratch database this process still has, and refuses to create any after it:
/// for a signal handler, before exiting.
pub async fn drop_scratch_databases() {
    let mut closed = CREATING.lock().await;
    *closed = true;
    let live: Vec<(Db, String)> = LIVE.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
    for (server, name) in live {
        drop_database(&server, &name).await;
    }
}

impl Db {
    /// Reads this database's schema from its catalogue, leaving out the history and log tables
    /// `options` names.
    pub async fn schema(&self, options: &Options) -> Result<Schema, Error> {
        use super::backend::Backend;
        super::backend::on_backend!(self, pooled, c => c.introspect(options).await.map_err(|f| Error::Scratch {
            context: "reading the schema from the catalogue".to_owned(),
            message: f.message,
        }))
    }

    /// The catalogue's text of this database's schema, when the backend has one from which the
    /// schema follows entirely (see [`Backend::catalogue_text`](super::backend::Backend)).
    pub(crate) async fn catalogue_text(&self, options: &Options) -> Result<Option<String>, Error> {
        use super::backend::Backend;
        super::backend::on_backend!(self, pooled, c => c.catalogue_text(options).await.map_err(|f| Error::Scratch {
            context: "reading the catalogue".to_owned(),
            message: f.message,
        }))
    }

    /// Runs a SQL text, split as the database's own client would, in as few round trips as the
    /// server allows; a failure names `origin` and the failing statement's line.
    pub async fn run_script(&self, sql: &str, origin: &str) -> Result<(), Error> {
        use super::backend::Backend;
        let statements = split(sql, self.dialect());
        let sqlite = self.dialect() == crate::sql::Dialect::Sqlite;
        super::backend::on_backend!(self, pooled, c => {
            if sqlite {
                // SQLite checks DDL against the schema a connection last loaded, and reloads it
                // only when a statement reads the database: read once, so a change another
                // connection made is seen.
                c.rows("SELECT count(*) FROM sqlite_schema").await.map_err(|f| f.database("reading the schema"))?;
            }
            // One round trip where the server takes several statements; the failing one is named.
            let all: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
            if let Err(f) = c.batch(&all).await {
                let line = statements.get(f.index).map_or(0, |s| s.line);
                return Err(Error::Script { origin: origin.to_owned(), line, message: f.message });
            }
            Ok(())
        })
    }
}
