//! Changes as SQL: one function per change and dialect, and the script a revision file holds
//! (notes for the author first, each destructive statement marked).

use super::diff::{Change, Changes};
use super::model::{Auto, Column, ForeignKey, Index, Key, Name, Sequence, Table, quote};
use crate::sql::Dialect;

impl Changes {
    /// The statements that make the change, in order, without terminators.
    pub fn up(&self) -> Vec<String> {
        self.pieces().into_iter().map(|(_, sql)| sql).collect()
    }

    /// The change as a migration section: the notes as comments, each destructive statement
    /// preceded by a `-- DESTRUCTIVE:` line, each statement ended by `;`.
    pub fn script(&self) -> String {
        let mut out = String::new();
        for note in &self.notes {
            out.push_str(&format!("-- CHECK: {note}\n"));
        }
        for (comment, sql) in self.pieces() {
            if let Some(c) = comment {
                out.push_str(&format!("-- DESTRUCTIVE: {c}\n"));
            }
            out.push_str(&sql);
            out.push_str(";\n");
        }
        out
    }

    fn pieces(&self) -> Vec<(Option<String>, String)> {
        let r = Renderer { d: self.dialect };
        let mut out: Vec<(Option<String>, String)> = Vec::new();
        let autocommit = self.needs_autocommit();
        if autocommit {
            // SQLite's documented way to rebuild a table others reference: foreign keys off
            // (possible only outside a transaction), the rebuild in one transaction, the
            // references checked, foreign keys back on.
            out.push((None, "PRAGMA foreign_keys = OFF".to_owned()));
            out.push((None, "BEGIN IMMEDIATE".to_owned()));
        }
        for change in &self.changes {
            let comment = change.destructive();
            for (k, sql) in r.change(change).into_iter().enumerate() {
                out.push((if k == 0 { comment.clone() } else { None }, sql));
            }
        }
        if autocommit {
            out.push((None, "COMMIT".to_owned()));
            out.push((None, "PRAGMA foreign_keys = ON".to_owned()));
        }
        out
    }
}

struct Renderer {
    d: Dialect,
}

impl Renderer {
    fn q(&self, ident: &str) -> String {
        quote(self.d, ident)
    }

    fn n(&self, name: &Name) -> String {
        name.quoted(self.d)
    }

    fn cols(&self, cols: &[String]) -> String {
        cols.iter().map(|c| self.q(c)).collect::<Vec<_>>().join(", ")
    }

    fn alter(&self, table: &Name, rest: impl AsRef<str>) -> String {
        format!("ALTER TABLE {} {}", self.n(table), rest.as_ref())
    }

    /// A name in the schema of `table` (PostgreSQL indexes and types live in a schema).
    fn sibling(&self, table: &Name, name: &str) -> String {
        self.n(&Name { schema: table.schema.clone(), name: name.to_owned() })
    }

    fn change(&self, change: &Change) -> Vec<String> {
        let d = self.d;
        match change {
            Change::CreateSchema(s) => vec![format!("CREATE SCHEMA {}", self.q(s))],
            Change::DropSchema(s) => vec![format!("DROP SCHEMA {}", self.q(s))],
            Change::CreateEnum(n, labels) => {
                vec![format!("CREATE TYPE {} AS ENUM ({})", self.n(n), self.labels(labels))]
            }
            Change::DropEnum(n, _) => vec![format!("DROP TYPE {}", self.n(n))],
            Change::AddEnumValue { name, value, before } => vec![match before {
                Some(b) => {
                    format!("ALTER TYPE {} ADD VALUE {} BEFORE {}", self.n(name), d.quote_str(value), d.quote_str(b))
                }
                None => format!("ALTER TYPE {} ADD VALUE {}", self.n(name), d.quote_str(value)),
            }],
            Change::RecreateEnum { name, to, columns, .. } => {
                let old = format!("{}__old", name.name);
                let mut out = vec![format!("ALTER TYPE {} RENAME TO {}", self.n(name), self.q(&old))];
                out.push(format!("CREATE TYPE {} AS ENUM ({})", self.n(name), self.labels(to)));
                for (table, col, default) in columns {
                    if default.is_some() {
                        out.push(self.alter(table, format!("ALTER COLUMN {} DROP DEFAULT", self.q(col))));
                    }
                    out.push(self.alter(
                        table,
                        format!("ALTER COLUMN {c} TYPE {t} USING {c}::text::{t}", c = self.q(col), t = self.n(name)),
                    ));
                    if let Some(def) = default {
                        out.push(self.alter(table, format!("ALTER COLUMN {} SET DEFAULT {def}", self.q(col))));
                    }
                }
                out.push(format!("DROP TYPE {}", self.sibling(name, &old)));
                out
            }
            Change::CreateSequence(n, s) => vec![format!("CREATE SEQUENCE {} {}", self.n(n), sequence(s, d))],
            Change::AlterSequence(n, s) => vec![format!("ALTER SEQUENCE {} {}", self.n(n), sequence(s, d))],
            Change::DropSequence(n, _) => vec![format!("DROP SEQUENCE {}", self.n(n))],
            Change::CreateTable(t) => vec![self.create_table(t, &self.n(&t.name))],
            Change::DropTable(t) => vec![format!("DROP TABLE {}", self.n(&t.name))],
            Change::AddColumn(t, c) => vec![self.alter(t, format!("ADD COLUMN {}", self.column(c, None)))],
            Change::DropColumn(t, c) => vec![self.alter(t, format!("DROP COLUMN {}", self.q(&c.name)))],
            Change::AlterColumn { table, from, to } => self.alter_column(table, from, to),
            Change::RebuildTable { from, to } => self.rebuild(from, to),
            Change::AddPrimaryKey(t, k) => vec![self.alter(t, format!("ADD {}", self.key("PRIMARY KEY", k)))],
            Change::DropPrimaryKey(t, k) => vec![match (d, &k.name) {
                (Dialect::Postgres, Some(name)) => self.alter(t, format!("DROP CONSTRAINT {}", self.q(name))),
                _ => self.alter(t, "DROP PRIMARY KEY"),
            }],
            Change::AddUnique(t, k) => vec![self.alter(t, format!("ADD {}", self.key("UNIQUE", k)))],
            Change::DropUnique(t, k) => {
                vec![self.alter(t, format!("DROP CONSTRAINT {}", self.q(k.name.as_deref().unwrap_or_default())))]
            }
            Change::AddCheck(t, c) => vec![self.alter(t, format!("ADD {}", self.check(c)))],
            Change::DropCheck(t, c) => {
                vec![self.alter(t, format!("DROP CONSTRAINT {}", self.q(c.name.as_deref().unwrap_or_default())))]
            }
            Change::AddForeignKey(t, fk) => vec![self.alter(t, format!("ADD {}", self.foreign_key(fk)))],
            Change::DropForeignKey(t, fk) => {
                let name = self.q(fk.name.as_deref().unwrap_or_default());
                vec![match d {
                    Dialect::MySql => self.alter(t, format!("DROP FOREIGN KEY {name}")),
                    _ => self.alter(t, format!("DROP CONSTRAINT {name}")),
                }]
            }
            Change::CreateIndex(t, i) => vec![self.create_index(t, i)],
            Change::DropIndex(t, i) => vec![match d {
                Dialect::MySql => format!("DROP INDEX {} ON {}", self.q(&i.name), self.n(t)),
                _ => format!("DROP INDEX {}", self.sibling(t, &i.name)),
            }],
            Change::CreateView(v) => vec![format!(
                "CREATE {}VIEW {} AS {}",
                if v.materialized { "MATERIALIZED " } else { "" },
                self.n(&v.name),
                v.definition
            )],
            Change::DropView(v) => {
                vec![format!("DROP {}VIEW {}", if v.materialized { "MATERIALIZED " } else { "" }, self.n(&v.name))]
            }
            Change::CreateTrigger(_, t) => vec![t.sql.clone()],
            Change::DropTrigger(_, t) => vec![format!("DROP TRIGGER {}", self.q(&t.name))],
        }
    }

    fn labels(&self, labels: &[String]) -> String {
        labels.iter().map(|l| self.d.quote_str(l)).collect::<Vec<_>>().join(", ")
    }

    fn key(&self, kind: &str, k: &Key) -> String {
        match &k.name {
            Some(name) if self.d != Dialect::MySql || kind != "PRIMARY KEY" => {
                format!("CONSTRAINT {} {kind} ({})", self.q(name), self.cols(&k.columns))
            }
            _ => format!("{kind} ({})", self.cols(&k.columns)),
        }
    }

    fn check(&self, c: &super::Check) -> String {
        match &c.name {
            Some(name) => format!("CONSTRAINT {} CHECK ({})", self.q(name), c.expr),
            None => format!("CHECK ({})", c.expr),
        }
    }

    fn foreign_key(&self, fk: &ForeignKey) -> String {
        let mut s = String::new();
        if let Some(name) = &fk.name {
            s.push_str(&format!("CONSTRAINT {} ", self.q(name)));
        }
        s.push_str(&format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            self.cols(&fk.columns),
            self.n(&fk.ref_table),
            self.cols(&fk.ref_columns)
        ));
        if fk.on_update != super::FkAction::NoAction {
            s.push_str(&format!(" ON UPDATE {}", fk.on_update.sql()));
        }
        if fk.on_delete != super::FkAction::NoAction {
            s.push_str(&format!(" ON DELETE {}", fk.on_delete.sql()));
        }
        s
    }

    /// A column's definition; `inline_pk` puts SQLite's `PRIMARY KEY AUTOINCREMENT` on it.
    fn column(&self, c: &Column, inline_pk: Option<&str>) -> String {
        let mut s = format!("{} ", self.q(&c.name));
        let d = self.d;
        match (d, c.auto) {
            (Dialect::Postgres, Some(Auto::Serial)) => s.push_str(match c.ty.as_str() {
                "bigint" => "bigserial",
                "smallint" => "smallserial",
                _ => "serial",
            }),
            _ => s.push_str(&c.ty),
        }
        if let Some(g) = &c.generated {
            let how = match (d, g.stored) {
                (_, true) => " STORED",
                (Dialect::Postgres, false) => " STORED",
                (_, false) => " VIRTUAL",
            };
            s.push_str(&format!(" GENERATED ALWAYS AS ({}){how}", g.expr));
            if d != Dialect::MySql && !c.nullable {
                s.push_str(" NOT NULL");
            }
            return s;
        }
        if let Some(pk) = inline_pk {
            s.push_str(pk);
        }
        if !c.nullable && inline_pk.is_none() {
            s.push_str(" NOT NULL");
        } else if d == Dialect::MySql && c.nullable {
            s.push_str(" NULL");
        }
        if let Some(def) = &c.default {
            s.push_str(&format!(" DEFAULT {}", self.default(def)));
        }
        match (d, c.auto) {
            (Dialect::Postgres, Some(Auto::Identity { always })) => {
                s.push_str(if always { " GENERATED ALWAYS AS IDENTITY" } else { " GENERATED BY DEFAULT AS IDENTITY" })
            }
            (Dialect::MySql, Some(Auto::AutoIncrement)) => s.push_str(" AUTO_INCREMENT"),
            _ => {}
        }
        s
    }

    /// A default as the dialect accepts it in a column definition: literals as they are,
    /// expressions in parentheses where the dialect needs them.
    fn default(&self, def: &str) -> String {
        let t = def.trim();
        let upper = t.to_ascii_uppercase();
        let literal = t.starts_with('\'')
            || t.starts_with('(')
            || t.parse::<f64>().is_ok()
            || matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE")
            || upper.starts_with("CURRENT_TIMESTAMP")
            || upper == "CURRENT_DATE"
            || upper == "CURRENT_TIME";
        if literal || self.d == Dialect::Postgres { t.to_owned() } else { format!("({t})") }
    }

    fn create_table(&self, t: &Table, name: &str) -> String {
        let d = self.d;
        // SQLite's AUTOINCREMENT is written on the column of a one-column primary key.
        let auto_pk = match (&t.primary_key, d) {
            (Some(pk), Dialect::Sqlite) if pk.columns.len() == 1 => {
                t.column(&pk.columns[0]).filter(|c| c.auto == Some(Auto::AutoIncrement)).map(|c| c.name.clone())
            }
            _ => None,
        };
        let mut lines: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let inline = (auto_pk.as_deref() == Some(c.name.as_str())).then_some(" PRIMARY KEY AUTOINCREMENT");
                self.column(c, inline)
            })
            .collect();
        if let (Some(pk), None) = (&t.primary_key, &auto_pk) {
            lines.push(self.key("PRIMARY KEY", pk));
        }
        for u in &t.uniques {
            lines.push(self.key("UNIQUE", u));
        }
        for c in &t.checks {
            lines.push(self.check(c));
        }
        if d == Dialect::Sqlite {
            for fk in &t.foreign_keys {
                lines.push(self.foreign_key(fk));
            }
        }
        format!("CREATE TABLE {name} (\n    {}\n)", lines.join(",\n    "))
    }

    fn create_index(&self, t: &Name, i: &Index) -> String {
        if let Some(def) = &i.definition {
            return def.clone();
        }
        let kind = match i.method.as_deref() {
            Some(m @ ("FULLTEXT" | "SPATIAL")) => format!("{m} "),
            _ if i.unique => "UNIQUE ".to_owned(),
            _ => String::new(),
        };
        let mut s = format!("CREATE {kind}INDEX {} ON {} ({})", self.q(&i.name), self.n(t), i.parts.join(", "));
        if let Some(p) = &i.predicate {
            s.push_str(&format!(" WHERE {p}"));
        }
        s
    }

    fn alter_column(&self, table: &Name, from: &Column, to: &Column) -> Vec<String> {
        let c = self.q(&to.name);
        match self.d {
            Dialect::MySql => {
                let mut out = Vec::new();
                if let (true, false, Some(def)) = (from.nullable, to.nullable, &to.default) {
                    out.push(format!("UPDATE {} SET {c} = {} WHERE {c} IS NULL", self.n(table), self.default(def)));
                }
                out.push(self.alter(table, format!("MODIFY COLUMN {}", self.column(to, None))));
                out
            }
            Dialect::Postgres => {
                let mut out = Vec::new();
                let default_changes = from.default != to.default || from.ty != to.ty;
                if let (true, false, Some(def)) = (from.nullable, to.nullable, &to.default) {
                    out.push(format!("UPDATE {} SET {c} = {def} WHERE {c} IS NULL", self.n(table)));
                }
                let mut at = |rest: String| out.push(self.alter(table, rest));
                let leaves_serial = from.auto == Some(Auto::Serial) && to.auto != Some(Auto::Serial);
                if leaves_serial || (default_changes && from.default.is_some()) {
                    at(format!("ALTER COLUMN {c} DROP DEFAULT"));
                }
                if matches!(from.auto, Some(Auto::Identity { .. })) && !matches!(to.auto, Some(Auto::Identity { .. })) {
                    at(format!("ALTER COLUMN {c} DROP IDENTITY"));
                }
                if from.ty != to.ty {
                    at(format!("ALTER COLUMN {c} TYPE {t} USING {c}::{t}", t = to.ty));
                }
                if let (true, Some(def)) = (default_changes, &to.default) {
                    at(format!("ALTER COLUMN {c} SET DEFAULT {def}"));
                }
                if from.nullable != to.nullable {
                    at(format!("ALTER COLUMN {c} {} NOT NULL", if to.nullable { "DROP" } else { "SET" }));
                }
                match (from.auto, to.auto) {
                    (Some(Auto::Identity { always: a }), Some(Auto::Identity { always: b })) if a != b => {
                        at(format!("ALTER COLUMN {c} SET GENERATED {}", if b { "ALWAYS" } else { "BY DEFAULT" }))
                    }
                    (f, Some(Auto::Identity { always })) if !matches!(f, Some(Auto::Identity { .. })) => at(format!(
                        "ALTER COLUMN {c} ADD GENERATED {} AS IDENTITY",
                        if always { "ALWAYS" } else { "BY DEFAULT" }
                    )),
                    _ => {}
                }
                if to.auto == Some(Auto::Serial) && from.auto != Some(Auto::Serial) {
                    let seq = self.sibling(table, &format!("{}_{}_seq", table.name, to.name));
                    out.push(format!("CREATE SEQUENCE {seq} AS {} OWNED BY {}.{c}", to.ty, self.n(table)));
                    out.push(self.alter(table, format!("ALTER COLUMN {c} SET DEFAULT nextval('{seq}')")));
                }
                if from.auto == Some(Auto::Serial) && to.auto != Some(Auto::Serial) {
                    let seq = self.sibling(table, &format!("{}_{}_seq", table.name, from.name));
                    out.push(format!("DROP SEQUENCE {seq}"));
                }
                out
            }
            // SQLite alters columns by rebuilding the table; the differ never asks for this.
            Dialect::Sqlite => Vec::new(),
        }
    }

    /// SQLite's table rebuild: the new shape under a temporary name, the rows copied across for
    /// the columns both have, the old table dropped, the new one renamed, its indexes and
    /// triggers recreated.
    fn rebuild(&self, from: &Table, to: &Table) -> Vec<String> {
        let temp = format!("{}__rebuild", to.name.name);
        let mut out = vec![self.create_table(to, &self.q(&temp))];
        let copied: Vec<String> = to
            .columns
            .iter()
            .filter(|c| c.generated.is_none())
            .filter(|c| from.column(&c.name).is_some_and(|old| old.generated.is_none()))
            .map(|c| c.name.clone())
            .collect();
        if !copied.is_empty() {
            // A column that becomes NOT NULL takes its default where it held NULL.
            let values: Vec<String> = copied
                .iter()
                .map(|name| {
                    let (old, new) = (from.column(name), to.column(name));
                    match (old, new) {
                        (Some(o), Some(n)) if o.nullable && !n.nullable && n.default.is_some() => format!(
                            "COALESCE({}, {})",
                            self.q(name),
                            self.default(n.default.as_deref().unwrap_or_default())
                        ),
                        _ => self.q(name),
                    }
                })
                .collect();
            out.push(format!(
                "INSERT INTO {} ({}) SELECT {} FROM {}",
                self.q(&temp),
                self.cols(&copied),
                values.join(", "),
                self.n(&from.name)
            ));
        }
        out.push(format!("DROP TABLE {}", self.n(&from.name)));
        out.push(format!("ALTER TABLE {} RENAME TO {}", self.q(&temp), self.q(&to.name.name)));
        for i in &to.indexes {
            out.push(self.create_index(&to.name, i));
        }
        for t in &to.triggers {
            out.push(t.sql.clone());
        }
        out
    }
}

/// A sequence's options; MariaDB's spelling has no type and says `NOCYCLE`.
fn sequence(s: &Sequence, d: Dialect) -> String {
    let body = format!("INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {}", s.increment, s.min, s.max, s.start);
    match d {
        Dialect::MySql => format!("{body} {}", if s.cycle { "CYCLE" } else { "NOCYCLE" }),
        _ => format!("AS {} {body} {}", s.ty, if s.cycle { "CYCLE" } else { "NO CYCLE" }),
    }
}
