//! The checks, one file each, and the registry: adding a check is adding a
//! file and a line in `ALL`.

mod db001_database_status;
mod iam001_role_trust;
mod iam002_role_permissions;
mod kms001_kms_key;
mod lam001_lambda_state;
mod lam002_lambda_timeout;
mod lam003_lambda_runtime;
mod lam004_secrets_manager_endpoint_variable;
mod lam005_lambda_account_region;
mod lam006_invoke_permission;
mod log001_rotation_log_errors;
mod mgd001_managed_rotation;
mod net001_lambda_placement;
mod net002_database_reachable;
mod net003_secretsmanager_reachable;
mod rot001_rotation_disabled;
mod rot002_stuck_pending;
mod rot003_rotation_overdue;
mod schedule;
mod sec001_secret_structure;
mod sec002_master_secret;
mod support;
mod trl001_rotation_events;

use crate::check::{Check, CheckMeta};
use crate::facts::{ErrorKind, Fact, Facts, Lambda};
use crate::finding::{Finding, Status};

/// Every check, in report order.
pub static ALL: &[&dyn Check] = &[
    &rot001_rotation_disabled::RotationDisabled,
    &rot002_stuck_pending::StuckPending,
    &rot003_rotation_overdue::RotationOverdue,
    &mgd001_managed_rotation::ManagedRotation,
    &lam001_lambda_state::LambdaState,
    &lam005_lambda_account_region::LambdaAccountRegion,
    &lam006_invoke_permission::InvokePermission,
    &lam004_secrets_manager_endpoint_variable::SecretsManagerEndpointVariable,
    &lam002_lambda_timeout::LambdaTimeout,
    &lam003_lambda_runtime::LambdaRuntime,
    &iam001_role_trust::RoleTrust,
    &iam002_role_permissions::RolePermissions,
    &kms001_kms_key::KmsKeyUsable,
    &net001_lambda_placement::LambdaPlacement,
    &net002_database_reachable::DatabaseReachable,
    &net003_secretsmanager_reachable::SecretsmanagerReachable,
    &sec001_secret_structure::SecretStructure,
    &sec002_master_secret::MasterSecretUsable,
    &db001_database_status::DatabaseStatus,
    &log001_rotation_log_errors::RotationLogErrors,
    &trl001_rotation_events::RotationEvents,
];

/// The check with this id (case-insensitive).
pub fn find(id: &str) -> Option<&'static dyn Check> {
    ALL.iter()
        .copied()
        .find(|c| c.meta().id.eq_ignore_ascii_case(id))
}

/// Runs every check on the facts.
pub fn evaluate(facts: &Facts) -> Vec<Finding> {
    ALL.iter().flat_map(|check| check.evaluate(facts)).collect()
}

/// The rotation Lambda a Lambda-based check looks at, or the finding that
/// says why it cannot: a managed secret or one without a Lambda is
/// `skipped`; a Lambda that could not be read is `unknown` (a deleted one
/// is reported by LAM001, the canonical existence check, and NET001).
pub(crate) fn rotation_lambda<'a>(
    meta: &'static CheckMeta,
    facts: &'a Facts,
) -> Result<&'a Lambda, Box<Finding>> {
    let not_this = |status, resource: &str, message: String| {
        Err(Box::new(meta.finding(status, resource, message)))
    };
    let secret = match &facts.secret {
        Fact::Present(secret) => secret,
        other => {
            let reason = other.missing_reason().unwrap_or_default();
            let message = format!("the secret could not be read: {reason}");
            return not_this(Status::Unknown, &facts.secret_id, message);
        }
    };
    if let Some(service) = &secret.owning_service {
        let message =
            format!("the secret is managed by {service}, which rotates it without a Lambda");
        return not_this(Status::Skipped, &secret.arn, message);
    }
    let arn = secret.rotation_lambda_arn.as_deref().unwrap_or_default();
    if arn.is_empty() {
        let message = "the secret names no rotation Lambda".to_string();
        return not_this(Status::Skipped, &secret.arn, message);
    }
    match &facts.lambda {
        Fact::Present(lambda) => Ok(lambda),
        Fact::Unavailable(u) if u.kind == ErrorKind::NotFound => {
            let message = format!("the rotation Lambda {arn} does not exist (see LAM001)");
            not_this(Status::Unknown, arn, message)
        }
        other => {
            let reason = other.missing_reason().unwrap_or_default();
            let message = format!("the rotation Lambda could not be read: {reason}");
            not_this(Status::Unknown, arn, message)
        }
    }
}

/// What a reachability check says about its first blocked path.
pub(crate) struct Blocked {
    pub message: String,
    pub remediation: String,
    pub fixes: Vec<crate::fix::FixPlan>,
}

/// The finding of a reachability check from its paths: `fail` when any path
/// is blocked (the first blocked one speaks), `unknown` when any is
/// undecided, else `pass`. Every path is one line of evidence.
pub(crate) fn path_finding(
    meta: &'static CheckMeta,
    facts: &Facts,
    paths: Result<Vec<crate::net::NetPath>, String>,
    blocked: impl Fn(&crate::net::NetPath, &crate::net::Hop) -> Blocked,
    reachable: &str,
) -> Finding {
    use crate::net::{render_path, HopVerdict, Verdict};
    let resource = facts
        .lambda
        .present()
        .map(|l| l.arn.clone())
        .unwrap_or_else(|| facts.secret_id.clone());
    let paths = match paths {
        Ok(paths) if !paths.is_empty() => paths,
        Ok(_) => {
            return meta.finding(
                Status::Unknown,
                resource,
                "the Lambda has no subnets to evaluate",
            )
        }
        Err(reason) => return meta.finding(Status::Unknown, resource, reason),
    };
    let evidence: Vec<String> = paths.iter().map(render_path).collect();
    let first_block = paths.iter().find_map(|path| {
        path.hops
            .iter()
            .find(|h| h.verdict == HopVerdict::Block)
            .map(|hop| (path, hop))
    });
    if let Some((path, hop)) = first_block {
        let Blocked {
            message,
            remediation,
            fixes,
        } = blocked(path, hop);
        let mut evidence = evidence;
        evidence.push(format!("{}: {}", hop.kind.as_str(), hop.detail));
        evidence.extend(
            path.hops
                .iter()
                .filter(|h| h.verdict == HopVerdict::Info)
                .map(|h| format!("note: {}", h.detail)),
        );
        return meta
            .finding(Status::Fail, hop.resource.clone(), message)
            .with_evidence(evidence)
            .with_remediation(remediation)
            .with_fixes(fixes);
    }
    if let Some(path) = paths.iter().find(|p| p.verdict == Verdict::Unknown) {
        let reasons: Vec<String> = path
            .hops
            .iter()
            .filter(|h| h.verdict == HopVerdict::Unknown)
            .map(|h| h.detail.clone())
            .collect();
        return meta
            .finding(
                Status::Unknown,
                resource,
                format!("could not be decided: {}", reasons.join("; ")),
            )
            .with_evidence(evidence);
    }
    meta.finding(Status::Pass, resource, reachable)
        .with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_and_names_are_unique_and_docs_have_the_sections() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for check in ALL {
            let meta = check.meta();
            assert!(ids.insert(meta.id), "duplicate id {}", meta.id);
            assert!(names.insert(meta.name), "duplicate name {}", meta.name);
            for section in [
                "## What it checks",
                "## Why it breaks rotation",
                "## How to fix it",
                "## References",
            ] {
                assert!(meta.docs.contains(section), "{} lacks {section}", meta.id);
            }
        }
    }

    #[test]
    fn every_finding_carries_its_checks_id() {
        for facts in [crate::fixtures::lab(), crate::fixtures::lab_moved()] {
            for check in ALL {
                for finding in check.evaluate(&facts) {
                    assert_eq!(finding.check, check.meta().id);
                }
            }
        }
    }

    #[test]
    fn managed_secrets_skip_the_lambda_checks() {
        let mut facts = crate::fixtures::lab();
        crate::fixtures::get(&mut facts.secret).owning_service = Some("rds".into());
        for finding in evaluate(&facts) {
            // MGD001 is the one check that reports on managed secrets.
            if finding.check == "MGD001" {
                assert_eq!(finding.status, Status::Pass, "{finding:?}");
                continue;
            }
            assert_eq!(finding.status, Status::Skipped, "{finding:?}");
        }
    }

    /// (id, facts on which the check fails or warns, facts on which it passes),
    /// from the `failing_facts` / `passing_facts` each check file exposes.
    fn fixtures() -> Vec<(&'static str, Facts, Facts)> {
        vec![
            (
                "ROT001",
                rot001_rotation_disabled::failing_facts(),
                rot001_rotation_disabled::passing_facts(),
            ),
            (
                "ROT002",
                rot002_stuck_pending::failing_facts(),
                rot002_stuck_pending::passing_facts(),
            ),
            (
                "ROT003",
                rot003_rotation_overdue::failing_facts(),
                rot003_rotation_overdue::passing_facts(),
            ),
            (
                "MGD001",
                mgd001_managed_rotation::failing_facts(),
                mgd001_managed_rotation::passing_facts(),
            ),
            (
                "LAM001",
                lam001_lambda_state::failing_facts(),
                lam001_lambda_state::passing_facts(),
            ),
            (
                "LAM002",
                lam002_lambda_timeout::failing_facts(),
                lam002_lambda_timeout::passing_facts(),
            ),
            (
                "LAM003",
                lam003_lambda_runtime::failing_facts(),
                lam003_lambda_runtime::passing_facts(),
            ),
            (
                "LAM004",
                lam004_secrets_manager_endpoint_variable::failing_facts(),
                lam004_secrets_manager_endpoint_variable::passing_facts(),
            ),
            (
                "LAM005",
                lam005_lambda_account_region::failing_facts(),
                lam005_lambda_account_region::passing_facts(),
            ),
            (
                "LAM006",
                lam006_invoke_permission::failing_facts(),
                lam006_invoke_permission::passing_facts(),
            ),
            (
                "NET001",
                net001_lambda_placement::failing_facts(),
                net001_lambda_placement::passing_facts(),
            ),
            (
                "NET002",
                net002_database_reachable::failing_facts(),
                net002_database_reachable::passing_facts(),
            ),
            (
                "NET003",
                net003_secretsmanager_reachable::failing_facts(),
                net003_secretsmanager_reachable::passing_facts(),
            ),
            (
                "SEC001",
                sec001_secret_structure::failing_facts(),
                sec001_secret_structure::passing_facts(),
            ),
            (
                "SEC002",
                sec002_master_secret::failing_facts(),
                sec002_master_secret::passing_facts(),
            ),
            (
                "DB001",
                db001_database_status::failing_facts(),
                db001_database_status::passing_facts(),
            ),
            (
                "LOG001",
                log001_rotation_log_errors::failing_facts(),
                log001_rotation_log_errors::passing_facts(),
            ),
            (
                "IAM001",
                iam001_role_trust::failing_facts(),
                iam001_role_trust::passing_facts(),
            ),
            (
                "IAM002",
                iam002_role_permissions::failing_facts(),
                iam002_role_permissions::passing_facts(),
            ),
            (
                "KMS001",
                kms001_kms_key::failing_facts(),
                kms001_kms_key::passing_facts(),
            ),
            (
                "TRL001",
                trl001_rotation_events::failing_facts(),
                trl001_rotation_events::passing_facts(),
            ),
        ]
    }

    /// Checks whose "failing" fixture is a report, not a failure: the
    /// status it must give there, and the status on the passing fixture.
    const REPORTING: &[(&str, Status, Status)] = &[("MGD001", Status::Pass, Status::Skipped)];

    #[test]
    fn every_check_has_a_failing_and_a_passing_fixture() {
        let table = fixtures();
        for check in ALL {
            let id = check.meta().id;
            let Some((_, failing, passing)) = table.iter().find(|(tid, _, _)| *tid == id) else {
                panic!("{id} has no entry in the fixtures table of rules/mod.rs");
            };
            let statuses = |facts: &Facts| -> Vec<Status> {
                check.evaluate(facts).iter().map(|f| f.status).collect()
            };
            let (on_failing, on_passing) = (statuses(failing), statuses(passing));
            match REPORTING.iter().find(|(rid, _, _)| *rid == id) {
                Some((_, reported, passed)) => {
                    assert!(
                        on_failing.contains(reported),
                        "{id} on its reported fixture: {on_failing:?}"
                    );
                    assert!(
                        on_passing.iter().all(|s| s == passed),
                        "{id} on its passing fixture: {on_passing:?}"
                    );
                }
                None => {
                    assert!(
                        on_failing
                            .iter()
                            .any(|s| matches!(s, Status::Fail | Status::Warn)),
                        "{id} gives neither fail nor warn on its failing fixture: {on_failing:?}"
                    );
                    assert!(
                        !on_passing.is_empty() && on_passing.iter().all(|s| *s == Status::Pass),
                        "{id} does not pass on its passing fixture: {on_passing:?}"
                    );
                }
            }
        }
        for check in ALL {
            let (id, can_fix) = (check.meta().id, check.can_fix());
            if let Some((_, failing, passing)) = table.iter().find(|(tid, _, _)| *tid == id) {
                let plans_on_failing = check.evaluate(failing).iter().any(|f| !f.fixes.is_empty());
                let plans_on_passing = check.evaluate(passing).iter().any(|f| !f.fixes.is_empty());
                assert_eq!(
                    can_fix, plans_on_failing,
                    "{id}: can_fix() disagrees with its failing fixture"
                );
                assert!(
                    !plans_on_passing,
                    "{id} proposes a fix on its passing fixture"
                );
            }
        }
        for (id, _, _) in &table {
            assert!(
                find(id).is_some(),
                "the fixtures table names {id}, which is not in ALL"
            );
        }
    }
}
