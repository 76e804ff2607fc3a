//! [`Cancel`]: stops a run from elsewhere (a Ctrl-C handler, a shutdown hook). The running
//! statement is cancelled (on the server, or interrupted in-process on SQLite), the step's
//! transaction rolls back, the lock is released, and the run returns
//! [`Error::Cancelled`](crate::Error::Cancelled) with what it had applied.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A cancellation handle; clones share it. Give it to a run with
/// [`Migrator::with_cancel`](crate::Migrator::with_cancel), call [`cancel`](Self::cancel) from
/// anywhere.
///
/// ```no_run
/// # async fn demo(pool: sqlx::PgPool, migrator: migrate_core::Migrator) {
/// use migrate_core::{Cancel, Target};
/// let cancel = Cancel::new();
/// let on_signal = cancel.clone();
/// tokio::spawn(async move {
///     let _ = tokio::signal::ctrl_c().await;
///     on_signal.cancel();
/// });
/// let result = migrator.with_cancel(cancel).upgrade(&pool, &Target::Head).await;
/// # let _ = result; }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// A handle nobody has cancelled yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every run holding this handle (and every later one).
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Completes when the handle is cancelled.
    pub(crate) async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}
