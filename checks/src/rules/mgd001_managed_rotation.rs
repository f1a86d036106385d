//! MGD001: a secret another service rotates (RDS-managed master passwords):
//! report the managed rotation, its schedule, and how to force one.

use crate::arn::Arn;
use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

use super::schedule::Schedule;
use super::support::{is_managed, iso, readable};

pub struct ManagedRotation;

static META: CheckMeta = CheckMeta {
    id: "MGD001",
    name: "managed-rotation",
    title: "Managed rotation (RDS master password): schedule and how to force it",
    severity: Severity::Info,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
Whether the secret is rotated by another service instead of a Lambda:
`OwningService` `rds`, or a name `rds!db-…` / `rds!cluster-…` (RDS and
Aurora master passwords with `ManageMasterUserPassword`). For those it
reports the managed rotation: the schedule, the last and next rotation, and
the command that rotates it now; the Lambda checks do not apply and are
skipped. Other secrets skip this check.

## Why it breaks rotation
It does not break anything by itself. Managed secrets have no rotation
Lambda, so Lambda-based advice (invoke permissions, VPC placement, the
templates' JSON keys) does not apply; RDS rotates them every 7 days by
default, and rotation typically completes within a minute.

## How to fix it
Rotate now through RDS (the change must be applied immediately):
`aws rds modify-db-instance --db-instance-identifier ID
--rotate-master-user-password --apply-immediately`, or
`aws rds modify-db-cluster --db-cluster-identifier ID
--rotate-master-user-password --apply-immediately`. Change the schedule
with `aws secretsmanager rotate-secret --secret-id SECRET
--rotation-rules ...` without `--rotation-lambda-arn`.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_managed.html
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html
"#,
};

impl Check for ManagedRotation {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match readable(&META, &facts.secret, &facts.secret_id, "the secret") {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        if !is_managed(secret) {
            return vec![META.finding(
                Status::Skipped,
                &secret.arn,
                "the secret is rotated by a Lambda, not managed by another service",
            )];
        }
        let service = secret.owning_service.as_deref().unwrap_or("rds");
        let schedule = secret
            .rotation_rules
            .as_ref()
            .map(Schedule::from_rules)
            .and_then(|s| s.ok().flatten())
            .map(|s| s.describe())
            .or_else(|| {
                secret
                    .rotation_rules
                    .as_ref()
                    .and_then(|r| r.schedule_expression.clone())
            });
        let mut evidence = vec![format!("OwningService: {service}")];
        if let Some(arn) = &secret.rds_primary_arn {
            evidence.push(format!("primary database: {arn}"));
        }
        evidence.push(format!(
            "rotation: {}",
            match secret.rotation_enabled {
                Some(true) => "on",
                Some(false) => "off",
                None => "not reported",
            }
        ));
        if let Some(s) = &schedule {
            evidence.push(format!("schedule: {s}"));
        }
        if let Some(d) = secret
            .rotation_rules
            .as_ref()
            .and_then(|r| r.duration.clone())
        {
            evidence.push(format!("window: {d}"));
        }
        if let Some(last) = &secret.last_rotated {
            evidence.push(format!("last rotated: {}", iso(last)));
        }
        if let Some(next) = &secret.next_rotation {
            let past = if *next < facts.collected_at {
                " (in the past: the rotation is overdue)"
            } else {
                ""
            };
            evidence.push(format!("next rotation: {}{past}", iso(next)));
        }

        let is_rds = service.eq_ignore_ascii_case("rds") || secret.name.starts_with("rds!");
        let remediation = if is_rds {
            // arn:aws:rds:REGION:ACCOUNT:db:ID or …:cluster:ID
            let target = secret
                .rds_primary_arn
                .as_deref()
                .and_then(Arn::parse)
                .and_then(|a| Some((a.resource_type()?, a.resource_id())));
            let (kind, id) = match target {
                Some(("cluster", id)) => ("cluster", id.to_string()),
                Some((_, id)) => ("instance", id.to_string()),
                None if secret.name.starts_with("rds!cluster") => {
                    ("cluster", "CLUSTER_ID".to_string())
                }
                None => ("instance", "DB_INSTANCE_ID".to_string()),
            };
            format!(
                "To rotate now: aws rds modify-db-{kind} --db-{kind}-identifier {id} \
                 --rotate-master-user-password --apply-immediately. To change the schedule: \
                 aws secretsmanager rotate-secret --secret-id {} --rotation-rules ... (without \
                 --rotation-lambda-arn).",
                secret.arn
            )
        } else {
            format!("Rotate it through {service}, which owns the secret.")
        };
        let message = format!(
            "the secret's rotation is managed by {service}, without a Lambda{}; the Lambda checks do not apply",
            schedule
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
        vec![META
            .finding(Status::Pass, &secret.arn, message)
            .with_evidence(evidence)
            .with_remediation(remediation)]
    }

    /// MGD001 reports rather than fails: its "failing" fixture is the secret it
    /// reports on (a `pass` with the managed schedule), and its passing one is a
    /// Lambda-rotated secret, which it skips.
    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = managed();
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
fn managed() -> Facts {
    let mut facts = crate::fixtures::lab();
    let secret = crate::fixtures::get(&mut facts.secret);
    secret.name = "rds!db-0f2c7a4e-1111-2222-3333-444455556666".into();
    secret.owning_service = Some("rds".into());
    secret.rotation_lambda_arn = None;
    secret.rds_primary_arn = Some("arn:aws:rds:us-east-1:123456789012:db:lab-db".into());
    secret.rotation_rules = Some(crate::facts::RotationRules {
        automatically_after_days: Some(7),
        ..Default::default()
    });
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_managed_rotation_and_how_to_force_it() {
        let f = crate::rules::evaluate_alone(&ManagedRotation, &managed()).remove(0);
        assert_eq!(f.status, Status::Pass);
        assert!(f.message.contains("managed by rds"), "{}", f.message);
        assert!(f.message.contains("every 7 days"), "{}", f.message);
        assert!(
            f.remediation.contains(
                "aws rds modify-db-instance --db-instance-identifier lab-db --rotate-master-user-password --apply-immediately"
            ),
            "{}",
            f.remediation
        );
    }

    #[test]
    fn clusters_get_the_cluster_command() {
        let mut facts = managed();
        let secret = crate::fixtures::get(&mut facts.secret);
        secret.rds_primary_arn =
            Some("arn:aws:rds:us-east-1:123456789012:cluster:lab-aurora".into());
        let f = crate::rules::evaluate_alone(&ManagedRotation, &facts).remove(0);
        assert!(f
            .remediation
            .contains("modify-db-cluster --db-cluster-identifier lab-aurora"));
    }

    #[test]
    fn lambda_rotated_secrets_are_skipped() {
        let f =
            crate::rules::evaluate_alone(&ManagedRotation, &ManagedRotation.fixtures().1).remove(0);
        assert_eq!(f.status, Status::Skipped);
    }
}
