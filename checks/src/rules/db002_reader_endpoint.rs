//! DB002: the secret's host is the Aurora cluster's writer, not a reader
//! endpoint.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{DatabaseKind, Facts};
use crate::finding::{Finding, Severity, Status};

pub struct ReaderEndpoint;

static META: CheckMeta = CheckMeta {
    id: "DB002",
    name: "reader-endpoint",
    title: "The secret's host is the cluster's writer, not a reader endpoint",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The `host` in the secret's value against Aurora's endpoint names: a
cluster's reader endpoint (`NAME.cluster-ro-ID.REGION.rds.amazonaws.com`)
fails; a custom endpoint (`NAME.cluster-custom-ID…`) warns, since it may
route to reader instances only; the cluster (writer) endpoint and instance
endpoints pass. Secrets without a host, and secrets managed by RDS, skip it.

## Why it breaks rotation
`setSecret` changes the password with `ALTER USER` (MySQL) or `ALTER ROLE`
(PostgreSQL) on the connection it opens to `host`. On a reader endpoint
that connection lands on a read-only replica, the statement is refused
(`--read-only` / `cannot execute ALTER ROLE in a read-only transaction`),
and the step fails, leaving AWSPENDING behind. The rotation functions
connect to `host` as given; they do not look up the writer.

## How to fix it
Set `host` to the cluster endpoint (the writer), keeping every other
field: `aws secretsmanager put-secret-value --secret-id SECRET
--secret-string '{…, "host": "NAME.cluster-ID.REGION.rds.amazonaws.com"}'`
(or update the value in the console), then rotate. Applications that only
read can keep a separate secret or configuration with the reader endpoint.

## References
- https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Overview.Endpoints.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
"#,
};

/// Which Aurora endpoint a host names, by AWS's naming scheme.
fn endpoint_kind(host: &str) -> Option<&'static str> {
    let host = host.to_ascii_lowercase();
    let label = host.split('.').nth(1)?;
    if label.starts_with("cluster-ro-") {
        Some("reader")
    } else if label.starts_with("cluster-custom-") {
        Some("custom")
    } else {
        None
    }
}

impl Check for ReaderEndpoint {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let host = match facts.connection.present().and_then(|c| c.host.as_deref()) {
            Some(host) if !host.is_empty() => host,
            _ => {
                return vec![META.finding(
                    Status::Skipped,
                    &secret.arn,
                    "the secret's value names no host (SEC001 says whether it must)",
                )]
            }
        };
        let cluster = facts
            .database
            .present()
            .filter(|db| db.kind == DatabaseKind::Cluster);
        let writer = cluster.and_then(|db| db.endpoint.as_deref());
        let name = cluster.map_or("the cluster", |db| db.identifier.as_str());
        let use_writer = match writer {
            Some(writer) => format!("set host to the cluster endpoint {writer}"),
            None => "set host to the cluster (writer) endpoint".to_string(),
        };
        let finding = match endpoint_kind(host) {
            Some("reader") => META
                .finding(
                    Status::Fail,
                    &secret.arn,
                    format!(
                        "the secret's host {host} is the reader endpoint of {name}: setSecret's password change reaches a read-only replica and fails"
                    ),
                )
                .with_remediation(format!(
                    "In the secret's value, {use_writer} (aws secretsmanager put-secret-value), keeping every other field; then rotate."
                )),
            Some(_) => META
                .finding(
                    Status::Warn,
                    &secret.arn,
                    format!(
                        "the secret's host {host} is a custom endpoint of {name}: if it routes to reader instances, setSecret's password change fails"
                    ),
                )
                .with_remediation(format!(
                    "Unless the custom endpoint's type is WRITER or ANY with the writer in it, {use_writer}."
                )),
            None => META.finding(
                Status::Pass,
                &secret.arn,
                format!("the secret's host {host} is not a reader endpoint"),
            ),
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        (with_host(READER), crate::fixtures::lab())
    }
}

#[cfg(test)]
const READER: &str = "orders.cluster-ro-c9akciq32x.us-east-1.rds.amazonaws.com";

#[cfg(test)]
fn with_host(host: &str) -> Facts {
    let mut facts = crate::fixtures::lab();
    if let crate::Fact::Present(connection) = &mut facts.connection {
        connection.host = Some(host.to_string());
    }
    if let crate::Fact::Present(db) = &mut facts.database {
        db.kind = DatabaseKind::Cluster;
        db.identifier = "orders".to_string();
        db.endpoint = Some("orders.cluster-c9akciq32x.us-east-1.rds.amazonaws.com".to_string());
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::evaluate_alone;

    #[test]
    fn a_reader_endpoint_fails_and_names_the_writer() {
        let finding = evaluate_alone(&ReaderEndpoint, &with_host(READER)).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("reader endpoint of orders"),
            "{}",
            finding.message
        );
        assert!(
            finding
                .remediation
                .contains("orders.cluster-c9akciq32x.us-east-1.rds.amazonaws.com"),
            "{}",
            finding.remediation
        );
    }

    #[test]
    fn custom_endpoints_warn_and_writer_and_instance_endpoints_pass() {
        let custom = "orders.cluster-custom-c9akciq32x.us-east-1.rds.amazonaws.com";
        let status = |host: &str| evaluate_alone(&ReaderEndpoint, &with_host(host))[0].status;
        assert_eq!(status(custom), Status::Warn);
        assert_eq!(
            status("orders.cluster-c9akciq32x.us-east-1.rds.amazonaws.com"),
            Status::Pass
        );
        assert_eq!(
            status("orders-1.c9akciq32x.us-east-1.rds.amazonaws.com"),
            Status::Pass
        );
        // Case and a trailing dot do not hide a reader.
        assert_eq!(status(&READER.to_uppercase()), Status::Fail);
    }

    #[test]
    fn no_host_skips() {
        let mut facts = crate::fixtures::lab();
        if let crate::Fact::Present(connection) = &mut facts.connection {
            connection.host = None;
        }
        assert_eq!(
            evaluate_alone(&ReaderEndpoint, &facts)[0].status,
            Status::Skipped
        );
    }
}
