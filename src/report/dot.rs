//! Graphviz DOT: the same path graphs as the markdown's Mermaid diagrams,
//! in one `digraph` with a cluster per secret and, inside it, a cluster
//! per path, for `dot -Tsvg`. Every path is drawn (no cap: a file is not a
//! step summary).

use super::graph::{path_graphs, PathGraph, State};
use super::Target;

pub fn render_dot(targets: &[Target]) -> String {
    let mut out = String::from(
        "digraph \"rotation-doctor\" {\n    rankdir=LR;\n    fontname=\"Helvetica\";\n    node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n    edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for (t, target) in targets.iter().enumerate() {
        out.push_str(&format!(
            "    subgraph \"cluster_s{t}\" {{\n        label={};\n",
            quote(&format!("{} ({})", target.secret.name, target.region))
        ));
        for (g, graph) in path_graphs(&target.paths).iter().enumerate() {
            out.push_str(&cluster(&format!("s{t}p{g}"), graph));
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
    out
}

fn cluster(prefix: &str, graph: &PathGraph) -> String {
    let mut out = format!(
        "        subgraph \"cluster_{prefix}\" {{\n            label={};\n",
        quote(&graph.title())
    );
    let last = graph.sources.len() + graph.steps.len() - 1;
    for (i, node) in graph.nodes().enumerate() {
        let mut attributes = vec![format!(
            "label={}",
            quote(&format!("{}\n{}", node.kind, node.label))
        )];
        if i == last && graph.to == rotation_doctor_checks::net::Destination::Database {
            attributes.push("shape=cylinder".to_string());
        }
        attributes.extend(
            match node.state {
                State::Pass => None,
                State::Blocked => Some(
                    "fillcolor=\"#ffe0e0\", color=\"#d00000\", fontcolor=\"#600000\", penwidth=3",
                ),
                State::Unknown => Some(
                    "fillcolor=\"#fff3cd\", color=\"#b8860b\", fontcolor=\"#5c4300\", style=\"rounded,filled,dashed\"",
                ),
                State::NotReached => Some(
                    "fillcolor=\"#f4f4f4\", color=\"#999999\", fontcolor=\"#777777\"",
                ),
            }
            .map(str::to_string),
        );
        if let Some(detail) = &node.detail {
            attributes.push(format!("tooltip={}", quote(detail)));
        }
        out.push_str(&format!(
            "            \"{prefix}n{i}\" [{}];\n",
            attributes.join(", ")
        ));
    }
    for edge in graph.edges() {
        let mut attributes: Vec<String> = Vec::new();
        if let Some(label) = &edge.label {
            attributes.push(format!("label={}", quote(label)));
        }
        attributes.extend(
            match edge.state {
                State::Pass => None,
                State::Blocked => Some("color=\"#d00000\", fontcolor=\"#d00000\", penwidth=2"),
                State::Unknown => Some("color=\"#b8860b\", fontcolor=\"#b8860b\", style=dashed"),
                State::NotReached => Some("color=\"#999999\", style=dotted"),
            }
            .map(str::to_string),
        );
        let attributes = if attributes.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attributes.join(", "))
        };
        out.push_str(&format!(
            "            \"{prefix}n{}\" -> \"{prefix}n{}\"{attributes};\n",
            edge.from, edge.to
        ));
    }
    out.push_str("        }\n");
    out
}

/// A DOT double-quoted string: `"` and `\` escaped (a backslash would
/// otherwise start one of Graphviz's label escapes such as `\N`), line
/// breaks written as `\n`, other control characters as spaces
/// (https://graphviz.org/doc/info/lang.html, https://graphviz.org/docs/attr-types/escString/).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quote_escapes_quotes_backslashes_and_breaks() {
        assert_eq!(quote(r#"a "b" \N"#), r#""a \"b\" \\N""#);
        assert_eq!(quote("x\ny\tz"), r#""x\ny z""#);
    }
}
