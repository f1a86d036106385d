//! Round 2 for a Redshift secret: the provisioned cluster its host names
//! (`CLUSTER.ID.REGION.redshift.amazonaws.com`, port 5439 by default), with
//! its security groups and its cluster subnet group's subnets, so the same
//! path engine judges the Lambda's way to it. A Serverless workgroup's host
//! (`WORKGROUP.ACCOUNT.REGION.redshift-serverless.amazonaws.com`) is
//! recognised but not read: the tool does not call the Redshift Serverless
//! API, so the database is unknown, saying so.

use aws_sdk_redshift::types::Cluster;
use aws_sdk_redshift::Client;
use rotation_doctor_checks::{Database, DatabaseKind, ErrorKind, Fact, Unavailable};

use super::errors::{not_found, unavailable};
use super::session::Session;

const DESCRIBE_CLUSTERS: &str = "redshift:DescribeClusters";
/// The call that would read a Serverless workgroup. It is not made: the
/// fact is `Unresolved` (nothing was called) and its message says why.
const GET_WORKGROUP: &str = "redshift-serverless:GetWorkgroup";

/// What a host says about a Redshift database, by its form.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RedshiftHost {
    /// `CLUSTER.ID.REGION.redshift.amazonaws.com`: the cluster identifier.
    Provisioned(String),
    /// `WORKGROUP.ACCOUNT.REGION.redshift-serverless.amazonaws.com`.
    Serverless(String),
}

/// The Redshift database a host names, when it has a Redshift endpoint's
/// form (the China regions end in `.amazonaws.com.cn`).
pub(crate) fn redshift_host(host: &str) -> Option<RedshiftHost> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let service = labels
        .iter()
        .position(|label| *label == "redshift" || *label == "redshift-serverless")?;
    // NAME.ID.REGION before the service label, amazonaws after it.
    if service < 3 || labels.get(service + 1) != Some(&"amazonaws") {
        return None;
    }
    let name = labels[0].to_string();
    if name.is_empty() {
        return None;
    }
    Some(if labels[service] == "redshift" {
        RedshiftHost::Provisioned(name)
    } else {
        RedshiftHost::Serverless(name)
    })
}

/// The Redshift database of a secret whose host has a Redshift endpoint's
/// form, or whose engine is `redshift` (by `dbClusterIdentifier`, else by
/// a host of another form, such as a CNAME, compared with every cluster's
/// endpoint); `None` for any other secret.
pub(crate) async fn find_redshift(
    session: &Session,
    host: Option<&str>,
    engine: Option<&str>,
    cluster_id: Option<&str>,
) -> Option<Fact<Database>> {
    let client = &session.shared.clients.redshift;
    let region = &session.shared.clients.region;
    match host.and_then(redshift_host) {
        Some(RedshiftHost::Provisioned(id)) => Some(cluster_by_id(client, &id).await),
        Some(RedshiftHost::Serverless(workgroup)) => Some(Fact::Unavailable(Unavailable {
            call: GET_WORKGROUP.to_string(),
            kind: ErrorKind::Unresolved,
            message: format!(
                "the host names Redshift Serverless workgroup {workgroup}, which rotation-doctor \
                 does not read ({GET_WORKGROUP} is not among its calls): the workgroup's subnets \
                 and security groups are unknown, so the path to it is not judged"
            ),
        })),
        None if engine.is_some_and(|e| e.trim() == "redshift") => match (cluster_id, host) {
            (Some(id), _) => Some(cluster_by_id(client, id).await),
            (None, Some(host)) => Some(cluster_by_endpoint(client, host, region).await),
            (None, None) => None,
        },
        None => None,
    }
}

async fn cluster_by_id(client: &Client, id: &str) -> Fact<Database> {
    match client
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
    {
        Ok(output) => match output.clusters().first() {
            Some(cluster) => Fact::Present(from_cluster(client, cluster).await),
            None => Fact::Unavailable(not_found(
                DESCRIBE_CLUSTERS,
                format!("no Redshift cluster is named {id}"),
            )),
        },
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_CLUSTERS, &err)),
    }
}

/// Every cluster of the region, compared by endpoint: for a host that is
/// not a cluster endpoint's own name.
async fn cluster_by_endpoint(client: &Client, host: &str, region: &str) -> Fact<Database> {
    let clusters: Result<Vec<Cluster>, _> = client
        .describe_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match clusters {
        Ok(clusters) => {
            let hit = clusters.iter().find(|cluster| {
                cluster
                    .endpoint()
                    .and_then(|endpoint| endpoint.address())
                    .is_some_and(|address| {
                        address
                            .trim_end_matches('.')
                            .eq_ignore_ascii_case(host.trim().trim_end_matches('.'))
                    })
            });
            match hit {
                Some(cluster) => Fact::Present(from_cluster(client, cluster).await),
                None => Fact::Unavailable(not_found(
                    DESCRIBE_CLUSTERS,
                    format!("no Redshift cluster in region {region} has the endpoint {host}"),
                )),
            }
        }
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_CLUSTERS, &err)),
    }
}

/// A cluster names its subnet group only by name, so its subnets take one
/// more call. If that call fails the cluster is still reported, without
/// subnets: the path engine then says the database's subnets are unknown.
async fn from_cluster(client: &Client, cluster: &Cluster) -> Database {
    let mut vpc_id = cluster.vpc_id().map(str::to_string);
    let mut subnet_ids = Vec::new();
    if let Some(name) = cluster
        .cluster_subnet_group_name()
        .filter(|name| !name.is_empty())
    {
        if let Ok(output) = client
            .describe_cluster_subnet_groups()
            .cluster_subnet_group_name(name)
            .send()
            .await
        {
            if let Some(group) = output.cluster_subnet_groups().first() {
                vpc_id = vpc_id.or_else(|| group.vpc_id().map(str::to_string));
                subnet_ids = group
                    .subnets()
                    .iter()
                    .filter_map(|subnet| subnet.subnet_identifier())
                    .map(str::to_string)
                    .collect();
            }
        }
    }
    Database {
        kind: DatabaseKind::RedshiftCluster,
        identifier: cluster.cluster_identifier().unwrap_or_default().to_string(),
        arn: cluster.cluster_namespace_arn().map(str::to_string),
        engine: Some("redshift".to_string()),
        engine_version: cluster.cluster_version().map(str::to_string),
        status: cluster.cluster_status().map(str::to_string),
        endpoint: cluster
            .endpoint()
            .and_then(|endpoint| endpoint.address())
            .map(str::to_string),
        port: cluster
            .endpoint()
            .and_then(|endpoint| endpoint.port())
            .and_then(|port| u16::try_from(port).ok()),
        vpc_id,
        subnet_ids,
        security_group_ids: cluster
            .vpc_security_groups()
            .iter()
            .filter_map(|membership| membership.vpc_security_group_id())
            .map(str::to_string)
            .collect(),
        publicly_accessible: cluster.publicly_accessible(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_and_workgroup_hosts_are_told_apart() {
        assert_eq!(
            redshift_host("analytics.c9akciq32xyz.eu-west-1.redshift.amazonaws.com"),
            Some(RedshiftHost::Provisioned("analytics".into()))
        );
        assert_eq!(
            redshift_host("Analytics.c9akciq32xyz.cn-north-1.redshift.amazonaws.com.cn."),
            Some(RedshiftHost::Provisioned("analytics".into()))
        );
        assert_eq!(
            redshift_host("wg-1.123456789012.us-east-1.redshift-serverless.amazonaws.com"),
            Some(RedshiftHost::Serverless("wg-1".into()))
        );
        for other in [
            "db-1.abc.us-east-1.rds.amazonaws.com",
            "redshift.amazonaws.com",
            "warehouse.internal.example.com",
            "",
        ] {
            assert_eq!(redshift_host(other), None, "{other}");
        }
    }
}
