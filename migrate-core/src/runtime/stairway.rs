//! The stairway test: every revision, in topological order, applied, reverted and applied again
//! in a scratch database, with the schema read by introspection before and after, so that a
//! downgrade that leaves a trace (or removes too much) is named with what it left.

use std::fmt;

use super::db::Db;
use super::error::Error;
use super::migrator::Migrator;
use super::scratch::Scratch;
use crate::Down;
use crate::Target;
use crate::schema::{Schema, diff};

/// What happened to one revision in the stairway test.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StairwayOutcome {
    /// Up, down and up again; the downgrade restored the schema exactly.
    Clean,
    /// Irreversible: applied only, with its stated reason.
    Skipped {
        /// Why it cannot be undone.
        reason: String,
    },
    /// The downgrade did not restore the schema from before the upgrade. Each line names an
    /// object the downgrade left (`extra`), removed (`missing`) or changed.
    LeavesDifferences(Vec<String>),
    /// Applying it a second time gave a different schema from the first time.
    NotRepeatable(Vec<String>),
    /// A statement failed (the upgrade, the downgrade, or the second upgrade); the revisions
    /// after it are not tested.
    Failed(String),
}

/// One revision's result.
#[derive(Debug, Clone)]
pub struct StairwayStep {
    /// The revision.
    pub revision: String,
    /// Its file.
    pub path: String,
    /// What happened.
    pub outcome: StairwayOutcome,
}

/// The stairway test's result, revision by revision.
#[derive(Debug, Clone, Default)]
pub struct StairwayReport {
    /// Every revision tested, in the order tested.
    pub steps: Vec<StairwayStep>,
}

impl StairwayReport {
    /// Whether every downgrade undid its upgrade (skipped irreversible revisions pass).
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The revisions that did not pass.
    pub fn failures(&self) -> impl Iterator<Item = &StairwayStep> {
        self.steps.iter().filter(|s| !matches!(s.outcome, StairwayOutcome::Clean | StairwayOutcome::Skipped { .. }))
    }
}

impl fmt::Display for StairwayStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            StairwayOutcome::Clean => write!(f, "{} ({}): up, down, up: clean", self.revision, self.path),
            StairwayOutcome::Skipped { reason } => {
                write!(f, "{} ({}): irreversible, not downgraded: {reason}", self.revision, self.path)
            }
            StairwayOutcome::LeavesDifferences(d) => write!(
                f,
                "{} ({}): its downgrade does not restore the schema from before its upgrade:{}",
                self.revision,
                self.path,
                d.iter().map(|l| format!("\n  - {l}")).collect::<String>()
            ),
            StairwayOutcome::NotRepeatable(d) => write!(
                f,
                "{} ({}): applied again after its downgrade, it gives a different schema:{}",
                self.revision,
                self.path,
                d.iter().map(|l| format!("\n  - {l}")).collect::<String>()
            ),
            StairwayOutcome::Failed(m) => write!(f, "{} ({}): {m}", self.revision, self.path),
        }
    }
}

impl Migrator {
    /// The stairway test, in a scratch database beside `server`'s (never in it; SQLite: in
    /// memory): for every revision in topological order (only those from `from` to `to` when
    /// given; the ones before are applied without testing), the schema is read, the revision
    /// applied, reverted, compared with what was read, and applied again. Irreversible
    /// revisions are applied and skipped.
    pub async fn stairway(
        &self,
        server: impl Into<Db>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<StairwayReport, Error> {
        let on = self.scratch_server(server.into());
        let order: Vec<usize> = self.graph.topological_order().to_vec();
        let position = |id: Option<&str>, default: usize| -> Result<usize, Error> {
            match id {
                None => Ok(default),
                Some(id) => {
                    let i = self.graph.resolve(id)?;
                    Ok(order.iter().position(|&x| x == i).unwrap_or(default))
                }
            }
        };
        let first = position(from, 0)?;
        let last = position(to, order.len().saturating_sub(1))?;
        let quiet = self.quiet();
        let id = |j: usize| self.graph.migration(j).revision.as_str();
        let mut scratch = Scratch::create(&on, "stairway").await?;
        let mut report = StairwayReport::default();
        let result = async {
            quiet.apply_each(scratch.db(), order[..first.min(order.len())].iter().map(|&j| id(j))).await?;
            // The schema the scratch database has now, when known: each stair ends where the next
            // starts, so it is read once per stair rather than twice.
            let mut known: Option<Seen> = None;
            for (k, &i) in order.iter().enumerate().take(last + 1).skip(first) {
                let m = self.graph.migration(i);
                let outcome = match quiet.step(&scratch, m.revision.as_str(), &m.down, known.take()).await {
                    Ok((outcome, now)) => {
                        known = now;
                        outcome
                    }
                    Err(e) => StairwayOutcome::Failed(e.to_string()),
                };
                let failed = matches!(outcome, StairwayOutcome::Failed(_));
                let broken = !matches!(outcome, StairwayOutcome::Clean | StairwayOutcome::Skipped { .. });
                report.steps.push(StairwayStep { revision: m.revision.clone(), path: m.path.clone(), outcome });
                if failed {
                    // What comes after builds on a revision that does not run: nothing more to
                    // learn from this chain until it is fixed.
                    break;
                }
                if broken {
                    // Start again from a clean database at the same point, so one bad
                    // downgrade does not hide the next revision's result.
                    let fresh = Scratch::create(&on, "stairway").await?;
                    std::mem::replace(&mut scratch, fresh).drop().await;
                    quiet.apply_each(scratch.db(), order[..=k].iter().map(|&j| id(j))).await?;
                }
            }
            Ok::<_, Error>(())
        }
        .await;
        scratch.drop().await;
        result.map(|()| report)
    }

    /// One stair: read (unless `before` is already known), up, read, down, compare, up,
    /// compare. Returns the outcome and, when the stair ends with the revision applied, the
    /// schema it ends with. A comparison whose catalogue texts are equal needs no schema read.
    async fn step(
        &self,
        scratch: &Scratch,
        revision: &str,
        down: &Down,
        before: Option<Seen>,
    ) -> Result<(StairwayOutcome, Option<Seen>), Error> {
        let options = &self.options;
        let before = match before {
            Some(known) => known,
            None => Seen::read(scratch, options).await?,
        };
        self.upgrade(scratch.db(), &Target::Revision(revision.to_owned())).await?;
        let after = Seen::read(scratch, options).await?;
        if let Down::Irreversible { reason } = down {
            return Ok((StairwayOutcome::Skipped { reason: reason.clone() }, Some(after)));
        }
        self.revert(scratch.db(), revision).await?;
        let text = scratch.catalogue_text(options).await?;
        if !before.is(&text) {
            let left = diff(&scratch.schema(options).await?, &before.schema);
            if !left.is_empty() {
                return Ok((StairwayOutcome::LeavesDifferences(left.differences()), None));
            }
        }
        self.upgrade(scratch.db(), &Target::Revision(revision.to_owned())).await?;
        let text = scratch.catalogue_text(options).await?;
        if after.is(&text) {
            return Ok((StairwayOutcome::Clean, Some(after)));
        }
        let again = scratch.schema(options).await?;
        let changed = diff(&again, &after.schema);
        if !changed.is_empty() {
            return Ok((StairwayOutcome::NotRepeatable(changed.differences()), None));
        }
        Ok((StairwayOutcome::Clean, Some(Seen { schema: again, text })))
    }
}

/// A schema the stairway read, with the catalogue's text it follows from, where the backend has
/// one ([`Scratch::catalogue_text`]).
struct Seen {
    schema: Schema,
    text: Option<String>,
}

impl Seen {
    /// Reads the scratch database's catalogue text and schema.
    async fn read(scratch: &Scratch, options: &crate::sql::Options) -> Result<Self, Error> {
        let text = scratch.catalogue_text(options).await?;
        Ok(Self { schema: scratch.schema(options).await?, text })
    }

    /// Whether a database whose catalogue text is `text` has this schema, as far as the texts
    /// tell: equal texts mean equal schemas; otherwise (or without texts) only a read can tell.
    fn is(&self, text: &Option<String>) -> bool {
        self.text.is_some() && self.text == *text
    }
}
