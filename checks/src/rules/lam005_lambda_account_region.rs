//! LAM005: the rotation Lambda is in the secret's region and account.

use crate::arn::Arn;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

pub struct LambdaAccountRegion;

static META: CheckMeta = CheckMeta {
    id: "LAM005",
    name: "rotation-lambda-account-region",
    title: "Rotation Lambda is in the secret's region and account",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
That the region and account in the rotation Lambda's ARN are the secret's.
A function in another account is reported as unknown, with the reason:
this tool does not follow cross-account rotation.

## Why it breaks rotation
Secrets Manager invokes rotation functions in the secret's own region only.
A function in another account can rotate the secret only when its code
passes the `RotationToken` of the invocation to `PutSecretValue`, and AWS's
templates do not: the rotation then fails with `Pending secret version …
was not created by Lambda …. Remove the AWSPENDING staging label and
restart rotation`. Its role also needs the secret's resource policy and
KMS key policy to admit it.

## How to fix it
Use a rotation function in the secret's region and account:
`aws secretsmanager rotate-secret --secret-id SECRET --rotation-lambda-arn
ARN_IN_THIS_REGION`. For cross-account rotation, change the function to
pass `RotationToken=event['RotationToken']` to `put_secret_value`. `--fix`
has no action for this check.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
"#,
};

impl Check for LambdaAccountRegion {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        // The configured ARN decides where Secrets Manager sends the invoke,
        // whether or not the function could be read.
        let lambda_arn = secret
            .rotation_lambda_arn
            .clone()
            .filter(|a| !a.is_empty())
            .or_else(|| facts.lambda.present().map(|l| l.arn.clone()));
        let Some(lambda_arn) = lambda_arn else {
            return vec![META.finding(
                Status::Skipped,
                &secret.arn,
                "the secret names no rotation Lambda",
            )];
        };
        let (Some(s), Some(l)) = (Arn::parse(&secret.arn), Arn::parse(&lambda_arn)) else {
            return vec![META.finding(
                Status::Unknown,
                &lambda_arn,
                format!(
                    "cannot read the region and account from the ARNs {} and {lambda_arn}",
                    secret.arn
                ),
            )];
        };
        let evidence = vec![
            format!("secret: region {}, account {}", s.region, s.account),
            format!(
                "rotation Lambda: region {}, account {}",
                l.region, l.account
            ),
        ];
        let finding = if l.region != s.region {
            META.finding(
                Status::Fail,
                &lambda_arn,
                format!(
                    "the rotation Lambda is in {}, the secret in {}: Secrets Manager invokes rotation functions in the secret's region only",
                    l.region, s.region
                ),
            )
            .with_remediation(format!(
                "Deploy the rotation function in {} and point the secret at it: aws secretsmanager \
                 rotate-secret --secret-id {} --rotation-lambda-arn NEW_ARN",
                s.region, secret.arn
            ))
        } else if l.account != s.account {
            META.finding(
                Status::Unknown,
                &lambda_arn,
                format!(
                    "the rotation Lambda is in account {}, the secret in {}: cross-account rotation works only if the function passes the invocation's RotationToken to PutSecretValue (AWS's templates do not), which this tool cannot see",
                    l.account, s.account
                ),
            )
            .with_remediation(
                "Prefer a rotation function in the secret's account. Otherwise make the function pass \
                 RotationToken=event['RotationToken'] to put_secret_value, and let its role through the \
                 secret's resource policy and KMS key policy.",
            )
        } else {
            META.finding(
                Status::Pass,
                &lambda_arn,
                format!(
                    "the rotation Lambda is in the secret's region ({}) and account ({})",
                    s.region, s.account
                ),
            )
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing =
            with_lambda_arn("arn:aws:lambda:eu-west-1:123456789012:function:lab-rotation");
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
fn with_lambda_arn(arn: &str) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    crate::fixtures::get(&mut facts.secret).rotation_lambda_arn = Some(arn.to_string());
    crate::fixtures::get(&mut facts.lambda).arn = arn.to_string();
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&LambdaAccountRegion, facts).remove(0)
    }

    #[test]
    fn another_region_fails() {
        let f = first(&LambdaAccountRegion.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("eu-west-1"), "{}", f.message);
    }

    #[test]
    fn another_account_is_unknown_with_the_reason() {
        let f = first(&with_lambda_arn(
            "arn:aws:lambda:us-east-1:210987654321:function:lab-rotation",
        ));
        assert_eq!(f.status, Status::Unknown);
        assert!(f.message.contains("RotationToken"), "{}", f.message);
    }

    #[test]
    fn same_region_and_account_pass() {
        assert_eq!(
            first(&LambdaAccountRegion.fixtures().1).status,
            Status::Pass
        );
    }
}
