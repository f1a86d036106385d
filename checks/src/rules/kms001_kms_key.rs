//! KMS001: the secret's customer managed key is enabled, and its key policy
//! lets the rotation role use it (directly, or by enabling IAM policies).

use serde_json::Value;

use crate::arn::Arn;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Facts, KmsKey};
use crate::finding::{Finding, Severity, Status};
use crate::policy::{evaluate, statements, strings, Access, Request, KMS_ACTIONS};

use super::support::{iso, needed, readable};

pub struct KmsKeyUsable;

static META: CheckMeta = CheckMeta {
    id: "KMS001",
    name: "kms-key",
    title: "The secret's customer managed KMS key is enabled and usable by the rotation role",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
For a secret encrypted with a customer managed key (`KmsKeyId` in
DescribeSecret; a secret without one uses `aws/secretsmanager` and is
skipped): `kms:DescribeKey` says the key is `Enabled` (not `Disabled` or
`PendingDeletion`), and its key policy (`kms:GetKeyPolicy`, policy `default`)
lets the rotation Lambda's role use `kms:Decrypt` and `kms:GenerateDataKey`:
either a statement that names the role, or the account's root principal
("Enable IAM User Permissions"), which delegates the decision to the role's
IAM policies (then IAM002 decides). Conditions on `kms:ViaService`,
`kms:CallerAccount` and `kms:EncryptionContext:SecretARN` are evaluated
for a call Secrets Manager makes on the role's behalf and noted in the
evidence; others are reported as not evaluated.

## Why it breaks rotation
Secrets Manager decrypts and encrypts the secret's versions with the key on
the caller's behalf. With the key disabled or pending deletion, or a key
policy that neither names the role nor enables IAM policies, every
GetSecretValue and PutSecretValue of the rotation function fails with
`AccessDeniedException: Access to KMS is not allowed` (or a disabled-key
error), so createSecret fails. "Unless the key policy explicitly allows it,
you cannot use IAM policies to allow access to a KMS key."

## How to fix it
Enable the key (`aws kms enable-key --key-id KEY`) or cancel its deletion
(`aws kms cancel-key-deletion --key-id KEY`, then enable it). For the
policy, add a statement for the role, or the root statement that enables
IAM policies, with `aws kms put-key-policy --key-id KEY --policy-name default
--policy file://policy.json`, then grant the role `kms:Decrypt` and
`kms:GenerateDataKey` on the key (IAM002's fix). `--fix` does not change key
state or key policies: both can lock other users out.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
- https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
- https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
"#,
};

/// The statements that involve a KMS action and a principal, for evidence.
fn relevant_statements(policy: &Value) -> Vec<String> {
    statements(policy)
        .into_iter()
        .filter(|s| {
            // Action names have no case (`KMS:Decrypt` is `kms:Decrypt`).
            strings(s.get("Action"))
                .iter()
                .any(|a| a.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("kms:")) || *a == "*")
                || s.get("NotAction").is_some()
        })
        .map(|s| format!("key policy statement: {s}"))
        .collect()
}

/// Whether any statement limits by `kms:ViaService` (noted in the evidence).
fn via_service_notes(policy: &Value) -> Vec<String> {
    statements(policy)
        .into_iter()
        .filter_map(|s| s.get("Condition").and_then(Value::as_object))
        .flat_map(|blocks| blocks.values())
        .filter_map(Value::as_object)
        .flat_map(|keys| keys.iter())
        .filter(|(k, _)| k.eq_ignore_ascii_case("kms:ViaService"))
        .map(|(_, v)| {
            format!(
                "note: a statement is limited to kms:ViaService {}",
                strings(Some(v)).join(", ")
            )
        })
        .collect()
}

fn key_state_finding(key: &KmsKey, resource: &str) -> Option<Finding> {
    let state = key.state.as_deref()?;
    let (why, fix) = match state {
        "Enabled" => return None,
        "Disabled" => (
            "it is disabled".to_string(),
            format!("aws kms enable-key --key-id {resource}"),
        ),
        "PendingDeletion" | "PendingReplicaDeletion" => (
            match &key.deletion_date {
                Some(date) => format!("it is scheduled for deletion on {}", iso(date)),
                None => "it is pending deletion".to_string(),
            },
            format!(
                "aws kms cancel-key-deletion --key-id {resource} && aws kms enable-key --key-id {resource}"
            ),
        ),
        other => (
            format!("its state is {other}"),
            "Make the key usable (see the key state reference), or re-encrypt the secret under another key".to_string(),
        ),
    };
    Some(
        META.finding(
            Status::Fail,
            resource,
            format!(
                "the secret's KMS key {resource} cannot be used: {why}; every GetSecretValue and PutSecretValue of the rotation fails"
            ),
        )
        .with_remediation(fix),
    )
}

impl Check for KmsKeyUsable {
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
        let Some(key_id) = secret.kms_key_id.as_deref().filter(|k| !k.is_empty()) else {
            return vec![META.finding(
                Status::Skipped,
                &secret.arn,
                "the secret uses the AWS managed key aws/secretsmanager: nothing to check",
            )];
        };
        let key = match needed(
            &META,
            &facts.kms_key,
            key_id,
            |why| why.to_string(),
            |u| format!("the secret's KMS key could not be read: {u}"),
        ) {
            Ok(key) => key,
            Err(finding) => return vec![*finding],
        };
        let resource = key.arn.as_deref().unwrap_or(key_id);
        if key.manager.as_deref() == Some("AWS") {
            return vec![META.finding(
                Status::Skipped,
                resource,
                "the secret's key is AWS managed: its policy lets every principal of the account use it through Secrets Manager",
            )];
        }
        if let Some(finding) = key_state_finding(key, resource) {
            return vec![finding];
        }
        let policy = match readable(
            &META,
            &key.policy,
            resource,
            "the key is enabled, but its key policy",
        ) {
            Ok(policy) => policy,
            Err(finding) => return vec![*finding],
        };
        let Some(role_arn) = lambda.role.as_deref() else {
            return vec![META.finding(
                Status::Unknown,
                resource,
                "the key is enabled; Lambda did not report the function's execution role",
            )];
        };
        let account = Arn::parse(&secret.arn)
            .map(|a| a.account)
            .unwrap_or_default();
        let root = format!("arn:aws:iam::{account}:root");
        let via_service = format!("secretsmanager.{}.amazonaws.com", facts.region);
        let context = [
            ("kms:ViaService", via_service.as_str()),
            ("kms:CallerAccount", account),
            ("kms:EncryptionContext:SecretARN", secret.arn.as_str()),
        ];
        let mut evidence = relevant_statements(policy);
        evidence.extend(via_service_notes(policy));

        let mut failures = Vec::new();
        let mut unknowns = Vec::new();
        let mut delegated = Vec::new();
        let mut direct = Vec::new();
        for (action, _) in KMS_ACTIONS {
            let ask = |principals: &[&str]| {
                evaluate(
                    &[("the key policy", policy)],
                    &Request {
                        action,
                        resource: "*",
                        principals: Some(principals),
                        context: &context,
                    },
                )
            };
            match ask(&[role_arn]) {
                Access::Allowed { by } => {
                    direct.push(action);
                    evidence.push(format!("{action}: allowed to the role by {by}"));
                    continue;
                }
                Access::Denied { by } => {
                    failures.push(format!("{action} is denied to the role by {by}"));
                    continue;
                }
                Access::Unknown { reason } => {
                    unknowns.push(format!("{action}: {reason}"));
                    continue;
                }
                Access::NotAllowed => {}
            }
            match ask(&[root.as_str(), account]) {
                Access::Allowed { by } => {
                    delegated.push(action);
                    evidence.push(format!(
                        "{action}: {by} enables IAM policies for account {account} (IAM002 decides)"
                    ));
                }
                Access::Unknown { reason } => unknowns.push(format!("{action}: {reason}")),
                Access::Denied { by } => {
                    failures.push(format!("{action} is denied to the account by {by}"))
                }
                Access::NotAllowed => failures.push(format!(
                    "no statement allows {action} to the role or enables IAM policies for account {account}"
                )),
            }
        }
        let finding = if !failures.is_empty() {
            META.finding(
                Status::Fail,
                resource,
                format!(
                    "the key policy of {resource} does not let the execution role use the key ({}): the rotation's secret reads and writes fail with \"Access to KMS is not allowed\"",
                    failures.join("; ")
                ),
            )
            .with_remediation(format!(
                "Add a statement to the key policy that allows {role_arn} kms:Decrypt and kms:GenerateDataKey (or the root statement that enables IAM policies, {root}), with aws kms put-key-policy --key-id {resource} --policy-name default --policy file://policy.json; then check IAM002"
            ))
        } else if !unknowns.is_empty() {
            META.finding(
                Status::Unknown,
                resource,
                format!(
                    "the key is enabled; whether its policy lets the execution role use it depends on conditions: {}",
                    unknowns.join("; ")
                ),
            )
        } else if delegated.is_empty() {
            META.finding(
                Status::Pass,
                resource,
                "the key is enabled and its key policy lets the execution role decrypt and generate data keys",
            )
        } else {
            let how = if direct.is_empty() {
                "enables IAM policies (the role's own policies decide: IAM002)".to_string()
            } else {
                "names the role for some actions and enables IAM policies for the others (IAM002 decides those)".to_string()
            };
            META.finding(
                Status::Pass,
                resource,
                format!("the key is enabled and its key policy {how}"),
            )
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut key = crate::fixtures::lab_key();
            key.state = Some("Disabled".to_string());
            with_key(key)
        };
        let passing = with_key(crate::fixtures::lab_key());
        (failing, passing)
    }
}

#[cfg(test)]
fn with_key(key: KmsKey) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    crate::fixtures::get(&mut facts.secret).kms_key_id = Some(key.key_id.clone());
    facts.kms_key = crate::facts::Fact::Present(key);
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fact;
    use crate::fixtures::{lab_key, ROLE_ARN};
    use chrono::TimeZone;
    use serde_json::json;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&KmsKeyUsable, facts).remove(0)
    }

    fn with_policy(policy: Value) -> Facts {
        let mut key = lab_key();
        key.policy = Fact::Present(policy);
        with_key(key)
    }

    #[test]
    fn a_disabled_key_fails_with_enable_key() {
        let f = first(&KmsKeyUsable.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("it is disabled"), "{}", f.message);
        assert!(f.remediation.starts_with("aws kms enable-key"));
    }

    #[test]
    fn a_key_pending_deletion_fails_with_its_date() {
        let mut key = lab_key();
        key.state = Some("PendingDeletion".into());
        key.deletion_date = Some(chrono::Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap());
        let f = first(&with_key(key));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("2026-12-05"));
        assert!(f.remediation.contains("cancel-key-deletion"));
    }

    #[test]
    fn the_default_policy_delegates_to_iam() {
        let f = first(&KmsKeyUsable.fixtures().1);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.message.contains("IAM002"), "{}", f.message);
    }

    #[test]
    fn a_policy_naming_the_role_with_via_service_passes_and_notes_it() {
        let f = first(&with_policy(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}]})));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("kms:ViaService secretsmanager.us-east-1")));
    }

    #[test]
    fn a_policy_for_another_service_or_principal_fails() {
        let f = first(&with_policy(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN}, "Action": "kms:*", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]})));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        let f = first(&with_policy(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/someone-else"}, "Action": "kms:*", "Resource": "*"}]})));
        assert_eq!(f.status, Status::Fail);
        assert!(f.remediation.contains("put-key-policy"));
    }

    #[test]
    fn an_explicit_deny_fails_and_unknown_conditions_are_unknown() {
        let f = first(&with_policy(json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
        ]})));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("NoDecrypt"));
        let f = first(&with_policy(json!({"Statement": [{"Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN}, "Action": "kms:*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]})));
        assert_eq!(f.status, Status::Unknown);
    }

    #[test]
    fn no_customer_key_or_an_aws_key_is_skipped() {
        let f = first(&crate::fixtures::lab_moved());
        assert_eq!(f.status, Status::Skipped);
        let mut key = lab_key();
        key.manager = Some("AWS".into());
        assert_eq!(first(&with_key(key)).status, Status::Skipped);
    }

    #[test]
    fn an_unreadable_key_is_unknown() {
        let mut facts = KmsKeyUsable.fixtures().1;
        facts.kms_key = Fact::Unavailable(crate::facts::Unavailable {
            call: "kms:DescribeKey".into(),
            kind: crate::facts::ErrorKind::AccessDenied,
            message: "AccessDeniedException".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown);
        assert!(f.message.contains("kms:DescribeKey"));
    }
}
