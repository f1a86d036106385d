//! Issue 2's acceptance test, the lab case, and the cases around it: the real
//! binary against a moto server seeded through the SDK. Each test has its
//! own server.

use crate::common;

use common::lab::{Lab, LabOptions, CANARY, SET_SECRET_ERROR};
use common::{
    assert_check_status, assert_no_panic, assert_schema, describe, evidence, exit_code,
    finding_with, findings, findings_of, parse_report, run_doctor, statuses_of, stderr_of,
    stdout_of, MotoServer,
};
use serde_json::Value;
use std::time::Duration;

const LOG_ERROR_SNIPPET: &str = "setSecret: Unable to log into database";

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_lowercase()
}

/// The NET002 failure of the lab case, asserted in full.
fn assert_lab_net002(report: &Value, lab: &Lab) {
    let f = finding_with(report, "NET002", "fail");
    let message = f["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&lab.db_sg),
        "NET002 message should name the DB security group {}:\n{f:#}",
        lab.db_sg
    );
    assert!(
        message.contains("3306"),
        "NET002 message should name port 3306:\n{f:#}"
    );
    let m = message.to_lowercase();
    assert!(
        m.contains("admit") && m.contains("not"),
        "NET002 message should say the Lambda's group is not admitted:\n{f:#}"
    );
    let remediation = lower(&f["remediation"]);
    assert!(
        remediation.contains("subnet")
            && (remediation.contains("security group") || remediation.contains(&lab.lambda_sg)),
        "NET002 remediation should say to move the Lambda to the Lambda security group and subnets:\n{f:#}"
    );
}

/// A LOG001 finding (fail or warn) quoting the setSecret error.
fn assert_lab_log001(report: &Value) {
    let hits: Vec<&Value> = findings_of(report, "LOG001")
        .into_iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "warn")
        .filter(|f| evidence(f).iter().any(|e| e.contains(LOG_ERROR_SNIPPET)))
        .collect();
    assert!(
        !hits.is_empty(),
        "expected a fail/warn LOG001 finding with the setSecret error as evidence:\n{report:#}"
    );
}

#[tokio::test]
async fn lab_case_diagnosis_then_fix() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_eq!(code, 1, "the lab case must exit 1:\n{report:#}");
    let target = &report["targets"][0];
    assert_eq!(
        target["secret"]["arn"],
        lab.secret_arn.as_str(),
        "{report:#}"
    );
    assert_eq!(
        target["secret"]["name"],
        lab.secret_name.as_str(),
        "{report:#}"
    );
    assert_lab_net002(&report, &lab);
    assert_lab_log001(&report);
    // The DB and Lambda subnets route 0.0.0.0/0 to the NAT gateway.
    assert_check_status(&report, "NET003", "pass");

    // The fix of issue 2.
    lab.move_lambda_to_lambda_tier(&c).await;
    let (_, after) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&after);
    assert_check_status(&after, "NET002", "pass");
    assert_check_status(&after, "NET003", "pass");
    assert_check_status(&after, "NET001", "pass");
}

#[tokio::test]
async fn lab_case_by_arn_and_with_endpoint_from_env() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_arn, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_lab_net002(&report, &lab);

    // AWS_ENDPOINT_URL instead of --endpoint-url.
    let mut env = common::doctor_env();
    env.push(("AWS_ENDPOINT_URL".into(), server.endpoint()));
    let out =
        common::run_doctor_with_env(&["diagnose", &lab.secret_name, "--output", "json"], &env);
    let (code, report) = parse_report(&out, "diagnose with AWS_ENDPOINT_URL");
    assert_eq!(code, 1, "{report:#}");
    assert_lab_net002(&report, &lab);
}

#[tokio::test]
async fn lab_case_table_output() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;

    let out = server.doctor(&["diagnose", &lab.secret_name, "--output", "table"]);
    assert_no_panic(&out);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let text = stdout_of(&out);
    for needle in ["NET002", "LOG001", lab.db_sg.as_str(), "3306"] {
        assert!(
            text.contains(needle),
            "table lacks {needle}:\n{}",
            describe(&out)
        );
    }
    // NO_COLOR is set and stdout is a pipe: no ANSI escapes.
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in piped output:\n{text}"
    );
}

#[tokio::test]
async fn password_never_leaks() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("lab.snapshot.json");
    let snapshot_arg = snapshot.to_str().expect("utf-8 path");

    let runs = [
        server.doctor(&["diagnose", &lab.secret_name, "--output", "table"]),
        server.doctor(&["diagnose", &lab.secret_name, "--output", "json"]),
        server.doctor(&[
            "diagnose",
            &lab.secret_name,
            "--output",
            "json",
            "--save-snapshot",
            snapshot_arg,
        ]),
    ];
    for out in &runs {
        assert_no_panic(out);
        assert_eq!(exit_code(out), 1, "{}", describe(out));
        assert!(
            !stdout_of(out).contains(CANARY) && !stderr_of(out).contains(CANARY),
            "the password leaked into the output:\n{}",
            describe(out)
        );
    }
    let saved = std::fs::read_to_string(&snapshot).expect("--save-snapshot wrote the file");
    assert!(!saved.is_empty(), "empty snapshot");
    assert!(
        !saved.contains(CANARY),
        "the password leaked into the snapshot"
    );
    // The snapshot is JSON and does hold the connection facts that are safe.
    let parsed: Value = serde_json::from_str(&saved).expect("the snapshot is JSON");
    assert!(
        saved.contains(&lab.db_address),
        "snapshot lacks the DB host:\n{parsed:#}"
    );

    let offline = run_doctor(&["diagnose", "--snapshot", snapshot_arg, "--output", "table"]);
    assert_no_panic(&offline);
    assert!(!stdout_of(&offline).contains(CANARY) && !stderr_of(&offline).contains(CANARY));
}

#[tokio::test]
async fn snapshot_replays_the_same_findings_offline() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("lab.snapshot.json");
    let snapshot_arg = snapshot.to_str().expect("utf-8 path");

    let (live_code, live) =
        server.diagnose_json(&lab.secret_name, &["--save-snapshot", snapshot_arg]);
    assert_eq!(live_code, 1, "{live:#}");
    assert_lab_net002(&live, &lab);

    // No server any more: the replay must not need the network.
    drop(server);
    let out = run_doctor(&["diagnose", "--snapshot", snapshot_arg, "--output", "json"]);
    let (offline_code, offline) = parse_report(&out, "diagnose --snapshot");
    assert_schema(&offline);
    assert_eq!(offline_code, live_code);
    assert_eq!(
        offline["targets"].as_array().map(Vec::len),
        live["targets"].as_array().map(Vec::len)
    );
    assert_eq!(
        offline["targets"][0]["secret"],
        live["targets"][0]["secret"]
    );
    assert_eq!(
        findings(&offline),
        findings(&live),
        "offline findings differ from the live ones"
    );

    let table = run_doctor(&["diagnose", "--snapshot", snapshot_arg, "--output", "table"]);
    assert_no_panic(&table);
    assert_eq!(exit_code(&table), 1, "{}", describe(&table));
    assert!(stdout_of(&table).contains("NET002"), "{}", describe(&table));
}

#[tokio::test]
async fn nat_route_removed_and_no_endpoint_fails_net003() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.remove_nat_route(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_eq!(code, 1, "{report:#}");
    finding_with(&report, "NET003", "fail");
    assert_check_status(&report, "NET002", "pass");
}

#[tokio::test]
async fn internet_gateway_route_alone_fails_net003() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    // A Lambda ENI has no public IP: 0.0.0.0/0 → igw does not reach AWS.
    lab.route_private_to_igw(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    finding_with(&report, "NET003", "fail");
}

#[tokio::test]
async fn interface_endpoint_with_private_dns_passes_net003() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.remove_nat_route(&c).await;
    let (vpce, _) = lab.add_secretsmanager_endpoint(&c).await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_check_status(&report, "NET003", "pass");
    assert_check_status(&report, "NET002", "pass");
    let net003 = findings_of(&report, "NET003");
    let mentioned = net003.iter().any(|f| f.to_string().contains(&vpce));
    assert!(
        mentioned,
        "NET003 should cite the endpoint {vpce}:\n{report:#}"
    );
}

#[tokio::test]
async fn interface_endpoint_not_admitting_the_lambda_fails_net003() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    // The Lambda keeps the DB security group; the endpoint admits 443 only
    // from the Lambda security group. No NAT route either.
    lab.remove_nat_route(&c).await;
    lab.add_secretsmanager_endpoint(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    finding_with(&report, "NET003", "fail");
}

#[tokio::test]
async fn lambda_outside_any_vpc_while_db_is_private_fails_net001() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.remove_lambda_from_vpc(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_schema(&report);
    assert_eq!(code, 1, "{report:#}");
    finding_with(&report, "NET001", "fail");
    // NET002 cannot pass for a Lambda outside the database's VPC.
    assert!(
        !statuses_of(&report, "NET002").iter().any(|s| s == "pass"),
        "{report:#}"
    );
}

#[tokio::test]
async fn fixed_lab_without_errors_is_healthy() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::without_logs(&c).await;
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
        "a healthy lab has failures:\n{report:#}"
    );
    assert_eq!(code, 0, "{report:#}");
    for check in ["NET001", "NET002", "NET003"] {
        assert_check_status(&report, check, "pass");
    }
}

#[tokio::test]
async fn since_window_excludes_older_log_errors() {
    let server = MotoServer::start();
    let c = server.clients().await;
    // The failed rotation happened three hours ago.
    let lab = Lab::build_with(
        &c,
        LabOptions {
            log_age: Duration::from_secs(3 * 3600),
            ..LabOptions::default()
        },
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &["--since", "1h"]);
    assert_schema(&report);
    for f in findings_of(&report, "LOG001") {
        assert!(
            !evidence(f).iter().any(|e| e.contains(SET_SECRET_ERROR)),
            "--since 1h still reports a three-hour-old error:\n{f:#}"
        );
        assert_ne!(f["status"], "fail", "{f:#}");
    }
    // The default window (24h) and an explicit wider one both see it.
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_lab_log001(&report);
    let (_, report) = server.diagnose_json(&lab.secret_name, &["--since", "4h"]);
    assert_lab_log001(&report);
}

#[tokio::test]
async fn fail_on_threshold_decides_the_exit_code() {
    const ORDER: [&str; 5] = ["info", "low", "medium", "high", "critical"];
    let rank = |s: &str| ORDER.iter().position(|x| *x == s).expect("known severity");

    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let worst_fail = findings(&report)
        .into_iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| rank(f["severity"].as_str().unwrap_or("info")))
        .max()
        .expect("the lab case has failures");
    for (i, threshold) in ORDER.iter().enumerate() {
        let (code, _) = server.diagnose_json(&lab.secret_name, &["--fail-on", threshold]);
        let expected = i32::from(worst_fail >= i);
        assert_eq!(
            code, expected,
            "--fail-on {threshold} with worst failing severity {}",
            ORDER[worst_fail]
        );
    }
}
