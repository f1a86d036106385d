//! Shared integration-test harness: a moto server per test, AWS SDK clients
//! pointed at it, and helpers that run the real `rotation-doctor` binary.
//!
//! Every test starts its own `moto_server` on a free loopback port, so tests
//! can run in parallel without sharing state. The server is killed on drop.

#![allow(dead_code)] // each test binary uses a different subset of the helpers

pub mod accounts;
pub mod aws_only;
pub mod fleet;
pub mod lab;
pub mod proxy;
pub mod template;
pub mod zip;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::Value;

/// Region every test uses.
pub const REGION: &str = "us-east-1";

/// How long a single run of the binary may take before the watchdog kills it
/// and fails the test. A generous bound: the point is "it returns", not speed.
pub const DOCTOR_WATCHDOG: Duration = Duration::from_secs(60);

/// How long moto gets to start answering `GET /moto-api/`.
const MOTO_START_DEADLINE: Duration = Duration::from_secs(30);

/// How many times to pick a new port when the one we picked was taken
/// between our probe and moto's bind.
const PORT_ATTEMPTS: usize = 5;

/// Lines of moto's stderr kept for failure messages.
const LOG_TAIL: usize = 200;

// ---------------------------------------------------------------------------
// moto server
// ---------------------------------------------------------------------------

/// A `moto_server` child process listening on 127.0.0.1:`port`.
pub struct MotoServer {
    child: Child,
    port: u16,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl MotoServer {
    /// Starts moto's standalone server on a free loopback port, waits until it
    /// answers, and switches Lambda to the Docker-less backend.
    ///
    /// The server binary is `$MOTO_SERVER` if set, else
    /// `<workspace>/.venv/bin/moto_server`. A missing binary is a test
    /// failure, with instructions, never a skip.
    pub fn start() -> MotoServer {
        let bin = moto_server_binary();
        let mut last_err = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            match Self::spawn_on(&bin, port) {
                Ok(server) => {
                    server.configure();
                    return server;
                }
                Err(SpawnError::PortTaken(msg)) => last_err = msg,
                Err(SpawnError::Fatal(msg)) => panic!("{msg}"),
            }
        }
        panic!("could not start moto_server after {PORT_ATTEMPTS} port attempts: {last_err}");
    }

    fn spawn_on(bin: &Path, port: u16) -> Result<MotoServer, SpawnError> {
        let mut child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Quiet Python's own buffering so the "Running on" line arrives
            // as soon as the port is bound.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}\n{}", bin.display(), INSTALL_HINT));

        // Drain both pipes for the whole life of the child (moto logs every
        // request; a full pipe would block it). Keep a tail for diagnostics.
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        spawn_drain(stdout, Arc::clone(&log));
        spawn_drain(stderr, Arc::clone(&log));

        let mut server = MotoServer { child, port, log };
        let deadline = Instant::now() + MOTO_START_DEADLINE;
        let running_line = format!("Running on http://127.0.0.1:{port}");
        loop {
            if let Some(status) = server.child.try_wait().expect("try_wait on moto_server") {
                let tail = server.log_tail();
                if tail.contains("in use") {
                    return Err(SpawnError::PortTaken(format!("port {port}: {tail}")));
                }
                return Err(SpawnError::Fatal(format!(
                    "moto_server exited early ({status}) on port {port}.\n--- moto log ---\n{tail}\n{INSTALL_HINT}"
                )));
            }
            // Our own child must have bound the port (it says so) before a
            // successful GET counts: otherwise a foreign process that grabbed
            // the same port could answer for it.
            let bound = server.log_tail().contains(&running_line);
            if bound {
                if let Ok((200, _)) = http_request(port, "GET", "/moto-api/", None) {
                    return Ok(server);
                }
            }
            if Instant::now() > deadline {
                let tail = server.log_tail();
                // Drop kills the child.
                drop(server);
                return Err(SpawnError::Fatal(format!(
                    "moto_server on port {port} did not answer GET /moto-api/ within {MOTO_START_DEADLINE:?}.\n--- moto log ---\n{tail}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `{"lambda": {"use_docker": false}}`: must precede any CreateFunction
    /// (functions made before the switch are invisible after it).
    fn configure(&self) {
        let (status, body) = http_request(
            self.port,
            "POST",
            "/moto-api/config",
            Some(r#"{"lambda": {"use_docker": false}}"#),
        )
        .unwrap_or_else(|e| panic!("POST /moto-api/config failed: {e}"));
        assert!(
            (200..300).contains(&status),
            "POST /moto-api/config answered {status}: {body}"
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CPU seconds moto's process has used so far (user and system,
    /// every thread), from /proc: moto answers in one Python process, so
    /// this is how long a run kept it busy.
    #[allow(dead_code)] // benches only
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th of the line, in clock ticks (100 a second on
        // Linux's usual USER_HZ).
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let ticks: f64 = after
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|field| field.parse::<f64>().ok())
            .sum();
        ticks / 100.0
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url` and the SDK clients.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines moto wrote (its request log and any tracebacks).
    pub fn log_tail(&self) -> String {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// A JSON dump of every moto model (`GET /moto-api/data.json`), handy in
    /// failure messages.
    pub fn state_dump(&self) -> String {
        match http_request(self.port, "GET", "/moto-api/data.json", None) {
            Ok((_, body)) => body,
            Err(e) => format!("<data.json unavailable: {e}>"),
        }
    }

    /// SDK clients for every service the lab touches, pointed at this server.
    pub async fn clients(&self) -> Clients {
        Clients::new(&sdk_config(&self.endpoint()).await)
    }

    /// Runs the binary with `args` followed by `--endpoint-url <this server>`.
    pub fn doctor(&self, args: &[&str]) -> Output {
        let endpoint = self.endpoint();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--endpoint-url", endpoint.as_str()]);
        run_doctor(&all)
    }

    /// `diagnose SECRET --output json [extra...] --endpoint-url <this server>`:
    /// the exit code and the parsed report. Fails the test on a panic or on
    /// output that is not JSON.
    pub fn diagnose_json(&self, secret: &str, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["diagnose", secret, "--output", "json"];
        args.extend_from_slice(extra);
        let out = self.doctor(&args);
        parse_report(&out, &format!("diagnose {secret} {extra:?}"))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum SpawnError {
    PortTaken(String),
    Fatal(String),
}

const INSTALL_HINT: &str = "moto's standalone server is required for the integration tests. \
Install it with:\n    python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'\n\
(run from the workspace root), or run `bash .ci/run`, or point MOTO_SERVER at a moto_server binary.";

fn moto_server_binary() -> PathBuf {
    let bin = match std::env::var_os("MOTO_SERVER") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".venv/bin/moto_server"),
    };
    if !bin.is_file() {
        panic!(
            "moto_server not found at {}.\n{INSTALL_HINT}",
            bin.display()
        );
    }
    bin
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spawn_drain<R: Read + Send + 'static>(pipe: R, log: Arc<Mutex<VecDeque<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            if log.len() == LOG_TAIL {
                log.pop_front();
            }
            log.push_back(line);
        }
    });
}

/// A loopback port nobody listens on right now (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A minimal HTTP/1.0 client: enough for moto's control API.
/// Returns (status code, body).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let timeout = Duration::from_secs(10);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("no HTTP status line in {head:?}"))?;
    Ok((status, body.to_string()))
}

// ---------------------------------------------------------------------------
// SDK clients
// ---------------------------------------------------------------------------

/// An SdkConfig for moto: endpoint, static credentials, us-east-1, one attempt
/// (moto answers unimplemented operations with 500s; retrying only slows a
/// failure down).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "rotation-doctor-tests",
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// One client per service the scenarios touch.
#[derive(Clone)]
pub struct Clients {
    pub sm: aws_sdk_secretsmanager::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub rds: aws_sdk_rds::Client,
    pub redshift: aws_sdk_redshift::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub iam: aws_sdk_iam::Client,
}

impl Clients {
    pub fn new(conf: &SdkConfig) -> Clients {
        Clients {
            sm: aws_sdk_secretsmanager::Client::new(conf),
            lambda: aws_sdk_lambda::Client::new(conf),
            ec2: aws_sdk_ec2::Client::new(conf),
            rds: aws_sdk_rds::Client::new(conf),
            redshift: aws_sdk_redshift::Client::new(conf),
            elasticache: aws_sdk_elasticache::Client::new(conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(conf),
            iam: aws_sdk_iam::Client::new(conf),
        }
    }
}

// ---------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------

pub fn doctor_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rotation-doctor")
}

/// The environment the binary runs in: only PATH and HOME from ours, plus
/// static test credentials and nothing that could reach a real account.
pub fn doctor_env() -> Vec<(String, String)> {
    let mut env = base_env();
    env.extend(
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// Like [`doctor_env`] but without any credentials.
pub fn base_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ["PATH", "HOME"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect();
    env.extend(
        [
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("NO_COLOR", "1"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// Runs `rotation-doctor ARGS` with [`doctor_env`] under the watchdog.
/// The bundled example snapshot's path, as an argument.
pub fn example() -> String {
    workspace_root()
        .join("examples/lab-failed-rotation.json")
        .to_string_lossy()
        .into_owned()
}

/// Stdout of `rotation-doctor ARGS`, which must exit with `code`.
pub fn output(args: &[&str], code: i32) -> String {
    let out = run_doctor(args);
    assert_eq!(exit_code(&out), code, "{args:?}: {}", describe(&out));
    stdout_of(&out)
}

pub fn run_doctor(args: &[&str]) -> Output {
    run_doctor_with_env(args, &doctor_env())
}

/// Runs `rotation-doctor ARGS` with exactly `env` (after env_clear), in a new
/// empty working directory, so a `.rotation-doctor.toml` where the tests run
/// cannot change a verdict and default journals do not pile up there (paths
/// given to the binary are absolute). Kills the child and fails the test if
/// it runs longer than [`DOCTOR_WATCHDOG`].
pub fn run_doctor_with_env(args: &[&str], env: &[(String, String)]) -> Output {
    let dir = tempfile::tempdir().expect("a working directory");
    let mut cmd = doctor_command(env, dir.path());
    cmd.args(args);
    run_with_watchdog(cmd, DOCTOR_WATCHDOG)
}

/// The binary with exactly `env` (after env_clear), run in `dir`.
pub fn doctor_command(env: &[(String, String)], dir: &Path) -> Command {
    let mut cmd = Command::new(doctor_bin());
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir);
    cmd
}

/// Spawns `cmd` with piped output and waits at most `limit` for it.
pub fn run_with_watchdog(mut cmd: Command, limit: Duration) -> Output {
    let description = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {description}: {e}"));
    let stdout = read_all_in_background(child.stdout.take().expect("stdout"));
    let stderr = read_all_in_background(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + limit;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!(
                "watchdog: {description} still running after {limit:?}; killed it.\nstderr so far:\n{}",
                String::from_utf8_lossy(&err)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn read_all_in_background<R: Read + Send + 'static>(
    mut pipe: R,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit code; a death by signal fails the test.
pub fn exit_code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}", describe(out)))
}

/// Exit code, stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        stdout_of(out),
        stderr_of(out)
    )
}

/// No panic and no backtrace, whatever the outcome.
pub fn assert_no_panic(out: &Output) {
    let err = stderr_of(out);
    let all = format!("{}{}", stdout_of(out), err);
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "the binary panicked or printed a backtrace hint:\n{}",
        describe(out)
    );
}

/// Exit code 2 and one non-empty line on stderr, no panic.
pub fn assert_user_error(out: &Output) -> String {
    assert_no_panic(out);
    assert_eq!(exit_code(out), 2, "expected exit 2:\n{}", describe(out));
    let err = stderr_of(out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stderr:\n{}",
        describe(out)
    );
    lines[0].to_string()
}

/// Parses a `--output json` report; fails the test with everything printed
/// when stdout is not JSON.
pub fn parse_report(out: &Output, what: &str) -> (i32, Value) {
    assert_no_panic(out);
    let code = exit_code(out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not a JSON report ({e}):\n{}",
            describe(out)
        )
    });
    assert_eq!(
        report["schema_version"],
        Value::from(1),
        "{what}: schema_version is not 1:\n{report:#}"
    );
    (code, report)
}

// ---------------------------------------------------------------------------
// Reading reports
// ---------------------------------------------------------------------------

/// All findings of all targets.
pub fn findings(report: &Value) -> Vec<&Value> {
    report["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("report has no targets array:\n{report:#}"))
        .iter()
        .flat_map(|t| {
            t["findings"]
                .as_array()
                .unwrap_or_else(|| panic!("target has no findings array:\n{t:#}"))
                .iter()
        })
        .collect()
}

/// The findings of one check.
pub fn findings_of<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    findings(report)
        .into_iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// Exactly the statuses the findings of `check` have (in report order).
pub fn statuses_of(report: &Value, check: &str) -> Vec<String> {
    findings_of(report, check)
        .iter()
        .map(|f| f["status"].as_str().unwrap_or("<none>").to_string())
        .collect()
}

/// Asserts that `check` has at least one finding and every one has `status`.
pub fn assert_check_status(report: &Value, check: &str, status: &str) {
    let st = statuses_of(report, check);
    assert!(
        !st.is_empty() && st.iter().all(|s| s == status),
        "expected every {check} finding to be {status}, got {st:?}:\n{report:#}"
    );
}

/// The first finding of `check` with `status`, or a failure showing the report.
pub fn finding_with<'a>(report: &'a Value, check: &str, status: &str) -> &'a Value {
    findings_of(report, check)
        .into_iter()
        .find(|f| f["status"] == status)
        .unwrap_or_else(|| panic!("no {status} {check} finding in:\n{report:#}"))
}

/// `evidence` as strings.
pub fn evidence(finding: &Value) -> Vec<String> {
    finding["evidence"]
        .as_array()
        .unwrap_or_else(|| panic!("finding has no evidence array:\n{finding:#}"))
        .iter()
        .map(|e| {
            e.as_str()
                .unwrap_or_else(|| panic!("evidence entry is not a string: {e}"))
                .to_string()
        })
        .collect()
}

/// Checks every finding against the documented schema.
pub fn assert_schema(report: &Value) {
    const STATUSES: [&str; 5] = ["fail", "warn", "pass", "unknown", "skipped"];
    const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
    for t in report["targets"].as_array().expect("targets") {
        assert!(t["secret"]["arn"].is_string(), "secret.arn: {t:#}");
        assert!(t["secret"]["name"].is_string(), "secret.name: {t:#}");
    }
    for f in findings(report) {
        for key in ["check", "title", "resource", "message", "remediation"] {
            assert!(f.get(key).is_some(), "finding lacks {key}:\n{f:#}");
        }
        for key in ["check", "title", "message"] {
            assert!(f[key].is_string(), "finding.{key} is not a string:\n{f:#}");
        }
        let status = f["status"].as_str().unwrap_or("");
        assert!(STATUSES.contains(&status), "bad status:\n{f:#}");
        let severity = f["severity"].as_str().unwrap_or("");
        assert!(SEVERITIES.contains(&severity), "bad severity:\n{f:#}");
        evidence(f);
    }
}

/// Fails the test unless `sarif` validates against the official SARIF 2.1.0
/// schema (tests/data/sarif-schema-2.1.0.json).
pub fn assert_valid_sarif(sarif: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("tests/data/sarif-schema-2.1.0.json"))
            .expect("the SARIF schema is readable"),
    )
    .expect("the SARIF schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
}
