//! `rotation-doctor permissions`: the least-privilege IAM policies the tool
//! needs, one to diagnose (read-only) and one to apply and undo fixes.
//! tests/permissions.rs compares both with the calls the commands make.

use rotation_doctor_checks::fix::{EgressDestination, FixAction};
use serde_json::json;

/// Every call `diagnose` (and `scan`, and `template --live`, which reads
/// existing resources with diagnose's collectors) may make. Each is optional: a denied
/// one makes the checks that need it `unknown`.
pub const READ_ACTIONS: &[&str] = &[
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:ListSecrets",
    "secretsmanager:BatchGetSecretValue",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "lambda:ListTags",
    "ec2:DescribeVpcs",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeNatGateways",
    "ec2:DescribeInternetGateways",
    // Only when a route leads to a peering connection or a transit gateway.
    "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeTransitGatewayVpcAttachments",
    "ec2:DescribeTransitGatewayRouteTables",
    "ec2:GetTransitGatewayRouteTableAssociations",
    "ec2:GetTransitGatewayRouteTablePropagations",
    "ec2:SearchTransitGatewayRoutes",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:DescribeDBSubnetGroups",
    "rds:DescribeDBProxies",
    "rds:DescribeDBProxyEndpoints",
    "rds:DescribeDBProxyTargets",
    "redshift:DescribeClusters",
    "redshift:DescribeClusterSubnetGroups",
    "elasticache:DescribeUsers",
    "elasticache:DescribeReplicationGroups",
    "elasticache:DescribeCacheClusters",
    "elasticache:DescribeCacheSubnetGroups",
    "logs:FilterLogEvents",
    "iam:GetRole",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:SimulatePrincipalPolicy",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "cloudtrail:LookupEvents",
    "ec2:DescribeRegions",
];

/// What the principal that runs `scan --role-name` calls itself: it assumes
/// the role in each account (which then needs `READ_ACTIONS`) and lists the
/// organization's accounts for `--organization`.
pub const SCANNER_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
];

/// One action of each kind, to list what applying any fix may need.
fn every_fix_action() -> Vec<FixAction> {
    let s = String::new;
    vec![
        FixAction::AuthorizeIngressFromGroup {
            group_id: s(),
            port: 0,
            source_group_id: s(),
            description: s(),
        },
        FixAction::AuthorizeEgress {
            group_id: s(),
            port: 0,
            destination: EgressDestination::Cidr(s()),
            description: s(),
        },
        FixAction::UpdateLambdaVpc {
            function_name: s(),
            subnet_ids: vec![],
            security_group_ids: vec![],
            previous_subnet_ids: vec![],
            previous_security_group_ids: vec![],
        },
        FixAction::CreateInterfaceEndpoint {
            vpc_id: s(),
            service_name: s(),
            subnet_ids: vec![],
            security_group_ids: vec![],
        },
        FixAction::AddInvokePermission {
            function_name: s(),
            statement_id: s(),
            source_account: s(),
        },
        FixAction::PutRolePolicy {
            role_name: s(),
            policy_name: s(),
            document: json!({}),
        },
        FixAction::SetLambdaEnvironment {
            function_name: s(),
            name: s(),
            value: s(),
            previous_value: None,
        },
        FixAction::RemovePendingLabel {
            secret_id: s(),
            version_id: s(),
        },
    ]
}

/// The extra actions `--fix`, `apply`, `undo` and `rotate` need.
pub fn fix_actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = every_fix_action()
        .iter()
        .flat_map(|a| a.iam_actions().iter().copied())
        .chain([
            "secretsmanager:RotateSecret",
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeSecurityGroups",
        ])
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

pub fn policy(actions: &[&str], sid: &str) -> String {
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"}],
    });
    serde_json::to_string_pretty(&document).unwrap_or_default()
}
