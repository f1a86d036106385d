//! AWS calls and wall time of `diagnose` (one secret) and `scan` (the fleet
//! of tests/common/fleet.rs: rotating secrets sharing three rotation Lambdas
//! in one VPC, plus ten that do not rotate), measured through the
//! call-counting proxy in front of moto at 0 ms and 50 ms of added latency
//! per call. Sequential round trips on the critical path are derived from
//! the difference. Not a test: it asserts nothing and prints a table.
//!
//!     cargo bench --bench aws_calls            # FLEET=200 by default
//!     FLEET=50 cargo bench --bench aws_calls

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::fleet;
use common::proxy::Proxy;
use common::{run_doctor, MotoServer};

const LATENCY: Duration = Duration::from_millis(50);

fn measure(server: &MotoServer, args: &[&str], latency: Duration) -> (usize, Duration) {
    let proxy = Proxy::start(server.port(), latency, Vec::new());
    let endpoint = proxy.endpoint();
    let mut all = args.to_vec();
    all.extend(["--output", "json", "--endpoint-url", endpoint.as_str()]);
    let started = Instant::now();
    let out = run_doctor(&all);
    let wall = started.elapsed();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        common::describe(&out)
    );
    (proxy.total_calls(), wall)
}

/// Best of three, so moto's first-call warm-up does not count.
fn best(server: &MotoServer, args: &[&str], latency: Duration) -> (usize, Duration) {
    (0..3)
        .map(|_| measure(server, args, latency))
        .min_by_key(|(_, wall)| *wall)
        .unwrap_or_default()
}

fn report(name: &str, server: &MotoServer, args: &[&str]) {
    let (calls, fast) = best(server, args, Duration::ZERO);
    let (_, slow) = best(server, args, LATENCY);
    let round_trips = (slow.saturating_sub(fast)).as_secs_f64() / LATENCY.as_secs_f64();
    println!(
        "| {name} | {calls} | {round_trips:.1} | {:.2} s | {:.2} s |",
        fast.as_secs_f64(),
        slow.as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    let size: usize = std::env::var("FLEET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let server = MotoServer::start();
    let c = server.clients().await;
    let fleet = fleet::build(&c, size, 10).await;
    println!(
        "| command | AWS calls | sequential round trips | wall at 0 ms | wall at {} ms |",
        LATENCY.as_millis()
    );
    println!("| --- | --- | --- | --- | --- |");
    let (first, _) = &fleet.rotating[0];
    report("diagnose (1 secret)", &server, &["diagnose", first]);
    report(
        &format!("scan ({size} secrets, 3 Lambdas, 1 VPC)"),
        &server,
        &["scan"],
    );
}
