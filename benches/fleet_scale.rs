//! `scan` at organisation scale, through the call-counting proxy of
//! tests/common/proxy.rs at 50 ms a call in front of moto. Not a test: it
//! asserts nothing about speed and prints what it measured.
//!
//! 1. One account: 5,000 rotating secrets over 5 VPCs and 20 rotation
//!    Lambdas (4 a VPC, one role a VPC), plus 500 that do not rotate. It
//!    prints the scan's AWS calls against the calls the fleet cannot do
//!    without (ListSecrets pages, BatchGetSecretValue calls, and what one
//!    Lambda, VPC and role take), its wall time against the pagination
//!    floor (a plain paginated ListSecrets of the same account through the
//!    same proxy, timed in the same run, before and after the scan), and
//!    the binary's peak resident memory (GNU time's, so the Debian package
//!    `time` must be installed).
//! 2. An organisation: 20 member accounts × 2 regions with 50 rotating
//!    secrets each, scanned through one role name, against one member's
//!    two regions alone, so the accounts are seen to overlap.
//!
//! The dev profile, as benches/aws_calls.rs (a release build of the AWS SDK
//! takes about half an hour on the project's 2-core machine):
//!
//!     cargo bench --bench fleet_scale --profile dev
//!     SECRETS=1000 ACCOUNTS=5 cargo bench --bench fleet_scale --profile dev
//!     LOG_LINES=20 ACCOUNTS=0 cargo bench --bench fleet_scale

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::fleet;
use common::lab::OrPanic;
use common::proxy::{Call, Proxy};
use common::MotoServer;

/// The figure: a call through the proxy costs at least this.
const LATENCY: Duration = Duration::from_millis(50);
const VPCS: usize = 5;
const LAMBDAS_PER_VPC: usize = 4;
const ROLE: &str = "RotationDoctorRead";
const REGIONS: [&str; 2] = ["us-east-1", "us-west-2"];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const GNU_TIME: &str = "/usr/bin/time";

/// One run of the binary: its exit status, wall time and peak RSS.
struct Measured {
    status: ExitStatus,
    wall: Duration,
    peak_rss_kib: u64,
    cpu_seconds: f64,
    report: serde_json::Value,
    stderr: String,
}

/// Runs `rotation-doctor ARGS --endpoint-url ENDPOINT --output json`
/// under GNU time for its peak RSS, its output in files (so no pipe holds
/// it back). Not this process's own rusage of the child: a child's maxrss
/// starts from the RSS of the process that forked it (Linux keeps the
/// larger at exec), and this one holds a 5,000-secret report by then; GNU
/// time forks it from a small process.
fn run_measured(args: &[&str], endpoint: &str) -> Measured {
    let dir = tempfile::tempdir().expect("a working directory");
    let out_path = dir.path().join("report.json");
    let err_path = dir.path().join("stderr.txt");
    let rss_path = dir.path().join("maxrss.txt");
    let mut cmd = Command::new(GNU_TIME);
    cmd.env_clear()
        .envs(common::doctor_env())
        .current_dir(dir.path())
        .args(["-f", "%M %U %S", "-o"])
        .arg(&rss_path)
        .arg(common::doctor_bin())
        .args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("report file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {GNU_TIME} (Debian package time): {e}"));
    let wall = started.elapsed();
    let report = std::fs::read(&out_path).expect("the report");
    // "KIB USER SYS" on the last line (GNU time puts a note on the exit
    // status before it).
    let timed = std::fs::read_to_string(&rss_path).unwrap_or_default();
    let fields: Vec<&str> = timed
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let number = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (peak_rss_kib, cpu) = (number(0) as u64, number(1) + number(2));
    Measured {
        status,
        wall,
        peak_rss_kib,
        cpu_seconds: cpu,
        report: serde_json::from_slice(&report).unwrap_or(serde_json::Value::Null),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// moto's own time per call of each operation (the proxy's time less the
/// latency it adds), on average: moto answers one call at a time in
/// Python, so its time is the floor of a run's wall on moto, not AWS's.
fn moto_time(timeline: &[Call]) -> (Duration, String) {
    let mut by_op: BTreeMap<&str, (Duration, u32)> = BTreeMap::new();
    for call in timeline {
        let spent = call
            .ended
            .duration_since(call.started)
            .saturating_sub(LATENCY);
        let entry = by_op.entry(call.operation.as_str()).or_default();
        entry.0 += spent;
        entry.1 += 1;
    }
    let total = by_op.values().map(|(spent, _)| *spent).sum();
    let line = by_op
        .iter()
        .map(|(op, (spent, n))| {
            format!(
                "{op} {:.0} ms",
                spent.as_secs_f64() * 1000.0 / f64::from(*n)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    (total, line)
}

/// A plain paginated ListSecrets through `endpoint`, as the scan asks for
/// it (100 a page): its pages and wall time.
async fn listing_floor(endpoint: &str) -> (usize, Duration) {
    let client = aws_sdk_secretsmanager::Client::new(&common::sdk_config(endpoint).await);
    let started = Instant::now();
    let mut pages = client
        .list_secrets()
        .max_results(100)
        .into_paginator()
        .send();
    let mut count = 0;
    while let Some(page) = pages.next().await {
        page.or_panic("ListSecrets");
        count += 1;
    }
    (count, started.elapsed())
}

fn calls_line(calls: &BTreeMap<String, usize>) -> String {
    calls
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn targets(report: &serde_json::Value) -> usize {
    report["targets"].as_array().map_or(0, Vec::len)
}

fn check_exit(what: &str, run: &Measured) {
    assert!(
        matches!(run.status.code(), Some(0..=2)),
        "{what}: {:?}\n{}",
        run.status,
        run.stderr
    );
}

/// `lines` lines of a successful rotation in each Lambda's log group, as a
/// rotation function writes each time it runs.
async fn seed_rotation_logs(c: &common::Clients, lambdas: &[String], lines: usize) {
    for arn in lambdas {
        let function = arn.rsplit(':').next().unwrap_or(arn);
        let messages: Vec<String> = (0..lines)
            .map(|i| format!("[INFO] finishSecret: Successfully set AWSCURRENT stage to version {i} for secret spread/app-{i:05}."))
            .collect();
        let group = format!("/aws/lambda/{function}");
        common::lab::put_log_lines_in(c, &group, "2026/01/01/[$LATEST]bench", &messages).await;
    }
}

async fn one_account(size: usize, plain: usize, log_lines: usize) {
    let server = MotoServer::start();
    let clients = server.clients().await;
    let built = Instant::now();
    let lambdas = fleet::build_spread(&clients, VPCS, LAMBDAS_PER_VPC, size, plain).await;
    if log_lines > 0 {
        seed_rotation_logs(&clients, &lambdas, log_lines).await;
    }
    println!(
        "One account: {size} rotating secrets over {VPCS} VPCs and {} rotation Lambdas, {plain} that do not rotate, {log_lines} log lines a Lambda (built in {:.0} s)",
        lambdas.len(),
        built.elapsed().as_secs_f64()
    );

    // The floor before and after the scan: moto slows as it serves.
    let floor_proxy = Proxy::start(server.port(), LATENCY, Vec::new());
    let moto_before_floor = server.cpu_seconds();
    let (pages, floor_before) = listing_floor(&floor_proxy.endpoint()).await;
    let moto_floor = server.cpu_seconds() - moto_before_floor;
    let proxy = Proxy::start(server.port(), LATENCY, Vec::new());
    let moto_before_scan = server.cpu_seconds();
    let run = run_measured(&["scan", "--stats"], &proxy.endpoint());
    let moto_scan = server.cpu_seconds() - moto_before_scan;
    check_exit("scan", &run);
    let (_, floor_after) = listing_floor(&floor_proxy.endpoint()).await;

    let calls = proxy.calls();
    let batches = size.div_ceil(20);
    // What one Lambda, VPC and role take, read off the scan itself: every
    // call that is neither a listing page nor a batch of values.
    let shared: usize = calls
        .iter()
        .filter(|(op, _)| !op.ends_with("ListSecrets") && !op.ends_with("BatchGetSecretValue"))
        .map(|(_, n)| n)
        .sum();
    let floor = floor_before.max(floor_after);
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| targets in the report | {} |", targets(&run.report));
    println!(
        "| AWS calls | {} ({pages} ListSecrets pages and {batches} batches of 20 at the least; {shared} for Lambdas, VPCs, roles, databases, logs and events) |",
        proxy.total_calls()
    );
    // --stats times the run up to the report; the rest is writing it.
    let scanned = run.report["stats"]["wall_seconds"].as_f64().unwrap_or(0.0);
    println!(
        "| wall | {:.2} s (CPU {:.2} s): {scanned:.2} s to the report, {:.2} s writing it and exiting |",
        run.wall.as_secs_f64(),
        run.cpu_seconds,
        run.wall.as_secs_f64() - scanned
    );
    println!(
        "| pagination floor ({pages} pages) | {:.2} s before, {:.2} s after |",
        floor_before.as_secs_f64(),
        floor_after.as_secs_f64()
    );
    println!(
        "| wall / floor | {:.2} |",
        run.wall.as_secs_f64() / floor.as_secs_f64()
    );
    println!("| peak RSS | {:.0} MB |", run.peak_rss_kib as f64 / 1024.0);
    println!(
        "| moto's CPU (one Python process) | {moto_scan:.2} s during the scan, {moto_floor:.2} s during the floor's listing |"
    );
    println!("calls by operation: {}", calls_line(&calls));
    let timeline = proxy.timeline();
    let (busy, per_call) = moto_time(&timeline);
    let span = |ops: &[&str]| {
        let first = timeline.iter().map(|c| c.started).min();
        let last = timeline
            .iter()
            .filter(|c| ops.is_empty() || ops.iter().any(|op| c.operation.ends_with(op)))
            .map(|c| c.ended)
            .max();
        match (first, last) {
            (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
            _ => 0.0,
        }
    };
    println!(
        "from the first call: listing done at {:.2} s, values read at {:.2} s, last call done at {:.2} s",
        span(&["ListSecrets"]),
        span(&["BatchGetSecretValue"]),
        span(&[])
    );
    println!(
        "moto's time answering the scan's calls: {:.2} s in all; per call: {per_call}",
        busy.as_secs_f64()
    );
}

async fn organisation(accounts: usize, per_region: usize) {
    let server = MotoServer::start();
    let built = Instant::now();
    let names: Vec<String> = (0..accounts).map(|n| format!("member-{n:02}")).collect();
    let members = common::accounts::create_organization(&server, &names).await;
    for account in &members {
        for region in REGIONS {
            let c = common::accounts::clients_in(&server, account, region).await;
            fleet::build_small_region(&c, region, per_region).await;
        }
    }
    println!(
        "\nAn organisation: {accounts} member accounts × {} regions with {per_region} rotating secrets each (built in {:.0} s)",
        REGIONS.len(),
        built.elapsed().as_secs_f64()
    );
    let regions: Vec<&str> = REGIONS.iter().flat_map(|r| ["--region", r]).collect();
    println!("| scan | targets | AWS calls | wall | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    let mut one = vec!["scan", "--role-name", ROLE, "--account", &members[0]];
    one.extend(&regions);
    let mut all = vec!["scan", "--role-name", ROLE, "--organization"];
    all.extend(&regions);
    for (name, args) in [("one account", one), ("the organisation", all)] {
        let proxy = Proxy::start(server.port(), LATENCY, Vec::new());
        let run = run_measured(&args, &proxy.endpoint());
        check_exit(name, &run);
        println!(
            "| {name} | {} | {} | {:.2} s | {:.0} MB |",
            targets(&run.report),
            proxy.total_calls(),
            run.wall.as_secs_f64(),
            run.peak_rss_kib as f64 / 1024.0
        );
    }
}

#[tokio::main]
async fn main() {
    let size = env_number("SECRETS", 5000);
    let plain = env_number("PLAIN", size / 10);
    let accounts = env_number("ACCOUNTS", 20);
    let per_region = env_number("PER_REGION", 50);
    // With lines to mask, a diagnosis waits for every value of the region.
    let log_lines = env_number("LOG_LINES", 0);
    one_account(size, plain, log_lines).await;
    if accounts > 0 {
        organisation(accounts, per_region).await;
    }
}
