//! LAM006: the rotation Lambda's resource policy lets Secrets Manager invoke
//! it, for this account and this secret.

use serde_json::Value;

use crate::arn::Arn;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};
use crate::fix::{FixAction, FixPlan};
use crate::policy::{glob_matches_case, statements, strings, Case};

pub struct InvokePermission;

const SERVICE: &str = "secretsmanager.amazonaws.com";
const ACTION: &str = "lambda:InvokeFunction";
/// What RotateSecret answers without the permission (catalog A1).
const ACCESS_DENIED: &str = "AccessDeniedException: Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.";

static META: CheckMeta = CheckMeta {
    id: "LAM006",
    name: "rotation-lambda-invoke-permission",
    title: "Secrets Manager may invoke the rotation Lambda for this secret",
    severity: Severity::Critical,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The rotation Lambda's resource policy (`lambda:GetPolicy`): a statement that
allows principal `secretsmanager.amazonaws.com` the action
`lambda:InvokeFunction`, whose conditions admit this secret: an
`aws:SourceAccount` equal to the secret's account and, when present, an
`aws:SourceArn` (ArnLike, ArnEquals, StringEquals or StringLike, with
wildcards) that matches the secret's ARN. An explicit Deny fails. A
statement with neither condition passes as a warning, because any account's
secret could then have the function run (the confused-deputy problem).

## Why it breaks rotation
Without the permission Secrets Manager cannot start the function:
`RotateSecret` fails with `AccessDeniedException: Secrets Manager cannot
invoke the specified Lambda function. Ensure that the function policy grants
access to the principal secretsmanager.amazonaws.com.`, and the function
writes no log at all. A statement limited by `aws:SourceArn` to another
secret (common when one function is reused for a second secret) blocks this
one the same way.

## How to fix it
`aws lambda add-permission --function-name FN --statement-id
SecretsManagerRotation --action lambda:InvokeFunction --principal
secretsmanager.amazonaws.com --source-account ACCOUNT`. AWS recommends
`--source-account` rather than `--source-arn`, which limits the function to
one secret. `--fix` adds this statement (a safe fix: it only adds).

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_turn-on-cli.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html
"#,
};

/// What one statement's conditions say about this secret.
#[derive(Debug, PartialEq, Eq)]
enum Conditions {
    /// The statement applies; which of the two keys limited it.
    Admit { account: bool, arn: bool },
    /// A condition excludes this secret, with the reason.
    Exclude(String),
    /// Conditions this check does not evaluate.
    NotEvaluated(Vec<String>),
}

fn evaluate_conditions(statement: &Value, secret_arn: &str, account: &str) -> Conditions {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return Conditions::Admit {
            account: false,
            arn: false,
        };
    };
    let (mut limited_account, mut limited_arn) = (false, false);
    let mut unknown = Vec::new();
    for (operator, keys) in conditions {
        let op = operator.trim_end_matches("IfExists");
        let Some(keys) = keys.as_object() else {
            unknown.push(operator.clone());
            continue;
        };
        for (key, values) in keys {
            let values = strings(Some(values));
            // Values compare with case except under StringEqualsIgnoreCase:
            // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
            let matches = |subject: &str| match op {
                "StringEquals" => values.contains(&subject),
                "StringEqualsIgnoreCase" => values.iter().any(|v| v.eq_ignore_ascii_case(subject)),
                "StringLike" | "ArnLike" | "ArnEquals" => values
                    .iter()
                    .any(|v| glob_matches_case(v, subject, Case::Sensitive)),
                _ => false,
            };
            let known_operator = matches!(
                op,
                "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" | "ArnLike" | "ArnEquals"
            );
            match key.to_ascii_lowercase().as_str() {
                "aws:sourceaccount" if known_operator => {
                    if !matches(account) {
                        return Conditions::Exclude(format!(
                            "{operator} aws:SourceAccount {} (the secret is in {account})",
                            values.join(", ")
                        ));
                    }
                    limited_account = true;
                }
                "aws:sourcearn" if known_operator => {
                    if !matches(secret_arn) {
                        return Conditions::Exclude(format!(
                            "{operator} aws:SourceArn {}",
                            values.join(", ")
                        ));
                    }
                    limited_arn = true;
                }
                _ => unknown.push(format!("{operator} {key}")),
            }
        }
    }
    if unknown.is_empty() {
        Conditions::Admit {
            account: limited_account,
            arn: limited_arn,
        }
    } else {
        Conditions::NotEvaluated(unknown)
    }
}

/// Principals compare with case, as `policy::covers_principal` does.
fn covers_service(statement: &Value) -> bool {
    match statement.get("Principal") {
        Some(Value::String(p)) => p == "*",
        Some(principal @ Value::Object(_)) => {
            strings(principal.get("Service"))
                .iter()
                .any(|s| glob_matches_case(s, SERVICE, Case::Sensitive))
                || strings(principal.get("AWS")).contains(&"*")
        }
        _ => false,
    }
}

/// Action names match without case.
fn covers_action(statement: &Value) -> bool {
    let matches = |a: &&str| glob_matches_case(a, ACTION, Case::Insensitive);
    match (statement.get("Action"), statement.get("NotAction")) {
        (Some(actions), _) => strings(Some(actions)).iter().any(matches),
        (None, Some(not)) => !strings(Some(not)).iter().any(matches),
        (None, None) => false,
    }
}

/// Function ARNs match with case.
fn covers_resource(statement: &Value, arns: &[&str]) -> bool {
    match statement.get("Resource") {
        None => true,
        Some(resources) => strings(Some(resources)).iter().any(|r| {
            arns.iter()
                .any(|arn| glob_matches_case(r, arn, Case::Sensitive))
        }),
    }
}

fn sid(statement: &Value) -> String {
    statement
        .get("Sid")
        .and_then(Value::as_str)
        .map(|s| format!("statement {s}"))
        .unwrap_or_else(|| "a statement without Sid".to_string())
}

impl Check for InvokePermission {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let Some(secret) = facts.secret.present() else {
            return vec![META.finding(
                Status::Unknown,
                &lambda.arn,
                "the secret could not be read",
            )];
        };
        let account = Arn::parse(&secret.arn)
            .map(|a| a.account.to_string())
            .unwrap_or_default();
        let document = match super::support::needed(
            &META,
            &facts.lambda_policy,
            &lambda.arn,
            |why| format!("the function's resource policy is not checked: {why}"),
            |u| format!("the function's resource policy could not be read: {u}"),
        ) {
            Ok(document) => document.as_ref(),
            Err(finding) => return vec![*finding],
        };
        let fix = FixPlan {
            summary: format!(
                "let secretsmanager.amazonaws.com invoke {} for account {account}",
                lambda.name
            ),
            rationale:
                "Adds one statement limited by aws:SourceAccount, as AWS recommends (a SourceArn \
                        would tie the function to one secret); nothing existing changes."
                    .to_string(),
            actions: vec![FixAction::AddInvokePermission {
                function_name: lambda.name.clone(),
                statement_id: "SecretsManagerRotationInvoke".to_string(),
                source_account: account.clone(),
            }],
        };
        let remediation = format!(
            "aws lambda add-permission --function-name {} --statement-id SecretsManagerRotationInvoke \
             --action lambda:InvokeFunction --principal secretsmanager.amazonaws.com --source-account {account}",
            lambda.name
        );
        let mut arns = vec![lambda.arn.as_str()];
        if let Some(configured) = secret.rotation_lambda_arn.as_deref() {
            arns.push(configured);
        }
        let relevant: Vec<&Value> = document
            .map(statements)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| covers_service(s) && covers_action(s) && covers_resource(s, &arns))
            .collect();
        let evidence: Vec<String> = relevant
            .iter()
            .map(|s| format!("{}: {}", sid(s), s))
            .collect();

        let mut admitted: Option<(String, bool)> = None;
        let mut excluded = Vec::new();
        let mut not_evaluated = Vec::new();
        for statement in &relevant {
            let effect = statement.get("Effect").and_then(Value::as_str);
            let conditions = evaluate_conditions(statement, &secret.arn, &account);
            match (effect, conditions) {
                (Some("Deny"), Conditions::Admit { .. }) => {
                    return vec![META
                        .finding(
                            Status::Fail,
                            &lambda.arn,
                            format!(
                                "{} of the function's policy denies secretsmanager.amazonaws.com lambda:InvokeFunction: {ACCESS_DENIED}",
                                sid(statement)
                            ),
                        )
                        .with_evidence(evidence)
                        .with_remediation(format!(
                            "Remove or narrow the Deny statement ({}), then: {remediation}",
                            sid(statement)
                        ))]
                }
                (Some("Allow"), Conditions::Admit { account, arn }) => {
                    let limited = account || arn;
                    if admitted.as_ref().is_none_or(|(_, l)| !l && limited) {
                        admitted = Some((sid(statement), limited));
                    }
                }
                (Some("Allow"), Conditions::Exclude(why)) => {
                    excluded.push(format!("{} admits only {why}", sid(statement)))
                }
                (Some(_), Conditions::NotEvaluated(keys)) => {
                    not_evaluated.push(format!("{} ({})", sid(statement), keys.join(", ")))
                }
                _ => {}
            }
        }
        let finding = match admitted {
            Some((sid, true)) => META.finding(
                Status::Pass,
                &lambda.arn,
                format!(
                    "{sid} lets secretsmanager.amazonaws.com invoke the function for this secret"
                ),
            ),
            Some((sid, false)) => META
                .finding(
                    Status::Warn,
                    &lambda.arn,
                    format!(
                        "{sid} lets secretsmanager.amazonaws.com invoke the function with neither aws:SourceAccount nor aws:SourceArn: a secret in any account could have it run (confused deputy)"
                    ),
                )
                .with_remediation(format!(
                    "Replace the statement with one limited to this account: {remediation}, then remove the \
                     unconditioned one (aws lambda remove-permission)"
                )),
            None if !not_evaluated.is_empty() => META.finding(
                Status::Unknown,
                &lambda.arn,
                format!(
                    "only statements with conditions this check does not evaluate could admit Secrets Manager: {}",
                    not_evaluated.join("; ")
                ),
            ),
            None if !excluded.is_empty() => META
                .finding(
                    Status::Fail,
                    &lambda.arn,
                    format!(
                        "the function's policy admits secretsmanager.amazonaws.com, but not for this secret ({}): a SourceArn or SourceAccount for another secret blocks this one, so RotateSecret fails with {ACCESS_DENIED}",
                        excluded.join("; ")
                    ),
                )
                .with_remediation(remediation)
                .with_fix(fix),
            None => META
                .finding(
                    Status::Fail,
                    &lambda.arn,
                    format!(
                        "the function {} has no resource-policy statement that lets secretsmanager.amazonaws.com invoke it: RotateSecret fails with {ACCESS_DENIED}",
                        lambda.name
                    ),
                )
                .with_remediation(remediation)
                .with_fix(fix),
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            // The lab's Lambda has no policy at all.
            crate::fixtures::lab_moved()
        };
        let passing = {
            with_policy(allow(Some(serde_json::json!({
                "StringEquals": {"AWS:SourceAccount": "123456789012"}
            }))))
        };
        (failing, passing)
    }
}

#[cfg(test)]
fn with_policy(statement: Value) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    facts.lambda_policy = crate::facts::Fact::Present(Some(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [statement],
    })));
    facts
}

#[cfg(test)]
fn allow(condition: Option<Value>) -> Value {
    let mut statement = serde_json::json!({
        "Sid": "SecretsManagerAccess",
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": ACTION,
        "Resource": crate::fixtures::LAMBDA_ARN,
    });
    if let (Some(condition), Some(object)) = (condition, statement.as_object_mut()) {
        object.insert("Condition".into(), condition);
    }
    statement
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&InvokePermission, facts).remove(0)
    }

    #[test]
    fn no_policy_fails_with_the_access_denied_text_and_a_safe_fix() {
        let f = first(&InvokePermission.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(f
            .message
            .contains("Secrets Manager cannot invoke the specified Lambda function"));
        assert_eq!(f.fixes[0].safety(), crate::fix::Safety::Safe);
        assert_eq!(
            f.fixes[0].actions[0],
            FixAction::AddInvokePermission {
                function_name: "lab-rotation".into(),
                statement_id: "SecretsManagerRotationInvoke".into(),
                source_account: "123456789012".into(),
            }
        );
    }

    #[test]
    fn source_account_or_matching_source_arn_passes() {
        assert_eq!(first(&InvokePermission.fixtures().1).status, Status::Pass);
        let facts = with_policy(allow(Some(json!({
            "ArnLike": {"AWS:SourceArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/*"}
        }))));
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn a_source_arn_for_another_secret_blocks_this_one() {
        let facts = with_policy(allow(Some(json!({
            "ArnLike": {"AWS:SourceArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ123"}
        }))));
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("another secret"), "{}", f.message);
        assert!(f.message.contains("other-XyZ123"), "{}", f.message);
        let facts = with_policy(allow(Some(json!({
            "StringEquals": {"AWS:SourceAccount": "210987654321"}
        }))));
        assert_eq!(first(&facts).status, Status::Fail);
    }

    #[test]
    fn no_condition_warns_about_the_confused_deputy() {
        let f = first(&with_policy(allow(None)));
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("confused deputy"));
    }

    #[test]
    fn an_explicit_deny_fails_and_other_conditions_are_unknown() {
        let mut deny = allow(None);
        deny["Effect"] = json!("Deny");
        assert_eq!(first(&with_policy(deny)).status, Status::Fail);
        let facts = with_policy(allow(Some(json!({
            "Bool": {"aws:SecureTransport": "true"}
        }))));
        assert_eq!(first(&facts).status, Status::Unknown);
    }

    #[test]
    fn arns_compare_with_case_and_actions_without() {
        // The lab secret is `lab/…`: `Lab/*` admits another secret only.
        let facts = with_policy(allow(Some(json!({
            "ArnLike": {"AWS:SourceArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:Lab/*"}
        }))));
        assert_eq!(first(&facts).status, Status::Fail);
        let facts = with_policy(allow(Some(json!({
            "StringLike": {"aws:sourcearn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/*"}
        }))));
        assert_eq!(first(&facts).status, Status::Pass);
        let mut statement = allow(None);
        statement["Resource"] = json!(crate::fixtures::LAMBDA_ARN.to_uppercase());
        assert_eq!(first(&with_policy(statement)).status, Status::Fail);
        let mut statement = allow(None);
        statement["Action"] = json!("Lambda:invokefunction");
        assert_eq!(first(&with_policy(statement)).status, Status::Warn);
    }

    #[test]
    fn other_principals_and_actions_do_not_count() {
        let mut statement = allow(None);
        statement["Principal"] = json!({"Service": "events.amazonaws.com"});
        assert_eq!(first(&with_policy(statement)).status, Status::Fail);
        let mut statement = allow(None);
        statement["Action"] = json!("lambda:GetFunction");
        assert_eq!(first(&with_policy(statement)).status, Status::Fail);
        let mut statement = allow(None);
        statement["Action"] = json!("lambda:*");
        assert_eq!(first(&with_policy(statement)).status, Status::Warn);
    }
}
