//! `AddInvokePermission`: a statement on the function's resource policy that
//! lets Secrets Manager invoke it, for this account only. Undone by removing
//! that statement.

use rotation_doctor_checks::ErrorKind;

use super::{already, done, failed, reversed, ActionResult};
use crate::collect::errors::unavailable;
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    function_name: &str,
    statement_id: &str,
    source_account: &str,
) -> ActionResult {
    match has_statement(clients, function_name, statement_id).await {
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
            function_name: function_name.to_string(),
            statement_id: statement_id.to_string(),
        },
    )
}

pub(super) async fn undo(
    clients: &Clients,
    function_name: &str,
    statement_id: &str,
) -> ActionResult {
    match has_statement(clients, function_name, statement_id).await {
        Err(reason) => return failed(reason),
        Ok(false) => return already(format!("{function_name} has no statement {statement_id}")),
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

/// Whether the function's resource policy has a statement with this id.
async fn has_statement(
    clients: &Clients,
    function: &str,
    statement_id: &str,
) -> Result<bool, String> {
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
            if why.kind == ErrorKind::NotFound {
                Ok(false)
            } else {
                Err(why.to_string())
            }
        }
    }
}
