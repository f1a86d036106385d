//! Security groups: stateful, allow-only. A flow passes a side when any rule
//! of any group on that side admits it; the return traffic is allowed
//! automatically.

use super::{coverage, Coverage, Endpoint, HopVerdict, NetIndex};
use crate::facts::{SgPeer, SgRule};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The source's groups, outbound.
    Egress,
    /// The destination's groups, inbound.
    Ingress,
}

/// The other end of the flow, as a rule would name it.
pub struct Peer<'a> {
    /// Its security groups (a group reference matches any of them).
    pub groups: &'a [String],
    /// Its addresses.
    pub address: Endpoint,
    /// Whether a rule naming one of `groups` matches them on this path.
    pub group_references: References,
}

/// Whether a security group reference carries between the two ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum References {
    /// Same VPC, or a peering in one Region.
    #[default]
    Carried,
    /// It does not, and why (a transit gateway without security group
    /// referencing, a peering across Regions).
    NotCarried(String),
    /// Whether it does could not be read, and why.
    Unknown(String),
}

pub struct SgOutcome {
    pub verdict: HopVerdict,
    /// The group that decided: the admitting one, or all of them when none does.
    pub resource: String,
    pub detail: String,
}

/// Marks the detail of a group whose rule names the other side's group, on
/// a path that does not carry group references (a transit gateway without
/// security group referencing, a peering across Regions).
pub const NOT_CARRIED: &str = " by group reference, but ";

pub fn tcp_rule_covers_port(rule: &SgRule, port: u16) -> bool {
    let protocol_matches = matches!(rule.protocol.as_str(), "-1" | "tcp" | "6");
    protocol_matches && rule.ports.is_none_or(|range| range.contains(port))
}

pub fn describe_peer(index: &NetIndex, peer: &SgPeer) -> String {
    match peer {
        SgPeer::Cidr(cidr) => cidr.to_string(),
        SgPeer::Group(id) => index.label(id),
        SgPeer::PrefixList(id) => format!("prefix list {id}"),
    }
}

/// Whether the groups on one side admit tcp/`port` to or from `peer`.
pub fn evaluate(
    index: &NetIndex,
    group_ids: &[String],
    direction: Direction,
    port: u16,
    peer: &Peer,
) -> SgOutcome {
    let (verb, preposition) = match direction {
        Direction::Egress => ("allows", "to"),
        Direction::Ingress => ("admits", "from"),
    };
    let mut unknown = Vec::new();
    let mut partial = Vec::new();
    let mut other_peers_on_port = Vec::new();
    let mut unreferenceable = Vec::new();
    for group_id in group_ids {
        let group = match index.security_group(group_id) {
            Ok(group) => group,
            Err(reason) => {
                unknown.push(reason);
                continue;
            }
        };
        let rules = match direction {
            Direction::Egress => &group.egress,
            Direction::Ingress => &group.ingress,
        };
        for rule in rules.iter().filter(|r| tcp_rule_covers_port(r, port)) {
            let admitted = match &rule.peer {
                SgPeer::Group(id) if peer.groups.contains(id) => {
                    match &peer.group_references {
                        References::Carried => true,
                        References::Unknown(why) => {
                            unknown.push(format!(
                                "{} {verb} tcp/{port} {preposition} {} by group reference, and {why}",
                                index.label(group_id),
                                index.label(id)
                            ));
                            false
                        }
                        References::NotCarried(why) => {
                            unreferenceable.push(format!(
                                "{} {verb} tcp/{port} {preposition} {}{NOT_CARRIED}{why}",
                                index.label(group_id),
                                index.label(id)
                            ));
                            // Said above; not among the peers it admits.
                            continue;
                        }
                    }
                }
                SgPeer::Group(_) => false,
                SgPeer::Cidr(cidr) => match coverage(cidr, peer.address) {
                    Coverage::All => true,
                    Coverage::Some => {
                        partial.push(format!(
                            "{} {verb} only part of it ({cidr})",
                            index.label(group_id)
                        ));
                        false
                    }
                    Coverage::None => false,
                },
                SgPeer::PrefixList(id) => {
                    unknown.push(format!(
                        "{} {verb} tcp/{port} {preposition} prefix list {id}, whose entries were not read",
                        index.label(group_id)
                    ));
                    false
                }
            };
            if admitted {
                return SgOutcome {
                    verdict: HopVerdict::Pass,
                    resource: group_id.clone(),
                    detail: format!(
                        "{} {verb} tcp/{port} {preposition} {}",
                        index.label(group_id),
                        describe_peer(index, &rule.peer)
                    ),
                };
            }
            other_peers_on_port.push(describe_peer(index, &rule.peer));
        }
    }
    let groups = group_ids.join(", ");
    let labels = index.labels(group_ids);
    let what = match direction {
        Direction::Egress => format!("{} (destination)", peer.address),
        Direction::Ingress => {
            let mut names: Vec<String> = peer.groups.iter().map(|g| index.label(g)).collect();
            names.push(peer.address.to_string());
            names.join(", ")
        }
    };
    if !unknown.is_empty() {
        return SgOutcome {
            verdict: HopVerdict::Unknown,
            resource: groups,
            detail: unknown.join("; "),
        };
    }
    let mut detail = if group_ids.is_empty() {
        "no security group is attached".to_string()
    } else {
        format!("{labels} {verb} no tcp/{port} {preposition} {what}")
    };
    // A reference that would admit the flow but does not carry across the
    // link is the finding's first clause: it is what to change.
    if !unreferenceable.is_empty() {
        detail = format!("{}; {detail}", unreferenceable.join("; "));
    }
    other_peers_on_port.sort();
    other_peers_on_port.dedup();
    if !other_peers_on_port.is_empty() {
        detail.push_str(&format!(
            "; on tcp/{port} it {verb} only {}",
            other_peers_on_port.join(", ")
        ));
    }
    if !partial.is_empty() {
        detail.push_str(&format!("; {}", partial.join("; ")));
    }
    SgOutcome {
        verdict: HopVerdict::Block,
        resource: groups,
        detail,
    }
}
