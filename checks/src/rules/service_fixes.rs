//! The fix plans of a path to an AWS API (NET003's Secrets Manager,
//! NET004's RDS API) that stops at a security group or at a missing way
//! out: the same three changes whichever API the function calls.

use crate::facts::{Facts, Lambda, VpcEndpoint};
use crate::fix::{EgressDestination, FixAction, FixPlan};
use crate::net::{AwsService, Hop, HopKind, HopVerdict, NetIndex, NetPath};

/// The description the tool writes on a rule it adds for `service`.
fn rule_description(service: &AwsService) -> String {
    format!("rotation-doctor: rotation Lambda to {}", service.title)
}

/// The endpoint's group refuses HTTPS: admit it from the Lambda's group.
pub(crate) fn admit_on_endpoint_group(
    service: &AwsService,
    path: &NetPath,
    hop: &Hop,
) -> Option<FixPlan> {
    let lambda_group = path.from.security_groups.first()?;
    let endpoint_group = hop.resource.split(", ").next().unwrap_or(&hop.resource);
    Some(FixPlan {
        summary: format!(
            "admit tcp/443 from {lambda_group} on the endpoint's group {endpoint_group}"
        ),
        rationale: format!(
            "Additive: one inbound rule on {endpoint_group}, from the Lambda's group only."
        ),
        actions: vec![FixAction::AuthorizeIngressFromGroup {
            group_id: endpoint_group.to_string(),
            port: 443,
            source_group_id: lambda_group.clone(),
            description: rule_description(service),
        }],
    })
}

/// The Lambda's group lets no HTTPS out: allow it, to the endpoint's group
/// when the path goes through an endpoint, else to any address (the public
/// endpoint's).
pub(crate) fn allow_egress(service: &AwsService, facts: &Facts, path: &NetPath) -> Option<FixPlan> {
    let lambda_group = path.from.security_groups.first()?;
    let destination = used_endpoint(facts, path)
        .and_then(|e| e.security_group_ids.first().cloned())
        .map(EgressDestination::Group)
        .unwrap_or_else(|| EgressDestination::Cidr("0.0.0.0/0".to_string()));
    Some(FixPlan {
        summary: format!("allow tcp/443 out of {lambda_group}"),
        rationale: format!("Additive: one outbound HTTPS rule on {lambda_group}."),
        actions: vec![FixAction::AuthorizeEgress {
            group_id: lambda_group.clone(),
            port: 443,
            destination,
            description: rule_description(service),
        }],
    })
}

/// The interface endpoint a path went through, if any.
pub(crate) fn used_endpoint<'a>(facts: &'a Facts, path: &NetPath) -> Option<&'a VpcEndpoint> {
    let id = path
        .hops
        .iter()
        .find(|h| h.kind == HopKind::Dns && h.verdict == HopVerdict::Pass)?
        .resource
        .as_str();
    facts
        .network
        .vpc_endpoints
        .present()?
        .iter()
        .find(|e| e.id == id)
}

/// A new interface endpoint for `service` in the Lambda's subnets (one per
/// zone, as AWS allows), guarded by the Lambda's own group, which is opened
/// to itself on 443. Offered only where the VPC has no endpoint for the
/// service (a deleted one does not count) and its DNS allows private DNS.
pub(crate) fn new_endpoint(
    service: &AwsService,
    facts: &Facts,
    lambda: &Lambda,
) -> Option<FixPlan> {
    let vpc = lambda.vpc.as_ref()?;
    let group = vpc.security_group_ids.first()?;
    let index = NetIndex::new(&facts.network);
    let service_name = format!("com.amazonaws.{}.{}", facts.region, service.prefix);
    let mut zones = Vec::new();
    let mut subnets = Vec::new();
    let mut vpc_id = None;
    for id in &vpc.subnet_ids {
        let subnet = index.subnet(id).ok()?;
        vpc_id.get_or_insert_with(|| subnet.vpc_id.clone());
        if !zones.contains(&subnet.availability_zone) {
            zones.push(subnet.availability_zone.clone());
            subnets.push(subnet.id.clone());
        }
    }
    let vpc_id = vpc_id?;
    // Private DNS needs the VPC's DNS support and host names: without them
    // AWS refuses the endpoint, and turning them on is not ours to decide.
    let dns_on = index
        .vpc(&vpc_id)
        .is_some_and(|v| v.dns_support != Some(false) && v.dns_hostnames != Some(false));
    if !dns_on {
        return None;
    }
    let exists = index
        .vpc_endpoints()
        .ok()?
        .iter()
        .any(|e| e.vpc_id == vpc_id && e.service_name == service_name && !e.is_gone());
    if exists {
        return None;
    }
    Some(FixPlan {
        summary: format!(
            "create an interface endpoint for {} in {vpc_id}",
            service.title
        ),
        rationale: format!(
            "Gives the Lambda a private path to {} without touching routes or the function. \
             The endpoint is billed by the hour per zone. Its security group is the Lambda's own {group}, opened to itself on tcp/443.",
            service.title
        ),
        actions: vec![
            FixAction::AuthorizeIngressFromGroup {
                group_id: group.clone(),
                port: 443,
                source_group_id: group.clone(),
                description: format!("rotation-doctor: {} endpoint", service.title),
            },
            FixAction::CreateInterfaceEndpoint {
                vpc_id,
                service_name,
                subnet_ids: subnets,
                security_group_ids: vec![group.clone()],
            },
        ],
    })
}
