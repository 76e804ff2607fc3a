//! The database side of the commands, on migrate-core's runtime: connecting with the configured
//! URL and options, running async calls on a small tokio runtime, mapping runtime errors to exit
//! codes, and showing progress while revisions run.

use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migrate_core::{Applied, Cancel, Db, Direction, Error, ErrorKind, Event, LastState, Migrator, Options};

use crate::commands::Ctx;
use crate::config::Config;
use crate::error::{CliError, code};
use crate::project::{Project, plan_error};

/// A connected database and a migrator for the package's graph.
pub(crate) struct Session {
    /// The tokio runtime the calls run on.
    pub(crate) runtime: tokio::runtime::Runtime,
    /// The database.
    pub(crate) db: Db,
    /// The migrator.
    pub(crate) migrator: Migrator,
}

impl Session {
    /// Runs an async runtime call to completion.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Closes the connections.
    pub(crate) fn close(self) {
        self.runtime.block_on(self.db.close());
    }
}

/// The run options from the configuration (table names, schema, lock timeout).
pub(crate) fn options(config: &Config) -> Options {
    let mut o = Options::default();
    if let Some(t) = &config.metadata.history_table {
        o.history_table = t.clone();
    }
    if let Some(t) = &config.metadata.log_table {
        o.log_table = t.clone();
    }
    if let Some(s) = &config.metadata.schema {
        o.schema = Some(s.clone());
    }
    if let Some(t) = config.lock_timeout {
        o.lock_timeout = t;
    }
    o.lock = config.lock;
    if let Some(lease) = config.lock_lease {
        o = o.lock_lease(lease);
    }
    o
}

/// Connects to the configured database to read it: a SQLite file that does not exist is
/// reported, never created.
pub(crate) fn connect(ctx: &mut Ctx<'_>, project: &Project, options: Options) -> Result<Session, CliError> {
    Ok(start(ctx, &project.config, &options, Start::Read)?.session(project, options)?.0)
}

/// What a connection started early is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Reading only: a missing SQLite file is an error.
    Read,
    /// A run that changes the database (creating a SQLite file if needed).
    Write,
    /// An upgrade: a run that also reads the first half of its no-op check meanwhile.
    Upgrade,
}

/// A connection started before the migrations are read: the database answers (and, for an
/// upgrade, reads the log's last state) while the files are read and parsed.
pub(crate) struct Early {
    runtime: tokio::runtime::Runtime,
    task: tokio::task::JoinHandle<Connected>,
    /// What the task gave, once it was awaited by [`Early::last`].
    done: Option<Result<Connected, tokio::task::JoinError>>,
    /// Whether the session's threads are kept on one processor.
    colocate: Colocate,
}

/// The connection and, for an upgrade, the log's last state.
type Connected = Result<(Db, Option<LastState>), Error>;

/// Keeps a SQLite session's threads on one processor, the awaiting thread yielding to the
/// connection's. sqlx runs each SQLite connection on a thread of its own, which hands every
/// statement's result to the thread awaiting it.
///
/// - On two processors each hand-off is a wake-up across processors, and on a 2-core machine
///   those cost a quarter of an upgrade's time. The work is sequential anyway: on one processor a
///   1,000-revision upgrade takes about a fifth less time.
/// - On one processor, the awaiting thread, woken by each result, would preempt the connection's
///   thread at once: two context switches per statement (19 per step, 19,000 for 1,000 steps).
///   As a batch thread (`SCHED_BATCH`) it is woken without preempting, so the connection's
///   thread runs a step's statements to the end and the awaiting thread takes their results
///   together: 2 switches per step, and a fifth less time again.
///
/// Only the session is kept there: the files are read and the connection opened before, on every
/// processor. Where affinity or the policy cannot be set, nothing changes; a process run under
/// `nice` keeps its policy as it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Colocate(bool);

impl Colocate {
    /// Whether the session is a SQLite one; the servers' drivers run on the tokio runtime itself.
    pub(crate) fn for_url(url: &str) -> Self {
        Self(url.starts_with("sqlite:"))
    }

    /// Moves the calling thread, and sqlx's SQLite connection threads, to the processor the
    /// calling thread is on (threads started later inherit it), and makes the calling thread a
    /// batch thread.
    pub(crate) fn here(self) {
        #[cfg(target_os = "linux")]
        if self.0 {
            use rustix::thread::{CpuSet, Pid, sched_getcpu, sched_setaffinity};
            use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityOsValue};
            let mut set = CpuSet::new();
            set.set(sched_getcpu());
            // An affinity the system refuses (a container's CPU set that changed) is only slower.
            let _ = sched_setaffinity(None, &set);
            // The batch policy at the niceness the thread has (0: setting it changes nothing).
            if rustix::process::getpriority_process(None) == Ok(0) {
                let _ = thread_priority::set_thread_priority_and_policy(
                    thread_priority::thread_native_id(),
                    ThreadPriority::Os(ThreadPriorityOsValue::default()),
                    thread_priority::ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch),
                );
            }
            let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return };
            for task in tasks.flatten() {
                // sqlx names them `sqlx-sqlite-worker-N`, which the kernel keeps to 15 bytes.
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                let tid = task.file_name().to_str().and_then(|t| t.parse().ok()).and_then(Pid::from_raw);
                if let (true, Some(tid)) = (comm.starts_with("sqlx-sqlite-wor"), tid) {
                    let _ = sched_setaffinity(Some(tid), &set);
                }
            }
        }
    }
}

/// Starts connecting to the configured database in the background, for `purpose`.
pub(crate) fn start(ctx: &mut Ctx<'_>, config: &Config, options: &Options, purpose: Start) -> Result<Early, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| CliError::Io { path: "tokio runtime".to_owned(), message: e.to_string() })?;
    ctx.out.verbose(format!("connecting to {}", config.database.redacted()));
    let url = config.database.url.clone();
    let options = options.clone();
    let colocate = Colocate::for_url(&url);
    let task = runtime.spawn(async move {
        let db = match purpose {
            Start::Read => Db::connect_existing(&url).await?,
            Start::Write | Start::Upgrade => Db::connect(&url).await?,
        };
        let last = if purpose == Start::Upgrade { Some(db.last_state(&options).await?) } else { None };
        Ok((db, last))
    });
    Ok(Early { runtime, task, done: None, colocate })
}

impl Early {
    /// Waits for the connection and pairs it with a migrator for `project`.
    pub(crate) fn session(self, project: &Project, options: Options) -> Result<(Session, Option<LastState>), CliError> {
        let Early { runtime, task, done, colocate } = self;
        colocate.here();
        let joined = match done {
            Some(done) => done,
            None => runtime.block_on(task),
        }
        .map_err(|e| CliError::Io { path: "connection task".to_owned(), message: e.to_string() })?;
        let (db, last) = joined.map_err(|e| error(e, &project.config))?;
        let migrator =
            Migrator::new(project.graph.clone()).with_options(options).with_head_policy(project.config.head_policy());
        Ok((Session { runtime, db, migrator }, last))
    }
}

impl Early {
    /// Waits for the connection and the log's last state (an upgrade's), keeping both for
    /// [`session`](Self::session); `None` when either failed (the session reports it).
    pub(crate) fn last(&mut self) -> Option<&LastState> {
        if self.done.is_none() {
            self.done = Some(self.runtime.block_on(&mut self.task));
        }
        self.done.as_ref()?.as_ref().ok()?.as_ref().ok()?.1.as_ref()
    }

    /// Closes the connection, when it was made.
    pub(crate) fn close(mut self) {
        if let Some(Ok(Ok((db, _)))) = self.done.take() {
            self.runtime.block_on(db.close());
        }
    }
}

/// The revisions recorded as applied.
pub(crate) fn applied(ctx: &mut Ctx<'_>, project: &Project) -> Result<Applied, CliError> {
    let session = connect(ctx, project, options(&project.config))?;
    let status = session.block_on(session.migrator.status(&session.db)).map_err(|e| error(e, &project.config));
    session.close();
    let status = status?;
    Ok(Applied::new(status.applied.into_iter().chain(status.missing)))
}

/// A runtime error as a CLI error, with its exit code; rendered from the error's fields and
/// its `help()`, never from its text.
pub(crate) fn error(e: Error, config: &Config) -> CliError {
    let exit = match e.kind() {
        ErrorKind::Plan => code::TARGET,
        ErrorKind::Graph => code::BROKEN_CHAIN,
        ErrorKind::Connection => code::UNREACHABLE,
        ErrorKind::Lock => code::LOCKED,
        ErrorKind::Changed => code::CHECKSUM_CHANGED,
        ErrorKind::Unknown => code::MISSING,
        ErrorKind::Dirty => code::DIRTY,
        ErrorKind::Behind => code::BEHIND,
        ErrorKind::Refused => code::USAGE,
        ErrorKind::Cancelled => code::CANCELLED,
        ErrorKind::ReadOnly => code::READ_ONLY,
        _ => code::FAILURE,
    };
    let reason = if let Error::Connect { reason, .. } = &e { Some(*reason) } else { None };
    if let Error::Plan(p) = e {
        return plan_error(p);
    }
    let help = match (e.kind(), e.command_line_help()) {
        (ErrorKind::Connection, h) => Some(format!(
            "{}; the URL came from {}",
            h.unwrap_or_else(|| "check the URL".to_owned()),
            config.database.source.describe(&config.cwd)
        )),
        (_, h) => h,
    };
    match reason {
        Some(reason) => CliError::Connect { message: e.to_string(), help, reason },
        None => CliError::Database { message: e.to_string(), help, exit },
    }
}

/// Waits for Ctrl-C (SIGINT) or SIGTERM.
pub(crate) async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// A handle that cancels the run when the process gets Ctrl-C (SIGINT) or SIGTERM, listening
/// only while the run is in progress.
pub(crate) fn cancel_on_signals(session: &Session) -> Cancel {
    let cancel = Cancel::new();
    let on_signal = cancel.clone();
    session.runtime.spawn(async move {
        signalled().await;
        on_signal.cancel();
    });
    cancel
}

/// Shows progress while revisions run: a bar on a terminal, one line per step otherwise; with
/// `-v`, which lock the run took; with `-vv`, every statement a step runs. A takeover of a
/// dead run's lock is always said.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    verbose: bool,
    statements: bool,
}

impl Progress {
    /// Progress for a run, drawn on stderr.
    pub(crate) fn new(ctx: &Ctx<'_>) -> Self {
        let statements = ctx.out.verbose >= 2 && !ctx.out.quiet;
        let bar = (ctx.out.err_is_terminal && !ctx.out.quiet && !statements).then(|| {
            // Hidden until the first revision starts: nothing is drawn for a run with nothing to do.
            let bar = indicatif::ProgressBar::hidden();
            let style = indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar, quiet: ctx.out.quiet, verbose: ctx.out.verbose >= 1 && !ctx.out.quiet, statements }
    }

    /// Adds the progress hook to `options`.
    pub(crate) fn hook(&self, options: Options) -> Options {
        let bar = self.bar.clone();
        let quiet = self.quiet;
        let statements = self.statements;
        let verbose = self.verbose;
        let err = Arc::new(Mutex::new(std::io::stderr()));
        let line = move |text: String| {
            if let Ok(mut e) = err.lock() {
                let lines: Vec<_> = text.split('\n').map(migrate_core::text::escape_unsafe).collect();
                let _ = writeln!(e, "{}", lines.join("\n"));
            }
        };
        options.on_event(move |event| match (&bar, event) {
            (Some(bar), Event::Started { revision, direction, index, total }) => {
                if bar.is_hidden() {
                    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                }
                bar.set_length(*total as u64);
                bar.set_position(*index as u64);
                bar.set_message(format!("{} {revision}", verb(*direction)));
            }
            (Some(bar), Event::Finished { .. }) => bar.inc(1),
            (None, Event::Started { revision, direction, index, total }) if !quiet => {
                line(format!("[{}/{total}] {} {revision}", index + 1, verb(*direction)));
            }
            (None, Event::Statement { sql }) if statements => line(format!("{sql};")),
            (_, Event::TookOver { previous }) if !quiet => {
                line(format!("warning: took over the migration lock from a run that stopped heartbeating: {previous}"));
            }
            (_, Event::Squashed { revision, replaced }) if !quiet => line(format!(
                "Recorded squash {revision} in place of the {} revisions it replaces ({})",
                replaced.len(),
                replaced.join(", ")
            )),
            (_, Event::TableLock { reason }) if verbose => line(format!("lock: the lock table, because {reason}")),
            _ => {}
        })
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "upgrading",
        Direction::Down => "downgrading",
    }
}

/// A duration as people read it: `850 µs`, `12 ms`, `1.25 s`.
pub(crate) fn human(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{} ms", micros / 1_000)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_micros(850)), "850 µs");
        assert_eq!(human(Duration::from_millis(12)), "12 ms");
        assert_eq!(human(Duration::from_millis(1250)), "1.25 s");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_sqlite_session_keeps_its_threads_on_one_processor() {
        use rustix::thread::{gettid, sched_getaffinity};
        // A stand-in for sqlx's connection thread, named as sqlx names it.
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::Builder::new()
            .name("sqlx-sqlite-worker-0".to_owned())
            .spawn(move || {
                tid_tx.send(gettid()).unwrap();
                done_rx.recv().unwrap();
            })
            .unwrap();
        let tid = tid_rx.recv().unwrap();
        // On a thread of its own, so that the test harness's threads stay where they are.
        std::thread::spawn(move || {
            Colocate::for_url("sqlite://app.db").here();
            let mine = sched_getaffinity(None).unwrap();
            assert_eq!(mine.count(), 1);
            assert!(sched_getaffinity(Some(tid)).unwrap() == mine, "the connection thread is on the same processor");
            let policy = thread_priority::thread_schedule_policy().unwrap();
            let batch =
                thread_priority::ThreadSchedulePolicy::Normal(thread_priority::NormalThreadSchedulePolicy::Batch);
            assert_eq!(policy, batch, "the awaiting thread yields to the connection's");
            assert_eq!(rustix::process::getpriority_process(None).unwrap(), 0, "its niceness is kept");
        })
        .join()
        .unwrap();
        done_tx.send(()).unwrap();
        worker.join().unwrap();
        assert!(!Colocate::for_url("postgres://h/db").0);
    }
}
