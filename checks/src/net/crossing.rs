//! Paths that leave the Lambda's VPC through a VPC peering connection or a
//! transit gateway. Both directions are followed: a reply that cannot come
//! back fails the connection as surely as a request that cannot arrive.
//!
//! Security group references across the link: a peering connection in one
//! Region carries them both ways
//! (<https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html>);
//! a transit gateway carries them only in inbound rules, and only when the
//! transit gateway has security group referencing enabled (off by default)
//! and the attachments have not turned it off (on by default)
//! (<https://aws.amazon.com/blogs/networking-and-content-delivery/introducing-security-group-referencing-for-aws-transit-gateway/>,
//! <https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html>).

use super::index::longest_match;
use super::sg::References;
use super::{HopKind, HopVerdict, NetIndex, PathBuilder};
use crate::facts::{
    PeeringConnection, PeeringSide, RouteTarget, Subnet, TransitGatewayAttachment,
    TransitGatewayRoute, TransitGatewayRouteTable,
};

/// Whether the database's and the Lambda's security group rules may name
/// the other side's groups on this path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupReferences {
    /// The Lambda's outbound rules naming the database's groups.
    pub egress: References,
    /// The database's inbound rules naming the Lambda's groups.
    pub ingress: References,
}

/// The two subnets of the flow and their IPv4 ranges.
pub struct Ends<'a> {
    pub source: &'a Subnet,
    pub target: &'a Subnet,
    pub source_range: ipnet::IpNet,
    pub target_range: ipnet::IpNet,
}

/// The peering connection `pcx_id` (the Lambda's route to the database
/// leads to it) and the database subnet's route back.
pub fn through_peering(
    path: &mut PathBuilder,
    index: &NetIndex,
    pcx_id: &str,
    ends: &Ends,
) -> GroupReferences {
    let (source, target) = (ends.source, ends.target);
    let peering = match index.peering_connection(pcx_id) {
        Ok(peering) => peering,
        Err(reason) => {
            path.hop(pcx_id, HopKind::VpcPeering, HopVerdict::Unknown, reason);
            return GroupReferences::default();
        }
    };
    if peering.status != "active" {
        path.hop(
            pcx_id,
            HopKind::VpcPeering,
            HopVerdict::Block,
            format!(
                "{pcx_id} is {}, not active: no traffic crosses it until it is accepted and active",
                peering.status
            ),
        );
        return GroupReferences::default();
    }
    let Some(peer) = peering.other_side(&source.vpc_id) else {
        path.hop(
            pcx_id,
            HopKind::VpcPeering,
            HopVerdict::Block,
            format!(
                "{pcx_id} connects {} and {}, not the Lambda's {}",
                peering.requester.vpc_id, peering.accepter.vpc_id, source.vpc_id
            ),
        );
        return GroupReferences::default();
    };
    if peer.vpc_id != target.vpc_id {
        path.hop(
            pcx_id,
            HopKind::VpcPeering,
            HopVerdict::Block,
            format!(
                "{pcx_id} leads to {}, not to the database's {}: a peering connection is not \
                 transitive, it reaches only the peer VPC itself",
                peer.vpc_id, target.vpc_id
            ),
        );
        return GroupReferences::default();
    }
    path.hop(
        pcx_id,
        HopKind::VpcPeering,
        HopVerdict::Pass,
        format!(
            "{pcx_id} is active between {} and {}{}",
            source.vpc_id,
            peer.vpc_id,
            where_other(peering, &source.vpc_id)
        ),
    );

    return_route(
        path,
        index,
        ends,
        &RouteTarget::VpcPeering(pcx_id.to_string()),
        &peer_description(peering, &source.vpc_id, peer),
    );

    let cross_region = matches!(
        (&peering.requester.region, &peering.accepter.region),
        (Some(a), Some(b)) if a != b
    );
    let references = if cross_region {
        References::NotCarried(format!(
            "{pcx_id} joins two Regions, and a security group reference does not cross Regions"
        ))
    } else {
        References::Carried
    };
    GroupReferences {
        egress: references.clone(),
        ingress: references,
    }
}

/// ` (account 1111…, us-west-2)` when the peer side's account or Region
/// differs from the Lambda's side, else nothing.
fn where_other(peering: &PeeringConnection, own_vpc: &str) -> String {
    let (Some(own), Some(other)) = (peering.side(own_vpc), peering.other_side(own_vpc)) else {
        return String::new();
    };
    let mut parts = Vec::new();
    if let Some(account) = other
        .owner_id
        .as_ref()
        .filter(|a| Some(*a) != own.owner_id.as_ref())
    {
        parts.push(format!("account {account}"));
    }
    if let Some(region) = other
        .region
        .as_ref()
        .filter(|r| Some(*r) != own.region.as_ref())
    {
        parts.push(format!("Region {region}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (the peer is in {})", parts.join(", "))
    }
}

/// `the peer VPC vpc-… (in account 1111…)`, for a read that failed.
fn peer_description(peering: &PeeringConnection, own_vpc: &str, peer: &PeeringSide) -> String {
    let place = where_other(peering, own_vpc);
    format!("the peer VPC {}{place}", peer.vpc_id)
}

/// The database subnet's route back to the Lambda's subnet through `via`.
fn return_route(
    path: &mut PathBuilder,
    index: &NetIndex,
    ends: &Ends,
    via: &RouteTarget,
    peer: &str,
) {
    let (target, source_range) = (ends.target, ends.source_range);
    let table = match index.route_table_for(target) {
        Ok(table) => table,
        Err(reason) => {
            path.hop(
                &target.id,
                HopKind::RouteTable,
                HopVerdict::Unknown,
                format!("{peer}: its route tables could not be read ({reason})"),
            );
            return;
        }
    };
    let via_id = via.id();
    let (verdict, detail) = match longest_match(table, source_range) {
        Some(route) if route.state.as_deref() == Some("blackhole") => (
            HopVerdict::Block,
            format!(
                "{}: the return route to {source_range} is a blackhole",
                table.id
            ),
        ),
        Some(route) if &route.target == via => (
            HopVerdict::Pass,
            format!(
                "{}: return route to {source_range} through {via_id}",
                table.id
            ),
        ),
        Some(route) => (
            HopVerdict::Block,
            format!(
                "{} (the database subnet {}'s route table) sends {source_range} to {}, not back \
                 through {via_id}: the database's replies never reach the Lambda",
                table.id,
                target.id,
                route.target.id()
            ),
        ),
        None => (
            HopVerdict::Block,
            format!(
                "{} (the database subnet {}'s route table) has no route back to {source_range} \
                 through {via_id}: the database's replies never reach the Lambda",
                table.id, target.id
            ),
        ),
    };
    path.hop(&table.id, HopKind::RouteTable, verdict, detail);
}

/// The transit gateway `tgw_id` (the Lambda's route to the database leads
/// to it): both VPCs' attachments, the transit gateway route tables both
/// ways, and the database subnet's route back.
pub fn through_transit_gateway(
    path: &mut PathBuilder,
    index: &NetIndex,
    tgw_id: &str,
    ends: &Ends,
) -> GroupReferences {
    let (source, target) = (ends.source, ends.target);
    let refs_unknown = GroupReferences {
        egress: References::NotCarried(OUTBOUND_NOT_ACROSS_TGW.to_string()),
        ingress: References::Carried,
    };
    let Some(source_attachment) = attachment(path, index, tgw_id, source, "the Lambda's") else {
        return refs_unknown;
    };
    let Some(target_attachment) = attachment(path, index, tgw_id, target, "the database's") else {
        return refs_unknown;
    };
    let forward = tgw_route(
        path,
        index,
        source_attachment,
        ends.target_range,
        target_attachment,
    );
    let back = tgw_route(
        path,
        index,
        target_attachment,
        ends.source_range,
        source_attachment,
    );
    if forward && back {
        return_route(
            path,
            index,
            ends,
            &RouteTarget::TransitGateway(tgw_id.to_string()),
            &format!("the database's VPC {}", target.vpc_id),
        );
    }
    GroupReferences {
        egress: References::NotCarried(OUTBOUND_NOT_ACROSS_TGW.to_string()),
        ingress: tgw_ingress_references(index, tgw_id, source_attachment, target_attachment),
    }
}

const OUTBOUND_NOT_ACROSS_TGW: &str =
    "an outbound rule cannot reference a security group across a transit gateway";

fn tgw_ingress_references(
    index: &NetIndex,
    tgw_id: &str,
    source: &TransitGatewayAttachment,
    target: &TransitGatewayAttachment,
) -> References {
    match index.transit_gateway(tgw_id) {
        Err(reason) => {
            return References::Unknown(format!("whether {tgw_id} carries it is unknown: {reason}"))
        }
        Ok(tgw) => match tgw.security_group_referencing {
            Some(true) => {}
            Some(false) => {
                return References::NotCarried(format!(
                    "{tgw_id} does not have security group referencing enabled, so a reference \
                     across it matches nothing"
                ))
            }
            None => {
                return References::Unknown(format!(
                    "{tgw_id} does not report whether security group referencing is enabled"
                ))
            }
        },
    }
    // An attachment reports the option `enable` unless turned off.
    [source, target]
        .into_iter()
        .find(|a| a.security_group_referencing == Some(false))
        .map_or(References::Carried, |a| {
            References::NotCarried(format!(
                "{} has security group referencing disabled, so a reference across {tgw_id} \
                 matches nothing",
                a.id
            ))
        })
}

/// The available attachment of `subnet`'s VPC to the transit gateway, with
/// a subnet in `subnet`'s Availability Zone (a transit gateway takes and
/// delivers traffic only in the zones its attachment has a subnet in); a
/// hop when there is none.
fn attachment<'a>(
    path: &mut PathBuilder,
    index: &NetIndex<'a>,
    tgw_id: &str,
    subnet: &Subnet,
    whose: &str,
) -> Option<&'a TransitGatewayAttachment> {
    let attachments = match index.transit_gateway_attachments(tgw_id, &subnet.vpc_id) {
        Ok(attachments) => attachments,
        Err(reason) => {
            path.hop(tgw_id, HopKind::TransitGateway, HopVerdict::Unknown, reason);
            return None;
        }
    };
    let available = attachments
        .iter()
        .copied()
        .find(|a| a.state.as_deref().is_none_or(|s| s == "available"));
    let Some(found) = available else {
        let states: Vec<String> = attachments
            .iter()
            .map(|a| format!("{} is {}", a.id, a.state.as_deref().unwrap_or("unknown")))
            .collect();
        let detail = if states.is_empty() {
            format!("{whose} VPC {} is not attached to {tgw_id}", subnet.vpc_id)
        } else {
            format!(
                "{whose} VPC {} has no available attachment to {tgw_id} ({})",
                subnet.vpc_id,
                states.join(", ")
            )
        };
        path.hop(tgw_id, HopKind::TransitGateway, HopVerdict::Block, detail);
        return None;
    };
    if let Some(zone) = &subnet.availability_zone {
        let zones: Vec<Option<String>> = found
            .subnet_ids
            .iter()
            .map(|id| {
                index
                    .subnet(id)
                    .ok()
                    .and_then(|s| s.availability_zone.clone())
            })
            .collect();
        let all_known = zones.iter().all(Option::is_some);
        if all_known && !zones.iter().any(|z| z.as_ref() == Some(zone)) {
            path.hop(
                &found.id,
                HopKind::TransitGateway,
                HopVerdict::Block,
                format!(
                    "{} has no subnet in {zone}, where {whose} subnet {} is: a transit gateway \
                     carries traffic only in the Availability Zones its attachment has a subnet in",
                    found.id, subnet.id
                ),
            );
            return None;
        }
    }
    Some(found)
}

/// The route `from`'s associated transit gateway route table gives to
/// `range`, which must lead to `to`. True when it does.
fn tgw_route(
    path: &mut PathBuilder,
    index: &NetIndex,
    from: &TransitGatewayAttachment,
    range: ipnet::IpNet,
    to: &TransitGatewayAttachment,
) -> bool {
    let tgw_id = &from.transit_gateway_id;
    let table = match index.transit_gateway_route_table_of(&from.id) {
        Ok(Some(table)) => table,
        Ok(None) => {
            path.hop(
                &from.id,
                HopKind::TransitGateway,
                HopVerdict::Block,
                format!(
                    "{} is associated with no route table of {tgw_id}: the transit gateway \
                     drops the traffic it sends",
                    from.id
                ),
            );
            return false;
        }
        Err(reason) => {
            path.hop(tgw_id, HopKind::TransitGateway, HopVerdict::Unknown, reason);
            return false;
        }
    };
    let (verdict, detail) = match tgw_longest_match(index, table, range) {
        None => (
            HopVerdict::Block,
            format!(
                "{} (associated with {}) has no route to {range}, static or propagated",
                table.id, from.id
            ),
        ),
        Some(route)
            if route.state.as_deref() == Some("blackhole") || route.attachment_ids.is_empty() =>
        {
            (
                HopVerdict::Block,
                format!(
                    "{} sends {range} to a blackhole ({})",
                    table.id, route.destination
                ),
            )
        }
        Some(route) if route.attachment_ids.contains(&to.id) => (
            HopVerdict::Pass,
            format!(
                "{} (associated with {}) sends {range} to {} ({} route {})",
                table.id,
                from.id,
                to.id,
                route.route_type.as_deref().unwrap_or("a"),
                route.destination
            ),
        ),
        Some(route) => (
            HopVerdict::Block,
            format!(
                "{} sends {range} to {}, not to {} of {}",
                table.id,
                route.attachment_ids.join(", "),
                to.id,
                to.vpc_id
            ),
        ),
    };
    let ok = verdict == HopVerdict::Pass;
    path.hop(&table.id, HopKind::TransitGateway, verdict, detail);
    ok
}

/// Longest-prefix match over the table's routes and the ranges its
/// propagating VPC attachments bring. The propagated routes are derived as
/// well as read: a transit gateway learns each propagating VPC's ranges,
/// and moto lists none of them (docs/moto-notes.md, "EC2 (VPC)"). A static
/// route wins over a propagated one to the same range, as in AWS.
pub fn tgw_longest_match(
    index: &NetIndex,
    table: &TransitGatewayRouteTable,
    range: ipnet::IpNet,
) -> Option<TransitGatewayRoute> {
    let mut candidates: Vec<TransitGatewayRoute> = table
        .routes
        .iter()
        .filter(|r| r.state.as_deref() != Some("deleted"))
        .cloned()
        .collect();
    for attachment_id in &table.propagating_attachment_ids {
        let Some(attachment) = index.attachment(attachment_id) else {
            continue;
        };
        let Some(vpc) = index.vpc(&attachment.vpc_id) else {
            continue;
        };
        for cidr in &vpc.cidrs {
            if !candidates.iter().any(|r| &r.destination == cidr) {
                candidates.push(TransitGatewayRoute {
                    destination: *cidr,
                    attachment_ids: vec![attachment_id.clone()],
                    route_type: Some("propagated".to_string()),
                    state: Some("active".to_string()),
                });
            }
        }
    }
    candidates
        .into_iter()
        .filter(|r| r.destination.contains(&range))
        .max_by_key(|r| {
            (
                r.destination.prefix_len(),
                r.route_type.as_deref() == Some("static"),
            )
        })
}
