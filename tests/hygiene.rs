//! Secret hygiene over every output path: the password, and every secret
//! field other than host, port, engine, dbname and username, never appears
//! in a report (table, JSON, SARIF, JUnit), a snapshot, a fix plan, a
//! journal, undo or rotate output, or an error message, even with
//! `RUST_LOG=trace` and a rotation function that logs the password.

use crate::common;

use common::lab::{Lab, CANARY};
use common::{describe, stderr_of, stdout_of, MotoServer};
use serde_json::json;

/// A second secret field that is not a connection field.
const OTHER_CANARY: &str = "CANARY-api-key-5d1e-MUST-NOT-LEAK";

fn env_with_trace() -> Vec<(String, String)> {
    let mut env = common::doctor_env();
    env.push(("RUST_LOG".into(), "trace".into()));
    env.push(("RUST_BACKTRACE".into(), "1".into()));
    env
}

fn run(server: &MotoServer, args: &[&str]) -> std::process::Output {
    let endpoint = server.endpoint();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--endpoint-url", endpoint.as_str()]);
    common::run_doctor_with_env(&all, &env_with_trace())
}

fn assert_clean(what: &str, text: &str) {
    for canary in [CANARY, OTHER_CANARY] {
        assert!(!text.contains(canary), "{what} leaked {canary}:\n{text}");
    }
}

#[tokio::test]
async fn no_output_path_carries_a_secret_value() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let value = json!({
        "engine": "mysql",
        "host": lab.db_address,
        "port": 3306,
        "username": "admin",
        "password": CANARY,
        "dbname": "app",
        "dbInstanceIdentifier": lab.db_instance_id,
        "apiKey": OTHER_CANARY,
    });
    lab.put_secret_value(&c, &value).await;
    // A custom rotation function that logs what it should not.
    lab.put_log_lines(
        &c,
        "2026/11/28/[$LATEST]leaky",
        &[format!(
            "[ERROR] setSecret: Unable to log into database with previous, current, or pending secret of secret arn {} using {CANARY}",
            lab.secret_arn
        )],
    )
    .await;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (snapshot, plan, journal) = (path("facts.json"), path("plan.json"), path("journal.json"));

    let mut outputs = Vec::new();
    for format in ["table", "json", "sarif", "junit"] {
        outputs.push(run(
            &server,
            &["diagnose", &lab.secret_name, "--output", format],
        ));
    }
    outputs.push(run(
        &server,
        &["diagnose", &lab.secret_name, "--save-snapshot", &snapshot],
    ));
    let dry = run(
        &server,
        &[
            "diagnose",
            &lab.secret_name,
            "--dry-run",
            "--unsafe-fixes",
            "--output",
            "json",
        ],
    );
    std::fs::write(&plan, &dry.stdout).unwrap();
    outputs.push(dry);
    outputs.push(run(
        &server,
        &[
            "diagnose",
            &lab.secret_name,
            "--fix",
            "--yes",
            "--unsafe-fixes",
            "--journal",
            &journal,
            "--output",
            "table",
        ],
    ));
    outputs.push(run(&server, &["undo", &journal, "--yes"]));
    outputs.push(run(
        &server,
        &["rotate", &lab.secret_name, "--wait", "--timeout", "5s"],
    ));
    outputs.push(common::run_doctor_with_env(
        &["diagnose", "--snapshot", &snapshot, "--output", "table"],
        &env_with_trace(),
    ));
    // Error paths: an unknown secret, a bad plan file, a bad endpoint.
    outputs.push(run(&server, &["diagnose", CANARY]).clone());
    outputs.push(common::run_doctor_with_env(
        &["apply", &snapshot, "--yes"],
        &env_with_trace(),
    ));

    for out in &outputs {
        assert_clean("stdout", &stdout_of(out));
        assert_clean(
            "stderr",
            &stderr_of(out).replace(&format!("secret {CANARY}"), "secret <id>"),
        );
        assert!(!stderr_of(out).contains("panicked"), "{}", describe(out));
    }
    for file in [&snapshot, &plan, &journal] {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!text.is_empty(), "{file} is empty");
        assert_clean(file, &text);
    }
    // The masked line is still evidence.
    let json = stdout_of(&outputs[1]);
    assert!(
        json.contains("using ********"),
        "the leaky log line should be kept, masked:\n{json}"
    );
}
