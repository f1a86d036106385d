//! Golden tests: every output of the bundled example, whole, under insta
//! snapshots (tests/snapshots/). A change in wording, order or shape shows
//! up as a diff to review (`cargo insta review`, or INSTA_UPDATE=always to
//! rewrite them), never silently.

use crate::common;

use common::{describe, exit_code, run_doctor, stdout_of};

fn example() -> String {
    common::workspace_root()
        .join("examples/lab-failed-rotation.json")
        .to_string_lossy()
        .into_owned()
}

/// Stdout of a command that must exit with `code`.
fn output(args: &[&str], code: i32) -> String {
    let out = run_doctor(args);
    assert_eq!(exit_code(&out), code, "{args:?}: {}", describe(&out));
    stdout_of(&out)
}

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
