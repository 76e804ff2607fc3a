//! `history --format mermaid|dot`: the revision graph as a picture that renders in a pull request
//! (Mermaid) or in Graphviz (DOT). Parents point to their children; `depends_on` edges are
//! dashed; heads are marked, and the database's current revisions with `-i`.

use migrate_core::RevisionGraph;

/// The revisions `order` (and the edges between them) as a Mermaid flowchart, base at the top.
pub(crate) fn mermaid(graph: &RevisionGraph, order: &[usize], current: Option<&[bool]>) -> String {
    let shown = mask(graph, order);
    let mut out = String::from("flowchart TD\n");
    for &i in order.iter().rev() {
        let m = graph.migration(i);
        // Inside a quoted label only `"` needs care; messages hold no control characters.
        let label = format!("{}: {}", m.revision, m.message).replace('"', "#quot;");
        out.push_str(&format!("    r_{}[\"{label}\"]\n", m.revision));
    }
    for (parent, child, dashed) in edges(graph, &shown, order) {
        let arrow = if dashed { "-.->" } else { "-->" };
        out.push_str(&format!("    r_{parent} {arrow} r_{child}\n"));
    }
    for (class, style, members) in classes(graph, order, current) {
        if !members.is_empty() {
            out.push_str(&format!("    classDef {class} {style}\n"));
            out.push_str(&format!(
                "    class {} {class}\n",
                members.iter().map(|r| format!("r_{r}")).collect::<Vec<_>>().join(",")
            ));
        }
    }
    out
}

/// The revisions `order` (and the edges between them) in Graphviz's DOT language.
pub(crate) fn dot(graph: &RevisionGraph, order: &[usize], current: Option<&[bool]>) -> String {
    let shown = mask(graph, order);
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out =
        String::from("digraph migrations {\n    rankdir=TB;\n    node [shape=box, fontname=\"monospace\"];\n");
    let heads = head_mask(graph);
    for &i in order.iter().rev() {
        let m = graph.migration(i);
        let mut attrs =
            vec![format!("label={}", quote(&format!("{}\\n{}", m.revision, m.message)).replace("\\\\n", "\\n"))];
        if heads[i] {
            attrs.push("penwidth=2".to_owned());
        }
        if current.is_some_and(|c| c[i]) {
            attrs.push("style=filled, fillcolor=\"#d4edda\"".to_owned());
        }
        out.push_str(&format!("    {} [{}];\n", quote(&m.revision), attrs.join(", ")));
    }
    for (parent, child, dashed) in edges(graph, &shown, order) {
        let style = if dashed { " [style=dashed]" } else { "" };
        out.push_str(&format!("    {} -> {}{style};\n", quote(&parent), quote(&child)));
    }
    out.push_str("}\n");
    out
}

fn mask(graph: &RevisionGraph, order: &[usize]) -> Vec<bool> {
    let mut shown = vec![false; graph.len()];
    for &i in order {
        shown[i] = true;
    }
    shown
}

fn head_mask(graph: &RevisionGraph) -> Vec<bool> {
    (0..graph.len()).map(|i| graph.children(i).is_empty()).collect()
}

/// Parent → child edges between shown revisions, base first; `true` for `depends_on` edges.
fn edges(graph: &RevisionGraph, shown: &[bool], order: &[usize]) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for &i in order.iter().rev() {
        // The graph's edges, not the header's ids: a squash stands for the ids it replaces.
        let id = |j: usize| graph.migration(j).revision.clone();
        for &p in graph.parents(i).iter().filter(|&&p| shown[p]) {
            out.push((id(p), id(i), false));
        }
        for &d in graph.dependencies(i).iter().filter(|&&d| shown[d]) {
            out.push((id(d), id(i), true));
        }
    }
    out
}

/// Mermaid classes: heads, and the current revisions when known.
fn classes(
    graph: &RevisionGraph,
    order: &[usize],
    current: Option<&[bool]>,
) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let heads = head_mask(graph);
    let ids = |f: &dyn Fn(usize) -> bool| {
        order.iter().rev().filter(|&&i| f(i)).map(|&i| graph.migration(i).revision.clone()).collect()
    };
    let mut out = vec![("head", "stroke-width:3px", ids(&|i| heads[i]))];
    if let Some(c) = current {
        out.push(("current", "fill:#d4edda", ids(&|i| c[i])));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrate_core::parse;

    fn graph() -> RevisionGraph {
        let rev = |id: &str, parents: &str, deps: &str, msg: &str| {
            let text = format!(
                "-- revision: {id}\n-- down_revision: {parents}\n-- depends_on: {deps}\n-- message: {msg}\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"
            );
            parse(&format!("m/{id}.sql"), &text).unwrap_or_else(|e| panic!("{e}"))
        };
        RevisionGraph::new(vec![
            rev("a1", "", "", "create \"users\""),
            rev("b2", "a1", "", "left"),
            rev("c3", "a1", "", "right"),
            rev("d4", "b2, c3", "", "merge"),
            rev("e5", "d4", "b2", "after"),
        ])
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn mermaid_has_every_node_edge_and_the_head() {
        let g = graph();
        let order: Vec<usize> = g.topological_order().iter().rev().copied().collect();
        let text = mermaid(&g, &order, None);
        assert!(text.starts_with("flowchart TD\n"), "{text}");
        assert!(text.contains("    r_a1[\"a1: create #quot;users#quot;\"]\n"), "{text}");
        for edge in
            ["r_a1 --> r_b2", "r_a1 --> r_c3", "r_b2 --> r_d4", "r_c3 --> r_d4", "r_d4 --> r_e5", "r_b2 -.-> r_e5"]
        {
            assert!(text.contains(edge), "{edge}\n{text}");
        }
        assert!(text.contains("class r_e5 head"), "{text}");
    }

    #[test]
    fn dot_quotes_labels_and_dashes_dependencies() {
        let g = graph();
        let order: Vec<usize> = g.topological_order().iter().rev().copied().collect();
        let text = dot(&g, &order, None);
        assert!(text.starts_with("digraph migrations {"), "{text}");
        assert!(text.contains("\"a1\" [label=\"a1\\ncreate \\\"users\\\"\"];"), "{text}");
        assert!(text.contains("\"b2\" -> \"e5\" [style=dashed];"), "{text}");
        assert!(text.contains("\"e5\" [label=\"e5\\nafter\", penwidth=2];"), "{text}");
        assert!(text.trim_end().ends_with('}'));
    }
}
