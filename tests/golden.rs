//! Golden tests: every output of the bundled example, whole, under insta
//! snapshots (tests/snapshots/). A change in wording, order or shape shows
//! up as a diff to review (`cargo insta review`, or INSTA_UPDATE=always to
//! rewrite them), never silently.

use crate::common;

use common::{example, output};

#[test]
fn diagnose_reports() {
    let example = example();
    for format in ["json", "sarif", "junit", "table"] {
        let text = output(&["diagnose", "--snapshot", &example, "--output", format], 1);
        insta::assert_snapshot!(format!("diagnose_{format}"), text);
    }
}

#[test]
fn dry_run_plans() {
    let example = example();
    for format in ["json", "table"] {
        let args = [
            "diagnose",
            "--snapshot",
            &example,
            "--dry-run",
            "--output",
            format,
        ];
        insta::assert_snapshot!(format!("dry_run_{format}"), output(&args, 1));
    }
}

#[test]
fn check_listings_and_explain() {
    for format in ["json", "table", "markdown"] {
        let text = output(&["checks", "--output", format], 0);
        insta::assert_snapshot!(format!("checks_{format}"), text);
    }
    insta::assert_snapshot!("explain_net002", output(&["explain", "NET002"], 0));
}

#[test]
fn accepted_findings_in_sarif_and_junit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("accept.toml");
    std::fs::write(
        &config,
        "[[ignore]]\ncheck = \"NET002\"\nreason = \"moving the Lambda on Friday\"\n",
    )
    .unwrap();
    let example = example();
    let config = config.to_str().unwrap();
    for format in ["sarif", "junit"] {
        let args = [
            "diagnose",
            "--snapshot",
            &example,
            "--config",
            config,
            "--output",
            format,
        ];
        insta::assert_snapshot!(format!("accepted_{format}"), output(&args, 1));
    }
}

/// The example with two facts that could not be read, as a denied call
/// leaves them: the invoke permission (a check that decides) and the logs
/// (optional evidence).
#[test]
fn unknown_findings_in_every_format() {
    let text = std::fs::read_to_string(example()).unwrap();
    let mut facts: serde_json::Value = serde_json::from_str(&text).unwrap();
    let denied = |call: &str| {
        serde_json::json!({ "unavailable": {
            "call": call, "kind": "access_denied",
            "message": format!("AccessDeniedException: not authorized to perform {call}"),
        }})
    };
    facts["lambda_policy"] = denied("lambda:GetPolicy");
    facts["logs"] = denied("logs:FilterLogEvents");
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("denied.json");
    std::fs::write(&snapshot, facts.to_string()).unwrap();
    let snapshot = snapshot.to_str().unwrap();
    for format in ["json", "sarif", "junit", "table"] {
        let args = ["diagnose", "--snapshot", snapshot, "--output", format];
        insta::assert_snapshot!(format!("unknown_{format}"), output(&args, 1));
    }
}
