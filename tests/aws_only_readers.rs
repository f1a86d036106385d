//! The readers of the two calls moto does not implement (HTTP 500):
//! `iam:SimulatePrincipalPolicy` and `cloudtrail:LookupEvents`. The proxy
//! in front of moto answers them with the responses AWS documents
//! (`common::aws_only`) while moto serves the rest, and the real binary's
//! JSON report and `--stats` show what it read and how many calls it made.
//! The binary runs with the SDK's default attempts, as a user runs it.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::aws_only;
use common::lab::Lab;
use common::proxy::{fault_response, Fault, Proxy};
use common::{evidence, finding_with, fleet, parse_report, MotoServer};
use serde_json::Value;

/// `ARGS --output json --stats` through `proxy`, with `AWS_MAX_ATTEMPTS`
/// unset (the SDK's default, 3 attempts).
fn run_through(proxy: &Proxy, args: &[&str]) -> (i32, Value) {
    let mut env = common::doctor_env();
    env.retain(|(key, _)| key != "AWS_MAX_ATTEMPTS");
    let endpoint = proxy.endpoint();
    let mut all = args.to_vec();
    all.extend(["--output", "json", "--stats", "--endpoint-url", &endpoint]);
    let out = common::run_doctor_with_env(&all, &env);
    parse_report(&out, &format!("{args:?} through the proxy"))
}

/// (calls, retries) of `operation` in the report's `--stats`.
fn counted(report: &Value, operation: &str) -> (u64, u64) {
    report["stats"]["operations"]
        .as_array()
        .expect("--stats operations")
        .iter()
        .find(|o| o["operation"] == operation)
        .map_or((0, 0), |o| {
            (
                o["calls"].as_u64().unwrap_or(0),
                o["retries"].as_u64().unwrap_or(0),
            )
        })
}

/// The target of the secret named `name`.
fn target_of<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["secret"]["name"] == name)
        .unwrap_or_else(|| panic!("no target {name}:\n{report:#}"))
}

/// The one finding of `check` for the secret named `name`.
fn finding_of<'a>(report: &'a Value, name: &str, check: &str) -> &'a Value {
    target_of(report, name)["findings"]
        .as_array()
        .and_then(|findings| findings.iter().find(|f| f["check"] == check))
        .unwrap_or_else(|| panic!("no {check} finding for {name}:\n{report:#}"))
}

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn iam002_follows_the_simulators_per_resource_answers_across_pages() {
    let server = MotoServer::start();
    let c = server.clients().await;
    // fleet/app-000 and app-003 share the lab's Lambda; one role serves all
    // three Lambdas, and its documents allow every secret (fleet/*).
    let fleet = fleet::build(&c, 4, 0).await;
    let proxy = Proxy::answering(server.port(), |operation, body| match operation {
        // An explicit Deny the role's documents do not hold (a service
        // control policy, say), and an implicit one, on app-003 only.
        "iam:SimulatePrincipalPolicy" => Some(aws_only::simulation(body, 2, |action, resource| {
            match (action, resource.contains(":secret:fleet/app-003-")) {
                ("secretsmanager:PutSecretValue", true) => "explicitDeny",
                ("secretsmanager:UpdateSecretVersionStage", true) => "implicitDeny",
                _ => "allowed",
            }
        })),
        _ => aws_only::healthy_account(operation, body),
    });
    let (_, report) = run_through(&proxy, &["scan"]);

    for (name, _) in &fleet.rotating[..3] {
        let f = finding_of(&report, name, "IAM002");
        assert_eq!(f["status"], "pass", "{f:#}");
        assert!(
            message(f).contains("(decided by iam:SimulatePrincipalPolicy)"),
            "{f:#}"
        );
    }
    let denied = &fleet.rotating[3].0;
    let f = finding_of(&report, denied, "IAM002");
    assert_eq!(f["status"], "fail", "{f:#}");
    assert!(
        message(f).contains(
            "lacks secretsmanager:PutSecretValue, secretsmanager:UpdateSecretVersionStage \
             (decided by iam:SimulatePrincipalPolicy); secretsmanager:PutSecretValue is \
             blocked by an explicit Deny"
        ),
        "{f:#}"
    );
    let arn = target_of(&report, denied)["secret"]["arn"]
        .as_str()
        .expect("the secret's ARN");
    let lines = evidence(f);
    for line in [
        format!("secretsmanager:PutSecretValue on {arn}: blocked (explicitly denied (simulation))"),
        format!(
            "secretsmanager:UpdateSecretVersionStage on {arn}: missing (implicitly denied (simulation))"
        ),
        format!("secretsmanager:GetSecretValue on {arn}: allowed (by iam:SimulatePrincipalPolicy)"),
    ] {
        assert!(lines.contains(&line), "{line}\nnot in {lines:#?}");
    }
    // Only the implicit deny can be granted by a policy.
    assert_eq!(
        f["fixes"][0]["actions"][0]["document"]["Statement"][0]["Action"],
        serde_json::json!(["secretsmanager:UpdateSecretVersionStage"]),
        "{f:#}"
    );

    // One question per Lambda about all of its secrets, one about `*` for
    // the shared role, each of four actions in two pages of two: 8 calls.
    let calls = proxy.calls();
    assert_eq!(
        calls.get("iam:SimulatePrincipalPolicy"),
        Some(&8),
        "{calls:?}"
    );
    assert_eq!(counted(&report, "SimulatePrincipalPolicy"), (8, 0));
}

#[tokio::test]
async fn a_throttled_simulation_is_retried_and_its_answer_decides() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let first = AtomicBool::new(true);
    let proxy = Proxy::answering(server.port(), move |operation, body| match operation {
        "iam:SimulatePrincipalPolicy" if first.swap(false, Ordering::SeqCst) => {
            // HTTP 400 Throttling in the Query error shape.
            fault_response(&Fault::Throttle, "iam")
        }
        _ => aws_only::healthy_account(operation, body),
    });
    let (code, report) = run_through(&proxy, &["diagnose", &lab.secret_name]);
    assert_eq!(code, 0, "{report:#}");
    let f = finding_with(&report, "IAM002", "pass");
    assert!(
        message(f).contains(
            "allows the 8 actions rotation needs (decided by iam:SimulatePrincipalPolicy)"
        ),
        "{f:#}"
    );
    // The question about the secret (retried once), then the one about `*`.
    assert_eq!(counted(&report, "SimulatePrincipalPolicy"), (2, 1));
    assert_eq!(proxy.calls().get("iam:SimulatePrincipalPolicy"), Some(&3));
}
