//! TPL003: a template's rotation schedule waits for the attachment that
//! writes the database's host into the secret.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};

pub struct RotationWaitsForAttachment;

static META: CheckMeta = CheckMeta {
    id: "TPL003",
    name: "rotation-before-attachment",
    title: "A template's rotation schedule waits for its SecretTargetAttachment",
    severity: Severity::Medium,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
In a CloudFormation template (`rotation-doctor template`) whose secret has
an `AWS::SecretsManager::SecretTargetAttachment`, that the
`AWS::SecretsManager::RotationSchedule` depends on that attachment: it
names it in `DependsOn`, or refers to it (for example `SecretId: !Ref
Attachment`, as AWS CDK writes it), directly or through other resources.
Templates without an attachment, and diagnoses of deployed secrets, are
skipped.

## Why it breaks rotation
CloudFormation creates resources that do not depend on each other in
parallel, and a new schedule rotates the secret at once
(`RotateImmediatelyOnUpdate` is true by default). If the schedule is
created before the attachment has written `host`, `port` and `engine` into
the secret, that first rotation reads a value without them and fails
(`KeyError`, or a login to no host in setSecret). AWS's examples declare
`DependsOn` on the attachment for this reason.

## How to fix it
Add `DependsOn: <the attachment's logical id>` to the rotation schedule, or
refer to the attachment in its `SecretId` (`!Ref` of an attachment gives
the secret's ARN). `--fix` changes accounts, not templates: it has no
action for this check.

## References
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-rotationschedule.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-secretsmanager-secrettargetattachment.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html
"#,
};

impl Check for RotationWaitsForAttachment {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let Fact::Present(template) = &facts.template else {
            return vec![META.finding(
                Status::Skipped,
                &facts.secret_id,
                "not a template: the deployed secret already holds its connection",
            )];
        };
        let Some(attachment) = &template.target_attachment else {
            return vec![META.finding(
                Status::Skipped,
                &template.schedule,
                "the template has no SecretTargetAttachment for the secret",
            )];
        };
        let finding = if attachment.schedule_waits {
            META.finding(
                Status::Pass,
                &template.schedule,
                format!(
                    "{} is created after {}, which writes the database's host into the secret",
                    template.schedule, attachment.logical_id
                ),
            )
        } else {
            META.finding(
                Status::Fail,
                &template.schedule,
                format!(
                    "{} does not depend on {}: CloudFormation may create it first, and the rotation it starts at once finds no host in the secret",
                    template.schedule, attachment.logical_id
                ),
            )
            .with_remediation(format!(
                "Add `DependsOn: {}` to {}.",
                attachment.logical_id, template.schedule
            ))
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        (waiting(false), waiting(true))
    }
}

#[cfg(test)]
fn waiting(waits: bool) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    facts.template = Fact::Present(crate::facts::TemplateFacts {
        file: "template.yaml".into(),
        schedule: "RotationSchedule".into(),
        transforms: Vec::new(),
        hosted_rotation: None,
        target_attachment: Some(crate::facts::TargetAttachment {
            logical_id: "SecretAttachment".into(),
            schedule_waits: waits,
        }),
        generate_secret_string: None,
    });
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remediation_names_the_attachment() {
        let finding =
            crate::rules::evaluate_alone(&RotationWaitsForAttachment, &waiting(false)).remove(0);
        assert!(finding.remediation.contains("DependsOn: SecretAttachment"));
    }

    #[test]
    fn skipped_without_an_attachment_or_a_template() {
        let mut facts = waiting(true);
        if let Fact::Present(t) = &mut facts.template {
            t.target_attachment = None;
        }
        for facts in [facts, crate::fixtures::lab()] {
            let finding =
                crate::rules::evaluate_alone(&RotationWaitsForAttachment, &facts).remove(0);
            assert_eq!(finding.status, Status::Skipped);
        }
    }
}
