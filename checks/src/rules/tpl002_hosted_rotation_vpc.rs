//! TPL002: a `HostedRotationLambda` for a private database is given the
//! VPC settings it needs to reach it.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};

pub struct HostedRotationVpc;

static META: CheckMeta = CheckMeta {
    id: "TPL002",
    name: "hosted-rotation-outside-vpc",
    title: "A template's HostedRotationLambda for a private database has VPC settings",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret, RotationStep::TestSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
In a CloudFormation template (`rotation-doctor template`), that a
`HostedRotationLambda` rotating the secret of a database that is not
publicly accessible gives both `VpcSubnetIds` and `VpcSecurityGroupIds`.
Schedules with `RotationLambdaARN` (NET001 places those), publicly
accessible databases and diagnoses of deployed secrets are skipped.

## Why it breaks rotation
Without those two properties the transform creates the rotation function
outside any VPC. It then cannot open a connection to a database that only
has private addresses: setSecret fails with `Unable to log into database`
after its connection attempts time out. With only one of the two, Lambda
refuses the VPC configuration.

## How to fix it
Give the `HostedRotationLambda` private subnets of the database's VPC that
route to Secrets Manager (through a NAT gateway or an interface endpoint),
and a security group the database's group admits on its port:
`VpcSubnetIds: !Join [",", [!Ref SubnetA, !Ref SubnetB]]` and
`VpcSecurityGroupIds: !Ref RotationSecurityGroup`. `--fix` changes
accounts, not templates: it has no action for this check.

## References
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-secretsmanager-rotationschedule-hostedrotationlambda.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-function-network-access.html
"#,
};

impl Check for HostedRotationVpc {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let Fact::Present(template) = &facts.template else {
            return vec![META.finding(
                Status::Skipped,
                &facts.secret_id,
                "not a template: NET001 checks where the deployed function sits",
            )];
        };
        let Some(hosted) = &template.hosted_rotation else {
            return vec![META.finding(
                Status::Skipped,
                &template.schedule,
                "the schedule names its function with RotationLambdaARN (NET001 checks its placement)",
            )];
        };
        let resource = template.schedule.as_str();
        let missing: Vec<&str> = [
            ("VpcSubnetIds", hosted.vpc_subnet_ids),
            ("VpcSecurityGroupIds", hosted.vpc_security_group_ids),
        ]
        .into_iter()
        .filter(|(_, given)| !given)
        .map(|(name, _)| name)
        .collect();
        if missing.is_empty() {
            return vec![META.finding(
                Status::Pass,
                resource,
                "the HostedRotationLambda has VpcSubnetIds and VpcSecurityGroupIds (NET001 and NET002 check them)",
            )];
        }
        let database = match &facts.database {
            Fact::Present(db) => db,
            other => {
                return vec![META.finding(
                    Status::Unknown,
                    resource,
                    format!(
                        "the HostedRotationLambda has no {}, and whether the database is private is unknown: {}",
                        missing.join(" or "),
                        other.missing_reason().unwrap_or_default()
                    ),
                )]
            }
        };
        if database.publicly_accessible == Some(true) && missing.len() == 2 {
            return vec![META.finding(
                Status::Skipped,
                resource,
                format!(
                    "database {} is publicly accessible: a function outside a VPC may reach it",
                    database.identifier
                ),
            )];
        }
        let what = if missing.len() == 2 {
            "no VpcSubnetIds and no VpcSecurityGroupIds: the transform creates the function outside any VPC".to_string()
        } else {
            format!("no {}: Lambda needs both subnets and security groups to attach a function to a VPC", missing[0])
        };
        vec![META
            .finding(
                Status::Fail,
                resource,
                format!(
                    "the HostedRotationLambda of {resource} has {what}, and database {} is private{}",
                    database.identifier,
                    database
                        .vpc_id
                        .as_ref()
                        .map(|v| format!(" in {v}"))
                        .unwrap_or_default()
                ),
            )
            .with_evidence([format!("HostedRotationLambda RotationType: {}", hosted.rotation_type)])
            .with_remediation(
                "Give the HostedRotationLambda VpcSubnetIds (private subnets of the database's VPC \
                 with a route to Secrets Manager) and VpcSecurityGroupIds (a group the database \
                 admits on its port).",
            )]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = with_vpc_settings(false, false);
        let passing = with_vpc_settings(true, true);
        (failing, passing)
    }
}

#[cfg(test)]
fn with_vpc_settings(subnets: bool, groups: bool) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    if !subnets && !groups {
        crate::fixtures::get(&mut facts.lambda).vpc = None;
    }
    facts.template = Fact::Present(crate::facts::TemplateFacts {
        file: "template.yaml".into(),
        schedule: "RotationSchedule".into(),
        transforms: vec!["AWS::SecretsManager-2024-09-16".into()],
        hosted_rotation: Some(crate::facts::HostedRotation {
            rotation_type: "MySQLSingleUser".into(),
            vpc_subnet_ids: subnets,
            vpc_security_group_ids: groups,
        }),
        target_attachment: None,
        generate_secret_string: None,
    });
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&HostedRotationVpc, facts).remove(0)
    }

    #[test]
    fn one_of_the_two_is_not_enough() {
        let finding = first(&with_vpc_settings(true, false));
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("no VpcSecurityGroupIds"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn a_public_database_is_skipped_and_an_unknown_one_is_unknown() {
        let mut facts = with_vpc_settings(false, false);
        crate::fixtures::get(&mut facts.database).publicly_accessible = Some(true);
        assert_eq!(first(&facts).status, Status::Skipped);
        facts.database = Fact::NotApplicable("the secret names no database host".into());
        assert_eq!(first(&facts).status, Status::Unknown);
    }

    #[test]
    fn skipped_for_live_facts() {
        assert_eq!(first(&crate::fixtures::lab()).status, Status::Skipped);
    }
}
