//! A network path as a graph, for the Mermaid (markdown) and Graphviz (dot)
//! printers: the Lambda subnet, then each component the flow crosses in the
//! engine's order, then the destination. Built once here so that both
//! drawings say the same thing.
//!
//! Identical paths are drawn once: when two subnets' paths cross the same
//! components with the same outcome (typically the subnets of one route
//! table), the graph has both subnets as sources feeding one chain, which
//! reads better than two copies of the same chain that differ only in the
//! first box.

use rotation_doctor_checks::names;
use rotation_doctor_checks::net::{Destination, Hop, HopKind, HopVerdict, NetPath, Verdict};

/// What a component did to the flow, as drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pass,
    /// Stops the flow: drawn red, its incoming edge labelled with why.
    Blocked,
    /// Could not be decided: drawn dashed, its incoming edge labelled.
    Unknown,
    /// After the block: the flow never gets there.
    NotReached,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What the component is: `Lambda subnet`, `security group ingress`.
    pub kind: String,
    /// `id (name)`, or the id, or a description.
    pub label: String,
    pub state: State,
    /// Why it blocks or is undecided (the engine's whole sentence).
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    /// The state of the node it leads to.
    pub state: State,
    /// The rule that is missing (or why it is undecided), shortened.
    pub label: Option<String>,
}

/// One or more identical paths to one destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathGraph {
    pub to: Destination,
    pub port: u16,
    pub verdict: Verdict,
    /// The Lambda subnets the flow leaves from.
    pub sources: Vec<Node>,
    /// The components in the order the flow meets them, the destination last.
    pub steps: Vec<Node>,
    /// Context that decides nothing (an endpoint that nearly works).
    pub notes: Vec<String>,
    /// The paths drawn, by index in the target's `paths`.
    pub paths: Vec<usize>,
}

/// The longest edge label: a diagram with a paragraph on an arrow is
/// unreadable; the whole sentence is written under it.
const EDGE_LABEL_CHARS: usize = 90;
/// Names can be 255 characters; a box stays readable.
const NODE_LABEL_CHARS: usize = 120;

impl PathGraph {
    pub fn of(index: usize, path: &NetPath) -> PathGraph {
        let source = match &path.from.subnet {
            Some(subnet) => Node {
                kind: "Lambda subnet".to_string(),
                label: shorten(
                    &names::label(subnet, path.from.names.get(subnet).map(String::as_str)),
                    NODE_LABEL_CHARS,
                ),
                state: State::Pass,
                detail: None,
            },
            None => Node {
                kind: "Lambda".to_string(),
                label: "not attached to a VPC".to_string(),
                state: State::Pass,
                detail: None,
            },
        };
        let deciding: Vec<&Hop> = path
            .hops
            .iter()
            .filter(|h| h.verdict != HopVerdict::Info)
            .collect();
        let notes = path
            .hops
            .iter()
            .filter(|h| h.verdict == HopVerdict::Info)
            .map(|h| h.detail.clone())
            .collect();

        let mut steps: Vec<Node> = Vec::new();
        let mut blocked = false;
        // Consecutive hops of one component (an ACL checked outbound and
        // inbound) are one box, as in the one-line form.
        for run in deciding.chunk_by(|a, b| a.resource == b.resource) {
            steps.push(step(run, blocked, path.to, path.port));
            blocked |= run.iter().any(|h| h.verdict == HopVerdict::Block);
        }
        if deciding.last().map(|h| h.kind) != Some(HopKind::Destination) {
            steps.push(Node {
                kind: destination_kind(path.to, path.port),
                label: match path.to {
                    Destination::Database => "the database".to_string(),
                    Destination::Secretsmanager | Destination::RdsApi => "API endpoint".to_string(),
                },
                state: match path.verdict {
                    Verdict::Reachable => State::Pass,
                    Verdict::Unknown => State::Unknown,
                    Verdict::Blocked => State::NotReached,
                },
                detail: None,
            });
        }
        PathGraph {
            to: path.to,
            port: path.port,
            verdict: path.verdict,
            sources: vec![source],
            steps,
            notes,
            paths: vec![index],
        }
    }

    /// The sources, then the steps: an edge's `from` and `to` index this.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.sources.iter().chain(&self.steps)
    }

    /// Each source into the first step, then step to step.
    pub fn edges(&self) -> Vec<Edge> {
        let first = self.sources.len();
        let edge = |from: usize, to: usize| {
            let node = &self.steps[to - first];
            Edge {
                from,
                to,
                state: node.state,
                label: match node.state {
                    State::Blocked | State::Unknown => {
                        node.detail.as_deref().map(|d| edge_label(d, &node.label))
                    }
                    State::Pass | State::NotReached => None,
                },
            }
        };
        let mut edges: Vec<Edge> = (0..first).map(|s| edge(s, first)).collect();
        edges.extend((first + 1..first + self.steps.len()).map(|to| edge(to - 1, to)));
        edges
    }

    /// The component that stops the flow.
    pub fn blocking(&self) -> Option<&Node> {
        self.steps.iter().find(|n| n.state == State::Blocked)
    }

    /// The components that could not be decided.
    pub fn undecided(&self) -> impl Iterator<Item = &Node> {
        self.steps.iter().filter(|n| n.state == State::Unknown)
    }

    /// `subnet-a (name), subnet-b → database tcp/3306: blocked`.
    pub fn title(&self) -> String {
        let sources: Vec<&str> = self.sources.iter().map(|s| s.label.as_str()).collect();
        format!(
            "{} → {}: {}",
            sources.join(", "),
            destination_kind(self.to, self.port),
            self.verdict.as_str()
        )
    }
}

/// The graphs of a target's paths, identical ones merged, in the order of
/// their first path.
pub fn path_graphs(paths: &[NetPath]) -> Vec<PathGraph> {
    let mut graphs: Vec<PathGraph> = Vec::new();
    for (index, path) in paths.iter().enumerate() {
        let graph = PathGraph::of(index, path);
        let same = graphs.iter_mut().find(|g| {
            (g.to, g.port, g.verdict) == (graph.to, graph.port, graph.verdict)
                && g.steps == graph.steps
                && g.notes == graph.notes
        });
        match same {
            Some(existing) => {
                existing.sources.extend(graph.sources);
                existing.paths.extend(graph.paths);
            }
            None => graphs.push(graph),
        }
    }
    graphs
}

fn destination_kind(to: Destination, port: u16) -> String {
    match to {
        Destination::Database => format!("database tcp/{port}"),
        Destination::Secretsmanager => format!("Secrets Manager tcp/{port}"),
        Destination::RdsApi => format!("RDS API tcp/{port}"),
    }
}

/// One box for consecutive hops of one component.
fn step(run: &[&Hop], after_block: bool, to: Destination, port: u16) -> Node {
    let first = run[0];
    let deciding = run
        .iter()
        .find(|h| h.verdict == HopVerdict::Block)
        .or_else(|| run.iter().find(|h| h.verdict == HopVerdict::Unknown));
    let state = if after_block {
        State::NotReached
    } else {
        match deciding.map(|h| h.verdict) {
            Some(HopVerdict::Block) => State::Blocked,
            Some(HopVerdict::Unknown) => State::Unknown,
            _ => State::Pass,
        }
    };
    let label = names::label(&first.resource, first.name.as_deref());
    let (kind, label) = if first.kind == HopKind::Destination {
        // The database's identifier is the resource; the kind says what.
        (destination_kind(to, port), label)
    } else {
        (kind_of(run), label)
    };
    Node {
        kind,
        label: shorten(&label, NODE_LABEL_CHARS),
        state,
        detail: match state {
            State::Blocked | State::Unknown => deciding.map(|h| h.detail.clone()),
            State::Pass | State::NotReached => None,
        },
    }
}

/// `security group ingress`; `network ACL (outbound, inbound)` for an ACL
/// checked both ways.
fn kind_of(run: &[&Hop]) -> String {
    let mut kinds: Vec<HopKind> = Vec::new();
    for hop in run {
        if !kinds.contains(&hop.kind) {
            kinds.push(hop.kind);
        }
    }
    let acl = |k: &HopKind| matches!(k, HopKind::NetworkAclOutbound | HopKind::NetworkAclInbound);
    if kinds.len() > 1 && kinds.iter().all(acl) {
        let directions: Vec<&str> = kinds
            .iter()
            .map(|k| match k {
                HopKind::NetworkAclOutbound => "outbound",
                _ => "inbound",
            })
            .collect();
        return format!("network ACL ({})", directions.join(", "));
    }
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The detail for an arrow: without the component's own name (the box
/// shows it), its first clause (what is missing; the rest, such as what the
/// group admits instead, is written under the diagram), at most
/// [`EDGE_LABEL_CHARS`].
pub fn edge_label(detail: &str, node_label: &str) -> String {
    let id = node_label.split(' ').next().unwrap_or(node_label);
    let text = detail
        .strip_prefix(node_label)
        .or_else(|| detail.strip_prefix(id))
        .map(str::trim_start)
        .filter(|rest| !rest.is_empty())
        .unwrap_or(detail);
    let clause = text.split("; ").next().unwrap_or(text);
    shorten(clause, EDGE_LABEL_CHARS)
}

/// At most `max` characters, cut at a space when there is one in the last
/// third, with `…`.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    let at_space = cut
        .rfind(' ')
        .filter(|&i| cut[..i].chars().count() >= max * 2 / 3);
    let kept = at_space.map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}…", kept.trim_end_matches([',', ';', ':', ' ']))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rotation_doctor_checks::net::PathSource;

    use super::*;

    fn hop(resource: &str, kind: HopKind, verdict: HopVerdict, detail: &str) -> Hop {
        Hop {
            resource: resource.to_string(),
            name: (resource == "sg-db").then(|| "db-sg".to_string()),
            kind,
            verdict,
            detail: detail.to_string(),
        }
    }

    fn path(subnet: &str, hops: Vec<Hop>) -> NetPath {
        let blocked_by = hops
            .iter()
            .find(|h| h.verdict == HopVerdict::Block)
            .map(|h| h.resource.clone());
        NetPath {
            from: PathSource {
                subnet: Some(subnet.to_string()),
                security_groups: vec!["sg-l".to_string()],
                names: BTreeMap::from([(subnet.to_string(), format!("{subnet}-name"))]),
            },
            to: Destination::Database,
            port: 3306,
            verdict: if blocked_by.is_some() {
                Verdict::Blocked
            } else {
                Verdict::Reachable
            },
            blocked_by,
            hops,
        }
    }

    fn blocked_hops(cidr: &str) -> Vec<Hop> {
        vec![
            hop(
                "sg-l",
                HopKind::SecurityGroupEgress,
                HopVerdict::Pass,
                "egress ok",
            ),
            hop("rtb-1", HopKind::RouteTable, HopVerdict::Pass, "local"),
            hop(
                "acl-1",
                HopKind::NetworkAclOutbound,
                HopVerdict::Pass,
                "out ok",
            ),
            hop(
                "acl-1",
                HopKind::NetworkAclInbound,
                HopVerdict::Pass,
                "in ok",
            ),
            hop(
                "sg-db",
                HopKind::SecurityGroupIngress,
                HopVerdict::Block,
                &format!("sg-db (db-sg) admits no tcp/3306 from {cidr}; it admits only sg-x"),
            ),
            hop(
                "acl-1",
                HopKind::NetworkAclOutbound,
                HopVerdict::Pass,
                "return",
            ),
            hop(
                "mydb",
                HopKind::Destination,
                HopVerdict::Pass,
                "database mydb",
            ),
        ]
    }

    #[test]
    fn a_blocked_path_is_red_at_the_block_and_unreached_after_it() {
        let graph = PathGraph::of(0, &path("subnet-a", blocked_hops("10.0.1.0/24")));
        let states: Vec<(&str, State)> =
            graph.nodes().map(|n| (n.label.as_str(), n.state)).collect();
        assert_eq!(
            states,
            [
                ("subnet-a (subnet-a-name)", State::Pass),
                ("sg-l", State::Pass),
                ("rtb-1", State::Pass),
                ("acl-1", State::Pass),
                ("sg-db (db-sg)", State::Blocked),
                ("acl-1", State::NotReached),
                ("mydb", State::NotReached),
            ]
        );
        assert_eq!(graph.steps[2].kind, "network ACL (outbound, inbound)");
        let edges = graph.edges();
        assert_eq!(edges.len(), 6);
        let into_block = &edges[3];
        assert_eq!((into_block.from, into_block.to), (3, 4));
        assert_eq!(into_block.state, State::Blocked);
        assert_eq!(
            into_block.label.as_deref(),
            Some("admits no tcp/3306 from 10.0.1.0/24")
        );
        assert!(edges.iter().filter(|e| e.label.is_some()).count() == 1);
        assert_eq!(
            graph.blocking().map(|n| n.label.as_str()),
            Some("sg-db (db-sg)")
        );
    }

    #[test]
    fn peering_and_transit_gateway_hops_are_boxes_of_their_kind() {
        let hops = vec![
            hop("sg-l", HopKind::SecurityGroupEgress, HopVerdict::Pass, "a"),
            hop("rtb-1", HopKind::RouteTable, HopVerdict::Pass, "to pcx-1"),
            hop(
                "pcx-1",
                HopKind::VpcPeering,
                HopVerdict::Pass,
                "pcx-1 is active",
            ),
            hop(
                "tgw-rtb-1",
                HopKind::TransitGateway,
                HopVerdict::Pass,
                "tgw-rtb-1 sends 10.1.0.0/16 to tgw-attach-2",
            ),
            hop(
                "rtb-far",
                HopKind::RouteTable,
                HopVerdict::Block,
                "rtb-far has no route back to 10.0.1.0/24 through pcx-1",
            ),
        ];
        let graph = PathGraph::of(0, &path("subnet-a", hops));
        let kinds: Vec<(&str, &str)> = graph
            .steps
            .iter()
            .map(|n| (n.kind.as_str(), n.label.as_str()))
            .collect();
        assert_eq!(
            &kinds[..4],
            [
                ("security group egress", "sg-l"),
                ("route table", "rtb-1"),
                ("VPC peering", "pcx-1"),
                ("transit gateway", "tgw-rtb-1"),
            ]
        );
        assert_eq!(graph.blocking().map(|n| n.label.as_str()), Some("rtb-far"));
        let chart = crate::report::markdown::mermaid(&graph);
        assert!(chart.contains("VPC peering"), "{chart}");
        assert!(chart.contains("transit gateway"), "{chart}");
    }

    #[test]
    fn identical_paths_share_one_chain_and_different_ones_do_not() {
        let reachable = || {
            vec![
                hop("sg-l", HopKind::SecurityGroupEgress, HopVerdict::Pass, "a"),
                hop("nat-1", HopKind::NatGateway, HopVerdict::Pass, "b"),
            ]
        };
        let paths = [
            path("subnet-a", reachable()),
            path("subnet-b", reachable()),
            path("subnet-a", blocked_hops("10.0.1.0/24")),
            path("subnet-b", blocked_hops("10.0.2.0/24")),
        ];
        let graphs = path_graphs(&paths);
        assert_eq!(graphs.len(), 3, "{graphs:#?}");
        assert_eq!(graphs[0].paths, [0, 1]);
        assert_eq!(graphs[0].sources.len(), 2);
        assert_eq!(
            graphs[0].title(),
            "subnet-a (subnet-a-name), subnet-b (subnet-b-name) → database tcp/3306: reachable"
        );
        // Both sources lead into the first step.
        let edges = graphs[0].edges();
        assert_eq!((edges[0].from, edges[0].to), (0, 2));
        assert_eq!((edges[1].from, edges[1].to), (1, 2));
        // The blocked paths differ in the range that is not admitted.
        assert_eq!(graphs[1].paths, [2]);
        assert_eq!(graphs[2].paths, [3]);
    }

    #[test]
    fn a_path_without_a_destination_hop_ends_at_the_destination() {
        let mut p = path(
            "subnet-a",
            vec![hop(
                "sg-l",
                HopKind::SecurityGroupEgress,
                HopVerdict::Unknown,
                "sg-l is unknown",
            )],
        );
        p.to = Destination::Secretsmanager;
        p.port = 443;
        p.verdict = Verdict::Unknown;
        let graph = PathGraph::of(0, &p);
        let last = graph.steps.last().unwrap();
        assert_eq!(last.kind, "Secrets Manager tcp/443");
        assert_eq!(last.state, State::Unknown);
        assert_eq!(graph.undecided().count(), 2);
        // The box shows the id, so the arrow does not repeat it.
        assert_eq!(graph.edges()[0].label.as_deref(), Some("is unknown"));
    }

    #[test]
    fn info_hops_are_notes_not_boxes() {
        let p = path(
            "subnet-a",
            vec![
                hop(
                    "vpce-1",
                    HopKind::VpcEndpoint,
                    HopVerdict::Info,
                    "private DNS is off",
                ),
                hop("nat-1", HopKind::NatGateway, HopVerdict::Pass, "ok"),
            ],
        );
        let graph = PathGraph::of(0, &p);
        assert_eq!(graph.notes, ["private DNS is off"]);
        assert!(graph.nodes().all(|n| n.label != "vpce-1"));
    }

    #[test]
    fn shorten_cuts_at_a_word_and_marks_it() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("one two three four five", 17), "one two three…");
        assert_eq!(shorten("abcdefghijklmnop", 6), "abcde…");
        assert!(shorten(&"é".repeat(200), 90).chars().count() <= 90);
    }
}
