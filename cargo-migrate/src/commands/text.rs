//! How revisions are shown: Alembic's one-line log entries, the verbose block, and the JSON form
//! shared by the read commands.

use migrate_core::{Down, RevisionGraph};
use serde_json::json;

use crate::output::{Output, Paint};

/// The tags of revision `i`: branch labels, `head`, `branchpoint`, `mergepoint`, `current`.
pub(crate) fn tags(graph: &RevisionGraph, i: usize, current: Option<&[bool]>) -> Vec<String> {
    let m = graph.migration(i);
    let mut tags: Vec<String> = m.branch_labels.clone();
    if graph.children(i).is_empty() {
        tags.push("head".to_owned());
    }
    if graph.children(i).len() > 1 {
        tags.push("branchpoint".to_owned());
    }
    if m.down_revisions.len() > 1 {
        tags.push("mergepoint".to_owned());
    }
    if current.is_some_and(|c| c[i]) {
        tags.push("current".to_owned());
    }
    tags
}

fn painted_tags(out: &Output, graph: &RevisionGraph, i: usize, current: Option<&[bool]>) -> String {
    tags(graph, i, current).iter().map(|t| format!(" {}", out.paint(Paint::Tag, format!("({t})")))).collect()
}

/// The ids of revision `i`'s parents in the graph (a replaced id reads as its squash).
pub(crate) fn parent_ids(graph: &RevisionGraph, i: usize) -> Vec<String> {
    graph.parents(i).iter().map(|&p| graph.migration(p).revision.clone()).collect()
}

/// `<parents> -> <rev> (tags), <message>`, as `alembic history` prints it.
pub(crate) fn log_line(out: &Output, graph: &RevisionGraph, i: usize, current: Option<&[bool]>) -> String {
    let m = graph.migration(i);
    let parents = match parent_ids(graph, i).as_slice() {
        [] => "<base>".to_owned(),
        [one] => one.clone(),
        many => format!("({})", many.join(", ")),
    };
    format!(
        "{} -> {}{}, {}",
        out.paint(Paint::Rev, parents),
        out.paint(Paint::Rev, &m.revision),
        painted_tags(out, graph, i, current),
        m.message
    )
}

/// `<rev> (tags), <message>`.
pub(crate) fn short_line(out: &Output, graph: &RevisionGraph, i: usize, current: Option<&[bool]>) -> String {
    let m = graph.migration(i);
    format!("{}{}, {}", out.paint(Paint::Rev, &m.revision), painted_tags(out, graph, i, current), m.message)
}

/// The verbose description of revision `i` (`history -v`, `heads -v`, `show`).
pub(crate) fn verbose_block(out: &Output, graph: &RevisionGraph, i: usize, current: Option<&[bool]>) -> String {
    let m = graph.migration(i);
    let ids = |v: &[usize]| v.iter().map(|&c| graph.migration(c).revision.clone()).collect::<Vec<_>>().join(", ");
    let mut s = format!("Rev: {}{}\n", out.paint(Paint::Rev, &m.revision), painted_tags(out, graph, i, current));
    match parent_ids(graph, i).as_slice() {
        [] => s.push_str("Parent: <base>\n"),
        [one] => s.push_str(&format!("Parent: {one}\n")),
        many => s.push_str(&format!("Merges: {}\n", many.join(", "))),
    }
    if graph.children(i).len() > 1 {
        s.push_str(&format!("Branches into: {}\n", ids(graph.children(i))));
    }
    if !m.depends_on.is_empty() {
        s.push_str(&format!("Depends on: {}\n", m.depends_on.join(", ")));
    }
    if !m.branch_labels.is_empty() {
        s.push_str(&format!("Branch names: {}\n", m.branch_labels.join(", ")));
    }
    if !m.replaces.is_empty() {
        let files = if graph.replaced_files(Some(&m.revision)).is_empty() { "pruned" } else { "files still here" };
        s.push_str(&format!("Replaces: {} ({files})\n", m.replaces.join(", ")));
    }
    s.push_str(&format!("Path: {}\n", m.path));
    if let Some(created) = &m.created {
        s.push_str(&format!("Created: {created}\n"));
    }
    if !m.transaction {
        s.push_str("Transaction: no\n");
    }
    if let Down::Irreversible { reason } = &m.down {
        s.push_str(&format!("Irreversible: {reason}\n"));
    }
    s.push_str(&format!("\n    {}\n", m.message));
    s
}

/// The JSON form of revision `i`.
pub(crate) fn revision_json(graph: &RevisionGraph, i: usize, current: Option<&[bool]>) -> serde_json::Value {
    let m = graph.migration(i);
    let mut v = json!({
        "revision": m.revision,
        "down_revisions": m.down_revisions,
        "depends_on": m.depends_on,
        "branch_labels": m.branch_labels,
        "replaces": m.replaces,
        "message": m.message,
        "created": m.created,
        "path": m.path,
        "checksum": m.checksum.to_hex(),
        "transaction": m.transaction,
        "irreversible": match &m.down { Down::Irreversible { reason } => Some(reason.as_str()), _ => None },
        "is_head": graph.children(i).is_empty(),
        "is_branch_point": graph.children(i).len() > 1,
        "is_merge_point": m.down_revisions.len() > 1,
    });
    if let (Some(c), Some(obj)) = (current, v.as_object_mut()) {
        obj.insert("is_current".to_owned(), json!(c[i]));
    }
    v
}
