//! DB001: the secret's database exists and is available.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{ErrorKind, Fact, Facts};
use crate::finding::{Finding, Severity, Status};

pub struct DatabaseStatus;

static META: CheckMeta = CheckMeta {
    id: "DB001",
    name: "database-status",
    title: "The secret's database exists and is available",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret, RotationStep::TestSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
That the RDS instance or Aurora cluster the secret names (by
`dbInstanceIdentifier`, `dbClusterIdentifier` or `host`) exists, and that
its status is `available`. Stopped, storage-full, failed and
`incompatible-*` states fail; passing states such as `modifying`,
`backing-up` or `rebooting` warn. An access-denied lookup is unknown.

## Why it breaks rotation
setSecret and testSecret log into the database. A deleted or renamed
database, a stopped instance, or one whose storage is full cannot take the
new password, and every login ends in `setSecret: Unable to log into
database …`. While the database is modifying or rebooting, a rotation may
fail once and succeed on a retry.

## How to fix it
- Not found: point `host` (and `dbInstanceIdentifier`/`dbClusterIdentifier`)
  in the secret at the database that exists, with `put-secret-value`.
- Stopped: `aws rds start-db-instance --db-instance-identifier ID` (or
  `start-db-cluster`), then rotate.
- storage-full: `aws rds modify-db-instance --db-instance-identifier ID
  --allocated-storage N --apply-immediately`.
- incompatible-*: follow the RDS event that names the cause.

`--fix` has no action for this check.

## References
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status
- https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html
"#,
};

/// States in which the database cannot take a rotation.
fn is_broken(status: &str) -> bool {
    matches!(
        status,
        "stopped"
            | "stopping"
            | "storage-full"
            | "failed"
            | "deleting"
            | "inaccessible-encryption-credentials"
            | "inaccessible-encryption-credentials-recoverable"
            | "insufficient-capacity"
            | "restore-error"
    ) || status.starts_with("incompatible-")
}

impl Check for DatabaseStatus {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        if let Err(finding) = super::support::unmanaged_secret(&META, facts) {
            return vec![*finding];
        }
        let connection = facts.connection.present();
        let named = connection
            .and_then(|c| {
                c.db_instance_identifier
                    .clone()
                    .or_else(|| c.db_cluster_identifier.clone())
                    .or_else(|| c.host.clone())
            })
            .unwrap_or_else(|| "the secret's database".to_string());
        if let Fact::Unavailable(u) = &facts.database {
            if u.kind == ErrorKind::NotFound {
                return vec![META
                    .finding(
                        Status::Fail,
                        &named,
                        format!(
                            "no RDS instance or cluster matches {named}: the rotation function cannot log into a database that does not exist"
                        ),
                    )
                    .with_evidence([u.to_string()])
                    .with_remediation(
                        "Point host (and dbInstanceIdentifier or dbClusterIdentifier) in the secret at the \
                         database that exists, with aws secretsmanager put-secret-value.",
                    )];
            }
        }
        if let Some(finding) = super::support::not_deployed(&META, facts, &named, "database status")
        {
            return vec![*finding];
        }
        let db = match super::support::needed(
            &META,
            &facts.database,
            &named,
            |why| why.to_string(),
            |u| format!("the database could not be looked up: {u}"),
        ) {
            Ok(db) => db,
            Err(finding) => return vec![*finding],
        };
        let kind = match db.kind {
            crate::facts::DatabaseKind::Instance => "instance",
            crate::facts::DatabaseKind::Cluster => "cluster",
        };
        let resource = db.arn.clone().unwrap_or_else(|| db.identifier.clone());
        let finding = match db.status.as_deref() {
            Some("available") => META.finding(
                Status::Pass,
                resource,
                format!("DB {kind} {} is available", db.identifier),
            ),
            Some(status) if is_broken(status) => META
                .finding(
                    Status::Fail,
                    resource,
                    format!(
                        "DB {kind} {} is {status}: it cannot take a new password",
                        db.identifier
                    ),
                )
                .with_remediation(match status {
                    "stopped" | "stopping" => format!(
                        "Start it (aws rds start-db-{kind} --db-{kind}-identifier {}), then rotate again.",
                        db.identifier
                    ),
                    "storage-full" => format!(
                        "Add storage: aws rds modify-db-instance --db-instance-identifier {} \
                         --allocated-storage N --apply-immediately",
                        db.identifier
                    ),
                    _ => "Resolve the cause the RDS events name (aws rds describe-events), then rotate again."
                        .to_string(),
                }),
            Some(status) => META.finding(
                Status::Warn,
                resource,
                format!(
                    "DB {kind} {} is {status}, not available: a rotation now may fail and succeed on a retry",
                    db.identifier
                ),
            ),
            None => META.finding(
                Status::Unknown,
                resource,
                format!("RDS did not report the status of {}", db.identifier),
            ),
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.database).status = Some("stopped".into());
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Unavailable;
    use crate::fixtures::get;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&DatabaseStatus, facts).remove(0)
    }

    #[test]
    fn stopped_and_storage_full_fail() {
        let f = first(&DatabaseStatus.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("stopped"));
        assert!(f.remediation.contains("start-db-instance"));
        let mut facts = DatabaseStatus.fixtures().1;
        get(&mut facts.database).status = Some("incompatible-parameters".into());
        assert_eq!(first(&facts).status, Status::Fail);
    }

    #[test]
    fn available_passes_and_modifying_warns() {
        assert_eq!(first(&DatabaseStatus.fixtures().1).status, Status::Pass);
        let mut facts = DatabaseStatus.fixtures().1;
        get(&mut facts.database).status = Some("modifying".into());
        assert_eq!(first(&facts).status, Status::Warn);
    }

    #[test]
    fn not_found_fails_naming_it_and_denied_is_unknown() {
        let mut facts = DatabaseStatus.fixtures().1;
        facts.database = Fact::Unavailable(Unavailable {
            call: "rds:DescribeDBInstances".into(),
            kind: ErrorKind::NotFound,
            message: "DBInstanceNotFound".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("lab-db"), "{}", f.message);
        facts.database = Fact::Unavailable(Unavailable {
            call: "rds:DescribeDBInstances".into(),
            kind: ErrorKind::AccessDenied,
            message: "denied".into(),
        });
        assert_eq!(first(&facts).status, Status::Unknown);
    }
}
