//! The three SQL dialects and how each quotes identifiers and literal values.

use std::fmt;

/// A database's SQL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL (and engines that speak its protocol).
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

impl Dialect {
    /// The dialect a database URL names by its scheme: `sqlite:`, `postgres://` or
    /// `postgresql://`, `mysql://` or `mariadb://`. `None` for anything else.
    ///
    /// ```
    /// use migrate_core::sql::Dialect;
    /// assert_eq!(Dialect::from_url("postgresql://u@h/db"), Some(Dialect::Postgres));
    /// assert_eq!(Dialect::from_url("sqlite::memory:"), Some(Dialect::Sqlite));
    /// assert_eq!(Dialect::from_url("mariadb://root@127.0.0.1/test"), Some(Dialect::MySql));
    /// assert_eq!(Dialect::from_url("oracle://x"), None);
    /// ```
    pub fn from_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            "mysql" | "mariadb" => Some(Self::MySql),
            _ => None,
        }
    }

    /// The dialect's name as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::MySql => "MySQL",
        }
    }

    /// Whether DDL runs inside transactions (false for MySQL, which commits DDL implicitly).
    pub fn transactional_ddl(self) -> bool {
        !matches!(self, Self::MySql)
    }

    /// Quotes an identifier (a table or schema name), doubling the quote character inside it.
    ///
    /// ```
    /// use migrate_core::sql::Dialect;
    /// assert_eq!(Dialect::Postgres.quote_ident(r#"a"b"#), r#""a""b""#);
    /// assert_eq!(Dialect::MySql.quote_ident("a`b"), "`a``b`");
    /// ```
    pub fn quote_ident(self, ident: &str) -> String {
        let q = if self == Self::MySql { '`' } else { '"' };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars().filter(|&c| c != '\0') {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// Quotes a text value as a literal that means the same whatever the session's settings
    /// (`standard_conforming_strings` on PostgreSQL, `NO_BACKSLASH_ESCAPES` on MySQL).
    ///
    /// ```
    /// use migrate_core::sql::Dialect;
    /// assert_eq!(Dialect::Sqlite.quote_str("it's"), "'it''s'");
    /// assert_eq!(Dialect::Postgres.quote_str(r"a\b"), r"E'a\\b'");
    /// assert_eq!(Dialect::MySql.quote_str(r"a\b"), "CONVERT(X'615C62' USING utf8mb4)");
    /// ```
    pub fn quote_str(self, value: &str) -> String {
        // The common case (no quote, backslash or NUL) is one allocation and one copy: this
        // runs for every value of every bookkeeping row.
        if !value.bytes().any(|b| matches!(b, b'\'' | b'\\' | b'\0')) {
            let mut out = String::with_capacity(value.len() + 2);
            out.push('\'');
            out.push_str(value);
            out.push('\'');
            return out;
        }
        let value: String = value.chars().filter(|&c| c != '\0').collect();
        let has_backslash = value.contains('\\');
        match self {
            Self::MySql if has_backslash => {
                let mut out = String::from("CONVERT(X'");
                for b in value.bytes() {
                    out.push_str(&format!("{b:02X}"));
                }
                out.push_str("' USING utf8mb4)");
                out
            }
            Self::Postgres if has_backslash => {
                format!("E'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
            }
            _ => format!("'{}'", value.replace('\'', "''")),
        }
    }

    /// An optional text value: the quoted literal, or `NULL`.
    pub fn quote_opt(self, value: Option<&str>) -> String {
        value.map_or_else(|| "NULL".to_owned(), |v| self.quote_str(v))
    }

    /// The statement that opens a transaction. SQLite's takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers never deadlock.
    pub fn begin(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
            Self::MySql => "START TRANSACTION",
        }
    }

    /// The statement that commits a transaction.
    pub fn commit(self) -> &'static str {
        "COMMIT"
    }

    /// The statement that rolls a transaction back.
    pub fn rollback(self) -> &'static str {
        "ROLLBACK"
    }

    /// An expression for the current time in UTC, as stored in `applied_at`.
    pub(crate) fn now(self) -> &'static str {
        match self {
            Self::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Self::Postgres => "statement_timestamp()",
            Self::MySql => "UTC_TIMESTAMP(6)",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(Dialect::from_url("sqlite:app.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("sqlite://app.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("POSTGRES://x"), Some(Dialect::Postgres));
        assert_eq!(Dialect::from_url("mysql://x"), Some(Dialect::MySql));
        assert_eq!(Dialect::from_url("app.db"), None);
    }

    #[test]
    fn literals_survive_hostile_text() {
        assert_eq!(Dialect::Postgres.quote_str("O'Brien"), "'O''Brien'");
        assert_eq!(Dialect::Postgres.quote_str("a\\'b"), "E'a\\\\''b'");
        assert_eq!(Dialect::MySql.quote_str("x'y"), "'x''y'");
        assert_eq!(Dialect::Sqlite.quote_str("a\\b\0"), "'a\\b'");
        assert_eq!(Dialect::Postgres.quote_str("a\0b"), "'ab'");
        assert_eq!(Dialect::MySql.quote_str("plain text"), "'plain text'");
        assert_eq!(Dialect::Sqlite.quote_ident("t\"x"), "\"t\"\"x\"");
        assert_eq!(Dialect::MySql.quote_opt(None), "NULL");
    }
}
