//! Schema awareness: one model of a database's schema for all three backends ([`Schema`]),
//! the difference between two of them as ordered changes ([`diff`]), and those changes as each
//! dialect's SQL ([`Changes::up`]).
//!
//! Schemas come from the databases themselves (introspection of their catalogues, in the
//! runtime), so two schemas compared are always read the same way from the same kind of server:
//! expressions, types and definitions are kept in the server's own canonical spelling.

mod diff;
mod model;
mod render;

pub use diff::{Change, Changes, diff};
pub use model::{
    Auto, Check, Column, FkAction, ForeignKey, Generated, Index, Key, Name, Schema, Sequence, Table, Trigger, View,
};

/// An identifier as generated SQL writes it: bare when it is a plain lower-case word that is no
/// keyword, quoted for `dialect` otherwise.
pub fn quote_ident(dialect: crate::sql::Dialect, ident: &str) -> String {
    model::quote(dialect, ident)
}
