//! PostgreSQL: squawk's linter (`squawk-linter`), its findings placed on our files and lines.
//! Style rules (prefer bigint, prefer text, timeouts…) are off; what locks a table for long or
//! loses data is an error; the rest are warnings.

use squawk_linter::{Linter, Rule};

use super::{Hit, Severity, line_of};
use crate::Migration;

/// Opinions, not dangers: off, so healthy chains pass.
const OFF: &[Rule] = &[
    Rule::PreferBigintOverInt,
    Rule::PreferBigintOverSmallint,
    Rule::PreferIdentity,
    Rule::PreferTextField,
    Rule::PreferTimestampTz,
    Rule::BanCharField,
    Rule::PreferRobustStmts,
    Rule::RequireLockTimeout,
    Rule::RequireStatementTimeout,
    Rule::PreferRepack,
    Rule::UnusedIgnore,
    // Ours, for every dialect: `no-transaction`.
    Rule::BanConcurrentIndexCreationInTransaction,
];

/// What takes a lock long enough to stop traffic, loses data, or fails at run time.
const ERRORS: &[Rule] = &[
    Rule::RequireConcurrentIndexCreation,
    Rule::RequireConcurrentIndexDeletion,
    Rule::ConstraintMissingNotValid,
    Rule::AddingForeignKeyConstraint,
    Rule::ChangingColumnType,
    Rule::AddingNotNullableField,
    Rule::AddingRequiredField,
    Rule::AddingSerialPrimaryKeyField,
    Rule::DisallowedUniqueConstraint,
    Rule::BanDropDatabase,
    Rule::BanTruncateCascade,
    Rule::RequireConcurrentReindex,
    Rule::RequireConcurrentPartitionDetach,
    Rule::TransactionNesting,
    Rule::BanUncommittedTransaction,
];

/// Our id for a squawk rule: its own, except the drops every dialect shares.
fn id(rule: Rule) -> String {
    match rule {
        Rule::BanDropTable => "drop-table".to_owned(),
        Rule::BanDropColumn => "drop-column".to_owned(),
        other => other.to_string(),
    }
}

/// The safe way, when squawk gives none.
fn default_help(rule: Rule) -> &'static str {
    match rule {
        Rule::RequireConcurrentIndexCreation => {
            "use CREATE INDEX CONCURRENTLY in a revision of its own with `-- transaction: false`"
        }
        Rule::RequireConcurrentIndexDeletion => {
            "use DROP INDEX CONCURRENTLY in a revision with `-- transaction: false`"
        }
        Rule::BanDropTable | Rule::BanDropColumn => "stop using it in a release before the one that drops it",
        _ => "see squawk's documentation of this rule for the safe way",
    }
}

pub(super) fn lint(m: &Migration) -> Vec<Hit> {
    let parse = squawk_syntax::SourceFile::parse(&m.up);
    let mut linter = Linter::with_rules(&[], OFF);
    linter.settings.assume_in_transaction = m.transaction;
    linter
        .lint(&parse, &m.up)
        .into_iter()
        .map(|v| {
            let severity = if ERRORS.contains(&v.code) { Severity::Error } else { Severity::Warning };
            let help = v.help.clone().unwrap_or_else(|| default_help(v.code).to_owned());
            Hit::new(line_of(&m.up, usize::from(v.text_range.start())), &id(v.code), severity, v.message, help)
        })
        .collect()
}
