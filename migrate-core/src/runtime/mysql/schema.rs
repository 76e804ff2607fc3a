//! MySQL's and MariaDB's catalogue (`information_schema`) read into the schema model for the
//! connected database (and MariaDB's sequences). Unique keys are indexes here, as the server
//! keeps them; view definitions lose the database's own name so that two databases built from
//! one schema compare equal.

use std::collections::BTreeMap;

use super::MyConn;
use crate::runtime::backend::Backend;
use crate::runtime::io::Failure;
use crate::schema::{
    Auto, Check, Column, FkAction, ForeignKey, Generated, Index, Key, Name, Schema, Sequence, Table, View,
};
use crate::sql::{Dialect, Options};

/// Reads the connected database's schema, without the history and log tables.
pub(crate) async fn read(conn: &mut MyConn, options: &Options) -> Result<Schema, Failure> {
    let mut schema = Schema::empty(Dialect::MySql);
    let about = conn.rows("SELECT DATABASE(), VERSION()").await?;
    let db = about.first().and_then(|r| r[0].clone()).unwrap_or_default();
    let mariadb = about.first().and_then(|r| r[1].clone()).is_some_and(|v| v.contains("MariaDB"));
    let skip = |t: &str| options.is_own_table(t);
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();

    let rows = conn
        .rows(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
        )
        .await?;
    for r in &rows {
        let t = cell(&r[0]);
        if !skip(&t) {
            tables.insert(t.clone(), Table::new(Name::new(t)));
        }
    }

    let rows = conn
        .rows(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION",
        )
        .await?;
    for r in &rows {
        let Some(t) = tables.get_mut(&cell(&r[0])) else { continue };
        let extra = cell(&r[5]).to_ascii_uppercase();
        let generation = r[6].clone().filter(|g| !g.is_empty());
        let generated = generation.map(|expr| Generated { expr, stored: extra.contains("STORED") });
        let mut default = r[4].clone().filter(|d| !d.eq_ignore_ascii_case("NULL"));
        if !mariadb {
            // MySQL keeps literal defaults unquoted and marks expressions.
            default = default.map(|d| {
                if extra.contains("DEFAULT_GENERATED") {
                    if d.to_ascii_uppercase().starts_with("CURRENT_TIMESTAMP") { d } else { format!("({d})") }
                } else {
                    Dialect::MySql.quote_str(&d)
                }
            });
        }
        if generated.is_some() {
            default = None;
        }
        t.columns.push(Column {
            name: cell(&r[1]),
            ty: cell(&r[2]),
            nullable: cell(&r[3]) == "YES",
            default,
            auto: extra.contains("AUTO_INCREMENT").then_some(Auto::AutoIncrement),
            generated,
        });
    }

    let rows = conn
        .rows(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
        )
        .await?;
    for r in &rows {
        let Some(t) = tables.get_mut(&cell(&r[0])) else { continue };
        let (iname, column) = (cell(&r[1]), cell(&r[3]));
        if iname == "PRIMARY" {
            t.primary_key.get_or_insert_with(|| Key { name: None, columns: Vec::new() }).columns.push(column);
            continue;
        }
        let mut part = crate::schema::quote_ident(Dialect::MySql, &column);
        if let Some(len) = r[4].as_deref() {
            part.push_str(&format!("({len})"));
        }
        if r[6].as_deref() == Some("D") {
            part.push_str(" DESC");
        }
        let kind = cell(&r[5]);
        match t.indexes.iter_mut().find(|i| i.name == iname) {
            Some(i) => i.parts.push(part),
            None => t.indexes.push(Index {
                name: iname,
                unique: cell(&r[2]) == "0",
                parts: vec![part],
                method: matches!(kind.as_str(), "FULLTEXT" | "SPATIAL").then_some(kind),
                predicate: None,
                definition: None,
            }),
        }
    }

    let checks = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE()"
    } else {
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc \
         JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
         AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = DATABASE()"
    };
    for r in &conn.rows(checks).await? {
        let Some(t) = tables.get_mut(&cell(&r[0])) else { continue };
        t.checks.push(Check { name: Some(cell(&r[1])), expr: cell(&r[2]) });
    }

    let rows = conn
        .rows(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, \
                    k.REFERENCED_COLUMN_NAME, rc.UPDATE_RULE, rc.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS rc \
             ON rc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND rc.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
             AND rc.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
        )
        .await?;
    for r in &rows {
        let Some(t) = tables.get_mut(&cell(&r[0])) else { continue };
        let fname = cell(&r[1]);
        if t.foreign_keys.last().and_then(|f| f.name.as_deref()) != Some(fname.as_str()) {
            let ref_schema = cell(&r[3]);
            t.foreign_keys.push(ForeignKey {
                name: Some(fname),
                columns: Vec::new(),
                ref_table: Name { schema: (ref_schema != db).then_some(ref_schema), name: cell(&r[4]) },
                ref_columns: Vec::new(),
                on_update: FkAction::parse(&cell(&r[6])).unwrap_or(FkAction::NoAction),
                on_delete: FkAction::parse(&cell(&r[7])).unwrap_or(FkAction::NoAction),
            });
        }
        if let Some(fk) = t.foreign_keys.last_mut() {
            fk.columns.push(cell(&r[2]));
            fk.ref_columns.push(cell(&r[5]));
        }
    }
    for mut t in tables.into_values() {
        t.normalize();
        schema.tables.insert(t.name.clone(), t);
    }

    // MariaDB's sequences are tables of a kind of their own; each is read as a one-row table.
    if mariadb {
        let rows = conn
            .rows(
                "SELECT TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'SEQUENCE'",
            )
            .await?;
        for r in &rows {
            let name = cell(&r[0]);
            let q = Dialect::MySql.quote_ident(&name);
            let values = conn
                .rows(&format!("SELECT start_value, increment, minimum_value, maximum_value, cycle_option FROM {q}"))
                .await?;
            let Some(v) = values.first() else { continue };
            let num = |k: usize| cell(&v[k]).parse::<i64>().unwrap_or_default();
            schema.sequences.insert(
                Name::new(&name),
                Sequence {
                    ty: "bigint".to_owned(),
                    start: num(0),
                    increment: num(1),
                    min: num(2),
                    max: num(3),
                    cycle: cell(&v[4]) == "1",
                },
            );
        }
    }

    let rows = conn
        .rows("SELECT TABLE_NAME, VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()")
        .await?;
    let own = format!("{}.", Dialect::MySql.quote_ident(&db));
    for r in &rows {
        let name = Name::new(cell(&r[0]));
        let definition = cell(&r[1]).replace(&own, "");
        schema.views.insert(name.clone(), View { name, definition, materialized: false });
    }
    Ok(schema)
}

fn cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}
