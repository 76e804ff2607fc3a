//! Hostile input with the real binary, the real servers and their real clients (psql, mariadb,
//! sqlite3): nothing smuggled through an offline script, nothing raw on a terminal, no password
//! shown, no state invented, a DELIMITER the statement does not hold, revisions larger than a
//! MariaDB packet.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Backend, Package, TestDb};

/// A header whose message ends the script's comment with a lone CR in psql, then drops a table
/// and runs a shell command.
const CR_MESSAGE: &str = "-- message: harmless\rDROP TABLE victim; SELECT 'pwned'; \\! touch PWNED\n";

fn write_revision(pkg: &Package, name: &str, header_extra: &str, up: &str, down: &str) {
    let text = format!(
        "-- revision: {name}\n-- down_revision:\n{header_extra}\n-- migrate:up\n{up}\n\n-- migrate:down\n{down}\n"
    );
    std::fs::write(pkg.migrations().join(format!("{name}_x.sql")), text).unwrap();
}

/// What a client printed, and whether it succeeded.
struct ClientRun {
    ok: bool,
    output: String,
}

/// Feeds `script` to the backend's own command-line client, in `cwd`.
fn client(db: &TestDb, script: &str, cwd: &std::path::Path) -> ClientRun {
    let mut cmd = match db.backend {
        Backend::Postgres => {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &db.url, "-f", "-"]);
            c
        }
        Backend::MySql => {
            let mut c = Command::new("mariadb");
            c.args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", &db.name]);
            c
        }
        Backend::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.args(["-bail", db.url.trim_start_matches("sqlite://")]);
            c
        }
    };
    let mut child = cmd
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql, mariadb and sqlite3 must be installed (bash .ci/run installs them)");
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    ClientRun {
        ok: out.status.success(),
        output: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    }
}

fn victim(db: &TestDb) {
    let create = match db.backend {
        Backend::MySql => "CREATE TABLE victim (id int)",
        _ => "CREATE TABLE victim (id integer)",
    };
    db.run_script(&format!("{create};"));
}

fn victim_exists(db: &TestDb) -> bool {
    let sql = match db.backend {
        Backend::Sqlite => "SELECT CAST(count(*) AS TEXT) FROM sqlite_master WHERE name = 'victim'".to_owned(),
        Backend::Postgres => "SELECT count(*)::text FROM pg_tables WHERE tablename = 'victim'".to_owned(),
        Backend::MySql => format!(
            "SELECT CAST(count(*) AS CHAR) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = 'victim'",
            db.name
        ),
    };
    db.query(&sql)[0][0] == "1"
}

#[test]
fn a_carriage_return_in_a_header_is_refused_with_its_line_and_touches_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        victim(&db);
        let pkg = Package::initialised().with_url(&db.url);
        write_revision(&pkg, "aaaa1111", CR_MESSAGE, "CREATE TABLE t (x int);", "DROP TABLE t;");
        for args in [&["upgrade"][..], &["upgrade", "--sql"], &["check"], &["history"]] {
            let run = pkg.run(args);
            run.code(4);
            assert!(run.stderr.contains("the `message` value contains the control character U+000D"), "{}", run.stderr);
            assert!(run.stderr.contains("migrations/aaaa1111_x.sql:3:"), "{}", run.stderr);
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        }
        assert!(victim_exists(&db), "{backend:?}");
        assert!(!pkg.path().join("PWNED").exists());
    }
}

/// Text that every client could misread if it were written into a script carelessly: quotes
/// of each kind, backslashes, client meta-commands, comment markers, delimiters.
const NASTY: &str =
    r#"it's "quoted" `ticked` \' \\ \! touch PWNED ; -- */ /* $$ $x$ // ;; DELIMITER ; .shell touch PWNED"#;

#[test]
fn offline_scripts_carry_hostile_text_safely_through_each_real_client() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let db = TestDb::new(backend);
        victim(&db);
        let pkg = Package::initialised().with_url(&db.url);
        let manifest = pkg.path().join("Cargo.toml");
        let toml = std::fs::read_to_string(&manifest).unwrap();
        // Table names with quotes of every dialect, a `;` and meta-command text.
        let toml = toml.replace(
            "history_table = \"migrate_history\"",
            "history_table = 'h\"`; \\! touch PWNED'\nlog_table = \"l'; .shell touch PWNED\"",
        );
        assert!(toml.contains("PWNED'\nlog_table = \"l'"), "{toml}");
        std::fs::write(&manifest, toml).unwrap();
        write_revision(&pkg, "bbbb2222", &format!("-- message: {NASTY}"), "CREATE TABLE t (x int);", "DROP TABLE t;");
        let script = pkg.run(&["upgrade", "--sql"]);
        let run = client(&db, script.ok(), pkg.path());
        assert!(run.ok, "{backend:?}: the client failed:\n{}\n--- script:\n{}", run.output, script.stdout);
        assert!(victim_exists(&db), "{backend:?}");
        assert!(!pkg.path().join("PWNED").exists(), "{backend:?}: a meta-command ran");
        // The message arrived intact, and the online tool agrees the database is at head.
        let cast = if backend == Backend::MySql { "CAST(message AS CHAR)" } else { "message" };
        let table = match backend {
            Backend::MySql => "`h\"``; \\! touch PWNED`",
            _ => "\"h\"\"`; \\! touch PWNED\"",
        };
        assert_eq!(db.query(&format!("SELECT {cast} FROM {table}")), [[NASTY.to_owned()]], "{backend:?}");
        // At head; the only difference check finds is the victim table this test made by hand.
        let check = pkg.run(&["check"]);
        check.code(14);
        assert!(check.stderr.contains("table victim: extra"), "{backend:?}: {}", check.stderr);
        assert!(!check.stderr.contains("pending"), "{backend:?}: {}", check.stderr);
    }
}

#[test]
fn control_characters_from_files_and_databases_are_escaped_in_human_output() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised().with_url(&db.url);
    // A file name and SQL with escape sequences that would clear the screen and set the title.
    let name = "cccc3333_\u{1b}]0;owned\u{7}\u{1b}[2J.sql";
    std::fs::write(
        pkg.migrations().join(name),
        "-- revision: cccc3333\n-- down_revision:\n-- message: fine\n-- migrate:up\nCREATE TABLE t (x text DEFAULT '\u{1b}[31m');\n-- migrate:down\nDROP TABLE t;\n",
    )
    .unwrap();
    write_revision_child(&pkg);
    let raw = |s: &str| s.contains('\u{1b}') || s.contains('\u{7}') || s.contains('\r');
    for args in
        [&["history", "--verbose"][..], &["show", "cccc3333"], &["status"], &["upgrade"], &["current"], &["heads"]]
    {
        let run = pkg.run(args);
        assert!(!raw(&run.stdout) && !raw(&run.stderr), "{args:?} printed raw control characters:\n{}", run.all());
    }
    let shown = pkg.run(&["show", "cccc3333"]);
    assert!(shown.stdout.contains(r"\u{1b}[2J"), "{}", shown.stdout);
    // A database error that echoes control characters (here the migration's own RAISE).
    let up = pkg.run(&["upgrade"]);
    up.code(1);
    assert!(up.stderr.contains(r"boom\u{1b}[2J\u{7}"), "{}", up.stderr);
    assert!(!raw(&up.all()), "{}", up.all());
    // --sql written to a pipe stays byte for byte: it is the SQL that runs.
    let script = pkg.run(&["upgrade", "--sql"]);
    assert!(script.ok().contains("DEFAULT '\u{1b}[31m'"), "{}", script.stdout);
}

fn write_revision_child(pkg: &Package) {
    std::fs::write(
        pkg.migrations().join("dddd4444_fails.sql"),
        "-- revision: dddd4444\n-- down_revision: cccc3333\n-- message: fails loudly\n-- migrate:up\n\
         DO $$ BEGIN RAISE EXCEPTION 'boom%', chr(27) || '[2J' || chr(7); END $$;\n-- migrate:down\nSELECT 1;\n",
    )
    .unwrap();
}

#[test]
fn a_password_that_is_not_percent_encoded_never_shows() {
    let pkg = Package::initialised();
    pkg.revision("eeee5555", "one", "SELECT 1;", "SELECT 1;", &[]);
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://user:p@ss:w/rd%41?#&=x y@127.0.0.1/db");
        for args in [&["current"][..], &["upgrade"], &["status", "-v"]] {
            let run = pkg.run_env(args, &[("DATABASE_URL", &url)]);
            run.code(7);
            let all = run.all();
            for piece in ["p@ss", "ss:w", "w/rd", "rd%41", "rdA", "x y", "&=x"] {
                assert!(!all.contains(piece), "{scheme} {args:?} shows `{piece}`:\n{all}");
            }
            assert!(all.contains("percent-encode"), "{all}");
            assert!(all.contains(&format!("{scheme}://user:***@127.0.0.1/db")), "{all}");
            assert!(!all.contains("***ort"), "{all}");
        }
    }
}

#[test]
fn the_mariadb_script_picks_a_delimiter_the_statement_does_not_hold() {
    let db = TestDb::new(Backend::MySql);
    let pkg = Package::initialised().with_url(&db.url);
    let up = "CREATE PROCEDURE p() BEGIN\n  SELECT '$$' AS a, '//' AS b, ';;' AS c;\n  SELECT 2;\nEND;\n\
              CREATE TABLE after_p (id int);";
    write_revision(&pkg, "ffff6666", "-- message: procedure", up, "DROP TABLE after_p;\nDROP PROCEDURE p;");
    let script = pkg.run(&["upgrade", "--sql"]);
    assert!(script.ok().contains("DELIMITER $$1$$"), "{}", script.stdout);
    let run = client(&db, &script.stdout, pkg.path());
    assert!(run.ok, "mariadb failed:\n{}\n--- script:\n{}", run.output, script.stdout);
    let history = db.history();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0][0].as_str(), history[0][2].as_str(), history[0][4].as_str()),
        ("ffff6666", "procedure", "NULL")
    );
    assert_eq!(db.query("SELECT CAST(count(*) AS CHAR) FROM after_p"), [["0"]]);
    pkg.run(&["check"]).ok();
}

#[test]
fn upgrade_never_reports_a_state_it_could_not_read() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised();
    pkg.revision("abab7777", "one", "CREATE TABLE one (x int);", "DROP TABLE one;", &[]);
    pkg.run_env(&["upgrade"], &[("DATABASE_URL", db.url.as_str())]).ok();
    // A role that can read the log (the no-op check) but not the history (the state).
    let role = format!("{}_ro", db.name);
    db.run_script(&format!(
        "CREATE ROLE {role} LOGIN; GRANT SELECT ON migrate_log TO {role}; GRANT USAGE ON SCHEMA public TO {role};"
    ));
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    // The upgrade's lock-free check reads the log, which vouches for the state: it is true.
    let run = pkg.run_env(&["upgrade"], &[("DATABASE_URL", url.as_str())]);
    assert_eq!(run.ok().trim(), "Nothing to do: the database is at abab7777 (head).");
    // Reading the state itself fails for this role: an error, never "at base".
    for args in [&["current"][..], &["status"], &["check"]] {
        let run = pkg.run_env(args, &[("DATABASE_URL", url.as_str())]);
        run.code(1);
        let out = run.all();
        assert!(!out.contains("at base") && !out.contains("base (nothing applied)"), "{args:?}: {out}");
        assert!(out.contains("permission denied"), "{args:?}: {out}");
    }
    // The database really is at head.
    assert!(pkg.run_env(&["current"], &[("DATABASE_URL", db.url.as_str())]).ok().contains("abab7777"));
    db.run_script(&format!("DROP OWNED BY {role}; DROP ROLE {role};"));
}

#[test]
fn a_revision_larger_than_a_mariadb_packet_runs_statement_by_statement() {
    let db = TestDb::new(Backend::MySql);
    let pkg = Package::initialised().with_url(&db.url);
    let limit: usize = db.query("SELECT CAST(@@max_allowed_packet AS CHAR)")[0][0].parse().unwrap();
    // Many statements, together 1.5 times the server's packet limit.
    let row = format!("INSERT INTO big (payload) VALUES ('{}');\n", "x".repeat(60_000));
    let count = limit * 3 / 2 / row.len() + 1;
    let up = format!("CREATE TABLE big (id int AUTO_INCREMENT PRIMARY KEY, payload longtext);\n{}", row.repeat(count));
    write_revision(&pkg, "acac8888", "-- message: big", &up, "DROP TABLE big;");
    pkg.run(&["upgrade"]).ok();
    assert_eq!(db.query("SELECT CAST(count(*) AS CHAR) FROM big"), [[count.to_string()]]);
    assert_eq!(db.history()[0][4], "NULL", "not dirty");

    // One statement larger than the limit is refused before anything runs, with the cause.
    let other = TestDb::new(Backend::MySql);
    let pkg = Package::initialised().with_url(&other.url);
    let huge = format!(
        "CREATE TABLE before_huge (id int);\nINSERT INTO before_huge VALUES (1), {};",
        "(2), ".repeat(limit / 5) + "(3)"
    );
    write_revision(&pkg, "adad9999", "-- message: huge", &huge, "DROP TABLE before_huge;");
    let run = pkg.run(&["upgrade"]);
    run.code(1);
    assert!(run.stderr.contains("max_allowed_packet"), "{}", run.stderr);
    assert!(run.stderr.contains("migrations/adad9999_x.sql:6"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was run"), "{}", run.stderr);
    let tables = other.query(&format!(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = 'before_huge'",
        other.name
    ));
    assert!(tables.is_empty(), "the database was touched");
    assert!(other.history().is_empty());
}
