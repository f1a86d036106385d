//! `PutRolePolicy`: an inline policy on the execution role, unless the role
//! already has one of that name (the same document: done; another: left
//! alone). Undone by deleting the policy this tool put.

use rotation_doctor_checks::ErrorKind;

use super::{already, done, failed, reversed, stopped, ActionResult};
use crate::collect::errors::unavailable;
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    role_name: &str,
    policy_name: &str,
    document: &serde_json::Value,
) -> ActionResult {
    match clients
        .iam
        .get_role_policy()
        .role_name(role_name)
        .policy_name(policy_name)
        .send()
        .await
    {
        Ok(existing) => {
            let decoded =
                rotation_doctor_checks::policy::decode_policy_document(existing.policy_document());
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
            if why.kind != ErrorKind::NotFound {
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
            role_name: role_name.to_string(),
            policy_name: policy_name.to_string(),
        },
    )
}

pub(super) async fn undo(clients: &Clients, role_name: &str, policy_name: &str) -> ActionResult {
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
