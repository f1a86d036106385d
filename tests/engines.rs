//! Databases beside RDS's, on moto: a Redshift cluster (5439), a
//! DocumentDB-style secret on an RDS cluster (27017), an ElastiCache user
//! (whose rotation reaches the ElastiCache API, not a cache node), and a
//! Redshift Serverless host (recognised, not read). Each test has its own
//! server, and builds the healthy lab (Lambda in the Lambda tier with the
//! Lambda group; the DB group admits tcp/3306 from it, nothing else).

use crate::common;

use common::lab::{admit_group, healthy_role_policy, Lab, OrPanic, CANARY};
use common::{finding_with, Clients, MotoServer, REGION};
use serde_json::{json, Value};

fn message(finding: &Value) -> &str {
    finding["message"].as_str().unwrap_or_default()
}

/// NET002 fails naming the DB group and `port`, then passes once the
/// Lambda's group is admitted on it.
async fn net002_turns_on_admitting(server: &MotoServer, c: &Clients, lab: &Lab, port: u16) {
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let f = finding_with(&report, "NET002", "fail");
    assert_eq!(f["resource"], lab.db_sg.as_str(), "{f:#}");
    assert!(
        message(f).contains(&format!(
            "does not admit tcp/{port} from the rotation Lambda's security group {}",
            lab.lambda_sg
        )),
        "{f:#}"
    );
    admit_group(c, &lab.db_sg, i32::from(port), &lab.lambda_sg).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&report, "NET002", "pass");
}

/// A Redshift cluster in the lab's DB subnets with the DB group, and the
/// secret value that names it by host (port 5439).
pub async fn redshift_cluster(c: &Clients, lab: &Lab) -> Value {
    c.redshift
        .create_cluster_subnet_group()
        .cluster_subnet_group_name("lab-warehouse-subnets")
        .description("lab Redshift subnets")
        .set_subnet_ids(Some(lab.db_subnets.clone()))
        .send()
        .await
        .or_panic("CreateClusterSubnetGroup");
    let cluster = c
        .redshift
        .create_cluster()
        .cluster_identifier("lab-warehouse")
        .node_type("ra3.xlplus")
        .master_username("admin")
        .master_user_password(CANARY)
        .db_name("dev")
        .cluster_subnet_group_name("lab-warehouse-subnets")
        .vpc_security_group_ids(&lab.db_sg)
        .publicly_accessible(false)
        .send()
        .await
        .or_panic("CreateCluster");
    let endpoint = cluster
        .cluster()
        .and_then(|cl| cl.endpoint())
        .expect("endpoint");
    let host = endpoint.address().expect("address").to_string();
    assert!(host.ends_with(".redshift.amazonaws.com"), "{host}");
    let port = endpoint.port().unwrap_or(5439);
    json!({"engine": "redshift", "host": host, "port": port, "username": "admin",
           "password": CANARY, "dbname": "dev"})
}

/// An ElastiCache user, and the secret value that names it by `user_arn`.
pub async fn elasticache_user(c: &Clients) -> Value {
    let user = c
        .elasticache
        .create_user()
        .user_id("app-user")
        .user_name("app-user")
        .engine("redis")
        .passwords(CANARY)
        .access_string("on ~* +@all")
        .send()
        .await
        .or_panic("CreateUser");
    let user_arn = user.arn().expect("ARN").to_string();
    json!({"username": "app-user", "password": CANARY, "user_arn": user_arn})
}

/// The lab's function set up as AWS's ElastiCache user rotation function
/// wants it: the one secret and user it may rotate, and 12 minutes.
pub async fn configure_elasticache_function(c: &Clients, lab: &Lab) {
    let endpoint = format!("https://secretsmanager.{REGION}.amazonaws.com");
    lab.set_lambda_environment(
        c,
        &[
            ("SECRETS_MANAGER_ENDPOINT", endpoint.as_str()),
            ("SECRET_ARN", lab.secret_arn.as_str()),
            ("USER_NAME", "app-user"),
        ],
    )
    .await;
    c.lambda
        .update_function_configuration()
        .function_name(&lab.function_name)
        .timeout(720)
        .send()
        .await
        .or_panic("UpdateFunctionConfiguration timeout");
}

/// The lab's role policy with what the ElastiCache user rotation calls on
/// the user (the ElastiCache user guide's role policy).
pub async fn allow_elasticache_user(c: &Clients, lab: &Lab, user_arn: &str) {
    let mut policy = healthy_role_policy(&lab.secret_arn);
    policy["Statement"]
        .as_array_mut()
        .expect("statements")
        .push(json!({
            "Effect": "Allow",
            "Action": ["elasticache:DescribeUsers", "elasticache:ModifyUser"],
            "Resource": user_arn
        }));
    lab.set_role_policy(c, &policy).await;
}

#[tokio::test]
async fn a_redshift_cluster_is_found_by_host_and_judged_on_5439() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let value = redshift_cluster(&c, &lab).await;
    lab.put_secret_value(&c, &value).await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB001", "pass");
    assert_eq!(
        message(f),
        "Redshift cluster lab-warehouse is available",
        "{f:#}"
    );
    finding_with(&report, "SEC001", "pass");
    net002_turns_on_admitting(&server, &c, &lab, 5439).await;
}

#[tokio::test]
async fn a_mongo_secret_on_a_cluster_endpoint_is_judged_on_27017() {
    // moto's RDS refuses engine docdb (its cluster engines are Aurora,
    // MySQL, PostgreSQL and Neptune; docs/moto-notes.md), so the cluster is
    // an Aurora one listening on 27017: what is under test is the match by
    // cluster endpoint and the path on the secret's port. The checks
    // crate's tests cover a docdb cluster's engine family.
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let cluster = c
        .rds
        .create_db_cluster()
        .db_cluster_identifier("lab-docs")
        .engine("aurora-postgresql")
        .port(27017)
        .master_username("admin")
        .master_user_password(CANARY)
        .db_subnet_group_name(&lab.db_subnet_group)
        .vpc_security_group_ids(&lab.db_sg)
        .send()
        .await
        .or_panic("CreateDBCluster");
    let host = cluster
        .db_cluster()
        .and_then(|cl| cl.endpoint())
        .expect("endpoint")
        .to_string();
    lab.put_secret_value(
        &c,
        &json!({"engine": "mongo", "host": host, "port": 27017, "username": "admin",
                "password": CANARY, "ssl": true}),
    )
    .await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&report, "DB001", "pass");
    // The family check still sees an Aurora engine under a mongo secret.
    let sec = finding_with(&report, "SEC001", "fail");
    assert!(
        message(sec).contains("engine is mongo but database lab-docs runs aurora-postgresql"),
        "{sec:#}"
    );
    net002_turns_on_admitting(&server, &c, &lab, 27017).await;
}

#[tokio::test]
async fn an_elasticache_user_is_found_by_user_arn_and_its_api_is_the_path() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let value = elasticache_user(&c).await;
    let user_arn = value["user_arn"].as_str().expect("user_arn").to_string();
    lab.put_secret_value(&c, &value).await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB001", "pass");
    assert_eq!(message(f), "ElastiCache user app-user is active", "{f:#}");
    let sec = finding_with(&report, "SEC001", "pass");
    assert!(
        message(sec).contains("ElastiCache user template"),
        "{sec:#}"
    );
    // The DB group admits no 6379, and the rotation does not need it: the
    // function calls the ElastiCache API, here through the lab's NAT.
    let api = format!("elasticache.{REGION}.amazonaws.com");
    let net = finding_with(&report, "NET002", "pass");
    assert!(message(net).contains(&api), "{net:#}");
    // The lab's role may not call that API on the user, and its function
    // is not set up for this secret and user; both done, the secret is
    // healthy.
    let iam = finding_with(&report, "IAM002", "fail");
    assert!(message(iam).contains("elasticache:ModifyUser"), "{iam:#}");
    let function = finding_with(&report, "LAM008", "fail");
    assert!(
        message(function).contains("no SECRET_ARN variable"),
        "{function:#}"
    );
    allow_elasticache_user(&c, &lab, &user_arn).await;
    configure_elasticache_function(&c, &lab).await;
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    finding_with(&report, "IAM002", "pass");
    let function = finding_with(&report, "LAM008", "pass");
    assert!(message(function).contains("app-user"), "{function:#}");
    assert_eq!(code, 0, "{report:#}");

    lab.remove_nat_route(&c).await;
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1, "{report:#}");
    let net = finding_with(&report, "NET002", "fail");
    assert!(
        message(net).starts_with(&format!(
            "the rotation Lambda cannot reach the ElastiCache API ({api}) on tcp/443"
        )),
        "{net:#}"
    );
    assert!(
        net["remediation"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("com.amazonaws.{REGION}.elasticache")),
        "{net:#}"
    );

    // A user_arn that names nothing is DB001's failure, and one that is
    // not an ARN at all leaves the database unknown: never a panic.
    lab.put_secret_value(
        &c,
        &json!({"username": "app-user", "password": CANARY,
                "user_arn": user_arn.replace("app-user", "gone-user")}),
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB001", "fail");
    assert!(
        message(f).contains("the ElastiCache user the secret's user_arn names does not exist"),
        "{f:#}"
    );
    assert!(!report.to_string().contains("gone-user"), "{report:#}");
    lab.put_secret_value(
        &c,
        &json!({"username": "app-user", "password": CANARY, "user_arn": "app-user"}),
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB001", "unknown");
    assert!(
        message(f).contains("is not an ElastiCache user ARN"),
        "{f:#}"
    );
    finding_with(&report, "NET002", "unknown");
}

#[tokio::test]
async fn a_redshift_serverless_host_is_named_and_left_unknown() {
    let server = MotoServer::start();
    let c = server.clients().await;
    let lab = Lab::healthy(&c).await;
    let host = format!("lab-wg.123456789012.{REGION}.redshift-serverless.amazonaws.com");
    lab.put_secret_value(
        &c,
        &json!({"engine": "redshift", "host": host, "port": 5439, "username": "admin",
                "password": CANARY, "dbname": "dev"}),
    )
    .await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    let f = finding_with(&report, "DB001", "unknown");
    assert!(
        message(f).contains("Redshift Serverless workgroup lab-wg"),
        "{f:#}"
    );
    // No path is judged, so NET002 is not a silent pass.
    let net = finding_with(&report, "NET002", "unknown");
    assert!(message(net).contains("lab-wg"), "{net:#}");
}
