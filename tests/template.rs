//! `rotation-doctor template`: the lab's rotation as a CloudFormation
//! template, diagnosed before deployment by the real binary (no AWS, no
//! moto): every output format on the failing and the fixed template, SARIF
//! at the line to change, unresolved references as `unknown` with what to
//! pass, and bad templates as one sentence and exit 2.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common;

use common::template::{json_report, line_of, run as run_template, sarif_of};

fn template(name: &str) -> PathBuf {
    common::workspace_root()
        .join("tests/data/templates")
        .join(name)
}

const LAB: &str = "tests/data/templates/lab-hosted-rotation.yaml";
const LAB_FIXED: &str = "tests/data/templates/lab-hosted-rotation-fixed.yaml";

#[test]
fn the_lab_template_fails_net002_at_the_database_groups_ingress() {
    let (code, report) = json_report(&[LAB]);
    assert_eq!(code, 1, "{report:#}");
    common::assert_schema(&report);
    let net002 = common::finding_with(&report, "NET002", "fail");
    assert_eq!(net002["resource"], "DbSecurityGroup");
    let ingress = line_of(LAB, "SecurityGroupIngress:");
    assert_eq!(net002["location"]["file"], LAB);
    assert_eq!(net002["location"]["line"], ingress);
    assert_eq!(net002["location"]["logical_id"], "DbSecurityGroup");
    assert_eq!(report["targets"][0]["secret"]["name"], "LabSecret");
    // What needs a deployed account is skipped, saying why.
    for check in ["ROT002", "LAM001", "DB001", "LOG001", "TRL001"] {
        let finding = common::finding_with(&report, check, "skipped");
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.starts_with("not deployed yet"),
            "{check}: {message}"
        );
    }
    // No fix plan: a template is changed by hand.
    assert!(common::findings(&report)
        .iter()
        .all(|f| f.get("fixes").is_none()));
}

#[test]
fn the_fixed_lab_template_passes() {
    let (code, report) = json_report(&[LAB_FIXED]);
    assert_eq!(code, 0, "{report:#}");
    common::assert_check_status(&report, "NET002", "pass");
    common::assert_check_status(&report, "NET003", "pass");
    for finding in common::findings(&report) {
        let status = finding["status"].as_str().unwrap();
        assert!(status == "pass" || status == "skipped", "{finding:#}");
    }
}

#[test]
fn the_table_names_the_logical_id_and_the_line() {
    let out = run_template(&[LAB, "--output", "table"]);
    common::assert_no_panic(&out);
    assert_eq!(common::exit_code(&out), 1, "{}", common::describe(&out));
    let table = common::stdout_of(&out);
    let ingress = line_of(LAB, "SecurityGroupIngress:");
    assert!(
        table.contains(&format!("template: {LAB}:{ingress} (DbSecurityGroup)")),
        "{table}"
    );
    assert!(table.contains("DbSecurityGroup (lab-db-sg)"), "{table}");
    assert!(
        !table.contains("--fix"),
        "a template has no --fix:\n{table}"
    );

    let out = run_template(&[LAB_FIXED, "--output", "table"]);
    assert_eq!(common::exit_code(&out), 0, "{}", common::describe(&out));
    assert!(common::stdout_of(&out).contains("nothing stops rotation"));
}

#[test]
fn sarif_points_at_the_template_line_with_the_logical_id() {
    let (code, sarif) = sarif_of(&[LAB]);
    assert_eq!(code, 1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{sarif:#}");
    let result = &results[0];
    assert_eq!(result["ruleId"], "NET002");
    let location = &result["locations"][0];
    assert_eq!(location["physicalLocation"]["artifactLocation"]["uri"], LAB);
    assert_eq!(
        location["physicalLocation"]["region"]["startLine"],
        line_of(LAB, "SecurityGroupIngress:")
    );
    assert_eq!(location["logicalLocations"][0]["name"], "DbSecurityGroup");
    // The fingerprint is stable from run to run.
    let again = sarif_of_lab();
    assert_eq!(result["partialFingerprints"], again["partialFingerprints"]);

    let (code, sarif) = sarif_of(&[LAB_FIXED]);
    assert_eq!(code, 0);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
}

fn sarif_of_lab() -> Value {
    sarif_of(&[LAB]).1["runs"][0]["results"][0].clone()
}

#[test]
fn junit_lists_the_failure() {
    let out = run_template(&[LAB, "--output", "junit"]);
    common::assert_no_panic(&out);
    assert_eq!(common::exit_code(&out), 1);
    let xml = common::stdout_of(&out);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML");
    let failed: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| n.children().any(|c| c.has_tag_name("failure")))
        .filter_map(|n| n.attribute("name").map(str::to_string))
        .collect();
    assert!(failed.iter().any(|n| n.contains("NET002")), "{xml}");
}

/// The lab with one replacement, written to a temporary file.
fn lab_variant(dir: &Path, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(template("lab-hosted-rotation-fixed.yaml")).unwrap();
    assert!(text.contains(from), "the lab has no {from:?}");
    let path = dir.join("variant.yaml");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    path.to_string_lossy().to_string()
}

const LAMBDA_GROUPS: &str = "        VpcSecurityGroupIds: !Ref LambdaSecurityGroup";

#[test]
fn unresolved_references_are_unknown_with_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "        VpcSecurityGroupIds: !ImportValue shared-rotation-sg",
            "Fn::ImportValue shared-rotation-sg reads another stack's export",
        ),
        (
            "        VpcSecurityGroupIds: sg-0123456789abcdef0",
            "security group sg-0123456789abcdef0 is not created by the template",
        ),
    ];
    for (replacement, sentence) in &cases {
        let path = lab_variant(dir.path(), LAMBDA_GROUPS, replacement);
        let (code, report) = json_report(&[&path]);
        assert_eq!(code, 1, "unknown is not a pass: {report:#}");
        let net002 = common::finding_with(&report, "NET002", "unknown");
        let message = net002["message"].as_str().unwrap();
        assert!(message.contains(sentence), "{message}");
        assert_eq!(
            common::statuses_of(&report, "NET002"),
            ["unknown"],
            "{report:#}"
        );
        // --allow-unknown lets such a template through.
        let out = run_template(&[&path, "--allow-unknown", "--output", "json"]);
        assert_eq!(common::exit_code(&out), 0, "{}", common::describe(&out));
    }

    // A parameter without a value, then with one.
    let text = std::fs::read_to_string(template("lab-hosted-rotation-fixed.yaml"))
        .unwrap()
        .replace(
            "Parameters:\n",
            "Parameters:\n  RotationSubnets:\n    Type: List<AWS::EC2::Subnet::Id>\n",
        )
        .replace(
            "        VpcSubnetIds: !Join [\",\", [!Ref LambdaSubnetA, !Ref LambdaSubnetB]]",
            "        VpcSubnetIds: !Join [\",\", !Ref RotationSubnets]",
        );
    let path = dir.path().join("parameter.yaml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy().to_string();
    let (code, report) = json_report(&[&path]);
    assert_eq!(code, 1);
    let net001 = common::finding_with(&report, "NET001", "unknown");
    assert!(
        net001["message"]
            .as_str()
            .unwrap()
            .contains("pass --parameter RotationSubnets=VALUE"),
        "{net001:#}"
    );
    let (code, report) = json_report(&[
        &path,
        "--parameter",
        "RotationSubnets=LambdaSubnetA,LambdaSubnetB",
    ]);
    assert_eq!(code, 0, "{report:#}");
    common::assert_check_status(&report, "NET002", "pass");
}

#[test]
fn bad_templates_are_one_sentence_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (write("malformed.yaml", b"Resources:\n  A: [1\n"), "not valid YAML or JSON"),
        (write("malformed.json", b"{\"Resources\": {\"A\": }"), "not valid YAML or JSON"),
        (
            write(
                "unknown.yaml",
                b"Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      Name: !Length [1]\n",
            ),
            ":5: Fn::Length is not an intrinsic function",
        ),
        (
            write(
                "missing.yaml",
                b"Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      Name: !GetAtt Gone.Arn\n",
            ),
            ":5: A refers to Gone",
        ),
        (
            write(
                "cycle.yaml",
                b"Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {Name: !Ref B}\n  B:\n    Type: AWS::SNS::Topic\n    Properties: {Name: !Ref A}\n",
            ),
            "circular dependency between resources",
        ),
        (
            write(
                "depends.yaml",
                b"Resources:\n  A:\n    Type: AWS::SNS::Topic\n    DependsOn: B\n  B:\n    Type: AWS::SNS::Topic\n    DependsOn: A\n",
            ),
            "circular dependency between resources",
        ),
        (
            write("norotation.yaml", b"Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"),
            "has no AWS::SecretsManager::RotationSchedule",
        ),
        (write("binary.yaml", b"\xff\xfe\x00"), "is not UTF-8 text"),
        (write("alias.yaml", b"a: &x [1]\nb: *x\n"), "aliases"),
    ];
    for (path, expected) in &cases {
        let out = run_template(&[path]);
        let line = common::assert_user_error(&out);
        assert!(line.contains(expected), "{path}: {line}");
        assert!(line.contains(path.as_str()), "names the file: {line}");
    }
    let out = run_template(&[&template("nope.yaml").to_string_lossy()]);
    assert!(common::assert_user_error(&out).contains("cannot read"));
    let out = run_template(&[LAB, "--parameter", "Nope=1"]);
    assert!(common::assert_user_error(&out).contains("no parameter Nope"));
    let out = run_template(&[LAB, "--parameter", "novalue"]);
    common::assert_no_panic(&out);
    assert_eq!(common::exit_code(&out), 2);
    let out = run_template(&[LAB, "--region", "mars"]);
    assert!(common::assert_user_error(&out).contains("not a region name"));
}

#[test]
fn several_templates_are_one_report() {
    let (code, report) = json_report(&[LAB, LAB_FIXED]);
    assert_eq!(code, 1);
    assert_eq!(report["targets"].as_array().unwrap().len(), 2);
}
