//! Reading without a lock: the upgrade's no-op check (the digest the newest log row recorded,
//! compared with the one expected at the target) and the read-only queries.

use super::backend::{Backend, on_backend};
use super::db::Db;
use super::error::Error;
use super::io::{FailureKind, TextRows};
use super::migrator::Migrator;
use super::report::Report;
use super::state;
use crate::plan::Applied;
use crate::sql::{Options, StateDigest, Tables};
use crate::target::Target;

impl Migrator {
    /// Rows of `sql` on a pooled connection; a missing table (and only that) reads as empty.
    pub(super) async fn read(&self, db: &Db, sql: &str, what: &str) -> Result<TextRows, Error> {
        on_backend!(db, pooled, c => match c.rows(sql).await {
            Ok(rows) => Ok(rows),
            // A table this user may not read, or any other failure, is an error, never "empty".
            Err(f) if f.kind == FailureKind::MissingTable => Ok(Vec::new()),
            Err(f) => Err(f.database(format!("cannot {what}"))),
        })
    }

    /// The lock-free fast path of an upgrade: `Some` when there is nothing to do. One query
    /// ([`Db::last_state`]) compares the digest the newest log row recorded with the one expected at `target`;
    /// when the log does not vouch for the state (written offline, or by hand) a second one
    /// reads the applied state folded into one row. Anything unusual is left to the locked path.
    pub(super) async fn probe(
        &self,
        db: &Db,
        target: &Target,
        last: Option<LastState>,
    ) -> Result<Option<Report>, Error> {
        if matches!(target, Target::Relative(_) | Target::LabelRelative(..)) {
            // `+N` counts from where the database is: there is no one state to expect.
            return Ok(None);
        }
        let (expected, at_target) = self.expected(target)?;
        let last = match last {
            Some(last) => last,
            None => db.last_state(&self.options).await?,
        };
        if last.clean && last.digest.as_deref() == Some(expected.to_string().as_str()) {
            return Ok(Some(Report { current: at_target, ..Report::default() }));
        }
        if !last.readable {
            return Ok(None);
        }
        let tables = self.tables(db.dialect());
        let rows = on_backend!(db, pooled, c => {
            let Ok(rows) = c.rows(&tables.select_digest()).await else { return Ok(None) };
            rows
        });
        let Some(recorded) = rows.first().and_then(|row| state::from_digest_row(row)) else { return Ok(None) };
        let judged = state::judge(&self.graph, &recorded);
        if judged.dirty.is_some() || !judged.unknown.is_empty() || !judged.changed.is_empty() {
            return Ok(None);
        }
        let plan = self.graph.plan_upgrade(&judged.applied, target)?;
        Ok(plan
            .is_empty()
            .then(|| Report { current: state::current(&self.graph, &judged.applied), ..Report::default() }))
    }

    /// The digest (as text) and the current revisions of a database exactly at `target`: what
    /// [`LastState::vouches_for`] takes, for a caller that remembers it between processes.
    pub fn expected_state(&self, target: &Target) -> Result<(String, Vec<String>), Error> {
        let (digest, current) = self.expected(target)?;
        Ok((digest.to_string(), current))
    }

    /// The digest and the current revisions of a database exactly at `target` (the state an
    /// upgrade to `target` leaves when it starts from nothing), computed once per target.
    pub(super) fn expected(&self, target: &Target) -> Result<(StateDigest, Vec<String>), Error> {
        let cached = |cache: &Vec<(Target, StateDigest, Vec<String>)>| {
            cache.iter().find(|(t, ..)| t == target).map(|(_, d, c)| (*d, c.clone()))
        };
        if let Some(hit) = self.cache.expected.lock().ok().and_then(|c| cached(&c)) {
            return Ok(hit);
        }
        let plan = self.graph.plan_upgrade(&Applied::default(), target)?;
        let (mut digest, mut applied) = (StateDigest::default(), Applied::default());
        for &step in &plan.steps {
            state::apply(&self.graph, &mut digest, &mut applied, step);
        }
        let current = state::current(&self.graph, &applied);
        if let Ok(mut cache) = self.cache.expected.lock() {
            cache.push((target.clone(), digest, current.clone()));
        }
        Ok((digest, current))
    }
}

/// What the newest log row says about the applied state, read without a lock: the first read of
/// an upgrade's no-op check (see [`Migrator::upgrade_after`]).
#[derive(Debug, Clone, Default)]
pub struct LastState {
    /// The digest of the applied state the newest log row recorded.
    digest: Option<String>,
    /// Whether nothing is dirty.
    clean: bool,
    /// Whether the tables could be read at all (missing tables: a first run).
    readable: bool,
}

impl LastState {
    /// Whether the newest log row vouches for exactly the applied state whose digest is `digest`
    /// (as [`Migrator::expected_state`] gives it), with nothing dirty: an upgrade to that state
    /// has nothing to do.
    pub fn vouches_for(&self, digest: &str) -> bool {
        self.clean && self.digest.as_deref() == Some(digest)
    }
}

impl Db {
    /// The digest of the applied state the newest log row recorded, read without a lock with
    /// `options`' table names. Needs no migrations, so it can start before they are loaded.
    pub async fn last_state(&self, options: &Options) -> Result<LastState, Error> {
        let tables = Tables::with_who(self.dialect(), options, "");
        on_backend!(self, pooled, c => Ok(match c.rows(&tables.select_last_state()).await {
            Ok(rows) => {
                let get = |i: usize| super::io::cell(&rows, i);
                LastState { digest: get(0), clean: get(1).as_deref() == Some("0"), readable: true }
            }
            Err(_) => LastState::default(),
        }))
    }
}
