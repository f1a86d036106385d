//! How many AWS calls `diagnose` of the lab makes, and how many of them wait
//! on each other: counted by the proxy in front of moto (calls, and the
//! longest chain of calls each sent after the previous one's answer), not
//! timed. README "## Performance" quotes these figures.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::lab::Lab;
use common::proxy::{critical_path, rounds, Call, Proxy, ROUND_TRIP_LATENCY};
use common::{describe, exit_code, MotoServer};

/// Every call of the lab's diagnosis (24), by operation. Two DescribeSubnets
/// (the Lambda's subnets, then the VPC's) and one DescribeVpcAttribute per
/// attribute; everything else once. No KMS call (the secret uses the AWS
/// managed key) and no DescribeDBClusters (the connection JSON names an
/// instance).
const DIAGNOSE_CALLS: [(&str, usize); 23] = [
    ("cloudtrail:LookupEvents", 1),
    ("ec2:DescribeInternetGateways", 1),
    ("ec2:DescribeNatGateways", 1),
    ("ec2:DescribeNetworkAcls", 1),
    ("ec2:DescribeRouteTables", 1),
    ("ec2:DescribeSecurityGroups", 1),
    ("ec2:DescribeSubnets", 2),
    ("ec2:DescribeVpcAttribute", 2),
    ("ec2:DescribeVpcEndpoints", 1),
    ("ec2:DescribeVpcs", 1),
    ("iam:GetRole", 1),
    ("iam:GetRolePolicy", 1),
    ("iam:ListAttachedRolePolicies", 1),
    ("iam:ListRolePolicies", 1),
    ("iam:SimulatePrincipalPolicy", 1),
    ("lambda:GetFunctionConfiguration", 1),
    ("lambda:GetPolicy", 1),
    ("lambda:ListTags", 1),
    ("logs:FilterLogEvents", 1),
    ("rds:DescribeDBInstances", 1),
    ("secretsmanager:DescribeSecret", 1),
    ("secretsmanager:GetSecretValue", 1),
    ("secretsmanager:ListSecretVersionIds", 1),
];

/// The round trips of the lab's diagnosis, as the proxy's timeline shows
/// them:
/// 1. the secret: DescribeSecret, GetSecretValue, ListSecretVersionIds;
/// 2. what the secret names: the Lambda's configuration, the database
///    (from the connection JSON), CloudTrail's rotation events;
/// 3. what the configuration names: the Lambda's subnets, resource policy,
///    tags, log events and execution role (GetRole, its two policy lists, the
///    simulation);
/// 4. the VPC of those subnets, every kind at once, beside the role's
///    inline policy (named by ListRolePolicies).
///
/// DescribeSecret → GetFunctionConfiguration → DescribeSubnets →
/// DescribeVpcs each need the answer before, so fewer than four means the
/// proxy's timeline is wrong, and more means a new wait.
const DIAGNOSE_ROUND_TRIPS: usize = 4;

#[tokio::test]
async fn diagnose_of_the_lab_makes_its_calls_in_four_round_trips() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;

    let proxy = Proxy::start(server.port(), ROUND_TRIP_LATENCY, Vec::new());
    let out = proxy.run_doctor(&["diagnose", &lab.secret_name, "--output", "json"]);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));

    let expected: BTreeMap<String, usize> = DIAGNOSE_CALLS
        .iter()
        .map(|(op, n)| (op.to_string(), *n))
        .collect();
    assert_eq!(proxy.calls(), expected);

    let timeline = proxy.timeline();
    let chain = critical_path(&timeline);
    assert_eq!(
        chain.len(),
        DIAGNOSE_ROUND_TRIPS,
        "critical path {}; by round: {:#?}",
        chain.join(" → "),
        rounds(&timeline)
    );
}

/// The counting itself, on a made-up timeline: calls that overlap share a
/// round, a call that started after another's answer comes a round later,
/// and a long call beside them all adds no round.
#[test]
fn the_critical_path_is_the_longest_chain_of_calls_that_waited() {
    let zero = Instant::now();
    let call = |operation: &str, from: u64, to: u64| Call {
        operation: operation.to_string(),
        started: zero + Duration::from_millis(from),
        ended: zero + Duration::from_millis(to),
    };
    // a, b and the long f together; c and d after a and b; e after c and d.
    let timeline = [
        call("b", 1, 90),
        call("a", 0, 100),
        call("c", 101, 200),
        call("d", 105, 210),
        call("e", 220, 300),
        call("f", 0, 290),
    ];
    assert_eq!(critical_path(&timeline), ["a", "d", "e"]);
    assert_eq!(
        rounds(&timeline),
        [vec!["a", "f", "b"], vec!["c", "d"], vec!["e"]]
    );
    assert!(critical_path(&[]).is_empty());
}
