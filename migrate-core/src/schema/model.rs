//! The normalised schema model: tables with their columns, keys, checks, foreign keys, indexes
//! and triggers; views; and PostgreSQL's schemas, enums and sequences.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::sql::Dialect;

/// A schema-qualified name. `schema` is `None` for the default one (PostgreSQL's `public`, the
/// connection's database on MySQL, `main` on SQLite).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// The schema, when not the default one.
    pub schema: Option<String>,
    /// The object's own name.
    pub name: String,
}

impl Name {
    /// A name in the default schema.
    pub fn new(name: impl Into<String>) -> Self {
        Self { schema: None, name: name.into() }
    }

    /// The name quoted for `dialect`, qualified when not in the default schema.
    pub fn quoted(&self, dialect: Dialect) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", quote(dialect, s), quote(dialect, &self.name)),
            None => quote(dialect, &self.name),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// An identifier quoted only when it has to be: anything but a plain lower-case word, and
/// words that are SQL keywords.
pub(crate) fn quote(dialect: Dialect, ident: &str) -> String {
    let plain = ident.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&ident.to_ascii_uppercase().as_str());
    if plain { ident.to_owned() } else { dialect.quote_ident(ident) }
}

/// Words that must be quoted as identifiers in at least one of the three dialects.
const RESERVED: &[&str] = &[
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CHECK",
    "COLUMN",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXISTS",
    "FALSE",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "GRANT",
    "GROUP",
    "HAVING",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "KEYS",
    "LEFT",
    "LIKE",
    "LIMIT",
    "NATURAL",
    "NOT",
    "NULL",
    "OF",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "PRIMARY",
    "REFERENCES",
    "RIGHT",
    "ROW",
    "ROWS",
    "SELECT",
    "SET",
    "TABLE",
    "THEN",
    "TO",
    "TRUE",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USER",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WITH",
];

/// A database's schema, as its catalogue describes it. The migration history and log tables
/// are never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// The dialect it was read from (and whose spelling its expressions use).
    pub dialect: Dialect,
    /// PostgreSQL schemas other than `public`.
    pub namespaces: BTreeSet<String>,
    /// PostgreSQL enum types with their labels in order.
    pub enums: BTreeMap<Name, Vec<String>>,
    /// PostgreSQL sequences that no column owns (those of `serial` and identity columns belong
    /// to their column).
    pub sequences: BTreeMap<Name, Sequence>,
    /// Tables by name.
    pub tables: BTreeMap<Name, Table>,
    /// Views by name.
    pub views: BTreeMap<Name, View>,
}

impl Schema {
    /// An empty schema of `dialect`.
    pub fn empty(dialect: Dialect) -> Self {
        Self {
            dialect,
            namespaces: BTreeSet::new(),
            enums: BTreeMap::new(),
            sequences: BTreeMap::new(),
            tables: BTreeMap::new(),
            views: BTreeMap::new(),
        }
    }

    /// Whether the schema has no object at all.
    pub fn is_empty(&self) -> bool {
        self.namespaces.is_empty()
            && self.enums.is_empty()
            && self.sequences.is_empty()
            && self.tables.is_empty()
            && self.views.is_empty()
    }

    /// The same schema in an order-free form: columns sorted by name, constraints and indexes
    /// sorted. Two schemas that differ only in column order are equal after this.
    pub fn normalized(&self) -> Self {
        let mut s = self.clone();
        for t in s.tables.values_mut() {
            t.normalize();
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
        s
    }

    /// The schema as the DDL that creates it, one statement per entry, in dependency order.
    pub fn to_sql(&self) -> Vec<String> {
        super::diff(&Schema::empty(self.dialect), self).up()
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: Name,
    /// Columns in the table's order.
    pub columns: Vec<Column>,
    /// The primary key.
    pub primary_key: Option<Key>,
    /// Unique constraints (on MySQL, unique keys are indexes and listed there instead).
    pub uniques: Vec<Key>,
    /// Check constraints.
    pub checks: Vec<Check>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes that are not a constraint's own.
    pub indexes: Vec<Index>,
    /// Triggers (read on SQLite, where rebuilding a table must recreate them).
    pub triggers: Vec<Trigger>,
}

impl Table {
    /// An empty table named `name`.
    pub fn new(name: Name) -> Self {
        Self {
            name,
            columns: Vec::new(),
            primary_key: None,
            uniques: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            triggers: Vec::new(),
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Sorts what the catalogue lists in no meaningful order (columns keep theirs).
    pub(crate) fn normalize(&mut self) {
        self.uniques.sort();
        self.checks.sort();
        self.foreign_keys.sort();
        self.indexes.sort();
        self.triggers.sort();
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type, as the database spells it (`character varying(20)`, `int(11)`, `TEXT`).
    pub ty: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default expression, as the database spells it.
    pub default: Option<String>,
    /// How its values are generated by the database, if they are.
    pub auto: Option<Auto>,
    /// A generated (computed) column's expression.
    pub generated: Option<Generated>,
}

/// Values a database numbers itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Auto {
    /// PostgreSQL `GENERATED { ALWAYS | BY DEFAULT } AS IDENTITY`.
    Identity {
        /// `ALWAYS` rather than `BY DEFAULT`.
        always: bool,
    },
    /// PostgreSQL `serial` (a sequence owned by the column, as its default).
    Serial,
    /// MySQL `AUTO_INCREMENT`, SQLite `AUTOINCREMENT`.
    AutoIncrement,
}

/// A generated column's expression.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Generated {
    /// The expression.
    pub expr: String,
    /// Stored rather than computed on read.
    pub stored: bool,
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The constraint's name (`None` where the database keeps none: SQLite).
    pub name: Option<String>,
    /// Its columns in order.
    pub columns: Vec<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    /// The constraint's name (`None` where the database keeps none).
    pub name: Option<String>,
    /// The condition, as the database spells it.
    pub expr: String,
}

/// What a foreign key does when the row it references changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FkAction {
    /// `NO ACTION` (the default).
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl FkAction {
    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            Self::NoAction => "NO ACTION",
            Self::Restrict => "RESTRICT",
            Self::Cascade => "CASCADE",
            Self::SetNull => "SET NULL",
            Self::SetDefault => "SET DEFAULT",
        }
    }

    /// Parses the SQL words (any case), or a PostgreSQL catalogue letter.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "NO ACTION" | "A" => Self::NoAction,
            "RESTRICT" | "R" => Self::Restrict,
            "CASCADE" | "C" => Self::Cascade,
            "SET NULL" | "N" => Self::SetNull,
            "SET DEFAULT" | "D" => Self::SetDefault,
            _ => return None,
        })
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    /// The constraint's name (`None` where the database keeps none: SQLite).
    pub name: Option<String>,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: Name,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON UPDATE`.
    pub on_update: FkAction,
    /// `ON DELETE`.
    pub on_delete: FkAction,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Whether it is unique.
    pub unique: bool,
    /// Its key parts: column names, or expressions, with any ordering or prefix length.
    pub parts: Vec<String>,
    /// The access method where it is not the default (`gin`, `FULLTEXT`, …).
    pub method: Option<String>,
    /// A partial index's condition.
    pub predicate: Option<String>,
    /// The database's own statement for it, where it keeps one (PostgreSQL, SQLite).
    pub definition: Option<String>,
}

/// A view.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct View {
    /// Its name.
    pub name: Name,
    /// The query, as the database spells it.
    pub definition: String,
    /// A PostgreSQL materialized view.
    pub materialized: bool,
}

/// A SQLite trigger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Trigger {
    /// Its name.
    pub name: String,
    /// Its `CREATE TRIGGER` statement.
    pub sql: String,
}

/// A PostgreSQL sequence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sequence {
    /// Its type (`bigint`, `integer`, `smallint`).
    pub ty: String,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min: i64,
    /// `MAXVALUE`.
    pub max: i64,
    /// `CYCLE`.
    pub cycle: bool,
}
