//! The bundled example that README's first command runs: a snapshot of the
//! lab case recorded from moto, plus what moto cannot answer and an account
//! does (CloudTrail's rotation events and the policy simulator's answers,
//! added in their documented shapes; the file's `description` says so). One
//! test diagnoses it offline as a new user would; one checks the additions
//! are what the recording implies; the last records the lab again and checks
//! the example still says the same wherever moto can answer (set
//! ROTATION_DOCTOR_WRITE_EXAMPLE=1 to refresh the file: the additions are
//! made again).

use crate::common;

use std::path::PathBuf;

use chrono::DateTime;
use common::lab::{Lab, CANARY};
use common::{
    describe, evidence, exit_code, finding_with, parse_report, run_doctor, stdout_of, MotoServer,
};
use rotation_doctor_checks::policy::rotation_role_needs;
use rotation_doctor_checks::role_access::{evaluate_need, identity_documents, Outcome};
use rotation_doctor_checks::{Fact, Facts, RotationEvent, RotationEvents, SimulatedAction};
use serde_json::Value;

fn example_path() -> PathBuf {
    common::workspace_root().join("examples/lab-failed-rotation.json")
}

/// Checks whose verdict in the example comes from a fact added by hand:
/// moto answers `cloudtrail:LookupEvents` with HTTP 500, so a recording's
/// TRL001 is `unknown`. (IAM002 is decided by our own evaluation when the
/// simulator fails, so its verdict is compared; only its method differs.)
const DECIDED_BY_ADDITIONS: [&str; 1] = ["TRL001"];

/// The example's `description`: what it is, and what was added to the
/// recording by hand.
const DESCRIPTION: &str = "\
    The lab case of tests/common/lab.rs (a rotation Lambda placed in the \
    database's subnets and security group, so setSecret cannot log into the \
    database), recorded with --save-snapshot from moto, the AWS emulator. \
    moto does not answer cloudtrail:LookupEvents nor \
    iam:SimulatePrincipalPolicy (it returns HTTP 500 where an account \
    answers), so two facts were added by hand, in the documented shapes of \
    those two calls: rotation_events holds the RotationFailed event \
    CloudTrail records when the setSecret step fails (eventTime, eventID and \
    errorMessage, in the log window), and execution_role.simulation holds \
    SimulatePrincipalPolicy's decision for each action the collector asks \
    about, as the role's inline policy decides it. Everything else is as \
    recorded. tests/example_snapshot.rs adds the same two facts again when \
    it refreshes this file.";

/// The `eventID` of the example's RotationFailed event.
const ROTATION_FAILED_EVENT_ID: &str = "b6a3e1f0-52c4-4d8e-9f17-3c2a8d5e4b90";

/// Adds to a recording of the lab what moto cannot answer and an account
/// does, as the example has it: the `RotationFailed` event CloudTrail
/// records for the failed setSecret step (`LookupEvents`), and
/// `SimulatePrincipalPolicy`'s answers for the actions the collector asks
/// about, decided by the role's own documents.
fn add_what_moto_cannot_answer(facts: &mut Facts) {
    facts.description = Some(DESCRIPTION.to_string());
    let secret = facts.secret.present().expect("the lab's secret").clone();
    let lambda = facts.lambda.present().expect("the lab's Lambda").clone();
    let logs = facts.logs.present().expect("the lab's logs").clone();

    // Secrets Manager records RotationFailed when the failing invocation
    // returns: at its END line, in CloudTrail's whole seconds.
    let request = logs
        .events
        .iter()
        .find_map(|e| {
            let fields: Vec<&str> = e.message.split('\t').collect();
            match fields.as_slice() {
                ["[ERROR]", _, request, text, ..] if text.starts_with("setSecret: ") => {
                    Some(request.to_string())
                }
                _ => None,
            }
        })
        .expect("the lab's logs have the setSecret error");
    let end = logs
        .events
        .iter()
        .find(|e| e.message == format!("END RequestId: {request}"))
        .expect("the failed invocation's END line")
        .timestamp;
    let seconds = end.timestamp() + i64::from(end.timestamp_subsec_nanos() > 0);
    let failed = RotationEvent {
        time: DateTime::from_timestamp(seconds, 0).expect("a valid time"),
        name: "RotationFailed".to_string(),
        step: Some("setSecret".to_string()),
        message: Some(format!(
            "Error when executing lambda {} during setSecret step",
            lambda.arn
        )),
        event_id: Some(ROTATION_FAILED_EVENT_ID.to_string()),
    };
    facts.rotation_events = Fact::Present(RotationEvents {
        start: logs.start,
        end: logs.end,
        events: vec![failed],
        truncated: false,
    });

    // What src/collect/iam.rs asks: rotation's needs, the secret actions on
    // the secret first, then those on `*` (the lab's secret uses the AWS
    // managed key: no KMS question).
    assert_eq!(
        secret.kms_key_id, None,
        "the lab's secret uses aws/secretsmanager"
    );
    let in_vpc = lambda
        .vpc
        .as_ref()
        .is_some_and(|v| !v.subnet_ids.is_empty());
    let needs = rotation_role_needs(&secret.arn, None, in_vpc, Vec::new());
    let Fact::Present(role) = &facts.execution_role else {
        panic!("the lab's execution role was read");
    };
    let (labelled, unreadable) = identity_documents(role);
    let documents: Vec<(&str, &serde_json::Value)> =
        labelled.iter().map(|(l, d)| (l.as_str(), *d)).collect();
    let context = [("aws:RequestedRegion", facts.region.as_str())];
    let simulation: Vec<SimulatedAction> = needs
        .iter()
        .map(|need| {
            let outcome = evaluate_need(
                need,
                &documents,
                &unreadable,
                role.permissions_boundary.as_ref(),
                &context,
            );
            let decision = match outcome {
                Outcome::Granted(_) => "allowed",
                Outcome::Blocked(_) => "explicitDeny",
                Outcome::Missing(_) | Outcome::Unknown(_) => "implicitDeny",
            };
            SimulatedAction {
                action: need.action.to_string(),
                resource: need.resource.clone(),
                decision: decision.to_string(),
                missing_context: Vec::new(),
            }
        })
        .collect();
    if let Fact::Present(role) = &mut facts.execution_role {
        role.simulation = Fact::Present(simulation);
    }
}

fn load_facts(path: &std::path::Path) -> Facts {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not Facts: {e}", path.display()))
}

fn message_of(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// A report with what differs between two recordings of the same lab
/// replaced: each AWS resource id by its kind and the order it first
/// appears in (`sg-1`, `subnet-2`...), version ids, the secret's random ARN
/// suffix, and times. What is left (every finding's message, evidence,
/// remediation and plans, and every path's hops) must be the same.
fn normalized(report: &Value) -> Value {
    let ids = regex::Regex::new(
        r"\b(sg|subnet|vpc|rtb|acl|nat|igw|vpce|eni|pl|rtbassoc|aclassoc|eipalloc)-[0-9a-f]{8,17}\b",
    )
    .unwrap();
    let uuids =
        regex::Regex::new(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
            .unwrap();
    let secret_suffix =
        regex::Regex::new(r"(:secret:[A-Za-z0-9/_+=.@]+)-[A-Za-z0-9]{6}\b").unwrap();
    let times = regex::Regex::new(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?( UTC)?)?")
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    let mut text = serde_json::to_string_pretty(report).unwrap();
    text = uuids.replace_all(&text, "UUID").into_owned();
    text = secret_suffix.replace_all(&text, "$1-SUFFIX").into_owned();
    text = times.replace_all(&text, "TIME").into_owned();
    text = ids
        .replace_all(&text, |c: &regex::Captures| {
            let id = c[0].to_string();
            let n = match seen.iter().position(|s| *s == id) {
                Some(n) => n,
                None => {
                    seen.push(id);
                    seen.len() - 1
                }
            };
            format!("{}-{n}", &c[1])
        })
        .into_owned();
    serde_json::from_str(&text).unwrap()
}

/// (check, status) of every finding, in order.
fn verdicts(report: &Value) -> Vec<(String, String)> {
    common::findings(report)
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or_default().to_string(),
                f["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn bundled_example_diagnoses_the_lab_failure_offline() {
    let example = example_path();
    let path = example.to_str().expect("utf-8 path");
    let out = run_doctor(&["diagnose", "--snapshot", path, "--output", "json"]);
    let (code, report) = parse_report(&out, "diagnose --snapshot example");
    assert_eq!(code, 1, "the example has failures: {report:#}");
    let net002 = finding_with(&report, "NET002", "fail");
    let message = net002["message"].as_str().unwrap_or_default();
    assert!(message.contains("does not admit tcp/3306"), "{message}");
    finding_with(&report, "NET003", "pass");
    let log001 = finding_with(&report, "LOG001", "fail");
    assert!(log001
        .to_string()
        .contains("setSecret: Unable to log into database"));
    assert!(!std::fs::read_to_string(&example).unwrap().contains(CANARY));

    // What an account shows where moto answers HTTP 500: CloudTrail's
    // RotationFailed for the setSecret step, and the simulator deciding.
    let trl001 = finding_with(&report, "TRL001", "fail");
    assert!(
        message_of(trl001).contains("1 RotationFailed event")
            && message_of(trl001).contains("failing in the setSecret step"),
        "{trl001:#}"
    );
    let iam002 = finding_with(&report, "IAM002", "pass");
    assert!(
        evidence(iam002)
            .iter()
            .any(|e| e == "decided by iam:SimulatePrincipalPolicy"),
        "{iam002:#}"
    );
    assert!(
        !report.to_string().contains("HTTP 500"),
        "the example shows an emulator's gap: {report:#}"
    );

    // The verdict: one root cause, its consequences, names beside the ids.
    let target = &report["targets"][0];
    let root = &target["verdict"]["root_causes"][0];
    assert_eq!(root["check"], "NET002", "{:#}", target["verdict"]);
    let consequences: Vec<&str> = root["consequences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(consequences, ["ROT002", "LOG001", "TRL001"]);
    assert_eq!(target["names"]["sg-80c3850805bba7188"], "lab-db-sg");
    assert_eq!(target["names"]["sg-b9eba2562f3047d4b"], "lab-lambda-sg");
    let blocked = target["paths"][0]["hops"]
        .as_array()
        .and_then(|hops| hops.iter().find(|h| h["verdict"] == "block"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(blocked["name"], "lab-db-sg", "{blocked:#}");

    let table = run_doctor(&["diagnose", "--snapshot", path, "--output", "table"]);
    assert_eq!(exit_code(&table), 1, "{}", describe(&table));
    let text = stdout_of(&table);
    for expected in [
        "Verdict: rotation fails because security group sg-80c3… (lab-db-sg)",
        "only from sg-b9eb… (lab-lambda-sg)",
        "Follows from it: ROT002 (stuck-pending-version), LOG001",
        "NET002",
        "BLOCKED",
        "Fix:",
        "Summary:",
    ] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    assert!(!text.contains("HTTP 500"), "{text}");
}

#[test]
fn the_examples_additions_are_what_its_recording_implies() {
    let example = load_facts(&example_path());
    let description = example.description.as_deref().unwrap_or_default();
    for named in ["moto", "rotation_events", "execution_role.simulation"] {
        assert!(description.contains(named), "{named}: {description}");
    }
    // Made again from the rest of the file, they come out the same: the
    // event follows the logged setSecret failure, and the simulator decides
    // each action as the role's inline policy does.
    let mut again = example.clone();
    add_what_moto_cannot_answer(&mut again);
    assert_eq!(again, example);
}

#[tokio::test]
async fn bundled_example_matches_a_fresh_recording_of_the_lab() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let recorded = dir.path().join("lab.json");
    let recorded_arg = recorded.to_str().expect("utf-8 path");
    let (code, live) = server.diagnose_json(&lab.secret_name, &["--save-snapshot", recorded_arg]);
    assert_eq!(code, 1, "{live:#}");

    if std::env::var_os("ROTATION_DOCTOR_WRITE_EXAMPLE").is_some() {
        let mut facts = load_facts(&recorded);
        add_what_moto_cannot_answer(&mut facts);
        let text = serde_json::to_string_pretty(&facts).expect("encode the example");
        std::fs::write(example_path(), text + "\n").expect("write the example");
    }
    let example = example_path();
    let out = run_doctor(&[
        "diagnose",
        "--snapshot",
        example.to_str().unwrap(),
        "--output",
        "json",
    ]);
    let (_, bundled) = parse_report(&out, "diagnose --snapshot example");
    let answered_by_moto = |report: &Value| -> Vec<(String, String)> {
        verdicts(report)
            .into_iter()
            .filter(|(check, _)| !DECIDED_BY_ADDITIONS.contains(&check.as_str()))
            .collect()
    };
    assert_eq!(
        answered_by_moto(&bundled),
        answered_by_moto(&live),
        "examples/lab-failed-rotation.json no longer matches the lab; refresh it with ROTATION_DOCTOR_WRITE_EXAMPLE=1"
    );
    // Whole findings and paths, not only verdicts: the example must say
    // what a fresh recording says, word for word, but for ids and times and
    // the two checks whose facts were added by hand.
    let whole = |report: &Value| -> (Vec<Value>, Value) {
        let normalized = normalized(report);
        // Evidence lines are compared as a set: ROT002 lists versions in
        // the order of their (random) ids.
        let findings = common::findings(&normalized)
            .into_iter()
            .filter(|f| !["TRL001", "IAM002"].contains(&f["check"].as_str().unwrap_or_default()))
            .map(|f| {
                let mut f = f.clone();
                if let Some(lines) = f["evidence"].as_array_mut() {
                    lines.sort_by_key(|line| line.to_string());
                }
                f
            })
            .collect();
        (findings, normalized["targets"][0]["paths"].clone())
    };
    let (bundled_findings, bundled_paths) = whole(&bundled);
    let (live_findings, live_paths) = whole(&live);
    for (bundled, live) in bundled_findings.iter().zip(&live_findings) {
        assert_eq!(bundled, live, "a finding differs from a fresh recording; refresh the example with ROTATION_DOCTOR_WRITE_EXAMPLE=1");
    }
    assert_eq!(bundled_findings.len(), live_findings.len());
    assert_eq!(
        bundled_paths, live_paths,
        "the paths differ from a fresh recording"
    );

    // Where moto cannot answer, the example shows what an account does.
    let live_trl001 = finding_with(&live, "TRL001", "unknown");
    assert!(
        message_of(live_trl001).contains("cloudtrail:LookupEvents"),
        "moto's TRL001 is no longer unknown for want of LookupEvents: compare it again: {live_trl001:#}"
    );
    let trl001 = finding_with(&bundled, "TRL001", "fail");
    assert!(
        message_of(trl001).contains("failing in the setSecret step"),
        "{trl001:#}"
    );
    let iam002 = finding_with(&bundled, "IAM002", "pass");
    assert!(
        evidence(iam002)
            .iter()
            .any(|e| e == "decided by iam:SimulatePrincipalPolicy"),
        "{iam002:#}"
    );
}
