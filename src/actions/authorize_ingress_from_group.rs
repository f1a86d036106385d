//! `AuthorizeIngressFromGroup`: admit tcp/PORT from a source security group
//! (the rotation Lambda's) on a group (the database's). Undone by revoking
//! that rule.

use rotation_doctor_checks::fix::EgressDestination;

use super::ActionResult;
use super::{already, done, failed, group_permissions, has_rule, permission, reversed};
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    group_id: &str,
    port: u16,
    source_group_id: &str,
    description: &str,
) -> ActionResult {
    match group_permissions(clients, group_id, false).await {
        Err(reason) => return failed(reason),
        Ok(existing) if has_rule(&existing, port, Some(source_group_id), None) => {
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
            .ip_permissions(rule(port, source_group_id, description)),
        "ec2:AuthorizeSecurityGroupIngress"
    );
    done(
        format!("{group_id} now admits tcp/{port} from {source_group_id}"),
        Undo::RevokeIngressFromGroup {
            group_id: group_id.to_string(),
            port,
            source_group_id: source_group_id.to_string(),
            description: description.to_string(),
        },
    )
}

pub(super) async fn undo(
    clients: &Clients,
    group_id: &str,
    port: u16,
    source_group_id: &str,
    description: &str,
) -> ActionResult {
    match group_permissions(clients, group_id, false).await {
        Err(reason) => return failed(reason),
        Ok(existing) if !has_rule(&existing, port, Some(source_group_id), None) => {
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
            .ip_permissions(rule(port, source_group_id, description)),
        "ec2:RevokeSecurityGroupIngress"
    );
    reversed(format!(
        "removed tcp/{port} from {source_group_id} on {group_id}"
    ))
}

fn rule(port: u16, source_group_id: &str, description: &str) -> aws_sdk_ec2::types::IpPermission {
    permission(
        port,
        &EgressDestination::Group(source_group_id.to_string()),
        description,
    )
}
