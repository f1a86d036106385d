//! NET001: where the rotation Lambda sits: it exists, it is in a VPC when the
//! database is private, its subnets and groups exist, and it shares the
//! database's VPC.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{DatabaseKind, ErrorKind, Fact, Facts};
use crate::finding::{Finding, Severity, Status};
use crate::net::NetIndex;

pub struct LambdaPlacement;

static META: CheckMeta = CheckMeta {
    id: "NET001",
    name: "rotation-lambda-placement",
    title: "Rotation Lambda placement (exists, VPC, subnets, security groups)",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret, RotationStep::TestSecret],
    // In a template, a hosted rotation function without VPC settings.
    explained_by: ExplainedBy::Checks(&["TPL002"]),
    docs: r#"## What it checks
That the secret's rotation Lambda exists and sits where it can do its work:
attached to a VPC when the database is private, in subnets and security
groups that exist, and in the same VPC as the database. It lists the
Lambda's subnets (with their zones and route tables) and security groups as
evidence, and notes when the Lambda uses the database's own security group.
For an ElastiCache user the database's VPC does not matter: its rotation
function calls the ElastiCache API, never a cache node (see NET002).

## Why it breaks rotation
Every rotation step runs in the Lambda. A deleted function cannot be invoked.
A Lambda outside the VPC cannot open a connection to a private database, and
a Lambda in another VPC needs peering or a transit gateway that the rotation
templates do not expect. Consoles and templates often place the function in
the database's subnets with the database's security group, which then has to
admit itself (see NET002).

## How to fix it
Attach the function to private subnets of the database's VPC that route to
Secrets Manager (a NAT gateway or an interface endpoint), with a security
group the database admits on its port:
`aws lambda update-function-configuration --function-name FN --vpc-config SubnetIds=subnet-a,subnet-b,SecurityGroupIds=sg-x`
(always send both lists). A deleted function: create the rotation function
again and point the secret at it with `aws secretsmanager rotate-secret
--rotation-lambda-arn ARN`.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-function-network-access.html
- https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
"#,
};

impl Check for LambdaPlacement {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        if let (Fact::Unavailable(u), Some(secret)) = (&facts.lambda, facts.secret.present()) {
            if u.kind == ErrorKind::NotFound && secret.owning_service.is_none() {
                let arn = secret.rotation_lambda_arn.clone().unwrap_or_default();
                return vec![META
                    .finding(
                        Status::Fail,
                        &arn,
                        format!("the rotation Lambda {arn} does not exist"),
                    )
                    .with_evidence([u.to_string()])
                    .with_remediation(
                        "Create the rotation function again (from the console's rotation settings, \
                         the SAR template or your IaC), then point the secret at it: \
                         aws secretsmanager rotate-secret --secret-id SECRET --rotation-lambda-arn NEW_ARN",
                    )];
            }
        }
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        // An ElastiCache user's rotation calls the ElastiCache API, not the
        // cache nodes: where they run does not bind the Lambda.
        let elasticache_user = facts
            .database
            .present()
            .filter(|db| db.kind == DatabaseKind::ElasticacheUser);
        let database = facts
            .database
            .present()
            .filter(|db| db.kind != DatabaseKind::ElasticacheUser);
        let Some(vpc) = &lambda.vpc else {
            if let Some(finding) = super::support::no_such_database(&META, facts, &lambda.arn) {
                return vec![*finding];
            }
            if let Some(user) = elasticache_user {
                return vec![META.finding(
                    Status::Pass,
                    &lambda.arn,
                    format!(
                        "the rotation Lambda is not in a VPC: ElastiCache user {}'s rotation calls the ElastiCache API, which the Lambda reaches through Lambda's own internet access",
                        user.identifier
                    ),
                )];
            }
            return vec![match database {
                Some(db) if db.publicly_accessible != Some(true) => META
                    .finding(
                        Status::Fail,
                        &lambda.arn,
                        format!(
                            "the rotation Lambda is not attached to a VPC, but database {} is private{}",
                            db.identifier,
                            db.vpc_id.as_ref().map(|v| format!(" in {v}")).unwrap_or_default()
                        ),
                    )
                    .with_remediation(format!(
                        "Attach the Lambda to private subnets of {} with a route to Secrets Manager and a \
                         security group the database admits: aws lambda update-function-configuration \
                         --function-name {} --vpc-config SubnetIds=...,SecurityGroupIds=...",
                        db.vpc_id.as_deref().unwrap_or("the database's VPC"),
                        lambda.name
                    )),
                Some(db) => META.finding(
                    Status::Pass,
                    &lambda.arn,
                    format!(
                        "the rotation Lambda is not in a VPC; database {} is publicly accessible",
                        db.identifier
                    ),
                ),
                None => META.finding(
                    Status::Unknown,
                    &lambda.arn,
                    format!(
                        "the rotation Lambda is not in a VPC, and whether the database is private is unknown ({})",
                        facts.database.missing_reason().unwrap_or_default()
                    ),
                ),
            }];
        };

        let index = NetIndex::new(&facts.network);
        let mut evidence = Vec::new();
        let mut problems = Vec::new();
        let mut unknowns = Vec::new();
        let mut vpcs = Vec::new();
        let mut zones = Vec::new();
        for subnet_id in &vpc.subnet_ids {
            match index.subnet(subnet_id) {
                Ok(subnet) => {
                    let table = index
                        .route_table_for(subnet)
                        .map(|t| t.id.clone())
                        .unwrap_or_else(|_| "route table unknown".to_string());
                    evidence.push(format!(
                        "subnet {} ({}, {}, {}, {table})",
                        facts.label(&subnet.id),
                        subnet.cidr.map(|c| c.to_string()).unwrap_or_default(),
                        subnet.availability_zone.as_deref().unwrap_or("?"),
                        subnet.vpc_id
                    ));
                    if !vpcs.contains(&subnet.vpc_id) {
                        vpcs.push(subnet.vpc_id.clone());
                    }
                    if let Some(az) = &subnet.availability_zone {
                        if !zones.contains(az) {
                            zones.push(az.clone());
                        }
                    }
                }
                Err(reason) if facts.network.subnets.present().is_some() => problems.push(format!(
                    "{reason}; the Lambda cannot start network interfaces in it"
                )),
                Err(reason) => unknowns.push(reason),
            }
        }
        for group_id in &vpc.security_group_ids {
            match index.security_group(group_id) {
                Ok(group) => evidence.push(format!("security group {}", facts.label(&group.id))),
                Err(reason) if facts.network.security_groups.present().is_some() => {
                    problems.push(reason)
                }
                Err(reason) => unknowns.push(reason),
            }
        }
        if vpc.subnet_ids.is_empty() || vpc.security_group_ids.is_empty() {
            problems.push(
                "the Lambda's VPC configuration lacks subnets or security groups".to_string(),
            );
        }
        if vpcs.len() > 1 {
            problems.push(format!(
                "the Lambda's subnets are in several VPCs: {}",
                vpcs.join(", ")
            ));
        }
        if let (Some(db), [lambda_vpc]) = (database, vpcs.as_slice()) {
            match &db.vpc_id {
                Some(db_vpc) if db_vpc != lambda_vpc => problems.push(format!(
                    "the Lambda is in {lambda_vpc} but database {} is in {db_vpc}",
                    db.identifier
                )),
                _ => {}
            }
            let shared: Vec<&String> = vpc
                .security_group_ids
                .iter()
                .filter(|g| db.security_group_ids.contains(g))
                .collect();
            if !shared.is_empty() {
                evidence.push(format!(
                    "the Lambda uses the database's own security group ({}): it reaches the database only if that group admits itself",
                    facts.labels(shared)
                ));
            }
        }
        if zones.len() == 1 {
            evidence.push(format!(
                "all of the Lambda's subnets are in one zone ({}); Lambda recommends two or more",
                zones[0]
            ));
        }

        let finding = if !problems.is_empty() {
            META.finding(Status::Fail, &lambda.arn, problems.join("; "))
                .with_remediation(format!(
                    "Place the Lambda in existing private subnets of the database's VPC and a security \
                     group the database admits, sending both lists: aws lambda update-function-configuration \
                     --function-name {} --vpc-config SubnetIds=...,SecurityGroupIds=...",
                    lambda.name
                ))
        } else if !unknowns.is_empty() {
            META.finding(Status::Unknown, &lambda.arn, unknowns.join("; "))
        } else {
            META.finding(
                Status::Pass,
                &lambda.arn,
                format!(
                    "the rotation Lambda is in {} (subnets {}; security groups {})",
                    vpcs.join(", "),
                    facts.labels(&vpc.subnet_ids),
                    facts.labels(&vpc.security_group_ids)
                ),
            )
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.lambda).vpc = None;
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Unavailable;
    use crate::fixtures::{get, lab, lab_moved};

    fn status(facts: &Facts) -> (Status, String) {
        let finding = crate::rules::evaluate_alone(&LambdaPlacement, facts).remove(0);
        (finding.status, finding.message)
    }

    #[test]
    fn passes_in_the_database_vpc_and_notes_the_shared_group() {
        let findings = crate::rules::evaluate_alone(&LambdaPlacement, &lab());
        assert_eq!(findings[0].status, Status::Pass);
        assert!(findings[0]
            .evidence
            .iter()
            .any(|e| e.contains("database's own security group")));
        assert_eq!(status(&lab_moved()).0, Status::Pass);
    }

    #[test]
    fn fails_outside_a_vpc_with_a_private_database() {
        let mut facts = lab();
        get(&mut facts.lambda).vpc = None;
        let (status, message) = status(&facts);
        assert_eq!(status, Status::Fail);
        assert!(message.contains("not attached to a VPC"), "{message}");
    }

    #[test]
    fn fails_in_another_vpc_or_a_missing_subnet() {
        let mut facts = lab();
        get(&mut facts.database).vpc_id = Some("vpc-other".into());
        assert!(status(&facts).1.contains("vpc-other"));
        let mut facts = lab();
        get(&mut facts.lambda).vpc.as_mut().unwrap().subnet_ids = vec!["subnet-gone".into()];
        let (status, message) = status(&facts);
        assert_eq!(status, Status::Fail);
        assert!(message.contains("subnet-gone"), "{message}");
    }

    #[test]
    fn fails_when_the_function_was_deleted() {
        let mut facts = lab();
        facts.lambda = Fact::Unavailable(Unavailable {
            call: "lambda:GetFunctionConfiguration".into(),
            kind: ErrorKind::NotFound,
            message: "Function not found".into(),
        });
        let (status, message) = status(&facts);
        assert_eq!(status, Status::Fail);
        assert!(message.contains("does not exist"));
    }

    #[test]
    fn unknown_when_subnets_cannot_be_read() {
        let mut facts = lab();
        facts.network.subnets = Fact::Unavailable(Unavailable {
            call: "ec2:DescribeSubnets".into(),
            kind: ErrorKind::AccessDenied,
            message: "denied".into(),
        });
        let (status, message) = status(&facts);
        assert_eq!(status, Status::Unknown);
        assert!(message.contains("ec2:DescribeSubnets"));
    }

    #[test]
    fn an_elasticache_user_does_not_bind_the_lambda_to_its_vpc() {
        let mut facts = crate::fixtures::elasticache_user();
        get(&mut facts.database).vpc_id = Some("vpc-cache".into());
        let f = crate::rules::evaluate_alone(&LambdaPlacement, &facts).remove(0);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        get(&mut facts.lambda).vpc = None;
        let f = crate::rules::evaluate_alone(&LambdaPlacement, &facts).remove(0);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.message.contains("ElastiCache API"), "{}", f.message);
    }
}
