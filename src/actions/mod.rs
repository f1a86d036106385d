//! Every change this tool makes to an account: the fix actions, one file
//! each holding its precondition read, its apply and its undo, and
//! RotateSecret (`rotate_secret.rs`). Adding a fix is adding its `FixAction`
//! and `Undo` variants, a file here, and an arm in [`apply`] and [`undo`].
//!
//! An apply re-reads the resource first, does nothing when the change is
//! already there, stops when the resource changed since the plan, and never
//! deletes or replaces what this tool did not create. An undo takes the same
//! care: it stops when the resource no longer looks the way the fix left it.

/// Runs `$call.send().await`, or returns a `Failed` result naming the call.
macro_rules! send {
    ($call:expr, $name:literal) => {
        match $call.send().await {
            Ok(output) => output,
            Err(error) => {
                return $crate::actions::failed(
                    $crate::collect::errors::unavailable($name, &error).to_string(),
                )
            }
        }
    };
}

mod add_invoke_permission;
mod authorize_egress;
mod authorize_ingress_from_group;
mod create_interface_endpoint;
mod put_role_policy;
mod remove_pending_label;
pub mod rotate_secret;
mod set_lambda_environment;
mod update_lambda_vpc;

use std::collections::HashMap;

use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use rotation_doctor_checks::fix::{EgressDestination, FixAction};

use crate::collect::errors::unavailable;
use crate::collect::Clients;
use crate::fix::journal::{Outcome, Undo};

/// What happened to one action (or one undo).
pub struct ActionResult {
    pub outcome: Outcome,
    pub detail: String,
    pub undo: Option<Undo>,
}

/// Applies one fix action.
pub async fn apply(clients: &Clients, action: &FixAction) -> ActionResult {
    match action {
        FixAction::AuthorizeIngressFromGroup {
            group_id,
            port,
            source_group_id,
            description,
        } => {
            authorize_ingress_from_group::apply(
                clients,
                group_id,
                *port,
                source_group_id,
                description,
            )
            .await
        }
        FixAction::AuthorizeEgress {
            group_id,
            port,
            destination,
            description,
        } => authorize_egress::apply(clients, group_id, *port, destination, description).await,
        FixAction::UpdateLambdaVpc {
            function_name,
            subnet_ids,
            security_group_ids,
            previous_subnet_ids,
            previous_security_group_ids,
        } => {
            update_lambda_vpc::apply(
                clients,
                function_name,
                subnet_ids,
                security_group_ids,
                previous_subnet_ids,
                previous_security_group_ids,
            )
            .await
        }
        FixAction::CreateInterfaceEndpoint {
            vpc_id,
            service_name,
            subnet_ids,
            security_group_ids,
        } => {
            create_interface_endpoint::apply(
                clients,
                vpc_id,
                service_name,
                subnet_ids,
                security_group_ids,
            )
            .await
        }
        FixAction::AddInvokePermission {
            function_name,
            statement_id,
            source_account,
        } => {
            add_invoke_permission::apply(clients, function_name, statement_id, source_account).await
        }
        FixAction::PutRolePolicy {
            role_name,
            policy_name,
            document,
        } => put_role_policy::apply(clients, role_name, policy_name, document).await,
        FixAction::SetLambdaEnvironment {
            function_name,
            name,
            value,
            previous_value,
        } => {
            set_lambda_environment::apply(
                clients,
                function_name,
                name,
                value,
                previous_value.as_deref(),
            )
            .await
        }
        FixAction::RemovePendingLabel {
            secret_id,
            version_id,
        } => remove_pending_label::apply(clients, secret_id, version_id).await,
    }
}

/// Reverses one applied action.
pub async fn undo(clients: &Clients, undo: &Undo) -> ActionResult {
    match undo {
        Undo::RevokeIngressFromGroup {
            group_id,
            port,
            source_group_id,
            description,
        } => {
            authorize_ingress_from_group::undo(
                clients,
                group_id,
                *port,
                source_group_id,
                description,
            )
            .await
        }
        Undo::RevokeEgress {
            group_id,
            port,
            destination,
            description,
        } => authorize_egress::undo(clients, group_id, *port, destination, description).await,
        Undo::RestoreLambdaVpc {
            function_name,
            applied_subnet_ids,
            applied_security_group_ids,
            subnet_ids,
            security_group_ids,
        } => {
            update_lambda_vpc::undo(
                clients,
                function_name,
                applied_subnet_ids,
                applied_security_group_ids,
                subnet_ids,
                security_group_ids,
            )
            .await
        }
        Undo::DeleteVpcEndpoint { endpoint_id } => {
            create_interface_endpoint::undo(clients, endpoint_id).await
        }
        Undo::RemovePermission {
            function_name,
            statement_id,
        } => add_invoke_permission::undo(clients, function_name, statement_id).await,
        Undo::DeleteRolePolicy {
            role_name,
            policy_name,
        } => put_role_policy::undo(clients, role_name, policy_name).await,
        Undo::RestoreLambdaEnvironment {
            function_name,
            name,
            applied_value,
            previous_value,
        } => {
            set_lambda_environment::undo(
                clients,
                function_name,
                name,
                applied_value,
                previous_value.as_deref(),
            )
            .await
        }
        Undo::RestorePendingLabel {
            secret_id,
            version_id,
        } => remove_pending_label::undo(clients, secret_id, version_id).await,
    }
}

/// The change is made; `undo` reverses it.
fn done(detail: String, undo: Undo) -> ActionResult {
    ActionResult {
        outcome: Outcome::Applied,
        detail,
        undo: Some(undo),
    }
}

/// An undo that reversed its change.
fn reversed(detail: String) -> ActionResult {
    ActionResult {
        outcome: Outcome::Applied,
        detail,
        undo: None,
    }
}

fn already(detail: String) -> ActionResult {
    ActionResult {
        outcome: Outcome::AlreadyDone,
        detail,
        undo: None,
    }
}

fn stopped(detail: String) -> ActionResult {
    ActionResult {
        outcome: Outcome::Stopped,
        detail,
        undo: None,
    }
}

fn failed(detail: String) -> ActionResult {
    ActionResult {
        outcome: Outcome::Failed,
        detail,
        undo: None,
    }
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

/// The tcp/`port` rule to or from a peer, as a security group holds it.
fn permission(port: u16, peer: &EgressDestination, description: &str) -> IpPermission {
    match peer {
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

/// A security group's inbound (or, with `egress`, outbound) rules.
async fn group_permissions(
    clients: &Clients,
    group_id: &str,
    egress: bool,
) -> Result<Vec<IpPermission>, String> {
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

/// The rotation Lambda's configuration as it is now, read before changing it.
async fn function_configuration(
    clients: &Clients,
    function: &str,
) -> Result<GetFunctionConfigurationOutput, String> {
    clients
        .lambda
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .map_err(|e| unavailable("lambda:GetFunctionConfiguration", &e).to_string())
}

/// The staging labels of each version of a secret, from DescribeSecret:
/// what `RemovePendingLabel` checks first and `rotate --wait` watches.
pub async fn version_stages(
    clients: &Clients,
    secret_id: &str,
) -> Result<HashMap<String, Vec<String>>, String> {
    let output = clients
        .secrets
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| unavailable("secretsmanager:DescribeSecret", &e).to_string())?;
    Ok(output.version_ids_to_stages().cloned().unwrap_or_default())
}
