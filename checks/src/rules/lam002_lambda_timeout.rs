//! LAM002: the rotation Lambda's timeout leaves room for the templates'
//! login retries.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

pub struct LambdaTimeout;

/// The timeout AWS's rotation templates are deployed with, and the least
/// that fits their logins: with no `ssl` key each login tries TLS and then
/// plaintext, 5 s each, and single-user setSecret tries up to three
/// credentials (docs/failure-catalog.md, "How rotation runs" item 5, and B3).
const MIN_TIMEOUT_SECONDS: i32 = 30;

static META: CheckMeta = CheckMeta {
    id: "LAM002",
    name: "rotation-lambda-timeout",
    title: "Rotation Lambda timeout long enough for the database logins",
    severity: Severity::Low,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret, RotationStep::TestSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
That the rotation Lambda's timeout is at least 30 seconds, the value AWS's
rotation templates are deployed with.

## Why it breaks rotation
The templates connect with a 5-second timeout, and when the secret has no
`ssl` key each login tries TLS first and then plaintext: up to 2 × 5 s per
credential. Single-user setSecret tries the pending, current and previous
credentials. A shorter timeout ends the step with `Task timed out after …`
before the function can log its real error, and multi-user rotations that
copy many grants need longer still.

## How to fix it
`aws lambda update-function-configuration --function-name FN --timeout 30`
(or more). A timeout is rarely fixed by a longer one, though: if the logs
show one, check the network paths (NET002, NET003) first. `--fix` has no
action for this check.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
"#,
};

impl Check for LambdaTimeout {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let finding = match lambda.timeout_seconds {
            Some(t) if t < MIN_TIMEOUT_SECONDS => META
                .finding(
                    Status::Warn,
                    &lambda.arn,
                    format!(
                        "the rotation Lambda's timeout is {t} s, under {MIN_TIMEOUT_SECONDS} s: the templates' logins cost up to 2 × 5 s per credential, so a slow or unreachable database ends as a timeout"
                    ),
                )
                .with_remediation(format!(
                    "aws lambda update-function-configuration --function-name {} --timeout {MIN_TIMEOUT_SECONDS}",
                    lambda.name
                )),
            Some(t) => META.finding(
                Status::Pass,
                &lambda.arn,
                format!("the rotation Lambda's timeout is {t} s"),
            ),
            None => META.finding(
                Status::Unknown,
                &lambda.arn,
                "Lambda did not report the function's timeout",
            ),
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.lambda).timeout_seconds = Some(3);
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_seconds_warns_and_states_the_figure() {
        let f = crate::rules::evaluate_alone(&LambdaTimeout, &LambdaTimeout.fixtures().0).remove(0);
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("3 s"), "{}", f.message);
        assert!(f.remediation.contains("--timeout 30"));
    }

    #[test]
    fn thirty_seconds_passes() {
        let f = crate::rules::evaluate_alone(&LambdaTimeout, &LambdaTimeout.fixtures().1).remove(0);
        assert_eq!(f.status, Status::Pass);
        assert!(f.message.contains("30 s"));
    }
}
