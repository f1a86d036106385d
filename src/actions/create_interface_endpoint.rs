//! `CreateInterfaceEndpoint`: an interface VPC endpoint with private DNS,
//! unless the VPC already has one for the service. Undone by deleting the
//! endpoint this tool created.

use aws_sdk_ec2::types::{Filter, VpcEndpointType};
use rotation_doctor_checks::facts::endpoint_state_is_gone;

use super::{already, done, reversed, ActionResult};
use crate::collect::Clients;
use crate::fix::journal::Undo;

pub(super) async fn apply(
    clients: &Clients,
    vpc_id: &str,
    service_name: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> ActionResult {
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
    // A deleted endpoint stays listed for a while, and a failed or rejected
    // one serves nothing: neither stands in the way.
    let usable = existing.vpc_endpoints().iter().find(|e| {
        !e.state()
            .is_some_and(|state| endpoint_state_is_gone(state.as_str()))
    });
    if let Some(endpoint) = usable {
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
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .set_security_group_ids(Some(security_group_ids.to_vec()))
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

pub(super) async fn undo(clients: &Clients, endpoint_id: &str) -> ActionResult {
    send!(
        clients
            .ec2
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(endpoint_id),
        "ec2:DeleteVpcEndpoints"
    );
    reversed(format!("deleted endpoint {endpoint_id}"))
}
