//! LAM008: an ElastiCache user's rotation function is set up for this
//! secret and this user, and may run as long as it waits.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{DatabaseKind, Facts, Lambda};
use crate::finding::{Finding, Severity, Status};

pub struct ElasticacheFunction;

/// How long the function waits for the user to be `active` when
/// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` is not set.
const DEFAULT_WAIT_SECONDS: i64 = 600;
/// The least timeout the ElastiCache user guide gives the function.
const GUIDE_TIMEOUT_SECONDS: i64 = 12 * 60;

static META: CheckMeta = CheckMeta {
    id: "LAM008",
    name: "elasticache-function-settings",
    title: "ElastiCache user rotation function set up for this secret and user",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret, RotationStep::SetSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
For a secret of an ElastiCache user (a `user_arn` key), the rotation
function's environment as AWS's `SecretsManagerElasticacheUserRotation`
function reads it:

- `SECRET_ARN` is set and is this secret's ARN;
- `USER_NAME` is set and is the secret's `username`;
- the timeout is at least 12 minutes, and longer than the function waits
  for the user to become `active` (`MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS`,
  600 seconds when unset).

Other secrets skip it. Before deployment (`rotation-doctor template`) the
values may not be known, and the check is then `unknown`.

## Why it breaks rotation
The function refuses every secret but the one `SECRET_ARN` names (`Secret
… is not allowed to use this Lambda function for rotation`) and every user
but `USER_NAME` (`User … is not allowed to use this Lambda function for
rotation`); without either variable it stops with a `KeyError`. AWS
recommends one function per secret, so a second secret pointed at a
working function fails this way. setSecret and testSecret poll
DescribeUsers until the user is `active`, up to the waiting time; a shorter
timeout ends the step with `Task timed out` while ElastiCache is still
applying the password.

## How to fix it
Set the variables, keeping the others (the CLI's `--environment` replaces
all of them): `aws lambda update-function-configuration --function-name FN
--timeout 720 --environment "Variables={SECRET_ARN=…,USER_NAME=…,…}"`, or
give the second secret a function of its own. `--fix` has no action for
this check.

## References
- https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/User-Secrets-Manager.html
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas (SecretsManagerElasticacheUserRotation/lambda_function.py)
"#,
};

/// A variable the function needs, as the facts know it: its value, or why
/// it cannot be compared.
enum Variable<'a> {
    Value(&'a str),
    Missing,
    /// Named, but its value is not known (a template before deployment).
    Unknown,
}

fn variable<'a>(lambda: &'a Lambda, name: &str) -> Variable<'a> {
    match lambda.elasticache_settings.get(name) {
        Some(value) => Variable::Value(value),
        None if lambda.environment_keys.iter().any(|key| key == name) => Variable::Unknown,
        None => Variable::Missing,
    }
}

impl Check for ElasticacheFunction {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let is_user = facts
            .database
            .present()
            .is_some_and(|db| db.kind == DatabaseKind::ElasticacheUser);
        if !is_user {
            return vec![META.finding(
                Status::Skipped,
                &lambda.arn,
                "the secret is not an ElastiCache user's",
            )];
        }
        let secret_arn = facts.secret.present().map(|s| s.arn.as_str());
        let username = facts
            .connection
            .present()
            .and_then(|c| c.username.as_deref());
        let mut findings = Vec::new();
        let fail = |message: String| META.finding(Status::Fail, &lambda.arn, message);
        for (name, expected, what) in [
            ("SECRET_ARN", secret_arn, "this secret's ARN"),
            ("USER_NAME", username, "the secret's username"),
        ] {
            match (variable(lambda, name), expected) {
                (Variable::Missing, _) => findings.push(fail(format!(
                    "the rotation function has no {name} variable: the ElastiCache user function stops with KeyError: '{name}'"
                ))),
                (Variable::Value(value), Some(expected)) if value != expected => findings.push(fail(format!(
                    "the rotation function's {name} is {value}, not {what} {expected}: it refuses to rotate this secret (\"… is not allowed to use this Lambda function for rotation\")"
                ))),
                (Variable::Unknown, _) | (Variable::Value(_), None) => {
                    findings.push(META.finding(
                        Status::Unknown,
                        &lambda.arn,
                        format!("the value of the rotation function's {name} is not known, so it cannot be compared with {what}"),
                    ));
                }
                (Variable::Value(_), Some(_)) => {}
            }
        }
        let wait = match variable(lambda, "MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS") {
            Variable::Value(value) => value.trim().parse::<i64>().ok(),
            Variable::Missing => Some(DEFAULT_WAIT_SECONDS),
            Variable::Unknown => None,
        };
        let least = wait.map(|wait| GUIDE_TIMEOUT_SECONDS.max(wait + 60));
        match (lambda.timeout_seconds.map(i64::from), least) {
            (Some(timeout), Some(least)) if timeout < least => findings.push(
                META.finding(
                    Status::Fail,
                    &lambda.arn,
                    format!(
                        "the rotation function's timeout is {timeout} s, under {least} s: setSecret and testSecret wait up to {} s for the ElastiCache user to be active, and the ElastiCache user guide asks for at least 12 minutes",
                        wait.unwrap_or(DEFAULT_WAIT_SECONDS)
                    ),
                )
                .with_remediation(format!(
                    "aws lambda update-function-configuration --function-name {} --timeout {least}",
                    lambda.name
                )),
            ),
            (Some(_), Some(_)) => {}
            _ => findings.push(META.finding(
                Status::Unknown,
                &lambda.arn,
                "the rotation function's timeout or waiting time is not known",
            )),
        }
        if findings.is_empty() {
            findings.push(META.finding(
                Status::Pass,
                &lambda.arn,
                format!(
                    "the rotation function rotates this secret and user {}, with a timeout of {} s",
                    username.unwrap_or_default(),
                    lambda.timeout_seconds.unwrap_or_default()
                ),
            ));
        }
        findings
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = crate::fixtures::elasticache_user();
        let passing = configured(crate::fixtures::elasticache_user());
        (failing, passing)
    }
}

/// `facts` (an ElastiCache user's) with the function set up as AWS's
/// guide says.
#[cfg(test)]
fn configured(mut facts: Facts) -> Facts {
    let arn = facts
        .secret
        .present()
        .map(|s| s.arn.clone())
        .unwrap_or_default();
    let lambda = crate::fixtures::get(&mut facts.lambda);
    lambda.timeout_seconds = Some(720);
    for (name, value) in [("SECRET_ARN", arn.as_str()), ("USER_NAME", "app-user")] {
        lambda.environment_keys.push(name.to_string());
        lambda
            .elasticache_settings
            .insert(name.to_string(), value.to_string());
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::evaluate_alone;

    fn statuses(facts: &Facts) -> Vec<(Status, String)> {
        evaluate_alone(&ElasticacheFunction, facts)
            .into_iter()
            .map(|f| (f.status, f.message))
            .collect()
    }

    #[test]
    fn the_lab_function_lacks_both_variables_and_the_time() {
        let found = statuses(&crate::fixtures::elasticache_user());
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found.iter().all(|(s, _)| *s == Status::Fail), "{found:?}");
        assert!(found[0].1.contains("no SECRET_ARN variable"), "{found:?}");
        assert!(found[1].1.contains("no USER_NAME variable"), "{found:?}");
        assert!(found[2].1.contains("under 720 s"), "{found:?}");
    }

    #[test]
    fn another_secret_or_user_is_refused() {
        let mut facts = configured(crate::fixtures::elasticache_user());
        let settings = &mut crate::fixtures::get(&mut facts.lambda).elasticache_settings;
        settings.insert("USER_NAME".into(), "other-user".into());
        let found = statuses(&facts);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Status::Fail);
        assert!(
            found[0]
                .1
                .contains("USER_NAME is other-user, not the secret's username app-user"),
            "{found:?}"
        );
    }

    #[test]
    fn a_longer_wait_needs_a_longer_timeout() {
        let mut facts = configured(crate::fixtures::elasticache_user());
        let lambda = crate::fixtures::get(&mut facts.lambda);
        lambda.elasticache_settings.insert(
            "MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS".into(),
            "900".into(),
        );
        let found = statuses(&facts);
        assert!(found[0].1.contains("under 960 s"), "{found:?}");
    }

    #[test]
    fn a_value_the_template_does_not_give_is_unknown_and_other_secrets_skip() {
        let mut facts = configured(crate::fixtures::elasticache_user());
        crate::fixtures::get(&mut facts.lambda)
            .elasticache_settings
            .remove("SECRET_ARN");
        assert_eq!(statuses(&facts)[0].0, Status::Unknown);
        assert_eq!(
            statuses(&crate::fixtures::lab_moved())[0].0,
            Status::Skipped
        );
    }
}
