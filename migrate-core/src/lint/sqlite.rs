//! SQLite rules of our own: the `ALTER`s SQLite does not have (they fail at run time; the table
//! rebuild is the way), columns added in a way SQLite refuses, and pragmas that do nothing in a
//! transaction.

use sqlparser::ast::{AlterTableOperation, ColumnOption, Statement};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

use super::{Hit, Severity};
use crate::Migration;
use crate::sql::Statement as Piece;

const REBUILD: &str = "rebuild the table: create the new one, copy the rows, drop the old, rename (`cargo migrate new --autogenerate` writes it from schema.sql)";

pub(super) fn lint(m: &Migration, statements: &[Piece]) -> Vec<Hit> {
    let mut hits = Vec::new();
    for s in statements {
        let upper = s.sql.to_ascii_uppercase();
        if m.transaction && upper.starts_with("PRAGMA") && upper.contains("FOREIGN_KEYS") && upper.contains('=') {
            hits.push(Hit::new(
                s.line,
                "sqlite-pragma-in-transaction",
                Severity::Warning,
                "PRAGMA foreign_keys does nothing inside a transaction, and this revision runs in one",
                "add `-- transaction: false` to the revision's header",
            ));
        }
        let Ok(parsed) = Parser::parse_sql(&SQLiteDialect {}, &s.sql) else {
            if upper.starts_with("ALTER TABLE") && (upper.contains(" ALTER COLUMN ") || upper.contains(" MODIFY ")) {
                hits.push(unsupported(s.line, "changes a column"));
            }
            continue;
        };
        for statement in parsed {
            let Statement::AlterTable(alter) = statement else { continue };
            for op in &alter.operations {
                match op {
                    AlterTableOperation::AlterColumn { .. }
                    | AlterTableOperation::ModifyColumn { .. }
                    | AlterTableOperation::ChangeColumn { .. } => hits.push(unsupported(s.line, "changes a column")),
                    AlterTableOperation::AddConstraint { .. } => hits.push(unsupported(s.line, "adds a constraint")),
                    AlterTableOperation::DropConstraint { .. } => hits.push(unsupported(s.line, "drops a constraint")),
                    AlterTableOperation::DropPrimaryKey { .. } => {
                        hits.push(unsupported(s.line, "drops the primary key"))
                    }
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        let options: Vec<&ColumnOption> = column_def.options.iter().map(|o| &o.option).collect();
                        let not_null = options.iter().any(|o| matches!(o, ColumnOption::NotNull));
                        let default = options.iter().find_map(|o| match o {
                            ColumnOption::Default(e) => Some(e.to_string()),
                            _ => None,
                        });
                        let keyed =
                            options.iter().any(|o| matches!(o, ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_)));
                        if not_null && default.is_none() {
                            hits.push(Hit::new(
                                s.line,
                                "sqlite-add-column-not-null",
                                Severity::Error,
                                "adds a NOT NULL column without a default, which SQLite refuses",
                                "give it a default, or add it nullable, fill it, and rebuild the table to make it NOT NULL",
                            ));
                        }
                        let volatile = default.as_deref().is_some_and(|d| {
                            let d = d.to_ascii_uppercase();
                            d.starts_with("CURRENT_") || d.starts_with('(')
                        });
                        if keyed || volatile {
                            hits.push(Hit::new(
                                s.line,
                                "sqlite-add-column-unsupported",
                                Severity::Error,
                                "adds a column SQLite cannot add with ALTER TABLE (a key, or a non-constant default)",
                                REBUILD,
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    hits
}

fn unsupported(line: u32, what: &str) -> Hit {
    Hit::new(
        line,
        "sqlite-needs-rebuild",
        Severity::Error,
        format!("{what}, which SQLite's ALTER TABLE cannot do: it fails at run time"),
        REBUILD,
    )
}
