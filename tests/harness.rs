//! The harness itself: moto starts, the lab case seeds, and the seeded state
//! is what the other tests assume. Independent of the binary.

use crate::common;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use common::lab::{Lab, OrPanic, CANARY, SET_SECRET_ERROR};
use common::{http_request, MotoServer};

#[test]
fn moto_starts_answers_and_stops() {
    let server = MotoServer::start();
    let port = server.port();
    let (status, body) = http_request(port, "GET", "/moto-api/config", None).expect("GET config");
    // moto answers GET /moto-api/config with 201.
    assert!((200..300).contains(&status), "{status}: {body}");
    let config: serde_json::Value = serde_json::from_str(&body).expect("config JSON");
    assert_eq!(config["lambda"]["use_docker"], false, "{config}");
    drop(server);
    assert!(
        http_request(port, "GET", "/moto-api/", None).is_err(),
        "moto still answers after drop"
    );
}

#[test]
fn two_servers_run_side_by_side() {
    let a = MotoServer::start();
    let b = MotoServer::start();
    assert_ne!(a.port(), b.port());
}

#[tokio::test]
async fn lab_case_is_seeded_as_issue_2_describes() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;

    // The secret: AWSPENDING on a version other than AWSCURRENT, rotation on.
    let d =
        c.sm.describe_secret()
            .secret_id(&lab.secret_arn)
            .send()
            .await
            .or_panic("DescribeSecret");
    assert_eq!(d.rotation_enabled(), Some(true));
    assert_eq!(d.rotation_lambda_arn(), Some(lab.function_arn.as_str()));
    let stages = d.version_ids_to_stages().expect("VersionIdsToStages");
    let current: Vec<&String> = stages
        .iter()
        .filter(|(_, s)| s.iter().any(|x| x == "AWSCURRENT"))
        .map(|(v, _)| v)
        .collect();
    let pending: Vec<&String> = stages
        .iter()
        .filter(|(_, s)| s.iter().any(|x| x == "AWSPENDING"))
        .map(|(v, _)| v)
        .collect();
    assert_eq!(current.len(), 1, "{stages:?}");
    assert_eq!(pending.len(), 1, "{stages:?}");
    assert_ne!(current[0], pending[0], "{stages:?}");

    // AWSCURRENT still holds the connection JSON (with VersionStage).
    let v =
        c.sm.get_secret_value()
            .secret_id(&lab.secret_arn)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .or_panic("GetSecretValue AWSCURRENT");
    let value: serde_json::Value =
        serde_json::from_str(v.secret_string().expect("SecretString")).expect("JSON");
    assert_eq!(value["engine"], "mysql");
    assert_eq!(value["host"], lab.db_address.as_str());
    assert_eq!(value["port"], 3306);
    assert_eq!(value["username"], "admin");
    assert_eq!(value["password"], CANARY);
    assert_eq!(value["dbInstanceIdentifier"], lab.db_instance_id.as_str());
    // AWSPENDING has no value (the stuck state).
    let err =
        c.sm.get_secret_value()
            .secret_id(&lab.secret_arn)
            .version_stage("AWSPENDING")
            .send()
            .await
            .expect_err("AWSPENDING should have no value");
    assert_eq!(
        err.as_service_error().and_then(|e| e.code()),
        Some("ResourceNotFoundException")
    );

    // The Lambda sits in the DB subnets with the DB SG.
    let f = c
        .lambda
        .get_function_configuration()
        .function_name(&lab.function_name)
        .send()
        .await
        .or_panic("GetFunctionConfiguration");
    let vpc = f.vpc_config().expect("VpcConfig");
    let mut subnets = vpc.subnet_ids().to_vec();
    subnets.sort();
    let mut db_subnets = lab.db_subnets.clone();
    db_subnets.sort();
    assert_eq!(subnets, db_subnets);
    assert_eq!(vpc.security_group_ids(), std::slice::from_ref(&lab.db_sg));
    assert_eq!(
        f.environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("SECRETS_MANAGER_ENDPOINT"))
            .map(String::as_str),
        Some("https://secretsmanager.us-east-1.amazonaws.com")
    );
    let policy = c
        .lambda
        .get_policy()
        .function_name(&lab.function_name)
        .send()
        .await
        .or_panic("GetPolicy");
    assert!(policy
        .policy()
        .unwrap_or_default()
        .contains("secretsmanager.amazonaws.com"));

    // The DB SG admits 3306 only from the Lambda SG.
    let sgs = c
        .ec2
        .describe_security_groups()
        .group_ids(&lab.db_sg)
        .send()
        .await
        .or_panic("DescribeSecurityGroups");
    let perms = sgs.security_groups()[0].ip_permissions();
    assert_eq!(perms.len(), 1, "{perms:?}");
    assert_eq!(perms[0].from_port(), Some(3306));
    assert_eq!(
        perms[0].user_id_group_pairs()[0].group_id(),
        Some(lab.lambda_sg.as_str())
    );
    assert!(perms[0].ip_ranges().is_empty());

    // The private route table: DB + Lambda subnets, default route → NAT.
    let rts = c
        .ec2
        .describe_route_tables()
        .route_table_ids(&lab.private_route_table)
        .send()
        .await
        .or_panic("DescribeRouteTables");
    let rt = &rts.route_tables()[0];
    assert!(rt
        .routes()
        .iter()
        .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
            && r.nat_gateway_id() == Some(lab.nat_id.as_str())));
    let associated: Vec<&str> = rt
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .collect();
    for sub in lab.db_subnets.iter().chain(&lab.lambda_subnets) {
        assert!(
            associated.contains(&sub.as_str()),
            "{sub} not in {associated:?}"
        );
    }
    let nats = c
        .ec2
        .describe_nat_gateways()
        .nat_gateway_ids(&lab.nat_id)
        .send()
        .await
        .or_panic("DescribeNatGateways");
    assert_eq!(
        nats.nat_gateways()[0].subnet_id(),
        Some(lab.public_subnets[0].as_str())
    );

    // The instance is in the DB subnets with the DB SG.
    let dbs = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(&lab.db_instance_id)
        .send()
        .await
        .or_panic("DescribeDBInstances");
    let db = &dbs.db_instances()[0];
    assert_eq!(db.engine(), Some("mysql"));
    assert_eq!(
        db.vpc_security_groups()[0].vpc_security_group_id(),
        Some(lab.db_sg.as_str())
    );
    assert_eq!(
        db.db_subnet_group().and_then(|g| g.vpc_id()),
        Some(lab.vpc_id.as_str())
    );

    // The logs: every seeded line comes back, the setSecret error among them.
    let events = c
        .logs
        .filter_log_events()
        .log_group_name(&lab.log_group)
        .start_time(common::lab::now_millis() - 3_600_000)
        .send()
        .await
        .or_panic("FilterLogEvents");
    let messages: Vec<&str> = events.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages.len(), lab.log_lines.len(), "{messages:#?}");
    assert!(messages
        .iter()
        .any(|m| m.starts_with("[ERROR]\t") && m.contains(SET_SECRET_ERROR)));
    assert!(messages.iter().any(|m| m.starts_with("REPORT RequestId:")));
}

#[tokio::test]
async fn lab_variants_apply() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::build(&c).await;

    lab.move_lambda_to_lambda_tier(&c).await;
    let f = c
        .lambda
        .get_function_configuration()
        .function_name(&lab.function_name)
        .send()
        .await
        .or_panic("GetFunctionConfiguration after move");
    let vpc = f.vpc_config().expect("VpcConfig");
    let mut subnets = vpc.subnet_ids().to_vec();
    subnets.sort();
    let mut lambda_subnets = lab.lambda_subnets.clone();
    lambda_subnets.sort();
    assert_eq!(subnets, lambda_subnets);
    assert_eq!(
        vpc.security_group_ids(),
        std::slice::from_ref(&lab.lambda_sg)
    );

    lab.remove_lambda_from_vpc(&c).await;
    let f = c
        .lambda
        .get_function_configuration()
        .function_name(&lab.function_name)
        .send()
        .await
        .or_panic("GetFunctionConfiguration after leaving the VPC");
    assert!(
        f.vpc_config().is_none_or(|v| v.subnet_ids().is_empty()),
        "{:?}",
        f.vpc_config()
    );

    let (vpce, vpce_sg) = lab.add_secretsmanager_endpoint(&c).await;
    let eps = c
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&vpce)
        .send()
        .await
        .or_panic("DescribeVpcEndpoints");
    let ep = &eps.vpc_endpoints()[0];
    assert_eq!(ep.private_dns_enabled(), Some(true));
    assert_eq!(ep.groups()[0].group_id(), Some(vpce_sg.as_str()));

    lab.route_private_to_igw(&c).await;
    lab.remove_nat_route(&c).await;
    let rts = c
        .ec2
        .describe_route_tables()
        .route_table_ids(&lab.private_route_table)
        .send()
        .await
        .or_panic("DescribeRouteTables");
    assert!(!rts.route_tables()[0]
        .routes()
        .iter()
        .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")));

    lab.delete_function(&c).await;
    let d =
        c.sm.describe_secret()
            .secret_id(&lab.secret_arn)
            .send()
            .await
            .or_panic("DescribeSecret");
    assert_eq!(d.rotation_lambda_arn(), Some(lab.function_arn.as_str()));
}

#[test]
fn report_helpers_read_the_documented_schema() {
    let report = serde_json::json!({
        "schema_version": 1,
        "targets": [{
            "secret": {"arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf", "name": "s"},
            "findings": [
                {"check": "NET002", "title": "t", "status": "fail", "severity": "high",
                 "resource": "sg-1", "message": "m", "evidence": ["e1"], "remediation": "r"},
                {"check": "NET003", "title": "t", "status": "pass", "severity": "high",
                 "resource": "subnet-1", "message": "m", "evidence": [], "remediation": null}
            ]
        }]
    });
    common::assert_schema(&report);
    assert_eq!(common::findings(&report).len(), 2);
    assert_eq!(common::statuses_of(&report, "NET002"), ["fail"]);
    common::assert_check_status(&report, "NET003", "pass");
    assert_eq!(
        common::evidence(common::finding_with(&report, "NET002", "fail")),
        ["e1"]
    );
    assert!(common::findings_of(&report, "LOG001").is_empty());
}

#[test]
fn zip_is_readable_by_python() {
    // The deployment package must be a real zip (AWS would reject garbage).
    let bytes = common::zip::rotation_function_zip();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f.zip");
    std::fs::write(&path, &bytes).expect("write zip");
    let python = common::workspace_root().join(".venv/bin/python");
    let python = if python.is_file() {
        python
    } else {
        "python3".into()
    };
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(z.namelist()[0]); print(z.read('lambda_function.py').decode())",
        ])
        .arg(&path)
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("lambda_function.py\n"), "{stdout}");
    assert!(stdout.contains("def lambda_handler"), "{stdout}");
}
