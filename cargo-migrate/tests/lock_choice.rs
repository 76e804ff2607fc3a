//! Choosing the lock from the command line and the metadata, with the real binary: `--lock
//! table` and `lock = "table"` take the lock table and say so with `-v`, `lock_lease` is read,
//! a claim left by a killed run is taken over with a warning and a log row, and a bad value is a configuration
//! error naming the key and the fix.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Package, TestDb};

fn with_metadata(pkg: &Package, lines: &str) {
    let manifest = pkg.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen("[package.metadata.migrate]\n", &format!("[package.metadata.migrate]\n{lines}\n"), 1);
    assert!(text.contains(lines), "init wrote [package.metadata.migrate]");
    std::fs::write(manifest, text).unwrap();
}

#[test]
fn the_lock_table_is_chosen_by_flag_or_metadata_and_said_with_verbose() {
    let db = TestDb::new(Backend::Postgres);
    let pkg = Package::initialised().with_url(&db.url);
    pkg.revision("a1a1a1a1a1a1", "one", "CREATE TABLE one (id INT);", "DROP TABLE one;", &[]);
    pkg.revision("b2b2b2b2b2b2", "two", "CREATE TABLE two (id INT);", "DROP TABLE two;", &[]);

    // Directly connected, the default takes the session lock: no lock table appears.
    let run = pkg.run(&["-v", "--database-url", &db.url, "upgrade", "a1a1"]);
    run.ok();
    assert!(!run.all().contains("lock: the lock table"), "{}", run.all());
    assert!(db.query("SELECT to_regclass('migrate_history_lock')::text") == [["NULL"]]);

    // The flag takes the table, and -v says why; the claim is given back at the end.
    let run = pkg.run(&["-v", "--lock", "table", "--database-url", &db.url, "upgrade"]);
    run.ok();
    assert!(run.all().contains("lock: the lock table, because lock = \"table\""), "{}", run.all());
    assert_eq!(db.query("SELECT count(*)::text FROM migrate_history_lock"), [["0"]]);

    // So does the metadata; a claim left behind by a run that died is taken over once its
    // lease (here 1 s) has run out, with a warning naming whose it was.
    with_metadata(&pkg, "lock = \"table\"\nlock_lease = \"1s\"");
    db.query(
        "INSERT INTO migrate_history_lock (id, owner, acquired_ms, heartbeat_ms, expires_ms) \
         VALUES (1, 'dead-host pid 7 token 0', 0, 0, 0) RETURNING id::text",
    );
    let run = pkg.run(&["--database-url", &db.url, "downgrade", "-1"]);
    run.ok();
    assert!(
        run.all().contains("warning: took over the migration lock") && run.all().contains("dead-host pid 7"),
        "{}",
        run.all()
    );
    assert_eq!(db.query("SELECT count(*)::text FROM migrate_history_lock"), [["0"]]);
    // The takeover is in the log, before the downgrade it made way for.
    assert_eq!(
        db.query(
            "SELECT revision, action FROM migrate_log WHERE id > (SELECT max(id) - 2 FROM migrate_log) ORDER BY id"
        ),
        [["*", "lock_takeover"], ["b2b2b2b2b2b2", "downgrade"]]
    );

    // A live claim is waited for and named when the wait runs out (exit 11).
    db.query(
        "INSERT INTO migrate_history_lock (id, owner, acquired_ms, heartbeat_ms, expires_ms) \
         VALUES (1, 'busy-host pid 8 token 1', 0, 0, 99999999999999) RETURNING id::text",
    );
    let manifest = pkg.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("lock_timeout = \"60s\"", "lock_timeout = \"1s\"");
    std::fs::write(&manifest, text).unwrap();
    let run = pkg.run(&["--database-url", &db.url, "upgrade"]);
    run.code(11);
    assert!(run.all().contains("busy-host pid 8") && run.all().contains("lease"), "{}", run.all());
}

#[test]
fn a_bad_lock_setting_is_a_configuration_error() {
    let pkg = Package::initialised();
    with_metadata(&pkg, "lock = \"tabel\"");
    let run = pkg.run(&["current"]);
    run.code(3);
    assert!(
        run.all().contains("lock = \"tabel\" is not a lock mode") && run.all().contains("\"table\""),
        "{}",
        run.all()
    );

    let pkg = Package::initialised();
    with_metadata(&pkg, "lock_lease = \"soon\"");
    let run = pkg.run(&["current"]);
    run.code(3);
    assert!(run.all().contains("lock_lease = \"soon\" is not a duration"), "{}", run.all());

    let run = Package::initialised().run(&["--lock", "row", "current"]);
    run.code(2);
    assert!(run.all().contains("auto") && run.all().contains("session"), "{}", run.all());
}
