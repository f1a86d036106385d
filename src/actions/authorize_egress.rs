//! `AuthorizeEgress`: allow tcp/PORT out of a security group to a group or a
//! CIDR. Undone by revoking that rule.

use rotation_doctor_checks::fix::EgressDestination;

use super::ActionResult;
use super::{already, done, failed, group_permissions, has_rule, permission, reversed};
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    group_id: &str,
    port: u16,
    destination: &EgressDestination,
    description: &str,
) -> ActionResult {
    let (group, cidr) = match destination {
        EgressDestination::Group(g) => (Some(g.as_str()), None),
        EgressDestination::Cidr(c) => (None, Some(c.as_str())),
    };
    match group_permissions(clients, group_id, true).await {
        Err(reason) => return failed(reason),
        Ok(existing) if has_rule(&existing, port, group, cidr) => {
            return already(format!("{group_id} already allows tcp/{port} out"))
        }
        Ok(_) => {}
    }
    send!(
        clients
            .ec2
            .authorize_security_group_egress()
            .group_id(group_id)
            .ip_permissions(permission(port, destination, description)),
        "ec2:AuthorizeSecurityGroupEgress"
    );
    done(
        format!("{group_id} now allows tcp/{port} out"),
        Undo::RevokeEgress {
            group_id: group_id.to_string(),
            port,
            destination: destination.clone(),
            description: description.to_string(),
        },
    )
}

pub(super) async fn undo(
    clients: &Clients,
    group_id: &str,
    port: u16,
    destination: &EgressDestination,
    description: &str,
) -> ActionResult {
    send!(
        clients
            .ec2
            .revoke_security_group_egress()
            .group_id(group_id)
            .ip_permissions(permission(port, destination, description)),
        "ec2:RevokeSecurityGroupEgress"
    );
    reversed(format!(
        "removed the outbound tcp/{port} rule from {group_id}"
    ))
}
