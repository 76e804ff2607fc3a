//! How a run is configured: table names, the lock timeout, all-or-nothing mode, accepted
//! checksum changes, who applied it, and a hook that reports progress.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::plan::Direction;

/// A progress report, passed to [`Options::on_event`] as each migration starts (with its
/// statements) and finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A revision is about to run.
    Started {
        /// The revision id.
        revision: String,
        /// Up or down.
        direction: Direction,
        /// Its 0-based position in this run.
        index: usize,
        /// How many steps this run has.
        total: usize,
    },
    /// A revision ran and is recorded.
    Finished {
        /// The revision id.
        revision: String,
        /// Up or down.
        direction: Direction,
        /// How long its SQL and bookkeeping took, as seen by this process.
        duration: Duration,
    },
    /// The run keeps others out with the lock table rather than the server's session lock
    /// ([`LockMode::Table`]), and why.
    TableLock {
        /// Why: chosen, or what makes the session lock unsafe here.
        reason: String,
    },
    /// The lock table's claim of a run that stopped heartbeating was taken over.
    TookOver {
        /// Who held it: host, process id and token, and when it last said it was alive.
        previous: String,
    },
    /// A squashed range found applied in full is now recorded as its squash revision.
    Squashed {
        /// The squash revision.
        revision: String,
        /// The revisions it replaces, whose records it took over.
        replaced: Vec<String>,
    },
    /// A statement of the revision that is starting (every one of them, in order, after
    /// [`Started`](Self::Started)): exactly what the offline script prints for it.
    Statement {
        /// The SQL, without a terminating `;`.
        sql: String,
    },
}

/// How a run keeps other runs out while it works ([`Options::lock`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockMode {
    /// The session lock where it holds, the lock table where it does not: MariaDB Galera
    /// (`wsrep_on`), and PostgreSQL reached through a pooler or proxy (the server's own address
    /// is not the one dialled).
    #[default]
    Auto,
    /// The server's session lock: `pg_advisory_lock` on PostgreSQL, `GET_LOCK` on MySQL. Released
    /// the moment the run's connection closes, however it ends.
    Session,
    /// A row in a table of the tool's own (`<history_table>_lock`), claimed by a committed
    /// transaction and kept alive by a heartbeat: it holds across a cluster's nodes and through
    /// transaction poolers. A run that dies leaves the row until its lease runs out; the next
    /// run then takes it over and says so.
    Table,
}

impl LockMode {
    /// The mode named `auto`, `session` or `table`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Self::Auto),
            "session" => Some(Self::Session),
            "table" => Some(Self::Table),
            _ => None,
        }
    }
}

/// The default [`Options::lock_lease`].
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// The progress hook type of [`Options::on_event`].
pub type EventHook = Arc<dyn Fn(&Event) + Send + Sync>;

/// How a run is configured. `Options::default()` is what `migrate!().upgrade(&pool)` uses.
#[derive(Clone)]
pub struct Options {
    /// The history table: one row per applied revision (default `migrate_history`).
    pub history_table: String,
    /// The append-only log of every upgrade, downgrade and stamp (default `migrate_log`).
    pub log_table: String,
    /// The schema both tables live in (PostgreSQL only; default: the connection's `search_path`).
    pub schema: Option<String>,
    /// How long to wait for another process's run to finish (default 60 s).
    pub lock_timeout: Duration,
    /// Which lock keeps other runs out (default [`LockMode::Auto`]; SQLite always locks its
    /// file).
    pub lock: LockMode,
    /// How long a lock-table claim lives without a heartbeat (default 30 s): a run whose process
    /// or server died is taken over this long after its last heartbeat.
    pub lock_lease: Duration,
    /// Run the whole upgrade or downgrade in one transaction (PostgreSQL and SQLite only).
    pub all_or_nothing: bool,
    /// Revisions whose edited file is accepted: their recorded checksum is replaced by the new one.
    pub accept_changed: Vec<String>,
    /// Who is applying, recorded with every row (default: `$USER`, or `unknown`).
    pub applied_by: Option<String>,
    /// Called as each migration starts and finishes (e.g. to draw progress).
    pub on_event: Option<EventHook>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            history_table: "migrate_history".to_owned(),
            log_table: "migrate_log".to_owned(),
            schema: None,
            lock_timeout: Duration::from_secs(60),
            lock: LockMode::Auto,
            lock_lease: DEFAULT_LEASE,
            all_or_nothing: false,
            accept_changed: Vec::new(),
            applied_by: None,
            on_event: None,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("history_table", &self.history_table)
            .field("log_table", &self.log_table)
            .field("schema", &self.schema)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock", &self.lock)
            .field("lock_lease", &self.lock_lease)
            .field("all_or_nothing", &self.all_or_nothing)
            .field("accept_changed", &self.accept_changed)
            .field("applied_by", &self.applied_by)
            .field("on_event", &self.on_event.as_ref().map(|_| "Fn(&Event)"))
            .finish()
    }
}

impl Options {
    /// Sets the history table's name.
    pub fn history_table(mut self, name: impl Into<String>) -> Self {
        self.history_table = name.into();
        self
    }

    /// Sets the log table's name.
    pub fn log_table(mut self, name: impl Into<String>) -> Self {
        self.log_table = name.into();
        self
    }

    /// Sets the PostgreSQL schema of both tables.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets how long to wait for the lock.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Sets which lock keeps other runs out.
    pub fn lock(mut self, mode: LockMode) -> Self {
        self.lock = mode;
        self
    }

    /// Sets how long a lock-table claim lives without a heartbeat (at least one second).
    pub fn lock_lease(mut self, lease: Duration) -> Self {
        self.lock_lease = lease.max(Duration::from_secs(1));
        self
    }

    /// Turns all-or-nothing mode on or off.
    pub fn all_or_nothing(mut self, on: bool) -> Self {
        self.all_or_nothing = on;
        self
    }

    /// Accepts the edited file of `revision`: its new checksum is recorded on the next run.
    pub fn accept_changed(mut self, revision: impl Into<String>) -> Self {
        self.accept_changed.push(revision.into());
        self
    }

    /// Sets who is applying.
    pub fn applied_by(mut self, who: impl Into<String>) -> Self {
        self.applied_by = Some(who.into());
        self
    }

    /// Sets the progress hook.
    pub fn on_event(mut self, hook: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// Who is applying: [`applied_by`](Self::applied_by), else `$USER` / `$LOGNAME` /
    /// `$USERNAME`, else the account of the process's user id (containers and CI often set no
    /// `$USER`), else `unknown`.
    pub fn who(&self) -> String {
        self.applied_by
            .clone()
            .or_else(|| ["USER", "LOGNAME", "USERNAME"].into_iter().find_map(|k| std::env::var(k).ok()))
            .filter(|s| !s.is_empty())
            .or_else(account_of_this_process)
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Whether `table` is one of the tool's own: the history, log or lock table.
    pub fn is_own_table(&self, table: &str) -> bool {
        self.own_tables().iter().any(|own| own == table)
    }

    /// The names of the tool's own tables: the history, log and lock tables.
    pub fn own_tables(&self) -> [String; 3] {
        [self.history_table.clone(), self.log_table.clone(), format!("{}_lock", self.history_table)]
    }

    #[cfg_attr(not(feature = "runtime"), allow(dead_code))]
    pub(crate) fn emit(&self, event: Event) {
        if let Some(hook) = &self.on_event {
            hook(&event);
        }
    }
}

/// The account name of this process's real user id, from `/proc` and `/etc/passwd` (Linux).
fn account_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_process_account_is_found_without_environment_variables() {
        let name = account_of_this_process().expect("this process's uid is in /etc/passwd");
        assert!(!name.is_empty() && !name.contains(':'), "{name}");
    }

    #[test]
    fn an_explicit_name_wins() {
        let options = Options { applied_by: Some("deploy-bot".into()), ..Options::default() };
        assert_eq!(options.who(), "deploy-bot");
    }
}
