//! MySQL/MariaDB rules of our own, on `sqlparser`'s reading of each statement: `ALTER`s that copy
//! the table, and DDL mixed with data changes in one revision (MySQL commits DDL implicitly, so
//! such a revision is not atomic).

use sqlparser::ast::{AlterTableOperation, Statement};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::{Hit, Severity};
use crate::Migration;
use crate::sql::Statement as Piece;

pub(super) fn lint(m: &Migration, statements: &[Piece]) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut ddl: Option<u32> = None;
    let mut dml: Option<u32> = None;
    for s in statements {
        let upper = s.sql.to_ascii_uppercase();
        let first = upper.split_whitespace().next().unwrap_or("");
        match first {
            "CREATE" | "ALTER" | "DROP" | "RENAME" | "TRUNCATE" => {
                ddl.get_or_insert(s.line);
            }
            "INSERT" | "UPDATE" | "DELETE" | "REPLACE" => {
                dml.get_or_insert(s.line);
            }
            _ => {}
        }
        if upper.contains("ALGORITHM=COPY") || upper.contains("ALGORITHM = COPY") {
            hits.push(copy(s.line, "asks for ALGORITHM=COPY"));
            continue;
        }
        let Ok(parsed) = Parser::parse_sql(&MySqlDialect {}, &s.sql) else { continue };
        for statement in parsed {
            let Statement::AlterTable(alter) = statement else { continue };
            for op in &alter.operations {
                let why = match op {
                    AlterTableOperation::ModifyColumn { .. } | AlterTableOperation::ChangeColumn { .. } => Some(
                        "changes a column's definition, which copies the table when the type or nullability changes",
                    ),
                    AlterTableOperation::DropPrimaryKey { .. } => {
                        Some("drops the primary key, which rebuilds the table")
                    }
                    AlterTableOperation::AddConstraint { constraint, .. }
                        if constraint.to_string().to_ascii_uppercase().contains("PRIMARY KEY") =>
                    {
                        Some("adds a primary key, which rebuilds the table")
                    }
                    _ => None,
                };
                if let Some(why) = why {
                    let explicit = upper.contains("ALGORITHM=INPLACE")
                        || upper.contains("ALGORITHM=INSTANT")
                        || upper.contains("ALGORITHM = INPLACE")
                        || upper.contains("ALGORITHM = INSTANT");
                    if !explicit {
                        hits.push(Hit::new(
                            s.line,
                            "mysql-table-copy",
                            Severity::Warning,
                            format!("{why}; while it copies, writes to the table wait"),
                            "add `, ALGORITHM=INPLACE, LOCK=NONE` (or INSTANT) so the server refuses instead of copying, and use an online schema change tool (gh-ost, pt-online-schema-change) for a change that must copy",
                        ));
                    }
                }
            }
            if upper.contains("CONVERT TO CHARACTER SET") {
                hits.push(copy(s.line, "converts the table's character set"));
            }
        }
    }
    if let (Some(_), Some(line)) = (ddl, dml) {
        hits.push(Hit::new(
            line,
            "mysql-mixed-ddl-dml",
            Severity::Warning,
            format!(
                "{} mixes DDL with data changes: MySQL commits DDL at once, so a failure after it leaves the revision half-applied (dirty)",
                m.revision
            ),
            "put the data change in a revision of its own, next to the DDL it needs",
        ));
    }
    hits
}

fn copy(line: u32, what: &str) -> Hit {
    Hit::new(
        line,
        "mysql-table-copy",
        Severity::Error,
        format!("{what}: the table is copied row by row while writes wait"),
        "use an online schema change tool (gh-ost, pt-online-schema-change), or run it in a maintenance window",
    )
}
