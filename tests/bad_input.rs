//! Bad input: every error a user can cause ends with one sentence on stderr
//! and exit 2, or, where the secret exists but its wiring is broken, with a
//! finding and exit 1. Never a panic.

use crate::common;

use common::lab::{Lab, LabOptions};
use common::{
    assert_no_panic, assert_user_error, base_env, describe, exit_code, findings, free_port,
    run_doctor, run_doctor_with_env, MotoServer,
};

#[test]
fn unknown_secret_is_one_sentence_and_exit_2() {
    let server = MotoServer::start();
    let out = server.doctor(&["diagnose", "no/such/secret", "--output", "json"]);
    let line = assert_user_error(&out);
    assert!(
        line.contains("no/such/secret"),
        "the error should name the secret:\n{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("\"targets\""));
}

#[test]
fn malformed_snapshot_is_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in [
        ("truncated.json", "{\"schema_version\": 1, \"targets\": ["),
        ("not-json.json", "this is not a snapshot\n"),
        ("empty.json", ""),
        ("wrong-shape.json", "{\"hello\": \"world\"}"),
        ("future.json", "{\"schema_version\": 999}"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).expect("write snapshot");
        let out = run_doctor(&["diagnose", "--snapshot", path.to_str().expect("utf-8 path")]);
        assert_user_error(&out);
    }
}

#[test]
fn missing_snapshot_is_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("does-not-exist.json");
    let path = path.to_str().expect("utf-8 path");
    let out = run_doctor(&["diagnose", "--snapshot", path, "--output", "json"]);
    let line = assert_user_error(&out);
    assert!(line.contains("does-not-exist.json"), "{}", describe(&out));
}

#[test]
fn invalid_output_format_is_exit_2() {
    let out = run_doctor(&["diagnose", "some-secret", "--output", "yaml"]);
    assert_no_panic(&out);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
}

#[test]
fn usage_errors_are_exit_2() {
    for args in [
        vec!["diagnose"],
        vec!["diagnose", "s", "--fail-on", "catastrophic"],
        vec!["diagnose", "s", "--since", "yesterday-ish"],
        vec!["no-such-command"],
    ] {
        let out = run_doctor(&args);
        assert_no_panic(&out);
        assert_eq!(exit_code(&out), 2, "{args:?}:\n{}", describe(&out));
    }
}

#[test]
fn unreachable_endpoint_returns_exit_2() {
    // Nothing listens on a port we just released. The watchdog in
    // run_doctor kills the binary and fails the test if it hangs.
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = run_doctor(&["diagnose", "lab/mysql/admin", "--endpoint-url", &endpoint]);
    assert_user_error(&out);
}

#[test]
fn malformed_endpoint_url_is_exit_2() {
    let out = run_doctor(&["diagnose", "s", "--endpoint-url", "not a url"]);
    assert_no_panic(&out);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
}

#[test]
fn no_credentials_is_exit_2() {
    let server = MotoServer::start();
    let endpoint = server.endpoint();
    let out = run_doctor_with_env(
        &["diagnose", "lab/mysql/admin", "--endpoint-url", &endpoint],
        &base_env(),
    );
    let line = assert_user_error(&out);
    assert!(
        line.to_lowercase().contains("credential"),
        "the error should say credentials are missing:\n{}",
        describe(&out)
    );
}

#[tokio::test]
async fn deleted_rotation_lambda_is_a_finding_not_an_error() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.delete_function(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(
        code, 1,
        "a missing rotation Lambda is a finding:\n{report:#}"
    );
    let failing: Vec<String> = findings(&report)
        .into_iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f.to_string())
        .collect();
    assert!(
        failing.iter().any(|f| f.contains(&lab.function_name)),
        "a failing finding should name the missing function {}:\n{report:#}",
        lab.function_name
    );
}

#[tokio::test]
async fn secret_without_rotation_is_one_sentence_and_exit_2() {
    // Nothing to diagnose: saying so beats a screen of skipped checks.
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build_with(
        &c,
        LabOptions {
            rotate: false,
            seed_logs: false,
            ..LabOptions::default()
        },
    )
    .await;
    let out = server.doctor(&["diagnose", &lab.secret_name, "--output", "json"]);
    let line = assert_user_error(&out);
    assert!(
        line.contains("has no rotation configured") && line.contains(&lab.secret_name),
        "{}",
        describe(&out)
    );
}

#[test]
fn malformed_arns_and_region_names_are_one_sentence_and_exit_2() {
    let server = MotoServer::start();
    for args in [
        vec!["diagnose", "arn:aws:secretsmanager:us-east-1:123:secret:x"],
        vec![
            "diagnose",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ],
        vec![
            "diagnose",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf",
        ],
        vec!["diagnose", "lab/mysql/admin", "--region", "mars"],
        vec!["diagnose", ""],
    ] {
        let out = server.doctor(&args);
        let line = assert_user_error(&out);
        assert!(!line.is_empty(), "{args:?}");
    }
    let out = server.doctor(&[
        "diagnose",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf",
    ]);
    assert!(
        assert_user_error(&out).contains("--region eu-west-1"),
        "{}",
        describe(&out)
    );
}

#[test]
fn unreadable_and_oversized_snapshots_are_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A directory cannot be read as a file.
    let out = run_doctor(&["diagnose", "--snapshot", dir.path().to_str().unwrap()]);
    assert_user_error(&out);
    // Over the size bound: refused before it is parsed.
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(65 * 1024 * 1024).unwrap();
    let out = run_doctor(&["diagnose", "--snapshot", big.to_str().unwrap()]);
    let line = assert_user_error(&out);
    assert!(line.contains("larger than"), "{}", describe(&out));
}
