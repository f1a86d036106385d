//! `UpdateLambdaVpc`: move the rotation Lambda to other subnets and security
//! groups, if it is still where the plan saw it. Undone by moving it back,
//! if it is still where the fix put it.

use aws_sdk_lambda::types::VpcConfig;

use super::{already, done, failed, function_configuration, reversed, stopped, ActionResult};
use crate::collect::errors::unavailable;
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    function_name: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
    previous_subnet_ids: &[String],
    previous_security_group_ids: &[String],
) -> ActionResult {
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
            function_name: function_name.to_string(),
            applied_subnet_ids: subnet_ids.to_vec(),
            applied_security_group_ids: security_group_ids.to_vec(),
            subnet_ids: previous_subnet_ids.to_vec(),
            security_group_ids: previous_security_group_ids.to_vec(),
        },
    )
}

pub(super) async fn undo(
    clients: &Clients,
    function_name: &str,
    applied_subnet_ids: &[String],
    applied_security_group_ids: &[String],
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> ActionResult {
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

/// The function's subnets and security groups, each sorted.
async fn lambda_vpc(
    clients: &Clients,
    function: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let config = function_configuration(clients, function).await?;
    let vpc = config.vpc_config();
    let subnets = vpc.map(|v| v.subnet_ids()).unwrap_or_default();
    let groups = vpc.map(|v| v.security_group_ids()).unwrap_or_default();
    Ok((sorted(subnets), sorted(groups)))
}

/// Moves the function, sending both lists always: a VpcConfig without
/// SecurityGroupIds corrupts the function in moto (docs/moto-notes.md,
/// "Lambda"), and AWS expects both too.
async fn set_lambda_vpc(
    clients: &Clients,
    function: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> Result<(), String> {
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
