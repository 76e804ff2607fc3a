//! SQLite's catalogue read into the schema model: `sqlite_schema` and the table pragmas, with
//! what only the `CREATE TABLE` text holds (checks, generated columns, `AUTOINCREMENT`) read by a
//! SQL parser, and every expression respelled by it so that two spellings of one schema compare
//! equal.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use sqlparser::ast::{ColumnOption, Statement, TableConstraint};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::SqliteConn;
use crate::runtime::backend::Backend;
use crate::runtime::io::{Failure, TextRows};
use crate::schema::{
    Auto, Check, Column, FkAction, ForeignKey, Generated, Index, Key, Name, Schema, Table, Trigger, View,
};
use crate::sql::{Dialect, Options};

/// The condition on `sqlite_schema m` that leaves out SQLite's own objects (`sqlite_sequence`,
/// autoindexes).
const NOT_SQLITES: &str = "m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/// What each object's `CREATE` text gives, kept for the life of the process: a table's
/// columns, keys and checks, an index's and a view's respelled text. SQLite derives everything
/// its pragmas say about a table from that text (its name and kind included), and rewrites the
/// text on every `ALTER TABLE`, so one text always gives one result, in any database. The
/// stairway test reads, for every revision, three schemas that differ from the one before by a
/// table or two; with this, each read asks the pragmas and the parser only about what changed.
#[derive(Default)]
struct Memo {
    /// Tables by `CREATE TABLE` text, as [`Catalogue::table`] builds them.
    tables: HashMap<String, Table>,
    /// Respelled statements (indexes) and view queries, by `CREATE` text.
    texts: HashMap<String, String>,
}

/// Beyond this many entries a map of the memo starts again empty, so that a process that reads
/// many different schemas (a long-lived service checking drift) keeps it small.
const MEMO_LIMIT: usize = 20_000;

static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(Mutex::default);

/// The memo, or nothing when another thread panicked holding it (then nothing is remembered).
fn memo() -> Option<std::sync::MutexGuard<'static, Memo>> {
    MEMO.lock().ok()
}

/// Keeps `value` under `key` in one of the memo's maps, within [`MEMO_LIMIT`].
fn keep<V>(map: &mut HashMap<String, V>, key: &str, value: V) {
    if map.len() >= MEMO_LIMIT {
        map.clear();
    }
    map.insert(key.to_owned(), value);
}

/// `derive(sql)`, remembered by text.
fn remembered(sql: &str, derive: fn(&str) -> String) -> String {
    if let Some(text) = memo().and_then(|m| m.texts.get(sql).cloned()) {
        return text;
    }
    let text = derive(sql);
    if let Some(mut m) = memo() {
        keep(&mut m.texts, sql, text.clone());
    }
    text
}

/// Reads the schema of the `main` database, without the history and log tables.
///
/// At most four queries whatever the number of tables (the objects, then the columns, unique
/// constraints and foreign keys of every table not read before with the same text, through the
/// table-valued pragmas), so that reading a schema of hundreds of tables, as the stairway test
/// does for every revision, costs no round trip per table.
pub(crate) async fn read(conn: &mut SqliteConn, options: &Options) -> Result<Schema, Failure> {
    let mut schema = Schema::empty(Dialect::Sqlite);
    let objects = objects(conn).await?;
    let skip = |t: &str| options.is_own_table(t);
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // The tables, each as remembered or still to be read.
    let mut tables: Vec<(String, String, Option<Table>)> = objects
        .iter()
        .filter(|o| text(&o[0]) == "table" && !skip(&text(&o[2])))
        .map(|o| (text(&o[1]), text(&o[3]), None))
        .collect();
    if let Some(m) = memo() {
        for (_, sql, known) in &mut tables {
            *known = m.tables.get(sql.as_str()).cloned();
        }
    }
    let unknown: Vec<&str> = tables.iter().filter(|t| t.2.is_none()).map(|t| t.0.as_str()).collect();
    if !unknown.is_empty() {
        let only = (unknown.len() < tables.len()).then_some(unknown.as_slice());
        let mut catalogue = Catalogue::read(conn, only).await?;
        let mut m = memo();
        for (name, sql, known) in &mut tables {
            if known.is_none() {
                let t = catalogue.table(name, sql);
                if let Some(m) = m.as_mut() {
                    keep(&mut m.tables, sql, t.clone());
                }
                *known = Some(t);
            }
        }
    }
    for t in tables.into_iter().filter_map(|t| t.2) {
        schema.tables.insert(t.name.clone(), t);
    }
    for o in &objects {
        let (kind, name, table, sql) = (text(&o[0]), text(&o[1]), text(&o[2]), text(&o[3]));
        if kind == "view" && !skip(&table) {
            let definition = remembered(&sql, view_query);
            schema.views.insert(Name::new(&name), View { name: Name::new(&name), definition, materialized: false });
        }
    }
    for o in &objects {
        let (kind, name, table, sql) = (text(&o[0]), text(&o[1]), text(&o[2]), text(&o[3]));
        let Some(t) = schema.tables.get_mut(&Name::new(&table)) else { continue };
        match kind.as_str() {
            "index" if !sql.is_empty() => {
                let unique = sql.trim_start().to_ascii_uppercase().starts_with("CREATE UNIQUE");
                let definition = remembered(&sql, canonical_statement);
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

/// Every object's type, name, table and `CREATE` text, SQLite's own left out, in a fixed order.
async fn objects(conn: &mut SqliteConn) -> Result<TextRows, Failure> {
    conn.rows(&format!(
        "SELECT m.type, m.name, m.tbl_name, m.sql FROM sqlite_schema m WHERE {NOT_SQLITES} ORDER BY m.type, m.name"
    ))
    .await
}

/// The `CREATE` text of every object [`read`] reads (the history and log tables left out), one
/// object per line: everything a schema read finds follows from it. SQLite joins the lines, so
/// the text comes back as one value however many objects there are.
pub(crate) async fn catalogue_text(conn: &mut SqliteConn, options: &Options) -> Result<Option<String>, Failure> {
    let own = options.own_tables().map(|t| Dialect::Sqlite.quote_str(&t)).join(", ");
    // A NUL cannot be part of SQLite's text, so it separates the cells unambiguously.
    let rows = conn
        .rows(&format!(
            "SELECT group_concat(m.type || char(0) || m.name || char(0) || m.tbl_name || char(0) || \
             coalesce(m.sql, '') || char(0), char(10) ORDER BY m.type, m.name) \
             FROM sqlite_schema m WHERE {NOT_SQLITES} AND m.tbl_name NOT IN ({own})"
        ))
        .await?;
    let joined = rows.into_iter().next().and_then(|row| row.into_iter().next()).flatten();
    Ok(Some(joined.unwrap_or_default()))
}

/// The pragma rows of every table, each set keyed by table name, in the tables' order.
struct Catalogue {
    columns: BTreeMap<String, TextRows>,
    uniques: BTreeMap<String, TextRows>,
    foreign_keys: BTreeMap<String, TextRows>,
}

impl Catalogue {
    /// The pragma rows of every table, or of the tables `only` names.
    async fn read(conn: &mut SqliteConn, only: Option<&[&str]>) -> Result<Self, Failure> {
        let tables = match only {
            Some(names) => format!(
                "{NOT_SQLITES} AND m.name IN ({})",
                names.iter().map(|n| Dialect::Sqlite.quote_str(n)).collect::<Vec<_>>().join(", ")
            ),
            None => NOT_SQLITES.to_owned(),
        };
        let by_table = |rows: TextRows| {
            let mut out: BTreeMap<String, TextRows> = BTreeMap::new();
            for mut row in rows {
                let table = row.remove(0).unwrap_or_default();
                out.entry(table).or_default().push(row);
            }
            out
        };
        let columns = conn
            .rows(&format!(
                "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden \
                 FROM sqlite_schema m, pragma_table_xinfo(m.name) p WHERE m.type = 'table' AND {tables} ORDER BY m.name, p.cid"
            ))
            .await?;
        let uniques = conn
            .rows(&format!(
                "SELECT m.name, l.name, i.name \
                 FROM sqlite_schema m, pragma_index_list(m.name) l, pragma_index_info(l.name) i \
                 WHERE m.type = 'table' AND {tables} AND l.origin = 'u' ORDER BY m.name, l.name, i.seqno"
            ))
            .await?;
        let foreign_keys = conn
            .rows(&format!(
                "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
                 FROM sqlite_schema m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table' AND {tables} ORDER BY m.name, f.id, f.seq"
            ))
            .await?;
        Ok(Self { columns: by_table(columns), uniques: by_table(uniques), foreign_keys: by_table(foreign_keys) })
    }

    /// Table `name`, created by `sql`, from its pragma rows (taken out of the catalogue).
    fn table(&mut self, name: &str, sql: &str) -> Table {
        let mut t = Table::new(Name::new(name));
        let parsed = parse_create_table(sql);
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in self.columns.remove(name).unwrap_or_default() {
            let cname = c[0].clone().unwrap_or_default();
            let hidden = c[5].as_deref().unwrap_or("0");
            let extra = parsed.columns.iter().find(|p| p.name.eq_ignore_ascii_case(&cname));
            let generated = match hidden {
                "2" | "3" => {
                    extra.and_then(|e| e.generated.clone()).map(|expr| Generated { expr, stored: hidden == "3" })
                }
                _ => None,
            };
            let position: i64 = c[4].as_deref().and_then(|p| p.parse().ok()).unwrap_or(0);
            if position > 0 {
                pk.push((position, cname.clone()));
            }
            t.columns.push(Column {
                ty: c[1]
                    .clone()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_uppercase(),
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
        let mut index: Option<String> = None;
        for u in self.uniques.remove(name).unwrap_or_default() {
            let (iname, column) = (u[0].clone().unwrap_or_default(), u[1].clone().unwrap_or_default());
            if index.as_deref() != Some(iname.as_str()) {
                index = Some(iname);
                t.uniques.push(Key { name: None, columns: Vec::new() });
            }
            if let Some(key) = t.uniques.last_mut() {
                key.columns.push(column);
            }
        }
        let mut last: Option<String> = None;
        for f in self.foreign_keys.remove(name).unwrap_or_default() {
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
        t
    }
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
