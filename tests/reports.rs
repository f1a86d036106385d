//! The machine formats on the bundled example: SARIF that validates against
//! the official 2.1.0 schema, JUnit that is well-formed XML, both agreeing
//! with the JSON findings.

use crate::common;

use common::{example, exit_code, run_doctor, stdout_of};
use serde_json::Value;

fn run(format: &str) -> (i32, String) {
    let out = run_doctor(&["diagnose", "--snapshot", &example(), "--output", format]);
    (exit_code(&out), stdout_of(&out))
}

/// Checks with a `fail` (and, with `warn`, a `warn`) finding in the JSON.
fn checks_with(statuses: &[&str]) -> Vec<String> {
    let (_, json) = run("json");
    let report: Value = serde_json::from_str(&json).unwrap();
    common::findings(&report)
        .iter()
        .filter(|f| statuses.iter().any(|s| f["status"] == *s))
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let (code, text) = run("sarif");
    assert_eq!(code, 1);
    let sarif: Value = serde_json::from_str(&text).expect("SARIF is JSON");
    common::assert_valid_sarif(&sarif);

    let first_run = &sarif["runs"][0];
    let rules: Vec<&str> = first_run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let results = first_run["results"].as_array().unwrap();
    let mut result_rules: Vec<String> = results
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_string())
        .collect();
    let mut expected = checks_with(&["fail", "warn"]);
    result_rules.sort();
    expected.sort();
    assert_eq!(result_rules, expected);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index], result["ruleId"].as_str().unwrap());
        assert!(result["partialFingerprints"]["rotationDoctorFinding/v1"]
            .as_str()
            .is_some_and(|f| f.len() == 16));
        assert!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("aws/123456789012/us-east-1/secretsmanager/")
        );
    }
    // The same input gives the same fingerprints: code scanning tracks them.
    let (_, again) = run("sarif");
    assert_eq!(text, again);
}

#[test]
fn junit_is_well_formed_and_counts_the_failures() {
    let (code, text) = run("junit");
    assert_eq!(code, 1);
    let document = roxmltree::Document::parse(&text).expect("JUnit is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let failures: usize = root.attribute("failures").unwrap().parse().unwrap();
    let fails = checks_with(&["fail"]).len();
    assert_eq!(failures, fails);
    let cases = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(cases.to_string(), root.attribute("tests").unwrap());
}
