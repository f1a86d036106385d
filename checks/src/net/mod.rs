//! The reachability engine: can the rotation Lambda reach its database on the
//! engine port, and the Secrets Manager endpoint on 443, from each of its
//! subnets? Decided the way a VPC decides (security groups, network ACLs,
//! route tables, NAT and internet gateways, interface endpoints), with every
//! component that took part recorded as a hop, so the report can show why.

mod acl;
mod crossing;
mod database;
mod index;
mod placement;
mod service;
mod sg;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use database::database_paths;
pub use index::NetIndex;
pub use placement::{suggest_placement, Placement};
pub use service::{
    elasticache_api_paths, rds_api_paths, secretsmanager_paths, service_paths, AwsService,
    ELASTICACHE_API, RDS_API, SECRETS_MANAGER,
};
pub use sg::{tcp_rule_covers_port, NOT_CARRIED};

/// A Lambda's ENIs use the ephemeral range 1024–65535 for the return traffic
/// a stateless network ACL must let through.
pub const EPHEMERAL_PORTS: crate::PortRange = crate::PortRange {
    from: 1024,
    to: 65535,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Reachable,
    Unknown,
    Blocked,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Reachable => "reachable",
            Verdict::Unknown => "unknown",
            Verdict::Blocked => "blocked",
        }
    }
}

/// What one component did to the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopVerdict {
    /// Let the flow through.
    Pass,
    /// Stopped it.
    Block,
    /// Could not be decided (a fact is missing or not evaluated).
    Unknown,
    /// Context: a way that nearly works, a note; does not decide.
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The id of the component (sg-…, acl-…, rtb-…, nat-…, vpce-…), or a
    /// description where there is none.
    pub resource: String,
    /// The resource's name (a security group's name, a subnet's Name tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: HopKind,
    pub verdict: HopVerdict,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HopKind {
    Placement,
    SecurityGroupEgress,
    SecurityGroupIngress,
    NetworkAclOutbound,
    NetworkAclInbound,
    RouteTable,
    NatGateway,
    InternetGateway,
    VpcPeering,
    TransitGateway,
    VpcEndpoint,
    EndpointPolicy,
    Dns,
    Destination,
}

impl HopKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HopKind::Placement => "placement",
            HopKind::SecurityGroupEgress => "security group egress",
            HopKind::SecurityGroupIngress => "security group ingress",
            HopKind::NetworkAclOutbound => "network ACL outbound",
            HopKind::NetworkAclInbound => "network ACL inbound",
            HopKind::RouteTable => "route table",
            HopKind::NatGateway => "NAT gateway",
            HopKind::InternetGateway => "internet gateway",
            HopKind::VpcPeering => "VPC peering",
            HopKind::TransitGateway => "transit gateway",
            HopKind::VpcEndpoint => "VPC endpoint",
            HopKind::EndpointPolicy => "endpoint policy",
            HopKind::Dns => "DNS",
            HopKind::Destination => "destination",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    Database,
    Secretsmanager,
    /// The RDS API (`rds.REGION.amazonaws.com`), which a multi-user
    /// rotation calls when its master secret is managed by RDS.
    RdsApi,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathSource {
    /// `None` when the Lambda is not attached to a VPC.
    pub subnet: Option<String>,
    pub security_groups: Vec<String>,
    /// The names of the subnet and the security groups, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
}

impl PathSource {
    /// `id (name)` of the subnet or one of the groups.
    fn label(&self, id: &str) -> String {
        crate::names::label(id, self.names.get(id).map(String::as_str))
    }
}

impl NetPath {
    /// Puts the names people know beside the ids of every hop.
    pub fn name_hops(&mut self, names: &crate::Names) {
        let source = self.from.subnet.iter().chain(&self.from.security_groups);
        self.from.names = names.restricted_to(source.map(String::as_str)).into_map();
        for hop in &mut self.hops {
            hop.name = names.get(&hop.resource).map(str::to_string);
        }
    }
}

/// One flow from one Lambda subnet to one destination, and its verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetPath {
    pub from: PathSource,
    pub to: Destination,
    pub port: u16,
    pub verdict: Verdict,
    /// The first component that blocks, when blocked.
    pub blocked_by: Option<String>,
    pub hops: Vec<Hop>,
}

/// Collects hops and works out the verdict: the first blocking hop decides,
/// else any unknown hop makes the path unknown.
#[derive(Default)]
struct PathBuilder {
    hops: Vec<Hop>,
}

impl PathBuilder {
    fn hop(&mut self, resource: &str, kind: HopKind, verdict: HopVerdict, detail: String) {
        self.hops.push(Hop {
            resource: resource.to_string(),
            name: None,
            kind,
            verdict,
            detail,
        });
    }

    fn finish(self, from: PathSource, to: Destination, port: u16) -> NetPath {
        let blocked_by = self
            .hops
            .iter()
            .find(|h| h.verdict == HopVerdict::Block)
            .map(|h| h.resource.clone());
        let verdict = if blocked_by.is_some() {
            Verdict::Blocked
        } else if self.hops.iter().any(|h| h.verdict == HopVerdict::Unknown) {
            Verdict::Unknown
        } else {
            Verdict::Reachable
        };
        NetPath {
            from,
            to,
            port,
            verdict,
            blocked_by,
            hops: self.hops,
        }
    }
}

/// The address a flow leaves from or goes to: a subnet's whole range (an ENI
/// may take any address in it), or some public address of an AWS service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Range(ipnet::IpNet),
    AnyPublic,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Range(net) => write!(f, "{net}"),
            Endpoint::AnyPublic => f.write_str("the service's public endpoint"),
        }
    }
}

/// Whether a rule's CIDR covers every address of the endpoint, some, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coverage {
    All,
    Some,
    None,
}

fn coverage(rule: &ipnet::IpNet, target: Endpoint) -> Coverage {
    match target {
        Endpoint::Range(range) => {
            if rule.contains(&range) {
                Coverage::All
            } else if range.contains(rule) {
                Coverage::Some
            } else {
                Coverage::None
            }
        }
        Endpoint::AnyPublic => {
            if rule.prefix_len() == 0 {
                if rule.addr().is_ipv4() {
                    Coverage::All
                } else {
                    // An AWS API's public endpoint is reached over IPv4
                    // from a VPC Lambda (through a NAT gateway).
                    Coverage::None
                }
            } else if is_private(rule) {
                Coverage::None
            } else {
                Coverage::Some
            }
        }
    }
}

/// RFC 1918, loopback, link-local and carrier-grade NAT ranges: never the
/// public endpoint's address.
fn is_private(net: &ipnet::IpNet) -> bool {
    const PRIVATE: [&str; 6] = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
    ];
    match net {
        ipnet::IpNet::V4(_) => PRIVATE.iter().any(|p| {
            p.parse::<ipnet::IpNet>()
                .map(|private| private.contains(net))
                .unwrap_or(false)
        }),
        ipnet::IpNet::V6(v6) => v6.addr().segments()[0] & 0xfe00 == 0xfc00,
    }
}

/// The default port of each engine the rotation templates support.
pub fn default_port(engine: &str) -> Option<u16> {
    match engine {
        "mysql" | "aurora-mysql" | "mariadb" | "aurora" => Some(3306),
        "postgres" | "aurora-postgresql" => Some(5432),
        "oracle" | "oracle-ee" | "oracle-se2" | "oracle-ee-cdb" | "oracle-se2-cdb" => Some(1521),
        "sqlserver" | "sqlserver-ee" | "sqlserver-se" | "sqlserver-ex" | "sqlserver-web" => {
            Some(1433)
        }
        "redshift" => Some(5439),
        "mongo" | "docdb" => Some(27017),
        "db2" | "db2-se" | "db2-ae" => Some(50000),
        _ => None,
    }
}

/// The port the rotation function connects to: an RDS Proxy's (it listens on
/// its engine family's port), else the secret's `port`, else the database's,
/// else the engine's default.
pub fn database_port(facts: &crate::Facts) -> Option<u16> {
    if let Some(port) = facts.proxy.present().and_then(|proxy| proxy.port()) {
        return Some(port);
    }
    let connection = facts.connection.present();
    let database = facts.database.present();
    connection
        .and_then(|c| c.port)
        .or_else(|| database.and_then(|d| d.port))
        .or_else(|| {
            connection
                .and_then(|c| c.engine.as_deref())
                .or_else(|| database.and_then(|d| d.engine.as_deref()))
                .and_then(default_port)
        })
}

#[cfg(test)]
mod crossing_proptests;
#[cfg(test)]
mod crossing_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

/// One readable line for a path: each hop with a mark, the blocking one
/// flagged, e.g. `subnet-a [sg-1] → sg-1 ✓ → rtb-1 ✓ → sg-db ✗ BLOCKED`.
pub fn render_path(path: &NetPath) -> String {
    let from = match &path.from.subnet {
        Some(subnet) => {
            let groups: Vec<String> = path
                .from
                .security_groups
                .iter()
                .map(|g| path.from.label(g))
                .collect();
            format!("{} [{}]", path.from.label(subnet), groups.join(", "))
        }
        None => "Lambda (no VPC)".to_string(),
    };
    let to = match path.to {
        Destination::Database => format!("database tcp/{}", path.port),
        Destination::Secretsmanager => format!("Secrets Manager tcp/{}", path.port),
        Destination::RdsApi => format!("RDS API tcp/{}", path.port),
    };
    let mut hops = Vec::new();
    for hop in &path.hops {
        let mark = match hop.verdict {
            HopVerdict::Pass => "✓",
            HopVerdict::Block => "✗ BLOCKED",
            HopVerdict::Unknown => "?",
            HopVerdict::Info => continue,
        };
        let step = format!(
            "{} {mark}",
            crate::names::label(&hop.resource, hop.name.as_deref())
        );
        // The same ACL checked in several directions reads as one step.
        if hops.last() != Some(&step) {
            hops.push(step);
        }
        if hop.verdict == HopVerdict::Block {
            break;
        }
    }
    format!(
        "{from} → {to}: {} ({})",
        path.verdict.as_str(),
        hops.join(" → ")
    )
}
