//! The connection the two server backends (PostgreSQL, MySQL) share the shape of: pooled for
//! reads, a connection of its own for a run (so that closing it releases the session lock on
//! every path), and a second connection from the same options to cancel a running statement.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};

use super::error::Error;

/// A server connection: from the pool, or of the run's own.
pub(crate) struct ServerConn<DB: Database> {
    conn: Handle<DB>,
    pool: Pool<DB>,
}

enum Handle<DB: Database> {
    Pooled(PoolConnection<DB>),
    Owned(DB::Connection),
}

fn connect_error(e: sqlx::Error) -> Error {
    Error::connect("the pool's database", "", e)
}

impl<DB: Database> ServerConn<DB> {
    /// A connection from the pool, for reads.
    pub async fn pooled(pool: &Pool<DB>) -> Result<Self, Error> {
        let conn = pool.acquire().await.map_err(connect_error)?;
        Ok(Self { conn: Handle::Pooled(conn), pool: pool.clone() })
    }

    /// A connection of the run's own: one taken out of the pool (the idle one a read handed
    /// back, so that a process needs one server connection, not two, behind a session pooler),
    /// closed when the run ends.
    pub async fn for_run(pool: &Pool<DB>) -> Result<Self, Error> {
        let conn = pool.acquire().await.map_err(connect_error)?.detach();
        Ok(Self { conn: Handle::Owned(conn), pool: pool.clone() })
    }

    /// The driver's connection.
    pub fn get(&mut self) -> &mut DB::Connection {
        match &mut self.conn {
            Handle::Pooled(c) => c,
            Handle::Owned(c) => c,
        }
    }

    /// Closes a connection of the run's own; a pooled one goes back to the pool now, so that
    /// the next read takes it (dropped, it would go back in a task of its own, later).
    pub async fn close(self) {
        match self.conn {
            Handle::Owned(c) => {
                let _ = c.close().await;
            }
            // sqlx's own drop handler, run here rather than spawned.
            Handle::Pooled(mut c) => c.return_to_pool().await,
        }
    }

    /// A new connection with the same options, for cancelling a statement this one runs.
    pub async fn another(pool: Pool<DB>) -> Option<DB::Connection> {
        DB::Connection::connect_with(&pool.connect_options()).await.ok()
    }

    /// The pool, for [`another`](Self::another).
    pub fn pool(&self) -> Pool<DB> {
        self.pool.clone()
    }
}
