//! Rounds 3 and 4: the VPC pieces the Lambda and the database touch.
//!
//! Every list is read with a `vpc-id` style filter over all the VPCs at once,
//! one call (plus its pages) per kind of resource, all concurrently. Filters
//! moto does not implement answer HTTP 500 (docs/moto-notes.md, "Errors and
//! unimplemented calls"), so only `vpc-id`, `subnet-id`, `group-id` and
//! `attachment.vpc-id` are used.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{
    Filter, InternetGateway as SdkInternetGateway, IpPermission, NatGateway as SdkNatGateway,
    NetworkAcl as SdkNetworkAcl, Route as SdkRoute, RouteTable as SdkRouteTable,
    SecurityGroup as SdkSecurityGroup, Subnet as SdkSubnet, Tag,
    TransitGateway as SdkTransitGateway, TransitGatewayRoute as SdkTgwRoute,
    TransitGatewayRouteTable as SdkTgwRouteTable,
    TransitGatewayVpcAttachment as SdkTgwVpcAttachment, Vpc as SdkVpc, VpcAttributeName,
    VpcEndpoint as SdkVpcEndpoint, VpcPeeringConnection as SdkVpcPeeringConnection,
    VpcPeeringConnectionVpcInfo,
};
use aws_sdk_ec2::Client;
use ipnet::IpNet;
use rotation_doctor_checks::{
    not_collected, AclEntry, Fact, InternetGateway, NatGateway, Network, NetworkAcl,
    PeeringConnection, PeeringSide, PortRange, Route, RouteDestination, RouteTable, RouteTarget,
    SecurityGroup, SgPeer, SgRule, Subnet, TransitGateway, TransitGatewayAttachment,
    TransitGatewayRoute, TransitGatewayRouteTable, Unavailable, Vpc, VpcEndpoint,
};
use tokio::task::JoinSet;

use super::errors::unavailable;

const DESCRIBE_VPCS: &str = "ec2:DescribeVpcs";
const DESCRIBE_SUBNETS: &str = "ec2:DescribeSubnets";
const DESCRIBE_ROUTE_TABLES: &str = "ec2:DescribeRouteTables";
const DESCRIBE_NETWORK_ACLS: &str = "ec2:DescribeNetworkAcls";
const DESCRIBE_SECURITY_GROUPS: &str = "ec2:DescribeSecurityGroups";
const DESCRIBE_VPC_ENDPOINTS: &str = "ec2:DescribeVpcEndpoints";
const DESCRIBE_NAT_GATEWAYS: &str = "ec2:DescribeNatGateways";
const DESCRIBE_INTERNET_GATEWAYS: &str = "ec2:DescribeInternetGateways";
const DESCRIBE_VPC_PEERING_CONNECTIONS: &str = "ec2:DescribeVpcPeeringConnections";
const DESCRIBE_TRANSIT_GATEWAYS: &str = "ec2:DescribeTransitGateways";
const DESCRIBE_TGW_VPC_ATTACHMENTS: &str = "ec2:DescribeTransitGatewayVpcAttachments";
const DESCRIBE_TGW_ROUTE_TABLES: &str = "ec2:DescribeTransitGatewayRouteTables";
const GET_TGW_ROUTE_TABLE_ASSOCIATIONS: &str = "ec2:GetTransitGatewayRouteTableAssociations";
const GET_TGW_ROUTE_TABLE_PROPAGATIONS: &str = "ec2:GetTransitGatewayRouteTablePropagations";
const SEARCH_TGW_ROUTES: &str = "ec2:SearchTransitGatewayRoutes";

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// The VPCs of the Lambda's subnets. A `subnet-id` filter rather than
/// `SubnetIds`, so one deleted subnet (moto accepts any id on the function:
/// docs/moto-notes.md, "Lambda") does not fail the whole lookup: it is
/// simply absent.
pub(crate) async fn vpcs_of_subnets(
    client: &Client,
    subnet_ids: &[String],
) -> Result<Vec<String>, Unavailable> {
    let subnets = client
        .describe_subnets()
        .filters(filter("subnet-id", subnet_ids))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| unavailable(DESCRIBE_SUBNETS, &err))?;
    let vpcs: BTreeSet<String> = subnets
        .iter()
        .filter_map(|subnet| subnet.vpc_id())
        .map(str::to_string)
        .collect();
    Ok(vpcs.into_iter().collect())
}

/// Everything in `vpc_ids`, one concurrent round; then, only when a route
/// leads to one, the peering connections and transit gateways the routes
/// name (a second round).
pub(crate) async fn collect_network(client: &Client, vpc_ids: &[String]) -> Network {
    let (vpcs, subnets, route_tables, network_acls, security_groups, vpc_endpoints, nats, igws) = tokio::join!(
        vpcs(client, vpc_ids),
        subnets(client, vpc_ids),
        route_tables(client, vpc_ids),
        network_acls(client, vpc_ids),
        security_groups(client, vpc_ids),
        vpc_endpoints(client, vpc_ids),
        nat_gateways(client, vpc_ids),
        internet_gateways(client, vpc_ids),
    );
    let (peering_ids, tgw_ids) = crossings(&route_tables);
    let (peering_connections, transit) = tokio::join!(
        peering_connections(client, &peering_ids),
        transit_gateway_pieces(client, &tgw_ids),
    );
    Network {
        vpcs,
        subnets,
        route_tables,
        network_acls,
        security_groups,
        vpc_endpoints,
        nat_gateways: nats,
        internet_gateways: igws,
        peering_connections,
        transit_gateways: transit.gateways,
        transit_gateway_attachments: transit.attachments,
        transit_gateway_route_tables: transit.route_tables,
    }
}

/// The peering connections and transit gateways the routes lead to.
fn crossings(route_tables: &Fact<Vec<RouteTable>>) -> (Vec<String>, Vec<String>) {
    let mut peerings = BTreeSet::new();
    let mut tgws = BTreeSet::new();
    for route in route_tables
        .present()
        .into_iter()
        .flatten()
        .flat_map(|t| &t.routes)
    {
        match &route.target {
            RouteTarget::VpcPeering(id) => peerings.insert(id.clone()),
            RouteTarget::TransitGateway(id) => tgws.insert(id.clone()),
            _ => false,
        };
    }
    (peerings.into_iter().collect(), tgws.into_iter().collect())
}

/// A `vpc-peering-connection-id` filter, so a deleted connection is simply
/// absent; moto ignores this API's filters and lists every connection, so
/// the wanted ones are picked here as well.
async fn peering_connections(client: &Client, ids: &[String]) -> Fact<Vec<PeeringConnection>> {
    if ids.is_empty() {
        return not_collected();
    }
    fact(
        client
            .describe_vpc_peering_connections()
            .filters(filter("vpc-peering-connection-id", ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|found| {
                found
                    .iter()
                    .map(peering_from)
                    .filter(|p| ids.contains(&p.id))
                    .collect()
            })
            .map_err(|err| unavailable(DESCRIBE_VPC_PEERING_CONNECTIONS, &err)),
    )
}

struct TransitPieces {
    gateways: Fact<Vec<TransitGateway>>,
    attachments: Fact<Vec<TransitGatewayAttachment>>,
    route_tables: Fact<Vec<TransitGatewayRouteTable>>,
}

/// The transit gateways, their VPC attachments and route tables (each with
/// its associations, propagations and routes), all by `transit-gateway-id`.
async fn transit_gateway_pieces(client: &Client, tgw_ids: &[String]) -> TransitPieces {
    if tgw_ids.is_empty() {
        return TransitPieces {
            gateways: not_collected(),
            attachments: not_collected(),
            route_tables: not_collected(),
        };
    }
    let by_tgw = filter("transit-gateway-id", tgw_ids);
    let gateways = client
        .describe_transit_gateways()
        .filters(by_tgw.clone())
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let attachments = client
        .describe_transit_gateway_vpc_attachments()
        .filters(by_tgw.clone())
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let tables = client
        .describe_transit_gateway_route_tables()
        .filters(by_tgw)
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let (gateways, attachments, tables) = tokio::join!(gateways, attachments, tables);
    let route_tables = match tables {
        Ok(tables) => transit_route_tables(client, &tables).await,
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_TGW_ROUTE_TABLES, &err)),
    };
    TransitPieces {
        gateways: fact(
            gateways
                .map(|found| found.iter().map(transit_gateway_from).collect())
                .map_err(|err| unavailable(DESCRIBE_TRANSIT_GATEWAYS, &err)),
        ),
        attachments: fact(
            attachments
                .map(|found| found.iter().map(tgw_attachment_from).collect())
                .map_err(|err| unavailable(DESCRIBE_TGW_VPC_ATTACHMENTS, &err)),
        ),
        route_tables,
    }
}

/// Each table's associations, propagations and routes, every table at
/// once; the first call that fails makes the whole list unavailable.
async fn transit_route_tables(
    client: &Client,
    tables: &[SdkTgwRouteTable],
) -> Fact<Vec<TransitGatewayRouteTable>> {
    let mut tasks = JoinSet::new();
    for (position, table) in tables.iter().enumerate() {
        let client = client.clone();
        let table_id = table
            .transit_gateway_route_table_id()
            .unwrap_or_default()
            .to_string();
        let tgw_id = table.transit_gateway_id().unwrap_or_default().to_string();
        tasks.spawn(async move {
            (
                position,
                transit_route_table(&client, table_id, tgw_id).await,
            )
        });
    }
    let mut read = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((position, Ok(table))) => read.push((position, table)),
            Ok((_, Err(why))) => return Fact::Unavailable(why),
            // A panicked task: nothing read for it; no table is better
            // than a table that looks empty.
            Err(_) => {
                return Fact::Unavailable(Unavailable {
                    call: DESCRIBE_TGW_ROUTE_TABLES.to_string(),
                    kind: rotation_doctor_checks::ErrorKind::Other,
                    message: "reading a transit gateway route table failed".to_string(),
                })
            }
        }
    }
    read.sort_by_key(|(position, _)| *position);
    Fact::Present(read.into_iter().map(|(_, table)| table).collect())
}

async fn transit_route_table(
    client: &Client,
    table_id: String,
    tgw_id: String,
) -> Result<TransitGatewayRouteTable, Unavailable> {
    let associations = client
        .get_transit_gateway_route_table_associations()
        .transit_gateway_route_table_id(&table_id)
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let propagations = client
        .get_transit_gateway_route_table_propagations()
        .transit_gateway_route_table_id(&table_id)
        .into_paginator()
        .items()
        .send()
        .try_collect();
    // The API wants a filter; these two states are every route that exists.
    let routes = client
        .search_transit_gateway_routes()
        .transit_gateway_route_table_id(&table_id)
        .filters(filter(
            "state",
            &["active".to_string(), "blackhole".to_string()],
        ))
        .send();
    let (associations, propagations, routes) = tokio::join!(associations, propagations, routes);
    let associations =
        associations.map_err(|err| unavailable(GET_TGW_ROUTE_TABLE_ASSOCIATIONS, &err))?;
    let propagations =
        propagations.map_err(|err| unavailable(GET_TGW_ROUTE_TABLE_PROPAGATIONS, &err))?;
    let routes = routes.map_err(|err| unavailable(SEARCH_TGW_ROUTES, &err))?;
    Ok(TransitGatewayRouteTable {
        id: table_id,
        transit_gateway_id: tgw_id,
        associated_attachment_ids: associations
            .iter()
            .filter(|a| {
                a.state()
                    .is_none_or(|s| matches!(s.as_str(), "associated" | "associating"))
            })
            .filter_map(|a| a.transit_gateway_attachment_id())
            .map(str::to_string)
            .collect(),
        propagating_attachment_ids: propagations
            .iter()
            .filter(|p| p.state().is_none_or(|s| s.as_str() == "enabled"))
            .filter_map(|p| p.transit_gateway_attachment_id())
            .map(str::to_string)
            .collect(),
        routes: routes.routes().iter().filter_map(tgw_route_from).collect(),
    })
}

fn fact<T>(result: Result<T, Unavailable>) -> Fact<T> {
    match result {
        Ok(value) => Fact::Present(value),
        Err(why) => Fact::Unavailable(why),
    }
}

async fn vpcs(client: &Client, vpc_ids: &[String]) -> Fact<Vec<Vpc>> {
    // The DNS attributes do not depend on DescribeVpcs: run them alongside.
    let described = client
        .describe_vpcs()
        .filters(filter("vpc-id", vpc_ids))
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let (described, attributes) = tokio::join!(described, dns_attributes(client, vpc_ids));
    let described = match described {
        Ok(vpcs) => vpcs,
        Err(err) => return Fact::Unavailable(unavailable(DESCRIBE_VPCS, &err)),
    };
    Fact::Present(
        described
            .iter()
            .map(|vpc| {
                let mut vpc = vpc_from(vpc);
                if let Some((_, support, hostnames)) =
                    attributes.iter().find(|(id, _, _)| *id == vpc.id)
                {
                    vpc.dns_support = *support;
                    vpc.dns_hostnames = *hostnames;
                }
                vpc
            })
            .collect(),
    )
}

/// `enableDnsSupport` and `enableDnsHostnames` of every VPC, all at once. A
/// failed read leaves the value `None` ("not read"), as the model allows.
async fn dns_attributes(
    client: &Client,
    vpc_ids: &[String],
) -> Vec<(String, Option<bool>, Option<bool>)> {
    let mut tasks = JoinSet::new();
    for vpc_id in vpc_ids {
        let client = client.clone();
        let vpc_id = vpc_id.clone();
        tasks.spawn(async move {
            let support = client
                .describe_vpc_attribute()
                .vpc_id(&vpc_id)
                .attribute(VpcAttributeName::EnableDnsSupport)
                .send();
            let hostnames = client
                .describe_vpc_attribute()
                .vpc_id(&vpc_id)
                .attribute(VpcAttributeName::EnableDnsHostnames)
                .send();
            let (support, hostnames) = tokio::join!(support, hostnames);
            let support = support
                .ok()
                .and_then(|out| out.enable_dns_support().and_then(|v| v.value()));
            let hostnames = hostnames
                .ok()
                .and_then(|out| out.enable_dns_hostnames().and_then(|v| v.value()));
            (vpc_id, support, hostnames)
        });
    }
    let mut attributes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(row) = joined {
            attributes.push(row);
        }
    }
    attributes
}

async fn subnets(client: &Client, vpc_ids: &[String]) -> Fact<Vec<Subnet>> {
    fact(
        client
            .describe_subnets()
            .filters(filter("vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|subnets| subnets.iter().map(subnet_from).collect())
            .map_err(|err| unavailable(DESCRIBE_SUBNETS, &err)),
    )
}

async fn route_tables(client: &Client, vpc_ids: &[String]) -> Fact<Vec<RouteTable>> {
    fact(
        client
            .describe_route_tables()
            .filters(filter("vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|tables| tables.iter().map(route_table_from).collect())
            .map_err(|err| unavailable(DESCRIBE_ROUTE_TABLES, &err)),
    )
}

async fn network_acls(client: &Client, vpc_ids: &[String]) -> Fact<Vec<NetworkAcl>> {
    fact(
        client
            .describe_network_acls()
            .filters(filter("vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|acls| acls.iter().map(network_acl_from).collect())
            .map_err(|err| unavailable(DESCRIBE_NETWORK_ACLS, &err)),
    )
}

async fn security_groups(client: &Client, vpc_ids: &[String]) -> Fact<Vec<SecurityGroup>> {
    fact(
        client
            .describe_security_groups()
            .filters(filter("vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|groups| groups.iter().map(security_group_from).collect())
            .map_err(|err| unavailable(DESCRIBE_SECURITY_GROUPS, &err)),
    )
}

/// Security groups by id: the Lambda's or the database's groups that are
/// not in the VPCs read (normally none, so this costs a call only then).
/// The `group-id` filter skips deleted groups instead of failing on them.
pub(crate) async fn groups_by_id(
    client: &Client,
    group_ids: &[String],
) -> Result<Vec<SecurityGroup>, Unavailable> {
    client
        .describe_security_groups()
        .filters(filter("group-id", group_ids))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map(|groups| groups.iter().map(security_group_from).collect())
        .map_err(|err| unavailable(DESCRIBE_SECURITY_GROUPS, &err))
}

async fn vpc_endpoints(client: &Client, vpc_ids: &[String]) -> Fact<Vec<VpcEndpoint>> {
    fact(
        client
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|endpoints| endpoints.iter().map(vpc_endpoint_from).collect())
            .map_err(|err| unavailable(DESCRIBE_VPC_ENDPOINTS, &err)),
    )
}

async fn nat_gateways(client: &Client, vpc_ids: &[String]) -> Fact<Vec<NatGateway>> {
    fact(
        client
            .describe_nat_gateways()
            // This API's parameter is `Filter`, not `Filters`.
            .filter(filter("vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|nats| nats.iter().map(nat_gateway_from).collect())
            .map_err(|err| unavailable(DESCRIBE_NAT_GATEWAYS, &err)),
    )
}

async fn internet_gateways(client: &Client, vpc_ids: &[String]) -> Fact<Vec<InternetGateway>> {
    fact(
        client
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", vpc_ids))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map(|igws| igws.iter().map(internet_gateway_from).collect())
            .map_err(|err| unavailable(DESCRIBE_INTERNET_GATEWAYS, &err)),
    )
}

// ---- SDK shapes into the model -------------------------------------------

fn cidr(text: Option<&str>) -> Option<IpNet> {
    text.and_then(|text| text.trim().parse().ok())
}

fn name_tag(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|tag| tag.key() == Some("Name"))
        .and_then(|tag| tag.value())
        .map(str::to_string)
}

fn vpc_from(vpc: &SdkVpc) -> Vpc {
    let mut cidrs: Vec<IpNet> = Vec::new();
    let associated = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|assoc| {
            assoc
                .cidr_block_state()
                .and_then(|state| state.state())
                .is_none_or(|state| state.as_str() == "associated")
        })
        .map(|assoc| assoc.cidr_block());
    let associated_v6 = vpc
        .ipv6_cidr_block_association_set()
        .iter()
        .filter(|assoc| {
            assoc
                .ipv6_cidr_block_state()
                .and_then(|state| state.state())
                .is_none_or(|state| state.as_str() == "associated")
        })
        .map(|assoc| assoc.ipv6_cidr_block());
    for net in std::iter::once(vpc.cidr_block())
        .chain(associated)
        .chain(associated_v6)
        .filter_map(cidr)
    {
        if !cidrs.contains(&net) {
            cidrs.push(net);
        }
    }
    Vpc {
        id: vpc.vpc_id().unwrap_or_default().to_string(),
        cidrs,
        dns_support: None,
        dns_hostnames: None,
    }
}

fn subnet_from(subnet: &SdkSubnet) -> Subnet {
    Subnet {
        id: subnet.subnet_id().unwrap_or_default().to_string(),
        vpc_id: subnet.vpc_id().unwrap_or_default().to_string(),
        cidr: cidr(subnet.cidr_block()),
        ipv6_cidrs: subnet
            .ipv6_cidr_block_association_set()
            .iter()
            .filter_map(|assoc| cidr(assoc.ipv6_cidr_block()))
            .collect(),
        availability_zone: subnet.availability_zone().map(str::to_string),
        name: name_tag(subnet.tags()),
    }
}

fn route_table_from(table: &SdkRouteTable) -> RouteTable {
    let live = table.associations().iter().filter(|assoc| {
        assoc
            .association_state()
            .and_then(|state| state.state())
            .is_none_or(|state| matches!(state.as_str(), "associated" | "associating"))
    });
    let mut main = false;
    let mut subnet_ids = Vec::new();
    for assoc in live {
        // The main association has Main=true and no SubnetId, in AWS and moto
        // (docs/moto-notes.md, "EC2 (VPC)").
        if assoc.main() == Some(true) {
            main = true;
        }
        if let Some(subnet) = assoc.subnet_id() {
            subnet_ids.push(subnet.to_string());
        }
    }
    RouteTable {
        id: table.route_table_id().unwrap_or_default().to_string(),
        vpc_id: table.vpc_id().unwrap_or_default().to_string(),
        main,
        subnet_ids,
        routes: table.routes().iter().filter_map(route_from).collect(),
    }
}

/// `None` for a route without a destination we can represent.
fn route_from(route: &SdkRoute) -> Option<Route> {
    let destination = if let Some(net) = cidr(route.destination_cidr_block()) {
        RouteDestination::Cidr(net)
    } else if let Some(net) = cidr(route.destination_ipv6_cidr_block()) {
        RouteDestination::Cidr(net)
    } else {
        RouteDestination::PrefixList(route.destination_prefix_list_id()?.to_string())
    };
    // moto never reports `blackhole` (docs/moto-notes.md, "EC2 (VPC)"): the
    // checks infer it from the target's own state; we pass the state through
    // as given.
    Some(Route {
        destination,
        target: route_target(route),
        state: route.state().map(|state| state.as_str().to_string()),
    })
}

fn route_target(route: &SdkRoute) -> RouteTarget {
    if let Some(id) = route.nat_gateway_id() {
        return RouteTarget::NatGateway(id.to_string());
    }
    if let Some(id) = route.transit_gateway_id() {
        return RouteTarget::TransitGateway(id.to_string());
    }
    if let Some(id) = route.vpc_peering_connection_id() {
        return RouteTarget::VpcPeering(id.to_string());
    }
    if let Some(id) = route.egress_only_internet_gateway_id() {
        return RouteTarget::EgressOnlyInternetGateway(id.to_string());
    }
    // An instance route also carries the instance's ENI; the instance says more.
    if let Some(id) = route.instance_id() {
        return RouteTarget::Instance(id.to_string());
    }
    if let Some(id) = route.network_interface_id() {
        return RouteTarget::NetworkInterface(id.to_string());
    }
    if let Some(id) = route.gateway_id() {
        return match id {
            "local" => RouteTarget::Local,
            _ if id.starts_with("igw-") => RouteTarget::InternetGateway(id.to_string()),
            _ if id.starts_with("eigw-") => RouteTarget::EgressOnlyInternetGateway(id.to_string()),
            _ if id.starts_with("vpce-") => RouteTarget::VpcEndpoint(id.to_string()),
            _ if id.starts_with("nat-") => RouteTarget::NatGateway(id.to_string()),
            _ if id.starts_with("tgw-") => RouteTarget::TransitGateway(id.to_string()),
            _ => RouteTarget::Other(id.to_string()),
        };
    }
    let other = route
        .local_gateway_id()
        .or(route.carrier_gateway_id())
        .or(route.core_network_arn())
        .or(route.odb_network_arn())
        .unwrap_or("unknown");
    RouteTarget::Other(other.to_string())
}

fn peering_side(info: Option<&VpcPeeringConnectionVpcInfo>) -> PeeringSide {
    let Some(info) = info else {
        return PeeringSide {
            vpc_id: String::new(),
            owner_id: None,
            region: None,
            cidrs: Vec::new(),
        };
    };
    let mut cidrs: Vec<IpNet> = Vec::new();
    let listed = info.cidr_block_set().iter().map(|block| block.cidr_block());
    let listed_v6 = info
        .ipv6_cidr_block_set()
        .iter()
        .map(|block| block.ipv6_cidr_block());
    for net in std::iter::once(info.cidr_block())
        .chain(listed)
        .chain(listed_v6)
        .filter_map(cidr)
    {
        if !cidrs.contains(&net) {
            cidrs.push(net);
        }
    }
    PeeringSide {
        vpc_id: info.vpc_id().unwrap_or_default().to_string(),
        owner_id: info.owner_id().map(str::to_string),
        region: info.region().map(str::to_string),
        cidrs,
    }
}

fn peering_from(peering: &SdkVpcPeeringConnection) -> PeeringConnection {
    PeeringConnection {
        id: peering
            .vpc_peering_connection_id()
            .unwrap_or_default()
            .to_string(),
        status: peering
            .status()
            .and_then(|status| status.code())
            .map(|code| code.as_str().to_string())
            .unwrap_or_else(|| "unknown".to_string()),
        requester: peering_side(peering.requester_vpc_info()),
        accepter: peering_side(peering.accepter_vpc_info()),
    }
}

fn transit_gateway_from(tgw: &SdkTransitGateway) -> TransitGateway {
    TransitGateway {
        id: tgw.transit_gateway_id().unwrap_or_default().to_string(),
        owner_id: tgw.owner_id().map(str::to_string),
        state: tgw.state().map(|state| state.as_str().to_string()),
        security_group_referencing: tgw
            .options()
            .and_then(|options| options.security_group_referencing_support())
            .map(|value| value.as_str() == "enable"),
    }
}

fn tgw_attachment_from(attachment: &SdkTgwVpcAttachment) -> TransitGatewayAttachment {
    TransitGatewayAttachment {
        id: attachment
            .transit_gateway_attachment_id()
            .unwrap_or_default()
            .to_string(),
        transit_gateway_id: attachment
            .transit_gateway_id()
            .unwrap_or_default()
            .to_string(),
        vpc_id: attachment.vpc_id().unwrap_or_default().to_string(),
        vpc_owner_id: attachment.vpc_owner_id().map(str::to_string),
        state: attachment.state().map(|state| state.as_str().to_string()),
        subnet_ids: attachment.subnet_ids().to_vec(),
        security_group_referencing: attachment
            .options()
            .and_then(|options| options.security_group_referencing_support())
            .map(|value| value.as_str() == "enable"),
    }
}

/// `None` for a prefix-list route, which these flows never take.
fn tgw_route_from(route: &SdkTgwRoute) -> Option<TransitGatewayRoute> {
    Some(TransitGatewayRoute {
        destination: cidr(route.destination_cidr_block())?,
        attachment_ids: route
            .transit_gateway_attachments()
            .iter()
            .filter_map(|a| a.transit_gateway_attachment_id())
            .map(str::to_string)
            .collect(),
        route_type: route.r#type().map(|kind| kind.as_str().to_string()),
        state: route.state().map(|state| state.as_str().to_string()),
    })
}

fn network_acl_from(acl: &SdkNetworkAcl) -> NetworkAcl {
    NetworkAcl {
        id: acl.network_acl_id().unwrap_or_default().to_string(),
        vpc_id: acl.vpc_id().unwrap_or_default().to_string(),
        is_default: acl.is_default().unwrap_or(false),
        subnet_ids: acl
            .associations()
            .iter()
            .filter_map(|assoc| assoc.subnet_id())
            .map(str::to_string)
            .collect(),
        // Custom NACLs from moto have no entries at all (docs/moto-notes.md,
        // "EC2 (VPC)"); the evaluator treats "no rule matched" as deny, so
        // nothing is added here.
        entries: acl
            .entries()
            .iter()
            .filter_map(|entry| {
                Some(AclEntry {
                    rule_number: entry.rule_number()?,
                    egress: entry.egress().unwrap_or(false),
                    protocol: entry.protocol().unwrap_or("-1").to_string(),
                    allow: entry
                        .rule_action()
                        .is_some_and(|action| action.as_str() == "allow"),
                    cidr: cidr(entry.cidr_block()).or_else(|| cidr(entry.ipv6_cidr_block())),
                    port_range: entry.port_range().and_then(|range| {
                        Some(PortRange {
                            from: u16::try_from(range.from()?).ok()?,
                            to: u16::try_from(range.to()?).ok()?,
                        })
                    }),
                })
            })
            .collect(),
    }
}

fn security_group_from(group: &SdkSecurityGroup) -> SecurityGroup {
    SecurityGroup {
        id: group.group_id().unwrap_or_default().to_string(),
        name: group.group_name().map(str::to_string),
        vpc_id: group.vpc_id().map(str::to_string),
        ingress: group.ip_permissions().iter().flat_map(sg_rules).collect(),
        egress: group
            .ip_permissions_egress()
            .iter()
            .flat_map(sg_rules)
            .collect(),
    }
}

/// One IpPermission into one rule per peer, as DescribeSecurityGroupRules
/// would list them.
fn sg_rules(permission: &IpPermission) -> Vec<SgRule> {
    let protocol = permission.ip_protocol().unwrap_or("-1").to_string();
    let ports = if protocol == "-1" {
        None
    } else {
        match (permission.from_port(), permission.to_port()) {
            (Some(from), Some(to)) if from >= 0 && to >= 0 => {
                match (u16::try_from(from), u16::try_from(to)) {
                    (Ok(from), Ok(to)) => Some(PortRange { from, to }),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    let rule = |peer: SgPeer, description: Option<&str>| SgRule {
        protocol: protocol.clone(),
        ports,
        peer,
        description: description.map(str::to_string),
    };

    let mut rules = Vec::new();
    for range in permission.ip_ranges() {
        if let Some(net) = cidr(range.cidr_ip()) {
            rules.push(rule(SgPeer::Cidr(net), range.description()));
        }
    }
    for range in permission.ipv6_ranges() {
        if let Some(net) = cidr(range.cidr_ipv6()) {
            rules.push(rule(SgPeer::Cidr(net), range.description()));
        }
    }
    for pair in permission.user_id_group_pairs() {
        if let Some(id) = pair.group_id().or(pair.group_name()) {
            rules.push(rule(SgPeer::Group(id.to_string()), pair.description()));
        }
    }
    for list in permission.prefix_list_ids() {
        if let Some(id) = list.prefix_list_id() {
            rules.push(rule(SgPeer::PrefixList(id.to_string()), list.description()));
        }
    }
    rules
}

fn vpc_endpoint_from(endpoint: &SdkVpcEndpoint) -> VpcEndpoint {
    VpcEndpoint {
        id: endpoint.vpc_endpoint_id().unwrap_or_default().to_string(),
        vpc_id: endpoint.vpc_id().unwrap_or_default().to_string(),
        service_name: endpoint.service_name().unwrap_or_default().to_string(),
        endpoint_type: endpoint
            .vpc_endpoint_type()
            .map(|kind| kind.as_str().to_string()),
        // moto's "available" reaches the SDK as Unknown("available")
        // (docs/moto-notes.md, "EC2 (VPC)"); as_str() gives the wire value
        // either way.
        state: endpoint.state().map(|state| state.as_str().to_string()),
        subnet_ids: endpoint.subnet_ids().to_vec(),
        security_group_ids: endpoint
            .groups()
            .iter()
            .filter_map(|group| group.group_id())
            .map(str::to_string)
            .collect(),
        private_dns_enabled: endpoint.private_dns_enabled().unwrap_or(false),
        dns_names: endpoint
            .dns_entries()
            .iter()
            .filter_map(|entry| entry.dns_name())
            .map(str::to_string)
            .collect(),
        // Kept as a JSON string when it does not parse, so nothing is lost.
        policy: endpoint.policy_document().map(|text| {
            serde_json::from_str(text)
                .unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
        }),
    }
}

fn nat_gateway_from(nat: &SdkNatGateway) -> NatGateway {
    NatGateway {
        id: nat.nat_gateway_id().unwrap_or_default().to_string(),
        vpc_id: nat.vpc_id().map(str::to_string),
        subnet_id: nat.subnet_id().map(str::to_string),
        state: nat.state().map(|state| state.as_str().to_string()),
        // moto omits ConnectivityType (docs/moto-notes.md, "EC2 (VPC)"); None
        // means AWS's default, public.
        connectivity: nat
            .connectivity_type()
            .map(|kind| kind.as_str().to_string()),
    }
}

fn internet_gateway_from(igw: &SdkInternetGateway) -> InternetGateway {
    InternetGateway {
        id: igw.internet_gateway_id().unwrap_or_default().to_string(),
        attached_vpc_ids: igw
            .attachments()
            .iter()
            .filter(|attachment| {
                attachment
                    .state()
                    .is_some_and(|state| matches!(state.as_str(), "available" | "attached"))
            })
            .filter_map(|attachment| attachment.vpc_id())
            .map(str::to_string)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{IpRange, PrefixListId, RouteState, UserIdGroupPair};

    #[test]
    fn route_targets_by_field_and_prefix() {
        let nat = SdkRoute::builder()
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id("nat-1")
            .state(RouteState::Active)
            .build();
        let route = route_from(&nat).expect("route");
        assert_eq!(route.target, RouteTarget::NatGateway("nat-1".into()));
        assert_eq!(route.state.as_deref(), Some("active"));

        let local = SdkRoute::builder()
            .destination_cidr_block("10.0.0.0/16")
            .gateway_id("local")
            .build();
        assert_eq!(
            route_from(&local).expect("route").target,
            RouteTarget::Local
        );

        let gateway_endpoint = SdkRoute::builder()
            .destination_prefix_list_id("pl-123")
            .gateway_id("vpce-9")
            .build();
        let route = route_from(&gateway_endpoint).expect("route");
        assert_eq!(
            route.destination,
            RouteDestination::PrefixList("pl-123".into())
        );
        assert_eq!(route.target, RouteTarget::VpcEndpoint("vpce-9".into()));

        let igw6 = SdkRoute::builder()
            .destination_ipv6_cidr_block("::/0")
            .gateway_id("igw-1")
            .build();
        let route = route_from(&igw6).expect("route");
        assert_eq!(route.target, RouteTarget::InternetGateway("igw-1".into()));
        assert!(matches!(
            route.destination,
            RouteDestination::Cidr(IpNet::V6(_))
        ));

        assert!(route_from(&SdkRoute::builder().gateway_id("local").build()).is_none());
    }

    #[test]
    fn a_permission_splits_per_peer() {
        let permission = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(3306)
            .to_port(3306)
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-lambda")
                    .description("from lambda")
                    .build(),
            )
            .prefix_list_ids(PrefixListId::builder().prefix_list_id("pl-1").build())
            .build();
        let rules = sg_rules(&permission);
        assert_eq!(rules.len(), 3);
        assert!(rules.iter().all(|rule| rule.ports
            == Some(PortRange {
                from: 3306,
                to: 3306
            })));
        assert_eq!(rules[1].peer, SgPeer::Group("sg-lambda".into()));
        assert_eq!(rules[1].description.as_deref(), Some("from lambda"));
        assert_eq!(rules[2].peer, SgPeer::PrefixList("pl-1".into()));

        let all = IpPermission::builder()
            .ip_protocol("-1")
            .from_port(0)
            .to_port(65535)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        assert_eq!(sg_rules(&all)[0].ports, None);

        let icmp_any = IpPermission::builder()
            .ip_protocol("icmp")
            .from_port(-1)
            .to_port(-1)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build();
        assert_eq!(sg_rules(&icmp_any)[0].ports, None);
    }
}
