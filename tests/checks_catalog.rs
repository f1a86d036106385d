//! The catalog checks of issue 4 (rotation state, the Lambda, its invoke
//! permission, the secret's JSON, the database, the logs) against moto: each
//! test builds the lab, bends it into one failure, and runs the real binary.
//! Each test has its own server.

use crate::common;

use common::lab::{Lab, LabOptions, CANARY, DB_PORT};
use common::{
    assert_check_status, assert_schema, describe, finding_with, findings, parse_report, stderr_of,
    stdout_of, MotoServer,
};
use serde_json::{json, Value};

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// The lab without its seeded log lines, so LOG001 is decided by what a
/// test writes.
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

/// The lab's connection JSON with `changes` applied (`null` removes a key).
fn connection(lab: &Lab, changes: Value) -> Value {
    let mut value = json!({
        "engine": "mysql",
        "host": lab.db_address,
        "port": DB_PORT,
        "username": "admin",
        "password": CANARY,
        "dbname": "app",
        "dbInstanceIdentifier": lab.db_instance_id,
    });
    if let (Some(target), Some(changes)) = (value.as_object_mut(), changes.as_object()) {
        for (key, v) in changes {
            if v.is_null() {
                target.remove(key);
            } else {
                target.insert(key.clone(), v.clone());
            }
        }
    }
    value
}

#[tokio::test]
async fn stuck_pending_version_fails_rot002_naming_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let described =
        c.sm.describe_secret()
            .secret_id(&lab.secret_arn)
            .send()
            .await
            .expect("DescribeSecret");
    let pending = described
        .version_ids_to_stages()
        .and_then(|m| {
            m.iter()
                .find(|(_, st)| {
                    st.iter().any(|s| s == "AWSPENDING") && !st.iter().any(|s| s == "AWSCURRENT")
                })
                .map(|(v, _)| v.clone())
        })
        .expect("the lab leaves a stuck AWSPENDING");

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "ROT002", "fail");
    let text = message(f);
    assert!(
        text.contains(&pending),
        "ROT002 should name {pending}:\n{f:#}"
    );
    assert!(text.contains("A previous rotation isn't complete"), "{f:#}");
    // ListSecretVersionIds gave the version's creation date.
    assert!(text.contains(", created 20"), "{f:#}");
    assert!(
        f.to_string().contains("remove_pending_label"),
        "ROT002 should offer to remove the label:\n{f:#}"
    );
}

#[tokio::test]
async fn missing_invoke_permission_fails_lam006() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.remove_invoke_permission(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "LAM006", "fail");
    assert!(message(f).contains(&lab.function_name), "{f:#}");
    assert!(
        message(f).contains("Secrets Manager cannot invoke the specified Lambda function"),
        "{f:#}"
    );
    assert!(f.to_string().contains("add_invoke_permission"), "{f:#}");
}

#[tokio::test]
async fn missing_host_key_fails_sec001_without_leaking_the_password() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.put_secret_value(&c, &connection(&lab, json!({"host": null})))
        .await;

    let out = server.doctor(&["diagnose", &lab.secret_name, "--output", "json"]);
    assert!(
        !stdout_of(&out).contains(CANARY) && !stderr_of(&out).contains(CANARY),
        "the password leaked:\n{}",
        describe(&out)
    );
    let (code, report) = parse_report(&out, "diagnose with a missing host");
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "SEC001", "fail");
    assert!(message(f).contains("the value has no `host`"), "{f:#}");
    let table = server.doctor(&["diagnose", &lab.secret_name, "--output", "table"]);
    assert!(
        !stdout_of(&table).contains(CANARY) && !stderr_of(&table).contains(CANARY),
        "the password leaked:\n{}",
        describe(&table)
    );
}

#[tokio::test]
async fn postgres_engine_for_a_mysql_instance_fails_sec001() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.put_secret_value(&c, &connection(&lab, json!({"engine": "postgres"})))
        .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "SEC001", "fail");
    let text = message(f);
    assert!(
        text.contains("engine is postgres") && text.contains("mysql"),
        "{f:#}"
    );
    assert!(text.contains(&lab.db_instance_id), "{f:#}");
}

#[tokio::test]
async fn missing_endpoint_variable_fails_lam004() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.set_lambda_environment(&c, &[("PASSWORD_LENGTH", "32")])
        .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "LAM004", "fail");
    assert!(message(f).contains("SECRETS_MANAGER_ENDPOINT"), "{f:#}");
    assert!(message(f).contains("KeyError"), "{f:#}");
    assert!(
        f.to_string()
            .contains("https://secretsmanager.us-east-1.amazonaws.com"),
        "LAM004 should propose the regional URL:\n{f:#}"
    );
}

#[tokio::test]
async fn silent_timeout_logs_name_secrets_manager_unreachable() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    let r = "5b1c0d9e-0000-4000-8000-00000000a001";
    lab.put_log_lines(
        &c,
        "2026/01/01/[$LATEST]timeout",
        &[
            format!("START RequestId: {r} Version: $LATEST"),
            format!("[INFO]\t2026-01-01T00:00:00.150Z\t{r}\tFound credentials in environment variables."),
            format!("2026-01-01T00:00:30.030Z {r} Task timed out after 30.03 seconds"),
            format!("END RequestId: {r}"),
            format!("REPORT RequestId: {r}\tDuration: 30030.00 ms\tBilled Duration: 30000 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB"),
        ],
    )
    .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "LOG001", "fail");
    assert!(
        message(f).contains("could not reach the Secrets Manager endpoint"),
        "{f:#}"
    );
    assert!(f.to_string().contains("30.03 seconds"), "{f:#}");
}

#[tokio::test]
async fn import_module_error_logs_name_the_module() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    let r = "5b1c0d9e-0000-4000-8000-00000000a002";
    lab.put_log_lines(
        &c,
        "2026/01/01/[$LATEST]import",
        &[
            format!("START RequestId: {r} Version: $LATEST"),
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'pymysql'\nTraceback (most recent call last):".to_string(),
            format!("END RequestId: {r}"),
        ],
    )
    .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "LOG001", "fail");
    assert!(message(f).contains("cannot be loaded"), "{f:#}");
    assert!(
        common::evidence(f).iter().any(|e| e.contains("[pymysql]")),
        "LOG001 should name the module pymysql:\n{f:#}"
    );
}

#[tokio::test]
async fn a_sar_function_whose_runtime_moved_fails_lam007_naming_the_version_to_redeploy() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.mark_as_serverless_app(
        &c,
        "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSMySQLRotationSingleUser",
        "1.1.37",
    )
    .await;
    let r = "5b1c0d9e-0000-4000-8000-00000000a003";
    lab.put_log_lines(
        &c,
        "2026/01/01/[$LATEST]runtime",
        &[
            format!("START RequestId: {r} Version: $LATEST"),
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named '_cffi_backend'\nTraceback (most recent call last):".to_string(),
            "INIT_REPORT Init Duration: 144.81 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError".to_string(),
            format!("END RequestId: {r}"),
            format!("REPORT RequestId: {r}\tDuration: 150.00 ms\tBilled Duration: 150 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: error\tError Type: Runtime.ImportModuleError"),
        ],
    )
    .await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_eq!(code, 1, "{report:#}");
    // Lambda's report lines repeat the error type: counted once.
    let log = finding_with(&report, "LOG001", "fail");
    assert!(
        message(log)
            .contains("cannot be loaded (runtime and bundled dependencies do not match) (1×)"),
        "{log:#}"
    );
    let f = finding_with(&report, "LAM007", "fail");
    assert!(
        message(f).contains("runs python3.12")
            && message(f).contains("'_cffi_backend'")
            && message(f).contains("version 1.1.37 of the Serverless Application Repository app SecretsManagerRDSMySQLRotationSingleUser"),
        "{f:#}"
    );
    assert!(
        f["remediation"]
            .as_str()
            .is_some_and(|r| r.starts_with("Redeploy version 1.1.37 of the Serverless Application Repository app SecretsManagerRDSMySQLRotationSingleUser (or a later version of it built for python3.12)")),
        "{f:#}"
    );
    let evidence = common::evidence(f);
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("for RDS MySQL using single user")),
        "the description is evidence:\n{f:#}"
    );
    // Only the tags that say where the function came from are kept.
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("serverlessrepo:semanticVersion=1.1.37"))
            && !evidence.iter().any(|e| e.contains("payments")),
        "{f:#}"
    );
    // LOG001's import error is this finding's consequence in the verdict.
    let verdict = &report["targets"][0]["verdict"];
    let root = verdict["root_causes"]
        .as_array()
        .and_then(|roots| roots.iter().find(|r| r["check"] == "LAM007"))
        .unwrap_or_else(|| panic!("LAM007 is no root cause:\n{verdict:#}"));
    assert!(
        root["consequences"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["check"] == "LOG001")),
        "{root:#}"
    );

    // The table says it too.
    let table = server.doctor(&["diagnose", &lab.secret_name, "--output", "table"]);
    let text = stdout_of(&table);
    assert!(
        text.contains("LAM007") && text.contains("Redeploy version 1.1.37"),
        "{}",
        describe(&table)
    );
}

#[tokio::test]
async fn deleted_rotation_lambda_fails_lam001_naming_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.delete_function(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "LAM001", "fail");
    assert!(message(f).contains(&lab.function_name), "{f:#}");
    assert!(message(f).contains("does not exist"), "{f:#}");
}

#[tokio::test]
async fn healthy_secret_has_no_failure_and_exits_0() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.clear_pending(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    let failing: Vec<&Value> = findings(&report)
        .into_iter()
        .filter(|f| f["status"] == "fail")
        .collect();
    assert!(
        failing.is_empty(),
        "a healthy secret has failures:\n{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
    for check in [
        "ROT001", "ROT002", "ROT003", "LAM001", "LAM002", "LAM003", "LAM004", "LAM005", "SEC001",
        "SEC003", "DB001",
    ] {
        assert_check_status(&report, check, "pass");
    }
    assert_check_status(&report, "MGD001", "skipped");
    // The lab's AddPermission names no SourceAccount: allowed, with a warning.
    assert_check_status(&report, "LAM006", "warn");
}

#[tokio::test]
async fn an_aurora_reader_endpoint_as_host_fails_db002_naming_the_writer() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = quiet_lab(&c).await;
    let cluster = c
        .rds
        .create_db_cluster()
        .db_cluster_identifier("orders")
        .engine("aurora-mysql")
        .master_username("admin")
        .master_user_password(CANARY)
        .db_subnet_group_name(&lab.db_subnet_group)
        .vpc_security_group_ids(&lab.db_sg)
        .send()
        .await
        .expect("CreateDBCluster");
    let cluster = cluster.db_cluster().expect("cluster");
    let reader = cluster
        .reader_endpoint()
        .expect("reader endpoint")
        .to_string();
    let writer = cluster.endpoint().expect("endpoint").to_string();
    assert!(
        reader.contains(".cluster-ro-"),
        "moto names the reader {reader}"
    );
    lab.put_secret_value(
        &c,
        &connection(
            &lab,
            json!({"engine": "mysql", "host": reader, "dbInstanceIdentifier": null}),
        ),
    )
    .await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB002", "fail");
    assert!(message(f).contains("reader endpoint of orders"), "{f:#}");
    assert!(
        f["remediation"]
            .as_str()
            .unwrap_or_default()
            .contains(&writer),
        "{f:#}"
    );

    // The writer endpoint passes.
    lab.put_secret_value(
        &c,
        &connection(
            &lab,
            json!({"engine": "mysql", "host": writer, "dbInstanceIdentifier": null}),
        ),
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_check_status(&report, "DB002", "pass");
}
