//! `rotate --wait` follows the rotation step by step (issue 16). While the
//! binary waits, the test writes the rotation function's lines into its log
//! group, in the format and words of AWS's MySQL function
//! (docs/failure-catalog.md), and reads the trace from the process's stderr.
//!
//! moto cannot run the rotation itself: RotateSecret without a function ARN
//! (as `rotate` sends it) makes the new version AWSCURRENT at once, and with
//! one it runs the four steps before it answers (docs/moto-notes.md,
//! "Secrets Manager"). So the proxy answers RotateSecret as AWS does, with
//! the id of the new version, which carries AWSPENDING (the test puts it
//! first, as Secrets Manager does before it invokes createSecret); moto
//! serves every other call, and the test plays the function: it writes the
//! lines and, for finishSecret, moves AWSCURRENT.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use common::lab::{now_millis, Lab, OrPanic, CANARY, SET_SECRET_ERROR};
use common::proxy::Proxy;
use common::{aws_only, describe, doctor_command, doctor_env, exit_code, parse_report, Clients};
use common::{findings_of, MotoServer};

/// The version the rotation creates (RotateSecret's answer).
const NEW_VERSION: &str = "9b7e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4";
/// The password of the new version: it must never show up either.
const NEW_PASSWORD: &str = "NEW-CANARY-pw-41d2-MUST-NOT-LEAK";
/// How long the test waits for a line or the exit: a bound on a hang, not a
/// measure of speed.
const PATIENCE: Duration = Duration::from_secs(90);

/// A proxy that answers RotateSecret with `NEW_VERSION`, the two calls moto
/// lacks as a healthy account would, and forwards the rest to moto.
fn rotating_proxy(server: &MotoServer, lab: &Lab) -> Proxy {
    let (arn, name) = (lab.secret_arn.clone(), lab.secret_name.clone());
    Proxy::answering(server.port(), Duration::ZERO, move |operation, body| {
        if operation == "secretsmanager:RotateSecret" {
            // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
            let answer =
                serde_json::json!({"ARN": arn, "Name": name, "VersionId": NEW_VERSION}).to_string();
            return Some(format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            ));
        }
        aws_only::healthy_account(operation, body)
    })
}

/// The new version with AWSPENDING, as RotateSecret leaves it on AWS (the
/// value is createSecret's, put here ahead of time).
async fn put_pending_version(c: &Clients, lab: &Lab) {
    let value = serde_json::json!({
        "engine": "mysql", "host": lab.db_address, "port": 3306,
        "username": "admin", "password": NEW_PASSWORD, "dbname": "app",
    });
    c.sm.put_secret_value()
        .secret_id(&lab.secret_arn)
        .client_request_token(NEW_VERSION)
        .secret_string(value.to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .or_panic("PutSecretValue AWSPENDING");
}

/// The binary running `rotate --wait`, its stderr read line by line.
struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: JoinHandle<Vec<String>>,
    stdout: JoinHandle<Vec<u8>>,
}

impl Running {
    fn start(proxy: &Proxy, lab: &Lab, extra: &[&str]) -> Running {
        let dir = tempfile::tempdir().expect("temp dir");
        let endpoint = proxy.endpoint();
        let mut args = vec![
            "rotate",
            lab.secret_name.as_str(),
            "--wait",
            "--timeout",
            "60s",
        ];
        args.extend_from_slice(extra);
        args.extend(["--endpoint-url", endpoint.as_str()]);
        let mut child = doctor_command(&doctor_env(), dir.path())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rotation-doctor");
        let (send, lines) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                let _ = send.send(line.clone());
                all.push(line);
            }
            all
        });
        let mut stdout = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stdout.read_to_end(&mut buf);
            buf
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
            stderr,
            stdout,
        }
    }

    /// Waits for a stderr line holding every one of `needles`, while the
    /// process runs; returns it.
    fn wait_for(&mut self, needles: &[&str]) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if needles.iter().all(|n| line.contains(n)) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!(
                        "no stderr line with {needles:?} (the process ended or hung); stderr so far:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    fn finish(mut self) -> Output {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("rotate --wait still running after {PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Output {
            status,
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self
                .stderr
                .join()
                .unwrap_or_default()
                .join("\n")
                .into_bytes(),
        }
    }
}

/// Writes `messages` into `stream` of the function's log group, stamped now
/// (a millisecond apart, in order), creating the group and stream as needed.
async fn write_lines(c: &Clients, lab: &Lab, stream: &str, messages: &[String]) {
    // Either may exist already: the lab's own logs, an earlier invocation.
    let _ = c
        .logs
        .create_log_group()
        .log_group_name(&lab.log_group)
        .send()
        .await;
    let _ = c
        .logs
        .create_log_stream()
        .log_group_name(&lab.log_group)
        .log_stream_name(stream)
        .send()
        .await;
    let now = now_millis();
    let events: Vec<InputLogEvent> = messages
        .iter()
        .zip(0i64..)
        .map(|(message, i)| {
            InputLogEvent::builder()
                .timestamp(now + i)
                .message(message)
                .build()
                .expect("InputLogEvent")
        })
        .collect();
    let put = c
        .logs
        .put_log_events()
        .log_group_name(&lab.log_group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .or_panic("PutLogEvents");
    assert!(put.rejected_log_events_info().is_none(), "{put:?}");
}

/// One invocation's lines as Lambda's Python runtime writes them: START,
/// the function's `[LEVEL]\t<time>\t<request id>\t<text>` lines (or a raw
/// line, for an uncaught exception), END and REPORT.
fn invocation(request: &str, lines: &[(&str, String)]) -> Vec<String> {
    let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let mut all = vec![format!("START RequestId: {request} Version: $LATEST")];
    for (level, text) in lines {
        all.push(match *level {
            "" => text.clone(),
            level => format!("[{level}]\t{time}\t{request}\t{text}"),
        });
    }
    all.push(format!("END RequestId: {request}"));
    all.push(format!(
        "REPORT RequestId: {request}\tDuration: 812.34 ms\tBilled Duration: 813 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB"
    ));
    all
}

fn create_secret_lines(lab: &Lab) -> Vec<String> {
    let arn = &lab.secret_arn;
    invocation(
        "8c2f1e5a-1b7d-4c3e-9f0a-5d6e7f8a9b01",
        &[
            ("INFO", "Found credentials in environment variables.".into()),
            (
                "INFO",
                format!("createSecret: Successfully put secret for ARN {arn} and version {NEW_VERSION}."),
            ),
        ],
    )
}

/// The seconds of a trace line's `+N.Ns`.
fn elapsed_of(line: &str) -> f64 {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix('+')?.strip_suffix('s')?.parse().ok())
        .unwrap_or_else(|| panic!("no elapsed time in {line:?}"))
}

/// The trace lines (`+N.Ns`) of the output, in order.
fn trace_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.trim_start().starts_with('+'))
        .map(str::to_string)
        .collect()
}

fn assert_nothing_leaked(out: &Output) {
    let all = format!("{}{}", common::stdout_of(out), common::stderr_of(out));
    for secret in [CANARY, NEW_PASSWORD] {
        assert!(!all.contains(secret), "{secret} leaked:\n{}", describe(out));
    }
}

#[tokio::test]
async fn rotate_wait_shows_each_step_as_it_happens_until_awscurrent_moves() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    put_pending_version(&c, &lab).await;
    let proxy = rotating_proxy(&server, &lab);
    let mut running = Running::start(&proxy, &lab, &[]);
    running.wait_for(&["Rotation started", NEW_VERSION, &lab.log_group]);

    let stream = "2026/01/01/[$LATEST]aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    write_lines(&c, &lab, stream, &create_secret_lines(&lab)).await;
    // Shown while the rotation is still under way: nothing else is written yet.
    running.wait_for(&["createSecret", "✓"]);

    let arn = &lab.secret_arn;
    let mut rest = invocation(
        "3e9d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c02",
        &[(
            "INFO",
            format!("setSecret: Successfully set password for user admin in MySQL DB for secret arn {arn}."),
        )],
    );
    rest.extend(invocation(
        "5b1a2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c03",
        &[(
            "INFO",
            format!(
                "testSecret: Successfully signed into MySQL DB with AWSPENDING secret in {arn}."
            ),
        )],
    ));
    rest.extend(invocation(
        "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b04",
        &[(
            "INFO",
            format!("finishSecret: Successfully set AWSCURRENT stage to version {NEW_VERSION} for secret {arn}."),
        )],
    ));
    write_lines(&c, &lab, stream, &rest).await;
    // What finishSecret does: AWSCURRENT moves to the new version.
    let described =
        c.sm.describe_secret()
            .secret_id(arn)
            .send()
            .await
            .or_panic("DescribeSecret");
    let old_current = described
        .version_ids_to_stages()
        .into_iter()
        .flatten()
        .find(|(v, stages)| *v != NEW_VERSION && stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(v, _)| v.clone())
        .expect("a current version");
    c.sm.update_secret_version_stage()
        .secret_id(arn)
        .version_stage("AWSCURRENT")
        .move_to_version_id(NEW_VERSION)
        .remove_from_version_id(old_current)
        .send()
        .await
        .or_panic("UpdateSecretVersionStage");

    let out = running.finish();
    assert_eq!(exit_code(&out), 0, "{}", describe(&out));
    let trace = trace_lines(&out);
    let expected = [
        ["createSecret", "✓ put the new version (AWSPENDING)"],
        ["setSecret", "✓ set the new password in the database"],
        [
            "testSecret",
            "✓ signed into the database with the new password",
        ],
        ["finishSecret", "✓ moved AWSCURRENT to the new version"],
        ["AWSCURRENT moved to version", NEW_VERSION],
    ];
    assert_eq!(trace.len(), expected.len(), "{}", describe(&out));
    for (line, needles) in trace.iter().zip(expected) {
        assert!(
            needles.iter().all(|n| line.contains(n)),
            "{needles:?} in {line:?}:\n{}",
            describe(&out)
        );
    }
    let times: Vec<f64> = trace.iter().map(|l| elapsed_of(l)).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "{times:?}:\n{}",
        describe(&out)
    );
    assert!(
        common::stderr_of(&out).contains(&format!(
            "Rotation succeeded: version {NEW_VERSION} is AWSCURRENT."
        )),
        "{}",
        describe(&out)
    );
    assert_nothing_leaked(&out);
}

#[tokio::test]
async fn rotate_wait_names_the_failed_step_its_cause_and_only_that_steps_checks() {
    let server = MotoServer::start();
    let c = server.clients().await;
    // The lab's Lambda sits in the database's subnets with its security
    // group, which does not admit itself: NET002 fails (setSecret's
    // database path). Without the invoke permission LAM006 fails too, but
    // that would break createSecret, which this rotation passes.
    let lab = Lab::without_logs(&c).await;
    lab.clear_pending(&c).await;
    lab.remove_invoke_permission(&c).await;
    put_pending_version(&c, &lab).await;
    let proxy = rotating_proxy(&server, &lab);

    // The full diagnosis fails both checks: the focused one must drop one.
    let full = proxy.run_doctor(&["diagnose", &lab.secret_name, "--output", "json"]);
    let (_, full) = parse_report(&full, "diagnose");
    for check in ["NET002", "LAM006"] {
        assert!(
            findings_of(&full, check)
                .iter()
                .any(|f| f["status"] == "fail"),
            "{check} does not fail in the full diagnosis: {full:#}"
        );
    }

    let mut running = Running::start(&proxy, &lab, &["--output", "json"]);
    running.wait_for(&["Rotation started", NEW_VERSION]);
    let stream = "2026/01/01/[$LATEST]bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    write_lines(&c, &lab, stream, &create_secret_lines(&lab)).await;
    running.wait_for(&["createSecret", "✓"]);
    let arn = &lab.secret_arn;
    let set_secret = invocation(
        "3e9d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c02",
        &[
            ("ERROR", format!("{SET_SECRET_ERROR} {arn}")),
            (
                "",
                format!("[ERROR] ValueError: Unable to log into database with previous, current, or pending secret of secret arn {arn}\nTraceback (most recent call last):\n  File \"/var/task/lambda_function.py\", line 140, in lambda_handler\n    set_secret(service_client, arn, token)"),
            ),
        ],
    );
    write_lines(&c, &lab, stream, &set_secret).await;
    let out = running.finish();

    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let trace = trace_lines(&out);
    assert_eq!(trace.len(), 2, "{}", describe(&out));
    assert!(
        trace[0].contains("createSecret") && trace[0].contains('✓'),
        "{trace:?}"
    );
    assert!(
        trace[1].contains("setSecret")
            && trace[1].contains(
                "✗ Unable to log into database with previous, current, or pending secret"
            ),
        "{trace:?}"
    );
    assert!(elapsed_of(&trace[0]) <= elapsed_of(&trace[1]), "{trace:?}");
    let stderr = common::stderr_of(&out);
    assert!(
        stderr.contains(&format!(
            "Rotation of version {NEW_VERSION} failed at setSecret: the function could not log into the database (db-login-failed)."
        )),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("Diagnosing what setSecret needs (the database path and credentials)"),
        "{}",
        describe(&out)
    );
    let (_, report) = parse_report(&out, "rotate --wait diagnosis");
    assert!(
        findings_of(&report, "NET002")
            .iter()
            .any(|f| f["status"] == "fail"),
        "{report:#}"
    );
    for dropped in ["LAM006", "LOG001", "ROT002"] {
        assert!(
            findings_of(&report, dropped).is_empty(),
            "{dropped}: {report:#}"
        );
    }
    assert_nothing_leaked(&out);
}
