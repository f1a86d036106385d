//! Database paths across a VPC peering connection and a transit gateway
//! (issue 14): the rotation Lambda in a second VPC, its database in the
//! lab's, each diagnosed by the real binary on moto.

use crate::common;

use std::time::Duration;

use aws_sdk_ec2::types::{SecurityGroupReferencingSupportValue, TransitGatewayRequestOptions};
use common::lab::{add_route, ClientVpc, Lab, OrPanic, RouteVia};
use common::proxy::Proxy;
use common::{finding_with, parse_report, run_doctor, stdout_of, Clients, MotoServer};
use serde_json::Value;

fn database_paths(report: &Value) -> Vec<&Value> {
    report["targets"][0]["paths"]
        .as_array()
        .map(|all| all.iter().filter(|p| p["to"] == "database").collect())
        .unwrap_or_default()
}

fn field(report: &Value, name: &str) -> Vec<String> {
    database_paths(report)
        .iter()
        .map(|p| p[name].as_str().unwrap_or("-").to_string())
        .collect()
}

fn hop_resources(path: &Value) -> Vec<String> {
    path["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["resource"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The lab with its Lambda moved into the client VPC.
async fn split_lab(server: &MotoServer) -> (Clients, Lab, ClientVpc) {
    let c = server.clients().await;
    let lab = Lab::build(&c).await;
    let client = lab.move_lambda_to_client_vpc(&c).await;
    (c, lab, client)
}

/// `diagnose` through a recording proxy: the report and the calls made.
fn diagnose_recorded(server: &MotoServer, secret: &str) -> (Value, Vec<String>) {
    let proxy = Proxy::start(server.port(), Duration::ZERO, Vec::new());
    let out = proxy.run_doctor(&["diagnose", secret, "--output", "json"]);
    let (_, report) = parse_report(&out, "diagnose");
    (report, proxy.calls().into_keys().collect())
}

/// Every call made is in the policy `permissions` prints.
fn assert_listed(calls: &[String]) {
    let policy: Value =
        serde_json::from_str(&stdout_of(&run_doctor(&["permissions"]))).expect("policy JSON");
    let listed: Vec<&str> = policy["Statement"][0]["Action"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let missing: Vec<&String> = calls
        .iter()
        .filter(|c| !listed.contains(&c.as_str()))
        .collect();
    assert!(missing.is_empty(), "{missing:?} missing from the policy");
}

#[tokio::test]
async fn an_active_peering_with_routes_both_ways_reaches_the_database() {
    let server = MotoServer::start();
    let (c, lab, client) = split_lab(&server).await;
    let pcx = lab.peer_client_vpc(&c, &client, true).await;
    add_route(
        &c,
        &lab.private_route_table,
        &client.cidr,
        RouteVia::Peering(&pcx),
    )
    .await;

    let (report, calls) = diagnose_recorded(&server, &lab.secret_name);
    assert_eq!(
        field(&report, "verdict"),
        ["reachable", "reachable"],
        "{report:#}"
    );
    for path in database_paths(&report) {
        let hops = hop_resources(path);
        for expected in [
            &client.lambda_sg,
            &client.route_table,
            &pcx,
            &lab.private_route_table,
            &lab.db_sg,
        ] {
            assert!(hops.contains(expected), "{expected} not among {hops:?}");
        }
    }
    finding_with(&report, "NET002", "pass");
    assert!(
        calls
            .iter()
            .any(|c| c == "ec2:DescribeVpcPeeringConnections"),
        "{calls:?}"
    );
    // No transit gateway on any route: none of its calls.
    assert!(
        !calls.iter().any(|c| c.contains("TransitGateway")),
        "{calls:?}"
    );
    assert_listed(&calls);
}

#[tokio::test]
async fn a_missing_return_route_fails_naming_the_route_table() {
    let server = MotoServer::start();
    let (c, lab, client) = split_lab(&server).await;
    let pcx = lab.peer_client_vpc(&c, &client, true).await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(field(&report, "verdict"), ["blocked", "blocked"]);
    assert_eq!(
        field(&report, "blocked_by"),
        [
            lab.private_route_table.clone(),
            lab.private_route_table.clone()
        ]
    );
    let finding = finding_with(&report, "NET002", "fail");
    let message = finding["message"].as_str().unwrap_or_default();
    assert!(message.contains(&lab.private_route_table), "{finding:#}");
    // Its longest match for the Lambda's range is the default route.
    assert!(
        message.contains(&format!("to {}, not back through {pcx}", lab.nat_id)),
        "{finding:#}"
    );
}

#[tokio::test]
async fn a_peering_pending_acceptance_fails() {
    let server = MotoServer::start();
    let (c, lab, client) = split_lab(&server).await;
    let pcx = lab.peer_client_vpc(&c, &client, false).await;
    add_route(
        &c,
        &lab.private_route_table,
        &client.cidr,
        RouteVia::Peering(&pcx),
    )
    .await;

    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(field(&report, "verdict"), ["blocked", "blocked"]);
    assert_eq!(field(&report, "blocked_by"), [pcx.clone(), pcx.clone()]);
    let finding = finding_with(&report, "NET002", "fail");
    assert!(
        finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("pending-acceptance"),
        "{finding:#}"
    );
}

/// A transit gateway with both VPCs attached (the lab by its database
/// subnets), each associated with and propagating to its default route
/// table (moto lists no propagated routes; the engine derives them from
/// the propagations), and routes both ways in the VPCs. Security group
/// referencing is off, as AWS creates a transit gateway: the database
/// group's reference to the client's Lambda group matches nothing until a
/// range rule admits the client VPC.
#[tokio::test]
async fn a_transit_gateway_carries_range_rules_not_group_references() {
    let server = MotoServer::start();
    let (c, lab, client) = split_lab(&server).await;
    let tgw = c
        .ec2
        .create_transit_gateway()
        .options(
            TransitGatewayRequestOptions::builder()
                .security_group_referencing_support(SecurityGroupReferencingSupportValue::Disable)
                .build(),
        )
        .send()
        .await
        .or_panic("CreateTransitGateway");
    let tgw = tgw.transit_gateway().expect("transit gateway");
    let tgw_id = tgw.transit_gateway_id().unwrap_or_default().to_string();
    let table = tgw
        .options()
        .and_then(|o| o.association_default_route_table_id())
        .expect("default route table")
        .to_string();
    for (vpc, subnets) in [
        (&client.vpc_id, &client.subnets),
        (&lab.vpc_id, &lab.db_subnets),
    ] {
        let attachment = c
            .ec2
            .create_transit_gateway_vpc_attachment()
            .transit_gateway_id(&tgw_id)
            .vpc_id(vpc)
            .set_subnet_ids(Some(subnets.clone()))
            .send()
            .await
            .or_panic("CreateTransitGatewayVpcAttachment");
        let attachment_id = attachment
            .transit_gateway_vpc_attachment()
            .and_then(|a| a.transit_gateway_attachment_id())
            .expect("attachment id")
            .to_string();
        c.ec2
            .enable_transit_gateway_route_table_propagation()
            .transit_gateway_route_table_id(&table)
            .transit_gateway_attachment_id(&attachment_id)
            .send()
            .await
            .or_panic("EnableTransitGatewayRouteTablePropagation");
    }
    add_route(
        &c,
        &client.route_table,
        "10.0.0.0/16",
        RouteVia::TransitGateway(&tgw_id),
    )
    .await;
    add_route(
        &c,
        &lab.private_route_table,
        &client.cidr,
        RouteVia::TransitGateway(&tgw_id),
    )
    .await;

    let (report, calls) = diagnose_recorded(&server, &lab.secret_name);
    assert_eq!(
        field(&report, "verdict"),
        ["blocked", "blocked"],
        "{report:#}"
    );
    assert_eq!(
        field(&report, "blocked_by"),
        [lab.db_sg.clone(), lab.db_sg.clone()]
    );
    let finding = finding_with(&report, "NET002", "fail");
    assert!(
        finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("security group referencing"),
        "{finding:#}"
    );
    for call in [
        "ec2:DescribeTransitGateways",
        "ec2:DescribeTransitGatewayVpcAttachments",
        "ec2:DescribeTransitGatewayRouteTables",
        "ec2:GetTransitGatewayRouteTableAssociations",
        "ec2:GetTransitGatewayRouteTablePropagations",
        "ec2:SearchTransitGatewayRoutes",
    ] {
        assert!(
            calls.iter().any(|c| c == call),
            "{call} not among {calls:?}"
        );
    }
    assert_listed(&calls);

    lab.allow_cidr(&c, &lab.db_sg, 3306, &client.cidr).await;
    let (_, report) = server.diagnose_json(&lab.secret_name, &[]);
    assert_eq!(
        field(&report, "verdict"),
        ["reachable", "reachable"],
        "{report:#}"
    );
    for path in database_paths(&report) {
        let hops = hop_resources(path);
        assert!(hops.contains(&table), "{table} not among {hops:?}");
        assert!(hops.contains(&lab.private_route_table), "{hops:?}");
    }
    finding_with(&report, "NET002", "pass");
}
