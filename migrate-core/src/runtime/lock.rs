//! The run's lock: the server's session lock where it holds, or a row of the lock table where
//! it does not (a Galera cluster's nodes each lock on their own; a transaction pooler hands a
//! session lock to whichever client gets the server connection next).
//!
//! A lock-table claim is a committed write: on PostgreSQL two claims meet on the primary key,
//! on Galera at certification, and exactly one wins. It lives for a lease renewed by a
//! heartbeat on a connection of its own while the run works; a run whose process or server
//! died is taken over once its lease has run out, and the takeover is reported. A run whose
//! claim was taken from it stops before its next step.

use std::convert::Infallible;
use std::sync::Mutex;

use std::time::{Duration, Instant};

use super::backend::{Backend, on_backend};
use super::db::Db;
use super::error::Error;
use super::io::{FailureKind, TextRows};
use super::migrator::Migrator;
use crate::sql::{Event, LockMode, Tables};

/// The lock a run holds.
pub(super) enum Held {
    /// The server's session lock (or SQLite's file lock): released with the connection.
    Session,
    /// A claim in the lock table.
    Table(Claim),
}

/// A lock-table claim: who this run is, and whether the claim was lost.
pub(super) struct Claim {
    pub owner: String,
    lost: Mutex<Option<String>>,
    /// Whose claim this one took over, when it did (logged once the state is read).
    pub previous: Option<String>,
}

impl Claim {
    /// Why the claim was lost, once it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|l| l.clone())
    }

    fn lose(&self, why: String) {
        if let Ok(mut lost) = self.lost.lock() {
            lost.get_or_insert(why);
        }
    }
}

/// This run's name in the lock table: host, process id and a token no other run shares.
fn owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_owned());
    // The time and a count: two runs of one process, or of two processes that reused a pid,
    // never share it.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{host} pid {} token {nanos:x}-{n}", std::process::id())
}

/// A row of [`Tables::select_lock`]: owner, previous owner, ms since the heartbeat, ms left.
struct Row {
    owner: String,
    previous: Option<String>,
    since_beat: i64,
    left: i64,
}

/// The last row of `rows`: the claim and the renewal end with [`Tables::select_lock`].
fn row(rows: &TextRows) -> Option<Row> {
    let r = rows.last()?;
    let get = |i: usize| r.get(i).cloned().flatten();
    let ms = |i: usize| get(i).and_then(|v| v.trim().parse::<f64>().ok()).map_or(0, |v| v as i64);
    Some(Row { owner: get(0)?, previous: get(1), since_beat: ms(2), left: ms(3) })
}

impl Row {
    fn describe(&self) -> String {
        format!(
            "the lock table's claim of {} (last heartbeat {:.1} s ago; its lease runs out in {:.1} s)",
            self.owner,
            self.since_beat as f64 / 1000.0,
            self.left.max(0) as f64 / 1000.0
        )
    }
}

/// Why a claim is lost: the lock table's row names someone else now (or nobody).
fn taken_by(now: Option<String>, owner: &str) -> String {
    format!("the lock table's row now names {}, not this run ({owner})", now.as_deref().unwrap_or("nobody"))
}

/// Why a step's fence failed: who the lock table's row names now, read on the run's connection.
pub(super) async fn fence_failed<B: Backend>(conn: &mut B, tables: &Tables, owner: &str) -> String {
    let now = conn.rows(&tables.select_lock()).await.ok().and_then(|rows| row(&rows)).map(|r| r.owner);
    taken_by(now, owner)
}

impl Migrator {
    /// Takes the run's lock on `conn`: the session lock, or a claim in the lock table when the
    /// options say so or the session lock would not hold here.
    pub(super) async fn acquire<B: Backend>(&self, conn: &mut B, tables: &Tables) -> Result<Held, Error> {
        let reason = match self.options.lock {
            LockMode::Session => None,
            LockMode::Table => Some("lock = \"table\"".to_owned()),
            LockMode::Auto => conn
                .session_lock_gap()
                .await
                .map_err(|f| f.database("cannot ask whether the server's session lock holds here"))?,
        };
        let Some(reason) = reason.filter(|_| !B::SESSION_LOCK_ONLY) else {
            conn.lock(tables, self.options.lock_timeout).await?;
            return Ok(Held::Session);
        };
        self.options.emit(Event::TableLock { reason });
        let owner = owner();
        let previous = self.claim(conn, tables, &owner).await?;
        Ok(Held::Table(Claim { owner, lost: Mutex::new(None), previous }))
    }

    /// Claims the lock table's row, retrying until the lock timeout while a live run holds it;
    /// returns whose claim it took over, if it did.
    async fn claim<B: Backend>(&self, conn: &mut B, tables: &Tables, owner: &str) -> Result<Option<String>, Error> {
        let started = Instant::now();
        let lease = self.lease().as_millis();
        // One round trip: insert or take over, then read who holds it (on PostgreSQL one implicit
        // transaction).
        let claim = tables.claim_lock(owner, lease).join(";\n");
        // Runs starting together may all find the table missing: a creation that fails because
        // another made it meanwhile is fine; any other failure is reported if the table is
        // still missing afterwards.
        let mut created: Option<Option<Error>> = None;
        let mut pause = Duration::from_millis(20);
        loop {
            let mut holder = None;
            match conn.rows(&claim).await {
                Ok(rows) => match row(&rows) {
                    Some(r) if r.owner == owner => {
                        if let Some(previous) = &r.previous {
                            self.options.emit(Event::TookOver { previous: previous.clone() });
                        }
                        return Ok(r.previous);
                    }
                    other => holder = other.map(|r| r.describe()),
                },
                Err(f) if f.kind == FailureKind::MissingTable => {
                    if let Some(failed) = created.take() {
                        return Err(failed.unwrap_or_else(|| f.database("cannot claim the lock table's row")));
                    }
                    let create = tables.create_lock();
                    let result = conn.batch(&create.iter().map(String::as_str).collect::<Vec<_>>()).await;
                    created = Some(result.err().map(|f| f.database("cannot create the lock table")));
                    continue;
                }
                // Two claims at once: one won; look again.
                Err(f) if matches!(f.kind, FailureKind::Conflict | FailureKind::Duplicate) => {}
                Err(f) => return Err(f.database("cannot claim the lock table's row")),
            }
            let waited = started.elapsed();
            if waited >= self.options.lock_timeout {
                return Err(Error::LockTimeout { dialect: B::DIALECT, waited, holder, leased: true, report: None });
            }
            tokio::time::sleep(pause.min(self.options.lock_timeout - waited)).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Renews `claim` every third of the lease on a pooled connection, until the run ends (this
    /// future never completes). A renewal that finds another owner, or none succeeding for a
    /// whole lease, marks the claim lost.
    pub(super) async fn heartbeat(&self, db: &Db, tables: &Tables, claim: &Claim) -> Infallible {
        let lease = self.lease();
        let renew = tables.renew_lock(&claim.owner, lease.as_millis()).join(";\n");
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(lease / 3).await;
            let read: Result<TextRows, Error> = async {
                on_backend!(db, pooled, c => c.rows(&renew).await.map_err(|f| f.database("cannot renew the lock")))
            }
            .await;
            match read.as_ref().ok().map(row) {
                Some(Some(r)) if r.owner == claim.owner => renewed = Instant::now(),
                Some(other) => {
                    claim.lose(taken_by(other.map(|r| r.owner), &claim.owner));
                    break;
                }
                None if renewed.elapsed() >= lease => {
                    let why = read.err().map(|e| e.to_string()).unwrap_or_default();
                    claim.lose(format!("its claim could not be renewed for a whole lease ({lease:?}): {why}"));
                    break;
                }
                None => {}
            }
        }
        std::future::pending().await
    }

    /// The lease, at least a second (a shorter one would have the heartbeat spin and claims
    /// expire between two statements).
    fn lease(&self) -> Duration {
        self.options.lock_lease.max(Duration::from_secs(1))
    }

    /// Gives the lock back: deletes this run's claim (the session lock goes with the connection).
    pub(super) async fn give_back<B: Backend>(&self, conn: &mut B, tables: &Tables, claim: &Claim) {
        let release = tables.release_lock(&claim.owner);
        let _ = conn.batch(&release.iter().map(String::as_str).collect::<Vec<_>>()).await;
    }
}
