//! NET003: the rotation Lambda reaches the Secrets Manager endpoint.

use crate::check::{Check, CheckMeta};
use crate::facts::Facts;
use crate::finding::{Finding, Severity};
use crate::net::{secretsmanager_paths, suggest_placement, Hop, HopKind, NetPath};

pub struct SecretsmanagerReachable;

static META: CheckMeta = CheckMeta {
    id: "NET003",
    name: "secretsmanager-unreachable",
    title: "Rotation Lambda reaches the Secrets Manager endpoint",
    severity: Severity::Critical,
    docs: r#"## What it checks
From each of the rotation Lambda's subnets, whether HTTPS to Secrets Manager
gets through. With an interface endpoint `com.amazonaws.REGION.secretsmanager`
whose private DNS is on (and the VPC's DNS support and host names on), or one
that `SECRETS_MANAGER_ENDPOINT` names, the flow goes to the endpoint: the
Lambda's egress, the network ACLs, the endpoint's security group on 443 and
its policy. Otherwise it goes to the public endpoint, which a VPC Lambda
reaches only through a default route to an available NAT gateway whose own
subnet routes to an attached internet gateway. A route to an internet
gateway alone does not work: a Lambda's network interface has no public IP.
Endpoints that nearly work (private DNS off, wrong zone) are noted.

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

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-function-network-access.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html
- https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
"#,
};

impl Check for SecretsmanagerReachable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts) -> Vec<Finding> {
        let lambda = match super::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let region = &facts.region;
        let blocked = |path: &NetPath, hop: &Hop| {
            let subnet = path.from.subnet.as_deref().unwrap_or("its network");
            let message = format!(
                "the rotation Lambda cannot reach Secrets Manager from {subnet}: {}",
                hop.detail
            );
            let groups = path.from.security_groups.join(",");
            let mut remediation = Vec::new();
            match hop.kind {
                HopKind::SecurityGroupIngress => remediation.push(format!(
                    "Admit HTTPS from the Lambda's group on the endpoint's group: aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port 443 --source-group {}",
                    hop.resource,
                    path.from.security_groups.first().map_or("LAMBDA_SG", String::as_str)
                )),
                HopKind::SecurityGroupEgress => remediation.push(format!(
                    "Allow outbound tcp/443 from {}: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port 443 --cidr 0.0.0.0/0",
                    hop.resource, hop.resource
                )),
                HopKind::NetworkAclInbound | HopKind::NetworkAclOutbound => remediation.push(format!(
                    "Add allow rules to {} for tcp/443 and the return ports 1024-65535, numbered before the rule that denies",
                    hop.resource
                )),
                HopKind::EndpointPolicy => remediation.push(format!(
                    "Let the endpoint policy of {} allow the rotation's Secrets Manager actions (DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage, GetRandomPassword)",
                    hop.resource
                )),
                _ => {
                    if let Some(placement) = suggest_placement(facts) {
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
            (message, remediation.join("\n"))
        };
        vec![super::path_finding(
            &META,
            facts,
            secretsmanager_paths(facts),
            blocked,
            "the rotation Lambda reaches Secrets Manager from each of its subnets",
        )]
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
            SecretsmanagerReachable.evaluate(&lab()).remove(0).status,
            Status::Pass
        );
    }

    #[test]
    fn fails_on_an_internet_gateway_route_and_names_the_table() {
        let mut facts = lab_moved();
        get(&mut facts.network.route_tables)[1].routes[1] =
            route("0.0.0.0/0", RouteTarget::InternetGateway("igw-lab".into()));
        let finding = SecretsmanagerReachable.evaluate(&facts).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.resource, "rtb-private");
        assert!(
            finding.message.contains("no public IP"),
            "{}",
            finding.message
        );
        assert!(finding.remediation.contains("create-vpc-endpoint"));
    }
}
