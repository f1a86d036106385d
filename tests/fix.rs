//! `--fix`, `apply`, `undo` and `rotate --wait` against moto (issue 5): each
//! fix clears its finding, a second run changes nothing, nothing changes
//! without consent, a plan whose resource moved stops, undo restores.

use crate::common;

use common::lab::{Lab, OrPanic};
use common::{describe, exit_code, parse_report, stdout_of, Clients, MotoServer};
use serde_json::Value;

/// What the fixes can touch, in a comparable form.
async fn account_state(c: &Clients, lab: &Lab) -> String {
    let groups = c
        .ec2
        .describe_security_groups()
        .group_ids(&lab.db_sg)
        .group_ids(&lab.lambda_sg)
        .send()
        .await
        .or_panic("DescribeSecurityGroups");
    let mut rules: Vec<String> = Vec::new();
    for group in groups.security_groups() {
        for (direction, permissions) in [
            ("in", group.ip_permissions()),
            ("out", group.ip_permissions_egress()),
        ] {
            for p in permissions {
                let peers: Vec<String> = p
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .chain(
                        p.ip_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ip().map(str::to_string)),
                    )
                    .collect();
                rules.push(format!(
                    "{} {direction} {} {:?}-{:?} {peers:?}",
                    group.group_id().unwrap_or_default(),
                    p.ip_protocol().unwrap_or_default(),
                    p.from_port(),
                    p.to_port()
                ));
            }
        }
    }
    rules.sort();
    let function = c
        .lambda
        .get_function_configuration()
        .function_name(&lab.function_name)
        .send()
        .await
        .or_panic("GetFunctionConfiguration");
    let vpc = function.vpc_config();
    let endpoints = c
        .ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .or_panic("DescribeVpcEndpoints");
    format!(
        "{rules:#?}\nsubnets {:?} groups {:?}\nendpoints {}",
        vpc.map(|v| v.subnet_ids().to_vec()),
        vpc.map(|v| v.security_group_ids().to_vec()),
        endpoints.vpc_endpoints().len()
    )
}

fn status_of(report: &Value, check: &str) -> String {
    common::statuses_of(report, check).join(",")
}

#[tokio::test]
async fn safe_fix_admits_the_lambda_group_and_a_second_run_changes_nothing() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.json");

    let out = run_fix(&server, &lab.secret_name, Some(&journal), &[]);
    let (_, after) = parse_report(&out, "diagnose --fix --yes");
    assert_eq!(status_of(&after, "NET002"), "pass", "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[safe] add an inbound rule to"), "{stderr}");
    assert!(
        stderr.contains("preferred, but unsafe"),
        "the move should be explained: {stderr}"
    );
    assert!(stderr.contains("NET002 fail → pass"), "{stderr}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&journal).unwrap()).unwrap();
    assert_eq!(written["entries"][0]["outcome"], "applied");
    assert_eq!(
        written["entries"][0]["action"]["action"],
        "authorize_ingress_from_group"
    );

    let state = account_state(&c, &lab).await;
    let again = run_fix(&server, &lab.secret_name, Some(&journal), &[]);
    assert_ne!(exit_code(&again), 2, "{}", describe(&again));
    assert_eq!(
        account_state(&c, &lab).await,
        state,
        "a second --fix changed the account"
    );
}

#[tokio::test]
async fn unsafe_fix_moves_the_lambda_and_undo_puts_it_back() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let original = account_state(&c, &lab).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.json");
    let journal_arg = journal.to_str().unwrap();

    let out = run_fix(
        &server,
        &lab.secret_name,
        Some(&journal),
        &["--unsafe-fixes"],
    );
    let (_, after) = parse_report(&out, "diagnose --fix --unsafe-fixes");
    assert_eq!(status_of(&after, "NET002"), "pass", "{}", describe(&out));
    assert_eq!(status_of(&after, "NET003"), "pass");
    let moved = account_state(&c, &lab).await;
    assert!(
        moved.contains(&lab.lambda_subnets[0]) && moved.contains(&lab.lambda_sg),
        "{moved}"
    );

    let undo = server.doctor(&["undo", journal_arg, "--yes"]);
    assert_eq!(exit_code(&undo), 0, "{}", describe(&undo));
    let restored = account_state(&c, &lab).await;
    // A second fix would not overwrite the journal that undo needs.
    let refused = run_fix(&server, &lab.secret_name, Some(&journal), &[]);
    assert_eq!(exit_code(&refused), 2, "{}", describe(&refused));
    assert_eq!(account_state(&c, &lab).await, restored);
    // moto does not undo AWSPENDING moves; what the network fixes touched is back.
    assert_eq!(restored, original, "undo did not restore the account");
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(status_of(&report, "NET002"), "fail");
    // Undoing twice has nothing left to do.
    let twice = server.doctor(&["undo", journal_arg, "--yes"]);
    assert!(
        stdout_of(&twice).contains("Nothing to undo"),
        "{}",
        describe(&twice)
    );
}

#[tokio::test]
async fn without_yes_and_without_a_terminal_nothing_changes() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let before = account_state(&c, &lab).await;
    let out = server.doctor(&["diagnose", &lab.secret_name, "--fix", "--output", "json"]);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(account_state(&c, &lab).await, before);
}

#[tokio::test]
async fn dry_run_prints_the_plan_and_changes_nothing() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let before = account_state(&c, &lab).await;
    let out = server.doctor(&[
        "diagnose",
        &lab.secret_name,
        "--dry-run",
        "--output",
        "json",
    ]);
    let plan: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)));
    let steps = plan["plan"]["steps"].as_array().expect("steps");
    assert!(
        steps
            .iter()
            .any(|s| s["check"] == "NET002" && s["safety"] == "safe"),
        "{plan:#}"
    );
    assert!(steps
        .iter()
        .all(|s| !s["iam_actions"].as_array().unwrap().is_empty()));
    assert_eq!(account_state(&c, &lab).await, before);
}

#[tokio::test]
async fn a_plan_whose_resource_changed_stops_that_action() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.json");
    let out = server.doctor(&[
        "diagnose",
        &lab.secret_name,
        "--dry-run",
        "--unsafe-fixes",
        "--output",
        "json",
    ]);
    std::fs::write(&plan, &out.stdout).unwrap();

    // Someone moves the Lambda elsewhere between plan and apply.
    let public = lab.public_subnets.clone();
    lab.move_lambda(&c, &public, std::slice::from_ref(&lab.lambda_sg))
        .await;
    let moved = account_state(&c, &lab).await;

    let journal = dir.path().join("journal.json");
    let applied = server.doctor(&[
        "apply",
        plan.to_str().unwrap(),
        "--yes",
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(exit_code(&applied), 1, "{}", describe(&applied));
    assert!(
        stdout_of(&applied).contains("changed since the plan"),
        "{}",
        describe(&applied)
    );
    assert_eq!(
        account_state(&c, &lab).await,
        moved,
        "a stopped action must change nothing"
    );
}

#[tokio::test]
async fn nothing_to_fix_changes_nothing() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    let before = account_state(&c, &lab).await;
    let out = run_fix(&server, &lab.secret_name, None, &[]);
    assert_ne!(exit_code(&out), 2, "{}", describe(&out));
    assert_eq!(account_state(&c, &lab).await, before);
}

#[tokio::test]
async fn rotate_wait_reports_the_new_version_becoming_current() {
    // moto's RotateSecret without a Lambda ARN (as `rotate` sends it)
    // promotes the new version to AWSCURRENT by itself (docs/moto-notes.md,
    // "Secrets Manager"), which is what a working rotation function's
    // finishSecret does.
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.clear_pending(&c).await;
    let before = versions_labelled(&c, &lab.secret_arn, "AWSCURRENT").await;
    let out = server.doctor(&["rotate", &lab.secret_name, "--wait", "--timeout", "60s"]);
    assert_eq!(exit_code(&out), 0, "{}", describe(&out));
    // The version the output names is current now and was not before.
    // (moto also leaves AWSCURRENT on the old version: docs/moto-notes.md.)
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = stderr
        .split("Rotation succeeded: version ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no version named: {}", describe(&out)));
    let after = versions_labelled(&c, &lab.secret_arn, "AWSCURRENT").await;
    assert!(after.iter().any(|v| v == named), "{named} in {after:?}");
    assert!(!before.iter().any(|v| v == named), "{named} in {before:?}");
}

/// The versions of `secret` that carry `label`.
async fn versions_labelled(c: &Clients, secret: &str, label: &str) -> Vec<String> {
    let described =
        c.sm.describe_secret()
            .secret_id(secret)
            .send()
            .await
            .or_panic("DescribeSecret");
    described
        .version_ids_to_stages()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, labels)| labels.iter().any(|l| l == label))
        .map(|(version, _)| version)
        .collect()
}

#[tokio::test]
async fn rotate_wait_that_fails_to_start_shows_the_diagnosis() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    // moto refuses RotateSecret while AWSPENDING sits on the AWSCURRENT
    // version (its check is inverted from AWS's: docs/moto-notes.md,
    // "Secrets Manager"), which gives a rotation that fails to start.
    let current = versions_labelled(&c, &lab.secret_arn, "AWSCURRENT").await;
    let pending = versions_labelled(&c, &lab.secret_arn, "AWSPENDING").await;
    c.sm.update_secret_version_stage()
        .secret_id(&lab.secret_arn)
        .version_stage("AWSPENDING")
        .move_to_version_id(&current[0])
        .remove_from_version_id(&pending[0])
        .send()
        .await
        .or_panic("UpdateSecretVersionStage");
    let out = server.doctor(&[
        "rotate",
        &lab.secret_name,
        "--wait",
        "--timeout",
        "10s",
        "--output",
        "json",
    ]);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Rotation failed") && stderr.contains("secretsmanager:RotateSecret"),
        "{}",
        describe(&out)
    );
    let (_, report) = parse_report(&out, "rotate --wait diagnosis");
    let failing = common::findings(&report)
        .into_iter()
        .filter(|f| f["status"] == "fail")
        .count();
    assert!(failing > 0, "{report:#}");
}

#[tokio::test]
async fn a_new_interface_endpoint_fixes_an_internet_gateway_only_route_and_undo_deletes_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    lab.route_private_to_igw(&c).await;
    lab.enable_dns_hostnames(&c).await;
    let (_, before) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(status_of(&before, "NET003"), "fail");

    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.json");
    let journal_arg = journal.to_str().unwrap();
    let out = run_fix(&server, &lab.secret_name, Some(&journal), &[]);
    let (_, after) = parse_report(&out, "diagnose --fix");
    assert_eq!(status_of(&after, "NET003"), "pass", "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("billed by the hour"));
    let endpoints = c
        .ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .or_panic("DescribeVpcEndpoints");
    assert_eq!(endpoints.vpc_endpoints().len(), 1);

    let undo = server.doctor(&["undo", journal_arg, "--yes"]);
    assert_eq!(exit_code(&undo), 0, "{}", describe(&undo));
    let endpoints = c
        .ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .or_panic("DescribeVpcEndpoints");
    assert!(endpoints
        .vpc_endpoints()
        .iter()
        .all(|e| e.state().map(|s| s.as_str()) != Some("available")));
}

/// `diagnose SECRET --fix --yes --output json [--journal JOURNAL] [extra]`.
fn run_fix(
    server: &MotoServer,
    secret: &str,
    journal: Option<&std::path::Path>,
    extra: &[&str],
) -> std::process::Output {
    let journal_arg = journal.map(|j| j.to_str().expect("utf-8 path").to_string());
    let mut args = vec!["diagnose", secret, "--fix", "--yes", "--output", "json"];
    if let Some(journal) = &journal_arg {
        args.extend(["--journal", journal.as_str()]);
    }
    args.extend_from_slice(extra);
    server.doctor(&args)
}

/// `diagnose --fix --yes [extra]` with a journal; the report after, and the journal path.
fn fix(
    server: &MotoServer,
    secret: &str,
    dir: &std::path::Path,
    extra: &[&str],
) -> (Value, std::path::PathBuf) {
    // A journal is never overwritten: one per run.
    let runs = std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    let journal = dir.join(format!("journal-{runs}.json"));
    let out = run_fix(server, secret, Some(&journal), extra);
    let (_, after) = parse_report(&out, "diagnose --fix");
    (after, journal)
}

#[tokio::test]
async fn invoke_permission_fix_adds_a_statement_for_this_account() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.remove_invoke_permission(&c).await;
    let (_, before) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(status_of(&before, "LAM006"), "fail");
    let dir = tempfile::tempdir().expect("tempdir");
    let (after, journal) = fix(&server, &lab.secret_name, dir.path(), &[]);
    assert_eq!(status_of(&after, "LAM006"), "pass", "{after:#}");
    let undo = server.doctor(&["undo", journal.to_str().unwrap(), "--yes"]);
    assert_eq!(exit_code(&undo), 0, "{}", describe(&undo));
    let (_, undone) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(status_of(&undone, "LAM006"), "fail");
}

#[tokio::test]
async fn endpoint_variable_fix_sets_it_and_keeps_the_other_variables() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.set_lambda_environment(&c, &[("EXCLUDE_CHARACTERS", "/@\"'\\")])
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Unsafe: without --unsafe-fixes it is only offered.
    let (after, _) = fix(&server, &lab.secret_name, dir.path(), &[]);
    assert_eq!(status_of(&after, "LAM004"), "fail");
    let (after, _) = fix(&server, &lab.secret_name, dir.path(), &["--unsafe-fixes"]);
    assert_eq!(status_of(&after, "LAM004"), "pass", "{after:#}");
    let config = c
        .lambda
        .get_function_configuration()
        .function_name(&lab.function_name)
        .send()
        .await
        .or_panic("GetFunctionConfiguration");
    let variables = config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        variables.get("EXCLUDE_CHARACTERS").map(String::as_str),
        Some("/@\"'\\")
    );
    assert_eq!(
        variables
            .get("SECRETS_MANAGER_ENDPOINT")
            .map(String::as_str),
        Some("https://secretsmanager.us-east-1.amazonaws.com")
    );
}

#[tokio::test]
async fn stuck_pending_fix_removes_the_label_only_with_unsafe_fixes_and_undo_restores_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (after, _) = fix(&server, &lab.secret_name, dir.path(), &[]);
    assert_eq!(
        status_of(&after, "ROT002"),
        "fail",
        "safe fixes never touch AWSPENDING"
    );
    let (after, journal) = fix(&server, &lab.secret_name, dir.path(), &["--unsafe-fixes"]);
    assert_eq!(status_of(&after, "ROT002"), "pass", "{after:#}");
    let undo = server.doctor(&["undo", journal.to_str().unwrap(), "--yes"]);
    assert_eq!(exit_code(&undo), 0, "{}", describe(&undo));
    let (_, undone) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(status_of(&undone, "ROT002"), "fail");
    // The second journal recorded only the label; the first run's rule stays.
    assert_eq!(status_of(&undone, "NET002"), "pass");
}
