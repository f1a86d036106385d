//! The bundled example that README's first command runs: a snapshot of the
//! lab case recorded from moto. One test diagnoses it offline as a new user
//! would; the other records the lab again and checks the example still says
//! the same (set ROTATION_DOCTOR_WRITE_EXAMPLE=1 to refresh the file).

mod common;

use std::path::PathBuf;

use common::lab::{Lab, CANARY};
use common::{describe, exit_code, finding_with, parse_report, run_doctor, stdout_of, MotoServer};
use serde_json::Value;

fn example_path() -> PathBuf {
    common::workspace_root().join("examples/lab-failed-rotation.json")
}

/// (check, status) of every finding, in order.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    common::findings(report)
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_string(),
                f["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn bundled_example_diagnoses_the_lab_failure_offline() {
    let example = example_path();
    let path = example.to_str().expect("utf-8 path");
    let out = run_doctor(&["diagnose", "--snapshot", path, "--output", "json"]);
    let (code, report) = parse_report(&out, "diagnose --snapshot example");
    assert_eq!(code, 1, "the example has failures: {report:#}");
    let net002 = finding_with(&report, "NET002", "fail");
    let message = net002["message"].as_str().unwrap_or_default();
    assert!(message.contains("does not admit tcp/3306"), "{message}");
    finding_with(&report, "NET003", "pass");
    let log001 = finding_with(&report, "LOG001", "fail");
    assert!(log001
        .to_string()
        .contains("setSecret: Unable to log into database"));
    assert!(!std::fs::read_to_string(&example).unwrap().contains(CANARY));

    let table = run_doctor(&["diagnose", "--snapshot", path, "--output", "table"]);
    assert_eq!(exit_code(&table), 1, "{}", describe(&table));
    let text = stdout_of(&table);
    for expected in ["NET002", "Network paths", "BLOCKED", "Fix:", "Summary:"] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
}

#[tokio::test]
async fn bundled_example_matches_a_fresh_recording_of_the_lab() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorded = dir.path().join("lab.json");
    let recorded_arg = recorded.to_str().expect("utf-8 path");
    let (code, live) = server.diagnose_json(&lab.secret_name, &["--save-snapshot", recorded_arg]);
    assert_eq!(code, 1, "{live:#}");

    if std::env::var_os("ROTATION_DOCTOR_WRITE_EXAMPLE").is_some() {
        std::fs::copy(&recorded, example_path()).expect("write the example");
    }
    let example = example_path();
    let out = run_doctor(&[
        "diagnose",
        "--snapshot",
        example.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let (_, bundled) = parse_report(&out, "diagnose --snapshot example");
    assert_eq!(
        verdicts(&bundled),
        verdicts(&live),
        "examples/lab-failed-rotation.json no longer matches the lab; refresh it with ROTATION_DOCTOR_WRITE_EXAMPLE=1"
    );
}
