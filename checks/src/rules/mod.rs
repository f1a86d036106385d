//! The checks, one file each, and the registry: adding a check is adding a
//! file and a line in `ALL`.

mod log001_rotation_log_errors;
mod net001_lambda_placement;
mod net002_database_reachable;
mod net003_secretsmanager_reachable;

use crate::check::{Check, CheckMeta};
use crate::facts::{ErrorKind, Fact, Facts, Lambda};
use crate::finding::{Finding, Status};

/// Every check, in report order.
pub static ALL: &[&dyn Check] = &[
    &net001_lambda_placement::LambdaPlacement,
    &net002_database_reachable::DatabaseReachable,
    &net003_secretsmanager_reachable::SecretsmanagerReachable,
    &log001_rotation_log_errors::RotationLogErrors,
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
/// is reported by NET001, which fails on it).
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
            let message = format!("the rotation Lambda {arn} does not exist (see NET001)");
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
            assert_eq!(finding.status, Status::Skipped, "{finding:?}");
        }
    }
}
