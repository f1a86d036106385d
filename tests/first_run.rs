//! What a new user meets first: a pipeline closed early, the wrong profile or
//! no credentials at all, a bare `diagnose`, checks looked up by name, and
//! help that lists what a flag takes.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use crate::common;

use common::{base_env, describe, exit_code, run_doctor, run_doctor_with_env, stderr_of};

fn example() -> String {
    common::workspace_root()
        .join("examples/lab-failed-rotation.json")
        .to_string_lossy()
        .into_owned()
}

/// Runs the binary with its stdout a pipe whose reader is already gone, as
/// `rotation-doctor … | head -1` is once `head` has its line: every write
/// fails, deterministically, however short the output.
fn run_into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let dir = tempfile::tempdir().expect("a working directory");
    let child = common::doctor_command(&common::doctor_env(), dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rotation-doctor");
    child.wait_with_output().expect("wait for rotation-doctor")
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let example = example();
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["checks"],
        vec!["checks", "--output", "json"],
        vec!["checks", "--output", "markdown"],
        vec!["explain", "NET002"],
        vec!["permissions"],
        vec!["permissions", "--fix"],
        vec!["--help"],
        vec![
            "diagnose",
            "--snapshot",
            &example,
            "--dry-run",
            "--output",
            "table",
        ],
    ];
    for format in ["table", "json", "sarif", "junit"] {
        commands.push(vec!["diagnose", "--snapshot", &example, "--output", format]);
    }
    for args in commands {
        let out = run_into_closed_pipe(&args);
        let quiet_signal = out.status.signal() == Some(libc_sigpipe());
        let quiet_exit = matches!(out.status.code(), Some(0 | 1));
        assert!(
            quiet_signal || quiet_exit,
            "{args:?} ended with {:?}",
            out.status
        );
        assert_eq!(stderr_of(&out), "", "{args:?} wrote to stderr");
    }
}

/// SIGPIPE's number on Linux and the BSDs.
fn libc_sigpipe() -> i32 {
    13
}

#[test]
fn an_unknown_profile_is_named() {
    for how in ["flag", "variable"] {
        let mut env = common::doctor_env();
        let mut args = vec!["diagnose", "lab/mysql"];
        match how {
            "flag" => args.extend(["--profile", "nosuch"]),
            _ => env.push(("AWS_PROFILE".into(), "nosuch".into())),
        }
        let out = run_doctor_with_env(&args, &env);
        assert_eq!(exit_code(&out), 2, "{}", describe(&out));
        let stderr = stderr_of(&out);
        assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
        assert!(
            stderr.contains("profile nosuch") && stderr.contains("/nonexistent"),
            "names the profile and the files it looked in: {stderr}"
        );
    }
}

#[test]
fn a_profile_in_the_config_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[profile lab]\nregion = us-east-1\n").unwrap();
    let mut env = common::doctor_env();
    env.retain(|(k, _)| k != "AWS_CONFIG_FILE");
    env.push(("AWS_CONFIG_FILE".into(), config.to_string_lossy().into()));
    // No endpoint answers here: the run gets past the profile check and
    // fails at the first call instead.
    let out = run_doctor_with_env(
        &[
            "diagnose",
            "lab/mysql",
            "--profile",
            "lab",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &env,
    );
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    assert!(
        !stderr_of(&out).contains("profile lab"),
        "{}",
        describe(&out)
    );
}

#[test]
fn no_credentials_says_how_to_get_some() {
    let out = run_doctor_with_env(
        &[
            "diagnose",
            "lab/mysql",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &base_env(),
    );
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    let stderr = stderr_of(&out);
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    for hint in [
        "no AWS credentials",
        "aws configure",
        "aws sso login",
        "--snapshot",
    ] {
        assert!(stderr.contains(hint), "mentions {hint}: {stderr}");
    }
    assert!(!stderr.contains("IMDS"), "{stderr}");
}

#[test]
fn diagnose_without_a_secret_mentions_snapshots() {
    let out = run_doctor(&["diagnose"]);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    assert!(stderr_of(&out).contains("--snapshot"), "{}", describe(&out));
}

#[test]
fn explain_takes_a_name_as_checks_lists_it() {
    let by_id = run_doctor(&["explain", "NET002"]);
    let by_name = run_doctor(&["explain", "database-unreachable"]);
    assert_eq!(exit_code(&by_name), 0, "{}", describe(&by_name));
    assert_eq!(by_id.stdout, by_name.stdout);
    let unknown = run_doctor(&["explain", "no-such-check"]);
    assert_eq!(exit_code(&unknown), 2, "{}", describe(&unknown));
}

#[test]
fn fail_on_help_lists_the_severities() {
    for command in ["diagnose", "scan"] {
        let out = run_doctor(&[command, "--help"]);
        let help = common::stdout_of(&out);
        let fail_on = &help[help.find("--fail-on").expect("--fail-on in help")..];
        let entry = &fail_on[..fail_on.find("\n  -").unwrap_or(fail_on.len())];
        for severity in ["critical", "high", "medium", "low", "info"] {
            assert!(entry.contains(severity), "{command}: {entry}");
        }
    }
    let out = run_doctor(&["diagnose", "--snapshot", &example(), "--fail-on", "severe"]);
    assert_eq!(exit_code(&out), 2, "{}", describe(&out));
    assert!(stderr_of(&out).contains("critical"), "{}", describe(&out));
}

#[test]
fn dry_run_refuses_report_formats() {
    for format in ["sarif", "junit"] {
        let out = run_doctor(&[
            "diagnose",
            "--snapshot",
            &example(),
            "--dry-run",
            "--output",
            format,
        ]);
        assert_eq!(exit_code(&out), 2, "{}", describe(&out));
        assert!(out.stdout.is_empty(), "{}", describe(&out));
        assert!(stderr_of(&out).contains("--dry-run"), "{}", describe(&out));
    }
}

#[test]
fn since_with_a_snapshot_says_it_does_not_apply() {
    let without = run_doctor(&["diagnose", "--snapshot", &example(), "--output", "json"]);
    assert_eq!(stderr_of(&without), "");
    let with = run_doctor(&[
        "diagnose",
        "--snapshot",
        &example(),
        "--output",
        "json",
        "--since",
        "3d",
    ]);
    assert_eq!(exit_code(&with), 1, "{}", describe(&with));
    assert!(
        stderr_of(&with).contains("--since does not apply to a snapshot"),
        "{}",
        describe(&with)
    );
    assert_eq!(without.stdout, with.stdout, "the report is the same");
}

#[test]
fn color_always_never_and_auto() {
    let example = example();
    let table = |extra: &[&str], no_color: bool| -> String {
        let mut env = common::doctor_env();
        env.retain(|(k, _)| k != "NO_COLOR");
        if no_color {
            env.push(("NO_COLOR".into(), "1".into()));
        }
        let mut args = vec!["diagnose", "--snapshot", &example, "--output", "table"];
        args.extend_from_slice(extra);
        common::stdout_of(&run_doctor_with_env(&args, &env))
    };
    // Stdout is a pipe here: auto means no colour.
    assert!(!table(&[], false).contains('\x1b'));
    assert!(table(&["--color", "always"], false).contains('\x1b'));
    assert!(
        table(&["--color", "always"], true).contains('\x1b'),
        "always beats NO_COLOR"
    );
    assert!(!table(&["--color", "never"], false).contains('\x1b'));
    let bad = run_doctor(&["--color", "sometimes", "checks"]);
    assert_eq!(exit_code(&bad), 2, "{}", describe(&bad));
}

#[test]
fn quiet_prints_the_verdict_alone_and_no_notes() {
    let example = example();
    let args = [
        "diagnose",
        "--snapshot",
        &example,
        "--output",
        "table",
        "--since",
        "3d",
    ];
    let loud = run_doctor(&args);
    assert!(stderr_of(&loud).contains("--since does not apply"));
    for flag in ["--quiet", "-q"] {
        let mut quiet_args = args.to_vec();
        quiet_args.push(flag);
        let quiet = run_doctor(&quiet_args);
        assert_eq!(exit_code(&quiet), exit_code(&loud), "{}", describe(&quiet));
        assert_eq!(stderr_of(&quiet), "", "{}", describe(&quiet));
        let text = common::stdout_of(&quiet);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            text.starts_with(
                "lab/mysql/admin: FAIL rotation fails because security group sg-80c3… (lab-db-sg)"
            ),
            "{text}"
        );
    }
    // A machine format is what was asked for: --quiet keeps it whole.
    let json = run_doctor(&[
        "--quiet",
        "diagnose",
        "--snapshot",
        &example,
        "--output",
        "json",
    ]);
    let (code, report) = common::parse_report(&json, "--quiet --output json");
    assert_eq!(code, 1);
    assert_eq!(common::findings(&report).len(), 24);
}

#[test]
fn all_and_verbose_show_more_of_the_table() {
    let example = example();
    let table = |extra: &[&str]| -> String {
        let mut args = vec!["diagnose", "--snapshot", &example, "--output", "table"];
        args.extend_from_slice(extra);
        let out = run_doctor(&args);
        assert_eq!(exit_code(&out), 1, "{}", describe(&out));
        common::stdout_of(&out)
    };
    let short = table(&[]);
    assert!(!short.contains("│ PASS") && short.contains("13 passed, 6 skipped"));
    assert!(!short.contains("├─"), "{short}");
    let all = table(&["--all"]);
    assert_eq!(all.matches("│ PASS").count(), 13, "{all}");
    assert!(all.contains("Network paths"));
    let verbose = table(&["--verbose"]);
    assert!(
        verbose.contains("security group ingress sg-80c3850805bba7188 (lab-db-sg) ✗ BLOCKED"),
        "{verbose}"
    );
}
