//! The schema diff held against the real databases: for each kind of change, schema A is built
//! and filled with rows, the generated up SQL is applied and the result read back must be
//! schema B exactly (by introspection, not text); the down SQL must give A back; and rows in
//! columns the change does not touch survive both ways. On SQLite, PostgreSQL and MariaDB.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use migrate_core::schema::{Schema, diff};
use migrate_core::sql::{Dialect, Options};
use migrate_core::{Db, schema_of_script};
use migrate_tests::TestDb;

/// One kind of change: schema A, schema B, rows put in under A, and a query over columns the
/// change leaves alone whose rows must survive.
struct Case {
    name: &'static str,
    only: &'static [Dialect],
    a: &'static str,
    b: &'static str,
    seed: &'static str,
    keep: &'static str,
    /// Whether the diff must carry a note asking the author to confirm a rename.
    note: bool,
}

const ALL: &[Dialect] = &[Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];
const PG: &[Dialect] = &[Dialect::Postgres];
const PG_SQLITE: &[Dialect] = &[Dialect::Postgres, Dialect::Sqlite];
const T: &str = "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0);";
const SEED: &str = "INSERT INTO t (id, a, b) VALUES (1, 'one', 1), (2, 'two', 2), (3, NULL, 3);";
const KEEP: &str = "SELECT id, b FROM t ORDER BY id";

fn cases() -> Vec<Case> {
    let c = |name, only, a, b| Case { name, only, a, b, seed: SEED, keep: KEEP, note: false };
    let t = |extra: &'static str| -> &'static str { Box::leak(format!("{T}\n{extra}").into_boxed_str()) };
    let with = |cols: &'static str| -> &'static str {
        Box::leak(
            format!("CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0{cols});")
                .into_boxed_str(),
        )
    };
    vec![
        c("add a nullable column", ALL, T, with(", c text")),
        c("add a NOT NULL column with a default", ALL, T, with(", c int NOT NULL DEFAULT 7")),
        c(
            "drop a column",
            ALL,
            T,
            "CREATE TABLE t (id int PRIMARY KEY, b int NOT NULL DEFAULT 0);",
        ),
        c("widen a type", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b bigint NOT NULL DEFAULT 0);"),
        c("lengthen a varchar", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(50), b int NOT NULL DEFAULT 0);"),
        c("change a default", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 5);"),
        c("add a default", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20) DEFAULT 'none', b int NOT NULL DEFAULT 0);"),
        c("drop a default", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL);"),
        c("drop NOT NULL", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int DEFAULT 0);"),
        c(
            "set NOT NULL",
            ALL,
            "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, c int);",
            "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, c int NOT NULL DEFAULT 1);",
        ),
        c("add an index", ALL, T, t("CREATE INDEX t_a ON t (a);")),
        c("drop an index", ALL, t("CREATE INDEX t_a ON t (a);"), T),
        c("add a unique index", ALL, T, t("CREATE UNIQUE INDEX t_b ON t (b);")),
        c("add a two-column index", ALL, T, t("CREATE INDEX t_ab ON t (a, b);")),
        c("change an index's columns", ALL, t("CREATE INDEX t_x ON t (a);"), t("CREATE INDEX t_x ON t (b, a);")),
        c("add a unique constraint", ALL, T, with(", CONSTRAINT t_b_unique UNIQUE (b)")),
        c("add a check constraint", ALL, T, with(", CONSTRAINT b_positive CHECK (b > 0)")),
        c("drop a check constraint", ALL, with(", CONSTRAINT b_positive CHECK (b > 0)"), T),
        c("change a check constraint", ALL, with(", CONSTRAINT b_small CHECK (b < 10)"), with(", CONSTRAINT b_small CHECK (b < 100)")),
        c("create a table", ALL, T, t("CREATE TABLE u (id int PRIMARY KEY, name varchar(10) NOT NULL);")),
        c("drop a table", ALL, t("CREATE TABLE u (id int PRIMARY KEY, name varchar(10) NOT NULL);"), T),
        c(
            "add a foreign key with ON DELETE CASCADE",
            ALL,
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int);"),
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int, CONSTRAINT child_t FOREIGN KEY (t_id) REFERENCES t (id) ON DELETE CASCADE);"),
        ),
        c(
            "change a foreign key's actions",
            ALL,
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int, CONSTRAINT child_t FOREIGN KEY (t_id) REFERENCES t (id));"),
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int, CONSTRAINT child_t FOREIGN KEY (t_id) REFERENCES t (id) ON DELETE SET NULL ON UPDATE CASCADE);"),
        ),
        c(
            "drop a foreign key",
            ALL,
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int, CONSTRAINT child_t FOREIGN KEY (t_id) REFERENCES t (id));"),
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int);"),
        ),
        c(
            "create tables that reference each other",
            ALL,
            T,
            t("CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE q (id int PRIMARY KEY, p_id int NOT NULL, CONSTRAINT q_p FOREIGN KEY (p_id) REFERENCES p (id));"),
        ),
        c(
            "drop tables that reference each other",
            ALL,
            t("CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE q (id int PRIMARY KEY, p_id int NOT NULL, CONSTRAINT q_p FOREIGN KEY (p_id) REFERENCES p (id));"),
            T,
        ),
        c("create a view", ALL, T, t("CREATE VIEW big AS SELECT id, b FROM t WHERE b > 1;")),
        c("drop a view", ALL, t("CREATE VIEW big AS SELECT id, b FROM t WHERE b > 1;"), T),
        c(
            "change a view",
            ALL,
            t("CREATE VIEW big AS SELECT id, b FROM t WHERE b > 1;"),
            t("CREATE VIEW big AS SELECT id, a, b FROM t WHERE b > 2;"),
        ),
        c(
            "change a column a view reads",
            ALL,
            t("CREATE VIEW named AS SELECT id, a FROM t;"),
            "CREATE TABLE t (id int PRIMARY KEY, a varchar(60), b int NOT NULL DEFAULT 0);\nCREATE VIEW named AS SELECT id, a FROM t;",
        ),
        c(
            "a view over a view",
            ALL,
            T,
            t("CREATE VIEW v1 AS SELECT id, b FROM t;\nCREATE VIEW v2 AS SELECT id FROM v1 WHERE b > 1;"),
        ),
        c(
            "change the primary key",
            ALL,
            T,
            "CREATE TABLE t (id int, a varchar(20), b int NOT NULL DEFAULT 0, PRIMARY KEY (id, b));",
        ),
        Case {
            note: true,
            ..c("a column dropped and one added like a rename", ALL, T, "CREATE TABLE t (id int PRIMARY KEY, label varchar(20), b int NOT NULL DEFAULT 0);")
        },
        Case {
            note: true,
            ..c(
                "a table dropped and one created like a rename",
                ALL,
                t("CREATE TABLE old_name (id int PRIMARY KEY, v text);"),
                t("CREATE TABLE new_name (id int PRIMARY KEY, v text);"),
            )
        },
        c(
            "rebuild a referenced table, keeping the children",
            ALL,
            t("CREATE TABLE child (id int PRIMARY KEY, t_id int, CONSTRAINT child_t FOREIGN KEY (t_id) REFERENCES t (id) ON DELETE CASCADE);"),
            "CREATE TABLE t (id int PRIMARY KEY, a varchar(40), b int NOT NULL DEFAULT 0);\nCREATE TABLE child (id int PRIMARY KEY, t_id int, CONSTRAINT child_t FOREIGN KEY (t_id) REFERENCES t (id) ON DELETE CASCADE);",
        )
        .seeded("INSERT INTO t (id, a, b) VALUES (1, 'one', 1), (2, 'two', 2);\nINSERT INTO child (id, t_id) VALUES (10, 1), (20, 2);", "SELECT id, t_id FROM child ORDER BY id"),
        c("add a generated column", ALL, T, with(", twice int GENERATED ALWAYS AS (b * 2) STORED")),
        c("add a partial index", PG_SQLITE, T, t("CREATE INDEX t_named ON t (a) WHERE a IS NOT NULL;")),
        c("add an expression index", PG_SQLITE, T, t("CREATE INDEX t_lower ON t (lower(a));")),
        c("add a hash index", PG, T, t("CREATE INDEX t_hash ON t USING hash (a);")),
        c(
            "create an enum and a column of it",
            PG,
            T,
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, m mood);",
        ),
        c(
            "add an enum label",
            PG,
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, m mood DEFAULT 'ok');",
            "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\nCREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, m mood DEFAULT 'ok');",
        ),
        c(
            "reorder enum labels",
            PG,
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, m mood DEFAULT 'ok');",
            "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, m mood DEFAULT 'ok');",
        ),
        c("create a sequence", PG, T, t("CREATE SEQUENCE invoice_no START 1000;")),
        c("create a sequence", &[Dialect::MySql], T, t("CREATE SEQUENCE invoice_no START WITH 1000;")),
        c(
            "change a sequence",
            &[Dialect::MySql],
            t("CREATE SEQUENCE invoice_no START WITH 1000;"),
            t("CREATE SEQUENCE invoice_no START WITH 1000 INCREMENT BY 5;"),
        ),
        c("change a sequence", PG, t("CREATE SEQUENCE invoice_no START 1000;"), t("CREATE SEQUENCE invoice_no START 1000 INCREMENT 5;")),
        c("create a schema with a table", PG, T, t("CREATE SCHEMA billing;\nCREATE TABLE billing.invoice (id bigint PRIMARY KEY);")),
        c("add an identity column", PG, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, n bigint GENERATED BY DEFAULT AS IDENTITY);"),
        c(
            "make a column an identity",
            PG,
            T,
            "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0);",
        ),
        c("a serial column", PG, T, "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0, n serial);"),
        c(
            "add an auto-increment key",
            &[Dialect::MySql],
            T,
            "CREATE TABLE t (id int PRIMARY KEY AUTO_INCREMENT, a varchar(20), b int NOT NULL DEFAULT 0);",
        ),
        c(
            "add a prefix index",
            &[Dialect::MySql],
            T,
            t("CREATE INDEX t_a5 ON t (a(5));"),
        ),
        c(
            "an AUTOINCREMENT key",
            &[Dialect::Sqlite],
            "CREATE TABLE t (id INTEGER PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0);",
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, a varchar(20), b int NOT NULL DEFAULT 0);",
        ),
        c(
            "a trigger survives a rebuild",
            &[Dialect::Sqlite],
            "CREATE TABLE t (id int PRIMARY KEY, a varchar(20), b int NOT NULL DEFAULT 0);\nCREATE TABLE audit (n int);\nCREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.id); END;",
            "CREATE TABLE t (id int PRIMARY KEY, a varchar(40), b int NOT NULL DEFAULT 0);\nCREATE TABLE audit (n int);\nCREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.id); END;",
        ),
    ]
}

impl Case {
    fn seeded(mut self, seed: &'static str, keep: &'static str) -> Self {
        self.seed = seed;
        self.keep = keep;
        self
    }
}

/// Runs every case of `dialect` and reports all failures together.
async fn corpus(dialect: Dialect) {
    let options = Options::default();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases().iter().filter(|c| c.only.contains(&dialect)) {
        ran += 1;
        if let Err(e) = run(dialect, case, &options).await {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    assert!(ran >= 30, "only {ran} cases ran on {dialect}");
    assert!(failures.is_empty(), "{} of {ran} cases failed on {dialect}:\n\n{}", failures.len(), failures.join("\n\n"));
}

async fn run(dialect: Dialect, case: &Case, options: &Options) -> Result<(), String> {
    let test = TestDb::new(dialect);
    let db = test.db().await;
    db.run_script(case.a, "A").await.map_err(|e| format!("schema A: {e}"))?;
    let a = db.schema(options).await.map_err(|e| e.to_string())?;
    let b = schema_of_script(&db, case.b, "B", options).await.map_err(|e| format!("schema B: {e}"))?;
    let up = diff(&a, &b);
    if up.is_empty() {
        return Err("the diff found no difference".into());
    }
    if case.note && up.notes.is_empty() {
        return Err(format!("no rename note in:\n{}", up.script()));
    }
    db.run_script(case.seed, "seed").await.map_err(|e| e.to_string())?;
    let rows = test.query(case.keep).await;
    let script = up.script();
    db.run_script(&script, "up").await.map_err(|e| format!("up failed: {e}\n{script}"))?;
    same(&db, &b, options, "after up", &script).await?;
    if test.query(case.keep).await != rows {
        return Err(format!("rows changed by up:\n{script}"));
    }
    let down = diff(&b, &a).script();
    db.run_script(&down, "down").await.map_err(|e| format!("down failed: {e}\n{down}"))?;
    same(&db, &a, options, "after down", &down).await?;
    if test.query(case.keep).await != rows {
        return Err(format!("rows changed by down:\n{down}"));
    }
    db.close().await;
    Ok(())
}

async fn same(db: &Db, want: &Schema, options: &Options, when: &str, script: &str) -> Result<(), String> {
    let got = db.schema(options).await.map_err(|e| e.to_string())?;
    if got.normalized() != want.normalized() {
        let left = diff(&got, want).script();
        return Err(format!("{when}, the schema differs; it would still need:\n{left}\nscript was:\n{script}"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_on_sqlite() {
    corpus(Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_on_postgres() {
    corpus(Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corpus_on_mariadb() {
    corpus(Dialect::MySql).await;
}

/// SQLite's schema reads remember each table by its `CREATE` text, and ask the pragmas only about
/// tables whose text they have not seen: a table altered in place is read afresh (SQLite rewrites
/// its text), the ones left alone are as before, and a table put back as it was reads as before.
#[tokio::test]
async fn sqlite_schema_reads_follow_a_table_altered_in_place() {
    let test = TestDb::new(Dialect::Sqlite);
    let db = test.db().await;
    let options = Options::default();
    let columns = |s: &Schema, table: &str| -> Vec<String> {
        let t = s.tables.get(&migrate_core::schema::Name::new(table)).expect(table);
        t.columns.iter().map(|c| c.name.clone()).collect()
    };
    db.run_script("CREATE TABLE a (x INTEGER);\nCREATE TABLE b (y TEXT NOT NULL);", "setup").await.unwrap();
    let first = db.schema(&options).await.unwrap();
    assert_eq!(columns(&first, "a"), ["x"]);

    db.run_script("ALTER TABLE a ADD COLUMN z TEXT DEFAULT 'q';", "alter").await.unwrap();
    let altered = db.schema(&options).await.unwrap();
    assert_eq!(columns(&altered, "a"), ["x", "z"]);
    assert_eq!(
        altered.tables.get(&migrate_core::schema::Name::new("b")),
        first.tables.get(&migrate_core::schema::Name::new("b"))
    );

    db.run_script("ALTER TABLE a DROP COLUMN z;\nCREATE UNIQUE INDEX a_x ON a (x);", "back").await.unwrap();
    let back = db.schema(&options).await.unwrap();
    assert_eq!(columns(&back, "a"), ["x"]);
    assert_eq!(back.tables.len(), 2);
    let a = back.tables.get(&migrate_core::schema::Name::new("a")).unwrap();
    assert_eq!(a.indexes.len(), 1, "{a:?}");
    db.close().await;
}
