//! `rotation-doctor template` on Terraform plans (`terraform show -json`
//! output, written by hand from the JSON format documentation in
//! tests/data/terraform/): the lab case fails NET002 naming the database
//! group's address, its fix passes, SARIF points at the plan file's line
//! with the address as logical location, a data source is unknown with its
//! sentence, a plan that cannot be read is one sentence and exit 2. Run by
//! the real binary; no AWS, no moto.

use crate::common;

use common::template::{json_report, run as run_template, sarif_of};

const LAB: &str = "tests/data/terraform/lab-rotation.json";
const LAB_FIXED: &str = "tests/data/terraform/lab-rotation-fixed.json";
const LAB_DATA_SOURCE: &str = "tests/data/terraform/lab-rotation-data-source.json";

/// The 1-based line of the first `needle` after `after` in `file`.
fn line_after(file: &str, after: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(common::workspace_root().join(file)).unwrap();
    let start = text.find(after).expect("after");
    let index = start + text[start..].find(needle).expect("needle");
    text[..index].matches('\n').count() as u64 + 1
}

fn db_ingress_line(file: &str) -> u64 {
    line_after(file, "\"name\": \"lab-db-sg\"", "\"ingress\": [")
}

#[test]
fn the_lab_plan_fails_net002_naming_the_database_groups_address() {
    let (code, report) = json_report(&[LAB]);
    assert_eq!(code, 1, "{report:#}");
    common::assert_schema(&report);
    let net002 = common::finding_with(&report, "NET002", "fail");
    assert_eq!(net002["resource"], "aws_security_group.db");
    assert_eq!(net002["location"]["file"], LAB);
    assert_eq!(net002["location"]["line"], db_ingress_line(LAB));
    assert_eq!(net002["location"]["logical_id"], "aws_security_group.db");
    assert_eq!(
        report["targets"][0]["secret"]["name"],
        "aws_secretsmanager_secret.lab"
    );
    // The plan shows the database's password in plain text; it is never read.
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("example-only-password"));
}

#[test]
fn the_fixed_lab_plan_passes_its_network_checks() {
    let (code, report) = json_report(&[LAB_FIXED, "--allow-unknown"]);
    assert_eq!(code, 0, "{report:#}");
    for check in ["NET001", "NET002", "NET003"] {
        common::assert_check_status(&report, check, "pass");
    }
    // The secret's value is built from the database's endpoint, unknown
    // at plan time: its keys are unknown, never passed.
    let sec001 = common::finding_with(&report, "SEC001", "unknown");
    assert!(
        sec001["message"]
            .as_str()
            .unwrap()
            .contains("aws_secretsmanager_secret_version.lab"),
        "{sec001:#}"
    );
    assert!(common::findings(&report)
        .iter()
        .all(|f| f["status"] != "fail"));
}

#[test]
fn the_table_names_the_address_and_the_plan_line() {
    let out = run_template(&[LAB, "--output", "table"]);
    common::assert_no_panic(&out);
    assert_eq!(common::exit_code(&out), 1, "{}", common::describe(&out));
    let table = common::stdout_of(&out);
    let line = db_ingress_line(LAB);
    assert!(
        table.contains(&format!("template: {LAB}:{line} (aws_security_group.db)")),
        "{table}"
    );
    assert!(
        table.contains("aws_security_group.db (lab-db-sg)"),
        "{table}"
    );
}

#[test]
fn sarif_points_at_the_plan_line_with_the_address() {
    let (code, sarif) = sarif_of(&[LAB]);
    assert_eq!(code, 1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let net002 = results
        .iter()
        .find(|r| r["ruleId"] == "NET002")
        .unwrap_or_else(|| panic!("no NET002 result: {sarif:#}"));
    let location = &net002["locations"][0];
    assert_eq!(location["physicalLocation"]["artifactLocation"]["uri"], LAB);
    assert_eq!(
        location["physicalLocation"]["region"]["startLine"],
        db_ingress_line(LAB)
    );
    assert_eq!(
        location["logicalLocations"][0]["name"],
        "aws_security_group.db"
    );

    let (code, sarif) = sarif_of(&[LAB_FIXED, "--allow-unknown"]);
    assert_eq!(code, 0);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| r["ruleId"] != "NET002"), "{sarif:#}");
}

#[test]
fn a_data_source_is_unknown_with_its_sentence() {
    let (code, report) = json_report(&[LAB_DATA_SOURCE]);
    assert_eq!(code, 1, "{report:#}");
    for check in ["NET001", "NET002", "NET003"] {
        let finding = common::finding_with(&report, check, "unknown");
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.contains(
                "data.aws_security_group.shared is a data source Terraform reads when the plan is applied"
            ),
            "{check}: {message}"
        );
    }
}

#[test]
fn plans_that_cannot_be_read_are_one_sentence_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().to_string()
    };
    let lab = std::fs::read_to_string(common::workspace_root().join(LAB)).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            write("truncated.json", &lab[..lab.len() / 2]),
            "not valid YAML or JSON",
        ),
        (
            write(
                "future.json",
                &lab.replacen(
                    "\"format_version\": \"1.2\"",
                    "\"format_version\": \"2.0\"",
                    1,
                ),
            ),
            "format_version \"2.0\" is not 1.x",
        ),
        (
            write(
                "state.json",
                r#"{"format_version": "1.0", "terraform_version": "1.9.8", "values": {"root_module": {}}}"#,
            ),
            "is not a plan",
        ),
        (
            write(
                "norotation.json",
                r#"{"format_version": "1.2", "planned_values": {"root_module": {"resources": []}}}"#,
            ),
            "creates no aws_secretsmanager_secret_rotation",
        ),
    ];
    for (path, expected) in &cases {
        let out = run_template(&[path]);
        let line = common::assert_user_error(&out);
        assert!(line.contains(expected), "{path}: {line}");
        assert!(line.contains(path.as_str()), "names the file: {line}");
    }
}
