//! Paths over a VPC peering connection and a transit gateway.

use super::*;
use crate::facts::*;
use crate::fixtures::{self, get, net, route, tcp};

fn paths(facts: &Facts) -> Vec<NetPath> {
    database_paths(facts).expect("paths")
}

fn verdicts(facts: &Facts) -> Vec<Verdict> {
    paths(facts).iter().map(|p| p.verdict).collect()
}

/// The first deciding hop of each path that is not reachable.
fn deciding(facts: &Facts, verdict: HopVerdict) -> Vec<Hop> {
    paths(facts)
        .into_iter()
        .filter_map(|p| p.hops.into_iter().find(|h| h.verdict == verdict))
        .collect()
}

fn table<'a>(facts: &'a mut Facts, id: &str) -> &'a mut RouteTable {
    get(&mut facts.network.route_tables)
        .iter_mut()
        .find(|t| t.id == id)
        .expect("route table")
}

fn denied(call: &str) -> Unavailable {
    Unavailable {
        call: call.to_string(),
        kind: ErrorKind::AccessDenied,
        message: "not authorized".to_string(),
    }
}

fn far_group(facts: &mut Facts) -> &mut SecurityGroup {
    get(&mut facts.network.security_groups)
        .iter_mut()
        .find(|g| g.id == "sg-far-db")
        .expect("sg-far-db")
}

#[test]
fn an_active_peering_with_routes_both_ways_is_followed() {
    let facts = fixtures::lab_peered();
    for path in paths(&facts) {
        assert_eq!(path.verdict, Verdict::Reachable, "{:#?}", path.hops);
        let kinds: Vec<(HopKind, &str)> = path
            .hops
            .iter()
            .map(|h| (h.kind, h.resource.as_str()))
            .collect();
        assert!(
            kinds.contains(&(HopKind::VpcPeering, "pcx-lab")),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&(HopKind::RouteTable, "rtb-far")),
            "{kinds:?}"
        );
        // The database's group admits the Lambda's by id across the peering.
        let ingress = path
            .hops
            .iter()
            .find(|h| h.kind == HopKind::SecurityGroupIngress)
            .unwrap();
        assert!(
            ingress.detail.contains("from sg-lambda"),
            "{}",
            ingress.detail
        );
        assert!(
            render_path(&path).contains("pcx-lab ✓"),
            "{}",
            render_path(&path)
        );
    }
}

#[test]
fn a_missing_return_route_blocks_at_the_peer_route_table() {
    let mut facts = fixtures::lab_peered();
    table(&mut facts, "rtb-far")
        .routes
        .retain(|r| r.target == RouteTarget::Local);
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.resource, "rtb-far");
        assert!(
            hop.detail.contains("no route back to 10.0.1"),
            "{}",
            hop.detail
        );
        assert!(hop.detail.contains("pcx-lab"), "{}", hop.detail);
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);

    // A return route elsewhere is no better.
    let mut facts = fixtures::lab_peered();
    table(&mut facts, "rtb-far").routes[1].target = RouteTarget::NatGateway("nat-far".into());
    for hop in deciding(&facts, HopVerdict::Block) {
        assert!(
            hop.detail.contains("not back through pcx-lab"),
            "{}",
            hop.detail
        );
    }
}

#[test]
fn a_peering_that_is_not_active_blocks() {
    for status in ["pending-acceptance", "rejected", "deleted"] {
        let mut facts = fixtures::lab_peered();
        get(&mut facts.network.peering_connections)[0].status = status.to_string();
        for hop in deciding(&facts, HopVerdict::Block) {
            assert_eq!(hop.kind, HopKind::VpcPeering);
            assert!(hop.detail.contains(status), "{}", hop.detail);
        }
        assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2], "{status}");
    }
}

#[test]
fn a_peering_to_another_vpc_is_not_transitive() {
    let mut facts = fixtures::lab_peered();
    get(&mut facts.network.peering_connections)[0]
        .accepter
        .vpc_id = "vpc-hub".into();
    for hop in deciding(&facts, HopVerdict::Block) {
        assert!(hop.detail.contains("not transitive"), "{}", hop.detail);
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);
}

#[test]
fn an_unread_peering_is_unknown_naming_the_call() {
    let mut facts = fixtures::lab_peered();
    facts.network.peering_connections =
        Fact::Unavailable(denied("ec2:DescribeVpcPeeringConnections"));
    assert_eq!(verdicts(&facts), vec![Verdict::Unknown; 2]);
    for hop in deciding(&facts, HopVerdict::Unknown) {
        assert_eq!(hop.kind, HopKind::VpcPeering);
        assert!(
            hop.detail.contains("ec2:DescribeVpcPeeringConnections"),
            "{}",
            hop.detail
        );
    }
}

#[test]
fn an_unread_peer_side_in_another_account_is_unknown_naming_it() {
    let mut facts = fixtures::lab_peered();
    get(&mut facts.network.peering_connections)[0]
        .accepter
        .owner_id = Some("111111111111".into());
    // The peer VPC's route tables are not among those read.
    get(&mut facts.network.route_tables).retain(|t| t.vpc_id != "vpc-db");
    assert_eq!(verdicts(&facts), vec![Verdict::Unknown; 2]);
    for hop in deciding(&facts, HopVerdict::Unknown) {
        assert!(hop.detail.contains("the peer VPC vpc-db"), "{}", hop.detail);
        assert!(
            hop.detail.contains("account 111111111111"),
            "{}",
            hop.detail
        );
        assert!(
            hop.detail.contains("route tables could not be read"),
            "{}",
            hop.detail
        );
    }
}

#[test]
fn a_group_reference_does_not_cross_regions() {
    let mut facts = fixtures::lab_peered();
    get(&mut facts.network.peering_connections)[0]
        .accepter
        .region = Some("eu-west-1".into());
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.resource, "sg-far-db");
        assert!(
            hop.detail.contains("does not cross Regions"),
            "{}",
            hop.detail
        );
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);

    // A range rule does.
    far_group(&mut facts)
        .ingress
        .push(tcp(3306, SgPeer::Cidr(net("10.0.0.0/16"))));
    assert_eq!(verdicts(&facts), vec![Verdict::Reachable; 2]);
}

#[test]
fn a_peer_network_acl_is_evaluated_both_ways() {
    let mut facts = fixtures::lab_peered();
    let acl = get(&mut facts.network.network_acls)
        .iter_mut()
        .find(|a| a.id == "acl-far")
        .unwrap();
    // Outbound replies denied to the Lambda's range.
    acl.entries
        .push(fixtures::acl_entry(50, true, false, "10.0.0.0/16", None));
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(
            (hop.resource.as_str(), hop.kind),
            ("acl-far", HopKind::NetworkAclOutbound)
        );
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);
}

#[test]
fn a_transit_gateway_with_propagated_routes_both_ways_is_followed() {
    let facts = fixtures::lab_via_transit_gateway();
    for path in paths(&facts) {
        assert_eq!(path.verdict, Verdict::Reachable, "{:#?}", path.hops);
        let tgw: Vec<&Hop> = path
            .hops
            .iter()
            .filter(|h| h.kind == HopKind::TransitGateway)
            .collect();
        assert_eq!(tgw.len(), 2, "{tgw:#?}");
        assert!(
            tgw[0]
                .detail
                .contains("to tgw-attach-far (propagated route 10.1.0.0/16)"),
            "{}",
            tgw[0].detail
        );
        assert!(
            tgw[1]
                .detail
                .contains("to tgw-attach-lab (propagated route 10.0.0.0/16)"),
            "{}",
            tgw[1].detail
        );
        assert!(path
            .hops
            .iter()
            .any(|h| h.resource == "rtb-far" && h.verdict == HopVerdict::Pass));
    }
}

#[test]
fn a_group_reference_across_a_transit_gateway_needs_referencing_enabled() {
    let mut facts = fixtures::lab_via_transit_gateway();
    far_group(&mut facts)
        .ingress
        .retain(|r| matches!(r.peer, SgPeer::Group(_)));
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.resource, "sg-far-db");
        assert!(
            hop.detail.contains("security group referencing enabled"),
            "{}",
            hop.detail
        );
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);

    get(&mut facts.network.transit_gateways)[0].security_group_referencing = Some(true);
    assert_eq!(verdicts(&facts), vec![Verdict::Reachable; 2]);

    // An attachment may turn it off.
    get(&mut facts.network.transit_gateway_attachments)[1].security_group_referencing = Some(false);
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);

    // Outbound references never cross: the Lambda's egress to sg-far-db only.
    let mut facts = fixtures::lab_via_transit_gateway();
    let lambda = get(&mut facts.network.security_groups)
        .iter_mut()
        .find(|g| g.id == "sg-lambda")
        .unwrap();
    lambda.egress = vec![tcp(3306, SgPeer::Group("sg-far-db".into()))];
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.kind, HopKind::SecurityGroupEgress);
        assert!(
            hop.detail.contains("outbound rule cannot reference"),
            "{}",
            hop.detail
        );
    }
}

#[test]
fn a_transit_gateway_route_table_decides() {
    // Not associated: the transit gateway drops the Lambda VPC's traffic.
    let mut facts = fixtures::lab_via_transit_gateway();
    get(&mut facts.network.transit_gateway_route_tables)[0]
        .associated_attachment_ids
        .retain(|a| a != "tgw-attach-lab");
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.resource, "tgw-attach-lab");
        assert!(
            hop.detail.contains("associated with no route table"),
            "{}",
            hop.detail
        );
    }

    // Not propagated from the database's VPC and no static route: no route there.
    let mut facts = fixtures::lab_via_transit_gateway();
    get(&mut facts.network.transit_gateway_route_tables)[0]
        .propagating_attachment_ids
        .retain(|a| a != "tgw-attach-far");
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.resource, "tgw-rtb-lab");
        assert!(hop.detail.contains("no route to 10.1."), "{}", hop.detail);
    }
    // A static route puts it back.
    get(&mut facts.network.transit_gateway_route_tables)[0]
        .routes
        .push(TransitGatewayRoute {
            destination: net("10.1.0.0/16"),
            attachment_ids: vec!["tgw-attach-far".into()],
            route_type: Some("static".into()),
            state: Some("active".into()),
        });
    assert_eq!(verdicts(&facts), vec![Verdict::Reachable; 2]);

    // A static blackhole wins over the propagated route to the same range.
    let mut facts = fixtures::lab_via_transit_gateway();
    get(&mut facts.network.transit_gateway_route_tables)[0]
        .routes
        .push(TransitGatewayRoute {
            destination: net("10.0.0.0/16"),
            attachment_ids: Vec::new(),
            route_type: Some("static".into()),
            state: Some("blackhole".into()),
        });
    for hop in deciding(&facts, HopVerdict::Block) {
        assert!(hop.detail.contains("blackhole"), "{}", hop.detail);
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);
}

#[test]
fn a_transit_gateway_attachment_serves_only_its_zones() {
    let mut facts = fixtures::lab_via_transit_gateway();
    get(&mut facts.network.transit_gateway_attachments)[0].subnet_ids =
        vec!["subnet-lambda-a".into()];
    let paths = paths(&facts);
    assert_eq!(paths[0].verdict, Verdict::Reachable);
    assert_eq!(paths[1].verdict, Verdict::Blocked);
    let hop = paths[1]
        .hops
        .iter()
        .find(|h| h.verdict == HopVerdict::Block)
        .unwrap();
    assert!(
        hop.detail.contains("no subnet in us-east-1b"),
        "{}",
        hop.detail
    );
}

#[test]
fn a_missing_attachment_or_return_route_blocks() {
    let mut facts = fixtures::lab_via_transit_gateway();
    get(&mut facts.network.transit_gateway_attachments)[1].state = Some("pendingAcceptance".into());
    for hop in deciding(&facts, HopVerdict::Block) {
        assert!(
            hop.detail.contains("tgw-attach-far is pendingAcceptance"),
            "{}",
            hop.detail
        );
    }

    let mut facts = fixtures::lab_via_transit_gateway();
    table(&mut facts, "rtb-far")
        .routes
        .retain(|r| r.target == RouteTarget::Local);
    for hop in deciding(&facts, HopVerdict::Block) {
        assert_eq!(hop.resource, "rtb-far");
        assert!(hop.detail.contains("through tgw-lab"), "{}", hop.detail);
    }
    assert_eq!(verdicts(&facts), vec![Verdict::Blocked; 2]);
}

#[test]
fn unread_transit_gateway_pieces_are_unknown_naming_the_call() {
    let mut facts = fixtures::lab_via_transit_gateway();
    facts.network.transit_gateway_route_tables =
        Fact::Unavailable(denied("ec2:DescribeTransitGatewayRouteTables"));
    assert_eq!(verdicts(&facts), vec![Verdict::Unknown; 2]);
    for hop in deciding(&facts, HopVerdict::Unknown) {
        assert!(
            hop.detail.contains("ec2:DescribeTransitGatewayRouteTables"),
            "{}",
            hop.detail
        );
    }

    // Old snapshots: nothing collected.
    let mut facts = fixtures::lab_via_transit_gateway();
    facts.network.transit_gateway_attachments = Fact::NotApplicable("not collected".into());
    assert_eq!(verdicts(&facts), vec![Verdict::Unknown; 2]);
}

#[test]
fn no_internet_through_a_peered_vpc() {
    let mut facts = fixtures::lab_moved();
    let private = table(&mut facts, "rtb-private");
    private.routes.retain(|r| r.target == RouteTarget::Local);
    private.routes.push(route(
        "0.0.0.0/0",
        RouteTarget::VpcPeering("pcx-egress".into()),
    ));
    for path in secretsmanager_paths(&facts).expect("paths") {
        assert_eq!(path.verdict, Verdict::Blocked);
        let hop = path
            .hops
            .iter()
            .find(|h| h.verdict == HopVerdict::Block)
            .unwrap();
        assert!(hop.detail.contains("edge-to-edge"), "{}", hop.detail);
    }
}

#[test]
fn an_unread_transit_gateway_option_leaves_a_group_reference_unknown() {
    let mut facts = fixtures::lab_via_transit_gateway();
    far_group(&mut facts)
        .ingress
        .retain(|r| matches!(r.peer, SgPeer::Group(_)));
    facts.network.transit_gateways = Fact::Unavailable(denied("ec2:DescribeTransitGateways"));
    assert_eq!(verdicts(&facts), vec![Verdict::Unknown; 2]);
    for hop in deciding(&facts, HopVerdict::Unknown) {
        assert_eq!(hop.resource, "sg-far-db");
        assert!(
            hop.detail.contains("ec2:DescribeTransitGateways"),
            "{}",
            hop.detail
        );
    }
    // Not reported at all: unknown too.
    facts.network.transit_gateways = Fact::Present(vec![TransitGateway {
        id: "tgw-lab".into(),
        owner_id: None,
        state: None,
        security_group_referencing: None,
    }]);
    assert_eq!(verdicts(&facts), vec![Verdict::Unknown; 2]);
    // A range rule decides without it.
    far_group(&mut facts)
        .ingress
        .push(tcp(3306, SgPeer::Cidr(net("10.0.0.0/16"))));
    assert_eq!(verdicts(&facts), vec![Verdict::Reachable; 2]);
}
