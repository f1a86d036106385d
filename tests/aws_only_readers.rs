//! The readers of the two calls moto does not implement (HTTP 500):
//! `iam:SimulatePrincipalPolicy` and `cloudtrail:LookupEvents`. The proxy
//! in front of moto answers them with the responses AWS documents
//! (`common::aws_only`) while moto serves the rest, and the real binary's
//! JSON report and `--stats` show what it read and how many calls it made.
//! The binary runs with the SDK's default attempts, as a user runs it.

use crate::common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use common::aws_only::{self, rotation_event};
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
    let proxy = Proxy::answering(
        server.port(),
        Duration::ZERO,
        |operation, body| match operation {
            // An explicit Deny the role's documents do not hold (a service
            // control policy, say), and an implicit one, on app-003 only.
            "iam:SimulatePrincipalPolicy" => {
                Some(aws_only::simulation(body, 2, |action, resource| {
                    match (action, resource.contains(":secret:fleet/app-003-")) {
                        ("secretsmanager:PutSecretValue", true) => "explicitDeny",
                        ("secretsmanager:UpdateSecretVersionStage", true) => "implicitDeny",
                        _ => "allowed",
                    }
                }))
            }
            _ => aws_only::healthy_account(operation, body),
        },
    );
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
    let proxy =
        Proxy::answering(
            server.port(),
            Duration::ZERO,
            move |operation, body| match operation {
                "iam:SimulatePrincipalPolicy" if first.swap(false, Ordering::SeqCst) => {
                    // HTTP 400 Throttling in the Query error shape.
                    fault_response(&Fault::Throttle, "iam")
                }
                _ => aws_only::healthy_account(operation, body),
            },
        );
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

/// One LookupEvents request as the proxy saw it.
struct Lookup {
    name: Option<String>,
    page: usize,
    at: Instant,
}

/// A proxy answering LookupEvents with `pages(event name, page)` (the
/// events and whether a further page follows) and the simulation as for a
/// healthy account, and the lookups it answered.
fn trail_proxy(
    server: &MotoServer,
    pages: impl Fn(&str, usize) -> (Vec<Value>, bool) + Send + Sync + 'static,
) -> (Proxy, Arc<Mutex<Vec<Lookup>>>) {
    let lookups = Arc::new(Mutex::new(Vec::new()));
    let seen = lookups.clone();
    let proxy = Proxy::answering(server.port(), Duration::ZERO, move |operation, body| {
        if operation != "cloudtrail:LookupEvents" {
            return aws_only::healthy_account(operation, body);
        }
        let (name, page) = aws_only::lookup_request(body);
        let (events, more) = pages(name.as_deref().unwrap_or_default(), page);
        seen.lock().expect("lookups").push(Lookup {
            name,
            page,
            at: Instant::now(),
        });
        Some(aws_only::lookup_events_page(
            events,
            more.then_some(page + 1),
        ))
    });
    (proxy, lookups)
}

fn failed_step(lab: &Lab, step: &str) -> String {
    format!(
        "Error when executing lambda {} during {step} step",
        lab.function_arn
    )
}

fn hours_ago(hours: i64) -> chrono::DateTime<Utc> {
    Utc::now() - TimeDelta::hours(hours)
}

#[tokio::test]
async fn trl001_reads_every_page_of_every_event_name() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let (arn, message_1, message_2) = (
        lab.secret_arn.clone(),
        failed_step(&lab, "setSecret"),
        failed_step(&lab, "createSecret"),
    );
    let (proxy, lookups) = trail_proxy(&server, move |name, page| match (name, page) {
        ("RotationFailed", 1) => (
            vec![
                rotation_event(name, &arn, hours_ago(1), Some(&message_1)),
                rotation_event(
                    name,
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf",
                    hours_ago(1),
                    Some(&message_1),
                ),
            ],
            true,
        ),
        ("RotationFailed", 2) => (
            vec![rotation_event(name, &arn, hours_ago(2), Some(&message_2))],
            false,
        ),
        ("RotationSucceeded", 1) => (vec![rotation_event(name, &arn, hours_ago(5), None)], false),
        _ => (Vec::new(), false),
    });
    let (_, report) = run_through(&proxy, &["diagnose", &lab.secret_name]);

    let f = finding_with(&report, "TRL001", "fail");
    assert!(
        message(f).contains(
            "CloudTrail records 2 RotationFailed events since the last RotationSucceeded"
        ),
        "{f:#}"
    );
    assert!(
        message(f).contains("failing in the setSecret step"),
        "{f:#}"
    );
    let lines = evidence(f);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].contains("RotationFailed during setSecret"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("RotationFailed during createSecret"),
        "{lines:#?}"
    );
    assert!(lines[2].contains("RotationSucceeded"), "{lines:#?}");

    // Each name by its own lookup, every page of it.
    let asked: Vec<(String, usize)> = lookups
        .lock()
        .expect("lookups")
        .iter()
        .map(|l| (l.name.clone().unwrap_or_default(), l.page))
        .collect();
    assert_eq!(
        asked,
        [
            ("RotationFailed".to_string(), 1),
            ("RotationFailed".to_string(), 2),
            ("RotationAbandoned".to_string(), 1),
            ("RotationSucceeded".to_string(), 1),
        ]
    );
    assert_eq!(counted(&report, "LookupEvents"), (4, 0));
}

#[tokio::test]
async fn more_lookup_pages_than_the_bound_are_reported_as_truncated_at_two_calls_a_second() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let (arn, failure) = (lab.secret_arn.clone(), failed_step(&lab, "setSecret"));
    // RotationFailed never runs out of pages.
    let (proxy, lookups) = trail_proxy(&server, move |name, page| match name {
        "RotationFailed" => {
            let hours = i64::try_from(page).expect("a small page number");
            (
                vec![rotation_event(name, &arn, hours_ago(hours), Some(&failure))],
                true,
            )
        }
        _ => (Vec::new(), false),
    });
    let (_, report) = run_through(&proxy, &["diagnose", &lab.secret_name]);

    let f = finding_with(&report, "TRL001", "fail");
    assert!(
        message(f).contains("CloudTrail records 4 RotationFailed events"),
        "{f:#}"
    );
    assert!(
        evidence(f).contains(
            &"note: the page bound stopped the read; older events were not read".to_string()
        ),
        "{f:#}"
    );
    let lookups = lookups.lock().expect("lookups");
    let pages: Vec<usize> = lookups
        .iter()
        .filter(|l| l.name.as_deref() == Some("RotationFailed"))
        .map(|l| l.page)
        .collect();
    assert_eq!(pages, [1, 2, 3, 4]);
    assert_eq!(lookups.len(), 6);
    assert_eq!(counted(&report, "LookupEvents"), (6, 0));
    // LookupEvents allows two calls a second per account and region: the
    // calls are sent half a second apart, so no three within a second. What
    // the proxy sees is later by however long the client took to send, so
    // a loaded machine brings two arrivals closer (801 ms were seen with
    // builds running); calls sent at once would be milliseconds apart.
    for three in lookups.windows(3) {
        let span = three[2].at.duration_since(three[0].at);
        assert!(
            span >= Duration::from_millis(600),
            "three lookups within {span:?}"
        );
    }
}
