//! ROT002: a stuck AWSPENDING label (or no AWSCURRENT at all) blocks every
//! new rotation.

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};
use crate::fix::{FixAction, FixPlan};

use super::support::{age, iso};

pub struct StuckPending;

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";
/// What RotateSecret answers while AWSPENDING sits on another version.
const PREVIOUS_ROTATION: &str =
    "A previous rotation isn't complete. That rotation will be reattempted.";

static META: CheckMeta = CheckMeta {
    id: "ROT002",
    name: "stuck-pending-version",
    title: "AWSPENDING left on a version other than AWSCURRENT (stuck rotation)",
    severity: Severity::High,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[],
    explained_by: ExplainedBy::AnyBrokenStep,
    docs: r#"## What it checks
The staging labels of the secret's versions (`VersionIdsToStages`): that no
version carries AWSPENDING without also carrying AWSCURRENT, and that some
version carries AWSCURRENT. AWSCURRENT and AWSPENDING on the same version is
the normal state after a successful rotation (Secrets Manager cleans the
label up outside the function) and passes. The creation date of the stuck
version (`ListSecretVersionIds`) tells when the failed rotation started.

## Why it breaks rotation
Secrets Manager takes an AWSPENDING version on another version as a rotation
still in progress: every later `RotateSecret`, and "Rotate secret
immediately" in the console, fails with `InvalidRequestException: A previous
rotation isn't complete. That rotation will be reattempted.` The scheduled
retries run the same broken rotation again. A secret without any AWSCURRENT
value (rotation turned on before a value was put) fails in createSecret with
`can't find the specified secret value for staging label: AWSCURRENT`.

## How to fix it
First find out whether the database already uses the pending password: the
single-user setSecret step may have changed it before a later step failed.
- If it does, promote the pending version instead of removing it:
  `aws secretsmanager update-secret-version-stage --secret-id SECRET
  --version-stage AWSCURRENT --move-to-version-id PENDING
  --remove-from-version-id CURRENT`.
- Otherwise remove the label: `aws secretsmanager update-secret-version-stage
  --secret-id SECRET --version-stage AWSPENDING --remove-from-version-id
  PENDING`.

Then fix the cause (the other findings) and rotate again with
`aws secretsmanager rotate-secret --secret-id SECRET`. `CancelRotateSecret`
alone does not remove the label. Without any AWSCURRENT, put an initial
value with `put-secret-value` first.

`--fix` removes the label (an unsafe fix: applied only with
`--unsafe-fixes`), because only you can tell whether the pending password
is already in the database.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
- https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
"#,
};

impl Check for StuckPending {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let what = "secret versions or staging labels";
        if let Some(finding) = super::support::not_deployed(&META, facts, &secret.arn, what) {
            return vec![*finding];
        }
        let has = |stages: &[String], label: &str| stages.iter().any(|s| s == label);
        let evidence: Vec<String> = secret
            .versions
            .iter()
            .map(|(version, stages)| {
                let created = secret
                    .version_created
                    .get(version)
                    .map(|t| format!(", created {}", iso(t)))
                    .unwrap_or_default();
                format!("version {version}: [{}]{created}", stages.join(", "))
            })
            .collect();
        let current: Vec<&String> = secret
            .versions
            .iter()
            .filter(|(_, stages)| has(stages, CURRENT))
            .map(|(version, _)| version)
            .collect();
        let stuck: Vec<&String> = secret
            .versions
            .iter()
            .filter(|(_, stages)| has(stages, PENDING) && !has(stages, CURRENT))
            .map(|(version, _)| version)
            .collect();

        let mut findings = Vec::new();
        if current.is_empty() {
            findings.push(
                META.finding(
                    Status::Fail,
                    &secret.arn,
                    "no version of the secret carries AWSCURRENT: createSecret fails with \"can't find the specified secret value for staging label: AWSCURRENT\"",
                )
                .with_evidence(evidence.clone())
                .with_remediation(format!(
                    "Put an initial JSON value (aws secretsmanager put-secret-value --secret-id {} \
                     --secret-string file://connection.json), clear any AWSPENDING label, then rotate.",
                    secret.arn
                )),
            );
        }
        for version in stuck {
            let created = match (
                secret.version_created.get(version),
                &secret.version_dates_unavailable,
            ) {
                (Some(time), _) => format!(
                    ", created {} ({} before the diagnosis)",
                    iso(time),
                    age(facts.collected_at - *time)
                ),
                (None, Some(why)) => format!(" (its creation date is unknown: {why})"),
                (None, None) => " (its creation date is unknown)".to_string(),
            };
            let current_version = current.first().map(|v| v.as_str()).unwrap_or("CURRENT");
            let remediation = format!(
                "Check whether the database already accepts the pending password (a single-user \
                 setSecret may have set it before a later step failed). If it does, promote it: \
                 aws secretsmanager update-secret-version-stage --secret-id {arn} --version-stage AWSCURRENT \
                 --move-to-version-id {version} --remove-from-version-id {current_version}. \
                 Otherwise remove the label: aws secretsmanager update-secret-version-stage --secret-id {arn} \
                 --version-stage AWSPENDING --remove-from-version-id {version}. Then fix the cause and \
                 rotate again: aws secretsmanager rotate-secret --secret-id {arn}",
                arn = secret.arn
            );
            let plan = FixPlan {
                summary: format!("remove the stuck AWSPENDING label from version {version}"),
                rationale: format!(
                    "Removing the label unblocks RotateSecret. Do this only if the database does not \
                     already use the pending password: when setSecret succeeded before a later step \
                     failed, the pending value is the live password, and removing it leaves the secret \
                     with a password the database no longer accepts; promote version {version} to \
                     AWSCURRENT instead."
                ),
                actions: vec![FixAction::RemovePendingLabel {
                    secret_id: secret.arn.clone(),
                    version_id: version.clone(),
                }],
            };
            findings.push(
                META.finding(
                    Status::Fail,
                    &secret.arn,
                    format!(
                        "version {version} carries AWSPENDING but not AWSCURRENT{created}: a rotation is stuck, and RotateSecret will fail with \"{PREVIOUS_ROTATION}\""
                    ),
                )
                .with_evidence(evidence.clone())
                .with_remediation(remediation)
                .with_fix(plan),
            );
        }
        if findings.is_empty() {
            findings.push(
                META.finding(
                    Status::Pass,
                    &secret.arn,
                    format!(
                        "AWSCURRENT is on version {}; no rotation is pending",
                        current.first().map(|v| v.as_str()).unwrap_or_default()
                    ),
                )
                .with_evidence(evidence),
            );
        }
        findings
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            // The lab: v2 carries AWSPENDING alone.
            crate::fixtures::lab()
        };
        let passing = {
            let mut facts = crate::fixtures::lab();
            crate::fixtures::get(&mut facts.secret)
                .versions
                .remove("v2");
            facts
        };
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::get;
    use chrono::TimeZone;

    #[test]
    fn names_the_stuck_version_its_age_and_the_rotate_secret_error() {
        let mut facts = StuckPending.fixtures().0;
        get(&mut facts.secret).version_created.insert(
            "v2".into(),
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
                .unwrap(),
        );
        let findings = crate::rules::evaluate_alone(&StuckPending, &facts);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("version v2"), "{}", f.message);
        assert!(f.message.contains("2026-11-25T12:00:00Z"), "{}", f.message);
        assert!(f.message.contains("3 days"), "{}", f.message);
        assert!(f.message.contains("A previous rotation isn't complete"));
        assert!(f.remediation.contains("--move-to-version-id v2"));
        let plan = &f.fixes[0];
        assert_eq!(plan.safety(), crate::fix::Safety::Unsafe);
        assert!(plan.rationale.contains("already use the pending password"));
        assert_eq!(
            plan.actions[0],
            FixAction::RemovePendingLabel {
                secret_id: crate::fixtures::SECRET_ARN.into(),
                version_id: "v2".into()
            }
        );
    }

    #[test]
    fn current_and_pending_on_one_version_is_normal() {
        let mut facts = StuckPending.fixtures().1;
        get(&mut facts.secret)
            .versions
            .insert("v1".into(), vec!["AWSCURRENT".into(), "AWSPENDING".into()]);
        let findings = crate::rules::evaluate_alone(&StuckPending, &facts);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].status, Status::Pass);
    }

    #[test]
    fn no_current_version_fails() {
        let mut facts = StuckPending.fixtures().1;
        get(&mut facts.secret)
            .versions
            .insert("v1".into(), vec!["AWSPREVIOUS".into()]);
        let f = crate::rules::evaluate_alone(&StuckPending, &facts).remove(0);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("AWSCURRENT"), "{}", f.message);
    }

    #[test]
    fn an_unreadable_creation_date_is_said() {
        let mut facts = StuckPending.fixtures().0;
        get(&mut facts.secret).version_dates_unavailable =
            Some("secretsmanager:ListSecretVersionIds access denied: no".into());
        let f = crate::rules::evaluate_alone(&StuckPending, &facts).remove(0);
        assert!(
            f.message.contains("creation date is unknown"),
            "{}",
            f.message
        );
    }
}
