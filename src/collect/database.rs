//! Round 2: the database the secret points at, found by identifier or host.

use aws_sdk_rds::types::{DbCluster, DbInstance, VpcSecurityGroupMembership};
use aws_sdk_rds::Client;
use rotation_doctor_checks::{Database, DatabaseKind, ErrorKind, Fact, Unavailable};

use super::errors::{not_found, unavailable};

const DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
const DESCRIBE_DB_CLUSTERS: &str = "rds:DescribeDBClusters";

/// What the secret says about its database.
#[derive(Clone, Debug, Default)]
pub(crate) struct DatabaseHint {
    pub instance_id: Option<String>,
    pub cluster_id: Option<String>,
    pub host: Option<String>,
}

impl DatabaseHint {
    pub fn is_empty(&self) -> bool {
        self.instance_id.is_none() && self.cluster_id.is_none() && self.host.is_none()
    }
}

pub(crate) async fn find_database(
    client: &Client,
    hint: &DatabaseHint,
    region: &str,
) -> Fact<Database> {
    // An identifier is exact; fall back to the host when it names nothing
    // (a renamed or replaced database whose secret kept the old identifier).
    let by_id = if let Some(id) = &hint.instance_id {
        Some(instance_by_id(client, id).await)
    } else if let Some(id) = &hint.cluster_id {
        Some(cluster_by_id(client, id).await)
    } else {
        None
    };
    match (by_id, &hint.host) {
        (Some(Fact::Unavailable(u)), Some(host)) if u.kind == ErrorKind::NotFound => {
            match by_host(client, host, region).await {
                found @ Fact::Present(_) => found,
                _ => Fact::Unavailable(u),
            }
        }
        (Some(fact), _) => fact,
        (None, Some(host)) => by_host(client, host, region).await,
        (None, None) => Fact::NotApplicable("the secret names no database host".to_string()),
    }
}

async fn instance_by_id(client: &Client, id: &str) -> Fact<Database> {
    match client
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(output) => match output.db_instances().first() {
            Some(instance) => Fact::Present(from_instance(instance)),
            None => Fact::Unavailable(not_found(
                DESCRIBE_DB_INSTANCES,
                format!("no DB instance is named {id}"),
            )),
        },
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_DB_INSTANCES, &err)),
    }
}

async fn cluster_by_id(client: &Client, id: &str) -> Fact<Database> {
    match client
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
    {
        Ok(output) => match output.db_clusters().first() {
            Some(cluster) => Fact::Present(from_cluster(client, cluster).await),
            None => Fact::Unavailable(not_found(
                DESCRIBE_DB_CLUSTERS,
                format!("no DB cluster is named {id}"),
            )),
        },
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_DB_CLUSTERS, &err)),
    }
}

/// Lists every instance and cluster of the region, concurrently, and matches
/// the endpoints against the host.
async fn by_host(client: &Client, host: &str, region: &str) -> Fact<Database> {
    let instances = client
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let clusters = client
        .describe_db_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect();
    let (instances, clusters) = tokio::join!(instances, clusters);

    let mut failure: Option<Unavailable> = None;
    match instances {
        Ok(instances) => {
            let hit = instances.iter().find(|instance| {
                instance
                    .endpoint()
                    .and_then(|endpoint| endpoint.address())
                    .is_some_and(|address| same_host(address, host))
            });
            if let Some(instance) = hit {
                return Fact::Present(from_instance(instance));
            }
        }
        Err(err) => failure = Some(unavailable(DESCRIBE_DB_INSTANCES, &err)),
    }
    match clusters {
        Ok(clusters) => {
            let hit = clusters.iter().find(|cluster| {
                cluster
                    .endpoint()
                    .into_iter()
                    .chain(cluster.reader_endpoint())
                    .chain(cluster.custom_endpoints().iter().map(String::as_str))
                    .any(|address| same_host(address, host))
            });
            if let Some(cluster) = hit {
                return Fact::Present(from_cluster(client, cluster).await);
            }
        }
        Err(err) => {
            failure.get_or_insert(unavailable(DESCRIBE_DB_CLUSTERS, &err));
        }
    }
    // A failed listing may have hidden the database: say that, not "absent".
    Fact::Unavailable(failure.unwrap_or_else(|| {
        not_found(
            DESCRIBE_DB_INSTANCES,
            format!("no RDS DB instance or cluster in region {region} has the endpoint {host}"),
        )
    }))
}

/// Endpoint names compare without case and without a trailing root dot.
fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('.'))
}

fn from_instance(instance: &DbInstance) -> Database {
    let subnet_group = instance.db_subnet_group();
    Database {
        kind: DatabaseKind::Instance,
        identifier: instance
            .db_instance_identifier()
            .unwrap_or_default()
            .to_string(),
        arn: instance.db_instance_arn().map(str::to_string),
        engine: instance.engine().map(str::to_string),
        status: instance.db_instance_status().map(str::to_string),
        endpoint: instance
            .endpoint()
            .and_then(|endpoint| endpoint.address())
            .map(str::to_string),
        port: instance
            .endpoint()
            .and_then(|endpoint| endpoint.port())
            .or(instance.db_instance_port().filter(|port| *port > 0))
            .and_then(|port| u16::try_from(port).ok()),
        vpc_id: subnet_group
            .and_then(|group| group.vpc_id())
            .map(str::to_string),
        subnet_ids: subnet_group
            .map(|group| {
                group
                    .subnets()
                    .iter()
                    .filter_map(|subnet| subnet.subnet_identifier())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        security_group_ids: group_ids(instance.vpc_security_groups()),
        publicly_accessible: instance.publicly_accessible(),
    }
}

/// A cluster names its subnet group only by name, so its VPC and subnets take
/// one more call. If that call fails the database is still reported, without
/// VPC and subnets (the model has no per-field reason).
async fn from_cluster(client: &Client, cluster: &DbCluster) -> Database {
    let mut vpc_id = None;
    let mut subnet_ids = Vec::new();
    if let Some(name) = cluster.db_subnet_group().filter(|name| !name.is_empty()) {
        if let Ok(output) = client
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
        {
            if let Some(group) = output.db_subnet_groups().first() {
                vpc_id = group.vpc_id().map(str::to_string);
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
        kind: DatabaseKind::Cluster,
        identifier: cluster
            .db_cluster_identifier()
            .unwrap_or_default()
            .to_string(),
        arn: cluster.db_cluster_arn().map(str::to_string),
        engine: cluster.engine().map(str::to_string),
        status: cluster.status().map(str::to_string),
        endpoint: cluster.endpoint().map(str::to_string),
        port: cluster.port().and_then(|port| u16::try_from(port).ok()),
        vpc_id,
        subnet_ids,
        security_group_ids: group_ids(cluster.vpc_security_groups()),
        publicly_accessible: cluster.publicly_accessible(),
    }
}

fn group_ids(memberships: &[VpcSecurityGroupMembership]) -> Vec<String> {
    memberships
        .iter()
        .filter_map(|membership| membership.vpc_security_group_id())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::same_host;

    #[test]
    fn hosts_match_without_case_or_root_dot() {
        assert!(same_host(
            "db-1.abc.eu-west-1.rds.amazonaws.com",
            "DB-1.abc.eu-west-1.rds.amazonaws.com."
        ));
        assert!(!same_host("db-1.abc", "db-2.abc"));
    }
}
