//! `scan` across accounts on moto: the accounts of an organization (or an
//! OU, a file, `--account`), each entered through one role name, one report
//! grouped by account; an account whose role cannot be assumed is one
//! `unknown` entry naming it and the run goes on. moto acts in the role's
//! account with the credentials AssumeRole gives, but assumes any role,
//! even a missing one, so the proxy refuses one account's AssumeRole.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common;

use common::lab::{Lab, OrPanic, CANARY};
use common::proxy::{fault_response, Fault, Proxy};
use common::{describe, exit_code, parse_report, MotoServer};

const ROLE: &str = "RotationDoctorRead";

/// Test clients acting in `account`, in the tests' region.
async fn clients_in(server: &MotoServer, account: &str) -> common::Clients {
    common::accounts::clients_in(server, account, common::REGION).await
}

/// An organization of the management account and three members, a
/// healthy lab in the first two, and an OU tree: `ou` holds the first
/// member and `child` (under `ou`) the second.
struct Org {
    members: [String; 3],
    labs: [Lab; 2],
    ou: String,
    child: String,
}

async fn organization(server: &MotoServer) -> Org {
    let names = ["payments", "orders", "legacy"].map(String::from);
    let members = common::accounts::create_organization(server, &names).await;
    let config = common::sdk_config(&server.endpoint()).await;
    let org = aws_sdk_organizations::Client::new(&config);
    let root = org.list_roots().send().await.or_panic("ListRoots").roots()[0]
        .id()
        .expect("root id")
        .to_string();
    let ou = create_ou(&org, &root, "prod").await;
    let child = create_ou(&org, &ou, "prod-eu").await;
    for (account, to) in [(&members[0], &ou), (&members[1], &child)] {
        org.move_account()
            .account_id(account)
            .source_parent_id(&root)
            .destination_parent_id(to)
            .send()
            .await
            .or_panic("MoveAccount");
    }
    let first = Lab::healthy(&clients_in(server, &members[0]).await).await;
    let second = Lab::healthy(&clients_in(server, &members[1]).await).await;
    Org {
        members: [members[0].clone(), members[1].clone(), members[2].clone()],
        labs: [first, second],
        ou,
        child,
    }
}

async fn create_ou(org: &aws_sdk_organizations::Client, parent: &str, name: &str) -> String {
    org.create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .or_panic("CreateOrganizationalUnit")
        .organizational_unit()
        .and_then(|u| u.id())
        .expect("ou id")
        .to_string()
}

/// A proxy before moto that refuses AssumeRole into `refused`'s role.
fn refusing(server: &MotoServer, refused: &str) -> Proxy {
    let needle = format!("{refused}%3Arole%2F{ROLE}");
    Proxy::answering(server.port(), std::time::Duration::ZERO, move |op, body| {
        let body = String::from_utf8_lossy(body);
        (op == "sts:AssumeRole" && body.contains(&needle))
            .then(|| fault_response(&Fault::AccessDenied, "sts"))
            .flatten()
    })
}

/// The actions `rotation-doctor permissions [FLAG]` prints.
fn policy_actions(flag: &str) -> Vec<String> {
    let mut args = vec!["permissions"];
    if !flag.is_empty() {
        args.push(flag);
    }
    let out = common::run_doctor(&args);
    let policy: Value = serde_json::from_slice(&out.stdout).expect("the policy is JSON");
    policy["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// Account → the names of its targets, in report order.
fn by_account(report: &Value) -> BTreeMap<String, Vec<String>> {
    let mut accounts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for target in report["targets"].as_array().into_iter().flatten() {
        accounts
            .entry(target["account"].as_str().unwrap_or("?").to_string())
            .or_default()
            .push(target["secret"]["name"].as_str().unwrap_or("?").to_string());
    }
    accounts
}

/// Each target's checks and statuses, by account and secret.
fn verdicts(report: &Value) -> BTreeMap<(String, String), Vec<(String, String)>> {
    report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let key = (
                t["account"].as_str().unwrap_or("?").to_string(),
                t["secret"]["name"].as_str().unwrap_or("?").to_string(),
            );
            let statuses = t["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    (
                        f["check"].as_str().unwrap_or("?").to_string(),
                        f["status"].as_str().unwrap_or("?").to_string(),
                    )
                })
                .collect();
            (key, statuses)
        })
        .collect()
}

#[tokio::test]
async fn an_organization_is_scanned_and_an_account_that_cannot_be_entered_is_named() {
    let server = MotoServer::start();
    let org = organization(&server).await;
    let [first, second, refused] = &org.members;
    let proxy = refusing(&server, refused);
    let args = [
        "scan",
        "--role-name",
        ROLE,
        "--organization",
        "--output",
        "json",
    ];
    let out = proxy.run_doctor(&args);
    let (code, report) = parse_report(&out, "scan --organization");
    let accounts = by_account(&report);
    assert_eq!(
        accounts[first],
        [org.labs[0].secret_name.clone()],
        "{accounts:?}"
    );
    assert_eq!(
        accounts[second],
        [org.labs[1].secret_name.clone()],
        "{accounts:?}"
    );
    assert_eq!(
        accounts[refused],
        [format!("account {refused} (not scanned)")],
        "{accounts:?}"
    );
    assert!(
        !accounts.contains_key("123456789012"),
        "the management account has no secret"
    );
    let entry = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["account"] == refused.as_str())
        .unwrap();
    let finding = &entry["findings"][0];
    assert_eq!(entry["findings"].as_array().unwrap().len(), 1, "{entry:#}");
    assert_eq!(finding["check"], "ACC001");
    assert_eq!(finding["status"], "unknown");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("arn:aws:iam::{refused}:role/{ROLE}"))
            && message.contains("sts:AssumeRole access denied"),
        "{message}"
    );
    // The entered accounts say how they were entered.
    let entered = common::findings_of(&report, "ACC001")
        .into_iter()
        .filter(|f| f["status"] == "pass")
        .count();
    assert_eq!(entered, 2);
    // The unknown account decides the exit code unless --allow-unknown.
    assert_eq!(code, 1, "{}", describe(&out));
    let only_entered = proxy.run_doctor(&[
        "scan",
        "--role-name",
        ROLE,
        "--account",
        first,
        "--account",
        second,
        "--output",
        "json",
    ]);
    let mut lenient = args.to_vec();
    lenient.push("--allow-unknown");
    let lenient = proxy.run_doctor(&lenient);
    assert_eq!(
        exit_code(&lenient),
        exit_code(&only_entered),
        "{}",
        describe(&lenient)
    );

    // The table: one heading per account.
    let table = proxy.run_doctor(&[
        "scan",
        "--role-name",
        ROLE,
        "--organization",
        "--output",
        "table",
    ]);
    let text = common::stdout_of(&table);
    for account in [first, second, refused] {
        assert_eq!(
            text.matches(&format!("Account {account}")).count(),
            1,
            "{text}"
        );
    }

    // --stats: the calls of each account and the total.
    let stats = proxy.run_doctor(&[
        "scan",
        "--role-name",
        ROLE,
        "--account",
        first,
        "--account",
        second,
        "--stats",
        "--output",
        "json",
    ]);
    let (_, with_stats) = parse_report(&stats, "scan --stats");
    let per_account = with_stats["stats"]["accounts"].as_array().unwrap();
    assert_eq!(per_account.len(), 2, "{:#}", with_stats["stats"]);
    let sum: u64 = per_account
        .iter()
        .map(|a| a["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, with_stats["stats"]["calls"].as_u64().unwrap());
    assert!(per_account.iter().all(|a| a["calls"].as_u64().unwrap() > 0));
    // The process's own peak memory, from Linux's /proc: megabytes, not
    // kilobytes or gigabytes.
    let peak = with_stats["stats"]["peak_memory_kib"].as_u64();
    assert!(
        peak.is_some_and(|kib| (1024..1024 * 1024).contains(&kib)),
        "{:#}",
        with_stats["stats"]
    );

    // Every call is in the printed policies: the scanner's own (assume the
    // role, list the organization) and the read policy in each account.
    let mut allowed = policy_actions("--scanner");
    allowed.extend(policy_actions(""));
    let missing: Vec<String> = proxy
        .calls()
        .into_keys()
        .filter(|call| !allowed.contains(call))
        .collect();
    assert!(
        missing.is_empty(),
        "calls missing from the policies: {missing:?}"
    );

    // No password of any account in any output.
    for out in [&out, &table, &lenient, &stats] {
        let all = format!("{}{}", common::stdout_of(out), common::stderr_of(out));
        assert!(!all.contains(CANARY), "a password leaked:\n{all}");
    }
}

#[tokio::test]
async fn ous_files_and_single_accounts_choose_what_is_scanned() {
    let server = MotoServer::start();
    let org = organization(&server).await;
    let [first, second, third] = &org.members;
    let scanned = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["scan", "--role-name", ROLE, "--output", "json"];
        all.extend_from_slice(args);
        let out = server.doctor(&all);
        let (_, report) = parse_report(&out, "scan");
        by_account(&report).into_keys().collect()
    };
    // An OU and the OUs under it; a child OU alone.
    assert_eq!(
        scanned(&["--organization", "--ou", &org.ou]),
        sorted([first, second])
    );
    assert_eq!(
        scanned(&["--organization", "--ou", &org.child]),
        sorted([second])
    );
    // A file of ids, and c7n-org's accounts.yml.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("accounts.txt");
    std::fs::write(
        &plain,
        format!("# the two with secrets\n{first}\n{second}\n"),
    )
    .unwrap();
    assert_eq!(
        scanned(&["--accounts-file", plain.to_str().unwrap()]),
        sorted([first, second])
    );
    let c7n = dir.path().join("accounts.yml");
    std::fs::write(
        &c7n,
        format!("accounts:\n- account_id: '{third}'\n  name: legacy\n  regions: [us-east-1]\n"),
    )
    .unwrap();
    // The third account has no secret: nothing to report, and no error.
    assert_eq!(
        scanned(&["--accounts-file", c7n.to_str().unwrap()]),
        Vec::<String>::new()
    );
    assert_eq!(scanned(&["--account", first]), sorted([first]));
}

fn sorted<const N: usize>(accounts: [&String; N]) -> Vec<String> {
    let mut all: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
    all.sort();
    all
}

#[tokio::test]
async fn merged_per_account_reports_equal_one_multi_account_run() {
    let server = MotoServer::start();
    let org = organization(&server).await;
    let [first, second, _] = &org.members;
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for account in [first, second] {
        let out = server.doctor(&[
            "scan",
            "--role-name",
            ROLE,
            "--account",
            account,
            "--output",
            "json",
        ]);
        assert!(exit_code(&out) <= 1, "{}", describe(&out));
        let path = dir.path().join(format!("{account}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        files.push(path.display().to_string());
    }
    let both = server.doctor(&[
        "scan",
        "--role-name",
        ROLE,
        "--account",
        first,
        "--account",
        second,
        "--output",
        "json",
    ]);
    let (both_code, together) = parse_report(&both, "scan of two accounts");
    let mut merge_args = vec!["merge"];
    merge_args.extend(files.iter().map(String::as_str));
    merge_args.extend(["--output", "json"]);
    let merged_out = common::run_doctor(&merge_args);
    let (merged_code, merged) = parse_report(&merged_out, "merge");
    assert_eq!(merged_code, both_code);
    assert_eq!(by_account(&merged), by_account(&together));
    assert_eq!(verdicts(&merged), verdicts(&together));
    merge_args.truncate(merge_args.len() - 2);
    merge_args.extend(["--output", "sarif"]);
    let sarif: Value = serde_json::from_slice(&common::run_doctor(&merge_args).stdout).unwrap();
    common::assert_valid_sarif(&sarif);
}

#[tokio::test]
async fn all_regions_are_the_regions_the_account_has_enabled() {
    let server = MotoServer::start();
    let mut expected = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        let config = common::sdk_config(&server.endpoint())
            .await
            .into_builder()
            .region(aws_config::Region::new(region))
            .build();
        let sm = aws_sdk_secretsmanager::Client::new(&config);
        let name = format!("{region}/app");
        sm.create_secret()
            .name(&name)
            .secret_string(
                "{\"engine\":\"mysql\",\"host\":\"db\",\"username\":\"u\",\"password\":\"p\"}",
            )
            .send()
            .await
            .or_panic("CreateSecret");
        sm.rotate_secret()
            .secret_id(&name)
            .rotation_lambda_arn(format!(
                "arn:aws:lambda:{region}:123456789012:function:rotation"
            ))
            .rotate_immediately(false)
            .send()
            .await
            .ok();
        expected.push((region.to_string(), name));
    }
    let out = server.doctor(&["scan", "--all-regions", "--output", "json"]);
    let (_, report) = parse_report(&out, "scan --all-regions");
    let mut found: Vec<(String, String)> = report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["region"].as_str().unwrap_or("?").to_string(),
                t["secret"]["name"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "{}", describe(&out));
    let both = server.doctor(&["scan", "--all-regions", "--region", "us-east-1"]);
    assert_eq!(exit_code(&both), 2, "{}", describe(&both));
}

#[test]
fn account_flags_are_checked_before_any_call() {
    for (args, expected) in [
        (vec!["scan", "--account", "123456789012"], "--role-name"),
        (
            vec!["scan", "--role-name", ROLE, "--account", "12345"],
            "12 digits",
        ),
        (
            vec!["scan", "--role-name", ROLE],
            "--role-name needs accounts",
        ),
        (vec!["scan", "--ou", "ou-1"], "--organization"),
    ] {
        let out = common::run_doctor(&args);
        assert_eq!(exit_code(&out), 2, "{args:?}: {}", describe(&out));
        assert!(
            common::stderr_of(&out).contains(expected),
            "{args:?}: {}",
            describe(&out)
        );
    }
}
