//! Why a connection or a statement failed is a typed field, decided from the driver's error type
//! and the server's code (never its text), and it chooses the help: each reason provoked against
//! the real servers.
#![allow(clippy::unwrap_used)]

use migrate_core::sql::Dialect;
use migrate_core::{ConnectFailure, Db, Error, Migrator, StatementCause, Target};
use migrate_tests::{TestDb, graph, migration, mysql_url, postgres_url, unique_name};

/// The reason of a failed connection to `url`, and its help.
async fn connect_reason(url: &str, existing: bool) -> (ConnectFailure, String) {
    let result = if existing { Db::connect_existing(url).await } else { Db::connect(url).await };
    match result {
        Err(e @ Error::Connect { reason, .. }) => (reason, e.help().unwrap_or_default()),
        Err(other) => panic!("{url}: not a connect error: {other:?}"),
        Ok(_) => panic!("{url}: connected"),
    }
}

/// `base` (a server URL) with its path replaced by `/database` and `query` appended.
fn on(base: &str, database: &str, query: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap();
    let host = rest.split(['/', '?']).next().unwrap();
    format!("{scheme}://{host}/{database}{query}")
}

#[tokio::test]
async fn a_missing_server_database_is_named_by_its_code() {
    for base in [postgres_url(), mysql_url()] {
        let (reason, help) = connect_reason(&on(&base, &unique_name(), ""), false).await;
        assert_eq!(reason, ConnectFailure::NoSuchDatabase, "{base}");
        assert!(help.contains("CREATE DATABASE"), "{help}");
    }
}

#[tokio::test]
async fn a_refused_login_is_named_by_its_code() {
    let pg = postgres_url().replacen("://postgres@", "://no_such_role_here@", 1);
    let my = mysql_url().replacen("://root@", "://root:wrong-password@", 1);
    for url in [pg, my] {
        let (reason, help) = connect_reason(&url, false).await;
        assert_eq!(reason, ConnectFailure::RefusedLogin, "{}", migrate_core::redact_url(&url));
        assert!(help.contains("user and password"), "{help}");
    }
}

#[tokio::test]
async fn a_certificate_that_cannot_be_verified_is_a_tls_failure() {
    // The local server's certificate is Debian's self-signed one: no public root vouches for it,
    // so the handshake fails inside rustls.
    let url = on(&postgres_url(), "test", "?sslmode=verify-full");
    let (reason, help) = connect_reason(&url, false).await;
    assert_eq!(reason, ConnectFailure::Tls);
    assert!(help.contains("sslrootcert"), "{help}");
}

#[tokio::test]
async fn a_server_without_tls_asked_for_it_is_a_tls_failure() {
    // The test MariaDB has no TLS configured; requiring it fails before any login.
    let url = on(&mysql_url(), "mysql", "?ssl-mode=required");
    match Db::connect(&url).await {
        Err(Error::Connect { reason, .. }) => assert_eq!(reason, ConnectFailure::Tls),
        // A server built with TLS on by default (MariaDB 11.4+) accepts it: nothing to assert.
        Ok(db) => db.close().await,
        Err(other) => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sqlite_files_and_directories_that_are_missing_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let in_missing_dir = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
    let (reason, help) = connect_reason(&in_missing_dir, false).await;
    assert_eq!(reason, ConnectFailure::MissingDirectory);
    assert!(help.contains("create the directory"), "{help}");
    let missing_file = format!("sqlite://{}/x.db", dir.path().display());
    let (reason, help) = connect_reason(&missing_file, true).await;
    assert_eq!(reason, ConnectFailure::MissingFile);
    assert!(help.contains("never creates"), "{help}");
}

/// The cause of the statement failure a one-revision upgrade of `up` hits.
async fn statement_cause(dialect: Dialect, up: &str) -> (StatementCause, String) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    let g = graph(vec![
        migration("m1", "", "CREATE TABLE t (id INT);", "DROP TABLE t;"),
        migration("m2", "m1", up, "SELECT 1;"),
    ]);
    let err = Migrator::new(g).upgrade(&db, &Target::Head).await.unwrap_err();
    db.close().await;
    match &err {
        Error::Statement { cause, .. } => (*cause, err.help().unwrap_or_default()),
        other => panic!("{dialect}: {other:?}"),
    }
}

#[tokio::test]
async fn a_statement_that_cannot_run_in_a_transaction_says_so() {
    for (dialect, up) in
        [(Dialect::Postgres, "CREATE INDEX CONCURRENTLY t_id ON t (id);"), (Dialect::Sqlite, "VACUUM;")]
    {
        let (cause, help) = statement_cause(dialect, up).await;
        assert_eq!(cause, StatementCause::InTransaction, "{dialect}");
        assert!(help.contains("transaction: false"), "{help}");
    }
}

#[tokio::test]
async fn a_write_refused_as_read_only_says_so() {
    let (cause, help) =
        statement_cause(Dialect::Postgres, "SET TRANSACTION READ ONLY;\nINSERT INTO t VALUES (1);").await;
    assert_eq!(cause, StatementCause::ReadOnly);
    assert!(help.contains("accepts no writes"), "{help}");
}

#[tokio::test]
async fn an_ordinary_statement_failure_has_no_special_cause() {
    let (cause, help) = statement_cause(Dialect::Postgres, "INSERT INTO no_such_table VALUES (1);").await;
    assert_eq!(cause, StatementCause::Other);
    assert_eq!(help, "fix the statement in the file and run again");
}

#[tokio::test]
async fn a_lock_file_that_cannot_be_opened_is_named_with_its_own_help() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.db");
    std::fs::create_dir(dir.path().join("x.db-migrate.lock")).unwrap();
    let db = Db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
    let g = graph(vec![migration("m1", "", "CREATE TABLE t (id INT);", "DROP TABLE t;")]);
    let err = Migrator::new(g).upgrade(&db, &Target::Head).await.unwrap_err();
    let Error::Connect { reason, message, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*reason, ConnectFailure::LockFile);
    assert!(message.contains("x.db-migrate.lock"), "{message}");
    assert!(err.help().unwrap_or_default().contains("a run locks that file"), "{err}");
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_schema")
        .fetch_all(match &db {
            Db::Sqlite(pool) => pool,
            _ => unreachable!(),
        })
        .await
        .unwrap();
    assert!(tables.is_empty(), "nothing was created: {tables:?}");
    db.close().await;
}

/// Regression: a migration whose own statement gave up waiting for a table lock (PostgreSQL's
/// `lock_timeout`) was reported as another migration run holding the migrator's lock, without
/// its revision or line.
#[tokio::test]
async fn a_statement_that_waited_out_its_lock_timeout_is_a_statement_failure() {
    let t = TestDb::new(Dialect::Postgres);
    let db = t.db().await;
    let first = graph(vec![migration("m1", "", "CREATE TABLE t (id INT);", "DROP TABLE t;")]);
    Migrator::new(first).upgrade(&db, &Target::Head).await.unwrap();
    // The app holds the table.
    let Db::Postgres(pool) = &db else { unreachable!() };
    let mut app = pool.acquire().await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE").execute(&mut *app).await.unwrap();
    let g = graph(vec![
        migration("m1", "", "CREATE TABLE t (id INT);", "DROP TABLE t;"),
        migration(
            "m2",
            "m1",
            "SET lock_timeout = '200ms';\nALTER TABLE t ADD COLUMN y INT;",
            "ALTER TABLE t DROP COLUMN y;",
        ),
    ]);
    let err = Migrator::new(g).upgrade(&db, &Target::Head).await.unwrap_err();
    sqlx::raw_sql("ROLLBACK").execute(&mut *app).await.unwrap();
    drop(app);
    let Error::Statement { revision, line, cause, .. } = &err else { panic!("{err:?}") };
    assert_eq!((revision.as_str(), *line, *cause), ("m2", 7, StatementCause::LockWait), "{err}");
    assert!(err.help().unwrap_or_default().contains("pg_locks"), "{err}");
    db.close().await;
}
