//! `rotation-doctor template cdk.out`: the cloud assemblies the real AWS CDK
//! synthesized (tests/data/cdk/app), diagnosed by the real binary: the
//! database group that does not admit the rotation function located at
//! its line of the stack's template in every report, the assembly's stack
//! names and environments with the command line over them, and assemblies
//! that cannot be read as one sentence and exit 2.

use std::path::Path;

use serde_json::{json, Value};

use crate::common;

use common::template::{json_report, line_of, run as run_template, sarif_of};

const NOT_ADMITTED: &str = "tests/data/cdk/not-admitted.out";
/// The stack of the `Prod` stage, in the nested assembly CDK writes for it.
const NOT_ADMITTED_TEMPLATE: &str =
    "tests/data/cdk/not-admitted.out/assembly-Prod/ProdDatabase5B3A507C.template.json";
const ADMITTED: &str = "tests/data/cdk/admitted.out";

const DATABASE_GROUP: &str = "DatabaseSecurityGroup7319C0F6";
const ROTATION_GROUP: &str = "DatabaseRotationSingleUserSecurityGroupAC6E0E73";

/// The 1-based line of `"ID": {` in a template CDK wrote.
fn line_of_resource(file: &str, logical_id: &str) -> u64 {
    line_of(file, &format!("\"{logical_id}\": {{"))
}

#[test]
fn the_not_admitted_assembly_fails_net002_at_the_database_group_in_its_stack_template() {
    let line = line_of_resource(NOT_ADMITTED_TEMPLATE, DATABASE_GROUP);
    // With or without the slash a shell's completion adds.
    for assembly in [NOT_ADMITTED, &format!("{NOT_ADMITTED}/")] {
        let (code, report) = json_report(&[assembly]);
        assert_eq!(code, 1, "{report:#}");
        common::assert_schema(&report);
        let net002 = common::finding_with(&report, "NET002", "fail");
        assert_eq!(net002["resource"], DATABASE_GROUP);
        assert!(
            net002["message"].as_str().unwrap().contains(ROTATION_GROUP),
            "{net002:#}"
        );
        assert_eq!(
            net002["location"],
            json!({"file": NOT_ADMITTED_TEMPLATE, "line": line, "logical_id": DATABASE_GROUP})
        );
        // The verdict names the database group, not something downstream.
        let target = &report["targets"][0];
        let cause = &target["verdict"]["root_causes"][0];
        assert_eq!(cause["check"], "NET002", "{target:#}");
        assert_eq!(cause["resource"], DATABASE_GROUP);
        assert_eq!(
            target["verdict"]["root_causes"].as_array().unwrap().len(),
            1,
            "{target:#}"
        );
        // The stage's environment: aws://123456789012/eu-west-1.
        assert_eq!(target["account"], "123456789012");
        assert_eq!(target["region"], "eu-west-1");
        // Everything else the template shows passes.
        for finding in common::findings(&report) {
            let status = finding["status"].as_str().unwrap();
            assert!(
                finding["check"] == "NET002" || status == "pass" || status == "skipped",
                "{finding:#}"
            );
        }
    }
}

#[test]
fn the_table_and_sarif_point_at_the_stack_template_line() {
    let line = line_of_resource(NOT_ADMITTED_TEMPLATE, DATABASE_GROUP);
    let out = run_template(&[NOT_ADMITTED, "--output", "table"]);
    common::assert_no_panic(&out);
    assert_eq!(common::exit_code(&out), 1, "{}", common::describe(&out));
    let table = common::stdout_of(&out);
    assert!(
        table.contains(&format!(
            "template: {NOT_ADMITTED_TEMPLATE}:{line} ({DATABASE_GROUP})"
        )),
        "{table}"
    );
    // The group is named by its construct: CDK's logical ids are hashes.
    assert!(
        table.contains(&format!(
            "{DATABASE_GROUP} (Prod/Database/DatabaseSecurityGroup)"
        )),
        "{table}"
    );

    let (code, sarif) = sarif_of(&[NOT_ADMITTED]);
    assert_eq!(code, 1);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{sarif:#}");
    assert_eq!(results[0]["ruleId"], "NET002");
    let location = &results[0]["locations"][0];
    assert_eq!(
        location["physicalLocation"]["artifactLocation"]["uri"],
        NOT_ADMITTED_TEMPLATE
    );
    assert_eq!(location["physicalLocation"]["region"]["startLine"], line);
    assert_eq!(location["logicalLocations"][0]["name"], DATABASE_GROUP);
}

#[test]
fn the_exit_code_follows_fail_on() {
    // NET002 is critical: every threshold fails it.
    for severity in ["critical", "info"] {
        let out = run_template(&[NOT_ADMITTED, "--fail-on", severity, "--output", "json"]);
        common::assert_no_panic(&out);
        assert_eq!(common::exit_code(&out), 1, "{}", common::describe(&out));
    }
    let out = run_template(&[ADMITTED, "--fail-on", "info", "--output", "json"]);
    assert_eq!(common::exit_code(&out), 0, "{}", common::describe(&out));
}

#[test]
fn the_admitted_assembly_passes() {
    let (code, report) = json_report(&[ADMITTED]);
    assert_eq!(code, 0, "{report:#}");
    for check in ["NET001", "NET002", "NET003", "LAM004", "SEC001", "TPL003"] {
        common::assert_check_status(&report, check, "pass");
    }
    for finding in common::findings(&report) {
        let status = finding["status"].as_str().unwrap();
        assert!(status == "pass" || status == "skipped", "{finding:#}");
    }
    // An environment-agnostic stack (aws://unknown-account/unknown-region):
    // the defaults.
    let target = &report["targets"][0];
    assert_eq!(target["region"], "us-east-1");
    assert_eq!(target["account"], "ACCOUNT_ID");
}

#[test]
fn the_command_line_names_the_region_and_account_over_the_stacks_environment() {
    let (code, report) = json_report(&[
        NOT_ADMITTED,
        "--region",
        "ap-southeast-2",
        "--parameter",
        "AWS::AccountId=111122223333",
    ]);
    assert_eq!(code, 1, "{report:#}");
    let target = &report["targets"][0];
    assert_eq!(target["region"], "ap-southeast-2");
    assert_eq!(target["account"], "111122223333");
    // The rotation app's endpoint: CDK wrote eu-west-1 into it as text, so
    // it is the wrong region now, as it would be deployed there.
    common::assert_check_status(&report, "LAM004", "fail");
}

/// A cloud assembly in `dir` with `manifest` and the fixed lab template,
/// whose rotation function is named after the stack, under `files`.
fn assembly(dir: &Path, manifest: &Value, files: &[&str]) -> String {
    let lab = std::fs::read_to_string(
        common::workspace_root().join("tests/data/templates/lab-hosted-rotation-fixed.yaml"),
    )
    .unwrap();
    let from = "RotationLambdaName: lab-mysql-rotation";
    assert!(lab.contains(from));
    let lab = lab.replace(from, "RotationLambdaName: !Sub ${AWS::StackName}-rotation");
    for file in files {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &lab).unwrap();
    }
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    dir.to_string_lossy().to_string()
}

fn stack(template_file: &str, environment: &str, stack_name: Option<&str>) -> Value {
    let mut properties = json!({"templateFile": template_file});
    if let Some(name) = stack_name {
        properties["stackName"] = json!(name);
    }
    json!({"type": "aws:cloudformation:stack", "environment": environment, "properties": properties})
}

#[test]
fn every_stack_is_named_and_placed_as_its_manifest_says() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Topics.template.json"),
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#,
    )
    .unwrap();
    let manifest = json!({"version": "55.0.0", "artifacts": {
        "Billing": stack("Billing.template.yaml", "aws://111111111111/eu-central-1", Some("billing-db")),
        "Topics": stack("Topics.template.json", "aws://unknown-account/unknown-region", None),
        "Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}},
        "assembly-Staging": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Staging", "displayName": "Staging"}},
    }});
    let nested = json!({"version": "55.0.0", "artifacts": {
        "StagingOrders": stack("StagingOrders.template.yaml", "aws://unknown-account/unknown-region", None),
    }});
    let root = assembly(dir.path(), &manifest, &["Billing.template.yaml"]);
    assembly(
        &dir.path().join("assembly-Staging"),
        &nested,
        &["StagingOrders.template.yaml"],
    );
    let (code, report) = json_report(&[&root]);
    assert_eq!(code, 0, "{report:#}");
    // The stack without a rotation is passed over.
    let targets = report["targets"].as_array().unwrap();
    let placed: Vec<(String, String, String)> = targets
        .iter()
        .map(|t| {
            let lambda = common::findings(&json!({"targets": [t]}))
                .into_iter()
                .find(|f| f["check"] == "LAM005")
                .unwrap()["resource"]
                .as_str()
                .unwrap()
                .to_string();
            (
                t["account"].as_str().unwrap().to_string(),
                t["region"].as_str().unwrap().to_string(),
                lambda,
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            (
                "111111111111".to_string(),
                "eu-central-1".to_string(),
                "arn:aws:lambda:eu-central-1:111111111111:function:billing-db-rotation".to_string()
            ),
            (
                "ACCOUNT_ID".to_string(),
                "us-east-1".to_string(),
                "arn:aws:lambda:us-east-1:ACCOUNT_ID:function:StagingOrders-rotation".to_string()
            ),
        ]
    );

    // --parameter AWS::StackName names every stack.
    let (_, report) = json_report(&[&root, "--parameter", "AWS::StackName=given"]);
    let lambdas: Vec<&str> = common::findings_of(&report, "LAM005")
        .iter()
        .map(|f| f["resource"].as_str().unwrap())
        .collect();
    assert!(
        lambdas.len() == 2
            && lambdas
                .iter()
                .all(|l| l.ends_with(":function:given-rotation")),
        "{lambdas:?}"
    );
}

#[test]
fn an_assembly_that_cannot_be_read_is_one_sentence_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let case = |name: &str, manifest: Option<&[u8]>| {
        let path = root.join(name);
        std::fs::create_dir_all(&path).unwrap();
        if let Some(bytes) = manifest {
            std::fs::write(path.join("manifest.json"), bytes).unwrap();
        }
        path.to_string_lossy().to_string()
    };
    let stack_at = |file: &str| {
        json!({"artifacts": {"S": stack(file, "aws://unknown-account/unknown-region", None)}})
            .to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            case("empty", None),
            "is a directory without manifest.json, so not a CDK cloud assembly",
        ),
        (case("truncated", Some(b"{\"version\": ")), "not JSON"),
        (
            case("noartifacts", Some(b"{\"version\": \"55.0.0\"}")),
            "has no \"artifacts\" object",
        ),
        (
            case("missing", Some(stack_at("S.template.json").as_bytes())),
            "stack S's template",
        ),
        (
            case("outside", Some(stack_at("../S.template.json").as_bytes())),
            "is not a path inside the assembly",
        ),
        (
            case(
                "nested",
                Some(br#"{"artifacts": {"assembly-P": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-P"}}}}"#),
            ),
            "nested assembly assembly-P has no",
        ),
        (
            case(
                "badenv",
                Some(
                    json!({"artifacts": {"S": stack("S.template.json", "aws://1/x", None)}})
                        .to_string()
                        .as_bytes(),
                ),
            ),
            "not a region name",
        ),
        (
            case("nostacks", Some(b"{\"artifacts\": {}}")),
            "the cloud assembly lists no stack",
        ),
    ];
    // The template the environment case names, so that only its region is
    // wrong.
    std::fs::write(
        root.join("badenv/S.template.json"),
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#,
    )
    .unwrap();
    for (path, expected) in &cases {
        let out = run_template(&[path]);
        let line = common::assert_user_error(&out);
        assert!(line.contains(expected), "{path}: {line}");
        assert!(line.contains(path.as_str()), "names the directory: {line}");
    }

    // Stacks that rotate nothing: an assembly is refused as a template is.
    let norotation = case("norotation", Some(stack_at("S.template.json").as_bytes()));
    std::fs::write(
        root.join("norotation/S.template.json"),
        r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#,
    )
    .unwrap();
    let line = common::assert_user_error(&run_template(&[&norotation]));
    assert!(
        line.contains("none of its stacks (S) has an AWS::SecretsManager::RotationSchedule"),
        "{line}"
    );
}
