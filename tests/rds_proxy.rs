//! A secret whose host is an RDS Proxy endpoint, on moto: the collector
//! finds the proxy (DescribeDBProxies) and the database behind it
//! (DescribeDBProxyTargets), NET002 judges the path to the proxy's subnets
//! and security group, and DB004 says whether the proxy lists the secret.

use crate::common;

use aws_sdk_rds::types::{AuthScheme, IamAuthMode, UserAuthConfig};
use common::lab::{admit_group, create_sg, Lab, OrPanic, CANARY, DB_PORT};
use common::{finding_with, Clients, MotoServer};
use serde_json::{json, Value};

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// A security group for a proxy in the lab's VPC; it admits the Lambda's
/// group on the MySQL port when `admit_lambda`.
async fn proxy_group(c: &Clients, lab: &Lab, name: &str, admit_lambda: bool) -> String {
    let sg = create_sg(c, &lab.vpc_id, name, "RDS Proxy").await;
    if admit_lambda {
        admit_group(c, &sg, DB_PORT, &lab.lambda_sg).await;
    }
    sg
}

/// A MySQL proxy in the lab's database subnets in front of the lab's
/// instance, logging in with `secret_arn`; returns its endpoint.
async fn proxy(c: &Clients, lab: &Lab, name: &str, group: &str, secret_arn: &str) -> String {
    let created = c
        .rds
        .create_db_proxy()
        .db_proxy_name(name)
        .engine_family("MYSQL".into())
        .auth(
            UserAuthConfig::builder()
                .auth_scheme(AuthScheme::Secrets)
                .secret_arn(secret_arn)
                .iam_auth(IamAuthMode::Disabled)
                .build(),
        )
        .role_arn(&lab.role_arn)
        .set_vpc_subnet_ids(Some(lab.db_subnets.clone()))
        .vpc_security_group_ids(group)
        .send()
        .await
        .or_panic("CreateDBProxy");
    c.rds
        .register_db_proxy_targets()
        .db_proxy_name(name)
        .db_instance_identifiers(&lab.db_instance_id)
        .send()
        .await
        .or_panic("RegisterDBProxyTargets");
    created
        .db_proxy()
        .and_then(|p| p.endpoint())
        .expect("the proxy's endpoint")
        .to_string()
}

fn through(host: &str) -> Value {
    json!({
        "engine": "mysql", "host": host, "port": DB_PORT,
        "username": "admin", "password": CANARY, "dbname": "app",
    })
}

/// The reported database paths' blockers.
fn database_blockers(report: &Value) -> Vec<String> {
    report["targets"][0]["paths"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|p| p["to"] == "database")
                .map(|p| p["blocked_by"].as_str().unwrap_or("-").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_proxy_that_lists_the_secret_and_admits_the_lambda_passes_and_one_that_does_not_fails() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;

    // The proxy lists the secret, and its group admits the Lambda's.
    let open = proxy_group(&c, &lab, "lab-proxy-sg", true).await;
    let host = proxy(&c, &lab, "lab-proxy", &open, &lab.secret_arn).await;
    lab.put_secret_value(&c, &through(&host)).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let db004 = finding_with(&report, "DB004", "pass");
    assert!(message(db004).contains("RDS Proxy lab-proxy"), "{db004:#}");
    // The database behind the proxy is the one DB001 looks at.
    let db001 = finding_with(&report, "DB001", "pass");
    assert!(message(db001).contains(&lab.db_instance_id), "{db001:#}");
    let net002 = finding_with(&report, "NET002", "pass");
    assert!(
        message(net002).contains("RDS Proxy lab-proxy"),
        "{net002:#}"
    );
    finding_with(&report, "SEC001", "pass");
    let hops: Vec<String> = report["targets"][0]["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter(|p| p["to"] == "database")
        .flat_map(|p| p["hops"].as_array().cloned().unwrap_or_default())
        .filter_map(|h| h["resource"].as_str().map(str::to_string))
        .collect();
    assert!(
        hops.contains(&open),
        "the paths end at the proxy's group: {hops:?}"
    );
    assert!(
        !hops.contains(&lab.db_sg),
        "not at the database's: {hops:?}"
    );

    // Another proxy that lists another secret, whose group admits nobody:
    // the database's own group admitting the Lambda does not help.
    let closed = proxy_group(&c, &lab, "other-proxy-sg", false).await;
    let other_secret =
        c.sm.create_secret()
            .name("lab/mysql/app")
            .secret_string(through(&lab.db_address).to_string())
            .send()
            .await
            .or_panic("CreateSecret");
    let host = proxy(
        &c,
        &lab,
        "other-proxy",
        &closed,
        other_secret.arn().expect("the other secret's ARN"),
    )
    .await;
    lab.put_secret_value(&c, &through(&host)).await;
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let db004 = finding_with(&report, "DB004", "fail");
    assert!(
        message(db004)
            .contains("RDS Proxy other-proxy, whose authentication list does not name the secret"),
        "{db004:#}"
    );
    assert!(
        db004["remediation"]
            .as_str()
            .unwrap_or_default()
            .contains(&lab.secret_arn),
        "{db004:#}"
    );
    finding_with(&report, "NET002", "fail");
    let blockers = database_blockers(&report);
    assert!(
        !blockers.is_empty() && blockers.iter().all(|b| *b == closed),
        "blocked at the proxy's group {closed}: {blockers:?}"
    );
    // The password never reaches a report.
    assert!(!report.to_string().contains(CANARY));
}
