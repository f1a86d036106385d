//! SEC002 on moto: a multi-user secret's `masterarn` names a master secret
//! that the rotation role must be able to read. The master secret's ARN is a
//! field of the secret's value, so besides the verdict every test checks
//! that its name never reaches the output or a snapshot.

use crate::common;

use common::lab::{healthy_role_policy, Lab, LabOptions, OrPanic, CANARY, DB_PORT};
use common::{describe, finding_with, parse_report, stderr_of, stdout_of, Clients, MotoServer};
use serde_json::{json, Value};

/// In the master secret's name, so any leak of its ARN is visible.
const MASTER_CANARY: &str = "MASTERCANARY-lab-admin";

/// The lab, without seeded logs, whose secret is a multi-user secret
/// naming a new master secret; returns the master's ARN.
async fn multi_user_lab(c: &Clients) -> (Lab, String) {
    let lab = Lab::build_with(
        c,
        LabOptions {
            seed_logs: false,
            ..LabOptions::default()
        },
    )
    .await;
    let master = c
        .sm
        .create_secret()
        .name(MASTER_CANARY)
        .secret_string(
            json!({"engine": "mysql", "host": lab.db_address, "username": "admin", "password": CANARY})
                .to_string(),
        )
        .send()
        .await
        .or_panic("CreateSecret master");
    let master_arn = master.arn().expect("ARN").to_string();
    put_master_arn(c, &lab, &master_arn).await;
    (lab, master_arn)
}

async fn put_master_arn(c: &Clients, lab: &Lab, master_arn: &str) {
    lab.put_secret_value(
        c,
        &json!({
            "engine": "mysql", "host": lab.db_address, "port": DB_PORT,
            "username": "app_user", "password": CANARY, "dbname": "app",
            "masterarn": master_arn,
        }),
    )
    .await;
}

/// The lab's healthy role policy plus GetSecretValue on the master.
fn policy_reading(lab: &Lab, master_arn: &str) -> Value {
    let mut policy = healthy_role_policy(&lab.secret_arn);
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(json!({
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": master_arn,
        }));
    policy
}

/// `diagnose --output json --save-snapshot`, the SEC002 finding, and a
/// check that neither the master's name nor a password leaked anywhere.
/// `role_names_master`: the role's policy documents (IAM's data, kept in the
/// snapshot) name the master secret as a Resource, so they are left out of
/// the search; nothing else may name it.
fn diagnose_sec002(server: &MotoServer, lab: &Lab, status: &str, role_names_master: bool) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let snapshot = dir.path().join("facts.json");
    let out = server.doctor(&[
        "diagnose",
        &lab.secret_name,
        "--output",
        "json",
        "--save-snapshot",
        snapshot.to_str().expect("utf-8 path"),
    ]);
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&snapshot).expect("snapshot written"))
            .expect("snapshot is JSON");
    if role_names_master {
        saved["execution_role"] = Value::Null;
    }
    let saved = saved.to_string();
    for (what, text) in [
        ("stdout", stdout_of(&out)),
        ("stderr", stderr_of(&out)),
        ("snapshot", saved),
    ] {
        assert!(
            !text.contains(MASTER_CANARY) && !text.contains(CANARY),
            "{what} leaked the master secret or a password:\n{text}"
        );
    }
    let table = server.doctor(&["diagnose", &lab.secret_name, "--output", "table"]);
    assert!(
        !stdout_of(&table).contains(MASTER_CANARY),
        "{}",
        describe(&table)
    );
    let (_, report) = parse_report(&out, "diagnose a multi-user secret");
    finding_with(&report, "SEC002", status).clone()
}

#[tokio::test]
async fn a_master_secret_the_role_may_read_passes() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let (lab, master_arn) = multi_user_lab(&c).await;
    lab.set_role_policy(&c, &policy_reading(&lab, &master_arn))
        .await;
    let finding = diagnose_sec002(&server, &lab, "pass", true);
    let evidence = finding["evidence"].to_string();
    assert!(evidence.contains("allowed by inline policy"), "{finding:#}");
    // moto answers SimulatePrincipalPolicy with HTTP 500: the evidence says
    // our evaluation decided, and why.
    assert!(
        evidence.contains(
            "decided by our evaluation of the role's documents (iam:SimulatePrincipalPolicy"
        ),
        "{finding:#}"
    );
}

#[tokio::test]
async fn a_missing_or_deleted_master_secret_fails() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let (lab, master_arn) = multi_user_lab(&c).await;
    lab.set_role_policy(&c, &policy_reading(&lab, &master_arn))
        .await;
    c.sm.delete_secret()
        .secret_id(&master_arn)
        .recovery_window_in_days(7)
        .send()
        .await
        .or_panic("DeleteSecret");
    let finding = diagnose_sec002(&server, &lab, "fail", true);
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("scheduled for deletion"),
        "{finding:#}"
    );

    // A masterarn naming nothing at all.
    let nothing = master_arn.replace(MASTER_CANARY, &format!("{MASTER_CANARY}-gone"));
    put_master_arn(&c, &lab, &nothing).await;
    let finding = diagnose_sec002(&server, &lab, "fail", true);
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("no master secret that exists"),
        "{finding:#}"
    );

    // A masterarn that is null names nothing either (not single-user).
    lab.put_secret_value(
        &c,
        &json!({
            "engine": "mysql", "host": lab.db_address, "port": DB_PORT,
            "username": "app_user", "password": CANARY, "dbname": "app",
            "masterarn": null,
        }),
    )
    .await;
    diagnose_sec002(&server, &lab, "fail", true);
}

#[tokio::test]
async fn a_role_that_may_read_only_its_own_secret_fails_naming_get_secret_value() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let (lab, master_arn) = multi_user_lab(&c).await;
    // The lab's policy: GetSecretValue on the user secret only.
    lab.set_role_policy(&c, &healthy_role_policy(&lab.secret_arn))
        .await;
    // What the template logs then names the master secret: LOG001 shows
    // the line, with the ARN masked.
    lab.put_log_lines(
        &c,
        "2026/01/01/[$LATEST]denied",
        &[format!(
            "[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the \
             GetSecretValue operation: User: {} is not authorized to perform: \
             secretsmanager:GetSecretValue on resource: {master_arn} because no identity-based \
             policy allows the secretsmanager:GetSecretValue action",
            lab.role_arn
        )],
    )
    .await;
    let finding = diagnose_sec002(&server, &lab, "fail", false);
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let log = finding_with(&report, "LOG001", "fail").to_string();
    assert!(log.contains("on resource: ********"), "{log}");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("secretsmanager:GetSecretValue") && message.contains("missing"),
        "{finding:#}"
    );
}
