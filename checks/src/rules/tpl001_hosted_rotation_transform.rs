//! TPL001: a template's `HostedRotationLambda` needs the Secrets Manager
//! transform.

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};
use crate::template::SECRETS_MANAGER_TRANSFORMS;

pub struct HostedRotationTransform;

static META: CheckMeta = CheckMeta {
    id: "TPL001",
    name: "hosted-rotation-without-transform",
    title: "A template's HostedRotationLambda has the Secrets Manager transform",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
In a CloudFormation template (`rotation-doctor template`), that a
`AWS::SecretsManager::RotationSchedule` with a `HostedRotationLambda` sits
in a template whose `Transform` names `AWS::SecretsManager-2024-09-16` (or
the older `AWS::SecretsManager-2020-07-23`). Schedules with
`RotationLambdaARN`, and diagnoses of deployed secrets, are skipped.

## Why it breaks rotation
The transform is what turns `HostedRotationLambda` into a rotation function
(a nested application with the function, its role and its permission).
Without it there is no function to rotate with: the stack does not deploy
the rotation the template describes.

## How to fix it
Add the transform at the top of the template:
`Transform: AWS::SecretsManager-2024-09-16` (with SAM as well:
`Transform: [AWS::Serverless-2016-10-31, AWS::SecretsManager-2024-09-16]`).
`--fix` changes accounts, not templates: it has no action for this check.

## References
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-secretsmanager-rotationschedule-hostedrotationlambda.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-secretsmanager.html
"#,
};

impl Check for HostedRotationTransform {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let Fact::Present(template) = &facts.template else {
            return vec![META.finding(
                Status::Skipped,
                &facts.secret_id,
                "not a template: the deployed secret shows no transform",
            )];
        };
        let Some(hosted) = &template.hosted_rotation else {
            return vec![META.finding(
                Status::Skipped,
                &template.schedule,
                "the schedule names its function with RotationLambdaARN, not HostedRotationLambda",
            )];
        };
        let evidence = vec![format!(
            "Transform: {}",
            if template.transforms.is_empty() {
                "(none)".to_string()
            } else {
                template.transforms.join(", ")
            }
        )];
        let has_transform = template
            .transforms
            .iter()
            .any(|t| SECRETS_MANAGER_TRANSFORMS.contains(&t.as_str()));
        let finding = if has_transform {
            META.finding(
                Status::Pass,
                &template.schedule,
                format!(
                    "the template has the Secrets Manager transform that creates the {} function",
                    hosted.rotation_type
                ),
            )
        } else {
            META.finding(
                Status::Fail,
                &template.schedule,
                format!(
                    "{} has a HostedRotationLambda ({}), but {} has no Secrets Manager transform: no rotation function is created",
                    template.schedule, hosted.rotation_type, template.file
                ),
            )
            .with_remediation(
                "Add `Transform: AWS::SecretsManager-2024-09-16` at the top of the template \
                 (in a list beside AWS::Serverless-2016-10-31 when it uses SAM).",
            )
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = with_transforms(&[]);
        let passing = with_transforms(&["AWS::SecretsManager-2024-09-16"]);
        (failing, passing)
    }
}

#[cfg(test)]
fn with_transforms(transforms: &[&str]) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    facts.template = Fact::Present(crate::facts::TemplateFacts {
        file: "template.yaml".into(),
        schedule: "RotationSchedule".into(),
        transforms: transforms.iter().map(|t| t.to_string()).collect(),
        hosted_rotation: Some(crate::facts::HostedRotation {
            rotation_type: "MySQLSingleUser".into(),
            vpc_subnet_ids: true,
            vpc_security_group_ids: true,
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
        crate::rules::evaluate_alone(&HostedRotationTransform, facts).remove(0)
    }

    #[test]
    fn the_older_transform_passes_too() {
        let facts = with_transforms(&[
            "AWS::Serverless-2016-10-31",
            "AWS::SecretsManager-2020-07-23",
        ]);
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn fails_without_it_and_names_the_schedule() {
        let finding = first(&with_transforms(&["AWS::Serverless-2016-10-31"]));
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("RotationSchedule"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn skipped_for_live_facts_and_lambda_arn_schedules() {
        assert_eq!(first(&crate::fixtures::lab()).status, Status::Skipped);
        let mut facts = with_transforms(&[]);
        if let Fact::Present(t) = &mut facts.template {
            t.hosted_rotation = None;
        }
        assert_eq!(first(&facts).status, Status::Skipped);
    }
}
