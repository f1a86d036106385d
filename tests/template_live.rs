//! `rotation-doctor template --live` on moto: the lab's database, its
//! security group, VPC and subnets exist in the account; the template
//! (tests/data/templates/live-add-rotation*.yaml) adds only the rotation:
//! a secret attached to the existing instance and a hosted rotation
//! function in a new security group, in subnets given as parameters.

use std::time::Duration;

use crate::common;

use common::lab::{Lab, CANARY};
use common::proxy::{Fault, Proxy, Rule};
use common::template::run as run_template;
use common::{describe, finding_with, MotoServer};
use serde_json::Value;

const ADD_ROTATION: &str = "tests/data/templates/live-add-rotation.yaml";
const ADD_ROTATION_FIXED: &str = "tests/data/templates/live-add-rotation-fixed.yaml";

/// The `--parameter`s that name the lab's resources (the fixed template
/// also takes the database's group, to add its rule to).
fn parameters(file: &str, lab: &Lab, subnets: &str) -> Vec<String> {
    let mut parameters = vec![
        format!("VpcId={}", lab.vpc_id),
        format!("RotationSubnetIds={subnets}"),
        format!("DbInstanceIdentifier={}", lab.db_instance_id),
    ];
    if file == ADD_ROTATION_FIXED {
        parameters.push(format!("DbSecurityGroupId={}", lab.db_sg));
    }
    parameters
        .into_iter()
        .flat_map(|p| ["--parameter".to_string(), p])
        .collect()
}

/// `template FILE PARAMETERS... --output json [extra...]`: the exit code,
/// the report, and the whole output (to look for the password in).
fn template_json(file: &str, lab: &Lab, subnets: &str, extra: &[&str]) -> (i32, Value, String) {
    let parameters = parameters(file, lab, subnets);
    let mut args: Vec<&str> = vec![file];
    args.extend(parameters.iter().map(String::as_str));
    args.extend(["--output", "json", "--region", "us-east-1"]);
    args.extend_from_slice(extra);
    let out = run_template(&args);
    let (code, report) = common::parse_report(&out, "template --output json");
    (code, report, describe(&out))
}

async fn lab(server: &MotoServer) -> Lab {
    Lab::healthy(&server.clients().await).await
}

fn lambda_subnets(lab: &Lab) -> String {
    lab.lambda_subnets.join(",")
}

#[tokio::test]
async fn the_existing_database_group_not_admitting_the_new_group_fails_net002_with_live() {
    let server = MotoServer::start();
    let lab = lab(&server).await;
    let endpoint = server.endpoint();
    let live = ["--live", "--endpoint-url", endpoint.as_str()];
    let (code, report, all) = template_json(ADD_ROTATION, &lab, &lambda_subnets(&lab), &live);
    assert_eq!(code, 1, "{all}");
    common::assert_schema(&report);
    let net002 = finding_with(&report, "NET002", "fail");
    // The account's group, by its real id, blocks the template's new one.
    assert_eq!(net002["resource"], lab.db_sg.as_str(), "{net002:#}");
    assert!(
        net002["message"]
            .as_str()
            .unwrap()
            .contains("RotationSecurityGroup"),
        "{net002:#}"
    );
    // The existing NAT route of the lab's private table reaches Secrets Manager.
    common::assert_check_status(&report, "NET003", "pass");
    assert!(!all.contains(CANARY), "a password leaked:\n{all}");

    // Without --live the same checks are unknown, saying what to pass.
    let (code, report, all) = template_json(ADD_ROTATION, &lab, &lambda_subnets(&lab), &[]);
    // Unknown is not a pass: the gate fails unless --allow-unknown.
    assert_eq!(code, 1, "{all}");
    for check in ["NET001", "NET002", "NET003"] {
        let finding = finding_with(&report, check, "unknown");
        let message = finding["message"].as_str().unwrap();
        assert!(message.contains("pass --live"), "{check}: {message}");
    }
}

#[tokio::test]
async fn the_ingress_rule_the_template_adds_to_the_existing_group_passes_net002() {
    let server = MotoServer::start();
    let lab = lab(&server).await;
    let endpoint = server.endpoint();
    let live = ["--live", "--endpoint-url", endpoint.as_str()];
    let (code, report, all) = template_json(ADD_ROTATION_FIXED, &lab, &lambda_subnets(&lab), &live);
    assert_eq!(code, 0, "{all}");
    for check in ["NET001", "NET002", "NET003"] {
        common::assert_check_status(&report, check, "pass");
    }
    let secret = &report["targets"][0]["secret"];
    assert_eq!(secret["name"], "AppSecret", "{secret:#}");
    assert!(!all.contains(CANARY), "a password leaked:\n{all}");
}

#[tokio::test]
async fn a_subnet_parameter_the_account_does_not_have_is_unknown_naming_it() {
    let server = MotoServer::start();
    let lab = lab(&server).await;
    let endpoint = server.endpoint();
    let live = ["--live", "--endpoint-url", endpoint.as_str()];
    let gone = "subnet-0123456789abcdef0";
    let subnets = format!("{},{gone}", lab.lambda_subnets[0]);
    let (_, report, all) = template_json(ADD_ROTATION_FIXED, &lab, &subnets, &live);
    let finding = finding_with(&report, "NET002", "unknown");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("subnet {gone} does not exist")),
        "{message}\n{all}"
    );
}

#[tokio::test]
async fn a_denied_describe_security_groups_is_unknown_naming_the_call() {
    let server = MotoServer::start();
    let lab = lab(&server).await;
    let proxy = Proxy::start(
        server.port(),
        Duration::ZERO,
        vec![Rule {
            operation: "ec2:DescribeSecurityGroups".into(),
            fault: Fault::AccessDenied,
            every: 1,
        }],
    );
    let endpoint = proxy.endpoint();
    let live = ["--live", "--endpoint-url", endpoint.as_str()];
    let (_, report, all) = template_json(ADD_ROTATION_FIXED, &lab, &lambda_subnets(&lab), &live);
    assert!(proxy.faults() > 0, "the proxy injected nothing");
    let finding = finding_with(&report, "NET002", "unknown");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("ec2:DescribeSecurityGroups"),
        "{message}\n{all}"
    );
}

#[tokio::test]
async fn an_existing_secret_is_read_without_its_password_and_its_database_found() {
    let server = MotoServer::start();
    let lab = lab(&server).await;
    let endpoint = server.endpoint();
    let secret = format!("SecretArn={}", lab.secret_arn);
    let vpc = format!("VpcId={}", lab.vpc_id);
    let subnets = format!("RotationSubnetIds={}", lambda_subnets(&lab));
    let args = [
        "tests/data/templates/live-existing-secret.yaml",
        "--parameter",
        &secret,
        "--parameter",
        &vpc,
        "--parameter",
        &subnets,
        "--live",
        "--endpoint-url",
        &endpoint,
        "--region",
        "us-east-1",
    ];
    for output in ["json", "table", "markdown", "sarif"] {
        let mut all = args.to_vec();
        all.extend(["--output", output]);
        let out = run_template(&all);
        common::assert_no_panic(&out);
        let text = describe(&out);
        assert!(
            !text.contains(CANARY),
            "a password leaked ({output}):\n{text}"
        );
    }
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let (code, report) = common::parse_report(&run_template(&all), "template --live");
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        report["targets"][0]["secret"]["name"],
        lab.secret_name.as_str()
    );
    // Found by the value's host and identifier: its group does not admit
    // the new rotation group.
    let net002 = finding_with(&report, "NET002", "fail");
    assert_eq!(net002["resource"], lab.db_sg.as_str(), "{net002:#}");
}
