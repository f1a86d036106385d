//! `merge`: the JSON reports of separate runs (a CI matrix, one job per
//! account) become one report in any format, with the same exit code rule.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;

use common::{
    assert_valid_sarif, describe, exit_code, parse_report, run_doctor, stderr_of, stdout_of,
};

fn example() -> PathBuf {
    PathBuf::from(common::example())
}

/// The example, as if recorded in another account under another name.
fn other_account_snapshot(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(example()).unwrap();
    let text = text
        .replace("123456789012", "210987654321")
        .replace("lab/mysql/admin", "orders/mysql/admin");
    let path = dir.join("other.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// `diagnose --snapshot SNAPSHOT --output json` written to `dir/NAME`.
fn report_of(snapshot: &Path, dir: &Path, name: &str) -> PathBuf {
    let out = run_doctor(&[
        "diagnose",
        "--snapshot",
        snapshot.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let path = dir.join(name);
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// How many findings a diagnosis of the example has: one per check that
/// reports on it, as `diagnose` prints them.
fn findings_of_the_example() -> usize {
    let out = run_doctor(&[
        "diagnose",
        "--snapshot",
        &common::example(),
        "--output",
        "json",
    ]);
    let (_, report) = parse_report(&out, "diagnose --snapshot example");
    common::findings(&report).len()
}

fn secret_names(report: &Value) -> Vec<String> {
    report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["secret"]["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn reports_of_two_accounts_become_one() {
    let dir = tempfile::tempdir().unwrap();
    let first = report_of(&example(), dir.path(), "first.json");
    let second = report_of(
        &other_account_snapshot(dir.path()),
        dir.path(),
        "second.json",
    );
    let args = |format: &str| {
        vec![
            "merge".to_string(),
            first.display().to_string(),
            second.display().to_string(),
            "--output".to_string(),
            format.to_string(),
        ]
    };
    let run = |format: &str| {
        let args = args(format);
        run_doctor(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let json = run("json");
    let (code, merged) = parse_report(&json, "merge --output json");
    assert_eq!(code, 1, "the failures still fail the run");
    assert_eq!(
        secret_names(&merged),
        ["lab/mysql/admin", "orders/mysql/admin"]
    );
    for target in merged["targets"].as_array().unwrap() {
        assert_eq!(target["verdict"]["root_causes"][0]["check"], "NET002");
        assert_eq!(
            target["findings"].as_array().unwrap().len(),
            findings_of_the_example(),
            "every check's finding is kept"
        );
    }
    assert_eq!(stderr_of(&json), "");

    let sarif = run("sarif");
    let sarif: Value = serde_json::from_slice(&sarif.stdout).expect("SARIF is JSON");
    assert_valid_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let accounts: Vec<bool> = ["123456789012", "210987654321"]
        .iter()
        .map(|account| results.iter().any(|r| r.to_string().contains(account)))
        .collect();
    assert_eq!(
        accounts,
        [true, true],
        "both accounts' results are in the SARIF"
    );
    let uris: std::collections::BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert_eq!(
        uris.into_iter().collect::<Vec<_>>(),
        [
            "aws/123456789012/us-east-1/secretsmanager/lab/mysql/admin",
            "aws/210987654321/us-east-1/secretsmanager/orders/mysql/admin",
        ]
    );
    let junit = stdout_of(&run("junit"));
    for suite in [
        "name=\"123456789012/us-east-1/lab/mysql/admin\"",
        "name=\"210987654321/us-east-1/orders/mysql/admin\"",
    ] {
        assert!(junit.contains(suite), "{suite} in\n{junit}");
    }

    let table = stdout_of(&run("table"));
    assert_eq!(
        table.matches("Verdict: rotation fails because").count(),
        2,
        "{table}"
    );
}

#[test]
fn a_secret_in_two_reports_is_kept_once_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let first = report_of(&example(), dir.path(), "first.json");
    let again = report_of(&example(), dir.path(), "again.json");
    let out = run_doctor(&[
        "merge",
        first.to_str().unwrap(),
        again.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let (_, merged) = parse_report(&out, "merge of one secret twice");
    assert_eq!(secret_names(&merged), ["lab/mysql/admin"]);
    assert!(
        stderr_of(&out).contains("lab/mysql/admin-pxMaCi is in several reports"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_report_without_a_verdict_gets_one() {
    // Version 1 reports written before the verdict existed have none.
    let dir = tempfile::tempdir().unwrap();
    let first = report_of(&example(), dir.path(), "first.json");
    let mut report: Value =
        serde_json::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    for target in report["targets"].as_array_mut().unwrap() {
        target.as_object_mut().unwrap().remove("verdict");
        target.as_object_mut().unwrap().remove("names");
    }
    std::fs::write(&first, report.to_string()).unwrap();
    let out = run_doctor(&["merge", first.to_str().unwrap(), "--output", "json"]);
    let (_, merged) = parse_report(&out, "merge of an older report");
    assert_eq!(
        merged["targets"][0]["verdict"]["root_causes"][0]["check"],
        "NET002"
    );
}

#[test]
fn what_is_not_a_report_is_one_sentence_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let snapshot = example();
    let newer = write("newer.json", r#"{"schema_version": 9, "targets": []}"#);
    let cases: [(PathBuf, &str); 5] = [
        (dir.path().join("missing.json"), "cannot read report"),
        (write("text.json", "not json"), "is not JSON"),
        (snapshot, "is not a rotation-doctor JSON report"),
        (newer, "has schema version 9"),
        (
            write("no-version.json", r#"{"targets": []}"#),
            "has no schema_version",
        ),
    ];
    for (path, expected) in cases {
        let out = run_doctor(&["merge", path.to_str().unwrap()]);
        let message = common::assert_user_error(&out);
        assert!(message.contains(expected), "{expected}: {}", describe(&out));
    }
    let none = run_doctor(&["merge"]);
    assert_eq!(exit_code(&none), 2, "{}", describe(&none));
}
