//! The difference between two schemas as changes in an order the database accepts: views and
//! foreign keys come down before what they depend on changes and go back up after it; tables are
//! created before their indexes and foreign keys and dropped after what references them.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{Check, Column, ForeignKey, Index, Key, Name, Schema, Sequence, Table, Trigger, View};
use crate::sql::Dialect;

/// One change to a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // a few changes per revision; boxing buys nothing
pub enum Change {
    /// `CREATE SCHEMA` (PostgreSQL).
    CreateSchema(String),
    /// `DROP SCHEMA` (PostgreSQL).
    DropSchema(String),
    /// `CREATE TYPE … AS ENUM` (PostgreSQL).
    CreateEnum(Name, Vec<String>),
    /// `DROP TYPE` (PostgreSQL).
    DropEnum(Name, Vec<String>),
    /// `ALTER TYPE … ADD VALUE` (PostgreSQL).
    AddEnumValue {
        /// The enum.
        name: Name,
        /// The new label.
        value: String,
        /// The label it goes before (`None`: at the end).
        before: Option<String>,
    },
    /// An enum whose labels were removed or reordered, rebuilt under the same name, with the
    /// columns that use it converted through text (PostgreSQL).
    RecreateEnum {
        /// The enum.
        name: Name,
        /// Its labels now.
        from: Vec<String>,
        /// Its labels after.
        to: Vec<String>,
        /// The columns of that type: table, column, default to restore.
        columns: Vec<(Name, String, Option<String>)>,
    },
    /// `CREATE SEQUENCE` (PostgreSQL).
    CreateSequence(Name, Sequence),
    /// `ALTER SEQUENCE` (PostgreSQL).
    AlterSequence(Name, Sequence),
    /// `DROP SEQUENCE` (PostgreSQL).
    DropSequence(Name, Sequence),
    /// `CREATE TABLE` with its columns, keys and checks (and, on SQLite, its foreign keys).
    CreateTable(Table),
    /// `DROP TABLE`.
    DropTable(Table),
    /// `ADD COLUMN`.
    AddColumn(Name, Column),
    /// `DROP COLUMN`.
    DropColumn(Name, Column),
    /// A column's type, nullability, default or numbering changed.
    AlterColumn {
        /// The table.
        table: Name,
        /// The column now.
        from: Column,
        /// The column after.
        to: Column,
    },
    /// SQLite's table rebuild: create the new table, copy the rows, drop the old one, rename,
    /// recreate indexes and triggers.
    RebuildTable {
        /// The table now.
        from: Table,
        /// The table after.
        to: Table,
    },
    /// Add a primary key.
    AddPrimaryKey(Name, Key),
    /// Drop a primary key.
    DropPrimaryKey(Name, Key),
    /// Add a unique constraint.
    AddUnique(Name, Key),
    /// Drop a unique constraint.
    DropUnique(Name, Key),
    /// Add a check constraint.
    AddCheck(Name, Check),
    /// Drop a check constraint.
    DropCheck(Name, Check),
    /// Add a foreign key.
    AddForeignKey(Name, ForeignKey),
    /// Drop a foreign key.
    DropForeignKey(Name, ForeignKey),
    /// `CREATE INDEX`.
    CreateIndex(Name, Index),
    /// `DROP INDEX`.
    DropIndex(Name, Index),
    /// `CREATE VIEW`.
    CreateView(View),
    /// `DROP VIEW`.
    DropView(View),
    /// `CREATE TRIGGER` (SQLite).
    CreateTrigger(Name, Trigger),
    /// `DROP TRIGGER` (SQLite).
    DropTrigger(Name, Trigger),
}

impl Change {
    /// The difference this change repairs, said of the schema it leads to: what that schema
    /// has that the other one lacks (`missing`), what it does not have (`extra`), and what
    /// differs.
    pub fn describe(&self) -> String {
        let of = |t: &Name| format!(" on {t}");
        match self {
            Change::CreateSchema(s) => format!("schema {s}: missing"),
            Change::DropSchema(s) => format!("schema {s}: extra"),
            Change::CreateEnum(n, _) => format!("type {n}: missing"),
            Change::DropEnum(n, _) => format!("type {n}: extra"),
            Change::AddEnumValue { name, value, .. } => format!("type {name}: label '{value}' missing"),
            Change::RecreateEnum { name, from, to, .. } => {
                format!("type {name}: labels are ({}), expected ({})", from.join(", "), to.join(", "))
            }
            Change::CreateSequence(n, _) => format!("sequence {n}: missing"),
            Change::AlterSequence(n, _) => format!("sequence {n}: differs"),
            Change::DropSequence(n, _) => format!("sequence {n}: extra"),
            Change::CreateTable(t) => format!("table {}: missing", t.name),
            Change::DropTable(t) => format!("table {}: extra", t.name),
            Change::AddColumn(t, c) => format!("column {t}.{}: missing", c.name),
            Change::DropColumn(t, c) => format!("column {t}.{}: extra", c.name),
            Change::AlterColumn { table, from, to } => {
                format!("column {table}.{}: is {}, expected {}", to.name, column_summary(from), column_summary(to))
            }
            Change::RebuildTable { from, to } => {
                let t = &to.name;
                let mut parts = Vec::new();
                for c in &to.columns {
                    match from.column(&c.name) {
                        None => parts.push(format!("column {t}.{}: missing", c.name)),
                        Some(old) if old != c => parts.push(format!(
                            "column {t}.{}: is {}, expected {}",
                            c.name,
                            column_summary(old),
                            column_summary(c)
                        )),
                        Some(_) => {}
                    }
                }
                for c in from.columns.iter().filter(|c| to.column(&c.name).is_none()) {
                    parts.push(format!("column {t}.{}: extra", c.name));
                }
                if from.primary_key != to.primary_key {
                    parts.push(format!("table {t}: primary key differs"));
                }
                if sorted(&from.uniques) != sorted(&to.uniques) || sorted(&from.checks) != sorted(&to.checks) {
                    parts.push(format!("table {t}: unique or check constraints differ"));
                }
                if sorted(&from.foreign_keys) != sorted(&to.foreign_keys) {
                    parts.push(format!("table {t}: foreign keys differ"));
                }
                parts.join("; ")
            }
            Change::AddPrimaryKey(t, k) => format!("primary key ({}){}: missing", k.columns.join(", "), of(t)),
            Change::DropPrimaryKey(t, k) => format!("primary key ({}){}: extra", k.columns.join(", "), of(t)),
            Change::AddUnique(t, k) => format!("unique ({}){}: missing", k.columns.join(", "), of(t)),
            Change::DropUnique(t, k) => format!("unique ({}){}: extra", k.columns.join(", "), of(t)),
            Change::AddCheck(t, c) => format!("check {}{}: missing", c.name.as_deref().unwrap_or(&c.expr), of(t)),
            Change::DropCheck(t, c) => format!("check {}{}: extra", c.name.as_deref().unwrap_or(&c.expr), of(t)),
            Change::AddForeignKey(t, fk) => {
                format!("foreign key ({}) → {}{}: missing", fk.columns.join(", "), fk.ref_table, of(t))
            }
            Change::DropForeignKey(t, fk) => {
                format!("foreign key ({}) → {}{}: extra", fk.columns.join(", "), fk.ref_table, of(t))
            }
            Change::CreateIndex(t, i) => format!("index {}{}: missing", i.name, of(t)),
            Change::DropIndex(t, i) => format!("index {}{}: extra", i.name, of(t)),
            Change::CreateView(v) => format!("view {}: missing", v.name),
            Change::DropView(v) => format!("view {}: extra", v.name),
            Change::CreateTrigger(t, tr) => format!("trigger {}{}: missing", tr.name, of(t)),
            Change::DropTrigger(t, tr) => format!("trigger {}{}: extra", tr.name, of(t)),
        }
    }

    /// Why the change loses data, when it can.
    pub fn destructive(&self) -> Option<String> {
        match self {
            Change::DropTable(t) => Some(format!("drops table {} and every row in it", t.name)),
            Change::DropColumn(t, c) => Some(format!("drops column {t}.{} and its values", c.name)),
            Change::AlterColumn { table, from, to } if from.ty != to.ty && from.generated.is_none() => Some(format!(
                "changes the type of {table}.{} from {} to {}; values that do not fit are lost or refused",
                from.name, from.ty, to.ty
            )),
            Change::RebuildTable { from, to } => {
                let lost: Vec<&str> =
                    from.columns.iter().filter(|c| to.column(&c.name).is_none()).map(|c| c.name.as_str()).collect();
                (!lost.is_empty()).then(|| format!("rebuilds {} without column(s) {}", from.name, lost.join(", ")))
            }
            Change::DropEnum(n, _) => Some(format!("drops type {n}")),
            Change::RecreateEnum { name, from, to, .. } => {
                let gone: Vec<&str> = from.iter().filter(|l| !to.contains(l)).map(String::as_str).collect();
                (!gone.is_empty())
                    .then(|| format!("removes label(s) {} from {name}; rows holding them fail", gone.join(", ")))
            }
            Change::DropSequence(n, _) => Some(format!("drops sequence {n} and its position")),
            _ => None,
        }
    }
}

/// The changes that turn one schema into another, with notes for the author (changes that look
/// like renames), ready to render as SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// The dialect to render.
    pub dialect: Dialect,
    /// The changes, in the order they must run.
    pub changes: Vec<Change>,
    /// What the author should check: a drop and an add that look like a rename, a column made
    /// NOT NULL that rows may hold NULL in.
    pub notes: Vec<String>,
    /// Tables that other tables reference (a SQLite rebuild of one needs foreign keys off).
    pub(crate) referenced: BTreeSet<Name>,
}

impl Changes {
    /// What differs, one line per change (see [`Change::describe`]). Changes that only bring
    /// down and put back something another change touches (a view over an altered table) are
    /// left out.
    pub fn differences(&self) -> Vec<String> {
        // A view, foreign key or index dropped and created unchanged is only making way.
        let makes_way = |c: &Change| {
            self.changes.iter().any(|other| match (c, other) {
                (Change::DropView(a), Change::CreateView(b)) | (Change::CreateView(a), Change::DropView(b)) => a == b,
                (Change::DropForeignKey(t, a), Change::AddForeignKey(u, b))
                | (Change::AddForeignKey(t, a), Change::DropForeignKey(u, b)) => t == u && a == b,
                (Change::DropIndex(t, a), Change::CreateIndex(u, b))
                | (Change::CreateIndex(t, a), Change::DropIndex(u, b)) => t == u && a == b,
                _ => false,
            })
        };
        self.changes.iter().filter(|c| !makes_way(c)).map(Change::describe).collect()
    }

    /// Whether the schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether the SQL must run outside one transaction: a SQLite rebuild of a table other
    /// tables reference turns foreign keys off around its own transaction, and foreign keys
    /// cannot be turned off inside one.
    pub fn needs_autocommit(&self) -> bool {
        self.dialect == Dialect::Sqlite
            && self
                .changes
                .iter()
                .any(|c| matches!(c, Change::RebuildTable { from, .. } if self.referenced.contains(&from.name)))
    }
}

/// Turns schema `a` into schema `b`: the changes in a safe order, rendered for `b`'s dialect.
pub fn diff(a: &Schema, b: &Schema) -> Changes {
    Differ::new(a, b).run()
}

struct Differ<'s> {
    a: &'s Schema,
    b: &'s Schema,
    d: Dialect,
    out: Vec<Change>,
    notes: Vec<String>,
}

/// What happens to a table kept by both schemas.
#[derive(Default)]
struct TablePlan {
    added: Vec<Column>,
    dropped: Vec<Column>,
    altered: Vec<(Column, Column)>,
    rebuild: bool,
}

impl TablePlan {
    /// Whether views over the table must be recreated around the change.
    fn touches_views(&self) -> bool {
        self.rebuild || !self.dropped.is_empty() || !self.altered.is_empty()
    }
}

impl<'s> Differ<'s> {
    fn new(a: &'s Schema, b: &'s Schema) -> Self {
        Self { a, b, d: b.dialect, out: Vec::new(), notes: Vec::new() }
    }

    fn run(mut self) -> Changes {
        let (a, b, d) = (self.a, self.b, self.d);
        let kept: Vec<&Name> = a.tables.keys().filter(|n| b.tables.contains_key(*n)).collect();
        let plans: BTreeMap<&Name, TablePlan> =
            kept.iter().map(|n| (*n, self.plan_table(&a.tables[*n], &b.tables[*n]))).collect();
        let dropped_tables: Vec<&Table> = a.tables.values().filter(|t| !b.tables.contains_key(&t.name)).collect();
        let created_tables: Vec<&Table> = b.tables.values().filter(|t| !a.tables.contains_key(&t.name)).collect();
        self.rename_notes(&dropped_tables, &created_tables, &plans);

        // Views that must come down: gone, changed, or over something that changes shape.
        let mut shaken: BTreeSet<String> = dropped_tables.iter().map(|t| t.name.name.clone()).collect();
        shaken.extend(plans.iter().filter(|(_, p)| p.touches_views()).map(|(n, _)| n.name.clone()));
        let mut views_down: BTreeSet<&Name> = BTreeSet::new();
        loop {
            let before = views_down.len();
            for v in a.views.values() {
                let changed = b.views.get(&v.name) != Some(v);
                if changed || mentions_any(&v.definition, &shaken) {
                    views_down.insert(&v.name);
                    shaken.insert(v.name.name.clone());
                }
            }
            if views_down.len() == before {
                break;
            }
        }
        let down: Vec<&View> = views_down.iter().map(|n| &a.views[*n]).collect();
        for v in order_views(&down).into_iter().rev() {
            self.out.push(Change::DropView(v.clone()));
        }

        // Foreign keys that must come down: gone or changed, on tables dropped, or over columns
        // that change.
        let changing_cols = |t: &Name| -> BTreeSet<String> {
            plans.get(t).map_or_else(BTreeSet::new, |p| {
                p.altered.iter().map(|(c, _)| c.name.clone()).chain(p.dropped.iter().map(|c| c.name.clone())).collect()
            })
        };
        let mut fks_down: BTreeSet<(Name, ForeignKey)> = BTreeSet::new();
        if d != Dialect::Sqlite {
            for t in a.tables.values() {
                let kept_t = b.tables.get(&t.name);
                for fk in &t.foreign_keys {
                    let same = kept_t.is_some_and(|bt| bt.foreign_keys.contains(fk));
                    let ref_gone = !b.tables.contains_key(&fk.ref_table);
                    let over_change = fk.columns.iter().any(|c| changing_cols(&t.name).contains(c))
                        || fk.ref_columns.iter().any(|c| changing_cols(&fk.ref_table).contains(c));
                    if !same || ref_gone || over_change || kept_t.is_none() {
                        fks_down.insert((t.name.clone(), fk.clone()));
                    }
                }
            }
            for (t, fk) in &fks_down {
                self.out.push(Change::DropForeignKey(t.clone(), fk.clone()));
            }
        }

        // Indexes and constraints that come down, on kept tables not rebuilt.
        for n in &kept {
            let (ta, tb, plan) = (&a.tables[*n], &b.tables[*n], &plans[*n]);
            if plan.rebuild {
                continue;
            }
            let over = |cols: &[String]| cols.iter().any(|c| changing_cols(n).contains(c));
            for i in &ta.indexes {
                if !tb.indexes.contains(i) || (d == Dialect::MySql && over(&i.parts)) {
                    self.out.push(Change::DropIndex((*n).clone(), i.clone()));
                }
            }
            for u in &ta.uniques {
                if !tb.uniques.contains(u) {
                    self.out.push(Change::DropUnique((*n).clone(), u.clone()));
                }
            }
            for c in &ta.checks {
                if !tb.checks.contains(c) {
                    self.out.push(Change::DropCheck((*n).clone(), c.clone()));
                }
            }
            if let (true, Some(pk)) = (ta.primary_key != tb.primary_key, &ta.primary_key) {
                self.out.push(Change::DropPrimaryKey((*n).clone(), pk.clone()));
            }
            for t in &ta.triggers {
                if !tb.triggers.contains(t) {
                    self.out.push(Change::DropTrigger((*n).clone(), t.clone()));
                }
            }
        }

        // New schemas, types and sequences, before the tables that use them.
        for s in b.namespaces.difference(&a.namespaces) {
            self.out.push(Change::CreateSchema(s.clone()));
        }
        for (n, labels) in &b.enums {
            match a.enums.get(n) {
                None => self.out.push(Change::CreateEnum(n.clone(), labels.clone())),
                Some(old) if old == labels => {}
                Some(old) => self.enum_change(n, old, labels),
            }
        }
        for (n, s) in &b.sequences {
            match a.sequences.get(n) {
                None => self.out.push(Change::CreateSequence(n.clone(), s.clone())),
                Some(old) if old == s => {}
                Some(_) => self.out.push(Change::AlterSequence(n.clone(), s.clone())),
            }
        }

        // Tables.
        for t in &created_tables {
            self.out.push(Change::CreateTable((*t).clone()));
        }
        for n in &kept {
            let (ta, tb, plan) = (&a.tables[*n], &b.tables[*n], &plans[*n]);
            if plan.rebuild {
                self.out.push(Change::RebuildTable { from: ta.clone(), to: tb.clone() });
                continue;
            }
            for c in &plan.added {
                self.out.push(Change::AddColumn((*n).clone(), c.clone()));
            }
            for (from, to) in &plan.altered {
                if from.generated != to.generated {
                    // A computed column is replaced, not altered.
                    self.out.push(Change::DropColumn((*n).clone(), from.clone()));
                    self.out.push(Change::AddColumn((*n).clone(), to.clone()));
                } else {
                    self.out.push(Change::AlterColumn { table: (*n).clone(), from: from.clone(), to: to.clone() });
                }
            }
            for c in &plan.dropped {
                self.out.push(Change::DropColumn((*n).clone(), c.clone()));
            }
        }
        for t in order_tables_for_drop(&dropped_tables) {
            self.out.push(Change::DropTable(t.clone()));
        }

        // Keys, checks, indexes and triggers that go up, then foreign keys.
        for n in &kept {
            let (ta, tb, plan) = (&a.tables[*n], &b.tables[*n], &plans[*n]);
            if plan.rebuild {
                continue;
            }
            let over = |cols: &[String]| cols.iter().any(|c| changing_cols(n).contains(c));
            if let (true, Some(pk)) = (ta.primary_key != tb.primary_key, &tb.primary_key) {
                self.out.push(Change::AddPrimaryKey((*n).clone(), pk.clone()));
            }
            for u in &tb.uniques {
                if !ta.uniques.contains(u) {
                    self.out.push(Change::AddUnique((*n).clone(), u.clone()));
                }
            }
            for c in &tb.checks {
                if !ta.checks.contains(c) {
                    self.out.push(Change::AddCheck((*n).clone(), c.clone()));
                }
            }
            for i in &tb.indexes {
                if !ta.indexes.contains(i) || (d == Dialect::MySql && over(&i.parts)) {
                    self.out.push(Change::CreateIndex((*n).clone(), i.clone()));
                }
            }
            for t in &tb.triggers {
                if !ta.triggers.contains(t) {
                    self.out.push(Change::CreateTrigger((*n).clone(), t.clone()));
                }
            }
        }
        for t in &created_tables {
            for i in &t.indexes {
                self.out.push(Change::CreateIndex(t.name.clone(), i.clone()));
            }
            for tr in &t.triggers {
                self.out.push(Change::CreateTrigger(t.name.clone(), tr.clone()));
            }
        }
        if d != Dialect::Sqlite {
            for t in b.tables.values() {
                let old = a.tables.get(&t.name);
                for fk in &t.foreign_keys {
                    let existed = old.is_some_and(|ot| ot.foreign_keys.contains(fk));
                    if !existed || fks_down.contains(&(t.name.clone(), fk.clone())) {
                        self.out.push(Change::AddForeignKey(t.name.clone(), fk.clone()));
                    }
                }
            }
        }

        // Views back up, in dependency order.
        let up: Vec<&View> =
            b.views.values().filter(|v| views_down.contains(&v.name) || !a.views.contains_key(&v.name)).collect();
        for v in order_views(&up) {
            self.out.push(Change::CreateView(v.clone()));
        }

        // What nothing uses any more.
        for (n, s) in &a.sequences {
            if !b.sequences.contains_key(n) {
                self.out.push(Change::DropSequence(n.clone(), s.clone()));
            }
        }
        for (n, labels) in &a.enums {
            if !b.enums.contains_key(n) {
                self.out.push(Change::DropEnum(n.clone(), labels.clone()));
            }
        }
        for s in a.namespaces.difference(&b.namespaces) {
            self.out.push(Change::DropSchema(s.clone()));
        }

        let referenced: BTreeSet<Name> = a
            .tables
            .values()
            .chain(b.tables.values())
            .flat_map(|t| t.foreign_keys.iter().filter(move |fk| fk.ref_table != t.name).map(|fk| fk.ref_table.clone()))
            .collect();
        Changes { dialect: d, changes: self.out, notes: self.notes, referenced }
    }

    fn plan_table(&self, ta: &Table, tb: &Table) -> TablePlan {
        let mut plan = TablePlan::default();
        for c in &tb.columns {
            match ta.column(&c.name) {
                None => plan.added.push(c.clone()),
                Some(old) if old != c => plan.altered.push((old.clone(), c.clone())),
                Some(_) => {}
            }
        }
        plan.dropped = ta.columns.iter().filter(|c| tb.column(&c.name).is_none()).cloned().collect();
        if self.d == Dialect::Sqlite {
            let simple_add = |c: &Column| {
                c.generated.as_ref().is_none_or(|g| !g.stored)
                    && (c.nullable || c.default.as_ref().is_some_and(|d| !is_null(d)))
                    && c.default.as_deref().is_none_or(is_constant)
                    && c.auto.is_none()
            };
            plan.rebuild = !plan.altered.is_empty()
                || !plan.dropped.is_empty()
                || !plan.added.iter().all(simple_add)
                || ta.primary_key != tb.primary_key
                || sorted(&ta.uniques) != sorted(&tb.uniques)
                || sorted(&ta.checks) != sorted(&tb.checks)
                || sorted(&ta.foreign_keys) != sorted(&tb.foreign_keys);
        }
        plan
    }

    fn enum_change(&mut self, n: &Name, old: &[String], new: &[String]) {
        let appended_only =
            new.iter().filter(|l| old.contains(l)).eq(old.iter()) && old.iter().all(|l| new.contains(l));
        if appended_only {
            for (k, label) in new.iter().enumerate() {
                if !old.contains(label) {
                    let before = new[k + 1..].iter().find(|l| old.contains(l)).cloned();
                    self.out.push(Change::AddEnumValue { name: n.clone(), value: label.clone(), before });
                }
            }
            return;
        }
        let columns = self
            .b
            .tables
            .values()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| type_names(&c.ty, n))
                    .map(|c| (t.name.clone(), c.name.clone(), c.default.clone()))
            })
            .collect();
        self.out.push(Change::RecreateEnum { name: n.clone(), from: old.to_vec(), to: new.to_vec(), columns });
    }

    /// Notes on drops and adds that look like renames, which are never guessed.
    fn rename_notes(&mut self, dropped: &[&Table], created: &[&Table], plans: &BTreeMap<&Name, TablePlan>) {
        let shape = |t: &Table| -> BTreeSet<(String, String)> {
            t.columns.iter().map(|c| (c.name.clone(), c.ty.clone())).collect()
        };
        for old in dropped {
            for new in created {
                if shape(old) == shape(new) {
                    self.notes.push(format!(
                        "table {} is dropped and {} created with the same columns: if this is a rename, replace both with `ALTER TABLE {} RENAME TO {}` to keep the rows",
                        old.name,
                        new.name,
                        old.name.quoted(self.d),
                        super::model::quote(self.d, &new.name.name),
                    ));
                }
            }
        }
        for (table, plan) in plans {
            let strict = |c: &Column| !c.nullable && c.default.is_none() && c.generated.is_none() && c.auto.is_none();
            for (from, to) in &plan.altered {
                if from.nullable && strict(to) {
                    self.notes.push(format!(
                        "column {table}.{} becomes NOT NULL without a default: rows holding NULL make this fail; fill them first (`UPDATE … SET {} = … WHERE {} IS NULL`)",
                        to.name, to.name, to.name
                    ));
                }
            }
            for c in plan.added.iter().filter(|c| strict(c)) {
                self.notes.push(format!(
                    "column {table}.{} is added NOT NULL without a default: this fails on a table that has rows; give it a default or add it nullable, fill it, then make it NOT NULL",
                    c.name
                ));
            }
            for old in &plan.dropped {
                for new in plan.added.iter().filter(|c| c.ty == old.ty) {
                    self.notes.push(format!(
                        "column {table}.{} is dropped and {} added with the same type: if this is a rename, replace both with `ALTER TABLE {} RENAME COLUMN {} TO {}` to keep the values",
                        old.name,
                        new.name,
                        table.quoted(self.d),
                        super::model::quote(self.d, &old.name),
                        super::model::quote(self.d, &new.name),
                    ));
                }
            }
        }
    }
}

/// A column's type, nullability and default, in a few words.
fn column_summary(c: &Column) -> String {
    let mut s = c.ty.clone();
    s.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(" AS ({})", g.expr));
    }
    if let Some(a) = c.auto {
        s.push_str(&format!(" {a:?}"));
    }
    s
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Whether a column type names enum `n` (PostgreSQL prints it qualified outside the search path).
fn type_names(ty: &str, n: &Name) -> bool {
    let ty = ty.trim_end_matches("[]");
    ty == n.name || ty == n.to_string() || ty.trim_matches('"') == n.name
}

fn is_null(default: &str) -> bool {
    default.eq_ignore_ascii_case("null")
}

/// Whether a default is a constant SQLite accepts in `ALTER TABLE … ADD COLUMN`.
fn is_constant(default: &str) -> bool {
    let d = default.trim();
    let upper = d.to_ascii_uppercase();
    if upper.starts_with("CURRENT_") || d.starts_with('(') {
        return false;
    }
    d.starts_with('\'')
        || d.parse::<f64>().is_ok()
        || matches!(upper.as_str(), "NULL" | "TRUE" | "FALSE")
        || (d.starts_with('-') && d[1..].trim().parse::<f64>().is_ok())
}

/// Whether `sql` mentions any of `names` as a whole word (case-insensitive), outside nothing:
/// a conservative test of what a view depends on.
pub(crate) fn mentions_any(sql: &str, names: &BTreeSet<String>) -> bool {
    names.iter().any(|n| mentions(sql, n))
}

fn mentions(sql: &str, name: &str) -> bool {
    let hay = sql.to_ascii_lowercase();
    let needle = name.to_ascii_lowercase();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut start = 0;
    while let Some(k) = hay[start..].find(&needle) {
        let at = start + k;
        let end = at + needle.len();
        let before_ok = hay[..at].chars().next_back().is_none_or(|c| !word(c));
        let after_ok = hay[end..].chars().next().is_none_or(|c| !word(c));
        if before_ok && after_ok {
            return true;
        }
        start = at + needle.len().max(1);
    }
    false
}

/// Views ordered so that each comes after the views it mentions.
fn order_views<'v>(views: &[&'v View]) -> Vec<&'v View> {
    let mut left: Vec<&View> = views.to_vec();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let names: BTreeSet<String> = left.iter().map(|v| v.name.name.clone()).collect();
        let ready = left.iter().position(|v| {
            let others: BTreeSet<String> = names.iter().filter(|n| **n != v.name.name).cloned().collect();
            !mentions_any(&v.definition, &others)
        });
        // A cycle of mentions cannot be real dependencies; keep the given order.
        out.push(left.remove(ready.unwrap_or(0)));
    }
    out
}

/// Dropped tables ordered so that a table goes before the tables it references.
fn order_tables_for_drop<'t>(tables: &[&'t Table]) -> Vec<&'t Table> {
    let mut left: Vec<&Table> = tables.to_vec();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready = left.iter().position(|t| {
            !left.iter().any(|o| o.name != t.name && o.foreign_keys.iter().any(|fk| fk.ref_table == t.name))
        });
        out.push(left.remove(ready.unwrap_or(0)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions("SELECT a FROM users", "users"));
        assert!(mentions("select \"users\".a from \"users\"", "USERS"));
        assert!(!mentions("SELECT a FROM users_old", "users"));
        assert!(!mentions("SELECT a FROM my_users", "users"));
    }

    #[test]
    fn constants_are_told_from_expressions() {
        for c in ["0", "-1", "'x'", "NULL", "1.5", "TRUE"] {
            assert!(is_constant(c), "{c}");
        }
        for e in ["CURRENT_TIMESTAMP", "(1+1)", "datetime('now')"] {
            assert!(!is_constant(e), "{e}");
        }
    }
}
