//! The step loop: runs a plan's step programs, one transaction per step or one for the whole
//! run, stopping for a lost lock or a cancellation, and turns a failed step into an error that
//! carries what the run had done before it.

use std::future::Future;
use std::time::Instant;

use super::backend::{Backend, Canceller, StepFailure, busy};
use super::cancel::Cancel;
use super::error::{Aftermath, Error, StatementCause};
use super::io::FailureKind;
use super::lock::Claim;
use super::migrator::Migrator;
use super::report::{Report, StepReport};
use super::state;
use crate::plan::{Applied, Plan, Step};
use crate::sql::{Event, Generator, Origin, StateDigest, StepProgram, Stmt, Tables};

impl Migrator {
    /// A run step by step: each step's program in its own transaction (or none, for
    /// `transaction: false`), from the state `from` (its digest and revisions), checking for a
    /// lost lock and a cancellation between steps.
    pub(super) async fn run_each<B: Backend>(
        &self,
        conn: &mut B,
        generator: &Generator<'_>,
        plan: &Plan,
        from: (StateDigest, Applied),
        claim: Option<&Claim>,
        backup: Option<std::path::PathBuf>,
    ) -> Result<Report, Error> {
        let (mut digest, mut applied) = from;
        let mut canceller = match &self.cancel {
            Some(_) if !plan.is_empty() => conn.canceller().await,
            _ => None,
        };
        let mut report = Report { backup, ..Report::default() };
        for (position, &step) in plan.steps.iter().enumerate() {
            if let Some(why) = claim.and_then(Claim::lost) {
                report.current = state::current(&self.graph, &applied);
                return Err(Error::LockLost { why, report: Box::new(report) });
            }
            if self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                let revision = report.steps.last().map(|s| s.revision.clone());
                report.current = state::current(&self.graph, &applied);
                return Err(Error::Cancelled { revision, aftermath: None, report: Box::new(report) });
            }
            let mut after = digest;
            state::toggle(&self.graph, &mut after, step);
            let program = generator.step(step, Some(&after));
            self.started(step, position, plan.steps.len(), &program);
            let start = Instant::now();
            let (result, cancelled) = self.guarded(conn.run_step(&program), &mut canceller).await;
            if let Err(f) = result {
                report.current = state::current(&self.graph, &applied);
                return Err(self.step_error(conn, generator, &program, f, cancelled, report).await);
            }
            state::apply(&self.graph, &mut digest, &mut applied, step);
            report.steps.push(self.finished(step, start));
            if cancelled {
                report.current = state::current(&self.graph, &applied);
                let revision = report.steps.last().map(|s| s.revision.clone());
                return Err(Error::Cancelled { revision, aftermath: None, report: Box::new(report) });
            }
        }
        report.current = state::current(&self.graph, &applied);
        Ok(report)
    }

    /// Awaits `work`; when the run is cancelled meanwhile, cancels the statement on the server
    /// and awaits `work` to its end (a rollback, usually). Says whether it was cancelled.
    pub(super) async fn guarded<F: Future>(&self, work: F, canceller: &mut Option<Canceller>) -> (F::Output, bool) {
        let Some(cancel) = &self.cancel else { return (work.await, false) };
        tokio::pin!(work);
        tokio::select! {
            out = &mut work => (out, false),
            () = cancel.cancelled() => {
                if let Some(cancel_statement) = canceller.take() {
                    cancel_statement().await;
                }
                (work.await, true)
            }
        }
    }

    /// The error of a failed step, with what the run had done before it.
    pub(super) async fn step_error<B: Backend>(
        &self,
        conn: &mut B,
        generator: &Generator<'_>,
        program: &StepProgram,
        f: StepFailure,
        cancelled: bool,
        report: Report,
    ) -> Error {
        if let Some(e) = busy(&f.failure, B::DIALECT, self.options.lock_timeout) {
            return e.stopping(report);
        }
        let m = self.graph.migration(program.step.index);
        if f.failure.kind == FailureKind::ConnectionLost {
            // The server may have run the whole batch, its COMMIT included, before the loss: say
            // so rather than claim a rollback.
            let what = if f.aftermath == Aftermath::RolledBackAll { "the run" } else { "it" };
            return f.failure.stopped(lost(&format!("while `{}` ran", m.revision), what), report);
        }
        let failed = program.statements().nth(f.at);
        if let Some(owner) = failed.and_then(|s| generator.fence_owner(&s.sql)) {
            let taken = super::lock::fence_failed(conn, generator.tables(), owner).await;
            let why = format!("{taken}, when `{}` was to start", m.revision);
            return Error::LockLost { why, report: Box::new(report) };
        }
        let origin = failed.map_or(Origin::Bookkeeping, |s| s.origin);
        let line = match origin {
            Origin::Migration { line, .. } => line,
            Origin::Bookkeeping => m.up_line,
        };
        if f.aftermath == Aftermath::Dirty {
            let failure = format!("{}:{line}: {}", m.path, f.failure.message);
            conn.record_failure(generator.tables(), &m.revision, &failure).await;
        }
        if cancelled && f.failure.kind == FailureKind::Cancelled {
            return Error::Cancelled {
                revision: Some(m.revision.clone()),
                aftermath: Some(f.aftermath),
                report: Box::new(report),
            };
        }
        if origin == Origin::Bookkeeping && f.aftermath != Aftermath::Dirty {
            let context = format!(
                "cannot update the history and log tables while running `{}`; {}",
                m.revision,
                f.aftermath.describe(program.step.direction)
            );
            return f.failure.stopped(context, report);
        }
        Error::Statement {
            revision: m.revision.clone(),
            direction: program.step.direction,
            path: m.path.clone(),
            line,
            message: f.failure.message,
            cause: match f.failure.kind {
                FailureKind::InTransaction => StatementCause::InTransaction,
                FailureKind::ReadOnly => StatementCause::ReadOnly,
                FailureKind::LockNotAvailable => StatementCause::LockWait,
                _ => StatementCause::Other,
            },
            aftermath: f.aftermath,
            report: Box::new(report),
        }
    }

    /// An all-or-nothing run: the run's transaction around every step, from the state `from`;
    /// any failure (or a cancellation) rolls all of it back, and its error's report says so: no
    /// step, the state the run started from, and the backup.
    pub(super) async fn run_whole<B: Backend>(
        &self,
        conn: &mut B,
        tables: &Tables,
        plan: &Plan,
        from: (StateDigest, Applied),
        claim: Option<&Claim>,
        backup: Option<std::path::PathBuf>,
    ) -> Result<Report, Error> {
        let (mut digest, mut applied) = from;
        let before = state::current(&self.graph, &applied);
        let untouched = || Box::new(Report { current: before.clone(), backup: backup.clone(), ..Report::default() });
        let generator = self.generator(tables, true, claim);
        let mut canceller = if self.cancel.is_some() { conn.canceller().await } else { None };
        let program = generator.program(plan, |step| {
            state::apply(&self.graph, &mut digest, &mut applied, step);
            Some(digest)
        });
        self.announce(&program.begin);
        let begin = program.begin.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>();
        if let Err(f) = conn.batch(&begin).await {
            conn.rollback().await;
            return Err(self.busy_or::<B>(f, "cannot start the run's transaction").stopping(*untouched()));
        }
        let mut report = Report::default();
        for (position, step) in program.steps.iter().enumerate() {
            self.started(step.step, position, program.steps.len(), step);
            let start = Instant::now();
            let statements: Vec<&str> = step.statements().map(|s| s.sql.as_str()).collect();
            let (result, cancelled) = self.guarded(conn.batch(&statements), &mut canceller).await;
            if let Err(failure) = result {
                conn.rollback().await;
                let f = StepFailure { at: failure.index, failure, aftermath: Aftermath::RolledBackAll };
                return Err(self.step_error(conn, &generator, step, f, cancelled, *untouched()).await);
            }
            report.steps.push(self.finished(step.step, start));
            if cancelled || self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                conn.rollback().await;
                let revision = Some(self.graph.migration(step.step.index).revision.clone());
                return Err(Error::Cancelled {
                    revision,
                    aftermath: Some(Aftermath::RolledBackAll),
                    report: untouched(),
                });
            }
        }
        if let Some(why) = claim.and_then(Claim::lost) {
            conn.rollback().await;
            return Err(Error::LockLost { why, report: untouched() });
        }
        self.announce(&program.end);
        let end = program.end.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>();
        if let Err(f) = conn.batch(&end).await {
            if f.kind == FailureKind::ConnectionLost {
                return Err(f.stopped(lost("as the run committed", "the run"), *untouched()));
            }
            conn.rollback().await;
            // The run's log rows (SQLite) come before the COMMIT.
            let what =
                if f.index + 1 < end.len() { "write the run's log rows" } else { "commit the run's transaction" };
            return Err(
                f.stopped(format!("cannot {what}; the whole run was rolled back, nothing changed"), *untouched())
            );
        }
        report.current = state::current(&self.graph, &applied);
        report.backup = backup;
        Ok(report)
    }

    /// Tells the progress hook that a step starts, and which statements it runs.
    fn started(&self, step: Step, position: usize, total: usize, program: &StepProgram) {
        if self.options.on_event.is_none() {
            return;
        }
        let revision = self.graph.migration(step.index).revision.clone();
        self.options.emit(Event::Started { revision, direction: step.direction, index: position, total });
        self.announce(program.statements());
    }

    /// Tells the progress hook which statements are sent.
    fn announce<'a>(&self, statements: impl IntoIterator<Item = &'a Stmt>) {
        if self.options.on_event.is_none() {
            return;
        }
        for stmt in statements {
            self.options.emit(Event::Statement { sql: stmt.sql.clone() });
        }
    }

    /// Tells the progress hook that a step finished, and returns its line of the report.
    fn finished(&self, step: Step, start: Instant) -> StepReport {
        let duration = start.elapsed();
        let revision = self.graph.migration(step.index).revision.clone();
        self.options.emit(Event::Finished { revision: revision.clone(), direction: step.direction, duration });
        StepReport { revision, direction: step.direction, duration }
    }
}

/// What a run says when its connection was lost `when`, before the server answered: the server
/// may have run the whole batch, `what` it committed included.
fn lost(when: &str, what: &str) -> String {
    format!(
        "the connection was lost {when}, before the server answered: whether the server committed {what} is unknown; `cargo migrate current` (or `Migrator::current`) reads what the database records"
    )
}
