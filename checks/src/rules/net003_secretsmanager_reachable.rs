//! NET003: the rotation Lambda reaches the Secrets Manager endpoint.

use super::service_fixes;
use super::support::Blocked;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity};
use crate::fix::{FixAction, FixPlan};
use crate::net::{Hop, HopKind, NetPath, SECRETS_MANAGER};

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
                    fixes.extend(service_fixes::admit_on_endpoint_group(&SECRETS_MANAGER, path, hop));
                }
                HopKind::SecurityGroupEgress => {
                    remediation.push(format!(
                        "Allow outbound tcp/443 from {}: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port 443 --cidr 0.0.0.0/0",
                        hop.resource, hop.resource
                    ));
                    fixes.extend(service_fixes::allow_egress(&SECRETS_MANAGER, facts, path));
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
                    fixes.extend(service_fixes::new_endpoint(&SECRETS_MANAGER, facts, lambda));
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
