//! IAM001: the rotation Lambda's execution role exists and Lambda may
//! assume it.

use serde_json::{json, Value};

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{ErrorKind, Fact, Facts};
use crate::finding::{Finding, Severity, Status};
use crate::policy::{evaluate, statements, strings, Access, Request};

pub struct RoleTrust;

const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";

static META: CheckMeta = CheckMeta {
    id: "IAM001",
    name: "role-trust",
    title: "Lambda may assume the rotation function's execution role",
    severity: Severity::Critical,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The execution role named in the rotation Lambda's configuration
(`iam:GetRole`): that it exists, and that its trust policy
(`AssumeRolePolicyDocument`) has an Allow statement for principal
`lambda.amazonaws.com` and the action `sts:AssumeRole`, with no Deny for it.
A trust statement with conditions is reported as not evaluated (`unknown`).

## Why it breaks rotation
Lambda runs the function with the role's credentials. If it may not assume
the role (the trust policy names another service, say `ec2.amazonaws.com`,
after a copy-paste, or the role was deleted and recreated), the function
cannot run: updates fail with `The role defined for the function cannot be
assumed by Lambda`, invocations fail, Secrets Manager records
`RotationFailed`, and the function writes no log.

## How to fix it
Replace the trust policy:
`aws iam update-assume-role-policy --role-name ROLE --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'`.
If other services must keep assuming the role, add the statement instead of
replacing the document. A deleted role has to be recreated (or the function
pointed at another one with `aws lambda update-function-configuration
--role`). `--fix` does not change trust policies.

## References
- https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
"#,
};

/// The services and accounts a trust policy names, for the message.
fn trusted(document: &Value) -> Vec<String> {
    let mut names: Vec<String> = statements(document)
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
        .filter_map(|s| s.get("Principal"))
        .flat_map(|p| match p.as_str() {
            Some(star) => vec![star.to_string()],
            None => ["Service", "AWS", "Federated"]
                .iter()
                .flat_map(|k| strings(p.get(*k)))
                .map(str::to_string)
                .collect(),
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn remediation(role_name: &str) -> String {
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": LAMBDA_SERVICE},
            "Action": "sts:AssumeRole"
        }]
    });
    format!(
        "aws iam update-assume-role-policy --role-name {role_name} --policy-document '{document}' \
         (or add that statement to the existing document if other principals must keep it)"
    )
}

impl Check for RoleTrust {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let Some(role_arn) = lambda.role.as_deref() else {
            return vec![META.finding(
                Status::Unknown,
                &lambda.arn,
                "Lambda did not report the function's execution role",
            )];
        };
        if let Fact::Unavailable(u) = &facts.execution_role {
            if u.kind == ErrorKind::NotFound {
                return vec![META
                    .finding(
                        Status::Fail,
                        role_arn,
                        format!(
                            "the execution role {role_arn} of {} does not exist ({u}): Lambda cannot run the function",
                            lambda.name
                        ),
                    )
                    .with_remediation(format!(
                        "Recreate the role with a trust policy for lambda.amazonaws.com, or point the function at an existing one: aws lambda update-function-configuration --function-name {} --role ROLE_ARN",
                        lambda.name
                    ))];
            }
        }
        // A snapshot of an older tool has no role ("not collected").
        let role = match super::support::needed(
            &META,
            &facts.execution_role,
            role_arn,
            |why| format!("the execution role was not read: {why}"),
            |u| format!("the execution role could not be read: {u}"),
        ) {
            Ok(role) => role,
            Err(finding) => return vec![*finding],
        };
        let Some(document) = role.trust_policy.as_ref() else {
            return vec![META.finding(
                Status::Unknown,
                &role.arn,
                "the role's trust policy could not be read or parsed",
            )];
        };
        let evidence = vec![format!("trust policy: {document}")];
        let principals = [LAMBDA_SERVICE];
        let request = Request {
            action: "sts:AssumeRole",
            resource: &role.arn,
            principals: Some(&principals),
            context: &[],
        };
        let finding = match evaluate(&[("the trust policy", document)], &request) {
            Access::Allowed { by } => META.finding(
                Status::Pass,
                &role.arn,
                format!(
                    "{by} lets lambda.amazonaws.com assume the execution role {}",
                    role.name
                ),
            ),
            Access::Denied { by } => META
                .finding(
                    Status::Fail,
                    &role.arn,
                    format!(
                        "{by} denies lambda.amazonaws.com sts:AssumeRole on the execution role {}: Lambda cannot run the function",
                        role.name
                    ),
                )
                .with_remediation(remediation(&role.name)),
            Access::NotAllowed => {
                let names = trusted(document);
                let names = if names.is_empty() {
                    "no principal".to_string()
                } else {
                    names.join(", ")
                };
                META.finding(
                    Status::Fail,
                    &role.arn,
                    format!(
                        "the trust policy of the execution role {} does not let lambda.amazonaws.com assume it (it trusts {names}): Lambda cannot run the function",
                        role.name
                    ),
                )
                .with_remediation(remediation(&role.name))
            }
            Access::Unknown { reason } => META.finding(
                Status::Unknown,
                &role.arn,
                format!(
                    "whether lambda.amazonaws.com may assume the execution role {} depends on conditions: {reason}",
                    role.name
                ),
            ),
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            with_trust(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            )
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
fn with_trust(document: Value) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    crate::fixtures::get(&mut facts.execution_role).trust_policy = Some(document);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&RoleTrust, facts).remove(0)
    }

    #[test]
    fn a_role_for_ec2_fails_and_names_what_it_trusts() {
        let f = first(&RoleTrust.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("it trusts ec2.amazonaws.com"),
            "{}",
            f.message
        );
        assert!(f
            .remediation
            .contains("update-assume-role-policy --role-name lab-rotation"));
    }

    #[test]
    fn the_lab_role_passes() {
        assert_eq!(first(&RoleTrust.fixtures().1).status, Status::Pass);
    }

    #[test]
    fn lists_wildcards_deny_and_conditions() {
        let f = first(&with_trust(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]},
            "Action": ["sts:AssumeRole", "sts:TagSession"]}]})));
        assert_eq!(f.status, Status::Pass);
        let f = first(&with_trust(json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:*"},
            {"Sid": "NoLambda", "Effect": "Deny", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]})));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("NoLambda"));
        let f = first(&with_trust(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]})));
        assert_eq!(f.status, Status::Unknown);
    }

    #[test]
    fn a_deleted_role_fails_and_an_unreadable_one_is_unknown() {
        let mut facts = RoleTrust.fixtures().1;
        facts.execution_role = Fact::Unavailable(crate::facts::Unavailable {
            call: "iam:GetRole".into(),
            kind: ErrorKind::NotFound,
            message: "NoSuchEntity: role not found".into(),
        });
        assert_eq!(first(&facts).status, Status::Fail);
        facts.execution_role = Fact::Unavailable(crate::facts::Unavailable {
            call: "iam:GetRole".into(),
            kind: ErrorKind::AccessDenied,
            message: "AccessDenied".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown);
        assert!(f.message.contains("iam:GetRole access denied"));
    }

    #[test]
    fn a_version_1_snapshot_without_the_new_facts_still_loads() {
        let mut json = serde_json::to_value(crate::fixtures::lab()).expect("facts serialize");
        let object = json.as_object_mut().expect("an object");
        for key in ["execution_role", "kms_key", "rotation_events"] {
            assert!(object.remove(key).is_some(), "{key} is serialized");
        }
        let facts: Facts = serde_json::from_value(json).expect("an older snapshot loads");
        let not_collected = Some("not collected".to_string());
        assert_eq!(facts.execution_role.missing_reason(), not_collected);
        assert_eq!(facts.kms_key.missing_reason(), not_collected);
        assert_eq!(facts.rotation_events.missing_reason(), not_collected);
        assert_eq!(first(&facts).status, Status::Skipped);
    }

    #[test]
    fn an_older_snapshot_without_the_role_is_skipped() {
        let mut facts = RoleTrust.fixtures().1;
        facts.execution_role = Fact::NotApplicable("not collected".into());
        assert_eq!(first(&facts).status, Status::Skipped);
    }
}
