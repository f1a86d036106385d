//! The database a secret names, on moto: a host that matches no database in
//! the region is DB001's failure and the verdict's root cause (DB001), and a
//! multi-user MySQL secret's clone user must fit the engine version's
//! user-name limit (DB003). Each test has its own server.

use crate::common;

use common::lab::{Lab, LabOptions, OrPanic, CANARY, DB_PORT};
use common::{finding_with, parse_report, Clients, MotoServer, REGION};
use serde_json::{json, Value};

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// The secret's connection with `host` and no identifier: the collector
/// finds the database by its endpoint alone.
fn by_host(host: &str) -> Value {
    json!({
        "engine": "mysql", "host": host, "port": DB_PORT,
        "username": "admin", "password": CANARY, "dbname": "app",
    })
}

#[tokio::test]
async fn a_host_that_matches_no_database_is_the_root_cause_naming_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    // The lab's failed rotation (setSecret errors in the logs) with its
    // network repaired: what is left is the stale host.
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    let stale = format!("lab-mysql-old.c9akciq32xyz.{REGION}.rds.amazonaws.com");
    lab.put_secret_value(&c, &by_host(&stale)).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "DB001", "fail");
    assert_eq!(f["resource"], stale.as_str(), "{f:#}");
    assert!(
        message(f).contains(&format!(
            "the secret's host {stale} matches no RDS DB instance, cluster, or cluster endpoint in {REGION} of this account"
        )),
        "{f:#}"
    );
    let remediation = f["remediation"].as_str().unwrap_or_default();
    for cause in [
        "restored",
        "renamed",
        "another region or account",
        "RDS Proxy",
    ] {
        assert!(remediation.contains(cause), "{cause}:\n{f:#}");
    }
    let verdict = &report["targets"][0]["verdict"];
    let roots = verdict["root_causes"].as_array().expect("root causes");
    assert_eq!(roots.len(), 1, "{verdict:#}");
    assert_eq!(roots[0]["check"], "DB001", "{verdict:#}");
    assert!(
        verdict["summary"]
            .as_str()
            .unwrap_or_default()
            .contains(&stale),
        "{verdict:#}"
    );
    let consequences: Vec<&str> = roots[0]["consequences"]
        .as_array()
        .expect("consequences")
        .iter()
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert!(
        consequences.contains(&"LOG001"),
        "the log errors follow from the stale host:\n{verdict:#}"
    );
    // There is no path to judge to a database that is not there: the
    // network checks leave nothing undecided and are no cause of their own.
    let undecided = verdict["undecided"].as_array().cloned().unwrap_or_default();
    for check in ["NET001", "NET002"] {
        assert!(
            roots.iter().all(|r| r["check"] != check) && !undecided.contains(&json!(check)),
            "{check} is neither a root cause nor undecided:\n{verdict:#}"
        );
    }
    let net002 = finding_with(&report, "NET002", "skipped");
    assert!(
        message(net002).contains(&stale) && message(net002).contains("DB001"),
        "{net002:#}"
    );

    // An endpoint of another region is named as such.
    let elsewhere = "lab-mysql.c9akciq32xyz.eu-west-1.rds.amazonaws.com";
    lab.put_secret_value(&c, &by_host(elsewhere)).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB001", "fail");
    assert!(
        message(f).contains(&format!(
            "{elsewhere} is an RDS endpoint in eu-west-1, not in {REGION}"
        )),
        "{f:#}"
    );

    // The lab's own endpoint passes.
    lab.put_secret_value(&c, &by_host(&lab.db_address)).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&report, "DB001", "pass");
}

/// A MySQL instance of `version` in the lab's subnets, and a multi-user
/// secret value for `username` on it; returns the value.
async fn multi_user_on(c: &Clients, lab: &Lab, version: &str, username: &str) -> Value {
    let id = format!("legacy-{}", version.replace('.', "-"));
    let db = c
        .rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .db_instance_class("db.t3.micro")
        .engine("mysql")
        .engine_version(version)
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password(CANARY)
        .port(DB_PORT)
        .db_subnet_group_name(&lab.db_subnet_group)
        .vpc_security_group_ids(&lab.db_sg)
        .send()
        .await
        .or_panic("CreateDBInstance");
    let host = db
        .db_instance()
        .and_then(|d| d.endpoint())
        .and_then(|e| e.address())
        .expect("endpoint")
        .to_string();
    let master =
        c.sm.create_secret()
            .name(format!("{id}/master"))
            .secret_string(
                json!({"engine": "mysql", "host": host, "username": "admin", "password": CANARY})
                    .to_string(),
            )
            .send()
            .await
            .or_panic("CreateSecret master");
    json!({
        "engine": "mysql", "host": host, "port": DB_PORT, "username": username,
        "password": CANARY, "dbname": "app", "masterarn": master.arn().expect("ARN"),
    })
}

#[tokio::test]
async fn a_clone_user_over_the_engines_limit_fails_db003_with_the_numbers() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build_with(
        &c,
        LabOptions {
            seed_logs: false,
            ..LabOptions::default()
        },
    )
    .await;

    let value = multi_user_on(&c, &lab, "5.6.51", "reporting_user").await;
    lab.put_secret_value(&c, &value).await;
    let out = server.doctor(&["diagnose", &lab.secret_name, "--output", "json"]);
    let (code, report) = parse_report(&out, "diagnose a multi-user secret on MySQL 5.6");
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "DB003", "fail");
    let text = message(f);
    assert!(
        text.contains("reporting_user_clone is 20 characters")
            && text.contains("16-character")
            && text.contains("mysql 5.6.51"),
        "{f:#}"
    );
    assert!(
        f["remediation"]
            .as_str()
            .unwrap_or_default()
            .contains("at most 10 characters"),
        "{f:#}"
    );

    // A name whose clone fits 16 characters passes on the same engine.
    let mut short = value.clone();
    short["username"] = json!("app_user");
    lab.put_secret_value(&c, &short).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB003", "pass");
    assert!(
        message(f).contains("app_user_clone (14 characters)"),
        "{f:#}"
    );
}
