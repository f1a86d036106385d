//! DB004: an RDS Proxy the secret's host names lists the secret.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts, Proxy};
use crate::finding::{Finding, Severity, Status};

pub struct ProxyAuth;

static META: CheckMeta = CheckMeta {
    id: "DB004",
    name: "proxy-auth",
    title: "An RDS Proxy in the secret's host lists the rotated secret",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret, RotationStep::TestSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
When the secret's `host` is an RDS Proxy endpoint (the proxy's own,
`NAME.proxy-ID.REGION.rds.amazonaws.com`, or an additional endpoint,
`NAME.endpoint.proxy-ID…`), that the proxy's authentication list
(`Auth[].SecretArn` of `DescribeDBProxies`) names the rotated secret. A
proxy that does not fails; one that does passes. A host that is no proxy
skips; a proxy that could not be read is unknown.

The database behind the proxy (its target group's instance or cluster,
`DescribeDBProxyTargets`) is what DB001 looks at, and NET002 judges the
path from the Lambda to the proxy: the proxy's subnets and security
groups, on the port of its engine family (3306 MySQL, 5432 PostgreSQL,
1433 SQL Server), whatever port the database uses.

## Why it breaks rotation
The rotation function connects to the `host` in the secret, so with a
proxy there it logs in through the proxy, and the proxy admits a user only
with a secret from its own list: it looks the user up there and logs into
the database with that secret's password. Two things follow:

- The password must still change on the database. `setSecret` sends the
  password change through the proxy to the database behind it, which works
  only when the proxy admits the login; a proxy without the secret refuses
  it, and the step fails (`setSecret: Unable to log into database`).
- A proxy that lists another secret for the same user keeps that secret's
  password after the rotation: the database has the new password, the
  proxy logs in with the old one, and every client connecting through the
  proxy fails until that secret is updated (AWS: "Until you update the
  secret, attempts to connect through the proxy using that secret fail").

A proxy that lists the rotated secret reads its new value, so the proxy and
the database stay in step.

## How to fix it
Either add the secret to the proxy's authentication list (and let the
proxy's IAM role read it) — `aws rds modify-db-proxy --db-proxy-name NAME
--auth` replaces the whole list, so give every existing entry again with
`SecretArn=SECRET_ARN,AuthScheme=SECRETS,IAMAuth=DISABLED` added — or point
the secret's `host` at the database's own endpoint (the instance or
cluster endpoint behind the proxy), so the function changes the password
on the database directly, and have the proxy list this secret rather than
a copy.

`--fix` has no action for this check.

## References
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-secrets-arns.html (a secret per database user the proxy connects as; a secret that does not match the database's password fails until updated)
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-new-db-user.html#rds-proxy-changing-db-user-password (a changed password must be put in the proxy's secret)
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-modifying-proxy.html (adding secrets to a proxy)
- https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBProxy.html
"#,
};

impl Check for ProxyAuth {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let proxy = match &facts.proxy {
            Fact::Present(proxy) => proxy,
            Fact::Unavailable(u) => {
                return vec![META
                    .finding(
                        Status::Unknown,
                        &secret.arn,
                        format!("the RDS Proxy the secret's host names could not be read: {u}"),
                    )
                    .with_evidence([u.to_string()])]
            }
            Fact::NotApplicable(_) => {
                return vec![META.finding(
                    Status::Skipped,
                    &secret.arn,
                    "the secret's host is no RDS Proxy endpoint",
                )]
            }
        };
        let resource = proxy.arn.clone().unwrap_or_else(|| proxy.name.clone());
        let user = facts
            .connection
            .present()
            .and_then(|c| c.username.as_deref())
            .map_or_else(|| "the secret's user".to_string(), |u| format!("user {u}"));
        let behind = behind(facts);
        let evidence = evidence(proxy);
        if proxy.admits_secret(&secret.arn) {
            return vec![META
                .finding(
                    Status::Pass,
                    resource,
                    format!(
                        "RDS Proxy {} lists the secret in its authentication: it admits {user} with the rotated password, and setSecret's password change reaches {behind} through it",
                        proxy.name
                    ),
                )
                .with_evidence(evidence)];
        }
        let iam = if proxy.default_auth_scheme.as_deref() == Some("IAM_AUTH") {
            " (it authenticates with end-to-end IAM, which takes no password)"
        } else {
            ""
        };
        vec![META
            .finding(
                Status::Fail,
                resource,
                format!(
                    "the secret's host is RDS Proxy {}, whose authentication list does not name the secret{iam}: \
                     the proxy refuses the rotation function's login as {user}, so the password on {behind} cannot change; \
                     and if the proxy lists another secret for {user}, it keeps the old password after a rotation and clients through the proxy fail",
                    proxy.name
                ),
            )
            .with_remediation(format!(
                "Add the secret to the proxy's authentication list, giving every existing entry again (--auth replaces the list), and let the proxy's role read it: \
                 aws rds modify-db-proxy --db-proxy-name {} --auth ...existing entries... SecretArn={},AuthScheme=SECRETS,IAMAuth=DISABLED\n\
                 Or point host in the secret at the database's own endpoint, so the function changes the password there directly.",
                proxy.name, secret.arn
            ))
            .with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let passing = crate::fixtures::lab_behind_proxy();
        let mut failing = passing.clone();
        crate::fixtures::get(&mut failing.proxy).auth_secret_arns =
            vec!["arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/app-XyZ123".to_string()];
        (failing, passing)
    }
}

/// The database behind the proxy, as the findings name it.
fn behind(facts: &Facts) -> String {
    facts.database.present().map_or_else(
        || "the database behind it".to_string(),
        |db| format!("database {}", db.identifier),
    )
}

fn evidence(proxy: &Proxy) -> Vec<String> {
    let mut lines = vec![format!(
        "proxy {} endpoint {}{}",
        proxy.name,
        proxy.endpoint,
        proxy
            .endpoint_name
            .as_ref()
            .map(|name| format!(" (additional endpoint {name})"))
            .unwrap_or_default()
    )];
    if proxy.auth_secret_arns.is_empty() {
        lines.push("its authentication list names no secret".to_string());
    }
    for arn in &proxy.auth_secret_arns {
        lines.push(format!("authentication secret: {arn}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ErrorKind, Unavailable};
    use crate::fixtures::{get, SECRET_ARN};
    use crate::rules::evaluate_alone;

    fn first(facts: &Facts) -> Finding {
        evaluate_alone(&ProxyAuth, facts).remove(0)
    }

    #[test]
    fn a_proxy_without_the_secret_fails_and_one_with_it_passes() {
        let (failing, passing) = ProxyAuth.fixtures();
        let f = first(&failing);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("RDS Proxy lab-proxy"), "{}", f.message);
        assert!(f.message.contains("user "), "{}", f.message);
        assert!(
            f.remediation.contains("modify-db-proxy"),
            "{}",
            f.remediation
        );
        assert!(f.remediation.contains(SECRET_ARN), "{}", f.remediation);
        let p = first(&passing);
        assert_eq!(p.status, Status::Pass, "{}", p.message);
        assert!(p.message.contains("database lab-db"), "{}", p.message);
    }

    #[test]
    fn an_auth_entry_without_the_random_suffix_names_the_secret() {
        let mut facts = crate::fixtures::lab_behind_proxy();
        get(&mut facts.proxy).auth_secret_arns =
            vec!["arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/mysql".to_string()];
        assert_eq!(first(&facts).status, Status::Pass);
        // Another secret of the same name (recreated) is not this one.
        get(&mut facts.proxy).auth_secret_arns = vec![
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/mysql-ZzZzZz".to_string(),
        ];
        assert_eq!(first(&facts).status, Status::Fail);
    }

    #[test]
    fn no_proxy_skips_and_an_unread_proxy_is_unknown() {
        assert_eq!(first(&crate::fixtures::lab_moved()).status, Status::Skipped);
        let mut facts = crate::fixtures::lab_behind_proxy();
        facts.proxy = Fact::Unavailable(Unavailable {
            call: "rds:DescribeDBProxies".into(),
            kind: ErrorKind::AccessDenied,
            message: "denied".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown);
        assert!(f.message.contains("rds:DescribeDBProxies"), "{}", f.message);
    }

    #[test]
    fn snapshots_keep_the_proxy_and_older_ones_load_without_it() {
        let facts = crate::fixtures::lab_behind_proxy();
        let json = serde_json::to_value(&facts).expect("serialize");
        let back: Facts = serde_json::from_value(json.clone()).expect("deserialize");
        assert_eq!(back.proxy, facts.proxy);
        let mut older = serde_json::to_value(crate::fixtures::lab_moved()).expect("serialize");
        assert!(older.get("proxy").is_none(), "no proxy, no field");
        older
            .as_object_mut()
            .expect("object")
            .remove("master_secret");
        let back: Facts = serde_json::from_value(older).expect("an older snapshot loads");
        assert!(matches!(back.proxy, Fact::NotApplicable(_)));
        assert_eq!(first(&back).status, Status::Skipped);
    }

    #[test]
    fn the_paths_lead_to_the_proxy_on_its_engine_port() {
        let facts = crate::fixtures::lab_behind_proxy();
        let paths = crate::net::database_paths(&facts).expect("paths");
        assert!(!paths.is_empty());
        for path in &paths {
            assert_eq!(path.port, 3306);
            assert_eq!(path.verdict, crate::net::Verdict::Reachable, "{path:?}");
            assert!(path.hops.iter().any(|hop| hop.resource == "sg-proxy"));
        }
        // The database's group admitting the Lambda does not help when the
        // proxy's group does not.
        let mut blocked = facts.clone();
        if let Fact::Present(groups) = &mut blocked.network.security_groups {
            for group in groups.iter_mut().filter(|g| g.id == "sg-proxy") {
                group.ingress.clear();
            }
        }
        let paths = crate::net::database_paths(&blocked).expect("paths");
        assert!(paths
            .iter()
            .all(|path| path.verdict == crate::net::Verdict::Blocked
                && path.blocked_by.as_deref() == Some("sg-proxy")));
    }
}
