//! Lookups over the collected network facts. Each lookup says why it failed
//! (the fact was not collected, or the resource is not in it), so the engine
//! can turn a gap into an `unknown` hop that names the missing fact.

use std::collections::HashMap;

use crate::facts::*;

pub struct NetIndex<'a> {
    network: &'a Network,
    subnets: HashMap<&'a str, &'a Subnet>,
    groups: HashMap<&'a str, &'a SecurityGroup>,
    nats: HashMap<&'a str, &'a NatGateway>,
}

fn by_id<T>(fact: &Fact<Vec<T>>, id: fn(&T) -> &str) -> HashMap<&str, &T> {
    fact.present()
        .map(|items| items.iter().map(|item| (id(item), item)).collect())
        .unwrap_or_default()
}

/// Why a list fact cannot answer: its own reason, prefixed with what it is.
fn missing<T>(what: &str, fact: &Fact<T>) -> String {
    format!(
        "{what} are unknown ({})",
        fact.missing_reason().unwrap_or_default()
    )
}

impl<'a> NetIndex<'a> {
    pub fn new(network: &'a Network) -> NetIndex<'a> {
        NetIndex {
            network,
            subnets: by_id(&network.subnets, |s| &s.id),
            groups: by_id(&network.security_groups, |g| &g.id),
            nats: by_id(&network.nat_gateways, |n| &n.id),
        }
    }

    pub fn subnet(&self, id: &str) -> Result<&'a Subnet, String> {
        if self.network.subnets.present().is_none() {
            return Err(missing("subnets", &self.network.subnets));
        }
        self.subnets
            .get(id)
            .copied()
            .ok_or_else(|| format!("subnet {id} was not found"))
    }

    pub fn security_group(&self, id: &str) -> Result<&'a SecurityGroup, String> {
        if self.network.security_groups.present().is_none() {
            return Err(missing("security groups", &self.network.security_groups));
        }
        self.groups
            .get(id)
            .copied()
            .ok_or_else(|| format!("security group {id} was not found"))
    }

    /// `id (name)` for a security group or subnet with a name, else the id.
    pub fn label(&self, id: &str) -> String {
        let name = match self.groups.get(id) {
            Some(group) => group.name.as_deref(),
            None => self.subnets.get(id).and_then(|s| s.name.as_deref()),
        };
        crate::names::label(id, crate::names::usable(id, name))
    }

    /// Several ids labelled, comma-separated.
    pub fn labels(&self, ids: &[String]) -> String {
        ids.iter()
            .map(|id| self.label(id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn nat_gateway(&self, id: &str) -> Result<&'a NatGateway, String> {
        if self.network.nat_gateways.present().is_none() {
            return Err(missing("NAT gateways", &self.network.nat_gateways));
        }
        self.nats
            .get(id)
            .copied()
            .ok_or_else(|| format!("NAT gateway {id} does not exist"))
    }

    pub fn nat_gateways_known(&self) -> bool {
        self.network.nat_gateways.present().is_some()
    }

    pub fn vpc(&self, id: &str) -> Option<&'a Vpc> {
        self.network.vpcs.present()?.iter().find(|v| v.id == id)
    }

    pub fn subnets_in(&self, vpc_id: &str) -> Vec<&'a Subnet> {
        let mut subnets: Vec<&Subnet> = self
            .subnets
            .values()
            .copied()
            .filter(|s| s.vpc_id == vpc_id)
            .collect();
        subnets.sort_by(|a, b| a.id.cmp(&b.id));
        subnets
    }

    pub fn groups_in(&self, vpc_id: &str) -> Vec<&'a SecurityGroup> {
        let mut groups: Vec<&SecurityGroup> = self
            .groups
            .values()
            .copied()
            .filter(|g| g.vpc_id.as_deref() == Some(vpc_id))
            .collect();
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        groups
    }

    /// The subnet's route table: its explicit association, else the VPC's main table.
    pub fn route_table_for(&self, subnet: &Subnet) -> Result<&'a RouteTable, String> {
        let tables = self
            .network
            .route_tables
            .present()
            .ok_or_else(|| missing("route tables", &self.network.route_tables))?;
        tables
            .iter()
            .find(|t| t.subnet_ids.contains(&subnet.id))
            .or_else(|| tables.iter().find(|t| t.main && t.vpc_id == subnet.vpc_id))
            .ok_or_else(|| {
                format!(
                    "no route table is associated with {} and {} has no main table",
                    subnet.id, subnet.vpc_id
                )
            })
    }

    /// The subnet's network ACL: the one associated with it (every subnet has one).
    pub fn network_acl_for(&self, subnet: &Subnet) -> Result<&'a NetworkAcl, String> {
        let acls = self
            .network
            .network_acls
            .present()
            .ok_or_else(|| missing("network ACLs", &self.network.network_acls))?;
        acls.iter()
            .find(|a| a.subnet_ids.contains(&subnet.id))
            .or_else(|| {
                acls.iter()
                    .find(|a| a.is_default && a.vpc_id == subnet.vpc_id)
            })
            .ok_or_else(|| format!("no network ACL is associated with {}", subnet.id))
    }

    pub fn internet_gateway(&self, id: &str) -> Result<&'a InternetGateway, String> {
        let igws = self
            .network
            .internet_gateways
            .present()
            .ok_or_else(|| missing("internet gateways", &self.network.internet_gateways))?;
        igws.iter()
            .find(|g| g.id == id)
            .ok_or_else(|| format!("internet gateway {id} does not exist"))
    }

    pub fn peering_connection(&self, id: &str) -> Result<&'a PeeringConnection, String> {
        let peerings =
            self.network.peering_connections.present().ok_or_else(|| {
                missing("VPC peering connections", &self.network.peering_connections)
            })?;
        peerings
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| format!("VPC peering connection {id} was not found"))
    }

    pub fn transit_gateway(&self, id: &str) -> Result<&'a TransitGateway, String> {
        let tgws = self
            .network
            .transit_gateways
            .present()
            .ok_or_else(|| missing("transit gateways", &self.network.transit_gateways))?;
        tgws.iter()
            .find(|t| t.id == id)
            .ok_or_else(|| format!("transit gateway {id} was not found"))
    }

    /// The attachments of `vpc_id` to `tgw_id`, in any state.
    pub fn transit_gateway_attachments(
        &self,
        tgw_id: &str,
        vpc_id: &str,
    ) -> Result<Vec<&'a TransitGatewayAttachment>, String> {
        let attachments = self
            .network
            .transit_gateway_attachments
            .present()
            .ok_or_else(|| {
                missing(
                    "transit gateway VPC attachments",
                    &self.network.transit_gateway_attachments,
                )
            })?;
        Ok(attachments
            .iter()
            .filter(|a| a.transit_gateway_id == tgw_id && a.vpc_id == vpc_id)
            .collect())
    }

    /// The transit gateway route table `attachment_id` is associated with.
    pub fn transit_gateway_route_table_of(
        &self,
        attachment_id: &str,
    ) -> Result<Option<&'a TransitGatewayRouteTable>, String> {
        let tables = self
            .network
            .transit_gateway_route_tables
            .present()
            .ok_or_else(|| {
                missing(
                    "transit gateway route tables",
                    &self.network.transit_gateway_route_tables,
                )
            })?;
        Ok(tables.iter().find(|t| {
            t.associated_attachment_ids
                .iter()
                .any(|id| id == attachment_id)
        }))
    }

    /// A transit gateway VPC attachment by id, when read.
    pub fn attachment(&self, attachment_id: &str) -> Option<&'a TransitGatewayAttachment> {
        self.network
            .transit_gateway_attachments
            .present()?
            .iter()
            .find(|a| a.id == attachment_id)
    }

    pub fn vpc_endpoints(&self) -> Result<&'a [VpcEndpoint], String> {
        self.network
            .vpc_endpoints
            .present()
            .map(Vec::as_slice)
            .ok_or_else(|| missing("VPC endpoints", &self.network.vpc_endpoints))
    }
}

/// Longest-prefix match of `target` in a route table. Only CIDR routes take
/// part; a prefix-list route (a gateway endpoint) never carries these flows.
pub fn longest_match(table: &RouteTable, target: ipnet::IpNet) -> Option<&Route> {
    table
        .routes
        .iter()
        .filter(|r| match &r.destination {
            RouteDestination::Cidr(cidr) => cidr.contains(&target),
            RouteDestination::PrefixList(_) => false,
        })
        .max_by_key(|r| match &r.destination {
            RouteDestination::Cidr(cidr) => cidr.prefix_len(),
            RouteDestination::PrefixList(_) => 0,
        })
}

/// The IPv4 default route, the one public addresses take.
pub fn default_route(table: &RouteTable) -> Option<&Route> {
    table.routes.iter().find(|r| {
        matches!(&r.destination, RouteDestination::Cidr(ipnet::IpNet::V4(net)) if net.prefix_len() == 0)
    })
}
