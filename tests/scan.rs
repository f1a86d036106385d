//! `scan` on moto: every rotating secret appears, the others do not, and the
//! broken one fails; filters narrow the listing.

use crate::common;

use common::lab::{Lab, OrPanic};
use common::{describe, exit_code, parse_report, MotoServer};

#[tokio::test]
async fn scan_diagnoses_every_rotating_secret_and_only_those() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    for name in ["plain/one", "plain/two"] {
        c.sm.create_secret()
            .name(name)
            .secret_string("{\"username\":\"u\",\"password\":\"p\"}")
            .tags(
                aws_sdk_secretsmanager::types::Tag::builder()
                    .key("team")
                    .value("web")
                    .build(),
            )
            .send()
            .await
            .or_panic("CreateSecret");
    }
    let out = server.doctor(&["scan", "--output", "json"]);
    let (code, report) = parse_report(&out, "scan");
    assert_eq!(code, 1, "{}", describe(&out));
    let names: Vec<&str> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["secret"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [lab.secret_name.as_str()]);
    common::finding_with(&report, "NET002", "fail");

    // Filters: a prefix that matches nothing, and a tag only plain secrets have.
    for filter in ["name-prefix=nothing/", "tag=team=web"] {
        let out = server.doctor(&["scan", "--output", "json", "--filter", filter]);
        let (code, report) = parse_report(&out, "scan --filter");
        assert_eq!(code, 0, "{filter}: {}", describe(&out));
        assert_eq!(report["targets"].as_array().unwrap().len(), 0, "{filter}");
    }
    let out = server.doctor(&["scan", "--output", "sarif", "--filter", "name-prefix=lab/"]);
    assert_eq!(exit_code(&out), 1, "{}", describe(&out));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());
}

#[test]
fn diagnose_refuses_several_regions() {
    let out = common::run_doctor(&[
        "diagnose",
        "x",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    ]);
    common::assert_user_error(&out);
}

/// Several `--region`s: each region's rotating secrets, each target naming
/// its region, in one report.
#[tokio::test]
async fn several_regions_are_scanned_into_one_report() {
    let server = MotoServer::start();
    let mut names = Vec::new();
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
            .secret_string("{\"engine\":\"mysql\",\"username\":\"u\",\"password\":\"p\"}")
            .send()
            .await
            .or_panic("CreateSecret");
        // Rotation on without a Lambda: moto accepts it, and the secret
        // counts as rotating.
        sm.rotate_secret()
            .secret_id(&name)
            .rotation_rules(
                aws_sdk_secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(7)
                    .build(),
            )
            .send()
            .await
            .or_panic("RotateSecret");
        names.push((region, name));
    }
    let out = server.doctor(&[
        "scan",
        "--output",
        "json",
        "--region",
        "us-east-1",
        "--region",
        "eu-west-1",
    ]);
    let (_, report) = parse_report(&out, "scan two regions");
    let found: Vec<(&str, &str)> = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["region"].as_str().unwrap(),
                t["secret"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str)> = names.iter().map(|(r, n)| (*r, n.as_str())).collect();
    assert_eq!(found, expected, "{}", describe(&out));
}
