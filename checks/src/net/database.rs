//! Lambda → database on the engine port, from each of the Lambda's subnets
//! (for an ElastiCache user, Lambda → the ElastiCache API on 443).

use super::crossing::{self, Ends, GroupReferences};
use super::index::longest_match;
use super::sg::{self, Direction, Peer};
use super::{
    acl, database_port, Destination, Endpoint, HopKind, HopVerdict, NetIndex, NetPath, PathBuilder,
    PathSource, EPHEMERAL_PORTS,
};
use crate::facts::{Database, DatabaseKind, Facts, PortRange, RouteTarget, Subnet};

/// One path per Lambda subnet (one in all when the Lambda is not in a VPC),
/// or why none can be worked out.
pub fn database_paths(facts: &Facts) -> Result<Vec<NetPath>, String> {
    let lambda = facts
        .lambda
        .present()
        .ok_or_else(|| missing("the rotation Lambda", &facts.lambda))?;
    if facts
        .database
        .present()
        .is_some_and(|db| db.kind == DatabaseKind::ElasticacheUser)
    {
        // Its rotation function talks to the ElastiCache API, never to a
        // cache node (see `DatabaseKind::ElasticacheUser`).
        return super::elasticache_api_paths(facts);
    }
    // Through an RDS Proxy the flow ends at the proxy's subnets and groups.
    let target = match facts.proxy.present() {
        Some(_) => facts.connect_target(),
        None => None,
    };
    let database = match &target {
        Some(proxy) => proxy.as_ref(),
        None => facts
            .database
            .present()
            .ok_or_else(|| missing("the database", &facts.database))?,
    };
    let port = database_port(facts)
        .ok_or("the database port is unknown: neither the secret nor the database gives one")?;
    let index = NetIndex::new(&facts.network);

    let Some(vpc) = &lambda.vpc else {
        return Ok(vec![outside_vpc_path(database, port)]);
    };
    if database.subnet_ids.is_empty() {
        return Err(format!(
            "the subnets of database {} are unknown",
            database.identifier
        ));
    }
    Ok(vpc
        .subnet_ids
        .iter()
        .map(|subnet_id| {
            let from = PathSource {
                subnet: Some(subnet_id.clone()),
                security_groups: vpc.security_group_ids.clone(),
                names: Default::default(),
            };
            // The database may run in any of its subnets (Multi-AZ, failover):
            // a path must work to each, so the worst one stands for all.
            database
                .subnet_ids
                .iter()
                .map(|db_subnet| {
                    path_to_subnet(
                        &index,
                        subnet_id,
                        &vpc.security_group_ids,
                        database,
                        db_subnet,
                        port,
                    )
                    .finish(from.clone(), Destination::Database, port)
                })
                .max_by_key(|path| path.verdict)
                .unwrap_or_else(|| {
                    PathBuilder::default().finish(from.clone(), Destination::Database, port)
                })
        })
        .collect())
}

fn missing<T>(what: &str, fact: &crate::Fact<T>) -> String {
    format!(
        "{what} is unknown ({})",
        fact.missing_reason().unwrap_or_default()
    )
}

fn outside_vpc_path(database: &Database, port: u16) -> NetPath {
    let mut path = PathBuilder::default();
    let name = &database.identifier;
    match database.publicly_accessible {
        Some(true) => path.hop(
            name,
            HopKind::Placement,
            HopVerdict::Unknown,
            format!(
                "the Lambda is not attached to a VPC, so it reaches {name} over the internet from \
                 addresses AWS picks; whether the database's security groups admit them cannot be told"
            ),
        ),
        _ => path.hop(
            name,
            HopKind::Placement,
            HopVerdict::Block,
            format!(
                "the Lambda is not attached to a VPC, and {name} is not publicly accessible{}: \
                 it cannot be reached from outside its VPC",
                database
                    .vpc_id
                    .as_ref()
                    .map(|v| format!(" (it is in {v})"))
                    .unwrap_or_default()
            ),
        ),
    }
    path.finish(
        PathSource {
            subnet: None,
            security_groups: Vec::new(),
            names: Default::default(),
        },
        Destination::Database,
        port,
    )
}

/// The hops of the flow from one Lambda subnet to one database subnet.
fn path_to_subnet(
    index: &NetIndex,
    lambda_subnet_id: &str,
    lambda_groups: &[String],
    database: &Database,
    db_subnet_id: &str,
    port: u16,
) -> PathBuilder {
    let mut path = PathBuilder::default();
    let source = match index.subnet(lambda_subnet_id) {
        Ok(subnet) => subnet,
        Err(reason) => {
            path.hop(
                lambda_subnet_id,
                HopKind::Placement,
                HopVerdict::Unknown,
                reason,
            );
            return path;
        }
    };
    let target = match index.subnet(db_subnet_id) {
        Ok(subnet) => subnet,
        Err(reason) => {
            path.hop(
                db_subnet_id,
                HopKind::Destination,
                HopVerdict::Unknown,
                reason,
            );
            return path;
        }
    };
    let (Some(source_range), Some(target_range)) = (source.cidr, target.cidr) else {
        path.hop(
            &source.id,
            HopKind::Placement,
            HopVerdict::Unknown,
            "a subnet's IPv4 range is unknown".to_string(),
        );
        return path;
    };
    let port_only = PortRange {
        from: port,
        to: port,
    };

    // The route decides whether a group reference reaches the other side,
    // so it is worked out first and its hops placed after the egress.
    let mut routing = PathBuilder::default();
    let ends = Ends {
        source,
        target,
        source_range,
        target_range,
    };
    let references = route_hop(&mut routing, index, &ends);

    let egress = sg::evaluate(
        index,
        lambda_groups,
        Direction::Egress,
        port,
        &Peer {
            groups: &database.security_group_ids,
            address: Endpoint::Range(target_range),
            group_references: references.egress,
        },
    );
    path.hop(
        &egress.resource,
        HopKind::SecurityGroupEgress,
        egress.verdict,
        egress.detail,
    );
    path.hops.extend(routing.hops);

    if source.id != target.id {
        // Traffic inside one subnet never crosses its network ACL.
        acl_hop(&mut path, index, source, true, port_only, target_range);
        acl_hop(&mut path, index, target, false, port_only, source_range);
    }

    let ingress = sg::evaluate(
        index,
        &database.security_group_ids,
        Direction::Ingress,
        port,
        &Peer {
            groups: lambda_groups,
            address: Endpoint::Range(source_range),
            group_references: references.ingress,
        },
    );
    path.hop(
        &ingress.resource,
        HopKind::SecurityGroupIngress,
        ingress.verdict,
        ingress.detail,
    );

    if source.id != target.id {
        // The reply, stateless ACLs only: security groups are stateful.
        acl_hop(
            &mut path,
            index,
            target,
            true,
            EPHEMERAL_PORTS,
            source_range,
        );
        acl_hop(
            &mut path,
            index,
            source,
            false,
            EPHEMERAL_PORTS,
            target_range,
        );
    }
    path.hop(
        &database.identifier,
        HopKind::Destination,
        HopVerdict::Pass,
        format!(
            "database {} on tcp/{port} in {} ({target_range})",
            database.identifier, target.id
        ),
    );
    path
}

/// The Lambda subnet's route to the database, and where it leads; what
/// the crossing allows of security group references.
fn route_hop(path: &mut PathBuilder, index: &NetIndex, ends: &Ends) -> GroupReferences {
    let (source, target, target_range) = (ends.source, ends.target, ends.target_range);
    let table = match index.route_table_for(source) {
        Ok(table) => table,
        Err(reason) => {
            path.hop(&source.id, HopKind::RouteTable, HopVerdict::Unknown, reason);
            return GroupReferences::default();
        }
    };
    let route = longest_match(table, target_range);
    if let Some(route) = route.filter(|r| r.state.as_deref() != Some("blackhole")) {
        match &route.target {
            RouteTarget::VpcPeering(id) => {
                path.hop(
                    &table.id,
                    HopKind::RouteTable,
                    HopVerdict::Pass,
                    format!("{target_range} is routed to peering connection {id}"),
                );
                return crossing::through_peering(path, index, id, ends);
            }
            RouteTarget::TransitGateway(id) => {
                path.hop(
                    &table.id,
                    HopKind::RouteTable,
                    HopVerdict::Pass,
                    format!("{target_range} is routed to transit gateway {id}"),
                );
                return crossing::through_transit_gateway(path, index, id, ends);
            }
            _ => {}
        }
    }
    let (verdict, detail) = match route.map(|r| (&r.target, r)) {
        Some((_, route)) if route.state.as_deref() == Some("blackhole") => (
            HopVerdict::Block,
            format!("the route to {target_range} is a blackhole"),
        ),
        Some((RouteTarget::Local, _)) if source.vpc_id == target.vpc_id => (
            HopVerdict::Pass,
            format!("local route to {target_range} (same VPC)"),
        ),
        Some((other, _)) => (
            HopVerdict::Block,
            format!(
                "{target_range} is routed to {}, which does not lead to the database's subnet {}",
                other.id(),
                target.id
            ),
        ),
        None if source.vpc_id == target.vpc_id => (
            HopVerdict::Pass,
            format!("local route to {target_range} (same VPC)"),
        ),
        None => (
            HopVerdict::Block,
            format!(
                "no route to {target_range}: the database is in {}, the Lambda in {}",
                target.vpc_id, source.vpc_id
            ),
        ),
    };
    path.hop(&table.id, HopKind::RouteTable, verdict, detail);
    GroupReferences::default()
}

pub(super) fn acl_hop(
    path: &mut PathBuilder,
    index: &NetIndex,
    subnet: &Subnet,
    egress: bool,
    ports: PortRange,
    remote: ipnet::IpNet,
) {
    acl_hop_to(path, index, subnet, egress, ports, Endpoint::Range(remote));
}

pub(super) fn acl_hop_to(
    path: &mut PathBuilder,
    index: &NetIndex,
    subnet: &Subnet,
    egress: bool,
    ports: PortRange,
    remote: Endpoint,
) {
    let kind = if egress {
        HopKind::NetworkAclOutbound
    } else {
        HopKind::NetworkAclInbound
    };
    match index.network_acl_for(subnet) {
        Ok(nacl) => {
            let (verdict, detail) = acl::evaluate(nacl, egress, ports, remote);
            path.hop(&nacl.id, kind, verdict, format!("{}: {detail}", subnet.id));
        }
        Err(reason) => path.hop(&subnet.id, kind, HopVerdict::Unknown, reason),
    }
}
