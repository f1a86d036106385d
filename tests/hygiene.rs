//! Secret hygiene over every output path: the password, and every secret
//! field other than host, port, engine, dbname and username, never appears
//! in a report (table, JSON, SARIF, JUnit), a snapshot, a fix plan, a
//! journal, undo or rotate output, or an error message, even with a rotation
//! function that logs the password. Every command must end with the exit
//! code it is expected to: one that failed early would print nothing and
//! pass a leak check.

use crate::common;

use common::lab::{Lab, CANARY};
use common::{describe, exit_code, stderr_of, stdout_of, MotoServer};
use serde_json::json;
use std::process::Output;

/// A second secret field that is not a connection field.
const OTHER_CANARY: &str = "CANARY-api-key-5d1e-MUST-NOT-LEAK";

/// Runs `args` (against `server` when given) and asserts the exit code.
fn run(server: Option<&MotoServer>, args: &[&str], code: i32) -> Output {
    let out = match server {
        Some(server) => server.doctor(args),
        None => common::run_doctor(args),
    };
    assert_eq!(exit_code(&out), code, "{args:?}:\n{}", describe(&out));
    out
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

    let moto = Some(&server);
    let mut outputs = Vec::new();
    for format in ["table", "json", "sarif", "junit"] {
        let args = ["diagnose", &lab.secret_name, "--output", format];
        outputs.push(run(moto, &args, 1));
    }
    let args = ["diagnose", &lab.secret_name, "--save-snapshot", &snapshot];
    outputs.push(run(moto, &args, 1));
    let args = [
        "diagnose",
        &lab.secret_name,
        "--dry-run",
        "--unsafe-fixes",
        "--output",
        "json",
    ];
    let dry = run(moto, &args, 1);
    std::fs::write(&plan, &dry.stdout).unwrap();
    outputs.push(dry);
    let args = [
        "diagnose",
        &lab.secret_name,
        "--fix",
        "--yes",
        "--unsafe-fixes",
        "--journal",
        &journal,
        "--output",
        "table",
    ];
    outputs.push(run(moto, &args, 1));
    outputs.push(run(moto, &["undo", &journal, "--yes"], 0));
    // moto promotes the new version itself (see tests/fix.rs): it succeeds.
    let args = ["rotate", &lab.secret_name, "--wait", "--timeout", "5s"];
    outputs.push(run(moto, &args, 0));
    let args = ["diagnose", "--snapshot", &snapshot, "--output", "table"];
    outputs.push(run(None, &args, 1));
    // Error paths: an unknown secret, a bad plan file, a bad endpoint.
    outputs.push(run(moto, &["diagnose", CANARY], 2));
    outputs.push(run(None, &["apply", &snapshot, "--yes"], 2));
    let nowhere = format!("http://127.0.0.1:{}", common::free_port());
    let args = ["diagnose", &lab.secret_name, "--endpoint-url", &nowhere];
    outputs.push(run(None, &args, 2));

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
