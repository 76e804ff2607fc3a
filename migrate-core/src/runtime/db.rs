//! [`Db`]: a pool of one of the three backends, built from a URL or from the app's own pool.

use std::fmt;
use std::time::Duration;

use super::error::Error;
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
        let fail = |e: sqlx::Error| Error::Connect {
            url: shown.clone(),
            message: refusal(&e).map_or_else(
                || scrub(url, &e.to_string()),
                |what| format!("{what}: {}", scrub(url, &database_message(&e))),
            ),
            source: None,
        };
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
                        message: format!("{MISSING_FILE} {} does not exist", file.display()),
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
                        message: format!("{MISSING_DIRECTORY} {} of the database file does not exist", dir.display()),
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

/// What the server's refusal of a connection means, in the words [`Error::help`] keys on (as it
/// keys on the consts below), when
/// it is one a person fixes in the URL or on the server: decided by the error's code, never by
/// its (possibly translated) text.
fn refusal(e: &sqlx::Error) -> Option<&'static str> {
    let db = e.as_database_error()?;
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match my.number() {
            // ER_BAD_DB_ERROR
            1049 => Some(NO_SUCH_DATABASE),
            // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
            1045 | 1044 => Some(REFUSED_LOGIN),
            _ => None,
        };
    }
    match db.code().as_deref() {
        // invalid_catalog_name
        Some("3D000") => Some(NO_SUCH_DATABASE),
        // invalid_authorization_specification, invalid_password
        Some("28000" | "28P01") => Some(REFUSED_LOGIN),
        _ => None,
    }
}

/// The start of the message of a read of a SQLite file that does not exist.
pub(crate) const MISSING_FILE: &str = "the database file";
/// The start of the message of a SQLite file whose directory does not exist.
pub(crate) const MISSING_DIRECTORY: &str = "the directory";
/// The start of the message of a connection to a database the server does not have.
pub(crate) const NO_SUCH_DATABASE: &str = "the database named in the URL does not exist on the server";
/// The start of the message of a connection whose user or password the server refused.
pub(crate) const REFUSED_LOGIN: &str = "the server refused the URL's user or password";

/// The server's own message, without the driver's prefix.
fn database_message(e: &sqlx::Error) -> String {
    e.as_database_error().map_or_else(|| e.to_string(), |db| db.message().to_owned())
}
