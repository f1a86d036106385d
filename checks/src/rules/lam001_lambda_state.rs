//! LAM001: the rotation Lambda exists, is Active, and its last update
//! succeeded.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{ErrorKind, Fact, Facts, Lambda};
use crate::finding::{Finding, Severity, Status};

pub struct LambdaState;

static META: CheckMeta = CheckMeta {
    id: "LAM001",
    name: "rotation-lambda-state",
    title: "Rotation Lambda exists, is Active, and its last update succeeded",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Checks(&["NET001"]),
    docs: r#"## What it checks
That the function the secret names exists, that its `State` is `Active`,
and that its `LastUpdateStatus` is `Successful`, with the reason codes
Lambda gives (`StateReasonCode`, `LastUpdateStatusReasonCode`). This is the
canonical existence check: a deleted function fails here, naming it.

## Why it breaks rotation
Secrets Manager invokes the function for every rotation step. A deleted
function cannot be invoked, so every rotation fails at once. A `Failed`
function (for example `SubnetOutOfIPAddresses`, `InvalidSecurityGroup`,
`InsufficientRolePermissions`, `KMSKeyAccessDenied`) cannot run, and a
`Pending` one is not ready yet. An `Inactive` function (VPC functions idle
for weeks) answers the first invoke with `ResourceNotReadyException` and
reactivates; the retries usually succeed, so this is a warning.

## How to fix it
- Deleted: create the rotation function again (from the console's rotation
  settings, the SAR template or your IaC) and point the secret at it:
  `aws secretsmanager rotate-secret --secret-id SECRET --rotation-lambda-arn ARN`.
- Failed: fix the reason code (free IP addresses in the subnets, existing
  security groups, the role's ENI or KMS permissions), then
  `aws lambda update-function-configuration` to retry.
- Inactive: invoking it reactivates it; rotate again after a minute.

`--fix` has no action for this check.

## References
- https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
"#,
};

fn reason(code: Option<&str>, text: Option<&str>) -> String {
    match (code, text) {
        (Some(code), Some(text)) => format!(" ({code}: {text})"),
        (Some(code), None) => format!(" ({code})"),
        (None, Some(text)) => format!(" ({text})"),
        (None, None) => String::new(),
    }
}

fn evaluate_present(lambda: &Lambda) -> Finding {
    let state = lambda.state.as_deref().unwrap_or("");
    let update = lambda.last_update_status.as_deref().unwrap_or("Successful");
    let state_reason = reason(
        lambda.state_reason_code.as_deref(),
        lambda.state_reason.as_deref(),
    );
    let update_reason = reason(
        lambda.last_update_status_reason_code.as_deref(),
        lambda.last_update_status_reason.as_deref(),
    );
    let evidence = vec![format!(
        "GetFunctionConfiguration: State={}{state_reason}, LastUpdateStatus={}{update_reason}",
        if state.is_empty() { "(none)" } else { state },
        lambda.last_update_status.as_deref().unwrap_or("(none)")
    )];
    let name = &lambda.name;
    let finding = match (state, update) {
        ("Failed", _) => META
            .finding(
                Status::Fail,
                &lambda.arn,
                format!("the rotation Lambda {name} is in state Failed{state_reason}: it cannot run"),
            )
            .with_remediation(
                "Fix the reason Lambda gives (free IP addresses in the subnets, existing security groups, \
                 the role's ENI or KMS permissions), then update the function configuration to retry.",
            ),
        ("Pending", _) => META.finding(
            Status::Fail,
            &lambda.arn,
            format!(
                "the rotation Lambda {name} is still Pending{state_reason}: invocations fail until it is Active"
            ),
        )
        .with_remediation("Wait until the function is Active; if it stays Pending, read its StateReason."),
        (_, "Failed") => META
            .finding(
                Status::Fail,
                &lambda.arn,
                format!("the last update of the rotation Lambda {name} failed{update_reason}"),
            )
            .with_remediation(
                "Fix the reason of the failed update and update the function configuration again.",
            ),
        ("Inactive", _) => META
            .finding(
                Status::Warn,
                &lambda.arn,
                format!(
                    "the rotation Lambda {name} is Inactive{state_reason}: the first invoke fails with ResourceNotReadyException and reactivates it"
                ),
            )
            .with_remediation(
                "Invoking the function reactivates it; rotate again after a minute. If it does not become \
                 Active, read its StateReasonCode.",
            ),
        (_, "InProgress") => META.finding(
            Status::Warn,
            &lambda.arn,
            format!("an update of the rotation Lambda {name} is in progress"),
        ),
        ("Active", _) => META.finding(
            Status::Pass,
            &lambda.arn,
            format!("the rotation Lambda {name} is Active and its last update succeeded"),
        ),
        _ => META.finding(
            Status::Unknown,
            &lambda.arn,
            format!("Lambda did not report the state of {name}"),
        ),
    };
    finding.with_evidence(evidence)
}

impl Check for LambdaState {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        if let (Fact::Unavailable(u), Some(secret)) = (&facts.lambda, facts.secret.present()) {
            let arn = secret.rotation_lambda_arn.clone().unwrap_or_default();
            if u.kind == ErrorKind::NotFound
                && !super::support::is_managed(secret)
                && !arn.is_empty()
            {
                return vec![META
                    .finding(
                        Status::Fail,
                        &arn,
                        format!(
                            "the rotation Lambda {arn} does not exist: Secrets Manager cannot invoke it, so every rotation fails"
                        ),
                    )
                    .with_evidence([u.to_string()])
                    .with_remediation(
                        "Create the rotation function again (from the console's rotation settings, the SAR \
                         template or your IaC), then point the secret at it: aws secretsmanager rotate-secret \
                         --secret-id SECRET --rotation-lambda-arn NEW_ARN",
                    )];
            }
        }
        match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => {
                let what = "function state";
                match super::support::not_deployed(&META, facts, &lambda.arn, what) {
                    Some(finding) => vec![*finding],
                    None => vec![evaluate_present(lambda)],
                }
            }
            Err(finding) => vec![*finding],
        }
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            facts.lambda = Fact::Unavailable(crate::facts::Unavailable {
                call: "lambda:GetFunctionConfiguration".into(),
                kind: ErrorKind::NotFound,
                message: "ResourceNotFoundException: Function not found".into(),
            });
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{get, LAMBDA_ARN};

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&LambdaState, facts).remove(0)
    }

    #[test]
    fn a_deleted_function_fails_naming_it() {
        let f = first(&LambdaState.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains(LAMBDA_ARN), "{}", f.message);
        assert!(f.message.contains("does not exist"));
    }

    #[test]
    fn active_passes() {
        assert_eq!(first(&LambdaState.fixtures().1).status, Status::Pass);
    }

    #[test]
    fn inactive_warns_with_the_reason_code() {
        let mut facts = LambdaState.fixtures().1;
        let lambda = get(&mut facts.lambda);
        lambda.state = Some("Inactive".into());
        lambda.state_reason_code = Some("Idle".into());
        let f = first(&facts);
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("Idle"), "{}", f.message);
    }

    #[test]
    fn failed_pending_and_failed_updates_fail() {
        for (state, update) in [
            ("Failed", "Successful"),
            ("Pending", "Successful"),
            ("Active", "Failed"),
        ] {
            let mut facts = LambdaState.fixtures().1;
            let lambda = get(&mut facts.lambda);
            lambda.state = Some(state.into());
            lambda.last_update_status = Some(update.into());
            lambda.state_reason_code = Some("SubnetOutOfIPAddresses".into());
            assert_eq!(first(&facts).status, Status::Fail, "{state}/{update}");
        }
    }
}
