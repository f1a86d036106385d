//! Properties of the engine on randomly bent versions of the lab network.

use proptest::prelude::*;

use super::*;
use crate::facts::*;
use crate::fixtures::{self, get};

const CIDRS: [&str; 7] = [
    "0.0.0.0/0",
    "10.0.0.0/16",
    "10.0.0.0/8",
    "10.0.11.0/24",
    "10.0.1.0/24",
    "10.0.12.0/25",
    "192.168.0.0/16",
];
const GROUPS: [&str; 3] = ["sg-db", "sg-lambda", "sg-other"];

fn peer() -> impl Strategy<Value = SgPeer> {
    prop_oneof![
        (0..CIDRS.len()).prop_map(|i| SgPeer::Cidr(fixtures::net(CIDRS[i]))),
        (0..GROUPS.len()).prop_map(|i| SgPeer::Group(GROUPS[i].to_string())),
    ]
}

fn ports() -> impl Strategy<Value = Option<PortRange>> {
    prop_oneof![
        Just(None),
        Just(Some(PortRange {
            from: 3306,
            to: 3306
        })),
        Just(Some(PortRange { from: 443, to: 443 })),
        Just(Some(PortRange {
            from: 1024,
            to: 65535
        })),
        (0u16..4000, 0u16..4000).prop_map(|(a, b)| Some(PortRange {
            from: a.min(b),
            to: a.max(b)
        })),
    ]
}

fn sg_rule() -> impl Strategy<Value = SgRule> {
    (
        prop_oneof![Just("-1"), Just("tcp"), Just("udp")],
        ports(),
        peer(),
    )
        .prop_map(|(protocol, ports, peer)| SgRule {
            protocol: protocol.to_string(),
            ports: if protocol == "-1" { None } else { ports },
            peer,
            description: None,
        })
}

fn acl_entry() -> impl Strategy<Value = AclEntry> {
    (
        1i32..200,
        any::<bool>(),
        any::<bool>(),
        0..CIDRS.len(),
        ports(),
    )
        .prop_map(|(rule_number, egress, allow, cidr, ports)| AclEntry {
            rule_number,
            egress,
            protocol: if ports.is_some() { "6" } else { "-1" }.to_string(),
            allow,
            cidr: Some(fixtures::net(CIDRS[cidr])),
            port_range: ports,
        })
}

/// The lab (moved or not), with random rules on the groups and a random
/// custom network ACL on the database subnets.
fn world() -> impl Strategy<Value = Facts> {
    (
        any::<bool>(),
        proptest::collection::vec((0..2usize, any::<bool>(), sg_rule()), 0..6),
        proptest::collection::vec(acl_entry(), 0..8),
    )
        .prop_map(|(moved, rules, entries)| {
            let mut facts = if moved {
                fixtures::lab_moved()
            } else {
                fixtures::lab()
            };
            let groups = get(&mut facts.network.security_groups);
            groups[0].ingress.clear();
            groups[1].egress.clear();
            for (group, ingress, rule) in rules {
                if ingress {
                    groups[group].ingress.push(rule);
                } else {
                    groups[group].egress.push(rule);
                }
            }
            let acls = get(&mut facts.network.network_acls);
            acls[0].subnet_ids.retain(|s| !s.starts_with("subnet-db"));
            let mut seen = std::collections::HashSet::new();
            acls.push(NetworkAcl {
                id: "acl-db".into(),
                vpc_id: "vpc-lab".into(),
                is_default: false,
                subnet_ids: vec!["subnet-db-a".into(), "subnet-db-b".into()],
                // Rule numbers are unique per direction, as in AWS.
                entries: entries
                    .into_iter()
                    .filter(|e| seen.insert((e.rule_number, e.egress)))
                    .collect(),
            });
            facts
        })
}

fn verdicts(facts: &Facts) -> Vec<Verdict> {
    let mut all: Vec<Verdict> = database_paths(facts)
        .unwrap_or_default()
        .iter()
        .map(|p| p.verdict)
        .collect();
    all.extend(
        secretsmanager_paths(facts)
            .unwrap_or_default()
            .iter()
            .map(|p| p.verdict),
    );
    all
}

proptest! {
    #[test]
    fn adding_a_security_group_rule_never_blocks_a_reachable_path(
        facts in world(), group in 0..2usize, ingress in any::<bool>(), rule in sg_rule()
    ) {
        let before = verdicts(&facts);
        let mut more = facts.clone();
        let groups = get(&mut more.network.security_groups);
        if ingress { groups[group].ingress.push(rule) } else { groups[group].egress.push(rule) }
        for (b, a) in before.iter().zip(verdicts(&more)) {
            prop_assert!(!(*b == Verdict::Reachable && a == Verdict::Blocked));
        }
    }

    #[test]
    fn adding_a_network_acl_allow_never_blocks_a_reachable_path(
        facts in world(), mut entry in acl_entry()
    ) {
        entry.allow = true;
        let acls = facts.network.network_acls.present().expect("world has ACLs");
        let taken = acls[1].entries.iter().any(|e| e.rule_number == entry.rule_number && e.egress == entry.egress);
        prop_assume!(!taken);
        let before = verdicts(&facts);
        let mut more = facts.clone();
        get(&mut more.network.network_acls)[1].entries.push(entry);
        for (b, a) in before.iter().zip(verdicts(&more)) {
            prop_assert!(!(*b == Verdict::Reachable && a == Verdict::Blocked));
        }
    }

    #[test]
    fn a_lower_numbered_deny_beats_a_higher_allow(
        allow_number in 2i32..32766, gap in 1i32..100, egress in any::<bool>()
    ) {
        let deny_number = (allow_number - gap).max(1);
        let acl = NetworkAcl {
            id: "acl-x".into(),
            vpc_id: "vpc-lab".into(),
            is_default: false,
            subnet_ids: Vec::new(),
            entries: vec![
                fixtures::acl_entry(allow_number, egress, true, "0.0.0.0/0", None),
                fixtures::acl_entry(deny_number, egress, false, "10.0.0.0/16", Some((3306, 3306))),
            ],
        };
        let (verdict, _) = acl::evaluate(
            &acl, egress, PortRange { from: 3306, to: 3306 }, Endpoint::Range(fixtures::net("10.0.1.0/24")));
        prop_assert_eq!(verdict, HopVerdict::Block);
    }

    #[test]
    fn removing_the_only_default_route_blocks_secretsmanager(facts in world()) {
        let mut facts = facts;
        for table in get(&mut facts.network.route_tables) {
            table.routes.retain(|r| r.destination != RouteDestination::Cidr(fixtures::net("0.0.0.0/0")));
        }
        for path in secretsmanager_paths(&facts).unwrap() {
            prop_assert_eq!(path.verdict, Verdict::Blocked);
        }
    }
}
