//! Running `rotation-doctor template` from the repository's root, so that
//! relative paths are what a CI job would pass (tests/template.rs,
//! tests/template_cdk.rs and tests/terraform_plan.rs).

use std::process::Output;

use serde_json::Value;

/// `rotation-doctor template ARGS...`.
pub fn run(args: &[&str]) -> Output {
    let mut cmd = super::doctor_command(&super::doctor_env(), &super::workspace_root());
    cmd.arg("template").args(args);
    super::run_with_watchdog(cmd, super::DOCTOR_WATCHDOG)
}

/// `template ARGS... --output json`: the exit code and the report.
pub fn json_report(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let out = run(&all);
    super::parse_report(&out, "template --output json")
}

/// `template ARGS... --output sarif`: the exit code and the SARIF, which
/// must validate against the schema.
pub fn sarif_of(args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--output", "sarif"]);
    let out = run(&all);
    super::assert_no_panic(&out);
    let sarif: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not SARIF ({e}):\n{}", super::describe(&out)));
    super::assert_valid_sarif(&sarif);
    (super::exit_code(&out), sarif)
}

/// The 1-based line of the first line of `file` (from the repository's
/// root) that is `text`, trimmed.
pub fn line_of(file: &str, text: &str) -> u64 {
    let content = std::fs::read_to_string(super::workspace_root().join(file))
        .unwrap_or_else(|e| panic!("cannot read {file}: {e}"));
    content
        .lines()
        .position(|l| l.trim() == text)
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("{file} has no line {text:?}"))
}
