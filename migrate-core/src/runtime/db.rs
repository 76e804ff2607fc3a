//! [`Db`]: a pool of one of the three backends, built from a URL or from the app's own pool.

use std::fmt;
use std::time::Duration;

use super::error::{ConnectFailure, Error};
use crate::secret::{password_needs_encoding, redact_url, scrub_url as scrub};
use crate::sql::Dialect;

/// How long [`Db::connect`] waits for a connection (and retries a server that refuses them).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A database to migrate: a sqlx pool of one backend.
///
/// Cloning is cheap (pools are shared handles). Built with [`Db::connect`] or from the app's
/// pool (`Db::from(&pool)`, or just pass `&pool` to any method that takes `impl Into<Db>`).
#[derive(Clone)]
#[non_exhaustive]
pub enum Db {
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    /// MySQL or MariaDB.
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

impl fmt::Debug for Db {
    // Never prints connect options: they hold the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Db({})", self.dialect())
    }
}

impl Db {
    /// Connects to `url`, choosing the backend by its scheme (`sqlite:`, `postgres://` or
    /// `postgresql://`, `mysql://` or `mariadb://`). A SQLite file is created if missing.
    /// TLS follows the URL: `sslmode=require` / `verify-ca` / `verify-full` (with `sslrootcert`)
    /// on PostgreSQL, `ssl-mode=REQUIRED` / `VERIFY_CA` / `VERIFY_IDENTITY` (with `ssl-ca`) on
    /// MySQL, over rustls.
    ///
    /// A server that refuses connections (e.g. one still starting) is retried for up to
    /// [`CONNECT_TIMEOUT`]. Errors never contain the URL's password.
    pub async fn connect(url: &str) -> Result<Db, Error> {
        Self::open(url, true).await
    }

    /// [`connect`](Self::connect), but a SQLite file that does not exist is an error instead of
    /// being created: for reading a database, never for making one.
    pub async fn connect_existing(url: &str) -> Result<Db, Error> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> Result<Db, Error> {
        let _ = create; // only SQLite creates files
        let shown = redact_url(url);
        let unsupported = |hint: &str| Error::UnsupportedUrl { url: shown.clone(), hint: hint.to_owned() };
        let dialect = Dialect::from_url(url).ok_or_else(|| unsupported(""))?;
        if password_needs_encoding(url) {
            // Read as written, part of the password would become the host or the path.
            return Err(Error::UnencodedPassword { url: shown });
        }
        let fail = |e: sqlx::Error| Error::connect(&shown, url, e);
        match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => {
                use std::str::FromStr;
                let options =
                    sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(fail)?.create_if_missing(create);
                let file = options.get_filename().to_path_buf();
                let in_memory = file.as_os_str().is_empty()
                    || file.to_string_lossy().starts_with(':')
                    || url.contains(":memory:")
                    || url.contains("mode=memory");
                if !create && !in_memory && !file.exists() {
                    return Err(Error::Connect {
                        url: shown.clone(),
                        reason: ConnectFailure::MissingFile,
                        message: format!("the database file {} does not exist", file.display()),
                        source: None,
                    });
                }
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await;
                let missing_dir = file.parent().filter(|d| !in_memory && !d.as_os_str().is_empty() && !d.is_dir());
                match (pool, missing_dir) {
                    (Ok(pool), _) => Ok(Db::Sqlite(pool)),
                    // SQLite says only "unable to open database file".
                    (Err(_), Some(dir)) => Err(Error::Connect {
                        url: shown.clone(),
                        reason: ConnectFailure::MissingDirectory,
                        message: format!("the directory {} of the database file does not exist", dir.display()),
                        source: None,
                    }),
                    (Err(e), None) => Err(fail(e)),
                }
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres => {
                use std::str::FromStr;
                let url = url.replacen("postgresql://", "postgres://", 1);
                let mut options = sqlx::postgres::PgConnectOptions::from_str(&url).map_err(fail)?;
                if !url.contains("extra_float_digits") {
                    // PostgreSQL 12 and later print floats exactly without it, and PgBouncer's
                    // default configuration refuses the connection when it is sent.
                    options = options.extra_float_digits(None);
                }
                if !url.contains("application_name=") {
                    // So that lock-holder messages and pg_stat_activity name the tool.
                    options = options.application_name("cargo-migrate");
                }
                server_pool(options).await.map(Db::Postgres).map_err(fail)
            }
            #[cfg(feature = "mysql")]
            Dialect::MySql => {
                use std::str::FromStr;
                let url = match url.strip_prefix("mariadb://") {
                    Some(rest) => format!("mysql://{rest}"),
                    None => url.to_owned(),
                };
                let options = sqlx::mysql::MySqlConnectOptions::from_str(&url).map_err(fail)?;
                server_pool(options).await.map(Db::MySql).map_err(fail)
            }
            #[allow(unreachable_patterns)]
            other => Err(unsupported(&format!(
                "this build has no {other} support; enable migrate-core's `{}` feature",
                match other {
                    Dialect::Sqlite => "sqlite",
                    Dialect::Postgres => "postgres",
                    Dialect::MySql => "mysql",
                }
            ))),
        }
    }

    /// The SQL dialect of this database.
    pub fn dialect(&self) -> Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Db::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mysql")]
            Db::MySql(_) => Dialect::MySql,
        }
    }

    /// Which server this is, for telling apart schemas built on different servers: the backend
    /// and, for a server, its host and port, or its Unix socket (SQLite's scratch databases are
    /// in memory, built by the library this process links).
    pub(crate) fn server_key(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(_) => "sqlite".to_owned(),
            #[cfg(feature = "postgres")]
            Db::Postgres(p) => {
                let o = p.connect_options();
                match o.get_socket() {
                    Some(socket) => format!("postgres:{}:{}", socket.display(), o.get_port()),
                    None => format!("postgres://{}:{}", o.get_host(), o.get_port()),
                }
            }
            #[cfg(feature = "mysql")]
            Db::MySql(p) => {
                let o = p.connect_options();
                match o.get_socket() {
                    Some(socket) => format!("mysql:{}", socket.display()),
                    None => format!("mysql://{}:{}", o.get_host(), o.get_port()),
                }
            }
        }
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        match self {
            #[cfg(feature = "sqlite")]
            Db::Sqlite(p) => p.close().await,
            #[cfg(feature = "postgres")]
            Db::Postgres(p) => p.close().await,
            #[cfg(feature = "mysql")]
            Db::MySql(p) => p.close().await,
        }
    }
}

impl From<&Db> for Db {
    fn from(db: &Db) -> Self {
        db.clone()
    }
}

/// A pool for a database server. When the pool only says it timed out, one direct attempt
/// tells why (refused, wrong password, unknown database, TLS required).
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn server_pool<DB: sqlx::Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
) -> Result<sqlx::Pool<DB>, sqlx::Error> {
    use sqlx::Connection;
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(4)
        .acquire_timeout(CONNECT_TIMEOUT)
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await;
    match pool {
        Err(sqlx::Error::PoolTimedOut) => {
            Err(DB::Connection::connect_with(&options).await.err().unwrap_or(sqlx::Error::PoolTimedOut))
        }
        other => other,
    }
}

macro_rules! from_pool {
    ($feature:literal, $pool:ty, $variant:ident) => {
        #[cfg(feature = $feature)]
        impl From<$pool> for Db {
            fn from(pool: $pool) -> Self {
                Db::$variant(pool)
            }
        }
        #[cfg(feature = $feature)]
        impl From<&$pool> for Db {
            fn from(pool: &$pool) -> Self {
                Db::$variant(pool.clone())
            }
        }
    };
}

from_pool!("sqlite", sqlx::SqlitePool, Sqlite);
from_pool!("postgres", sqlx::PgPool, Postgres);
from_pool!("mysql", sqlx::MySqlPool, MySql);

impl Error {
    /// A failed connection to `url` (`shown` is it without its password; an empty `url` when
    /// the pool was the app's), its reason decided from the error's type and code, and its
    /// message free of the password.
    pub(crate) fn connect(shown: &str, url: &str, e: sqlx::Error) -> Error {
        let reason = connect_failure(&e);
        let clean = |text: String| if url.is_empty() { text } else { scrub(url, &text) };
        let message = match reason {
            ConnectFailure::NoSuchDatabase => {
                format!("the database named in the URL does not exist on the server: {}", clean(database_message(&e)))
            }
            ConnectFailure::RefusedLogin => {
                format!("the server refused the URL's user or password: {}", clean(database_message(&e)))
            }
            _ => clean(e.to_string()),
        };
        // The driver's error is kept only for the app's own pool: its text may hold the URL.
        let source = url.is_empty().then_some(e);
        Error::Connect { url: shown.to_owned(), reason, message, source }
    }
}

/// Why a connection failed, from the driver error's type and the server's code, never from its
/// (possibly translated) text.
fn connect_failure(e: &sqlx::Error) -> ConnectFailure {
    match e {
        sqlx::Error::Tls(_) => return ConnectFailure::Tls,
        // A handshake that fails (an unknown issuer, a name that does not match) reaches sqlx as
        // an I/O error carrying rustls's own.
        sqlx::Error::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => {
            return ConnectFailure::Tls;
        }
        _ => {}
    }
    let Some(db) = e.as_database_error() else { return ConnectFailure::Unreachable };
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match my.number() {
            // ER_BAD_DB_ERROR
            1049 => ConnectFailure::NoSuchDatabase,
            // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
            1045 | 1044 => ConnectFailure::RefusedLogin,
            // ER_SECURE_TRANSPORT_REQUIRED
            3159 => ConnectFailure::Tls,
            _ => ConnectFailure::Unreachable,
        };
    }
    match db.code().as_deref() {
        // invalid_catalog_name
        Some("3D000") => ConnectFailure::NoSuchDatabase,
        // invalid_authorization_specification, invalid_password
        Some("28000" | "28P01") => ConnectFailure::RefusedLogin,
        // protocol_violation: what PgBouncer answers whatever it refuses at start-up
        Some("08P01") => ConnectFailure::StartupRefused,
        _ => ConnectFailure::Unreachable,
    }
}

/// The server's own message, without the driver's prefix.
fn database_message(e: &sqlx::Error) -> String {
    e.as_database_error().map_or_else(|| e.to_string(), |db| db.message().to_owned())
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    /// Two clusters on one port, reached through different sockets, are different servers.
    #[tokio::test]
    async fn servers_behind_different_sockets_have_different_keys() {
        use std::str::FromStr;
        let key = |url: &str| {
            let options = sqlx::postgres::PgConnectOptions::from_str(url).unwrap();
            Db::Postgres(sqlx::postgres::PgPoolOptions::new().connect_lazy_with(options)).server_key()
        };
        assert_ne!(key("postgres:///a?host=/tmp"), key("postgres:///b?host=/var/run/postgresql"));
        assert_eq!(key("postgres://h:5433/a"), key("postgres://h:5433/b"));
        assert_ne!(key("postgres://h:5433/a"), key("postgres://h:5432/a"));
    }
}
