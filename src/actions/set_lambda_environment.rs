//! `SetLambdaEnvironment`: set one environment variable of the rotation
//! Lambda, keeping the others, if it still holds what the plan saw. Undone
//! by restoring the previous value (or removing the variable), if it still
//! holds what the fix set.

use std::collections::HashMap;

use aws_sdk_lambda::types::Environment;

use super::{already, done, failed, function_configuration, reversed, stopped, ActionResult};
use crate::collect::errors::unavailable;
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    function_name: &str,
    name: &str,
    value: &str,
    previous_value: Option<&str>,
) -> ActionResult {
    let variables = match environment(clients, function_name).await {
        Ok(variables) => variables,
        Err(reason) => return failed(reason),
    };
    let current = variables.get(name).map(String::as_str);
    if current == Some(value) {
        return already(format!("{name} is already set on {function_name}"));
    }
    if current != previous_value {
        return stopped(format!(
            "{name} on {function_name} changed since the plan: left alone"
        ));
    }
    if let Err(reason) = set_variable(clients, function_name, variables, name, Some(value)).await {
        return failed(reason);
    }
    done(
        format!("set {name}={value} on {function_name}"),
        Undo::RestoreLambdaEnvironment {
            function_name: function_name.to_string(),
            name: name.to_string(),
            applied_value: value.to_string(),
            previous_value: previous_value.map(str::to_string),
        },
    )
}

pub(super) async fn undo(
    clients: &Clients,
    function_name: &str,
    name: &str,
    applied_value: &str,
    previous_value: Option<&str>,
) -> ActionResult {
    let variables = match environment(clients, function_name).await {
        Ok(variables) => variables,
        Err(reason) => return failed(reason),
    };
    if variables.get(name).map(String::as_str) != Some(applied_value) {
        return stopped(format!(
            "{name} on {function_name} changed since the fix: left alone"
        ));
    }
    if let Err(reason) = set_variable(clients, function_name, variables, name, previous_value).await
    {
        return failed(reason);
    }
    reversed(format!("restored {name} on {function_name}"))
}

async fn environment(clients: &Clients, function: &str) -> Result<HashMap<String, String>, String> {
    let config = function_configuration(clients, function).await?;
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
) -> Result<(), String> {
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
