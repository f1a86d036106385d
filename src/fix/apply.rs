//! Applying one fix action, and undoing it: re-read the resource first, do
//! nothing when the change is already there, stop when the resource changed
//! since the plan, and never delete or replace what this tool did not create.

use std::collections::HashMap;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, UserIdGroupPair, VpcEndpointType};
use aws_sdk_lambda::types::{Environment, VpcConfig};
use rotation_doctor_checks::fix::{EgressDestination, FixAction};

use super::journal::{Outcome, Undo};
use crate::collect::errors::unavailable;
use crate::collect::Clients;

/// What happened to one action.
pub struct Result {
    pub outcome: Outcome,
    pub detail: String,
    pub undo: Option<Undo>,
}

fn done(detail: String, undo: Undo) -> Result {
    Result {
        outcome: Outcome::Applied,
        detail,
        undo: Some(undo),
    }
}

fn already(detail: String) -> Result {
    Result {
        outcome: Outcome::AlreadyDone,
        detail,
        undo: None,
    }
}

fn stopped(detail: String) -> Result {
    Result {
        outcome: Outcome::Stopped,
        detail,
        undo: None,
    }
}

fn failed(detail: String) -> Result {
    Result {
        outcome: Outcome::Failed,
        detail,
        undo: None,
    }
}

/// Runs `$call.send().await`, or returns a `Failed` result naming the call.
macro_rules! send {
    ($call:expr, $name:literal) => {
        match $call.send().await {
            Ok(output) => output,
            Err(error) => return failed(unavailable($name, &error).to_string()),
        }
    };
}

fn tcp_on(port: u16) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(i32::from(port))
        .to_port(i32::from(port))
}

/// Whether a permission list already holds tcp/`port` to or from the peer.
fn has_rule(
    permissions: &[IpPermission],
    port: u16,
    group: Option<&str>,
    cidr: Option<&str>,
) -> bool {
    permissions.iter().any(|p| {
        let protocol = p.ip_protocol().unwrap_or_default();
        let ports = protocol == "-1"
            || (matches!(protocol, "tcp" | "6")
                && p.from_port().unwrap_or(0) <= i32::from(port)
                && i32::from(port) <= p.to_port().unwrap_or(65535));
        ports
            && (group.is_some_and(|g| {
                p.user_id_group_pairs()
                    .iter()
                    .any(|pair| pair.group_id() == Some(g))
            }) || cidr.is_some_and(|c| p.ip_ranges().iter().any(|r| r.cidr_ip() == Some(c))))
    })
}

fn permission(port: u16, destination: &EgressDestination, description: &str) -> IpPermission {
    match destination {
        EgressDestination::Group(group) => tcp_on(port)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(group)
                    .description(description)
                    .build(),
            )
            .build(),
        EgressDestination::Cidr(cidr) => tcp_on(port)
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .description(description)
                    .build(),
            )
            .build(),
    }
}

async fn group_permissions(
    clients: &Clients,
    group_id: &str,
    egress: bool,
) -> std::result::Result<Vec<IpPermission>, String> {
    let output = clients
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .map_err(|e| unavailable("ec2:DescribeSecurityGroups", &e).to_string())?;
    let group = output
        .security_groups()
        .first()
        .ok_or_else(|| format!("security group {group_id} no longer exists"))?;
    Ok(if egress {
        group.ip_permissions_egress().to_vec()
    } else {
        group.ip_permissions().to_vec()
    })
}

async fn lambda_vpc(
    clients: &Clients,
    function: &str,
) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let config = clients
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| unavailable("lambda:GetFunctionConfiguration", &e).to_string())?;
    let vpc = config.vpc_config();
    let mut subnets: Vec<String> = vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
    let mut groups: Vec<String> = vpc
        .map(|v| v.security_group_ids().to_vec())
        .unwrap_or_default();
    subnets.sort();
    groups.sort();
    Ok((subnets, groups))
}

/// Moves the function, sending both lists always: a VpcConfig without
/// SecurityGroupIds corrupts the function in moto (docs/moto-notes.md,
/// "Lambda"), and AWS expects both too.
async fn set_lambda_vpc(
    clients: &Clients,
    function: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> std::result::Result<(), String> {
    clients
        .lambda
        .update_function_configuration()
        .function_name(function)
        .vpc_config(
            VpcConfig::builder()
                .set_subnet_ids(Some(subnet_ids.to_vec()))
                .set_security_group_ids(Some(security_group_ids.to_vec()))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| unavailable("lambda:UpdateFunctionConfiguration", &e).to_string())
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list
}

async fn environment(
    clients: &Clients,
    function: &str,
) -> std::result::Result<HashMap<String, String>, String> {
    let config = clients
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| unavailable("lambda:GetFunctionConfiguration", &e).to_string())?;
    Ok(config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default())
}

/// Sends the whole environment back with one variable changed: Lambda
/// replaces the environment as a whole. The values never leave this call.
async fn set_variable(
    clients: &Clients,
    function: &str,
    mut variables: HashMap<String, String>,
    name: &str,
    value: Option<&str>,
) -> std::result::Result<(), String> {
    match value {
        Some(value) => variables.insert(name.to_string(), value.to_string()),
        None => variables.remove(name),
    };
    clients
        .lambda
        .update_function_configuration()
        .function_name(function)
        .environment(
            Environment::builder()
                .set_variables(Some(variables))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| unavailable("lambda:UpdateFunctionConfiguration", &e).to_string())
}

async fn stages(
    clients: &Clients,
    secret_id: &str,
) -> std::result::Result<HashMap<String, Vec<String>>, String> {
    let output = clients
        .secrets
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| unavailable("secretsmanager:DescribeSecret", &e).to_string())?;
    Ok(output.version_ids_to_stages().cloned().unwrap_or_default())
}

/// The invoke statement for Secrets Manager, if the function has one.
async fn has_invoke_statement(
    clients: &Clients,
    function: &str,
    statement_id: &str,
) -> std::result::Result<bool, String> {
    match clients
        .lambda
        .get_policy()
        .function_name(function)
        .send()
        .await
    {
        Ok(output) => {
            let policy: serde_json::Value =
                serde_json::from_str(output.policy().unwrap_or("{}")).unwrap_or_default();
            Ok(rotation_doctor_checks::policy::statements(&policy)
                .iter()
                .any(|s| s.get("Sid").and_then(|v| v.as_str()) == Some(statement_id)))
        }
        Err(error) => {
            let why = unavailable("lambda:GetPolicy", &error);
            if why.kind == rotation_doctor_checks::ErrorKind::NotFound {
                Ok(false)
            } else {
                Err(why.to_string())
            }
        }
    }
}

pub async fn apply(clients: &Clients, action: &FixAction) -> Result {
    match action {
        FixAction::AuthorizeIngressFromGroup {
            group_id,
            port,
            source_group_id,
            description,
        } => {
            match group_permissions(clients, group_id, false).await {
                Err(reason) => return failed(reason),
                Ok(existing) if has_rule(&existing, *port, Some(source_group_id), None) => {
                    return already(format!(
                        "{group_id} already admits tcp/{port} from {source_group_id}"
                    ))
                }
                Ok(_) => {}
            }
            send!(
                clients
                    .ec2
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .ip_permissions(permission(
                        *port,
                        &EgressDestination::Group(source_group_id.clone()),
                        description
                    )),
                "ec2:AuthorizeSecurityGroupIngress"
            );
            done(
                format!("{group_id} now admits tcp/{port} from {source_group_id}"),
                Undo::RevokeIngressFromGroup {
                    group_id: group_id.clone(),
                    port: *port,
                    source_group_id: source_group_id.clone(),
                    description: description.clone(),
                },
            )
        }
        FixAction::AuthorizeEgress {
            group_id,
            port,
            destination,
            description,
        } => {
            let (group, cidr) = match destination {
                EgressDestination::Group(g) => (Some(g.as_str()), None),
                EgressDestination::Cidr(c) => (None, Some(c.as_str())),
            };
            match group_permissions(clients, group_id, true).await {
                Err(reason) => return failed(reason),
                Ok(existing) if has_rule(&existing, *port, group, cidr) => {
                    return already(format!("{group_id} already allows tcp/{port} out"))
                }
                Ok(_) => {}
            }
            send!(
                clients
                    .ec2
                    .authorize_security_group_egress()
                    .group_id(group_id)
                    .ip_permissions(permission(*port, destination, description)),
                "ec2:AuthorizeSecurityGroupEgress"
            );
            done(
                format!("{group_id} now allows tcp/{port} out"),
                Undo::RevokeEgress {
                    group_id: group_id.clone(),
                    port: *port,
                    destination: destination.clone(),
                    description: description.clone(),
                },
            )
        }
        FixAction::UpdateLambdaVpc {
            function_name,
            subnet_ids,
            security_group_ids,
            previous_subnet_ids,
            previous_security_group_ids,
        } => {
            let current = match lambda_vpc(clients, function_name).await {
                Ok(current) => current,
                Err(reason) => return failed(reason),
            };
            if current == (sorted(subnet_ids), sorted(security_group_ids)) {
                return already(format!(
                    "{function_name} is already in those subnets and groups"
                ));
            }
            if current
                != (
                    sorted(previous_subnet_ids),
                    sorted(previous_security_group_ids),
                )
            {
                return stopped(format!(
                    "{function_name}'s VPC configuration changed since the plan (now subnets {} and groups {}): left alone",
                    current.0.join(", "),
                    current.1.join(", ")
                ));
            }
            if let Err(reason) =
                set_lambda_vpc(clients, function_name, subnet_ids, security_group_ids).await
            {
                return failed(reason);
            }
            done(
                format!(
                    "{function_name} moved to subnets {} with groups {}",
                    subnet_ids.join(", "),
                    security_group_ids.join(", ")
                ),
                Undo::RestoreLambdaVpc {
                    function_name: function_name.clone(),
                    applied_subnet_ids: subnet_ids.clone(),
                    applied_security_group_ids: security_group_ids.clone(),
                    subnet_ids: previous_subnet_ids.clone(),
                    security_group_ids: previous_security_group_ids.clone(),
                },
            )
        }
        FixAction::CreateInterfaceEndpoint {
            vpc_id,
            service_name,
            subnet_ids,
            security_group_ids,
        } => {
            let existing = send!(
                clients
                    .ec2
                    .describe_vpc_endpoints()
                    .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                    .filters(
                        Filter::builder()
                            .name("service-name")
                            .values(service_name)
                            .build()
                    ),
                "ec2:DescribeVpcEndpoints"
            );
            if let Some(endpoint) = existing.vpc_endpoints().first() {
                return already(format!(
                    "{vpc_id} already has endpoint {} for {service_name}",
                    endpoint.vpc_endpoint_id().unwrap_or_default()
                ));
            }
            let created = send!(
                clients
                    .ec2
                    .create_vpc_endpoint()
                    .vpc_id(vpc_id)
                    .vpc_endpoint_type(VpcEndpointType::Interface)
                    .service_name(service_name)
                    .set_subnet_ids(Some(subnet_ids.clone()))
                    .set_security_group_ids(Some(security_group_ids.clone()))
                    .private_dns_enabled(true),
                "ec2:CreateVpcEndpoint"
            );
            let id = created
                .vpc_endpoint()
                .and_then(|e| e.vpc_endpoint_id())
                .unwrap_or_default()
                .to_string();
            done(
                format!("created interface endpoint {id} for {service_name}"),
                Undo::DeleteVpcEndpoint { endpoint_id: id },
            )
        }
        FixAction::AddInvokePermission {
            function_name,
            statement_id,
            source_account,
        } => {
            match has_invoke_statement(clients, function_name, statement_id).await {
                Err(reason) => return failed(reason),
                Ok(true) => {
                    return already(format!(
                        "{function_name} already has statement {statement_id}"
                    ))
                }
                Ok(false) => {}
            }
            send!(
                clients
                    .lambda
                    .add_permission()
                    .function_name(function_name)
                    .statement_id(statement_id)
                    .action("lambda:InvokeFunction")
                    .principal("secretsmanager.amazonaws.com")
                    .source_account(source_account),
                "lambda:AddPermission"
            );
            done(
                format!("secretsmanager.amazonaws.com may now invoke {function_name} for account {source_account}"),
                Undo::RemovePermission {
                    function_name: function_name.clone(),
                    statement_id: statement_id.clone(),
                },
            )
        }
        FixAction::PutRolePolicy {
            role_name,
            policy_name,
            document,
        } => {
            match clients
                .iam
                .get_role_policy()
                .role_name(role_name)
                .policy_name(policy_name)
                .send()
                .await
            {
                Ok(existing) => {
                    let decoded = rotation_doctor_checks::policy::decode_policy_document(
                        existing.policy_document(),
                    );
                    let same = serde_json::from_str::<serde_json::Value>(&decoded)
                        .ok()
                        .as_ref()
                        == Some(document);
                    return if same {
                        already(format!("role {role_name} already has policy {policy_name}"))
                    } else {
                        stopped(format!(
                            "role {role_name} already has a different inline policy named {policy_name}: left alone"
                        ))
                    };
                }
                Err(error) => {
                    let why = unavailable("iam:GetRolePolicy", &error);
                    if why.kind != rotation_doctor_checks::ErrorKind::NotFound {
                        return failed(why.to_string());
                    }
                }
            }
            send!(
                clients
                    .iam
                    .put_role_policy()
                    .role_name(role_name)
                    .policy_name(policy_name)
                    .policy_document(document.to_string()),
                "iam:PutRolePolicy"
            );
            done(
                format!("put inline policy {policy_name} on role {role_name}"),
                Undo::DeleteRolePolicy {
                    role_name: role_name.clone(),
                    policy_name: policy_name.clone(),
                },
            )
        }
        FixAction::SetLambdaEnvironment {
            function_name,
            name,
            value,
            previous_value,
        } => {
            let variables = match environment(clients, function_name).await {
                Ok(variables) => variables,
                Err(reason) => return failed(reason),
            };
            let current = variables.get(name).cloned();
            if current.as_deref() == Some(value.as_str()) {
                return already(format!("{name} is already set on {function_name}"));
            }
            if current != *previous_value {
                return stopped(format!(
                    "{name} on {function_name} changed since the plan: left alone"
                ));
            }
            if let Err(reason) =
                set_variable(clients, function_name, variables, name, Some(value)).await
            {
                return failed(reason);
            }
            done(
                format!("set {name}={value} on {function_name}"),
                Undo::RestoreLambdaEnvironment {
                    function_name: function_name.clone(),
                    name: name.clone(),
                    applied_value: value.clone(),
                    previous_value: previous_value.clone(),
                },
            )
        }
        FixAction::RemovePendingLabel {
            secret_id,
            version_id,
        } => {
            let stages = match stages(clients, secret_id).await {
                Ok(stages) => stages,
                Err(reason) => return failed(reason),
            };
            let labels = stages.get(version_id).cloned().unwrap_or_default();
            let has = |label: &str| labels.iter().any(|l| l == label);
            if !has("AWSPENDING") {
                return already(format!("version {version_id} no longer carries AWSPENDING"));
            }
            if has("AWSCURRENT") {
                return stopped(format!(
                    "version {version_id} is now AWSCURRENT: its AWSPENDING label is normal, left alone"
                ));
            }
            send!(
                clients
                    .secrets
                    .update_secret_version_stage()
                    .secret_id(secret_id)
                    .version_stage("AWSPENDING")
                    .remove_from_version_id(version_id),
                "secretsmanager:UpdateSecretVersionStage"
            );
            done(
                format!("removed AWSPENDING from version {version_id}"),
                Undo::RestorePendingLabel {
                    secret_id: secret_id.clone(),
                    version_id: version_id.clone(),
                },
            )
        }
    }
}

/// Reverses one applied action, with the same care: it stops when the
/// resource no longer looks the way the fix left it.
pub async fn undo(clients: &Clients, undo: &Undo) -> Result {
    let reversed = |detail: String| Result {
        outcome: Outcome::Applied,
        detail,
        undo: None,
    };
    match undo {
        Undo::RevokeIngressFromGroup {
            group_id,
            port,
            source_group_id,
            description,
        } => {
            match group_permissions(clients, group_id, false).await {
                Err(reason) => return failed(reason),
                Ok(existing) if !has_rule(&existing, *port, Some(source_group_id), None) => {
                    return already(format!(
                        "{group_id} no longer admits tcp/{port} from {source_group_id}"
                    ))
                }
                Ok(_) => {}
            }
            send!(
                clients
                    .ec2
                    .revoke_security_group_ingress()
                    .group_id(group_id)
                    .ip_permissions(permission(
                        *port,
                        &EgressDestination::Group(source_group_id.clone()),
                        description
                    )),
                "ec2:RevokeSecurityGroupIngress"
            );
            reversed(format!(
                "removed tcp/{port} from {source_group_id} on {group_id}"
            ))
        }
        Undo::RevokeEgress {
            group_id,
            port,
            destination,
            description,
        } => {
            send!(
                clients
                    .ec2
                    .revoke_security_group_egress()
                    .group_id(group_id)
                    .ip_permissions(permission(*port, destination, description)),
                "ec2:RevokeSecurityGroupEgress"
            );
            reversed(format!(
                "removed the outbound tcp/{port} rule from {group_id}"
            ))
        }
        Undo::RestoreLambdaVpc {
            function_name,
            applied_subnet_ids,
            applied_security_group_ids,
            subnet_ids,
            security_group_ids,
        } => {
            match lambda_vpc(clients, function_name).await {
                Err(reason) => return failed(reason),
                Ok(current)
                    if current
                        != (
                            sorted(applied_subnet_ids),
                            sorted(applied_security_group_ids),
                        ) =>
                {
                    return stopped(format!(
                        "{function_name} moved again since the fix: left alone"
                    ))
                }
                Ok(_) => {}
            }
            if let Err(reason) =
                set_lambda_vpc(clients, function_name, subnet_ids, security_group_ids).await
            {
                return failed(reason);
            }
            reversed(format!(
                "{function_name} back in subnets {}",
                subnet_ids.join(", ")
            ))
        }
        Undo::DeleteVpcEndpoint { endpoint_id } => {
            send!(
                clients
                    .ec2
                    .delete_vpc_endpoints()
                    .vpc_endpoint_ids(endpoint_id),
                "ec2:DeleteVpcEndpoints"
            );
            reversed(format!("deleted endpoint {endpoint_id}"))
        }
        Undo::RemovePermission {
            function_name,
            statement_id,
        } => {
            match has_invoke_statement(clients, function_name, statement_id).await {
                Err(reason) => return failed(reason),
                Ok(false) => {
                    return already(format!("{function_name} has no statement {statement_id}"))
                }
                Ok(true) => {}
            }
            send!(
                clients
                    .lambda
                    .remove_permission()
                    .function_name(function_name)
                    .statement_id(statement_id),
                "lambda:RemovePermission"
            );
            reversed(format!(
                "removed statement {statement_id} from {function_name}"
            ))
        }
        Undo::DeleteRolePolicy {
            role_name,
            policy_name,
        } => {
            send!(
                clients
                    .iam
                    .delete_role_policy()
                    .role_name(role_name)
                    .policy_name(policy_name),
                "iam:DeleteRolePolicy"
            );
            reversed(format!(
                "deleted inline policy {policy_name} from {role_name}"
            ))
        }
        Undo::RestoreLambdaEnvironment {
            function_name,
            name,
            applied_value,
            previous_value,
        } => {
            let variables = match environment(clients, function_name).await {
                Ok(variables) => variables,
                Err(reason) => return failed(reason),
            };
            if variables.get(name) != Some(applied_value) {
                return stopped(format!(
                    "{name} on {function_name} changed since the fix: left alone"
                ));
            }
            if let Err(reason) = set_variable(
                clients,
                function_name,
                variables,
                name,
                previous_value.as_deref(),
            )
            .await
            {
                return failed(reason);
            }
            reversed(format!("restored {name} on {function_name}"))
        }
        Undo::RestorePendingLabel {
            secret_id,
            version_id,
        } => {
            send!(
                clients
                    .secrets
                    .update_secret_version_stage()
                    .secret_id(secret_id)
                    .version_stage("AWSPENDING")
                    .move_to_version_id(version_id),
                "secretsmanager:UpdateSecretVersionStage"
            );
            reversed(format!("put AWSPENDING back on version {version_id}"))
        }
    }
}
