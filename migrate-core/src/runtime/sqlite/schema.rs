//! SQLite's catalogue read into the schema model: `sqlite_schema` and the table pragmas, with
//! what only the `CREATE TABLE` text holds (checks, generated columns, `AUTOINCREMENT`) read by a
//! SQL parser, and every expression respelled by it so that two spellings of one schema compare
//! equal.

use sqlparser::ast::{ColumnOption, Statement, TableConstraint};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::SqliteConn;
use crate::runtime::backend::Backend;
use crate::runtime::io::Failure;
use crate::schema::{
    Auto, Check, Column, FkAction, ForeignKey, Generated, Index, Key, Name, Schema, Table, Trigger, View,
};
use crate::sql::{Dialect, Options};

/// Reads the schema of the `main` database, without the history and log tables.
pub(crate) async fn read(conn: &mut SqliteConn, options: &Options) -> Result<Schema, Failure> {
    let mut schema = Schema::empty(Dialect::Sqlite);
    let objects = conn
        .rows(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema \
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
        )
        .await?;
    let skip = |t: &str| options.is_own_table(t);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    for o in &objects {
        let (kind, name, table, sql) = (text(&o[0]), text(&o[1]), text(&o[2]), text(&o[3]));
        if skip(&table) {
            continue;
        }
        match kind.as_str() {
            "table" => {
                let t = read_table(conn, &name, &sql).await?;
                schema.tables.insert(t.name.clone(), t);
            }
            "view" => {
                let definition = view_query(&sql);
                schema.views.insert(Name::new(&name), View { name: Name::new(&name), definition, materialized: false });
            }
            _ => {}
        }
    }
    for o in &objects {
        let (kind, name, table, sql) = (text(&o[0]), text(&o[1]), text(&o[2]), text(&o[3]));
        let Some(t) = schema.tables.get_mut(&Name::new(&table)) else { continue };
        match kind.as_str() {
            "index" if !sql.is_empty() => {
                let unique = sql.trim_start().to_ascii_uppercase().starts_with("CREATE UNIQUE");
                let definition = canonical_statement(&sql);
                let predicate = definition.to_ascii_uppercase().find(" WHERE ").map(|k| definition[k + 7..].to_owned());
                t.indexes.push(Index {
                    name,
                    unique,
                    parts: Vec::new(),
                    method: None,
                    predicate,
                    definition: Some(definition),
                });
            }
            "trigger" => t.triggers.push(Trigger { name, sql: sql.trim().trim_end_matches(';').to_owned() }),
            _ => {}
        }
    }
    // `REFERENCES parent` without columns means the parent's primary key.
    let keys: Vec<(Name, Vec<String>)> = schema
        .tables
        .values()
        .filter_map(|t| Some((t.name.clone(), t.primary_key.as_ref()?.columns.clone())))
        .collect();
    for t in schema.tables.values_mut() {
        for fk in &mut t.foreign_keys {
            if fk.ref_columns.iter().all(String::is_empty)
                && let Some((_, cols)) = keys.iter().find(|(n, _)| n.name.eq_ignore_ascii_case(&fk.ref_table.name))
            {
                fk.ref_columns = cols.clone();
            }
        }
        t.normalize();
    }
    Ok(schema)
}

async fn read_table(conn: &mut SqliteConn, name: &str, sql: &str) -> Result<Table, Failure> {
    let quoted = Dialect::Sqlite.quote_str(name);
    let mut t = Table::new(Name::new(name));
    let parsed = parse_create_table(sql);
    let cols = conn
        .rows(&format!(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo({quoted}) ORDER BY cid"
        ))
        .await?;
    let mut pk: Vec<(i64, String)> = Vec::new();
    for c in &cols {
        let cname = c[0].clone().unwrap_or_default();
        let hidden = c[5].as_deref().unwrap_or("0");
        let extra = parsed.columns.iter().find(|p| p.name.eq_ignore_ascii_case(&cname));
        let generated = match hidden {
            "2" | "3" => extra.and_then(|e| e.generated.clone()).map(|expr| Generated { expr, stored: hidden == "3" }),
            _ => None,
        };
        let position: i64 = c[4].as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
        if position > 0 {
            pk.push((position, cname.clone()));
        }
        t.columns.push(Column {
            ty: c[1].clone().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_uppercase(),
            nullable: c[2].as_deref() != Some("1"),
            default: c[3].as_deref().map(canonical_expr),
            auto: extra.filter(|e| e.autoincrement).map(|_| Auto::AutoIncrement),
            generated,
            name: cname,
        });
    }
    pk.sort();
    if !pk.is_empty() {
        t.primary_key = Some(Key { name: None, columns: pk.into_iter().map(|(_, c)| c).collect() });
    }
    t.checks = parsed.checks;
    let indexes =
        conn.rows(&format!("SELECT name, origin FROM pragma_index_list({quoted}) WHERE origin = 'u'")).await?;
    for i in &indexes {
        let iname = Dialect::Sqlite.quote_str(i[0].as_deref().unwrap_or_default());
        let cols = conn.rows(&format!("SELECT name FROM pragma_index_info({iname}) ORDER BY seqno")).await?;
        t.uniques
            .push(Key { name: None, columns: cols.into_iter().map(|r| r[0].clone().unwrap_or_default()).collect() });
    }
    let fks = conn
        .rows(&format!(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list({quoted}) ORDER BY id, seq"
        ))
        .await?;
    let mut last: Option<String> = None;
    for f in &fks {
        let cell = |k: usize| f[k].clone().unwrap_or_default();
        if last.as_deref() != Some(cell(0).as_str()) {
            last = Some(cell(0));
            t.foreign_keys.push(ForeignKey {
                name: None,
                columns: Vec::new(),
                ref_table: Name::new(cell(1)),
                ref_columns: Vec::new(),
                on_update: FkAction::parse(&cell(4)).unwrap_or(FkAction::NoAction),
                on_delete: FkAction::parse(&cell(5)).unwrap_or(FkAction::NoAction),
            });
        }
        if let Some(fk) = t.foreign_keys.last_mut() {
            fk.columns.push(cell(2));
            fk.ref_columns.push(cell(3));
        }
    }
    Ok(t)
}

/// What only the `CREATE TABLE` text says.
#[derive(Default)]
struct Parsed {
    columns: Vec<ParsedColumn>,
    checks: Vec<Check>,
}

struct ParsedColumn {
    name: String,
    generated: Option<String>,
    autoincrement: bool,
}

fn parse_create_table(sql: &str) -> Parsed {
    let mut out = Parsed::default();
    let Ok(mut statements) = Parser::parse_sql(&SQLiteDialect {}, sql) else { return out };
    let Some(Statement::CreateTable(create)) = statements.pop() else { return out };
    for c in &create.columns {
        let mut col = ParsedColumn { name: c.name.value.clone(), generated: None, autoincrement: false };
        for o in &c.options {
            match &o.option {
                ColumnOption::Check(check) => out
                    .checks
                    .push(Check { name: o.name.as_ref().map(|n| n.value.clone()), expr: check.expr.to_string() }),
                ColumnOption::Generated { generation_expr: Some(e), .. } => col.generated = Some(e.to_string()),
                other => {
                    if other.to_string().to_ascii_uppercase().contains("AUTOINCREMENT") {
                        col.autoincrement = true;
                    }
                }
            }
        }
        out.columns.push(col);
    }
    for c in &create.constraints {
        if let TableConstraint::Check(check) = c {
            out.checks.push(Check { name: check.name.as_ref().map(|n| n.value.clone()), expr: check.expr.to_string() });
        }
    }
    out
}

/// An expression respelled by the parser (`1+2` and `1 + 2` alike), or as written when the
/// parser does not read it.
fn canonical_expr(text: &str) -> String {
    let dialect = SQLiteDialect {};
    Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_or_else(|_| text.trim().to_owned(), |e| e.to_string())
}

/// A statement respelled by the parser, or with its whitespace collapsed when the parser does
/// not read it.
fn canonical_statement(sql: &str) -> String {
    match Parser::parse_sql(&SQLiteDialect {}, sql) {
        Ok(mut s) if s.len() == 1 => s.pop().map(|s| s.to_string()).unwrap_or_default(),
        _ => sql.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A view's query, respelled by the parser.
fn view_query(sql: &str) -> String {
    match Parser::parse_sql(&SQLiteDialect {}, sql) {
        Ok(mut s) if s.len() == 1 => match s.pop() {
            Some(Statement::CreateView(v)) => v.query.to_string(),
            _ => sql.to_owned(),
        },
        _ => {
            let collapsed = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let upper = collapsed.to_ascii_uppercase();
            upper.find(" AS ").map_or(collapsed.clone(), |k| collapsed[k + 4..].to_owned())
        }
    }
}
