//! NET002: the rotation Lambda reaches its database on the engine port.

use crate::check::{Check, CheckMeta};
use crate::facts::Facts;
use crate::finding::{Finding, Severity};
use crate::net::{database_paths, suggest_placement, Hop, HopKind, NetPath};

pub struct DatabaseReachable;

static META: CheckMeta = CheckMeta {
    id: "NET002",
    name: "database-unreachable",
    title: "Rotation Lambda reaches the database on its port",
    severity: Severity::Critical,
    docs: r#"## What it checks
From each of the rotation Lambda's subnets, whether a TCP connection to the
database on its port (the secret's `port`, else the database's, else the
engine's default: 3306 for MySQL) gets through: the Lambda's security group
egress, the route table, the network ACLs of both subnets in both directions
(with the ephemeral return ports 1024-65535), and the database's security
group ingress (a reference to the Lambda's group, or a CIDR that covers the
Lambda's whole subnet). The database may run in any of its subnets, so each
is checked. The evidence shows every path with the component that blocks it.

## Why it breaks rotation
`setSecret` and `testSecret` log into the database. When the connection is
dropped the function logs `setSecret: Unable to log into database with
previous, current, or pending secret of secret arn ...` or times out, and the
rotation fails, leaving AWSPENDING behind.

## How to fix it
Admit the Lambda's security group on the database's group:
`aws ec2 authorize-security-group-ingress --group-id DB_SG --protocol tcp --port 3306 --source-group LAMBDA_SG`,
or move the Lambda to subnets and a security group the database already
admits (the report names them when it finds a placement from which both the
database and Secrets Manager are reachable):
`aws lambda update-function-configuration --function-name FN --vpc-config SubnetIds=...,SecurityGroupIds=...`.
Blocking network ACLs need allow rules for the port and the ephemeral range.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html
"#,
};

impl Check for DatabaseReachable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts) -> Vec<Finding> {
        let lambda = match super::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let database = facts.database.present();
        let name = database.map_or("the database", |d| d.identifier.as_str());
        let reachable = format!("the rotation Lambda reaches {name} from each of its subnets");
        let blocked = |path: &NetPath, hop: &Hop| {
            let port = path.port;
            let groups = path.from.security_groups.join(", ");
            let message = match hop.kind {
                HopKind::SecurityGroupIngress => format!(
                    "security group {} does not admit tcp/{port} from the rotation Lambda's security group {groups}: the Lambda cannot reach {name}",
                    hop.resource
                ),
                _ => format!(
                    "the rotation Lambda cannot reach {name} on tcp/{port}: {}",
                    hop.detail
                ),
            };
            let mut remediation = Vec::new();
            if let Some(placement) = suggest_placement(facts) {
                remediation.push(format!(
                    "Put the Lambda in security group {} and subnets {}: the database admits that group on tcp/{port} and Secrets Manager is reachable from those subnets. \
                     aws lambda update-function-configuration --function-name {} --vpc-config SubnetIds={},SecurityGroupIds={}",
                    placement.security_group_id,
                    placement.subnet_ids.join(", "),
                    lambda.name,
                    placement.subnet_ids.join(","),
                    placement.security_group_id
                ));
            }
            match hop.kind {
                HopKind::SecurityGroupIngress => {
                    for group in &path.from.security_groups {
                        remediation.push(format!(
                            "{} admit its group: aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port {port} --source-group {group}",
                            if remediation.is_empty() { "Admit the Lambda's group on the database's group:" } else { "Or" },
                            hop.resource
                        ));
                    }
                }
                HopKind::SecurityGroupEgress => remediation.push(format!(
                    "Allow outbound tcp/{port} from {} to the database's security group: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port {port} --source-group DB_SG",
                    hop.resource, hop.resource
                )),
                HopKind::NetworkAclInbound | HopKind::NetworkAclOutbound => remediation.push(format!(
                    "Add allow rules to {} for tcp/{port} and the return ports 1024-65535 between the Lambda's and the database's subnets, numbered before the rule that denies",
                    hop.resource
                )),
                HopKind::Placement => remediation.push(
                    "Attach the Lambda to private subnets of the database's VPC (see NET001).".to_string(),
                ),
                _ => remediation.push(format!("Repair {}: {}", hop.resource, hop.detail)),
            }
            (message, remediation.join("\n"))
        };
        vec![super::path_finding(
            &META,
            facts,
            database_paths(facts),
            blocked,
            &reachable,
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;
    use crate::fixtures::{lab, lab_moved};

    #[test]
    fn lab_fails_naming_the_group_the_port_and_the_way_out() {
        let finding = DatabaseReachable.evaluate(&lab()).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.resource, "sg-db");
        assert!(
            finding.message.contains("sg-db does not admit tcp/3306"),
            "{}",
            finding.message
        );
        assert!(
            finding
                .remediation
                .contains("security group sg-lambda and subnets subnet-lambda-a, subnet-lambda-b"),
            "{}",
            finding.remediation
        );
        assert!(finding
            .remediation
            .contains("--group-id sg-db --protocol tcp --port 3306 --source-group sg-db"));
        assert!(finding
            .evidence
            .iter()
            .any(|e| e.contains("sg-db ✗ BLOCKED")));
    }

    #[test]
    fn passes_once_the_lambda_is_moved() {
        let finding = DatabaseReachable.evaluate(&lab_moved()).remove(0);
        assert_eq!(finding.status, Status::Pass, "{finding:?}");
    }
}
