//! AWS calls, round trips on the critical path and wall time of `diagnose`
//! (the lab of tests/common/lab.rs) and `scan` (the fleet of
//! tests/common/fleet.rs: rotating secrets sharing three rotation Lambdas in
//! one VPC, plus ten that do not rotate), through the call-counting proxy in
//! front of moto. The round trips are counted from the proxy's timeline
//! with 500 ms added to every call (`proxy::critical_path`), not derived
//! from wall times. Not a test: it asserts nothing and prints a table, then
//! each command's critical chain and its calls round by round.
//!
//! The dev profile, because a release build of the AWS SDK takes about half
//! an hour on the project's 2-core machine (moto's time dominates anyway):
//!
//!     cargo bench --bench aws_calls --profile dev     # FLEET=200 by default
//!     FLEET=50 cargo bench --bench aws_calls --profile dev

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::fleet;
use common::lab::Lab;
use common::proxy::{critical_path, rounds, Call, Proxy, ROUND_TRIP_LATENCY};
use common::MotoServer;

struct Run {
    calls: usize,
    timeline: Vec<Call>,
    wall: Duration,
}

fn measure(server: &MotoServer, args: &[&str], latency: Duration) -> Run {
    let proxy = Proxy::start(server.port(), latency, Vec::new());
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let started = Instant::now();
    let out = proxy.run_doctor(&all);
    let wall = started.elapsed();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        common::describe(&out)
    );
    Run {
        calls: proxy.total_calls(),
        timeline: proxy.timeline(),
        wall,
    }
}

/// Three runs; the best wall, so moto's first-call warm-up does not count.
fn three(server: &MotoServer, args: &[&str], latency: Duration) -> (Vec<Run>, Duration) {
    let runs: Vec<Run> = (0..3).map(|_| measure(server, args, latency)).collect();
    let best = runs.iter().map(|r| r.wall).min().unwrap_or_default();
    (runs, best)
}

/// `n`, or `lo–hi` when the runs disagree.
fn span(values: impl Iterator<Item = usize>) -> String {
    let values: Vec<usize> = values.collect();
    let (lo, hi) = (values.iter().min(), values.iter().max());
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo != hi => format!("{lo}–{hi}"),
        (Some(n), _) => n.to_string(),
        _ => "-".to_string(),
    }
}

/// Prints the table row; returns the timeline of the run with the longest
/// critical path.
fn report(name: &str, server: &MotoServer, args: &[&str]) -> Vec<Call> {
    let (fast_runs, fast) = three(server, args, Duration::ZERO);
    let (slow_runs, slow) = three(server, args, ROUND_TRIP_LATENCY);
    let all = fast_runs.iter().chain(&slow_runs);
    println!(
        "| {name} | {} | {} | {:.2} s | {:.2} s |",
        span(all.map(|r| r.calls)),
        span(slow_runs.iter().map(|r| critical_path(&r.timeline).len())),
        fast.as_secs_f64(),
        slow.as_secs_f64()
    );
    slow_runs
        .into_iter()
        .map(|r| r.timeline)
        .max_by_key(|t| critical_path(t).len())
        .unwrap_or_default()
}

fn print_chain(name: &str, timeline: &[Call]) {
    println!("\n{name}: {}", critical_path(timeline).join(" → "));
    for (n, round) in rounds(timeline).into_iter().enumerate() {
        // Sorted, repeats counted: the order within a round is noise.
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for op in round {
            *count.entry(op).or_default() += 1;
        }
        let ops: Vec<String> = count
            .into_iter()
            .map(|(op, n)| if n > 1 { format!("{op} ×{n}") } else { op })
            .collect();
        println!("  {}. {}", n + 1, ops.join(", "));
    }
}

#[tokio::main]
async fn main() {
    let size: usize = std::env::var("FLEET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // diagnose on the lab, as tests/round_trips.rs; scan on a fleet of its
    // own.
    let lab_server = MotoServer::start();
    let lab = Lab::build(&lab_server.clients().await).await;
    let server = MotoServer::start();
    let fleet_clients = server.clients().await;
    fleet::build(&fleet_clients, size, 10).await;
    println!(
        "| command | AWS calls | round trips on the critical path | wall at 0 ms per call | wall at {} ms per call |",
        ROUND_TRIP_LATENCY.as_millis()
    );
    println!("| --- | --- | --- | --- | --- |");
    let diagnose = report(
        "diagnose (the lab)",
        &lab_server,
        &["diagnose", &lab.secret_name],
    );
    let scan = report(
        &format!("scan ({size} secrets, 3 Lambdas, 1 VPC)"),
        &server,
        &["scan"],
    );
    print_chain("diagnose", &diagnose);
    print_chain("scan", &scan);
}
