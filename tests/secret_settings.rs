//! Issue 14's secret causes against moto: the rotation function's password
//! settings against the engine's rules (SEC003), a secret whose AWSCURRENT
//! has no value (SEC001), and AWSPENDING on the AWSCURRENT version after a
//! successful rotation, which is normal (ROT002). Each test has its own
//! server and runs the real binary.

use crate::common;

use common::lab::OrPanic;
use common::lab::{Lab, LabOptions, CANARY, DB_PORT};
use common::{assert_check_status, finding_with, findings, MotoServer};
use serde_json::{json, Value};

const ENDPOINT: &str = "https://secretsmanager.us-east-1.amazonaws.com";

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

async fn quiet_lab(c: &common::Clients) -> Lab {
    Lab::build_with(
        c,
        LabOptions {
            seed_logs: false,
            ..LabOptions::default()
        },
    )
    .await
}

#[tokio::test]
async fn exclude_characters_that_let_at_through_fail_sec003_on_the_mysql_lab() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.set_lambda_environment(
        &c,
        &[
            ("SECRETS_MANAGER_ENDPOINT", ENDPOINT),
            ("EXCLUDE_CHARACTERS", "/\"'\\"),
        ],
    )
    .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "SEC003", "fail");
    assert!(message(f).contains("`@`"), "{f:#}");
    assert!(
        message(f).contains(
            "RDS master passwords may hold any printable ASCII character except /, \" and @"
        ),
        "{f:#}"
    );
    assert!(message(f).contains("RDS for MySQL"), "{f:#}");
    assert!(
        common::evidence(f)
            .iter()
            .any(|e| e == "EXCLUDE_CHARACTERS=/\"'\\"),
        "{f:#}"
    );
}

#[tokio::test]
async fn a_password_length_of_40_for_an_oracle_secret_fails_sec003() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.put_secret_value(
        &c,
        &json!({
            "engine": "oracle",
            "host": lab.db_address,
            "port": DB_PORT,
            "username": "admin",
            "password": CANARY,
            "dbname": "ORCL",
        }),
    )
    .await;
    lab.set_lambda_environment(
        &c,
        &[
            ("SECRETS_MANAGER_ENDPOINT", ENDPOINT),
            ("PASSWORD_LENGTH", "40"),
        ],
    )
    .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "SEC003", "fail");
    assert!(
        message(f).contains("PASSWORD_LENGTH=40 is over RDS for Oracle's limit of 30 characters"),
        "{f:#}"
    );
    assert!(!report.to_string().contains(CANARY), "the password leaked");
}

#[tokio::test]
async fn the_templates_defaults_pass_sec003() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_check_status(&report, "SEC003", "pass");
    let f = finding_with(&report, "SEC003", "pass");
    assert!(
        common::evidence(f)
            .iter()
            .any(|e| e == "PASSWORD_LENGTH not set: the default 32"),
        "{f:#}"
    );
    // Explicit values within the rules pass too.
    lab.set_lambda_environment(
        &c,
        &[
            ("SECRETS_MANAGER_ENDPOINT", ENDPOINT),
            ("EXCLUDE_CHARACTERS", "/@\"'\\:;"),
            ("PASSWORD_LENGTH", "41"),
        ],
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_check_status(&report, "SEC003", "pass");
}

/// Rotation turned on before the value was written. moto answers
/// RotateSecret on a secret without any version with HTTP 500
/// (docs/moto-notes.md), so the state is seeded: AWSCURRENT is moved onto
/// the value-less AWSPENDING version moto's RotateSecret adds, and
/// GetSecretValue(AWSCURRENT) then answers ResourceNotFoundException as AWS
/// does for a secret created without a value.
#[tokio::test]
async fn a_secret_without_an_awscurrent_value_fails_sec001_saying_so() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    let labels =
        c.sm.describe_secret()
            .secret_id(&lab.secret_arn)
            .send()
            .await
            .or_panic("DescribeSecret");
    let version_with = |label: &str| {
        labels
            .version_ids_to_stages()
            .and_then(|m| {
                m.iter()
                    .find(|(_, st)| st.iter().any(|x| x == label))
                    .map(|(v, _)| v.clone())
            })
            .unwrap_or_else(|| panic!("no {label} version"))
    };
    let (current, pending) = (version_with("AWSCURRENT"), version_with("AWSPENDING"));
    c.sm.update_secret_version_stage()
        .secret_id(&lab.secret_arn)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&pending)
        .remove_from_version_id(&current)
        .send()
        .await
        .or_panic("UpdateSecretVersionStage AWSCURRENT");

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "SEC001", "fail");
    assert!(
        message(f).starts_with(
            "AWSCURRENT has no secret value: the secret was created without one, so rotation cannot start"
        ),
        "{f:#}"
    );
    assert!(
        f["remediation"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Put the connection JSON first"),
        "{f:#}"
    );
}

#[tokio::test]
async fn a_value_without_host_fails_sec001_naming_what_writes_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.put_secret_value(
        &c,
        &json!({"engine": "mysql", "username": "admin", "password": CANARY}),
    )
    .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "SEC001", "fail");
    assert!(
        message(f).contains("the value has no `host`: it was put or rotated before the SecretTargetAttachment or the application wrote the database's host"),
        "{f:#}"
    );
}

/// After a successful rotation Secrets Manager leaves AWSPENDING on the
/// version that is now AWSCURRENT: nothing may report that.
#[tokio::test]
async fn awspending_on_the_awscurrent_version_is_not_reported() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.clear_pending(&c).await;
    let described =
        c.sm.describe_secret()
            .secret_id(&lab.secret_arn)
            .send()
            .await
            .or_panic("DescribeSecret");
    let current = described
        .version_ids_to_stages()
        .and_then(|m| {
            m.iter()
                .find(|(_, st)| st.iter().any(|x| x == "AWSCURRENT"))
                .map(|(v, _)| v.clone())
        })
        .expect("an AWSCURRENT version");
    c.sm.update_secret_version_stage()
        .secret_id(&lab.secret_arn)
        .version_stage("AWSPENDING")
        .move_to_version_id(&current)
        .send()
        .await
        .or_panic("UpdateSecretVersionStage AWSPENDING");
    // The labels are as a successful rotation leaves them.
    let stages =
        c.sm.describe_secret()
            .secret_id(&lab.secret_arn)
            .send()
            .await
            .or_panic("DescribeSecret")
            .version_ids_to_stages()
            .and_then(|m| m.get(&current).cloned())
            .unwrap_or_default();
    assert!(
        stages.iter().any(|s| s == "AWSPENDING") && stages.iter().any(|s| s == "AWSCURRENT"),
        "{stages:?}"
    );

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_check_status(&report, "ROT002", "pass");
    let complaining: Vec<&Value> = findings(&report)
        .into_iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "warn")
        .filter(|f| f.to_string().contains("AWSPENDING"))
        .collect();
    assert!(complaining.is_empty(), "{complaining:#?}");
    assert_eq!(code, 0, "{report:#}");
}
