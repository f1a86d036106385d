//! The doctor on an unhealthy account (issue 7): throttling, denied calls
//! and dropped connections injected by a loopback proxy in front of moto.

use crate::common;

use std::time::Duration;

use common::lab::Lab;
use common::proxy::{Fault, Proxy, Rule};
use common::{describe, exit_code, findings, parse_report, run_doctor, MotoServer};
use serde_json::Value;

fn verdicts(report: &Value) -> Vec<(String, String)> {
    findings(report)
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_string(),
                f["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn diagnose_through(
    proxy: &Proxy,
    secret: &str,
    max_attempts: &str,
) -> (i32, Value, std::process::Output) {
    let mut env = common::doctor_env();
    env.retain(|(k, _)| k != "AWS_MAX_ATTEMPTS");
    env.push(("AWS_MAX_ATTEMPTS".into(), max_attempts.into()));
    let endpoint = proxy.endpoint();
    let out = common::run_doctor_with_env(
        &[
            "diagnose",
            secret,
            "--output",
            "json",
            "--stats",
            "--endpoint-url",
            &endpoint,
        ],
        &env,
    );
    let (code, report) = parse_report(&out, "diagnose through the proxy");
    (code, report, out)
}

#[tokio::test]
async fn one_call_in_three_throttled_gives_the_same_findings() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let (direct_code, direct) = server.diagnose_json(&lab.secret_name, &[]);

    let proxy = Proxy::start(
        server.port(),
        Duration::ZERO,
        vec![Rule {
            operation: "*".into(),
            fault: Fault::Throttle,
            every: 3,
        }],
    );
    // Every third call of the run is throttled, whichever it is, so one
    // request's retries may land on the third slot again and again: with
    // concurrent calls each attempt has about one chance in three. Five
    // attempts lost a call about once in sixteen runs under load; ten make
    // it about one in twenty thousand calls.
    let (code, report, out) = diagnose_through(&proxy, &lab.secret_name, "10");
    assert!(proxy.faults() > 0, "the proxy injected nothing");
    // A difference names the findings that differ, with their messages.
    let differing: Vec<&Value> = common::findings(&report)
        .into_iter()
        .filter(|f| {
            common::findings(&direct)
                .iter()
                .any(|d| d["check"] == f["check"] && d["status"] != f["status"])
        })
        .collect();
    assert_eq!(code, direct_code, "{differing:#?}\n{}", describe(&out));
    assert_eq!(verdicts(&report), verdicts(&direct), "{differing:#?}");
    // --stats saw every send the proxy saw, each a call or a retry.
    let stats = &report["stats"];
    let sends = stats["calls"].as_u64().unwrap_or(0) + stats["retries"].as_u64().unwrap_or(0);
    assert_eq!(sends, proxy.total_calls() as u64, "{stats:#}");
    assert!(stats["retries"].as_u64() > Some(0), "{stats:#}");
}

#[tokio::test]
async fn a_denied_describe_security_groups_makes_the_paths_unknown_naming_the_action() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::without_logs(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.clear_pending(&c).await;
    let (healthy_code, healthy) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(healthy_code, 0, "{healthy:#}");
    let proxy = Proxy::start(
        server.port(),
        Duration::ZERO,
        vec![Rule {
            operation: "ec2:DescribeSecurityGroups".into(),
            fault: Fault::AccessDenied,
            every: 1,
        }],
    );
    let (code, report, out) = diagnose_through(&proxy, &lab.secret_name, "1");
    // Undecided reachability is not a pass: the gate fails...
    assert_eq!(code, 1, "{}", describe(&out));
    for check in ["NET002", "NET003"] {
        let finding = common::finding_with(&report, check, "unknown");
        assert!(
            finding["message"]
                .as_str()
                .unwrap()
                .contains("ec2:DescribeSecurityGroups"),
            "{finding:#}"
        );
    }
    // ...unless the caller accepts unknowns.
    let endpoint = proxy.endpoint();
    let relaxed = run_doctor(&[
        "diagnose",
        &lab.secret_name,
        "--output",
        "json",
        "--allow-unknown",
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(exit_code(&relaxed), 0, "{}", describe(&relaxed));
}

#[test]
fn a_dropped_connection_on_every_call_is_one_sentence_and_exit_2() {
    let server = MotoServer::start();
    let proxy = Proxy::start(
        server.port(),
        Duration::ZERO,
        vec![Rule {
            operation: "*".into(),
            fault: Fault::Reset,
            every: 1,
        }],
    );
    let endpoint = proxy.endpoint();
    let out = run_doctor(&["diagnose", "any/secret", "--endpoint-url", &endpoint]);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    common::assert_user_error(&out);
}

#[tokio::test]
async fn a_fault_midway_through_a_fix_leaves_a_true_journal_and_a_rerun_completes() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    // The unsafe plan: move the Lambda (NET002), then clear AWSPENDING (ROT002).
    let proxy = Proxy::start(
        server.port(),
        Duration::ZERO,
        vec![Rule {
            operation: "secretsmanager:UpdateSecretVersionStage".into(),
            fault: Fault::AccessDenied,
            every: 1,
        }],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("first.json");
    let endpoint = proxy.endpoint();
    let first = run_doctor(&[
        "diagnose",
        &lab.secret_name,
        "--fix",
        "--yes",
        "--unsafe-fixes",
        "--output",
        "json",
        "--journal",
        journal.to_str().unwrap(),
        "--endpoint-url",
        &endpoint,
    ]);
    assert_eq!(exit_code(&first), 1, "{}", describe(&first));
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    let outcomes: Vec<(String, String)> = record["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"]["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("update_lambda_vpc".to_string(), "applied".to_string()),
            ("remove_pending_label".to_string(), "failed".to_string()),
        ],
        "{record:#}"
    );
    assert!(record["entries"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("secretsmanager:UpdateSecretVersionStage"));

    // Without the fault, a second run does what is left and only that.
    let second_journal = dir.path().join("second.json");
    let second = server.doctor(&[
        "diagnose",
        &lab.secret_name,
        "--fix",
        "--yes",
        "--unsafe-fixes",
        "--output",
        "json",
        "--journal",
        second_journal.to_str().unwrap(),
    ]);
    let (_, after) = parse_report(&second, "the rerun");
    assert_eq!(common::statuses_of(&after, "ROT002"), ["pass"]);
    assert_eq!(common::statuses_of(&after, "NET002"), ["pass"]);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&second_journal).unwrap()).unwrap();
    let actions: Vec<&str> = record["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["remove_pending_label"]);
}

#[tokio::test]
async fn a_denied_list_tags_leaves_lam007_failing_and_says_the_tags_were_not_read() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::without_logs(&c).await;
    lab.mark_as_serverless_app(
        &c,
        "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSMySQLRotationSingleUser",
        "1.1.37",
    )
    .await;
    lab.put_log_lines(
        &c,
        "2026/01/01/[$LATEST]runtime",
        &["[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named '_cffi_backend'".to_string()],
    )
    .await;
    let proxy = Proxy::start(
        server.port(),
        Duration::ZERO,
        vec![Rule {
            operation: "lambda:ListTags".into(),
            fault: Fault::AccessDenied,
            every: 1,
        }],
    );
    let (code, report, out) = diagnose_through(&proxy, &lab.secret_name, "1");
    assert_eq!(code, 1, "{}", describe(&out));
    let finding = common::finding_with(&report, "LAM007", "fail");
    // Without its tags the finding cannot name the version, and says why.
    assert!(
        !finding["message"].as_str().unwrap().contains("1.1.37"),
        "{finding:#}"
    );
    assert!(
        common::evidence(finding)
            .iter()
            .any(|e| e.starts_with("tags: not read") && e.contains("lambda:ListTags")),
        "{finding:#}"
    );
}
