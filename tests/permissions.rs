//! `rotation-doctor permissions` lists every call the tool makes: a proxy in
//! front of moto records the calls of each command, and each must be in the
//! policy printed for that kind of command: `permissions` for `diagnose` and
//! `scan`, `permissions` plus `permissions --fix` for `--fix`, `undo` and
//! `rotate`, which diagnose too.

use crate::common;

use std::time::Duration;

use common::lab::{role_policy_without_put_secret_value, Lab, OrPanic, CANARY, DB_PORT};
use common::proxy::Proxy;
use common::{describe, exit_code, run_doctor, stdout_of, Clients, MotoServer};
use serde_json::{json, Value};

/// The actions `rotation-doctor permissions [--fix]` prints.
fn policy_actions(fix: bool) -> Vec<String> {
    let args: &[&str] = if fix {
        &["permissions", "--fix"]
    } else {
        &["permissions"]
    };
    let out = run_doctor(args);
    let policy: Value = serde_json::from_str(&stdout_of(&out)).expect("the policy is JSON");
    policy["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

/// What `--fix`, `undo` and `rotate` may call: the read policy and the fix one.
fn read_and_fix_actions() -> Vec<String> {
    let mut actions = policy_actions(false);
    actions.extend(policy_actions(true));
    actions
}

/// Runs `args` through a new recording proxy in front of `server`, asserts
/// the exit code, and fails the test on any call `allowed` lacks. Returns the
/// output and the calls (`service:Operation`).
fn run_covered(
    server: &MotoServer,
    args: &[&str],
    code: i32,
    allowed: &[String],
) -> (std::process::Output, Vec<String>) {
    let proxy = Proxy::start(server.port(), Duration::ZERO, Vec::new());
    let out = proxy.run_doctor(args);
    assert_eq!(exit_code(&out), code, "{args:?}:\n{}", describe(&out));
    let calls: Vec<String> = proxy.calls().into_keys().collect();
    // The signing name of CloudWatch Logs is `logs`, as its IAM prefix.
    let missing: Vec<&String> = calls.iter().filter(|c| !allowed.contains(c)).collect();
    assert!(
        missing.is_empty(),
        "{args:?} calls {missing:?}, missing from the printed policy"
    );
    (out, calls)
}

/// `diagnose SECRET --output json` under the read policy; the report and
/// the calls.
fn diagnose_covered(server: &MotoServer, secret: &str, code: i32) -> (Value, Vec<String>) {
    let args = ["diagnose", secret, "--output", "json"];
    let (out, calls) = run_covered(server, &args, code, &policy_actions(false));
    let (_, report) = common::parse_report(&out, "diagnose");
    (report, calls)
}

/// `diagnose SECRET --fix --yes [extra]` then `undo`, both under the read
/// and fix policies. Asserts the run applied exactly `applied` (action
/// names, in journal order) and that undo reversed every one of them.
fn fix_and_undo(server: &MotoServer, secret: &str, extra: &[&str], code: i32, applied: &[&str]) {
    let allowed = read_and_fix_actions();
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.json");
    let journal = journal.to_str().expect("utf-8 path");
    let mut args = vec!["diagnose", secret, "--fix", "--yes", "--journal", journal];
    args.extend_from_slice(extra);
    run_covered(server, &args, code, &allowed);
    let entries = |journal: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(journal).expect("the journal is written");
        let journal: Value = serde_json::from_str(&text).expect("the journal is JSON");
        journal["entries"].as_array().expect("entries").clone()
    };
    let written = entries(journal);
    let names: Vec<&str> = written
        .iter()
        .filter(|e| e["outcome"] == "applied")
        .map(|e| e["action"]["action"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, applied, "{written:#?}");

    run_covered(server, &["undo", journal, "--yes"], 0, &allowed);
    let entries = entries(journal);
    assert!(
        entries
            .iter()
            .all(|e| e["outcome"] != "applied" || e["undone"] == true),
        "{entries:#?}"
    );
}

#[tokio::test]
async fn diagnose_and_scan_call_only_what_the_read_policy_lists() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let (_, calls) = diagnose_covered(&server, &lab.secret_name, 1);
    assert!(calls.len() >= 10, "too few calls seen: {calls:?}");
    let args = ["scan", "--output", "json"];
    let (_, calls) = run_covered(&server, &args, 1, &policy_actions(false));
    assert!(
        calls.contains(&"secretsmanager:ListSecrets".to_string()),
        "{calls:?}"
    );

    let fix = policy_actions(true);
    assert!(
        !fix.iter().any(|a| a.ends_with(":GetSecretValue")),
        "fixes never read secret values"
    );
}

#[tokio::test]
async fn redshift_and_elasticache_secrets_call_only_what_the_read_policy_lists() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let value = crate::engines::redshift_cluster(&c, &lab).await;
    lab.put_secret_value(&c, &value).await;
    let (_, calls) = diagnose_covered(&server, &lab.secret_name, 1);
    for call in [
        "redshift:DescribeClusters",
        "redshift:DescribeClusterSubnetGroups",
    ] {
        assert!(calls.contains(&call.to_string()), "{call}: {calls:?}");
    }
    // moto has no user groups, so the replication group calls are not made
    // here (docs/moto-notes.md, "ElastiCache").
    let value = crate::engines::elasticache_user(&c).await;
    let user_arn = value["user_arn"].as_str().expect("user_arn");
    crate::engines::allow_elasticache_user(&c, &lab, user_arn).await;
    crate::engines::configure_elasticache_function(&c, &lab).await;
    lab.put_secret_value(&c, &value).await;
    let (_, calls) = diagnose_covered(&server, &lab.secret_name, 0);
    assert!(
        calls.contains(&"elasticache:DescribeUsers".to_string()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_customer_managed_key_and_a_master_secret_call_only_what_the_read_policy_lists() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::without_logs(&c).await;
    let kms = aws_sdk_kms::Client::new(&common::sdk_config(&server.endpoint()).await);
    let key = kms.create_key().send().await.or_panic("CreateKey");
    let key_arn = key
        .key_metadata()
        .and_then(|k| k.arn())
        .expect("key ARN")
        .to_string();
    // A master secret under the same key, named by a multi-user secret
    // (as tests/master_secret.rs builds one).
    let master =
        c.sm.create_secret()
            .name("lab/mysql/master")
            .kms_key_id(&key_arn)
            .secret_string(
                json!({"engine": "mysql", "username": "admin", "password": CANARY}).to_string(),
            )
            .send()
            .await
            .or_panic("CreateSecret master");
    c.sm.update_secret()
        .secret_id(&lab.secret_arn)
        .kms_key_id(&key_arn)
        .send()
        .await
        .or_panic("UpdateSecret KmsKeyId");
    lab.put_secret_value(
        &c,
        &json!({
            "engine": "mysql", "host": lab.db_address, "port": DB_PORT,
            "username": "app_user", "password": CANARY, "dbname": "app",
            "masterarn": master.arn().expect("master ARN"),
        }),
    )
    .await;

    let (report, calls) = diagnose_covered(&server, &lab.secret_name, 1);
    // The key and the master secret were looked at, not skipped.
    for call in ["kms:DescribeKey", "kms:GetKeyPolicy"] {
        assert!(calls.contains(&call.to_string()), "{call}: {calls:?}");
    }
    for check in ["KMS001", "SEC002"] {
        let statuses = common::statuses_of(&report, check);
        assert!(
            !statuses.is_empty() && !statuses.iter().any(|s| s == "skipped"),
            "{check}: {report:#}"
        );
    }
}

#[tokio::test]
async fn fixes_in_the_lab_and_their_undo_call_only_what_the_policies_list() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let secret = lab.secret_name.as_str();
    fix_and_undo(&server, secret, &[], 1, &["authorize_ingress_from_group"]);
    fix_and_undo(
        &server,
        secret,
        &["--unsafe-fixes"],
        1,
        &["update_lambda_vpc", "remove_pending_label"],
    );
    let args = ["rotate", secret, "--wait", "--timeout", "60s"];
    run_covered(&server, &args, 0, &read_and_fix_actions());
}

#[tokio::test]
async fn an_interface_endpoint_fix_and_its_undo_call_only_what_the_policies_list() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.route_private_to_igw(&c).await;
    lab.enable_dns_hostnames(&c).await;
    fix_and_undo(
        &server,
        &lab.secret_name,
        &[],
        1,
        // The endpoint, and its group admitting the Lambda's on tcp/443.
        &["authorize_ingress_from_group", "create_interface_endpoint"],
    );
}

#[tokio::test]
async fn egress_invoke_role_and_environment_fixes_and_their_undo_call_only_what_the_policies_list()
{
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.clear_pending(&c).await;
    revoke_all_egress(&c, &lab.lambda_sg).await;
    lab.remove_invoke_permission(&c).await;
    let policy = role_policy_without_put_secret_value(&lab.secret_arn);
    lab.set_role_policy(&c, &policy).await;
    lab.set_lambda_environment(&c, &[("EXCLUDE_CHARACTERS", "/@")])
        .await;
    fix_and_undo(
        &server,
        &lab.secret_name,
        &["--unsafe-fixes"],
        1,
        // Egress to the database (NET002) and to Secrets Manager (NET003).
        &[
            "authorize_egress",
            "authorize_egress",
            "add_invoke_permission",
            "put_role_policy",
            "set_lambda_environment",
        ],
    );
}

/// Removes the default allow-all outbound rule of `group`.
async fn revoke_all_egress(c: &Clients, group: &str) {
    c.ec2
        .revoke_security_group_egress()
        .group_id(group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .or_panic("RevokeSecurityGroupEgress");
}

/// `template --live` reads with diagnose's calls: the read policy covers it.
#[tokio::test]
async fn template_live_is_covered_by_the_read_policy() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let template = common::workspace_root().join("tests/data/templates/live-add-rotation.yaml");
    let vpc = format!("VpcId={}", lab.vpc_id);
    let subnets = format!("RotationSubnetIds={}", lab.lambda_subnets.join(","));
    let database = format!("DbInstanceIdentifier={}", lab.db_instance_id);
    let args = [
        "template",
        template.to_str().expect("utf-8 path"),
        "--parameter",
        &vpc,
        "--parameter",
        &subnets,
        "--parameter",
        &database,
        "--live",
        "--region",
        "us-east-1",
        "--output",
        "json",
    ];
    let (_, calls) = run_covered(&server, &args, 1, &policy_actions(false));
    for call in ["rds:DescribeDBInstances", "ec2:DescribeSecurityGroups"] {
        assert!(
            calls.iter().any(|c| c == call),
            "{call} not among {calls:?}"
        );
    }

    // A secret that exists is read as diagnose reads it.
    let template = common::workspace_root().join("tests/data/templates/live-existing-secret.yaml");
    let secret = format!("SecretArn={}", lab.secret_arn);
    let args = [
        "template",
        template.to_str().expect("utf-8 path"),
        "--parameter",
        &secret,
        "--parameter",
        &vpc,
        "--parameter",
        &subnets,
        "--live",
        "--region",
        "us-east-1",
        "--output",
        "json",
    ];
    let (_, calls) = run_covered(&server, &args, 1, &policy_actions(false));
    for call in [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    ] {
        assert!(
            calls.iter().any(|c| c == call),
            "{call} not among {calls:?}"
        );
    }
}
