//! Round 2: the database the secret points at, found by identifier or host.

use aws_sdk_rds::types::{
    DbCluster, DbInstance, DbProxy, DbProxyTarget, TargetType, VpcSecurityGroupMembership,
};
use aws_sdk_rds::Client;
use rotation_doctor_checks::{
    Database, DatabaseKind, ErrorKind, Fact, Proxy, ProxyTarget, Unavailable,
};

use super::errors::{not_found, unavailable};
use super::session::Session;

const DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
const DESCRIBE_DB_CLUSTERS: &str = "rds:DescribeDBClusters";
const DESCRIBE_DB_PROXIES: &str = "rds:DescribeDBProxies";
const DESCRIBE_DB_PROXY_ENDPOINTS: &str = "rds:DescribeDBProxyEndpoints";
const DESCRIBE_DB_PROXY_TARGETS: &str = "rds:DescribeDBProxyTargets";

/// What the secret says about its database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct DatabaseHint {
    pub instance_id: Option<String>,
    pub cluster_id: Option<String>,
    pub host: Option<String>,
    /// The secret's `engine`: `redshift` sends a host of another form to
    /// Redshift's clusters.
    pub engine: Option<String>,
    /// An ElastiCache user secret's `user_arn` (held in memory only).
    pub user_arn: Option<String>,
}

impl DatabaseHint {
    pub fn is_empty(&self) -> bool {
        self.instance_id.is_none()
            && self.cluster_id.is_none()
            && self.host.is_none()
            && self.user_arn.is_none()
    }
}

/// Every instance and cluster of the region, each list or why it could not
/// be read.
#[derive(Clone)]
pub(crate) struct Listing {
    instances: Result<Vec<DbInstance>, Unavailable>,
    clusters: Result<Vec<DbCluster>, Unavailable>,
}

/// The database a secret names, and the RDS Proxy its host names when it
/// names one (then `database` is the proxy's target).
#[derive(Clone, Debug)]
pub(crate) struct Located {
    pub database: Fact<Database>,
    pub proxy: Fact<Proxy>,
}

/// The database of `hint`, once per distinct hint in a run.
pub(crate) async fn find_database(session: &Session, hint: &DatabaseHint) -> Fact<Database> {
    locate(session, hint).await.database
}

/// The database of `hint` and the proxy in between, once per distinct hint
/// in a run. Proxies are read only for a host that matches no database.
pub(crate) async fn locate(session: &Session, hint: &DatabaseHint) -> Located {
    let shared = &session.shared;
    shared
        .databases
        .get(hint.clone(), || async {
            let not_a_proxy =
                || Fact::NotApplicable("the secret's host is no RDS Proxy".to_string());
            // Engines other than RDS's, each in its own module; neither is
            // reached through an RDS Proxy.
            if let Some(user_arn) = &hint.user_arn {
                return Located {
                    database: super::elasticache::find_user(session, user_arn).await,
                    proxy: not_a_proxy(),
                };
            }
            if let Some(found) = super::redshift::find_redshift(
                session,
                hint.host.as_deref(),
                hint.engine.as_deref(),
                hint.cluster_id.as_deref(),
            )
            .await
            {
                return Located {
                    database: found,
                    proxy: not_a_proxy(),
                };
            }
            let direct = find_directly(session, hint).await;
            let host = match (&direct, &hint.host) {
                (Fact::Unavailable(u), Some(host)) if u.kind == ErrorKind::NotFound => host,
                _ => {
                    return Located {
                        database: direct,
                        proxy: not_a_proxy(),
                    }
                }
            };
            match find_proxy(&shared.clients.rds, host).await {
                Fact::Present(proxy) => Located {
                    database: proxy_target(&shared.clients.rds, &proxy).await,
                    proxy: Fact::Present(proxy),
                },
                // A host of a proxy's form whose proxy could not be read is
                // unknown; any other host keeps the database lookup's answer.
                Fact::Unavailable(why) if looks_like_proxy(host) => Located {
                    database: direct,
                    proxy: Fact::Unavailable(why),
                },
                _ => Located {
                    database: direct,
                    proxy: not_a_proxy(),
                },
            }
        })
        .await
}

/// `NAME.proxy-ID.REGION.rds.amazonaws.com`, or an additional endpoint
/// `NAME.endpoint.proxy-ID.REGION…` (moto names its proxies `db-proxy-ID`).
fn looks_like_proxy(host: &str) -> bool {
    host.to_ascii_lowercase()
        .split('.')
        .any(|label| label.starts_with("proxy-") || label.starts_with("db-proxy-"))
}

fn is_additional_endpoint(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    labels.get(1) == Some(&"endpoint")
        && labels
            .get(2)
            .is_some_and(|label| label.starts_with("proxy-"))
}

/// The proxy whose endpoint, or one of whose additional endpoints, is `host`.
async fn find_proxy(client: &Client, host: &str) -> Fact<Proxy> {
    let proxies: Result<Vec<DbProxy>, _> = client
        .describe_db_proxies()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let proxies = match proxies {
        Ok(proxies) => proxies,
        Err(err) => return Fact::Unavailable(unavailable(DESCRIBE_DB_PROXIES, &err)),
    };
    if let Some(proxy) = proxies.iter().find(|proxy| {
        proxy
            .endpoint()
            .is_some_and(|endpoint| same_host(endpoint, host))
    }) {
        return Fact::Present(from_proxy(client, proxy, host).await);
    }
    if !is_additional_endpoint(host) {
        return Fact::NotApplicable(format!("no RDS Proxy has the endpoint {host}"));
    }
    let endpoints: Result<Vec<_>, _> = client
        .describe_db_proxy_endpoints()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    let endpoints = match endpoints {
        Ok(endpoints) => endpoints,
        Err(err) => return Fact::Unavailable(unavailable(DESCRIBE_DB_PROXY_ENDPOINTS, &err)),
    };
    let Some(endpoint) = endpoints.iter().find(|endpoint| {
        endpoint
            .endpoint()
            .is_some_and(|address| same_host(address, host))
    }) else {
        return Fact::NotApplicable(format!("no RDS Proxy endpoint is {host}"));
    };
    let Some(proxy) = proxies
        .iter()
        .find(|proxy| proxy.db_proxy_name() == endpoint.db_proxy_name())
    else {
        return Fact::Unavailable(not_found(
            DESCRIBE_DB_PROXIES,
            format!(
                "the proxy of endpoint {host} ({}) is not listed",
                endpoint.db_proxy_name().unwrap_or_default()
            ),
        ));
    };
    let mut found = from_proxy(client, proxy, host).await;
    // An additional endpoint has its own VPC, subnets and security groups.
    found.endpoint_name = endpoint.db_proxy_endpoint_name().map(str::to_string);
    found.vpc_id = endpoint.vpc_id().map(str::to_string).or(found.vpc_id);
    found.subnet_ids = endpoint.vpc_subnet_ids().to_vec();
    found.security_group_ids = endpoint.vpc_security_group_ids().to_vec();
    Fact::Present(found)
}

async fn from_proxy(client: &Client, proxy: &DbProxy, host: &str) -> Proxy {
    let name = proxy.db_proxy_name().unwrap_or_default().to_string();
    let targets = match client
        .describe_db_proxy_targets()
        .db_proxy_name(&name)
        .send()
        .await
    {
        Ok(output) => Fact::Present(output.targets().iter().filter_map(from_target).collect()),
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_DB_PROXY_TARGETS, &err)),
    };
    Proxy {
        name,
        arn: proxy.db_proxy_arn().map(str::to_string),
        endpoint: host.trim().trim_end_matches('.').to_string(),
        endpoint_name: None,
        engine_family: proxy.engine_family().map(str::to_string),
        status: proxy.status().map(|status| status.as_str().to_string()),
        vpc_id: proxy.vpc_id().map(str::to_string),
        subnet_ids: proxy.vpc_subnet_ids().to_vec(),
        security_group_ids: proxy.vpc_security_group_ids().to_vec(),
        auth_secret_arns: proxy
            .auth()
            .iter()
            .filter_map(|auth| auth.secret_arn())
            .map(str::to_string)
            .collect(),
        default_auth_scheme: proxy.default_auth_scheme().map(str::to_string),
        targets,
    }
}

/// An instance or cluster target; a cluster's member instances (listed
/// with `TrackedClusterId`) stand for their cluster.
fn from_target(target: &DbProxyTarget) -> Option<ProxyTarget> {
    let kind = match target.r#type()? {
        TargetType::TrackedCluster => DatabaseKind::Cluster,
        TargetType::RdsInstance if target.tracked_cluster_id().is_none() => DatabaseKind::Instance,
        _ => return None,
    };
    Some(ProxyTarget {
        kind,
        identifier: target.rds_resource_id()?.to_string(),
        endpoint: target.endpoint().map(str::to_string),
        port: target.port().and_then(|port| u16::try_from(port).ok()),
    })
}

/// The database behind the proxy: its cluster target, else its instance.
async fn proxy_target(client: &Client, proxy: &Proxy) -> Fact<Database> {
    let targets = match &proxy.targets {
        Fact::Present(targets) => targets,
        Fact::Unavailable(why) => return Fact::Unavailable(why.clone()),
        Fact::NotApplicable(why) => return Fact::NotApplicable(why.clone()),
    };
    let target = targets
        .iter()
        .find(|target| target.kind == DatabaseKind::Cluster)
        .or_else(|| targets.first());
    match target {
        Some(target) if target.kind == DatabaseKind::Cluster => {
            cluster_by_id(client, &target.identifier).await
        }
        Some(target) => instance_by_id(client, &target.identifier).await,
        None => Fact::Unavailable(not_found(
            DESCRIBE_DB_PROXY_TARGETS,
            format!(
                "RDS Proxy {} has no database registered in its target group",
                proxy.name
            ),
        )),
    }
}

/// The database of `hint` by identifier or by its own endpoint.
async fn find_directly(session: &Session, hint: &DatabaseHint) -> Fact<Database> {
    let shared = &session.shared;
    let client = &shared.clients.rds;
    // A scan lists the region once and finds every database in it;
    // one diagnosis looks its identifier up directly (one page,
    // however many databases the region has).
    let by_id = if shared.fleet {
        match (&hint.instance_id, &hint.cluster_id) {
            (None, None) => None,
            (instance, cluster) => {
                let listing = listing(session).await;
                Some(listed_by_id(client, &listing, instance, cluster).await)
            }
        }
    } else if let Some(id) = &hint.instance_id {
        Some(instance_by_id(client, id).await)
    } else if let Some(id) = &hint.cluster_id {
        Some(cluster_by_id(client, id).await)
    } else {
        None
    };
    // An identifier is exact; fall back to the host when it names
    // nothing (a renamed or replaced database whose secret kept the
    // old identifier).
    match (by_id, &hint.host) {
        (Some(Fact::Unavailable(u)), Some(host)) if u.kind == ErrorKind::NotFound => {
            match by_host(session, host).await {
                found @ Fact::Present(_) => found,
                _ => Fact::Unavailable(u),
            }
        }
        (Some(fact), _) => fact,
        (None, Some(host)) => by_host(session, host).await,
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
            None => Fact::Unavailable(no_instance(id)),
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
            None => Fact::Unavailable(no_cluster(id)),
        },
        Err(err) => Fact::Unavailable(unavailable(DESCRIBE_DB_CLUSTERS, &err)),
    }
}

fn no_instance(id: &str) -> Unavailable {
    not_found(
        DESCRIBE_DB_INSTANCES,
        format!("no DB instance is named {id}"),
    )
}

fn no_cluster(id: &str) -> Unavailable {
    not_found(DESCRIBE_DB_CLUSTERS, format!("no DB cluster is named {id}"))
}

/// The instance (else cluster) the identifiers name, from the listing.
async fn listed_by_id(
    client: &Client,
    listing: &Listing,
    instance_id: &Option<String>,
    cluster_id: &Option<String>,
) -> Fact<Database> {
    if let Some(id) = instance_id {
        return match &listing.instances {
            Ok(instances) => match instances.iter().find(|i| {
                i.db_instance_identifier()
                    .is_some_and(|name| name.eq_ignore_ascii_case(id))
            }) {
                Some(instance) => Fact::Present(from_instance(instance)),
                None => Fact::Unavailable(no_instance(id)),
            },
            Err(why) => Fact::Unavailable(why.clone()),
        };
    }
    let Some(id) = cluster_id else {
        return Fact::NotApplicable("the secret names no database".to_string());
    };
    match &listing.clusters {
        Ok(clusters) => match clusters.iter().find(|c| {
            c.db_cluster_identifier()
                .is_some_and(|name| name.eq_ignore_ascii_case(id))
        }) {
            Some(cluster) => Fact::Present(from_cluster(client, cluster).await),
            None => Fact::Unavailable(no_cluster(id)),
        },
        Err(why) => Fact::Unavailable(why.clone()),
    }
}

/// DescribeDBInstances and DescribeDBClusters, every page, concurrently;
/// once per run.
async fn listing(session: &Session) -> Listing {
    let client = &session.shared.clients.rds;
    session
        .shared
        .db_listing
        .get((), || async {
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
            Listing {
                instances: instances.map_err(|err| unavailable(DESCRIBE_DB_INSTANCES, &err)),
                clusters: clusters.map_err(|err| unavailable(DESCRIBE_DB_CLUSTERS, &err)),
            }
        })
        .await
}

/// Matches the endpoints of every instance and cluster against the host.
async fn by_host(session: &Session, host: &str) -> Fact<Database> {
    let listing = listing(session).await;
    let mut failure: Option<Unavailable> = None;
    match &listing.instances {
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
        Err(why) => failure = Some(why.clone()),
    }
    match &listing.clusters {
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
                return Fact::Present(from_cluster(&session.shared.clients.rds, cluster).await);
            }
        }
        Err(why) => {
            failure.get_or_insert(why.clone());
        }
    }
    // A failed listing may have hidden the database: say that, not "absent".
    let region = &session.shared.clients.region;
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
        engine_version: instance.engine_version().map(str::to_string),
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
        engine_version: cluster.engine_version().map(str::to_string),
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
