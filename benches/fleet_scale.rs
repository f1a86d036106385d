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
//!    the binary's peak resident memory (`wait4`'s rusage).
//! 2. An organisation: 20 member accounts × 2 regions with 50 rotating
//!    secrets each, scanned through one role name, against one member's
//!    two regions alone, so the accounts are seen to overlap.
//!
//! The dev profile, as benches/aws_calls.rs (a release build of the AWS SDK
//! takes about half an hour on the project's 2-core machine):
//!
//!     cargo bench --bench fleet_scale --profile dev
//!     SECRETS=1000 ACCOUNTS=5 cargo bench --bench fleet_scale --profile dev

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::fleet;
use common::lab::OrPanic;
use common::proxy::Proxy;
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

/// One run of the binary: its exit status, wall time and peak RSS.
struct Measured {
    status: ExitStatus,
    wall: Duration,
    peak_rss_kib: i64,
    report: serde_json::Value,
    stderr: String,
}

/// Runs `rotation-doctor ARGS --endpoint-url ENDPOINT --output json`, its
/// output in files (so no pipe holds it back), and reaps it with `wait4`
/// for its own resource usage.
fn run_measured(args: &[&str], endpoint: &str) -> Measured {
    let dir = tempfile::tempdir().expect("a working directory");
    let out_path = dir.path().join("report.json");
    let err_path = dir.path().join("stderr.txt");
    let mut cmd = common::doctor_command(&common::doctor_env(), dir.path());
    cmd.args(args)
        .args(["--endpoint-url", endpoint, "--output", "json"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("report file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    // Reaped by wait4 below, which std's Child::wait would not let us read
    // the child's own rusage from.
    #[allow(clippy::zombie_processes)]
    let child = cmd.spawn().expect("spawn rotation-doctor");
    let pid = child.id() as libc::pid_t;
    let mut raw_status: libc::c_int = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child, which
    // std's Child does not reap as long as it is not waited on.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut raw_status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(reaped, pid, "wait4 on rotation-doctor");
    let report = std::fs::read(&out_path).expect("the report");
    Measured {
        status: ExitStatus::from_raw(raw_status),
        wall,
        peak_rss_kib: usage.ru_maxrss,
        report: serde_json::from_slice(&report).unwrap_or(serde_json::Value::Null),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    }
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

async fn one_account(size: usize, plain: usize) {
    let server = MotoServer::start();
    let clients = server.clients().await;
    let built = Instant::now();
    let lambdas = fleet::build_spread(&clients, VPCS, LAMBDAS_PER_VPC, size, plain).await;
    println!(
        "One account: {size} rotating secrets over {VPCS} VPCs and {} rotation Lambdas, {plain} that do not rotate (built in {:.0} s)",
        lambdas.len(),
        built.elapsed().as_secs_f64()
    );

    // The floor before and after the scan: moto slows as it serves.
    let floor_proxy = Proxy::start(server.port(), LATENCY, Vec::new());
    let (pages, floor_before) = listing_floor(&floor_proxy.endpoint()).await;
    let proxy = Proxy::start(server.port(), LATENCY, Vec::new());
    let run = run_measured(&["scan"], &proxy.endpoint());
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
    println!("| wall | {:.2} s |", run.wall.as_secs_f64());
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
    println!("calls by operation: {}", calls_line(&calls));
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
    one_account(size, plain).await;
    if accounts > 0 {
        organisation(accounts, per_region).await;
    }
}
