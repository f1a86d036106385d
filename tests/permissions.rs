//! `rotation-doctor permissions` lists every call a diagnosis makes: the
//! proxy in front of moto records the calls, and each must be in the policy.

use crate::common;

use std::time::Duration;

use common::lab::Lab;
use common::proxy::Proxy;
use common::{run_doctor, stdout_of, MotoServer};
use serde_json::Value;

fn actions(args: &[&str]) -> Vec<String> {
    let out = run_doctor(args);
    let policy: Value = serde_json::from_str(&stdout_of(&out)).expect("the policy is JSON");
    policy["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_read_policy_covers_every_call_a_diagnosis_makes() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let proxy = Proxy::start(server.port(), Duration::ZERO, Vec::new());
    let out = proxy.run_doctor(&["diagnose", &lab.secret_name, "--output", "json"]);
    assert_ne!(common::exit_code(&out), 2, "{}", common::describe(&out));

    let read = actions(&["permissions"]);
    let calls = proxy.calls();
    assert!(calls.len() >= 10, "too few calls seen: {calls:?}");
    for (call, _) in calls {
        // The signing name of CloudWatch Logs is `logs`, as its IAM prefix.
        assert!(
            read.contains(&call),
            "{call} is called but missing from `permissions`"
        );
    }
    let fix = actions(&["permissions", "--fix"]);
    assert!(fix.contains(&"ec2:AuthorizeSecurityGroupIngress".to_string()));
    assert!(
        !fix.iter().any(|a| a.ends_with(":GetSecretValue")),
        "fixes never read secret values"
    );
}
