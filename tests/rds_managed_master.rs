//! A multi-user secret whose master secret RDS manages (`rds!db-…`), on
//! moto: such a master secret holds no host, so the rotation function asks
//! the RDS API for it. NET004 judges the way from the Lambda's subnets to
//! that API and IAM002 the role's `rds:DescribeDBInstances`.

use crate::common;

use aws_sdk_ec2::types::VpcEndpointType;
use common::lab::{healthy_role_policy, Lab, OrPanic, CANARY, DB_PORT};
use common::{finding_with, Clients, MotoServer, REGION};
use serde_json::{json, Value};

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// A MySQL instance in the lab's subnets whose master password RDS manages;
/// returns its ARN and the managed secret's ARN.
async fn managed_instance(c: &Clients, lab: &Lab) -> (String, String) {
    let created = c
        .rds
        .create_db_instance()
        .db_instance_identifier("lab-managed")
        .db_instance_class("db.t3.micro")
        .engine("mysql")
        .allocated_storage(20)
        .master_username("admin")
        .manage_master_user_password(true)
        .db_subnet_group_name(&lab.db_subnet_group)
        .vpc_security_group_ids(&lab.db_sg)
        .send()
        .await
        .or_panic("CreateDBInstance managed");
    let instance = created.db_instance().expect("the instance");
    let secret = instance
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("the managed secret's ARN");
    (
        instance.db_instance_arn().expect("ARN").to_string(),
        secret.to_string(),
    )
}

/// An interface endpoint for the RDS API in the Lambda's subnets with
/// private DNS, guarded by `group`.
async fn add_rds_endpoint(c: &Clients, lab: &Lab, group: &str) -> String {
    let created = c
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&lab.vpc_id)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .service_name(format!("com.amazonaws.{REGION}.rds"))
        .set_subnet_ids(Some(lab.lambda_subnets.clone()))
        .security_group_ids(group)
        .private_dns_enabled(true)
        .send()
        .await
        .or_panic("CreateVpcEndpoint rds");
    created
        .vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .expect("VpcEndpointId")
        .to_string()
}

/// The lab's Lambda in private subnets with no NAT, reaching Secrets
/// Manager through its own endpoint, rotating a multi-user secret whose
/// master secret RDS manages: the lab, the instance's and the master
/// secret's ARNs, and the Secrets Manager endpoint's group.
async fn private_lab_with_managed_master(c: &Clients) -> (Lab, String, String, String) {
    let lab = Lab::build(c).await;
    lab.move_lambda_to_lambda_tier(c).await;
    lab.remove_nat_route(c).await;
    let (_, endpoint_group) = lab.add_secretsmanager_endpoint(c).await;
    let (instance_arn, master_arn) = managed_instance(c, &lab).await;
    lab.put_secret_value(
        c,
        &json!({
            "engine": "mysql", "host": lab.db_address, "port": DB_PORT,
            "username": "app_user", "password": CANARY, "dbname": "app",
            "masterarn": master_arn,
        }),
    )
    .await;
    (lab, instance_arn, master_arn, endpoint_group)
}

/// The role allowed to read the master secret and describe its instance.
async fn allow_master_lookup(c: &Clients, lab: &Lab, master_arn: &str, instance_arn: &str) {
    let mut policy = healthy_role_policy(&lab.secret_arn);
    let statements = policy["Statement"].as_array_mut().expect("statements");
    statements.push(json!({
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": master_arn,
    }));
    statements.push(json!({
        "Effect": "Allow", "Action": "rds:DescribeDBInstances", "Resource": instance_arn,
    }));
    lab.set_role_policy(c, &policy).await;
}

#[tokio::test]
async fn an_rds_managed_master_needs_a_way_to_the_rds_api_and_the_describe_permission() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let (lab, instance_arn, master_arn, endpoint_group) = private_lab_with_managed_master(&c).await;

    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    finding_with(&report, "NET003", "pass");
    let net004 = finding_with(&report, "NET004", "fail");
    assert!(
        message(net004).contains("cannot reach the RDS API")
            && message(net004).contains("no usable interface endpoint for the RDS API"),
        "{net004:#}"
    );
    assert!(
        net004["remediation"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("com.amazonaws.{REGION}.rds")),
        "{net004:#}"
    );
    let iam002 = finding_with(&report, "IAM002", "fail");
    assert!(
        message(iam002).contains("rds:DescribeDBInstances"),
        "{iam002:#}"
    );
    assert!(
        iam002["evidence"]
            .as_array()
            .expect("evidence")
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.starts_with(&format!(
                "rds:DescribeDBInstances on {instance_arn}: missing"
            )))),
        "{iam002:#}"
    );

    // The endpoint, and the role allowed to describe the database and read
    // the master secret: both pass.
    let vpce = add_rds_endpoint(&c, &lab, &endpoint_group).await;
    allow_master_lookup(&c, &lab, &master_arn, &instance_arn).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let net004 = finding_with(&report, "NET004", "pass");
    let rds_paths: Vec<&Value> = report["targets"][0]["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter(|p| p["to"] == "rds_api")
        .collect();
    assert_eq!(rds_paths.len(), lab.lambda_subnets.len(), "{net004:#}");
    assert!(
        rds_paths.iter().all(|p| p["verdict"] == "reachable"
            && p["hops"]
                .as_array()
                .is_some_and(|hops| hops.iter().any(|h| h["resource"] == vpce.as_str()))),
        "{rds_paths:#?}"
    );
    finding_with(&report, "IAM002", "pass");
    // Neither the master secret's name nor a password reaches the report.
    let text = report.to_string();
    assert!(!text.contains(CANARY));
    assert!(!text.contains(&master_arn));

    // A single-user secret on the same network skips NET004.
    lab.put_secret_value(
        &c,
        &json!({
            "engine": "mysql", "host": lab.db_address, "port": DB_PORT,
            "username": "admin", "password": CANARY, "dbname": "app",
        }),
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&report, "NET004", "skipped");
}

/// The RDS API endpoints of the lab's VPC that are not deleted (moto, as
/// AWS, lists a deleted one as `deleted`): (id, private DNS on).
async fn rds_endpoints(c: &Clients, lab: &Lab) -> Vec<(String, bool)> {
    let found = c
        .ec2
        .describe_vpc_endpoints()
        .send()
        .await
        .or_panic("DescribeVpcEndpoints");
    found
        .vpc_endpoints()
        .iter()
        .filter(|e| {
            e.vpc_id() == Some(lab.vpc_id.as_str())
                && e.service_name() == Some(format!("com.amazonaws.{REGION}.rds").as_str())
                && e.state().map(|s| s.as_str()) != Some("deleted")
        })
        .map(|e| {
            (
                e.vpc_endpoint_id().unwrap_or_default().to_string(),
                e.private_dns_enabled().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test]
async fn fix_creates_the_rds_api_endpoint_and_undo_deletes_it() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let (lab, instance_arn, master_arn, _) = private_lab_with_managed_master(&c).await;
    allow_master_lookup(&c, &lab, &master_arn, &instance_arn).await;
    let (_, before) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&before, "NET004", "fail");
    assert!(rds_endpoints(&c, &lab).await.is_empty());

    let dir = tempfile::tempdir().expect("tempdir");
    let journal = dir.path().join("journal.json");
    let journal_arg = journal.to_str().expect("utf-8 path");
    let out = server.doctor(&[
        "diagnose",
        &lab.secret_name,
        "--fix",
        "--yes",
        "--output",
        "json",
        "--journal",
        journal_arg,
    ]);
    let (_, after) = common::parse_report(&out, "diagnose --fix --yes");
    let stderr = common::stderr_of(&out);
    finding_with(&after, "NET004", "pass");
    assert!(stderr.contains("NET004 fail → pass"), "{stderr}");
    let created = rds_endpoints(&c, &lab).await;
    assert!(
        matches!(&created[..], [(_, true)]),
        "one RDS API endpoint with private DNS: {created:?}"
    );
    let record: Value = serde_json::from_str(&std::fs::read_to_string(&journal).expect("journal"))
        .expect("journal JSON");
    let actions: Vec<&str> = record["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"]["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["authorize_ingress_from_group", "create_interface_endpoint"],
        "{record:#}"
    );
    assert!(!after.to_string().contains(CANARY));

    let undo = server.doctor(&["undo", journal_arg, "--yes"]);
    assert_eq!(common::exit_code(&undo), 0, "{}", common::describe(&undo));
    assert!(rds_endpoints(&c, &lab).await.is_empty());
    let (_, undone) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&undone, "NET004", "fail");

    // The deleted endpoint is still listed (as `deleted`): a second fix
    // creates a new one rather than taking it for one that serves.
    let (_, fixed_again) = server.diagnose_json(&lab.secret_name, &["--fix", "--yes"]);
    finding_with(&fixed_again, "NET004", "pass");
    assert_eq!(rds_endpoints(&c, &lab).await.len(), 1);
}
