//! The reachability engine end to end (issue 3): small variations of the lab
//! VPC built on moto, each diagnosed by the real binary, asserting the
//! verdict, the blocking component and the `paths` the JSON reports.

use crate::common;

use aws_sdk_ec2::types::{
    AttributeBooleanValue, IpPermission, IpRange, RuleAction, UserIdGroupPair,
};
use common::lab::{Lab, OrPanic};
use common::{finding_with, Clients, MotoServer};
use serde_json::Value;

/// The reported paths to one destination.
fn paths<'a>(report: &'a Value, to: &str) -> Vec<&'a Value> {
    report["targets"][0]["paths"]
        .as_array()
        .map(|all| all.iter().filter(|p| p["to"] == to).collect())
        .unwrap_or_default()
}

fn verdicts(report: &Value, to: &str) -> Vec<String> {
    paths(report, to)
        .iter()
        .map(|p| p["verdict"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn blockers(report: &Value, to: &str) -> Vec<String> {
    paths(report, to)
        .iter()
        .map(|p| p["blocked_by"].as_str().unwrap_or("-").to_string())
        .collect()
}

/// The lab after issue 2's fix: the Lambda in the Lambda subnets and group.
async fn fixed_lab(server: &MotoServer) -> (Clients, Lab) {
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    lab.move_lambda_to_lambda_tier(&c).await;
    (c, lab)
}

async fn subnet_cidr(c: &Clients, subnet: &str) -> String {
    let out = c
        .ec2
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .or_panic("DescribeSubnets");
    out.subnets()[0]
        .cidr_block()
        .unwrap_or_default()
        .to_string()
}

async fn revoke_db_ingress_from_lambda_group(c: &Clients, lab: &Lab) {
    c.ec2
        .revoke_security_group_ingress()
        .group_id(&lab.db_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(3306)
                .to_port(3306)
                .user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .group_id(&lab.lambda_sg)
                        .description("MySQL from the Lambda security group")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .or_panic("RevokeSecurityGroupIngress");
}

#[tokio::test]
async fn nat_path_is_reachable_hop_by_hop() {
    let server = MotoServer::start();
    let (_c, lab) = fixed_lab(&server).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(
        verdicts(&report, "secretsmanager"),
        ["reachable", "reachable"]
    );
    assert_eq!(verdicts(&report, "database"), ["reachable", "reachable"]);
    let path = paths(&report, "secretsmanager")[0];
    assert_eq!(path["port"], 443);
    assert!(path["from"]["subnet"]
        .as_str()
        .is_some_and(|s| lab.lambda_subnets.contains(&s.to_string())));
    let hops: Vec<&str> = path["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["resource"].as_str().unwrap_or_default())
        .collect();
    for expected in [
        &lab.lambda_sg,
        &lab.private_route_table,
        &lab.nat_id,
        &lab.igw_id,
    ] {
        assert!(
            hops.contains(&expected.as_str()),
            "{expected} not among {hops:?}"
        );
    }
}

#[tokio::test]
async fn endpoint_without_private_dns_does_not_carry_the_flow() {
    let server = MotoServer::start();
    let (c, lab) = fixed_lab(&server).await;
    let (endpoint, _) = lab.add_secretsmanager_endpoint_with(&c, false).await;
    lab.remove_nat_route(&c).await;
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1);
    assert_eq!(verdicts(&report, "secretsmanager"), ["blocked", "blocked"]);
    let near_miss = paths(&report, "secretsmanager")[0]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["resource"] == endpoint.as_str() && h["verdict"] == "info");
    assert!(
        near_miss,
        "the endpoint should be named as a near miss: {report:#}"
    );
    let finding = finding_with(&report, "NET003", "fail");
    assert!(
        finding["remediation"].as_str().unwrap().contains(&endpoint),
        "{finding:#}"
    );
}

#[tokio::test]
async fn endpoint_with_private_dns_but_vpc_dns_hostnames_off_is_blocked() {
    let server = MotoServer::start();
    let (c, lab) = fixed_lab(&server).await;
    lab.add_secretsmanager_endpoint(&c).await;
    lab.remove_nat_route(&c).await;
    c.ec2
        .modify_vpc_attribute()
        .vpc_id(&lab.vpc_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .or_panic("ModifyVpcAttribute");
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(verdicts(&report, "secretsmanager"), ["blocked", "blocked"]);
}

#[tokio::test]
async fn lambda_egress_limited_to_443_blocks_the_database_only() {
    let server = MotoServer::start();
    let (c, lab) = fixed_lab(&server).await;
    c.ec2
        .revoke_security_group_egress()
        .group_id(&lab.lambda_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .or_panic("RevokeSecurityGroupEgress");
    c.ec2
        .authorize_security_group_egress()
        .group_id(&lab.lambda_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .or_panic("AuthorizeSecurityGroupEgress");
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        blockers(&report, "database"),
        [lab.lambda_sg.clone(), lab.lambda_sg.clone()]
    );
    assert_eq!(
        verdicts(&report, "secretsmanager"),
        ["reachable", "reachable"]
    );
    let finding = finding_with(&report, "NET002", "fail");
    assert_eq!(finding["resource"], lab.lambda_sg.as_str());
}

#[tokio::test]
async fn network_acl_deny_on_the_database_port_blocks() {
    let server = MotoServer::start();
    let (c, lab) = fixed_lab(&server).await;
    let acl = c
        .ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(&lab.db_subnets[0])
                .build(),
        )
        .send()
        .await
        .or_panic("DescribeNetworkAcls");
    let acl_id = acl.network_acls()[0]
        .network_acl_id()
        .unwrap_or_default()
        .to_string();
    c.ec2
        .create_network_acl_entry()
        .network_acl_id(&acl_id)
        .rule_number(50)
        .protocol("6")
        .rule_action(RuleAction::Deny)
        .egress(false)
        .cidr_block("10.0.0.0/16")
        .port_range(
            aws_sdk_ec2::types::PortRange::builder()
                .from(3306)
                .to(3306)
                .build(),
        )
        .send()
        .await
        .or_panic("CreateNetworkAclEntry");
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        blockers(&report, "database"),
        [acl_id.clone(), acl_id.clone()]
    );
    let finding = finding_with(&report, "NET002", "fail");
    assert!(
        finding["message"].as_str().unwrap().contains("rule 50"),
        "{finding:#}"
    );
}

#[tokio::test]
async fn database_ingress_by_the_lambda_subnet_cidr_is_reachable() {
    let server = MotoServer::start();
    let (c, lab) = fixed_lab(&server).await;
    revoke_db_ingress_from_lambda_group(&c, &lab).await;
    // Only one Lambda subnet admitted: the other path is blocked.
    let first = subnet_cidr(&c, &lab.lambda_subnets[0]).await;
    lab.allow_cidr(&c, &lab.db_sg, 3306, &first).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(verdicts(&report, "database"), ["reachable", "blocked"]);
    let second = subnet_cidr(&c, &lab.lambda_subnets[1]).await;
    lab.allow_cidr(&c, &lab.db_sg, 3306, &second).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(verdicts(&report, "database"), ["reachable", "reachable"]);
}

#[tokio::test]
async fn database_ingress_on_the_wrong_port_is_blocked() {
    let server = MotoServer::start();
    let (c, lab) = fixed_lab(&server).await;
    revoke_db_ingress_from_lambda_group(&c, &lab).await;
    c.ec2
        .authorize_security_group_ingress()
        .group_id(&lab.db_sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&lab.lambda_sg).build())
                .build(),
        )
        .send()
        .await
        .or_panic("AuthorizeSecurityGroupIngress");
    let (code, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        blockers(&report, "database"),
        [lab.db_sg.clone(), lab.db_sg.clone()]
    );
    let finding = finding_with(&report, "NET002", "fail");
    assert!(finding["message"].as_str().unwrap().contains("3306"));
}
