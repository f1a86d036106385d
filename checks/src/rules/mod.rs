//! The checks, one file each, and the registry: adding a check is adding
//! its file and one line to `registry!` below.

mod schedule;
mod service_fixes;
mod support;

use crate::check::Check;
#[cfg(test)]
use crate::{facts::Facts, finding::Finding};

/// Declares each check's module and lists its check in `ALL`, in the order
/// given.
macro_rules! registry {
    ($($module:ident::$check:ident,)+) => {
        $(mod $module;)+

        /// Every check, in report order.
        pub static ALL: &[&dyn Check] = &[$(&$module::$check),+];
    };
}

registry! {
    acc001_account_entered::AccountEntered,
    rot001_rotation_disabled::RotationDisabled,
    rot002_stuck_pending::StuckPending,
    rot003_rotation_overdue::RotationOverdue,
    mgd001_managed_rotation::ManagedRotation,
    lam001_lambda_state::LambdaState,
    lam005_lambda_account_region::LambdaAccountRegion,
    lam006_invoke_permission::InvokePermission,
    lam004_secrets_manager_endpoint_variable::SecretsManagerEndpointVariable,
    lam002_lambda_timeout::LambdaTimeout,
    lam003_lambda_runtime::LambdaRuntime,
    lam007_package_runtime::PackageRuntime,
    lam008_elasticache_function::ElasticacheFunction,
    iam001_role_trust::RoleTrust,
    iam002_role_permissions::RolePermissions,
    kms001_kms_key::KmsKeyUsable,
    net001_lambda_placement::LambdaPlacement,
    net002_database_reachable::DatabaseReachable,
    net003_secretsmanager_reachable::SecretsmanagerReachable,
    net004_rds_api_reachable::RdsApiReachable,
    sec001_secret_structure::SecretStructure,
    sec002_master_secret::MasterSecretUsable,
    sec003_generated_password::GeneratedPassword,
    db001_database_status::DatabaseStatus,
    db002_reader_endpoint::ReaderEndpoint,
    db003_clone_username_length::CloneUsernameLength,
    db004_proxy_auth::ProxyAuth,
    log001_rotation_log_errors::RotationLogErrors,
    trl001_rotation_events::RotationEvents,
    tpl001_hosted_rotation_transform::HostedRotationTransform,
    tpl002_hosted_rotation_vpc::HostedRotationVpc,
    tpl003_rotation_waits_for_attachment::RotationWaitsForAttachment,
}

/// The check with this id or name (case-insensitive): `NET002` or
/// `database-unreachable`.
pub fn find(id_or_name: &str) -> Option<&'static dyn Check> {
    ALL.iter().copied().find(|c| {
        c.meta().id.eq_ignore_ascii_case(id_or_name)
            || c.meta().name.eq_ignore_ascii_case(id_or_name)
    })
}

/// One check on facts of its own, the engine run for it alone: for tests.
#[cfg(test)]
pub(crate) fn evaluate_alone(check: &dyn Check, facts: &Facts) -> Vec<Finding> {
    check.evaluate(facts, &crate::diagnosis::NetworkPaths::evaluate(facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;
    use std::collections::HashSet;

    /// The text of one `## ` section of a check's docs.
    fn section<'a>(docs: &'a str, heading: &str) -> &'a str {
        let Some(start) = docs.find(heading) else {
            return "";
        };
        let body = &docs[start + heading.len()..];
        body.find("\n## ").map_or(body, |end| &body[..end])
    }

    #[test]
    fn ids_and_names_are_unique_and_docs_have_the_sections() {
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for check in ALL {
            let meta = check.meta();
            assert!(ids.insert(meta.id), "duplicate id {}", meta.id);
            assert!(names.insert(meta.name), "duplicate name {}", meta.name);
            for heading in [
                "## What it checks",
                "## Why it breaks rotation",
                "## How to fix it",
                "## References",
            ] {
                assert!(meta.docs.contains(heading), "{} lacks {heading}", meta.id);
            }
            if !meta.can_fix {
                continue;
            }
            // A check with a fix says what `--fix` does and whether that is
            // safe; every class its plans on its failing fixture have is named.
            let how = section(meta.docs, "## How to fix it");
            let words: HashSet<&str> = how
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|w| *w == "safe" || *w == "unsafe")
                .collect();
            assert!(
                how.contains("`--fix`"),
                "{}: How to fix it does not mention `--fix`",
                meta.id
            );
            assert!(
                !words.is_empty(),
                "{}: How to fix it does not say whether the fix is safe or unsafe",
                meta.id
            );
            let (failing, _) = check.fixtures();
            for finding in evaluate_alone(*check, &failing) {
                for plan in &finding.fixes {
                    let class = plan.safety().as_str();
                    assert!(
                        words.contains(class),
                        "{}: How to fix it does not call its {class} plan \"{}\" {class}",
                        meta.id,
                        plan.summary
                    );
                }
            }
        }
    }

    /// The verdict follows `explained_by` from a failure to its cause: every
    /// id it names exists, and no chain comes back to where it started (a
    /// consequence of any broken step breaks no step itself).
    #[test]
    fn explanations_name_real_checks_and_have_no_cycle() {
        use crate::check::ExplainedBy;
        let causes_of = |id: &str| -> Vec<&'static str> {
            let meta = find(id).unwrap().meta();
            match meta.explained_by {
                ExplainedBy::Nothing => Vec::new(),
                ExplainedBy::Checks(ids) => ids.to_vec(),
                ExplainedBy::AnyBrokenStep => {
                    assert!(
                        meta.breaks_steps.is_empty(),
                        "{id} breaks steps and follows from them"
                    );
                    ALL.iter()
                        .map(|c| c.meta())
                        .filter(|m| !m.breaks_steps.is_empty())
                        .map(|m| m.id)
                        .collect()
                }
            }
        };
        for check in ALL {
            let start = check.meta().id;
            let mut frontier = vec![start];
            let mut seen = HashSet::new();
            while let Some(id) = frontier.pop() {
                for cause in causes_of(id) {
                    assert!(find(cause).is_some(), "{id} names unknown check {cause}");
                    assert_ne!(cause, start, "{start} explains itself through {id}");
                    if seen.insert(cause) {
                        frontier.push(cause);
                    }
                }
            }
        }
    }

    #[test]
    fn every_finding_carries_its_checks_id() {
        for facts in [crate::fixtures::lab(), crate::fixtures::lab_moved()] {
            for check in ALL {
                for finding in evaluate_alone(*check, &facts) {
                    assert_eq!(finding.check, check.meta().id);
                }
            }
        }
    }

    #[test]
    fn managed_secrets_skip_the_lambda_checks() {
        let mut facts = crate::fixtures::lab();
        crate::fixtures::get(&mut facts.secret).owning_service = Some("rds".into());
        for finding in crate::diagnose(&facts).findings {
            // MGD001 is the one check that reports on managed secrets.
            if finding.check == "MGD001" {
                assert_eq!(finding.status, Status::Pass, "{finding:?}");
                continue;
            }
            assert_eq!(finding.status, Status::Skipped, "{finding:?}");
        }
    }

    /// Checks whose "failing" fixture is a report, not a failure: the
    /// status it must give there, and the status on the passing fixture.
    /// (An account not entered is `unknown`: nothing in it was decided.)
    const REPORTING: &[(&str, Status, Status)] = &[
        ("MGD001", Status::Pass, Status::Skipped),
        ("ACC001", Status::Unknown, Status::Pass),
    ];

    #[test]
    fn every_check_has_a_failing_and_a_passing_fixture() {
        for check in ALL {
            let meta = check.meta();
            let id = meta.id;
            let (failing, passing) = check.fixtures();
            let (on_failing, on_passing) = (
                evaluate_alone(*check, &failing),
                evaluate_alone(*check, &passing),
            );
            let statuses = |findings: &[Finding]| -> Vec<Status> {
                findings.iter().map(|f| f.status).collect()
            };
            let (failing_statuses, passing_statuses) =
                (statuses(&on_failing), statuses(&on_passing));
            match REPORTING.iter().find(|(rid, _, _)| *rid == id) {
                Some((_, reported, passed)) => {
                    assert!(
                        failing_statuses.contains(reported),
                        "{id} on its reported fixture: {failing_statuses:?}"
                    );
                    assert!(
                        passing_statuses.iter().all(|s| s == passed),
                        "{id} on its passing fixture: {passing_statuses:?}"
                    );
                }
                None => {
                    assert!(
                        failing_statuses
                            .iter()
                            .any(|s| matches!(s, Status::Fail | Status::Warn)),
                        "{id} gives neither fail nor warn on its failing fixture: {failing_statuses:?}"
                    );
                    assert!(
                        !passing_statuses.is_empty()
                            && passing_statuses.iter().all(|s| *s == Status::Pass),
                        "{id} does not pass on its passing fixture: {passing_statuses:?}"
                    );
                }
            }
            let plans = |findings: &[Finding]| findings.iter().any(|f| !f.fixes.is_empty());
            assert_eq!(
                meta.can_fix,
                plans(&on_failing),
                "{id}: can_fix disagrees with its failing fixture"
            );
            assert!(
                !plans(&on_passing),
                "{id} proposes a fix on its passing fixture"
            );
        }
    }
}
