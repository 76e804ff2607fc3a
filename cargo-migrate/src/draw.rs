//! `history --graph`: draws branches and merges in text, newest first, the way `git log --graph`
//! does: one lane per line of descent, `*` for a revision, `\` where a merge splits into its
//! parents and `/` where branches meet again at their branch point.

use migrate_core::RevisionGraph;

/// One line of the drawing: the lane art, and the revision shown on it (none on connector lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The lane characters.
    pub(crate) art: String,
    /// The revision on this line.
    pub(crate) revision: Option<usize>,
}

/// Draws `order` (indices newest first, children before parents). Parents outside `order` end
/// their lane.
pub(crate) fn draw(graph: &RevisionGraph, order: &[usize]) -> Vec<Row> {
    let mut shown = vec![false; graph.len()];
    for &i in order {
        shown[i] = true;
    }
    let mut lanes: Vec<usize> = Vec::new();
    let mut rows = Vec::new();
    for &r in order {
        let targets: Vec<usize> = (0..lanes.len()).filter(|&l| lanes[l] == r).collect();
        let node = match targets.as_slice() {
            [] => {
                lanes.push(r);
                lanes.len() - 1
            }
            [first, rest @ ..] => {
                if !rest.is_empty() {
                    // Several children wait for `r`: join their lanes into the first one.
                    let new_index = |l: usize| {
                        if rest.contains(&l) { *first } else { l - rest.iter().filter(|&&t| t < l).count() }
                    };
                    let edges: Vec<(usize, usize)> = (0..lanes.len()).map(|l| (l, new_index(l))).collect();
                    transition(&edges, &mut rows);
                    let mut l = 0;
                    lanes.retain(|_| {
                        l += 1;
                        !rest.contains(&(l - 1))
                    });
                }
                *first
            }
        };
        let art: Vec<&str> = (0..lanes.len()).map(|l| if l == node { "*" } else { "|" }).collect();
        rows.push(Row { art: art.join(" "), revision: Some(r) });

        let parents: Vec<usize> = graph.parents(r).iter().copied().filter(|&p| shown[p]).collect();
        let grow = parents.len() as isize - 1;
        let mut edges = Vec::new();
        for l in 0..lanes.len() {
            if l < node {
                edges.push((l, l));
            } else if l == node {
                for k in 0..parents.len() {
                    edges.push((node, node + k));
                }
            } else {
                edges.push((l, (l as isize + grow) as usize));
            }
        }
        transition(&edges, &mut rows);
        lanes.splice(node..=node, parents);
    }
    rows
}

/// Appends the connector lines that move lanes along `edges` (`from` lane → `to` lane), one lane
/// per line at most; nothing when every lane goes straight down.
fn transition(edges: &[(usize, usize)], rows: &mut Vec<Row>) {
    let steps = edges.iter().map(|&(f, t)| f.abs_diff(t)).max().unwrap_or(0);
    let width = edges.iter().map(|&(f, t)| f.max(t) + 1).max().unwrap_or(0);
    let at = |from: usize, to: usize, s: usize| -> usize {
        let d = (to as isize - from as isize).clamp(-(s as isize), s as isize);
        (from as isize + d) as usize
    };
    for s in 1..=steps {
        let mut line = vec![' '; 2 * width];
        for &(from, to) in edges {
            let (a, b) = (at(from, to, s - 1), at(from, to, s));
            match b.cmp(&a) {
                std::cmp::Ordering::Equal => line[2 * a] = '|',
                std::cmp::Ordering::Greater => line[2 * a + 1] = '\\',
                std::cmp::Ordering::Less => line[2 * a - 1] = '/',
            }
        }
        let art: String = line.into_iter().collect();
        rows.push(Row { art: art.trim_end().to_owned(), revision: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(spec: &[(&str, &[&str])]) -> RevisionGraph {
        let migrations = spec
            .iter()
            .map(|(id, parents)| {
                let text = format!(
                    "-- revision: {id}\n-- down_revision: {}\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n",
                    parents.join(", ")
                );
                migrate_core::parse(&format!("m/{id}.sql"), &text).unwrap()
            })
            .collect();
        RevisionGraph::new(migrations).unwrap()
    }

    fn picture(g: &RevisionGraph) -> String {
        let mut order = g.topological_order().to_vec();
        order.reverse();
        draw(g, &order)
            .into_iter()
            .map(|r| match r.revision {
                Some(i) => format!("{} {}", r.art, g.migration(i).revision),
                None => r.art,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn linear() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        assert_eq!(picture(&g), "* c\n* b\n* a");
    }

    #[test]
    fn diamond() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("m", &["b", "c"])]);
        assert_eq!(picture(&g), "* m\n|\\\n| * c\n* | b\n|/\n* a");
    }

    #[test]
    fn two_heads_and_two_bases() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("x", &[])]);
        assert_eq!(picture(&g), "* x\n* c\n| * b\n|/\n* a");
        let g = graph(&[("a", &[]), ("x", &[]), ("b", &["a"]), ("y", &["x"])]);
        assert_eq!(picture(&g), "* y\n| * b\n* | x\n /\n* a");
    }

    #[test]
    fn three_way_merge() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"]), ("d", &["a"]), ("m", &["b", "c", "d"])]);
        assert_eq!(picture(&g), "* m\n|\\\n| |\\\n| | * d\n| * | c\n* | | b\n|/ /\n|/\n* a");
    }
}
