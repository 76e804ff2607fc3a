//! The single-file trap: a migration file fed whole to a database client (`sqlite3 db < file`,
//! `psql -f file`, `mysql db < file`) runs its upgrade and then its downgrade. Every file
//! `cargo migrate new` writes ends its up section with a client stop (`.quit`, `\q`), so each
//! client stops before the downgrade; cargo-migrate leaves both lines out of the upgrade.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::{Backend, Package, TestDb};

/// Feeds `file` whole to the backend's own client, as the guides' "Method A" does.
fn feed(db: &TestDb, file: &std::path::Path) {
    let text = std::fs::read(file).unwrap();
    let mut command = match db.backend {
        Backend::Sqlite => {
            let mut c = Command::new("sqlite3");
            c.arg(db.url.trim_start_matches("sqlite://"));
            c
        }
        Backend::Postgres => {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-d", &db.url]);
            c
        }
        Backend::MySql => {
            let mut c = Command::new("mariadb");
            c.args(["-h", "127.0.0.1", "-u", "root", "--force", &db.name]);
            c
        }
    };
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&text).unwrap();
    child.wait().unwrap();
}

#[test]
fn a_new_file_fed_to_a_client_stops_before_its_downgrade() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let pkg = Package::initialised();
        pkg.run(&["new", "-m", "create things"]).ok();
        let file = std::fs::read_dir(pkg.migrations()).unwrap().next().unwrap().unwrap().path();
        let text = std::fs::read_to_string(&file).unwrap();
        let filled = text
            .replacen(
                "-- migrate:up\n\n\n",
                "-- migrate:up\nCREATE TABLE things (name VARCHAR(20));\nINSERT INTO things VALUES ('one');\n",
                1,
            )
            .replacen("-- migrate:down\n\n", "-- migrate:down\nDROP TABLE things;\n", 1);
        assert_ne!(filled, text, "the template has the expected places");
        std::fs::write(&file, &filled).unwrap();

        // Fed whole to the client: the upgrade ran, the downgrade did not.
        let db = TestDb::new(backend);
        if backend == Backend::Sqlite {
            // sqlite3 creates the file; the URL names it.
            let _ = std::fs::File::create(db.url.trim_start_matches("sqlite://"));
        }
        feed(&db, &file);
        assert_eq!(db.query("SELECT name FROM things"), [["one"]], "{backend:?}");

        // cargo-migrate runs the same file without the stop, both ways.
        let other = TestDb::new(backend);
        pkg.run(&["upgrade", "--database-url", &other.url]).ok();
        assert_eq!(other.query("SELECT name FROM things"), [["one"]], "{backend:?}");
        pkg.run(&["downgrade", "base", "--database-url", &other.url]).ok();
        let sql = pkg.run(&["upgrade", "--sql", "--database-url", &other.url]);
        assert!(!sql.ok().contains(".quit") && !sql.ok().contains("\\q"), "{}", sql.ok());
    }
}

#[test]
fn sql_after_the_stop_fails_the_check_naming_the_line() {
    let pkg = Package::initialised();
    pkg.run(&["new", "-m", "late"]).ok();
    let file = std::fs::read_dir(pkg.migrations()).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&file).unwrap().replacen("\\q\n", "\\q\nCREATE TABLE late (id INT);\n", 1);
    std::fs::write(&file, text).unwrap();
    let run = pkg.run(&["check"]);
    let said = run.all();
    assert!(said.contains("SQL after the client stop") && said.contains("above the `.quit`"), "{said}");
    assert_ne!(run.code, 0);
}
