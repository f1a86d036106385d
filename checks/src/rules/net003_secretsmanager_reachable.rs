//! NET003: the rotation Lambda reaches the Secrets Manager endpoint.

use super::support::Blocked;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::facts::{Lambda, VpcEndpoint};
use crate::finding::{Finding, Severity};
use crate::fix::{EgressDestination, FixAction, FixPlan};
use crate::net::{Hop, HopKind, NetPath};

pub struct SecretsmanagerReachable;

static META: CheckMeta = CheckMeta {
    id: "NET003",
    name: "secretsmanager-unreachable",
    title: "Rotation Lambda reaches the Secrets Manager endpoint",
    severity: Severity::Critical,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ],
    explained_by: ExplainedBy::Checks(&["NET001"]),
    docs: r#"## What it checks
From each of the rotation Lambda's subnets, whether HTTPS to Secrets Manager
gets through. With an interface endpoint `com.amazonaws.REGION.secretsmanager`
whose private DNS is on (and the VPC's DNS support and host names on), or one
that `SECRETS_MANAGER_ENDPOINT` names, the flow goes to the endpoint: the
Lambda's egress, the network ACLs, the endpoint's security group on 443 and
its policy. Otherwise it goes to the public endpoint, which a VPC Lambda
reaches only through a default route to an available NAT gateway whose own
subnet routes to an attached internet gateway. A route to an internet
gateway alone does not work: a Lambda's network interface has no public IP,
and neither does a default route to a VPC peering connection: AWS does not
route through a peered VPC's NAT or internet gateway (no edge-to-edge
routing). Endpoints that nearly work (private DNS off, wrong zone) are noted.

## Why it breaks rotation
Every step starts with a Secrets Manager call. When it cannot connect, the
log shows `Found credentials in environment variables.` and then nothing
until `Task timed out after 30.0 seconds`.

## How to fix it
Either add a default route to a NAT gateway in a public subnet to the
Lambda's route table, or create an interface endpoint:
`aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --vpc-id VPC --service-name com.amazonaws.REGION.secretsmanager --subnet-ids ... --security-group-ids SG --private-dns-enabled`
(it costs money by the hour) with a security group that admits tcp/443 from
the Lambda's group. An existing endpoint with private DNS off: turn it on
(`aws ec2 modify-vpc-endpoint --vpc-endpoint-id ID --private-dns-enabled`) or
set the Lambda's `SECRETS_MANAGER_ENDPOINT` to its DNS name.
`--fix` adds a missing tcp/443 security group rule (a safe fix: it only
adds). When the subnets have no route to Secrets Manager, it offers an
interface endpoint in the Lambda's subnets, guarded by the Lambda's own group
opened to itself on tcp/443 (a safe fix, though billed by the hour), then
moving the Lambda to subnets that reach Secrets Manager (an unsafe fix,
applied only with `--unsafe-fixes`: it changes the function's network
configuration). It does not change routes, network ACLs or endpoint
policies.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-function-network-access.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html
- https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
- https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-basics.html
"#,
};

impl Check for SecretsmanagerReachable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let region = &facts.region;
        let blocked = |path: &NetPath, hop: &Hop| {
            let subnet = path
                .from
                .subnet
                .as_deref()
                .map_or("its network".to_string(), |s| facts.label(s));
            let message = format!(
                "the rotation Lambda cannot reach Secrets Manager from {subnet}: {}",
                hop.detail
            );
            let groups = path.from.security_groups.join(",");
            let lambda_group = path.from.security_groups.first();
            let mut remediation = Vec::new();
            let mut fixes = Vec::new();
            match hop.kind {
                HopKind::SecurityGroupIngress => {
                    let endpoint_group = hop.resource.split(", ").next().unwrap_or(&hop.resource);
                    remediation.push(format!(
                        "Admit HTTPS from the Lambda's group on the endpoint's group: aws ec2 authorize-security-group-ingress --group-id {endpoint_group} --protocol tcp --port 443 --source-group {}",
                        lambda_group.map_or("LAMBDA_SG", String::as_str)
                    ));
                    if let Some(lambda_group) = lambda_group {
                        fixes.push(FixPlan {
                            summary: format!("admit tcp/443 from {lambda_group} on the endpoint's group {endpoint_group}"),
                            rationale: format!("Additive: one inbound rule on {endpoint_group}, from the Lambda's group only."),
                            actions: vec![FixAction::AuthorizeIngressFromGroup {
                                group_id: endpoint_group.to_string(),
                                port: 443,
                                source_group_id: lambda_group.clone(),
                                description: "rotation-doctor: rotation Lambda to Secrets Manager".to_string(),
                            }],
                        });
                    }
                }
                HopKind::SecurityGroupEgress => {
                    remediation.push(format!(
                        "Allow outbound tcp/443 from {}: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port 443 --cidr 0.0.0.0/0",
                        hop.resource, hop.resource
                    ));
                    if let Some(lambda_group) = lambda_group {
                        // Through an endpoint the flow needs only its group;
                        // to the public endpoint, any address.
                        let destination = used_endpoint(facts, path)
                            .and_then(|e| e.security_group_ids.first().cloned())
                            .map(EgressDestination::Group)
                            .unwrap_or_else(|| EgressDestination::Cidr("0.0.0.0/0".to_string()));
                        fixes.push(FixPlan {
                            summary: format!("allow tcp/443 out of {lambda_group}"),
                            rationale: format!("Additive: one outbound HTTPS rule on {lambda_group}."),
                            actions: vec![FixAction::AuthorizeEgress {
                                group_id: lambda_group.clone(),
                                port: 443,
                                destination,
                                description: "rotation-doctor: rotation Lambda to Secrets Manager".to_string(),
                            }],
                        });
                    }
                }
                HopKind::NetworkAclInbound | HopKind::NetworkAclOutbound => remediation.push(format!(
                    "Add allow rules to {} for tcp/443 and the return ports 1024-65535, numbered before the rule that denies",
                    hop.resource
                )),
                HopKind::EndpointPolicy => remediation.push(format!(
                    "Let the endpoint policy of {} allow the rotation's Secrets Manager actions (DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage, GetRandomPassword)",
                    hop.resource
                )),
                _ => {
                    let placement = paths.placement.as_ref();
                    if let Some(placement) = placement {
                        remediation.push(format!(
                            "Move the Lambda to subnets {} (with security group {}), from which Secrets Manager and the database are reachable: aws lambda update-function-configuration --function-name {} --vpc-config SubnetIds={},SecurityGroupIds={}",
                            placement.subnet_ids.join(", "),
                            placement.security_group_id,
                            lambda.name,
                            placement.subnet_ids.join(","),
                            placement.security_group_id
                        ));
                    }
                    remediation.push(format!(
                        "Or give {subnet} a default route to a NAT gateway in a public subnet, or create an interface endpoint with private DNS (billed hourly): aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --vpc-id VPC --service-name com.amazonaws.{region}.secretsmanager --subnet-ids {subnet} --security-group-ids ENDPOINT_SG --private-dns-enabled, with ENDPOINT_SG admitting tcp/443 from {groups}"
                    ));
                    fixes.extend(new_endpoint_plan(facts, lambda));
                    if let (Some(placement), Some(vpc)) = (placement, &lambda.vpc) {
                        fixes.push(FixPlan {
                            summary: format!(
                                "move the Lambda to subnets {} and security group {}",
                                placement.subnet_ids.join(", "),
                                placement.security_group_id
                            ),
                            rationale: "Those subnets already reach Secrets Manager and the database admits that group, so nothing new is built or paid for. \
                                        It changes the function's network configuration (unsafe); the current one is kept in the journal for undo."
                                .to_string(),
                            actions: vec![FixAction::UpdateLambdaVpc {
                                function_name: lambda.name.clone(),
                                subnet_ids: placement.subnet_ids.clone(),
                                security_group_ids: vec![placement.security_group_id.clone()],
                                previous_subnet_ids: vpc.subnet_ids.clone(),
                                previous_security_group_ids: vpc.security_group_ids.clone(),
                            }],
                        });
                    }
                }
            }
            for note in path
                .hops
                .iter()
                .filter(|h| h.kind == HopKind::VpcEndpoint && h.detail.contains("private DNS off"))
            {
                remediation.push(format!(
                    "{} exists: turn its private DNS on (aws ec2 modify-vpc-endpoint --vpc-endpoint-id {} --private-dns-enabled) or set SECRETS_MANAGER_ENDPOINT to its DNS name",
                    note.resource, note.resource
                ));
            }
            Blocked {
                message,
                remediation: remediation.join("\n"),
                fixes,
            }
        };
        vec![super::support::path_finding(
            &META,
            facts,
            &paths.secretsmanager,
            blocked,
            "the rotation Lambda reaches Secrets Manager from each of its subnets",
        )]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.network.route_tables)[1].routes[1] =
                crate::fixtures::route(
                    "0.0.0.0/0",
                    crate::facts::RouteTarget::InternetGateway("igw-lab".into()),
                );
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

/// The interface endpoint a path went through, if any.
fn used_endpoint<'a>(facts: &'a Facts, path: &NetPath) -> Option<&'a VpcEndpoint> {
    let id = path
        .hops
        .iter()
        .find(|h| h.kind == HopKind::Dns && h.verdict == crate::net::HopVerdict::Pass)?
        .resource
        .as_str();
    facts
        .network
        .vpc_endpoints
        .present()?
        .iter()
        .find(|e| e.id == id)
}

/// A new interface endpoint in the Lambda's subnets (one per zone, as AWS
/// allows), guarded by the Lambda's own group, which is opened to itself on
/// 443. Offered only where the VPC has no Secrets Manager endpoint yet.
fn new_endpoint_plan(facts: &Facts, lambda: &Lambda) -> Option<FixPlan> {
    let vpc = lambda.vpc.as_ref()?;
    let group = vpc.security_group_ids.first()?;
    let index = crate::net::NetIndex::new(&facts.network);
    let service = format!("com.amazonaws.{}.secretsmanager", facts.region);
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
        .any(|e| e.vpc_id == vpc_id && e.service_name == service);
    if exists {
        return None;
    }
    Some(FixPlan {
        summary: format!("create an interface endpoint for Secrets Manager in {vpc_id}"),
        rationale: format!(
            "Gives the Lambda a private path to Secrets Manager without touching routes or the function. \
             The endpoint is billed by the hour per zone. Its security group is the Lambda's own {group}, opened to itself on tcp/443."
        ),
        actions: vec![
            FixAction::AuthorizeIngressFromGroup {
                group_id: group.clone(),
                port: 443,
                source_group_id: group.clone(),
                description: "rotation-doctor: Secrets Manager endpoint".to_string(),
            },
            FixAction::CreateInterfaceEndpoint {
                vpc_id,
                service_name: service,
                subnet_ids: subnets,
                security_group_ids: vec![group.clone()],
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::RouteTarget;
    use crate::finding::Status;
    use crate::fixtures::{get, lab, lab_moved, route};

    #[test]
    fn passes_through_the_nat_gateway() {
        assert_eq!(
            crate::rules::evaluate_alone(&SecretsmanagerReachable, &lab())
                .remove(0)
                .status,
            Status::Pass
        );
    }

    #[test]
    fn fails_on_an_internet_gateway_route_and_names_the_table() {
        let mut facts = lab_moved();
        get(&mut facts.network.route_tables)[1].routes[1] =
            route("0.0.0.0/0", RouteTarget::InternetGateway("igw-lab".into()));
        let finding = crate::rules::evaluate_alone(&SecretsmanagerReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.resource, "rtb-private");
        assert!(
            finding.message.contains("no public IP"),
            "{}",
            finding.message
        );
        assert!(finding.remediation.contains("create-vpc-endpoint"));
        // A new endpoint in one subnet per zone, guarded by the Lambda's group.
        let plan = &finding.fixes[0];
        assert!(
            matches!(&plan.actions[1], crate::fix::FixAction::CreateInterfaceEndpoint { subnet_ids, security_group_ids, .. }
            if subnet_ids == &["subnet-lambda-a", "subnet-lambda-b"] && security_group_ids == &["sg-lambda"])
        );
    }
}
