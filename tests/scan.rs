//! `scan` on moto: every rotating secret appears, the others do not, and the
//! broken one fails; filters narrow the listing.

mod common;

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
