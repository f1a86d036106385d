//! Round 2 for an ElastiCache user's secret (a `user_arn` key, as AWS's
//! `SecretsManagerElasticacheUserRotation` template reads): the user, and
//! for reference the replication group that uses it through a user group,
//! with that group's security groups and subnets.
//!
//! The template's function changes the password with `elasticache:ModifyUser`
//! and waits with `elasticache:DescribeUsers`, on the ElastiCache API of the
//! ARN's region; it never connects to a cache node on 6379
//! (aws-samples/aws-secrets-manager-rotation-lambdas,
//! SecretsManagerElasticacheUserRotation/lambda_function.py). So the path
//! engine judges the way to that API, not to the replication group.

use aws_sdk_elasticache::types::{ReplicationGroup, User};
use aws_sdk_elasticache::Client;
use rotation_doctor_checks::{Database, DatabaseKind, ErrorKind, Fact, Unavailable};

use super::errors::{not_found, unavailable};
use super::session::Session;

/// The one call whose failure decides the fact; the replication group's
/// (DescribeReplicationGroups, DescribeCacheClusters,
/// DescribeCacheSubnetGroups) only leave the context out.
const DESCRIBE_USERS: &str = "elasticache:DescribeUsers";

/// The region and user id of `arn:PARTITION:elasticache:REGION:ACCOUNT:user:ID`,
/// split the way the template splits it.
pub(crate) fn user_of_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.trim().split(':').collect();
    match parts.as_slice() {
        ["arn", _, "elasticache", region, _, "user", id]
            if !region.is_empty() && !id.is_empty() =>
        {
            Some((*region, *id))
        }
        _ => None,
    }
}

/// The user the secret's `user_arn` names. The ARN is a field of the secret
/// value, so no message repeats it.
pub(crate) async fn find_user(session: &Session, user_arn: &str) -> Fact<Database> {
    let region = &session.shared.clients.region;
    let Some((arn_region, user_id)) = user_of_arn(user_arn) else {
        return Fact::Unavailable(Unavailable {
            call: DESCRIBE_USERS.to_string(),
            kind: ErrorKind::Unresolved,
            message: "the secret's user_arn is not an ElastiCache user ARN \
                      (arn:aws:elasticache:REGION:ACCOUNT:user:USER_ID), so the rotation \
                      function cannot find its user"
                .to_string(),
        });
    };
    if arn_region != region {
        return Fact::Unavailable(Unavailable {
            call: DESCRIBE_USERS.to_string(),
            kind: ErrorKind::Unresolved,
            message: format!(
                "the secret's user_arn names a user of region {arn_region}, whose ElastiCache API \
                 the rotation function calls; this run reads region {region}"
            ),
        });
    }
    let client = &session.shared.clients.elasticache;
    let user = match client.describe_users().user_id(user_id).send().await {
        Ok(output) => match output.users().first() {
            Some(user) => user.clone(),
            None => return Fact::Unavailable(no_user(region)),
        },
        Err(err) => {
            let why = unavailable(DESCRIBE_USERS, &err);
            return Fact::Unavailable(if why.kind == ErrorKind::NotFound {
                no_user(region)
            } else {
                why
            });
        }
    };
    Fact::Present(from_user(client, &user).await)
}

fn no_user(region: &str) -> Unavailable {
    not_found(
        DESCRIBE_USERS,
        format!("the ElastiCache user the secret's user_arn names does not exist in {region}"),
    )
}

/// The user, and where a replication group that uses it runs. The
/// replication group is context only (the rotation never connects to it),
/// so when it cannot be read the user is reported without it.
async fn from_user(client: &Client, user: &User) -> Database {
    let mut database = Database {
        kind: DatabaseKind::ElasticacheUser,
        identifier: user.user_id().unwrap_or_default().to_string(),
        arn: user.arn().map(str::to_string),
        engine: user.engine().map(str::to_string),
        engine_version: None,
        status: user.status().map(str::to_string),
        endpoint: None,
        port: None,
        vpc_id: None,
        subnet_ids: Vec::new(),
        security_group_ids: Vec::new(),
        publicly_accessible: None,
    };
    let groups = user.user_group_ids();
    if groups.is_empty() {
        return database;
    }
    let Some(replication_group) = replication_group_of(client, groups).await else {
        return database;
    };
    let endpoint = replication_group.configuration_endpoint().or_else(|| {
        replication_group
            .node_groups()
            .iter()
            .find_map(|group| group.primary_endpoint())
    });
    database.endpoint = endpoint
        .and_then(|endpoint| endpoint.address())
        .map(str::to_string);
    database.port = endpoint
        .and_then(|endpoint| endpoint.port())
        .and_then(|port| u16::try_from(port).ok());
    let Some(member) = replication_group.member_clusters().first() else {
        return database;
    };
    let Ok(clusters) = client
        .describe_cache_clusters()
        .cache_cluster_id(member)
        .send()
        .await
    else {
        return database;
    };
    let Some(cluster) = clusters.cache_clusters().first() else {
        return database;
    };
    database.security_group_ids = cluster
        .security_groups()
        .iter()
        .filter_map(|membership| membership.security_group_id())
        .map(str::to_string)
        .collect();
    if let Some(name) = cluster.cache_subnet_group_name() {
        if let Ok(output) = client
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
        {
            if let Some(group) = output.cache_subnet_groups().first() {
                database.vpc_id = group.vpc_id().map(str::to_string);
                database.subnet_ids = group
                    .subnets()
                    .iter()
                    .filter_map(|subnet| subnet.subnet_identifier())
                    .map(str::to_string)
                    .collect();
            }
        }
    }
    database
}

/// The first replication group whose user groups include one of `groups`
/// (a replication group names its user groups; listing them needs no
/// DescribeUserGroups call).
async fn replication_group_of(client: &Client, groups: &[String]) -> Option<ReplicationGroup> {
    let listed: Result<Vec<ReplicationGroup>, _> = client
        .describe_replication_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    listed.ok()?.into_iter().find(|replication_group| {
        replication_group
            .user_group_ids()
            .iter()
            .any(|id| groups.contains(id))
    })
}

#[cfg(test)]
mod tests {
    use super::user_of_arn;

    #[test]
    fn user_arns_split_like_the_template() {
        assert_eq!(
            user_of_arn("arn:aws:elasticache:eu-west-1:123456789012:user:app-user"),
            Some(("eu-west-1", "app-user"))
        );
        for bad in [
            "",
            "app-user",
            "arn:aws:elasticache:eu-west-1:123456789012:usergroup:g1",
            "arn:aws:rds:eu-west-1:123456789012:user:app-user",
            "arn:aws:elasticache::123456789012:user:app-user",
        ] {
            assert_eq!(user_of_arn(bad), None, "{bad}");
        }
    }
}
