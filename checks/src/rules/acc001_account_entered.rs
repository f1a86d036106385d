//! ACC001: a multi-account scan entered the account (assumed its role).

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};

pub struct AccountEntered;

static META: CheckMeta = CheckMeta {
    id: "ACC001",
    name: "account-not-entered",
    title: "The scan entered the account through its role",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
With `scan --role-name NAME`, whether rotation-doctor could assume
`arn:aws:iam::ACCOUNT:role/NAME` (STS AssumeRole) in each account it was
given. An account it could not enter is reported as one `unknown` entry
naming the account, the role and the error, and the scan goes on with the
others; each secret of an entered account has a `pass` naming the role. A
diagnosis or scan with the caller's own credentials has no finding of this
check.

## Why it breaks rotation
It does not break rotation; it means nothing in that account was
diagnosed, so a failing rotation there would go unseen. The exit code
treats it as any deciding check that could not be evaluated (1 unless
`--allow-unknown`).

## How to fix it
Create the role in the account with the read policy
(`rotation-doctor permissions`) and a trust policy that lets the scanning
principal assume it (with the `sts:ExternalId` condition when you pass
`--external-id`), or drop the account from the list. An opted-out region
cannot be entered either: enable the region or leave it out.

## References
- https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
- https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html
"#,
};

impl Check for AccountEntered {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let finding = match &facts.account_access {
            Fact::Present(access) => META.finding(
                Status::Pass,
                &access.role_arn,
                format!(
                    "entered account {} as {}",
                    access.account, access.role_arn
                ),
            ),
            Fact::Unavailable(error) => META
                .finding(
                    Status::Unknown,
                    &facts.secret_id,
                    format!(
                        "could not enter the account as {}: {error}; nothing in it was diagnosed",
                        facts.secret_id
                    ),
                )
                .with_remediation(
                    "Create the role in the account with the read policy (rotation-doctor permissions) and a trust policy that lets the scanning principal assume it, or leave the account out.",
                ),
            // The caller's own account: nothing was entered, nothing to say.
            Fact::NotApplicable(_) => return Vec::new(),
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = unentered();
        let mut passing = crate::fixtures::lab();
        passing.account_access = Fact::Present(crate::facts::AccountAccess {
            account: "123456789012".into(),
            role_arn: "arn:aws:iam::123456789012:role/RotationDoctorRead".into(),
        });
        (failing, passing)
    }
}

#[cfg(test)]
fn unentered() -> Facts {
    use chrono::TimeZone;
    Facts::unentered(
        "us-east-1",
        "arn:aws:iam::210987654321:role/RotationDoctorRead",
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .unwrap(),
        crate::facts::Unavailable {
            call: "sts:AssumeRole".into(),
            kind: crate::facts::ErrorKind::AccessDenied,
            message: "AccessDenied: not authorized to perform sts:AssumeRole".into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_not_entered_is_one_unknown_finding_naming_role_and_error() {
        let diagnosis = crate::diagnose(&unentered());
        assert_eq!(diagnosis.findings.len(), 1, "{:#?}", diagnosis.findings);
        let finding = &diagnosis.findings[0];
        assert_eq!(finding.check, "ACC001");
        assert_eq!(finding.status, Status::Unknown);
        assert!(finding
            .message
            .contains("arn:aws:iam::210987654321:role/RotationDoctorRead"));
        assert!(finding.message.contains("sts:AssumeRole access denied"));
        assert_eq!(diagnosis.verdict.undecided, ["ACC001"]);
    }

    #[test]
    fn the_callers_own_account_says_nothing() {
        let findings = crate::rules::evaluate_alone(&AccountEntered, &crate::fixtures::lab());
        assert_eq!(findings, []);
    }
}
