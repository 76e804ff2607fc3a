//! PostgreSQL's catalogue read into the schema model, in eight queries. Expressions, types,
//! index and view definitions are the server's own deparsed spelling (`pg_get_expr`,
//! `format_type`, `pg_get_indexdef`, `pg_get_viewdef`), so two schemas built from different
//! text compare by meaning.

use std::collections::BTreeMap;

use super::PgConn;
use crate::runtime::backend::Backend;
use crate::runtime::io::{Failure, TextRows};
use crate::schema::{
    Auto, Check, Column, FkAction, ForeignKey, Generated, Index, Key, Name, Schema, Sequence, Table, View,
};
use crate::sql::{Dialect, Options};

/// Namespaces of the user's objects.
const USER_NS: &str = "n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'";
/// The separator of lists packed into one text column.
const SEP: char = '\u{1f}';

/// Reads every user schema of the connected database, without the history and log tables.
pub(crate) async fn read(conn: &mut PgConn, options: &Options) -> Result<Schema, Failure> {
    let mut schema = Schema::empty(Dialect::Postgres);
    let q = |s: &str| s.replace("{USER_NS}", USER_NS);
    let skip = |name: &Name| {
        options.is_own_table(&name.name)
            && (options.schema.is_none() || name.schema == options.schema || name.schema.is_none())
    };

    let tables = conn
        .rows(&q("SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_NS}"))
        .await?;
    let mut by_oid: BTreeMap<String, Table> = BTreeMap::new();
    for r in &tables {
        let name = name(&r[1], &r[2]);
        if !skip(&name) {
            by_oid.insert(cell(&r[0]), Table::new(name));
        }
    }

    let columns = conn
        .rows(&q("SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                         pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, \
                         pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) \
                  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                  JOIN pg_namespace n ON n.oid = c.relnamespace \
                  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {USER_NS} \
                  ORDER BY a.attrelid, a.attnum"))
        .await?;
    for r in &columns {
        let Some(t) = by_oid.get_mut(&cell(&r[0])) else { continue };
        let (identity, generated) = (cell(&r[5]), cell(&r[6]));
        let mut default = r[4].clone();
        let mut auto = match identity.as_str() {
            "a" => Some(Auto::Identity { always: true }),
            "d" => Some(Auto::Identity { always: false }),
            _ => None,
        };
        let serial = auto.is_none() && r[7].is_some() && default.as_deref().is_some_and(|d| d.starts_with("nextval("));
        if serial {
            auto = Some(Auto::Serial);
            default = None;
        }
        let generated =
            (generated == "s").then(|| Generated { expr: default.take().unwrap_or_default(), stored: true });
        t.columns.push(Column {
            name: cell(&r[1]),
            ty: cell(&r[2]),
            nullable: cell(&r[3]) != "t",
            default,
            auto,
            generated,
        });
    }

    let list = "array_to_string(ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY k(n, i) \
                JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.i), E'\\x1f')";
    let cols = list.replace("{keys}", "co.conkey").replace("{rel}", "co.conrelid");
    let ref_cols = list.replace("{keys}", "co.confkey").replace("{rel}", "co.confrelid");
    let constraints = conn
        .rows(&format!(
            "SELECT co.conrelid, co.conname, co.contype, pg_get_expr(co.conbin, co.conrelid), {cols}, \
                    rn.nspname, rc.relname, {ref_cols}, co.confupdtype, co.confdeltype \
             FROM pg_constraint co \
             LEFT JOIN pg_class rc ON rc.oid = co.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace \
             WHERE co.contype IN ('p', 'u', 'c', 'f') AND co.conrelid <> 0 \
             ORDER BY co.conrelid, co.conname"
        ))
        .await?;
    for r in &constraints {
        let Some(t) = by_oid.get_mut(&cell(&r[0])) else { continue };
        let cname = Some(cell(&r[1]));
        let columns = split(&r[4]);
        match cell(&r[2]).as_str() {
            "p" => t.primary_key = Some(Key { name: cname, columns }),
            "u" => t.uniques.push(Key { name: cname, columns }),
            "c" => t.checks.push(Check { name: cname, expr: cell(&r[3]) }),
            _ => t.foreign_keys.push(ForeignKey {
                name: cname,
                columns,
                ref_table: name(&r[5], &r[6]),
                ref_columns: split(&r[7]),
                on_update: FkAction::parse(&cell(&r[8])).unwrap_or(FkAction::NoAction),
                on_delete: FkAction::parse(&cell(&r[9])).unwrap_or(FkAction::NoAction),
            }),
        }
    }

    let indexes = conn
        .rows(
            "SELECT i.indrelid, ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid), am.amname, \
                    pg_get_expr(i.indpred, i.indrelid), \
                    array_to_string(ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) \
                                          FROM generate_series(1, i.indnkeyatts) k ORDER BY k), E'\\x1f') \
             FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
             WHERE NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid \
                               AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x')) \
             ORDER BY ic.relname",
        )
        .await?;
    for r in &indexes {
        let Some(t) = by_oid.get_mut(&cell(&r[0])) else { continue };
        let method = cell(&r[4]);
        t.indexes.push(Index {
            name: cell(&r[1]),
            unique: cell(&r[2]) == "t",
            parts: split(&r[6]),
            method: (method != "btree").then_some(method),
            predicate: r[5].clone(),
            definition: r[3].clone(),
        });
    }
    for mut t in by_oid.into_values() {
        t.normalize();
        schema.tables.insert(t.name.clone(), t);
    }

    let views = conn
        .rows(&q("SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid, true) FROM pg_class c \
                  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND {USER_NS}"))
        .await?;
    for r in &views {
        let name = name(&r[0], &r[1]);
        let definition = cell(&r[3]).trim().trim_end_matches(';').trim().to_owned();
        schema.views.insert(name.clone(), View { name, definition, materialized: cell(&r[2]) == "m" });
    }

    let enums = conn
        .rows(&q("SELECT n.nspname, t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
                  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE {USER_NS} \
                  ORDER BY n.nspname, t.typname, e.enumsortorder"))
        .await?;
    for r in &enums {
        schema.enums.entry(name(&r[0], &r[1])).or_default().push(cell(&r[2]));
    }

    let sequences = conn
        .rows(
            "SELECT s.schemaname, s.sequencename, s.data_type, s.start_value, s.increment_by, s.min_value, \
                    s.max_value, s.cycle FROM pg_sequences s \
             WHERE s.schemaname NOT LIKE 'pg\\_%' AND s.schemaname <> 'information_schema' AND NOT EXISTS ( \
                 SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
                 AND d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass \
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))",
        )
        .await?;
    for r in &sequences {
        let num = |k: usize| cell(&r[k]).parse::<i64>().unwrap_or_default();
        schema.sequences.insert(
            name(&r[0], &r[1]),
            Sequence {
                ty: cell(&r[2]),
                start: num(3),
                increment: num(4),
                min: num(5),
                max: num(6),
                cycle: cell(&r[7]) == "t",
            },
        );
    }

    let namespaces: TextRows =
        conn.rows(&q("SELECT n.nspname FROM pg_namespace n WHERE n.nspname <> 'public' AND {USER_NS}")).await?;
    for r in &namespaces {
        let ns = cell(&r[0]);
        // The schema only the history tables live in is the tool's, not the user's.
        let only_bookkeeping = options.schema.as_deref() == Some(ns.as_str())
            && !schema.tables.keys().chain(schema.views.keys()).any(|n| n.schema.as_deref() == Some(ns.as_str()));
        if !only_bookkeeping {
            schema.namespaces.insert(ns);
        }
    }
    Ok(schema)
}

fn cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn split(v: &Option<String>) -> Vec<String> {
    v.as_deref().filter(|s| !s.is_empty()).map_or_else(Vec::new, |s| s.split(SEP).map(str::to_owned).collect())
}

/// A catalogue name, with `public` as the default schema.
fn name(schema: &Option<String>, name: &Option<String>) -> Name {
    let schema = cell(schema);
    Name { schema: (!schema.is_empty() && schema != "public").then_some(schema), name: cell(name) }
}
