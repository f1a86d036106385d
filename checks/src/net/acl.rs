//! Network ACLs: stateless, evaluated by rule number, first match wins, and
//! an implicit deny at the end (moto's custom ACLs have no entries at all,
//! so "nothing matched" must mean deny: docs/moto-notes.md, "EC2 (VPC)").

use super::{coverage, Coverage, Endpoint, HopVerdict};
use crate::facts::{AclEntry, NetworkAcl, PortRange};

fn protocol_is_tcp(entry: &AclEntry) -> bool {
    matches!(entry.protocol.as_str(), "-1" | "6" | "tcp")
}

/// How an entry's ports relate to the ports the flow needs.
fn port_coverage(entry: &AclEntry, needed: PortRange) -> Coverage {
    if entry.protocol == "-1" {
        return Coverage::All;
    }
    match entry.port_range {
        None => Coverage::All,
        Some(range) if range.from <= needed.from && needed.to <= range.to => Coverage::All,
        Some(range) if range.from <= needed.to && needed.from <= range.to => Coverage::Some,
        Some(_) => Coverage::None,
    }
}

fn ports_text(ports: PortRange) -> String {
    if ports.from == ports.to {
        format!("tcp/{}", ports.from)
    } else {
        format!("tcp/{}-{}", ports.from, ports.to)
    }
}

/// Whether `acl` lets tcp on `ports` pass in one direction to or from `remote`.
pub fn evaluate(
    acl: &NetworkAcl,
    egress: bool,
    ports: PortRange,
    remote: Endpoint,
) -> (HopVerdict, String) {
    let (direction, preposition) = if egress {
        ("outbound", "to")
    } else {
        ("inbound", "from")
    };
    let flow = format!("{direction} {} {preposition} {remote}", ports_text(ports));
    let mut entries: Vec<&AclEntry> = acl
        .entries
        .iter()
        .filter(|e| e.egress == egress && protocol_is_tcp(e))
        .collect();
    entries.sort_by_key(|e| e.rule_number);
    for entry in entries {
        let addresses = match &entry.cidr {
            Some(cidr) => coverage(cidr, remote),
            None => Coverage::None,
        };
        let ports_covered = port_coverage(entry, ports);
        if addresses == Coverage::None || ports_covered == Coverage::None {
            continue;
        }
        let rule = format!(
            "{} rule {} ({} {})",
            acl.id,
            entry.rule_number,
            if entry.allow { "allow" } else { "deny" },
            entry
                .cidr
                .map(|c| c.to_string())
                .unwrap_or_else(|| "?".to_string())
        );
        let whole = addresses == Coverage::All && ports_covered == Coverage::All;
        match (entry.allow, whole) {
            (true, true) => return (HopVerdict::Pass, format!("{rule} allows {flow}")),
            (false, true) => return (HopVerdict::Block, format!("{rule} denies {flow}")),
            (false, false) if matches!(remote, Endpoint::AnyPublic(_)) => {
                return (
                    HopVerdict::Unknown,
                    format!("{rule} denies {flow} for some public addresses, which may include the endpoint's"),
                )
            }
            (false, false) => {
                return (
                    HopVerdict::Block,
                    format!("{rule} denies part of {flow}: some connections are dropped"),
                )
            }
            // An allow for part of the flow: the rest is decided further down.
            (true, false) => continue,
        }
    }
    (
        HopVerdict::Block,
        format!(
            "{} has no rule that allows {flow} (the implicit final rule denies it)",
            acl.id
        ),
    )
}
