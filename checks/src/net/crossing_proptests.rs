//! Properties of paths across a peering connection or a transit gateway.
//!
//! A world is the far database reached over a working peering or transit
//! gateway (`fixtures::lab_peered`, `fixtures::lab_via_transit_gateway`),
//! bent by any set of breaks, changes that cannot matter, and reads that
//! failed. Any break blocks every path or leaves it unknown; a failed read
//! never makes a path reachable that would not be; harmless changes keep
//! a working world working.

use proptest::prelude::*;
use proptest::sample::subsequence;

use super::*;
use crate::facts::*;
use crate::fixtures::{self, get, net, route, tcp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    Peering,
    TransitGateway,
}

/// What stops the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Break {
    /// The Lambda side's route to the database's VPC.
    ForwardRoute,
    /// The database side's route back.
    ReturnRoute,
    /// Peering: not active. Transit gateway: the database VPC's attachment
    /// is not available.
    LinkState,
    /// Peering: it joins the Lambda's VPC with another. Transit gateway: the
    /// Lambda's attachment is associated with no route table.
    LinkElsewhere,
    /// Only a group reference admits the Lambda, and it does not carry
    /// (peering across Regions; transit gateway as built).
    ReferenceOnly,
}

/// What cannot matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Harmless {
    /// A route elsewhere, to another peering, in both tables.
    RouteElsewhere,
    /// Another peering connection, pending, between other VPCs.
    SparePeering,
    /// The database group also admits a range far away.
    FarRangeRule,
}

/// Which read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unread {
    Peerings,
    Attachments,
    TgwRouteTables,
    RouteTables,
}

const BREAKS: [Break; 5] = [
    Break::ForwardRoute,
    Break::ReturnRoute,
    Break::LinkState,
    Break::LinkElsewhere,
    Break::ReferenceOnly,
];
const HARMLESS: [Harmless; 3] = [
    Harmless::RouteElsewhere,
    Harmless::SparePeering,
    Harmless::FarRangeRule,
];
const UNREAD: [Unread; 4] = [
    Unread::Peerings,
    Unread::Attachments,
    Unread::TgwRouteTables,
    Unread::RouteTables,
];

fn table<'a>(facts: &'a mut Facts, id: &str) -> &'a mut RouteTable {
    get(&mut facts.network.route_tables)
        .iter_mut()
        .find(|t| t.id == id)
        .expect("route table")
}

fn far_group(facts: &mut Facts) -> &mut SecurityGroup {
    get(&mut facts.network.security_groups)
        .iter_mut()
        .find(|g| g.id == "sg-far-db")
        .expect("sg-far-db")
}

fn world(via: Via) -> Facts {
    match via {
        Via::Peering => fixtures::lab_peered(),
        Via::TransitGateway => fixtures::lab_via_transit_gateway(),
    }
}

fn apply_break(facts: &mut Facts, via: Via, what: Break) {
    let range = |facts: &mut Facts, table_id: &str, cidr: &str| {
        table(facts, table_id)
            .routes
            .retain(|r| r.destination != RouteDestination::Cidr(net(cidr)));
    };
    match (what, via) {
        (Break::ForwardRoute, _) => range(facts, "rtb-private", "10.1.0.0/16"),
        (Break::ReturnRoute, _) => range(facts, "rtb-far", "10.0.0.0/16"),
        (Break::LinkState, Via::Peering) => {
            get(&mut facts.network.peering_connections)[0].status = "pending-acceptance".into()
        }
        (Break::LinkState, Via::TransitGateway) => {
            get(&mut facts.network.transit_gateway_attachments)[1].state =
                Some("pendingAcceptance".into())
        }
        (Break::LinkElsewhere, Via::Peering) => {
            get(&mut facts.network.peering_connections)[0]
                .accepter
                .vpc_id = "vpc-hub".into()
        }
        (Break::LinkElsewhere, Via::TransitGateway) => {
            get(&mut facts.network.transit_gateway_route_tables)[0]
                .associated_attachment_ids
                .retain(|a| a != "tgw-attach-lab")
        }
        (Break::ReferenceOnly, via) => {
            if via == Via::Peering {
                get(&mut facts.network.peering_connections)[0]
                    .accepter
                    .region = Some("eu-west-1".into());
            }
            far_group(facts)
                .ingress
                .retain(|r| matches!(r.peer, SgPeer::Group(_)));
        }
    }
}

fn apply_harmless(facts: &mut Facts, what: Harmless) {
    match what {
        Harmless::RouteElsewhere => {
            for id in ["rtb-private", "rtb-far"] {
                table(facts, id).routes.push(route(
                    "192.168.0.0/16",
                    RouteTarget::VpcPeering("pcx-spare".into()),
                ));
            }
        }
        Harmless::SparePeering => {
            let spare = fixtures::peering(
                "pcx-spare",
                "pending-acceptance",
                ("vpc-x", "172.16.0.0/16"),
                ("vpc-y", "172.17.0.0/16"),
            );
            match &mut facts.network.peering_connections {
                Fact::Present(list) => list.push(spare),
                other => *other = Fact::Present(vec![spare]),
            }
        }
        Harmless::FarRangeRule => far_group(facts)
            .ingress
            .push(tcp(3306, SgPeer::Cidr(net("192.168.0.0/16")))),
    }
}

fn apply_unread(facts: &mut Facts, what: Unread) {
    let denied = |call: &str| Unavailable {
        call: call.to_string(),
        kind: ErrorKind::AccessDenied,
        message: "not authorized".to_string(),
    };
    let network = &mut facts.network;
    match what {
        Unread::Peerings => {
            network.peering_connections =
                Fact::Unavailable(denied("ec2:DescribeVpcPeeringConnections"))
        }
        Unread::Attachments => {
            network.transit_gateway_attachments =
                Fact::Unavailable(denied("ec2:DescribeTransitGatewayVpcAttachments"))
        }
        Unread::TgwRouteTables => {
            network.transit_gateway_route_tables =
                Fact::Unavailable(denied("ec2:DescribeTransitGatewayRouteTables"))
        }
        Unread::RouteTables => {
            network.route_tables = Fact::Unavailable(denied("ec2:DescribeRouteTables"))
        }
    }
}

/// Whether a read is one the world's path needs.
fn needed(via: Via, what: Unread) -> bool {
    match what {
        Unread::Peerings => via == Via::Peering,
        Unread::Attachments | Unread::TgwRouteTables => via == Via::TransitGateway,
        Unread::RouteTables => true,
    }
}

fn verdicts(facts: &Facts) -> Result<Vec<Verdict>, TestCaseError> {
    let paths = database_paths(facts)
        .map_err(|e| TestCaseError::fail(format!("database_paths erred: {e}")))?;
    prop_assert_eq!(paths.len(), 2);
    Ok(paths.iter().map(|p| p.verdict).collect())
}

fn via() -> impl Strategy<Value = Via> {
    prop_oneof![Just(Via::Peering), Just(Via::TransitGateway)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Harmless changes keep both worlds reachable.
    #[test]
    fn harmless_changes_keep_the_crossing_reachable(
        via in via(),
        harmless in subsequence(HARMLESS.to_vec(), 0..=HARMLESS.len()),
    ) {
        let mut facts = world(via);
        for what in &harmless {
            apply_harmless(&mut facts, *what);
        }
        prop_assert_eq!(verdicts(&facts)?, vec![Verdict::Reachable; 2]);
    }

    /// Any break, with any harmless change, blocks every path, naming a
    /// component; a failed read of something the path needs makes it
    /// blocked or unknown, never reachable.
    #[test]
    fn a_break_blocks_and_an_unread_piece_is_never_reachable(
        via in via(),
        breaks in subsequence(BREAKS.to_vec(), 1..=BREAKS.len()),
        harmless in subsequence(HARMLESS.to_vec(), 0..=HARMLESS.len()),
        unread in subsequence(UNREAD.to_vec(), 0..=UNREAD.len()),
    ) {
        let mut facts = world(via);
        for what in &harmless {
            apply_harmless(&mut facts, *what);
        }
        for what in &breaks {
            apply_break(&mut facts, via, *what);
        }
        let unread_needed = unread.iter().any(|u| needed(via, *u));
        if !unread_needed {
            prop_assert_eq!(verdicts(&facts)?, vec![Verdict::Blocked; 2]);
            for path in database_paths(&facts).unwrap_or_default() {
                prop_assert!(path.blocked_by.is_some(), "{}", render_path(&path));
            }
        }
        for what in &unread {
            apply_unread(&mut facts, *what);
        }
        for verdict in verdicts(&facts)? {
            prop_assert_ne!(verdict, Verdict::Reachable);
        }
    }

    /// In a working world, a failed read the path needs makes every path
    /// unknown; one it does not need changes nothing.
    #[test]
    fn an_unread_piece_is_unknown_only_where_needed(
        via in via(),
        unread in subsequence(UNREAD.to_vec(), 1..=UNREAD.len()),
    ) {
        let mut facts = world(via);
        for what in &unread {
            apply_unread(&mut facts, *what);
        }
        let expected = if unread.iter().any(|u| needed(via, *u)) {
            Verdict::Unknown
        } else {
            Verdict::Reachable
        };
        prop_assert_eq!(verdicts(&facts)?, vec![expected; 2]);
    }
}
