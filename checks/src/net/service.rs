//! Lambda → an AWS service's API on 443, from each of the Lambda's subnets:
//! through an interface VPC endpoint when DNS (or, for Secrets Manager,
//! SECRETS_MANAGER_ENDPOINT) sends the Lambda to one, else to the public
//! endpoint, which a VPC Lambda reaches only through a NAT gateway (its ENI
//! has no public IP; docs/failure-catalog.md, B1). The same engine serves
//! Secrets Manager, which every rotation calls, the RDS API, which a
//! multi-user rotation calls when its master secret is managed by RDS, and
//! the ElastiCache API, which an ElastiCache user's rotation function calls
//! instead of connecting to a database.

use super::database::{acl_hop, acl_hop_to};
use super::index::{default_route, longest_match};
use super::sg::{self, Direction, Peer, References};
use super::{
    Destination, Endpoint, HopKind, HopVerdict, NetIndex, NetPath, PathBuilder, PathSource,
    EPHEMERAL_PORTS,
};
use crate::facts::{Facts, Lambda, PortRange, RouteTarget, Subnet, VpcEndpoint};
use crate::policy::{self, Decision};

const HTTPS: u16 = 443;
const HTTPS_ONLY: PortRange = PortRange {
    from: HTTPS,
    to: HTTPS,
};

/// An AWS API a rotation function calls, as the engine needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AwsService {
    /// The endpoint prefix: `secretsmanager` gives the public name
    /// `secretsmanager.REGION.amazonaws.com` and the endpoint service
    /// `com.amazonaws.REGION.secretsmanager`.
    pub prefix: &'static str,
    /// How the hops name it: `Secrets Manager`, `the RDS API`.
    pub title: &'static str,
    /// The actions the function calls, which an endpoint policy must allow.
    pub actions: &'static [&'static str],
    /// The Lambda variable that overrides the endpoint, if the function
    /// reads one (only `SECRETS_MANAGER_ENDPOINT`).
    pub endpoint_variable: Option<&'static str>,
    pub destination: Destination,
}

/// The actions a rotation function calls on Secrets Manager.
pub const ROTATION_ACTIONS: [&str; 5] = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:GetRandomPassword",
];

pub const SECRETS_MANAGER: AwsService = AwsService {
    prefix: "secretsmanager",
    title: "Secrets Manager",
    actions: &ROTATION_ACTIONS,
    endpoint_variable: Some("SECRETS_MANAGER_ENDPOINT"),
    destination: Destination::Secretsmanager,
};

/// What the multi-user templates call to find an RDS-managed master
/// secret's database (`get_connection_params_from_rds_api`).
pub const RDS_API: AwsService = AwsService {
    prefix: "rds",
    title: "the RDS API",
    actions: &["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
    endpoint_variable: None,
    destination: Destination::RdsApi,
};

/// The actions the ElastiCache user rotation function calls
/// (aws-samples/aws-secrets-manager-rotation-lambdas,
/// SecretsManagerElasticacheUserRotation/lambda_function.py).
pub const ELASTICACHE_ROTATION_ACTIONS: [&str; 2] =
    ["elasticache:DescribeUsers", "elasticache:ModifyUser"];

/// The ElastiCache API of the secret's region, the way an ElastiCache
/// user's rotation goes in place of a database connection (boto3's default
/// endpoint: the template sets no endpoint URL), so its paths are NET002's.
pub const ELASTICACHE_API: AwsService = AwsService {
    prefix: "elasticache",
    title: "ElastiCache",
    actions: &ELASTICACHE_ROTATION_ACTIONS,
    endpoint_variable: None,
    destination: Destination::Database,
};

pub fn secretsmanager_paths(facts: &Facts) -> Result<Vec<NetPath>, String> {
    service_paths(facts, &SECRETS_MANAGER)
}

/// The paths to the RDS API, for a multi-user secret whose master secret is
/// managed by RDS; none for any other secret.
pub fn rds_api_paths(facts: &Facts) -> Result<Vec<NetPath>, String> {
    let needed = facts
        .master_secret
        .present()
        .is_some_and(|master| master.rds_primary_arn.is_some());
    if !needed {
        return Ok(Vec::new());
    }
    service_paths(facts, &RDS_API)
}

/// The paths to the ElastiCache API, which an ElastiCache user's rotation
/// function calls (see `DatabaseKind::ElasticacheUser`).
pub fn elasticache_api_paths(facts: &Facts) -> Result<Vec<NetPath>, String> {
    service_paths(facts, &ELASTICACHE_API)
}

/// One path per Lambda subnet to `service` (one in all outside a VPC).
pub fn service_paths(facts: &Facts, service: &AwsService) -> Result<Vec<NetPath>, String> {
    let lambda = facts.lambda.present().ok_or_else(|| {
        format!(
            "the rotation Lambda is unknown ({})",
            facts.lambda.missing_reason().unwrap_or_default()
        )
    })?;
    let Some(vpc) = &lambda.vpc else {
        let mut path = PathBuilder::default();
        path.hop(
            &lambda.name,
            HopKind::Placement,
            HopVerdict::Pass,
            "the Lambda is not attached to a VPC: it reaches the public endpoint through \
             Lambda's own internet access"
                .to_string(),
        );
        return Ok(vec![path.finish(
            PathSource {
                subnet: None,
                security_groups: Vec::new(),
                names: Default::default(),
            },
            service.destination,
            HTTPS,
        )]);
    };
    let index = NetIndex::new(&facts.network);
    Ok(vpc
        .subnet_ids
        .iter()
        .map(|subnet_id| {
            let mut path = PathBuilder::default();
            match index.subnet(subnet_id) {
                Ok(subnet) => from_subnet(
                    &mut path,
                    &index,
                    lambda,
                    subnet,
                    &vpc.security_group_ids,
                    &facts.region,
                    service,
                ),
                Err(reason) => path.hop(subnet_id, HopKind::Placement, HopVerdict::Unknown, reason),
            }
            path.finish(
                PathSource {
                    subnet: Some(subnet_id.clone()),
                    security_groups: vpc.security_group_ids.clone(),
                    names: Default::default(),
                },
                service.destination,
                HTTPS,
            )
        })
        .collect())
}

/// The host part of an endpoint URL such as `https://host:443/path`.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest.split('/').next().unwrap_or(rest);
    host_port.split(':').next().unwrap_or(host_port)
}

fn from_subnet(
    path: &mut PathBuilder,
    index: &NetIndex,
    lambda: &Lambda,
    subnet: &Subnet,
    groups: &[String],
    region: &str,
    service: &AwsService,
) {
    let public_name = format!("{}.{region}.amazonaws.com", service.prefix);
    let public_name = public_name.as_str();
    let service_name = format!("com.amazonaws.{region}.{}", service.prefix);
    let endpoints: Vec<&VpcEndpoint> = match index.vpc_endpoints() {
        Ok(all) => all
            .iter()
            .filter(|e| e.vpc_id == subnet.vpc_id && e.service_name == service_name)
            .filter(|e| e.endpoint_type.as_deref().is_none_or(|t| t == "Interface"))
            .collect(),
        Err(reason) => {
            // An endpoint with private DNS would take the flow whatever the
            // NAT path says, so without the list the answer is open.
            path.hop(
                &subnet.vpc_id,
                HopKind::VpcEndpoint,
                HopVerdict::Unknown,
                reason,
            );
            Vec::new()
        }
    };
    let variable = service.endpoint_variable.unwrap_or_default();
    let override_host = service
        .endpoint_variable
        .and(lambda.secrets_manager_endpoint.as_deref())
        .map(host_of)
        .filter(|h| !h.is_empty());

    // Which name the function resolves, and where DNS sends it.
    if let Some(host) = override_host {
        if let Some(endpoint) = endpoints.iter().find(|e| {
            e.dns_names
                .iter()
                .any(|n| n.trim_start_matches("*.").eq_ignore_ascii_case(host))
                || host.contains(&e.id)
        }) {
            path.hop(
                &endpoint.id,
                HopKind::Dns,
                HopVerdict::Pass,
                format!("{variable} names {host}, an address of {}", endpoint.id),
            );
            return through_endpoint(path, index, subnet, groups, endpoint, service);
        }
        if !host.eq_ignore_ascii_case(public_name) {
            path.hop(
                variable,
                HopKind::Dns,
                HopVerdict::Unknown,
                format!(
                    "{variable} names {host}, which is neither {public_name} nor an \
                     interface endpoint of {}",
                    subnet.vpc_id
                ),
            );
            return;
        }
    }

    let vpc = index.vpc(&subnet.vpc_id);
    let dns_on = vpc.is_none_or(|v| v.dns_support != Some(false) && v.dns_hostnames != Some(false));
    let mut near_misses = Vec::new();
    for endpoint in &endpoints {
        let usable_state = endpoint
            .state
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("available"));
        if endpoint.private_dns_enabled && dns_on && usable_state {
            path.hop(
                &endpoint.id,
                HopKind::Dns,
                HopVerdict::Pass,
                format!(
                    "private DNS of {} resolves {public_name} to its interfaces",
                    endpoint.id
                ),
            );
            return through_endpoint(path, index, subnet, groups, endpoint, service);
        }
        let why = if !usable_state {
            format!(
                "is {}",
                endpoint.state.as_deref().unwrap_or("not available")
            )
        } else if !endpoint.private_dns_enabled {
            match service.endpoint_variable {
                Some(variable) => format!("has private DNS off, and {variable} does not name it"),
                None => "has private DNS off".to_string(),
            }
        } else {
            format!(
                "has private DNS on, but {} has enableDnsSupport or enableDnsHostnames off",
                subnet.vpc_id
            )
        };
        near_misses.push((endpoint.id.clone(), why));
    }
    for (id, why) in &near_misses {
        path.hop(
            id,
            HopKind::VpcEndpoint,
            HopVerdict::Info,
            format!("interface endpoint {id} {why}, so {public_name} does not resolve to it"),
        );
    }
    through_nat(path, index, subnet, groups, service);
}

fn through_endpoint(
    path: &mut PathBuilder,
    index: &NetIndex,
    subnet: &Subnet,
    groups: &[String],
    endpoint: &VpcEndpoint,
    service: &AwsService,
) {
    let Some(source_range) = subnet.cidr else {
        path.hop(
            &subnet.id,
            HopKind::Placement,
            HopVerdict::Unknown,
            "the subnet's IPv4 range is unknown".to_string(),
        );
        return;
    };
    let endpoint_subnets: Vec<&Subnet> = endpoint
        .subnet_ids
        .iter()
        .filter_map(|id| index.subnet(id).ok())
        .collect();
    // DNS answers with the ENI in the caller's AZ first; another AZ works too.
    let target = endpoint_subnets
        .iter()
        .find(|s| s.availability_zone.is_some() && s.availability_zone == subnet.availability_zone)
        .or(endpoint_subnets.first());
    let Some(target) = target else {
        path.hop(
            &endpoint.id,
            HopKind::VpcEndpoint,
            HopVerdict::Block,
            format!(
                "{} has no subnet, so it has no interface to connect to",
                endpoint.id
            ),
        );
        return;
    };
    if target.availability_zone != subnet.availability_zone {
        path.hop(
            &endpoint.id,
            HopKind::VpcEndpoint,
            HopVerdict::Info,
            format!(
                "{} has no interface in {}'s zone {}; traffic crosses to {} in {}",
                endpoint.id,
                subnet.id,
                subnet.availability_zone.as_deref().unwrap_or("?"),
                target.id,
                target.availability_zone.as_deref().unwrap_or("?")
            ),
        );
    }
    let Some(target_range) = target.cidr else {
        path.hop(
            &target.id,
            HopKind::VpcEndpoint,
            HopVerdict::Unknown,
            "the endpoint subnet's IPv4 range is unknown".to_string(),
        );
        return;
    };

    let egress = sg::evaluate(
        index,
        groups,
        Direction::Egress,
        HTTPS,
        &Peer {
            groups: &endpoint.security_group_ids,
            address: Endpoint::Range(target_range),
            group_references: References::Carried,
        },
    );
    path.hop(
        &egress.resource,
        HopKind::SecurityGroupEgress,
        egress.verdict,
        egress.detail,
    );

    match index.route_table_for(subnet) {
        Ok(table) => {
            let local =
                longest_match(table, target_range).is_none_or(|r| r.target == RouteTarget::Local);
            let (verdict, detail) = if local {
                (
                    HopVerdict::Pass,
                    format!("local route to {target_range} (same VPC)"),
                )
            } else {
                (
                    HopVerdict::Unknown,
                    format!("{target_range} is routed away from the VPC's local route"),
                )
            };
            path.hop(&table.id, HopKind::RouteTable, verdict, detail);
        }
        Err(reason) => path.hop(&subnet.id, HopKind::RouteTable, HopVerdict::Unknown, reason),
    }

    if subnet.id != target.id {
        acl_hop(path, index, subnet, true, HTTPS_ONLY, target_range);
        acl_hop(path, index, target, false, HTTPS_ONLY, source_range);
    }
    if endpoint.security_group_ids.is_empty() {
        path.hop(
            &endpoint.id,
            HopKind::SecurityGroupIngress,
            HopVerdict::Unknown,
            format!("the security groups of {} are unknown", endpoint.id),
        );
    } else {
        let ingress = sg::evaluate(
            index,
            &endpoint.security_group_ids,
            Direction::Ingress,
            HTTPS,
            &Peer {
                groups,
                address: Endpoint::Range(source_range),
                group_references: References::Carried,
            },
        );
        path.hop(
            &ingress.resource,
            HopKind::SecurityGroupIngress,
            ingress.verdict,
            ingress.detail,
        );
    }
    if subnet.id != target.id {
        acl_hop(path, index, target, true, EPHEMERAL_PORTS, source_range);
        acl_hop(path, index, subnet, false, EPHEMERAL_PORTS, target_range);
    }
    endpoint_policy_hop(path, endpoint, service);
    path.hop(
        &endpoint.id,
        HopKind::Destination,
        HopVerdict::Pass,
        format!(
            "interface endpoint {} in {} ({target_range})",
            endpoint.id, target.id
        ),
    );
}

fn endpoint_policy_hop(path: &mut PathBuilder, endpoint: &VpcEndpoint, service: &AwsService) {
    let Some(document) = &endpoint.policy else {
        return path.hop(
            &endpoint.id,
            HopKind::EndpointPolicy,
            HopVerdict::Pass,
            "no endpoint policy: full access".to_string(),
        );
    };
    for action in service.actions {
        let (verdict, detail) = match policy::decide(document, None, action, "*") {
            Decision::Allowed { .. } => continue,
            Decision::Denied { sid } => (
                HopVerdict::Block,
                format!("the endpoint policy denies {action}{}", sid_text(&sid)),
            ),
            Decision::NotAllowed => (
                HopVerdict::Block,
                format!("the endpoint policy does not allow {action}"),
            ),
            Decision::Conditional { sid } => (
                HopVerdict::Unknown,
                format!(
                    "the endpoint policy allows {action} only under conditions{} that were not evaluated",
                    sid_text(&sid)
                ),
            ),
        };
        return path.hop(&endpoint.id, HopKind::EndpointPolicy, verdict, detail);
    }
    path.hop(
        &endpoint.id,
        HopKind::EndpointPolicy,
        HopVerdict::Pass,
        format!(
            "the endpoint policy allows the rotation's {} actions",
            service.title
        ),
    );
}

fn sid_text(sid: &Option<String>) -> String {
    sid.as_ref()
        .map(|s| format!(" (statement {s})"))
        .unwrap_or_default()
}

fn through_nat(
    path: &mut PathBuilder,
    index: &NetIndex,
    subnet: &Subnet,
    groups: &[String],
    service: &AwsService,
) {
    let egress = sg::evaluate(
        index,
        groups,
        Direction::Egress,
        HTTPS,
        &Peer {
            groups: &[],
            address: Endpoint::AnyPublic,
            group_references: References::Carried,
        },
    );
    path.hop(
        &egress.resource,
        HopKind::SecurityGroupEgress,
        egress.verdict,
        egress.detail,
    );

    let table = match index.route_table_for(subnet) {
        Ok(table) => table,
        Err(reason) => {
            return path.hop(&subnet.id, HopKind::RouteTable, HopVerdict::Unknown, reason);
        }
    };
    let Some(route) = default_route(table) else {
        return path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Block,
            format!(
                "{} has no default route (0.0.0.0/0) and {} has no usable interface endpoint for {}",
                table.id, subnet.vpc_id, service.title
            ),
        );
    };
    if route.state.as_deref() == Some("blackhole") {
        return path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Block,
            format!(
                "the default route of {} to {} is a blackhole",
                table.id,
                route.target.id()
            ),
        );
    }
    match &route.target {
        RouteTarget::NatGateway(nat_id) => {
            path.hop(
                &table.id,
                HopKind::RouteTable,
                HopVerdict::Pass,
                format!("{} sends 0.0.0.0/0 to {nat_id}", table.id),
            );
            through_nat_gateway(path, index, subnet, nat_id);
        }
        RouteTarget::InternetGateway(igw) => path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Block,
            format!(
                "{} sends 0.0.0.0/0 to internet gateway {igw}, but a Lambda's network interface has no \
                 public IP address, so it cannot use an internet gateway",
                table.id
            ),
        ),
        // https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html
        // (limitations: edge to edge routing through a gateway).
        RouteTarget::VpcPeering(pcx) => path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Block,
            format!(
                "{} sends 0.0.0.0/0 to peering connection {pcx}, but AWS does not route through \
                 a peering connection to the internet (no edge-to-edge routing): the peer VPC's \
                 NAT or internet gateway cannot be used; add a NAT gateway in {} or an interface \
                 endpoint for Secrets Manager",
                table.id, subnet.vpc_id
            ),
        ),
        other => path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Unknown,
            format!(
                "{} sends 0.0.0.0/0 to {}, whose onward path is not evaluated",
                table.id,
                other.id()
            ),
        ),
    }
}

fn through_nat_gateway(path: &mut PathBuilder, index: &NetIndex, subnet: &Subnet, nat_id: &str) {
    let nat = match index.nat_gateway(nat_id) {
        Ok(nat) => nat,
        Err(reason) => {
            // A route to a deleted NAT stays "active" in moto and is a
            // blackhole in AWS: the NAT's own state decides
            // (docs/moto-notes.md, "EC2 (VPC)").
            let verdict = if index.nat_gateways_known() {
                HopVerdict::Block
            } else {
                HopVerdict::Unknown
            };
            return path.hop(nat_id, HopKind::NatGateway, verdict, reason);
        }
    };
    let state = nat.state.as_deref().unwrap_or("unknown");
    if !state.eq_ignore_ascii_case("available") {
        return path.hop(
            nat_id,
            HopKind::NatGateway,
            HopVerdict::Block,
            format!("{nat_id} is {state}, not available"),
        );
    }
    if nat.connectivity.as_deref() == Some("private") {
        return path.hop(
            nat_id,
            HopKind::NatGateway,
            HopVerdict::Block,
            format!("{nat_id} is a private NAT gateway: it cannot reach the internet"),
        );
    }
    let Some(nat_subnet) = nat
        .subnet_id
        .as_deref()
        .and_then(|id| index.subnet(id).ok())
    else {
        return path.hop(
            nat_id,
            HopKind::NatGateway,
            HopVerdict::Unknown,
            format!("the subnet of {nat_id} is unknown"),
        );
    };
    let Some(source_range) = subnet.cidr else {
        return path.hop(
            &subnet.id,
            HopKind::Placement,
            HopVerdict::Unknown,
            "the subnet's IPv4 range is unknown".to_string(),
        );
    };
    if nat_subnet.id == subnet.id {
        return path.hop(
            nat_id,
            HopKind::NatGateway,
            HopVerdict::Block,
            format!(
                "{nat_id} sits in the Lambda's own subnet {}, whose default route points back at it",
                subnet.id
            ),
        );
    }
    // Lambda subnet out, NAT subnet in, NAT subnet out to the internet, and the replies.
    acl_hop_to(path, index, subnet, true, HTTPS_ONLY, Endpoint::AnyPublic);
    acl_hop(path, index, nat_subnet, false, HTTPS_ONLY, source_range);
    acl_hop_to(
        path,
        index,
        nat_subnet,
        true,
        HTTPS_ONLY,
        Endpoint::AnyPublic,
    );
    acl_hop_to(
        path,
        index,
        nat_subnet,
        false,
        EPHEMERAL_PORTS,
        Endpoint::AnyPublic,
    );
    acl_hop(path, index, nat_subnet, true, EPHEMERAL_PORTS, source_range);
    acl_hop_to(
        path,
        index,
        subnet,
        false,
        EPHEMERAL_PORTS,
        Endpoint::AnyPublic,
    );
    path.hop(
        nat_id,
        HopKind::NatGateway,
        HopVerdict::Pass,
        format!("{nat_id} is available in {}", nat_subnet.id),
    );

    let table = match index.route_table_for(nat_subnet) {
        Ok(table) => table,
        Err(reason) => {
            return path.hop(
                &nat_subnet.id,
                HopKind::RouteTable,
                HopVerdict::Unknown,
                reason,
            );
        }
    };
    match default_route(table).map(|r| (&r.target, r.state.as_deref())) {
        Some((RouteTarget::InternetGateway(igw_id), state)) if state != Some("blackhole") => {
            match index.internet_gateway(igw_id) {
                Ok(igw) if igw.attached_vpc_ids.contains(&nat_subnet.vpc_id) => path.hop(
                    igw_id,
                    HopKind::InternetGateway,
                    HopVerdict::Pass,
                    format!(
                        "{} of {nat_id}'s subnet sends 0.0.0.0/0 to {igw_id}, attached to {}",
                        table.id, nat_subnet.vpc_id
                    ),
                ),
                Ok(_) => path.hop(
                    igw_id,
                    HopKind::InternetGateway,
                    HopVerdict::Block,
                    format!("{igw_id} is not attached to {}", nat_subnet.vpc_id),
                ),
                Err(reason) => path.hop(
                    igw_id,
                    HopKind::InternetGateway,
                    HopVerdict::Unknown,
                    reason,
                ),
            }
        }
        Some((target, _)) => path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Block,
            format!(
                "{nat_id} sits in {}, whose route table {} sends 0.0.0.0/0 to {} rather than to an \
                 internet gateway",
                nat_subnet.id,
                table.id,
                target.id()
            ),
        ),
        None => path.hop(
            &table.id,
            HopKind::RouteTable,
            HopVerdict::Block,
            format!(
                "{nat_id} sits in {}, whose route table {} has no route to an internet gateway",
                nat_subnet.id, table.id
            ),
        ),
    }
}
