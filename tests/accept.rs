//! Accepted findings on the bundled example, offline: suppressions with a
//! reason and an expiry, a baseline that fails only on new failures, and no
//! config but the one asked for in a test (the harness runs each command in
//! a directory of its own).

use crate::common;

use common::{describe, example, exit_code, run_doctor, stdout_of};
use serde_json::Value;

fn diagnose(snapshot: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["diagnose", "--snapshot", snapshot, "--output", "json"];
    args.extend_from_slice(extra);
    let out = run_doctor(&args);
    let report: Value = serde_json::from_str(&stdout_of(&out))
        .unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    (
        exit_code(&out),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn failing_unaccepted(report: &Value) -> Vec<String> {
    common::findings(report)
        .iter()
        .filter(|f| f["status"] == "fail" && f.get("suppressed").is_none())
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn suppressions_accept_findings_until_they_expire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, report, _) = diagnose(&example(), &[]);
    assert_eq!(code, 1);
    let failing = failing_unaccepted(&report);
    assert!(failing.contains(&"NET002".to_string()), "{failing:?}");

    let config = dir.path().join("accept.toml");
    let mut text = String::new();
    for check in &failing {
        text.push_str(&format!("[[ignore]]\ncheck = \"{check}\"\nreason = \"known in the lab\"\nexpires = \"2999-12-31\"\n\n"));
    }
    std::fs::write(&config, &text).unwrap();
    let (code, report, _) = diagnose(&example(), &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{report:#}");
    assert!(failing_unaccepted(&report).is_empty());
    let net002 = common::finding_with(&report, "NET002", "fail");
    assert_eq!(net002["suppressed"], "known in the lab");

    std::fs::write(&config, text.replace("2999-12-31", "2001-01-01")).unwrap();
    let (code, _, stderr) = diagnose(&example(), &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("expired on 2001-01-01"), "{stderr}");

    std::fs::write(&config, "[[ignore]]\ncheck = \"NET002\"\nreason = \"\"\n").unwrap();
    let out = run_doctor(&[
        "diagnose",
        "--snapshot",
        &example(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(
        exit_code(&out),
        2,
        "a suppression without a reason is refused: {}",
        describe(&out)
    );
}

#[test]
fn a_baseline_fails_only_on_new_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = dir.path().join("baseline.json");
    let baseline_arg = baseline.to_str().unwrap();
    let (code, _, stderr) = diagnose(&example(), &["--baseline", baseline_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("written"), "{stderr}");
    let (code, _, _) = diagnose(&example(), &["--baseline", baseline_arg]);
    assert_eq!(code, 0);

    // A new failure: the Lambda loses SECRETS_MANAGER_ENDPOINT.
    let mut facts: Value =
        serde_json::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap();
    facts["lambda"]["present"]["secrets_manager_endpoint"] = Value::Null;
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, facts.to_string()).unwrap();
    let (code, report, _) = diagnose(changed.to_str().unwrap(), &["--baseline", baseline_arg]);
    assert_eq!(code, 1);
    assert_eq!(failing_unaccepted(&report), ["LAM004"]);
}

#[test]
fn junit_skips_accepted_failures_with_their_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("accept.toml");
    std::fs::write(
        &config,
        "[[ignore]]\ncheck = \"NET002\"\nreason = \"moving the Lambda on Friday\"\n",
    )
    .unwrap();
    let args = |config: Option<&str>| {
        let mut args = vec!["diagnose", "--snapshot", &example(), "--output", "junit"]
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>();
        if let Some(config) = config {
            args.extend(["--config".to_string(), config.to_string()]);
        }
        args
    };
    let junit = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        stdout_of(&run_doctor(&args))
    };
    let testcase = |xml: &str, check: &str| -> String {
        let start = xml
            .find(&format!("name=\"{check} "))
            .expect("the check's test case");
        xml[start..start + xml[start..].find("</testcase>").unwrap()].to_string()
    };
    let before = junit(args(None));
    let after = junit(args(Some(config.to_str().unwrap())));
    assert!(testcase(&before, "NET002").contains("<failure"), "{before}");
    let net002 = testcase(&after, "NET002");
    assert!(!net002.contains("<failure"), "{net002}");
    assert!(
        net002.contains("<skipped message=\"accepted (moving the Lambda on Friday): "),
        "{net002}"
    );
    let suite_counts = |xml: &str| -> (usize, usize) {
        let doc = roxmltree::Document::parse(xml).expect("well-formed JUnit");
        let suite = doc.root_element();
        let number = |name| suite.attribute(name).unwrap().parse::<usize>().unwrap();
        (number("failures"), number("skipped"))
    };
    let (failures, skipped) = suite_counts(&before);
    assert_eq!(suite_counts(&after), (failures - 1, skipped + 1));
}

#[test]
fn a_config_where_the_tests_run_changes_no_verdict() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".rotation-doctor.toml"),
        "[[ignore]]\nreason = \"accepts everything\"\n",
    )
    .unwrap();
    let args = ["diagnose", "--snapshot", &example(), "--output", "json"];

    // Run in that directory, the binary reads the config: nothing fails.
    let mut cmd = common::doctor_command(&common::doctor_env(), dir.path());
    cmd.args(args);
    let inside = common::run_with_watchdog(cmd, common::DOCTOR_WATCHDOG);
    let (code, report) = common::parse_report(&inside, "diagnose in the config's directory");
    assert_eq!(code, 0, "{}", describe(&inside));
    assert!(failing_unaccepted(&report).is_empty(), "{report:#}");

    // The harness runs it elsewhere, even from that directory.
    let here = std::env::current_dir().expect("the working directory");
    std::env::set_current_dir(dir.path()).expect("enter the config's directory");
    let out = run_doctor(&args);
    std::env::set_current_dir(here).expect("leave the config's directory");
    let (code, report) = common::parse_report(&out, "diagnose through the harness");
    assert_eq!(code, 1, "{}", describe(&out));
    assert!(failing_unaccepted(&report).contains(&"NET002".to_string()));
}
