//! DB001: the secret's database exists and is available.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{DatabaseKind, ErrorKind, Fact, Facts, Unavailable};
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

A `host` that is an RDS Proxy endpoint of this account stands for the
database registered in the proxy's target group (`DescribeDBProxyTargets`),
whose status is checked; a proxy with no database behind it fails (DB004
checks the proxy's own secret list).

A DocumentDB cluster is an RDS cluster here. A Redshift cluster (by
`host`) must be `available` too (`paused`, `hardware-failure` fail); an
ElastiCache user (by `user_arn`) must be `active`. A Redshift Serverless
workgroup is not read, so its status is unknown.

A `host` that matches no instance endpoint, cluster endpoint (writer,
reader or custom) or proxy endpoint in the secret's region of this account
fails, naming the host: a stale endpoint after a restore from snapshot or a
rename, a database in another region or account, another account's RDS
Proxy or a DNS alias. An IP address, and an RDS endpoint name of another
region (`*.REGION.rds.amazonaws.com`), are named as such.

## Why it breaks rotation
setSecret and testSecret log into the database. A deleted or renamed
database, a stopped instance, or one whose storage is full cannot take the
new password, and every login ends in `setSecret: Unable to log into
database …`. While the database is modifying or rebooting, a rotation may
fail once and succeed on a retry.

## How to fix it
- Not found: point `host` (and `dbInstanceIdentifier`/`dbClusterIdentifier`)
  in the secret at the database that exists, with `put-secret-value`. A
  restored or renamed database has a new endpoint
  (`aws rds describe-db-instances --query 'DBInstances[].Endpoint.Address'`).
  A database in another region or account needs the function to reach it
  there; an RDS Proxy or alias should give way to the database's own
  endpoint, where the password is changed.
- Stopped: `aws rds start-db-instance --db-instance-identifier ID` (or
  `start-db-cluster`), then rotate.
- storage-full: `aws rds modify-db-instance --db-instance-identifier ID
  --allocated-storage N --apply-immediately`.
- incompatible-*: follow the RDS event that names the cause.

`--fix` has no action for this check.

## References
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html#Overview.DBInstance.Status
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RestoreFromSnapshot.html (a restore creates a new instance with a new endpoint)
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_RenameInstance.html (renaming changes the endpoint)
- https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html
- https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-clusters.html#rs-mgmt-cluster-status
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

/// States of a Redshift cluster or an ElastiCache user, beside RDS's, in
/// which it cannot take a new password.
fn is_broken_elsewhere(status: &str) -> bool {
    matches!(
        status,
        "paused" | "hardware-failure" | "final-snapshot" | "deleting"
    )
}

/// Where a host that matches no database points, by its form.
#[derive(Debug, PartialEq)]
enum HostForm {
    /// An IP address: it names no RDS endpoint.
    Ip,
    /// An RDS endpoint name of another region.
    OtherRegion(String),
    /// An RDS Proxy endpoint (`NAME.proxy-ID.REGION.rds.amazonaws.com`).
    Proxy,
    /// Anything else: an RDS endpoint of this region, or a DNS name.
    Name,
}

fn host_form(host: &str, region: &str) -> HostForm {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return HostForm::Ip;
    }
    let labels: Vec<&str> = host.split('.').collect();
    // NAME.ID.REGION.rds.amazonaws.com (.cn in the China regions).
    let Some(rds) = labels
        .iter()
        .position(|label| *label == "rds")
        .filter(|&i| labels.get(i + 1) == Some(&"amazonaws") && i >= 3)
    else {
        return HostForm::Name;
    };
    let endpoint_region = labels[rds - 1];
    if !endpoint_region.eq_ignore_ascii_case(region) {
        return HostForm::OtherRegion(endpoint_region.to_string());
    }
    if labels[1].starts_with("proxy-") {
        return HostForm::Proxy;
    }
    HostForm::Name
}

/// The failure for a database the secret names that RDS does not have: the
/// host (or identifier) named, what its form says, and the likely causes.
fn not_found(
    facts: &Facts,
    named: Option<&str>,
    host: Option<&str>,
    lookup: &Unavailable,
) -> Finding {
    let region = &facts.region;
    let causes = "Likely causes: the database was restored from a snapshot or renamed (its endpoint changed and the secret kept the old one); \
                  it is in another region or account; or host is an RDS Proxy endpoint or a DNS alias (CNAME) rather than the database's own endpoint.";
    let fix = "Point host (and dbInstanceIdentifier or dbClusterIdentifier) in the secret at the database's endpoint, \
               with aws secretsmanager put-secret-value, keeping every other field; then rotate.";
    if !lookup.call.starts_with("rds:") {
        // Redshift and ElastiCache: the lookup's sentence names what is missing.
        let resource = host.or(named).unwrap_or(&facts.secret_id).to_string();
        return META
            .finding(
                Status::Fail,
                resource,
                format!(
                    "{}: the rotation function cannot change a password there",
                    lookup.message
                ),
            )
            .with_remediation(
                "Point the secret at what exists (host for a Redshift cluster, user_arn for an ElastiCache user) \
                 with aws secretsmanager put-secret-value, keeping every other field; then rotate.",
            );
    }
    let Some(host) = host.filter(|h| !h.trim().is_empty()) else {
        // Named by identifier, or (a template's database) by the lookup alone.
        let (resource, what) = match named {
            Some(id) => (
                id.to_string(),
                format!("no RDS instance or cluster in {region} of this account is named {id}"),
            ),
            None => (
                facts.secret_id.clone(),
                format!("{} in {region} of this account", lookup.message),
            ),
        };
        return META
            .finding(
                Status::Fail,
                resource,
                format!(
                    "{what}: the rotation function cannot log into a database that does not exist"
                ),
            )
            .with_remediation(format!("{fix}\n{causes}"));
    };
    let (what, remediation) = match host_form(host, region) {
        HostForm::Ip => (
            format!(
                "the secret's host {host} is an IP address, which matches no RDS DB instance, cluster, or endpoint in {region} of this account: \
                 RDS databases are reached by endpoint name, and an address changes on failover, restore and maintenance"),
            format!(
                "Set host to the database's endpoint name, not an address (an instance's address changes on failover, restore and maintenance). {fix}"
            ),
        ),
        HostForm::OtherRegion(other) => (
            format!(
                "the secret's host {host} is an RDS endpoint in {other}, not in {region} where the secret is: it matches no DB instance, cluster, or endpoint in {region} of this account"
            ),
            format!(
                "If the database moved to {region}, point host at its endpoint there. {fix}\n\
                 If the database stays in {other}, the rotation function must reach it across regions (VPC peering or Transit Gateway), and this tool cannot see it from {region}."
            ),
        ),
        HostForm::Proxy => (
            format!(
                "the secret's host {host} is an RDS Proxy endpoint, which matches no DB instance or cluster endpoint in {region} of this account"
            ),
            format!(
                "Point host at the database behind the proxy (its instance or cluster endpoint): the rotation function changes the password on the database itself. {fix}"
            ),
        ),
        HostForm::Name => (
            format!(
                "the secret's host {host} matches no RDS DB instance, cluster, or cluster endpoint in {region} of this account: the rotation function cannot log into a database that is not there"
            ),
            format!("{fix}\n{causes}"),
        ),
    };
    META.finding(Status::Fail, host, what)
        .with_remediation(remediation)
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
                let host = connection.and_then(|c| c.host.as_deref());
                let id = connection.and_then(|c| {
                    c.db_instance_identifier
                        .as_deref()
                        .or(c.db_cluster_identifier.as_deref())
                });
                if let Some(proxy) = facts.proxy.present() {
                    return vec![META
                        .finding(
                            Status::Fail,
                            proxy.arn.clone().unwrap_or_else(|| proxy.name.clone()),
                            format!(
                                "the secret's host is RDS Proxy {}, and {}: the rotation function cannot change a password through it",
                                proxy.name, u.message
                            ),
                        )
                        .with_remediation(format!(
                            "Register the database in the proxy's target group (aws rds register-db-proxy-targets --db-proxy-name {} --db-instance-identifiers ID),                              or point host in the secret at the database's own endpoint.",
                            proxy.name
                        ))
                        .with_evidence([u.to_string()])];
                }
                return vec![not_found(facts, id, host, u).with_evidence([u.to_string()])];
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
        let noun = db.kind.noun();
        let kind = match db.kind {
            DatabaseKind::Instance => "instance",
            // Only the RDS remediations below use it; Redshift's and
            // ElastiCache's have their own.
            DatabaseKind::Cluster | DatabaseKind::RedshiftCluster => "cluster",
            DatabaseKind::Proxy => "proxy",
            DatabaseKind::ElasticacheUser => "user",
        };
        let resource = db.arn.clone().unwrap_or_else(|| db.identifier.clone());
        let ready = match db.kind {
            DatabaseKind::ElasticacheUser => "active",
            _ => "available",
        };
        let other_engine = matches!(
            db.kind,
            DatabaseKind::RedshiftCluster | DatabaseKind::ElasticacheUser
        );
        let finding = match db.status.as_deref() {
            Some(status) if status == ready => META.finding(
                Status::Pass,
                resource,
                format!("{noun} {} is {ready}", db.identifier),
            ),
            Some(status) if is_broken(status) || (other_engine && is_broken_elsewhere(status)) => META
                .finding(
                    Status::Fail,
                    resource,
                    format!(
                        "{noun} {} is {status}: it cannot take a new password",
                        db.identifier
                    ),
                )
                .with_remediation(match (db.kind, status) {
                    (DatabaseKind::RedshiftCluster, "paused") => format!(
                        "Resume it (aws redshift resume-cluster --cluster-identifier {}), then rotate again.",
                        db.identifier
                    ),
                    (DatabaseKind::RedshiftCluster, _) => "Resolve the cause the Redshift events name (aws redshift describe-events), then rotate again."
                        .to_string(),
                    (DatabaseKind::ElasticacheUser, _) => format!(
                        "The user is {status}; rotation needs it active (aws elasticache describe-users --user-id {}).",
                        db.identifier
                    ),
                    (_, "stopped" | "stopping") => format!(
                        "Start it (aws rds start-db-{kind} --db-{kind}-identifier {}), then rotate again.",
                        db.identifier
                    ),
                    (_, "storage-full") => format!(
                        "Add storage: aws rds modify-db-instance --db-instance-identifier {} \
                         --allocated-storage N --apply-immediately",
                        db.identifier
                    ),
                    (_, _) => "Resolve the cause the RDS events name (aws rds describe-events), then rotate again."
                        .to_string(),
                }),
            Some(status) => META.finding(
                Status::Warn,
                resource,
                format!(
                    "{noun} {} is {status}, not {ready}: a rotation now may fail and succeed on a retry",
                    db.identifier
                ),
            ),
            None => META.finding(
                Status::Unknown,
                resource,
                format!("AWS did not report the status of {noun} {}", db.identifier),
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

    fn stale_host(host: &str) -> Finding {
        let mut facts = DatabaseStatus.fixtures().1;
        get(&mut facts.connection).host = Some(host.to_string());
        facts.database = Fact::Unavailable(Unavailable {
            call: "rds:DescribeDBInstances".into(),
            kind: ErrorKind::NotFound,
            message: format!(
                "no RDS DB instance or cluster in region us-east-1 has the endpoint {host}"
            ),
        });
        first(&facts)
    }

    #[test]
    fn a_host_that_matches_nothing_fails_naming_it_and_the_causes() {
        let host = "old-db.abc123.us-east-1.rds.amazonaws.com";
        let f = stale_host(host);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.resource, host);
        assert!(
            f.message.contains(&format!(
                "the secret's host {host} matches no RDS DB instance, cluster, or cluster endpoint in us-east-1 of this account"
            )),
            "{}",
            f.message
        );
        for cause in [
            "restored",
            "renamed",
            "another region or account",
            "RDS Proxy",
        ] {
            assert!(f.remediation.contains(cause), "{cause}: {}", f.remediation);
        }
    }

    #[test]
    fn behind_a_proxy_the_target_is_checked_and_no_target_fails() {
        let mut facts = crate::fixtures::lab_behind_proxy();
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(f.message.contains("lab-db"), "{}", f.message);
        facts.database = Fact::Unavailable(Unavailable {
            call: "rds:DescribeDBProxyTargets".into(),
            kind: ErrorKind::NotFound,
            message: "RDS Proxy lab-proxy has no database registered in its target group".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("no database registered"),
            "{}",
            f.message
        );
        assert!(f.remediation.contains("register-db-proxy-targets"));
    }

    #[test]
    fn an_ip_another_region_and_a_proxy_are_named_as_such() {
        let f = stale_host("10.0.1.25");
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("10.0.1.25 is an IP address"),
            "{}",
            f.message
        );
        let f = stale_host("db.abc123.eu-west-1.rds.amazonaws.com");
        assert!(
            f.message
                .contains("is an RDS endpoint in eu-west-1, not in us-east-1"),
            "{}",
            f.message
        );
        let f = stale_host("app.proxy-abc123.us-east-1.rds.amazonaws.com");
        assert!(f.message.contains("RDS Proxy endpoint"), "{}", f.message);
        assert_eq!(
            host_form("DB.abc.US-EAST-1.rds.amazonaws.com.", "us-east-1"),
            HostForm::Name
        );
        assert_eq!(
            host_form("db.internal.example.com", "us-east-1"),
            HostForm::Name
        );
        assert_eq!(host_form("::1", "us-east-1"), HostForm::Ip);
    }

    #[test]
    fn redshift_and_elasticache_have_their_own_states() {
        let mut facts = crate::fixtures::redshift();
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass);
        assert_eq!(f.message, "Redshift cluster lab-warehouse is available");
        get(&mut facts.database).status = Some("paused".into());
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f
            .remediation
            .contains("aws redshift resume-cluster --cluster-identifier lab-warehouse"));
        let mut facts = crate::fixtures::elasticache_user();
        assert_eq!(first(&facts).message, "ElastiCache user app-user is active");
        get(&mut facts.database).status = Some("modifying".into());
        assert_eq!(first(&facts).status, Status::Warn);
    }

    #[test]
    fn a_missing_redshift_cluster_is_named_by_its_lookup() {
        let mut facts = crate::fixtures::redshift();
        facts.database = Fact::Unavailable(Unavailable {
            call: "redshift:DescribeClusters".into(),
            kind: ErrorKind::NotFound,
            message: "no Redshift cluster is named lab-warehouse".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .starts_with("no Redshift cluster is named lab-warehouse"),
            "{}",
            f.message
        );
        assert!(!f.message.contains("RDS"), "{}", f.message);
    }
}
