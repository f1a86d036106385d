//! ROT001: rotation is turned off on a secret that still names a Lambda.

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

pub struct RotationDisabled;

static META: CheckMeta = CheckMeta {
    id: "ROT001",
    name: "rotation-disabled",
    title: "Rotation is turned off on a secret that names a rotation Lambda",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
That automatic rotation is on (`RotationEnabled`) for a secret that names a
rotation Lambda (`RotationLambdaARN`). Secrets that were never set up for
rotation, and secrets another service rotates (RDS-managed, see MGD001), are
skipped.

## Why it breaks rotation
With rotation off, the schedule never runs: the password ages past its
policy while the console still shows the old schedule and function (Secrets
Manager keeps them after `CancelRotateSecret`). A rotation function invoked
anyway (a manual test invoke, a retried rotation) stops at its first check
with `Secret <arn> is not enabled for rotation`.

## How to fix it
Turn rotation back on with the function and schedule you want:
`aws secretsmanager rotate-secret --secret-id SECRET --rotation-lambda-arn ARN
--rotation-rules AutomaticallyAfterDays=30` (add `--no-rotate-immediately` to
only test the configuration). Clear a stuck AWSPENDING first (ROT002), or
the call fails. `--fix` does not turn rotation on: that decision is yours.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_turn-on-cli.html
- https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html
"#,
};

impl Check for RotationDisabled {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let lambda = secret.rotation_lambda_arn.as_deref().unwrap_or_default();
        let finding = match (secret.rotation_enabled, lambda.is_empty()) {
            (Some(true), _) => META.finding(
                Status::Pass,
                &secret.arn,
                if lambda.is_empty() {
                    "rotation is on".to_string()
                } else {
                    format!("rotation is on, with Lambda {lambda}")
                },
            ),
            (_, true) => META.finding(
                Status::Skipped,
                &secret.arn,
                "the secret is not set up for rotation: it names no rotation Lambda",
            ),
            (Some(false), false) => META
                .finding(
                    Status::Fail,
                    &secret.arn,
                    format!(
                        "rotation is turned off, although the secret still names Lambda {lambda}: the schedule will not run"
                    ),
                )
                .with_evidence([format!("DescribeSecret: RotationEnabled=false, RotationLambdaARN={lambda}")])
                .with_remediation(format!(
                    "Turn rotation back on: aws secretsmanager rotate-secret --secret-id {} \
                     --rotation-lambda-arn {lambda} --rotation-rules AutomaticallyAfterDays=30 \
                     (clear a stuck AWSPENDING first, see ROT002)",
                    secret.arn
                )),
            (None, false) => META.finding(
                Status::Unknown,
                &secret.arn,
                format!(
                    "DescribeSecret did not say whether rotation is on; the secret names Lambda {lambda}"
                ),
            ),
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.secret).rotation_enabled = Some(false);
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{get, lab};

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&RotationDisabled, facts).remove(0)
    }

    #[test]
    fn fails_when_off_with_a_lambda_and_names_it() {
        let finding = first(&RotationDisabled.fixtures().0);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("lab-rotation"),
            "{}",
            finding.message
        );
        assert!(finding.remediation.contains("rotate-secret"));
    }

    #[test]
    fn passes_when_on() {
        assert_eq!(first(&RotationDisabled.fixtures().1).status, Status::Pass);
    }

    #[test]
    fn skipped_without_a_lambda_or_when_managed() {
        let mut facts = lab();
        let secret = get(&mut facts.secret);
        secret.rotation_enabled = Some(false);
        secret.rotation_lambda_arn = None;
        assert_eq!(first(&facts).status, Status::Skipped);
        let mut facts = RotationDisabled.fixtures().0;
        get(&mut facts.secret).owning_service = Some("rds".into());
        assert_eq!(first(&facts).status, Status::Skipped);
    }

    #[test]
    fn unknown_when_the_flag_is_missing() {
        let mut facts = lab();
        get(&mut facts.secret).rotation_enabled = None;
        assert_eq!(first(&facts).status, Status::Unknown);
    }
}
