//! SEC002: for multi-user (alternating users) rotation, the master secret
//! named by `masterarn` exists, is not being deleted, and the rotation role
//! may read it and decrypt it. The master secret's ARN is a field of the
//! secret's value, so it is never named: the collector judged it and kept
//! only verdicts (`Facts::master_secret`).

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};
use crate::role_access::Outcome;

pub struct MasterSecretUsable;

static META: CheckMeta = CheckMeta {
    id: "SEC002",
    name: "master-secret",
    title: "Multi-user rotation: the master secret exists and the rotation role can read it",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
For a secret whose value has a `masterarn` key (the alternating-users, or
multi-user, rotation templates), the master secret that key names:
- it exists (`secretsmanager:DescribeSecret`) and is not scheduled for
  deletion;
- it is in the secret's account (one in another account also needs a
  resource policy on it and a key policy that admit the role: a warning;
  under the AWS managed key, which no other account may use, a failure)
  and region (the template calls its own region's endpoint: a warning);
- the rotation Lambda's execution role may call
  `secretsmanager:GetSecretValue` on it, and `kms:Decrypt` with its key when
  that key is customer managed, and the key is `Enabled`.
The role's permissions come from `iam:SimulatePrincipalPolicy` where it
answers, else from our evaluation of its inline, attached and boundary
documents (and the key policy for `kms:Decrypt`); the evidence says which.

The master secret's ARN is a field of the secret's value, and this tool
stores no field of a value other than host, port, engine, dbname and
username: the collector judges the master secret while the value is in
memory and keeps only the verdicts, so findings say "the master secret
named by `masterarn`" and never its name.

## Why it breaks rotation
The multi-user templates log in as the master user to create or alter the
alternate user. In `setSecret` they read the master secret with
`GetSecretValue`; a missing or deleted master secret, a role that may not
read or decrypt it, or a disabled key ends the step with an error such as
`setSecret: Unable to log into database using credentials in master secret`
or an `AccessDeniedException` naming `GetSecretValue` on the master secret.

## How to fix it
Point `masterarn` at the master secret that exists (put a corrected value
with `aws secretsmanager put-secret-value`), restore a master secret
scheduled for deletion (`aws secretsmanager restore-secret`), and grant the
role `secretsmanager:GetSecretValue` on the master secret's ARN (and
`kms:Decrypt` on its customer managed key), for example with
`aws iam put-role-policy`. `--fix` does not do it: the plan would have to
store the master secret's ARN.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets_strategies.html#rotating-secrets-two-users
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas
"#,
};

impl Check for MasterSecretUsable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let resource = secret.arn.as_str();
        let master = match super::support::needed(
            &META,
            &facts.master_secret,
            resource,
            |why| why.to_string(),
            |u| format!("the master secret named by masterarn could not be judged: {u}"),
        ) {
            Ok(master) => master,
            Err(finding) => return vec![*finding],
        };
        let finding = |status: Status, message: String| META.finding(status, resource, message);
        if !master.found {
            return vec![finding(
                Status::Fail,
                "masterarn names no master secret that exists (or is not a secret ARN): \
                 the multi-user template cannot log in as the master user in setSecret"
                    .to_string(),
            )
            .with_remediation(
                "Put a value whose masterarn names the master secret that exists \
                 (aws secretsmanager put-secret-value), then rotate.",
            )];
        }
        if master.scheduled_for_deletion {
            return vec![finding(
                Status::Fail,
                "the master secret named by masterarn is scheduled for deletion: \
                 GetSecretValue on it fails"
                    .to_string(),
            )
            .with_remediation(
                "Restore it (aws secretsmanager restore-secret --secret-id MASTER), or point \
                 masterarn at the master secret in use.",
            )];
        }

        let mut problems: Vec<(Status, String)> = Vec::new();
        let mut evidence: Vec<String> = Vec::new();
        for (call, verdict) in [
            (
                "secretsmanager:GetSecretValue",
                &master.role_get_secret_value,
            ),
            ("kms:Decrypt", &master.role_decrypt),
        ] {
            match verdict {
                Fact::NotApplicable(_) => {}
                Fact::Unavailable(why) => {
                    evidence.push(format!("{call} on the master secret: unknown ({why})"));
                    problems.push((
                        Status::Unknown,
                        format!("whether the rotation role may call {call} on it is unknown"),
                    ));
                }
                Fact::Present(outcome) => {
                    let (status, text) = match outcome {
                        Outcome::Granted(by) => (Status::Pass, format!("allowed by {by}")),
                        Outcome::Missing(why) => (Status::Fail, format!("missing ({why})")),
                        Outcome::Blocked(why) => (Status::Fail, format!("blocked ({why})")),
                        Outcome::Unknown(why) => (Status::Unknown, format!("unknown ({why})")),
                    };
                    evidence.push(format!("{call} on the master secret: {text}"));
                    if status != Status::Pass {
                        problems.push((
                            status,
                            format!("the rotation role may not call {call} on it: {text}"),
                        ));
                    }
                }
            }
        }
        match &master.key_state {
            Fact::Present(state) if state != "Enabled" => problems.push((
                Status::Fail,
                format!("its customer managed key is {state}: it cannot be decrypted"),
            )),
            Fact::Present(_) | Fact::NotApplicable(_) => {}
            Fact::Unavailable(why) => problems.push((
                Status::Unknown,
                format!("the state of its customer managed key is unknown ({why})"),
            )),
        }
        if !master.decided_by.is_empty() {
            evidence.push(format!("decided by {}", master.decided_by));
        }
        evidence.push(format!(
            "encrypted with {}",
            if master.customer_managed_key {
                "a customer managed key"
            } else {
                "the AWS managed key aws/secretsmanager"
            }
        ));
        if !master.same_account && !master.customer_managed_key {
            problems.push((
                Status::Fail,
                "it is in another account under the AWS managed key aws/secretsmanager, \
                 which no other account may use: it needs a customer managed key"
                    .to_string(),
            ));
        } else if !master.same_account {
            problems.push((
                Status::Warn,
                "it is in another account: its resource policy and its key's policy must \
                 also admit the rotation role, which this tool cannot read"
                    .to_string(),
            ));
        }
        if !master.same_region {
            problems.push((
                Status::Warn,
                "it is in another region: the rotation function calls its own region's \
                 Secrets Manager endpoint, where the master secret is not"
                    .to_string(),
            ));
        }

        let worst = [Status::Fail, Status::Unknown, Status::Warn]
            .into_iter()
            .find(|status| problems.iter().any(|(s, _)| s == status));
        let Some(status) = worst else {
            return vec![finding(
                Status::Pass,
                "the master secret named by masterarn exists and the rotation role may read \
                 and decrypt it"
                    .to_string(),
            )
            .with_evidence(evidence)];
        };
        let text: Vec<String> = problems.into_iter().map(|(_, text)| text).collect();
        vec![finding(
            status,
            format!("the master secret named by masterarn: {}", text.join("; ")),
        )
        .with_evidence(evidence)
        .with_remediation(
            "Grant the rotation role secretsmanager:GetSecretValue on the master secret's ARN \
             (the value of masterarn), and kms:Decrypt on its customer managed key, with aws \
             iam put-role-policy; enable the key if it is disabled.",
        )]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab();
            facts.master_secret = Fact::Present(master(Outcome::Missing(
                "no statement allows it".to_string(),
            )));
            facts
        };
        let passing = {
            let mut facts = crate::fixtures::lab();
            facts.master_secret = Fact::Present(master(Outcome::Granted(
                "inline policy rotation".to_string(),
            )));
            facts
        };
        (failing, passing)
    }
}

#[cfg(test)]
fn master(get: Outcome) -> crate::facts::MasterSecret {
    crate::facts::MasterSecret {
        found: true,
        scheduled_for_deletion: false,
        same_account: true,
        same_region: true,
        customer_managed_key: false,
        key_state: Fact::NotApplicable("the AWS managed key".to_string()),
        role_get_secret_value: Fact::Present(get),
        role_decrypt: Fact::NotApplicable("the AWS managed key".to_string()),
        decided_by: "our evaluation of the role's documents".to_string(),
        rds_primary_arn: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(facts: &Facts) -> Finding {
        let mut findings = crate::rules::evaluate_alone(&MasterSecretUsable, facts);
        assert_eq!(findings.len(), 1, "{findings:?}");
        findings.remove(0)
    }

    #[test]
    fn a_role_that_may_not_read_the_master_fails_naming_the_action() {
        let finding = only(&MasterSecretUsable.fixtures().0);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("secretsmanager:GetSecretValue"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn a_readable_master_passes() {
        assert_eq!(only(&MasterSecretUsable.fixtures().1).status, Status::Pass);
    }

    #[test]
    fn a_single_user_secret_is_skipped() {
        assert_eq!(only(&crate::fixtures::lab()).status, Status::Skipped);
    }

    #[test]
    fn missing_deleted_disabled_and_cross_account_masters() {
        let with = |change: fn(&mut crate::facts::MasterSecret)| {
            let mut facts = MasterSecretUsable.fixtures().1;
            if let Fact::Present(master) = &mut facts.master_secret {
                change(master);
            }
            only(&facts)
        };
        let missing = with(|m| m.found = false);
        assert_eq!(missing.status, Status::Fail);
        assert!(missing.message.contains("no master secret that exists"));
        assert_eq!(
            with(|m| m.scheduled_for_deletion = true).status,
            Status::Fail
        );
        let disabled = with(|m| {
            m.customer_managed_key = true;
            m.key_state = Fact::Present("Disabled".to_string());
            m.role_decrypt = Fact::Present(Outcome::Granted("the key policy".to_string()));
        });
        assert_eq!(disabled.status, Status::Fail);
        assert!(disabled.message.contains("Disabled"));
        assert_eq!(with(|m| m.same_account = false).status, Status::Fail);
        let cross_account_cmk = with(|m| {
            m.same_account = false;
            m.customer_managed_key = true;
            m.key_state = Fact::Present("Enabled".to_string());
            m.role_decrypt = Fact::Present(Outcome::Granted("the key policy".to_string()));
        });
        assert_eq!(cross_account_cmk.status, Status::Warn);
        assert_eq!(with(|m| m.same_region = false).status, Status::Warn);
        let unknown = with(|m| {
            m.role_get_secret_value = Fact::Present(Outcome::Unknown("a condition".into()))
        });
        assert_eq!(unknown.status, Status::Unknown);
    }

    #[test]
    fn a_master_that_could_not_be_judged_is_unknown() {
        let mut facts = MasterSecretUsable.fixtures().1;
        facts.master_secret = Fact::Unavailable(crate::facts::Unavailable {
            call: "secretsmanager:DescribeSecret".into(),
            kind: crate::facts::ErrorKind::AccessDenied,
            message: "access denied".into(),
        });
        assert_eq!(only(&facts).status, Status::Unknown);
    }
}
