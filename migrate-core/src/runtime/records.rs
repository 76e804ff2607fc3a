//! The writes of a locked run that touch only the records: stamps, resolved dirty revisions,
//! accepted checksums, the tables' creation on first use, and the packet-size check before a
//! MySQL run.

use std::time::Instant;

use super::backend::{Backend, PACKET_HEADROOM};
use super::error::Error;
use super::io::FailureKind;
use super::migrator::Migrator;
use super::report::{Report, StepReport};
use super::state::{self, Judged, Recorded};
use crate::plan::{Applied, Direction, Plan, Step};
use crate::sql::{Generator, Origin, StateDigest, Stmt, Tables, hex};

impl Migrator {
    /// Records new checksums for the edited revisions the options accept, and says which.
    pub(super) async fn accept_changed<B: Backend>(
        &self,
        conn: &mut B,
        generator: &Generator<'_>,
        judged: &Judged,
        digest: &mut StateDigest,
    ) -> Result<Vec<String>, Error> {
        let accepted: Vec<_> =
            judged.changed.iter().filter(|c| self.options.accept_changed.contains(&c.revision)).collect();
        if accepted.is_empty() {
            return Ok(Vec::new());
        }
        for c in &accepted {
            digest.toggle(&c.revision, &c.recorded, false);
            digest.toggle(&c.revision, &c.current, true);
        }
        let migrations: Vec<_> = accepted.iter().filter_map(|c| self.graph.get(&c.revision)).collect();
        self.write(conn, &generator.accept(&migrations, Some(digest))).await?;
        Ok(accepted.into_iter().map(|c| c.revision.clone()).collect())
    }

    pub(super) async fn stamp_plan<B: Backend>(
        &self,
        conn: &mut B,
        generator: &Generator<'_>,
        plan: &Plan,
        purge: bool,
        mut digest: StateDigest,
        mut applied: Applied,
    ) -> Result<Report, Error> {
        if plan.is_empty() && !purge {
            return Ok(Report { current: state::current(&self.graph, &applied), ..Report::default() });
        }
        let start = Instant::now();
        for &step in &plan.steps {
            state::apply(&self.graph, &mut digest, &mut applied, step);
        }
        self.write(conn, &generator.stamp(plan, purge, Some(&digest))).await?;
        let duration = start.elapsed();
        let steps = plan
            .steps
            .iter()
            .map(|s| StepReport {
                revision: self.graph.migration(s.index).revision.clone(),
                direction: s.direction,
                duration,
            })
            .collect();
        Ok(Report { steps, current: state::current(&self.graph, &applied), ..Report::default() })
    }

    pub(super) async fn resolve<B: Backend>(
        &self,
        conn: &mut B,
        generator: &Generator<'_>,
        judged: Judged,
        expected: &str,
        resolution: super::error::Resolution,
    ) -> Result<Report, Error> {
        use super::error::Resolution;
        let Some(dirty) = judged.dirty.clone().filter(|d| d.revision == expected) else {
            return Err(Error::NotDirty { expected: expected.to_owned(), actual: judged.dirty });
        };
        let rev = dirty.revision.as_str();
        // A dirty upgrade is not in the digest yet; a dirty downgrade still is.
        let (mut after, mut applied) = (judged.digest, judged.applied);
        let checksum = self.graph.get(rev).map(|m| hex(&m.checksum.0)).unwrap_or_default();
        let mark_applied = resolution == Resolution::MarkApplied;
        match (mark_applied, dirty.direction) {
            (true, Direction::Up) => {
                after.toggle(rev, &checksum, true);
                applied.set(rev, true);
            }
            (false, Direction::Down) => {
                after.toggle(rev, &checksum, false);
                applied.set(rev, false);
            }
            _ => {}
        }
        let statements = generator.resolve(rev, mark_applied, &after);
        self.write(conn, &statements).await?;
        let step = StepReport { revision: rev.to_owned(), direction: dirty.direction, duration: Default::default() };
        Ok(Report { steps: vec![step], current: state::current(&self.graph, &applied), ..Report::default() })
    }

    /// Sends bookkeeping statements that open and commit their own transaction.
    pub(super) async fn write<B: Backend>(&self, conn: &mut B, statements: &[Stmt]) -> Result<(), Error> {
        let sqls: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        let Err(f) = conn.batch(&sqls).await else { return Ok(()) };
        // Nothing of a failed write stays, and no transaction is left open on the connection.
        conn.rollback().await;
        Err(self.busy_or::<B>(f, "cannot update the history and log tables"))
    }

    /// Reads the state on a run's connection, creating the tables on first use.
    pub(super) async fn read_state<B: Backend>(&self, conn: &mut B, tables: &Tables) -> Result<Vec<Recorded>, Error> {
        let sql = tables.select_state();
        match conn.rows(&sql).await {
            Ok(rows) => return Ok(state::recorded(rows)),
            Err(f) if f.kind == FailureKind::MissingTable => {}
            Err(f) => {
                return Err(self.busy_or::<B>(f, "cannot read the history table"));
            }
        }
        conn.create_tables(&tables.create())
            .await
            .map_err(|f| self.busy_or::<B>(f, "cannot create the history and log tables"))?;
        let rows = conn.rows(&sql).await.map_err(|f| f.database("cannot read the history table"))?;
        Ok(state::recorded(rows))
    }

    /// Refuses, before anything changes, a plan with a statement larger than the server accepts
    /// in one packet (MySQL). Plans whose SQL is small in total never ask the server.
    pub(super) async fn check_packets<B: Backend>(
        &self,
        conn: &mut B,
        generator: &Generator<'_>,
        plan: &Plan,
    ) -> Result<(), Error> {
        let size = |s: &Step| {
            let m = self.graph.migration(s.index);
            match (s.direction, &m.down) {
                (Direction::Up, _) => m.up.len(),
                (Direction::Down, crate::Down::Sql { sql, .. }) => sql.len(),
                _ => 0,
            }
        };
        if plan.steps.iter().map(size).sum::<usize>() < 1 << 20 {
            return Ok(());
        }
        let limit = conn.statement_limit().await.map_err(|f| f.database("cannot read the server's packet limit"))?;
        let Some(limit) = limit else { return Ok(()) };
        let budget = limit.saturating_sub(PACKET_HEADROOM);
        for step in plan.steps.iter().filter(|s| size(s) > budget) {
            let m = self.graph.migration(step.index);
            let statements = generator.statements(step.index, step.direction);
            if let Some(stmt) = statements.into_iter().find(|s| s.sql.len() > budget) {
                let line = match stmt.origin {
                    Origin::Migration { line, .. } => line,
                    Origin::Bookkeeping => m.up_line,
                };
                let (revision, path, size) = (m.revision.clone(), m.path.clone(), stmt.sql.len());
                return Err(Error::PacketTooLarge { revision, path, line, size, limit });
            }
        }
        Ok(())
    }
}
