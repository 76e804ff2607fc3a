//! SQL bodies as people write them, on the real servers: dollar-quoted functions, strings and
//! comments holding `;`, triggers and MySQL procedures (with and without `DELIMITER`); errors
//! that name the file and line; offline scripts that do exactly what the online run does.
#![allow(clippy::unwrap_used)]

use migrate_core::sql::{Dialect, script};
use migrate_core::{Applied, Migrator, Options, Target};
use migrate_tests::{TestDb, graph, migration};

#[tokio::test]
async fn postgres_functions_strings_and_comments() {
    let t = TestDb::new(Dialect::Postgres);
    let db = t.db().await;
    let up = r#"
-- a comment; with a semicolon
CREATE TABLE notes (id SERIAL PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a;b', tag TEXT DEFAULT E'it\'s; fine');
/* block; comment /* nested; */ still comment */
CREATE FUNCTION add_note(t TEXT) RETURNS INT LANGUAGE plpgsql AS $$
DECLARE
  new_id INT;
BEGIN
  INSERT INTO notes (body) VALUES (t || ';') RETURNING id INTO new_id;
  RETURN new_id;
END;
$$;
CREATE FUNCTION shout(t TEXT) RETURNS TEXT LANGUAGE sql AS $fn$ SELECT upper(t) || '$$;' $fn$;
DO $$ BEGIN PERFORM add_note('from do; block'); END $$;
INSERT INTO notes (body) VALUES ('x;y'), ($q$z;'w$q$);
"#;
    let down = "DROP FUNCTION shout(TEXT);\nDROP FUNCTION add_note(TEXT);\nDROP TABLE notes;";
    let m = Migrator::new(graph(vec![migration("f1", "", up, down)]));
    m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.scalar("SELECT shout('a')").await.as_deref(), Some("A$$;"));
    assert_eq!(t.scalar("SELECT add_note('n')").await.as_deref(), Some("4"));
    let bodies = t.query("SELECT body, tag FROM notes ORDER BY id").await;
    assert_eq!(bodies[0][0].as_deref(), Some("from do; block;"));
    assert_eq!(bodies[1][0].as_deref(), Some("x;y"));
    assert_eq!(bodies[2][0].as_deref(), Some("z;'w"));
    assert_eq!(bodies[0][1].as_deref(), Some("it's; fine"));
    m.downgrade(&db, &Target::Base).await.unwrap();
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log"]);
}

#[tokio::test]
async fn mysql_procedures_and_triggers() {
    let t = TestDb::new(Dialect::MySql);
    let db = t.db().await;
    let up = r#"
CREATE TABLE counters (name VARCHAR(20) PRIMARY KEY, n INT NOT NULL DEFAULT 0, note VARCHAR(50) DEFAULT 'a;b');
# hash comment; here
DELIMITER $$
CREATE PROCEDURE bump(IN which VARCHAR(20))
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < 2 DO
    IF i = 0 THEN
      INSERT INTO counters (name) VALUES (which) ON DUPLICATE KEY UPDATE n = n;
    END IF;
    UPDATE counters SET n = n + 1 WHERE name = which;
    SET i = i + 1;
  END WHILE;
END $$
DELIMITER ;
CREATE PROCEDURE reset_all()
BEGIN
  UPDATE counters SET n = CASE WHEN n > 100 THEN 100 ELSE 0 END;
  UPDATE counters SET note = 'reset; done';
END;
CREATE TRIGGER counters_note BEFORE INSERT ON counters FOR EACH ROW
BEGIN
  SET NEW.note = CONCAT(NEW.name, ';', 'new');
END;
CALL bump('x');
"#;
    let down = "DROP TRIGGER counters_note;\nDROP PROCEDURE reset_all;\nDROP PROCEDURE bump;\nDROP TABLE counters;";
    let m = Migrator::new(graph(vec![migration("p1", "", up, down)]));
    m.upgrade(&db, &Target::Head).await.unwrap();
    assert_eq!(t.query("SELECT n, note FROM counters").await, [[Some("2".to_owned()), Some("x;new".to_owned())]]);
    t.query("CALL reset_all()").await;
    assert_eq!(t.scalar("SELECT note FROM counters").await.as_deref(), Some("reset; done"));
    m.downgrade(&db, &Target::Base).await.unwrap();
    assert_eq!(t.tables().await, ["migrate_history", "migrate_log"]);
}

#[tokio::test]
async fn sqlite_triggers_and_strings() {
    let t = TestDb::new(Dialect::Sqlite);
    let db = t.db().await;
    let up = r#"
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT DEFAULT 'a;b');
CREATE TABLE audit (msg TEXT);
-- the trigger body has its own semicolons
CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN
  INSERT INTO audit VALUES ('added; ' || NEW.name);
  INSERT INTO audit VALUES (CASE WHEN NEW.id > 1 THEN 'many' ELSE 'first' END);
END;
INSERT INTO items (name) VALUES ('one;1');
"#;
    let m = Migrator::new(graph(vec![migration("s1", "", up, "DROP TABLE audit;\nDROP TABLE items;")]));
    m.upgrade(&db, &Target::Head).await.unwrap();
    let audit: Vec<_> = t.query("SELECT msg FROM audit").await.into_iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(audit, ["added; one;1", "first"]);
}

async fn error_names_file_and_line_on(dialect: Dialect) {
    let t = TestDb::new(dialect);
    let db = t.db().await;
    // Line 6 of the file is the first up line; the bad statement starts on line 10.
    let up = "CREATE TABLE good (id INT);\n-- a comment; with a semicolon\nINSERT INTO good VALUES (1);\n\nINSERT INTO\n  missing_table VALUES (1);";
    let m = Migrator::new(graph(vec![migration("e1", "", up, "DROP TABLE good;")]));
    let err = m.upgrade(&db, &Target::Head).await.unwrap_err().to_string();
    assert!(err.contains("migrations/e1.sql:10:"), "{err}");
    assert!(err.contains("missing_table"), "{err}");

    // A syntax error (which PostgreSQL finds before running anything) is placed too.
    let t2 = TestDb::new(dialect);
    let db2 = t2.db().await;
    let up = "CREATE TABLE good (id INT);\nCREATE TABEL bad (id INT);";
    let m = Migrator::new(graph(vec![migration("e2", "", up, "DROP TABLE good;")]));
    let err = m.upgrade(&db2, &Target::Head).await.unwrap_err().to_string();
    assert!(err.contains("migrations/e2.sql:7:"), "{err}");
}

#[tokio::test]
async fn error_names_file_and_line_sqlite() {
    error_names_file_and_line_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn error_names_file_and_line_postgres() {
    error_names_file_and_line_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn error_names_file_and_line_mysql() {
    error_names_file_and_line_on(Dialect::MySql).await;
}

/// The offline script, run by a plain client, leaves the same schema and records as the
/// online run.
async fn offline_equals_online_on(dialect: Dialect) {
    let g = graph(vec![
        migration("o1", "", "CREATE TABLE a (id INT);\nCREATE INDEX a_id ON a (id);", "DROP TABLE a;"),
        migration("o2", "o1", "CREATE TABLE b (note VARCHAR(10) DEFAULT 'x;y');", "DROP TABLE b;"),
        migration("o3", "o1", "CREATE TABLE c (id INT);", "DROP TABLE c;"),
        migration("o4", "o2, o3", "", ""),
    ]);
    let options = Options::default().applied_by("offline");
    let online = TestDb::new(dialect);
    let m = Migrator::new(g.clone()).with_options(options.clone());
    m.upgrade(&online.db().await, &Target::Head).await.unwrap();

    let offline = TestDb::new(dialect);
    let plan = g.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
    let sql = script(&g, &plan, dialect, &options);
    offline.query(&sql).await;

    assert_eq!(offline.tables().await, online.tables().await);
    let rows =
        "SELECT revision, parents, message, checksum, applied_by, tool_version FROM migrate_history ORDER BY revision";
    assert_eq!(offline.query(rows).await, online.query(rows).await);
    let log = "SELECT revision, action, checksum FROM migrate_log ORDER BY id";
    assert_eq!(offline.query(log).await, online.query(log).await);
    // The database upgraded offline is at head for the online runtime too.
    m.check(&offline.db().await).await.unwrap();
    assert!(m.upgrade(&offline.db().await, &Target::Head).await.unwrap().steps.is_empty());

    let down = g
        .plan_downgrade(&m.status(&online.db().await).await.map(|s| Applied::new(s.applied)).unwrap(), &Target::Base)
        .unwrap();
    offline.query(&script(&g, &down, dialect, &options)).await;
    m.downgrade(&online.db().await, &Target::Base).await.unwrap();
    assert_eq!(offline.tables().await, online.tables().await);
    assert_eq!(offline.query(log).await, online.query(log).await);
}

#[tokio::test]
async fn offline_equals_online_sqlite() {
    offline_equals_online_on(Dialect::Sqlite).await;
}
#[tokio::test]
async fn offline_equals_online_postgres() {
    offline_equals_online_on(Dialect::Postgres).await;
}

/// Runs a script through the server's own command-line client, as a DBA would.
fn through_client(t: &TestDb, script: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let url = &t.url;
    let mut command = match t.dialect {
        Dialect::Postgres => {
            let mut c = Command::new("psql");
            c.args([url.as_str(), "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"]);
            c
        }
        _ => {
            // mysql://user[:password]@host[:port]/database
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            let (auth, location) = rest.rsplit_once('@').unwrap_or(("root", rest));
            let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
            let (host_port, database) = location.split_once('/').unwrap_or((location, ""));
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, "3306"));
            let client = if Command::new("mariadb").arg("--version").output().is_ok() { "mariadb" } else { "mysql" };
            let mut c = Command::new(client);
            c.args(["-h", host, "-P", port, "-u", user, database.split('?').next().unwrap_or(database)]);
            if !password.is_empty() {
                c.arg(format!("-p{password}"));
            }
            c
        }
    };
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap_or_else(|e| {
            panic!("the {} command-line client is needed for this test ({e}); `bash .ci/run` installs it", t.dialect)
        });
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}\n--- script ---\n{script}", String::from_utf8_lossy(&out.stderr));
}

/// The offline script, fed to `psql` or `mariadb`, does what the online run does — procedures
/// (through `DELIMITER`) and dollar-quoted functions included.
async fn offline_through_client_on(dialect: Dialect) {
    let body = if dialect == Dialect::MySql {
        "CREATE TABLE n (v INT);\nCREATE PROCEDURE fill() BEGIN\n  INSERT INTO n VALUES (1);\n  INSERT INTO n VALUES (2);\nEND;\nCALL fill();"
    } else {
        "CREATE TABLE n (v INT);\nCREATE FUNCTION fill() RETURNS void LANGUAGE plpgsql AS $$ BEGIN INSERT INTO n VALUES (1); INSERT INTO n VALUES (2); END $$;\nSELECT fill();"
    };
    let down = if dialect == Dialect::MySql {
        "DROP PROCEDURE fill;\nDROP TABLE n;"
    } else {
        "DROP FUNCTION fill();\nDROP TABLE n;"
    };
    let g = graph(vec![
        migration("c1", "", body, down),
        migration(
            "c2",
            "c1",
            "ALTER TABLE n ADD COLUMN note VARCHAR(20) DEFAULT 'a;b';",
            "ALTER TABLE n DROP COLUMN note;",
        ),
    ]);
    let options = Options::default().applied_by("dba");
    let m = Migrator::new(g.clone()).with_options(options.clone());
    let online = TestDb::new(dialect);
    m.upgrade(&online.db().await, &Target::Head).await.unwrap();
    let offline = TestDb::new(dialect);
    let plan = g.plan_upgrade(&Applied::default(), &Target::Head).unwrap();
    through_client(&offline, &script(&g, &plan, dialect, &options));

    let data = "SELECT v, note FROM n ORDER BY v";
    assert_eq!(offline.query(data).await, online.query(data).await);
    let rows = "SELECT revision, parents, checksum, applied_by, dirty FROM migrate_history ORDER BY revision";
    assert_eq!(offline.query(rows).await, online.query(rows).await);
    let log = "SELECT revision, action, checksum FROM migrate_log ORDER BY id";
    assert_eq!(offline.query(log).await, online.query(log).await);
    let db = offline.db().await;
    m.check(&db).await.unwrap();
    assert!(m.upgrade(&db, &Target::Head).await.unwrap().steps.is_empty());

    let down = g.plan_downgrade(&Applied::new(["c1", "c2"]), &Target::Base).unwrap();
    through_client(&offline, &script(&g, &down, dialect, &options));
    assert_eq!(offline.tables().await, ["migrate_history", "migrate_log"]);
    assert!(offline.recorded().await.is_empty());
}

#[tokio::test]
async fn offline_through_client_postgres() {
    offline_through_client_on(Dialect::Postgres).await;
}
#[tokio::test]
async fn offline_through_client_mysql() {
    offline_through_client_on(Dialect::MySql).await;
}
