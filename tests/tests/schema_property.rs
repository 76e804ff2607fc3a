//! Random pairs of SQLite schemas: whatever A and B are, the generated up SQL turns A (with a
//! row in every table, one so that a new unique key holds) into exactly B, the down SQL turns it back into exactly A, and the rows
//! of tables both keep survive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use migrate_core::schema::diff;
use migrate_core::sql::{Dialect, Options};
use migrate_core::{Db, schema_of_script};
use migrate_tests::TestDb;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Col {
    ty: &'static str,
    not_null: Option<u8>,
    unique: bool,
    check: bool,
}

#[derive(Debug, Clone)]
struct Tab {
    cols: Vec<Option<Col>>,
    index: Option<usize>,
    references_t0: bool,
}

fn col() -> impl Strategy<Value = Option<Col>> {
    let ty = prop::sample::select(vec!["int", "text", "real", "varchar(10)"]);
    prop::option::weighted(0.6, (ty, prop::option::of(0u8..50), prop::bool::weighted(0.15), prop::bool::weighted(0.2)))
        .prop_map(|c| c.map(|(ty, not_null, unique, check)| Col { ty, not_null, unique, check }))
}

fn table() -> impl Strategy<Value = Option<Tab>> {
    prop::option::weighted(
        0.75,
        (prop::collection::vec(col(), 4), prop::option::of(0usize..4), any::<bool>())
            .prop_map(|(cols, index, references_t0)| Tab { cols, index, references_t0 }),
    )
}

fn schema() -> impl Strategy<Value = Vec<Option<Tab>>> {
    prop::collection::vec(table(), 3)
}

/// The DDL of a generated schema: tables `t0..t2`, columns `c0..c3`.
fn ddl(tables: &[Option<Tab>]) -> String {
    let mut out = String::new();
    for (k, t) in tables.iter().enumerate() {
        let Some(t) = t else { continue };
        let mut lines = vec!["id int PRIMARY KEY".to_owned()];
        let mut constraints = Vec::new();
        for (j, c) in t.cols.iter().enumerate() {
            let Some(c) = c else { continue };
            let mut line = format!("c{j} {}", c.ty);
            if let Some(d) = c.not_null {
                let literal = if c.ty == "int" || c.ty == "real" { d.to_string() } else { format!("'v{d}'") };
                line.push_str(&format!(" NOT NULL DEFAULT {literal}"));
            }
            if c.check {
                line.push_str(&format!(" CHECK (c{j} IS NULL OR length(c{j}) < 40)"));
            }
            lines.push(line);
            if c.unique && c.not_null.is_none() {
                constraints.push(format!("UNIQUE (c{j})"));
            }
        }
        if t.references_t0 && k > 0 && tables[0].is_some() {
            lines.push("parent int REFERENCES t0 (id) ON DELETE CASCADE".to_owned());
        }
        lines.extend(constraints);
        out.push_str(&format!("CREATE TABLE t{k} ({});\n", lines.join(", ")));
        if let Some(i) = t.index.filter(|i| t.cols[*i].is_some()) {
            out.push_str(&format!("CREATE INDEX t{k}_i ON t{k} (c{i});\n"));
        }
    }
    out
}

async fn check_pair(a_sql: &str, b_sql: &str) -> Result<(), String> {
    let options = Options::default();
    let test = TestDb::new(Dialect::Sqlite);
    let db: Db = test.db().await;
    db.run_script(a_sql, "A").await.map_err(|e| e.to_string())?;
    let a = db.schema(&options).await.map_err(|e| e.to_string())?;
    let b = schema_of_script(&db, b_sql, "B", &options).await.map_err(|e| e.to_string())?;
    let kept: Vec<String> = a.tables.keys().filter(|n| b.tables.contains_key(*n)).map(|n| n.name.clone()).collect();
    for t in a.tables.keys() {
        db.run_script(&format!("INSERT INTO {} (id) VALUES (1)", t.name), "seed").await.map_err(|e| e.to_string())?;
    }
    let before: Vec<Vec<Vec<Option<String>>>> = {
        let mut v = Vec::new();
        for t in &kept {
            v.push(test.query(&format!("SELECT id FROM {t} ORDER BY id")).await);
        }
        v
    };
    let up = diff(&a, &b).script();
    db.run_script(&up, "up").await.map_err(|e| format!("up failed: {e}\n{up}"))?;
    let got = db.schema(&options).await.map_err(|e| e.to_string())?;
    if got.normalized() != b.normalized() {
        return Err(format!("after up the schema is not B; still:\n{}\nup was:\n{up}", diff(&got, &b).script()));
    }
    let down = diff(&b, &a).script();
    db.run_script(&down, "down").await.map_err(|e| format!("down failed: {e}\n{down}\nup was:\n{up}"))?;
    let got = db.schema(&options).await.map_err(|e| e.to_string())?;
    if got.normalized() != a.normalized() {
        return Err(format!("after down the schema is not A; still:\n{}\ndown was:\n{down}", diff(&got, &a).script()));
    }
    for (t, rows) in kept.iter().zip(&before) {
        if &test.query(&format!("SELECT id FROM {t} ORDER BY id")).await != rows {
            return Err(format!("rows of {t} lost\nup:\n{up}\ndown:\n{down}"));
        }
    }
    db.close().await;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_two_sqlite_schemas_round_trip(a in schema(), b in schema()) {
        let (a, b) = (ddl(&a), ddl(&b));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = rt.block_on(check_pair(&a, &b));
        prop_assert!(outcome.is_ok(), "A:\n{a}\nB:\n{b}\n{}", outcome.err().unwrap_or_default());
    }
}

/// A pair the property test found: tables referencing a rebuilt table, rebuilt themselves.
#[tokio::test]
async fn rebuilding_a_referenced_table_and_its_children() {
    let a = "CREATE TABLE t0 (id int PRIMARY KEY, c1 text);\n\
             CREATE TABLE t1 (id int PRIMARY KEY, c0 real, c1 real, c2 varchar(10), c3 int, parent int REFERENCES t0 (id) ON DELETE CASCADE);\n\
             CREATE TABLE t2 (id int PRIMARY KEY, c0 varchar(10) NOT NULL DEFAULT 'v31', c1 text CHECK (c1 IS NULL OR length(c1) < 40), c2 int, c3 text CHECK (c3 IS NULL OR length(c3) < 40));\n";
    let b = "CREATE TABLE t0 (id int PRIMARY KEY);\n\
             CREATE TABLE t1 (id int PRIMARY KEY, c0 varchar(10) NOT NULL DEFAULT 'v5', c2 int CHECK (c2 IS NULL OR length(c2) < 40), c3 varchar(10), parent int REFERENCES t0 (id) ON DELETE CASCADE);\n\
             CREATE TABLE t2 (id int PRIMARY KEY, c0 real CHECK (c0 IS NULL OR length(c0) < 40), c1 int NOT NULL DEFAULT 33, parent int REFERENCES t0 (id) ON DELETE CASCADE);\n";
    check_pair(a, b).await.unwrap();
}
