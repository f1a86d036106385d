//! The collector: AWS SDK calls in, `Facts` out. AWS SDK types live in
//! three places only: `aws.rs` configures (the SDK configuration, handed
//! straight to [`Clients::new`]), this module reads, and `crate::actions`
//! writes, through this module's [`Clients`] and its error classification
//! ([`errors`]). Everything else sees the checks crate's types and our own.
//!
//! The calls run in dependent rounds, concurrent within each round:
//! 1. DescribeSecret + GetSecretValue(AWSCURRENT) + ListSecretVersionIds
//! 2. the rotation Lambda (configuration, then its log events, resource
//!    policy and subnets' VPCs) and the database (instance or cluster, then
//!    a cluster's subnet group), side by side
//! 3. every VPC piece of the VPCs found, all kinds at once
//!
//! Beside rounds 2 and 3 run the secret's KMS key and CloudTrail's rotation
//! events (both need only the secret) and the execution role with its
//! policy documents (started as soon as the Lambda's configuration names it),
//! so four round trips sit on the critical path (tests/round_trips.rs counts
//! them for the lab; five when the role has attached managed policies). Only
//! a DescribeSecret failure that makes the run pointless is an error; every
//! other failed call becomes a `Fact::Unavailable` with its reason.
//!
//! Every lookup of a resource secrets can share (Lambda, role, log group,
//! VPCs, database listing, key, CloudTrail events) goes through the run's
//! [`Session`], so a `scan` of many secrets makes each call once.

mod clients;
mod cloudtrail;
mod database;
mod elasticache;
pub(crate) mod errors;
mod existing;
mod fleet;
mod iam;
pub(crate) mod in_flight;
mod kms;
mod lambda;
pub(crate) mod logs;
mod master;
mod network;
mod redacted;
mod redshift;
mod secret;
mod session;
pub mod stats;

use std::collections::BTreeSet;
use std::time::Duration;

use rotation_doctor_checks::{
    Connection, ErrorKind, Fact, Facts, Network, Secret, SecurityGroup, Unavailable,
    SNAPSHOT_SCHEMA_VERSION,
};

use crate::error::UserError;
pub use clients::Clients;
use database::DatabaseHint;
pub use existing::read_existing;
pub use fleet::{ListedSecret, SecretFilter, BATCH_SIZE};
use secret::SecretValue;
pub use session::Session;

/// Where the Lambda's network lookup ended.
enum LambdaNetwork {
    /// No Lambda configuration to look at, and why.
    NoLambda(String),
    NotInVpc,
    /// The VPCs of its subnets (empty when none of them exists).
    Vpcs {
        subnet_ids: Vec<String>,
        vpc_ids: Vec<String>,
    },
    Failed {
        subnet_ids: Vec<String>,
        why: Unavailable,
    },
}

/// One diagnosis: a session of its own, the secret read with DescribeSecret
/// and GetSecretValue, the Lambda's log events read from `since` ago.
pub async fn collect(
    clients: &Clients,
    secret_id: &str,
    since: Duration,
) -> Result<Facts, UserError> {
    Session::new(clients.clone(), since, false)
        .diagnose(secret_id)
        .await
}

impl Session {
    /// Round 1 for one secret (DescribeSecret, GetSecretValue, version dates),
    /// then the rest.
    pub async fn diagnose(&self, secret_id: &str) -> Result<Facts, UserError> {
        let shared = &self.shared;
        let target = secret::Target {
            secret_id,
            region: &shared.clients.region,
            endpoint: &shared.clients.endpoint,
        };
        let secret::SecretRound { secret, value } =
            secret::collect_secret(&shared.clients.secrets, &target).await?;
        Ok(self.diagnose_read(secret_id, secret, value).await)
    }

    /// Rounds 2 and 3 for a secret already read (by `diagnose`, or by a
    /// scan's listing and batched values).
    async fn diagnose_read(
        &self,
        secret_id: &str,
        secret: Fact<Secret>,
        value: SecretValue,
    ) -> Facts {
        let SecretValue {
            connection,
            password,
            master_arn,
            user_arn,
        } = value;
        self.add_masked(password.as_ref());
        self.add_masked(master_arn.as_ref());
        drop(password);
        let shared = &self.shared;
        let region = shared.clients.region.clone();

        // What the secret points at: a Lambda (or why not) and a database hint.
        let rotation_lambda: Result<String, Fact<()>> = match &secret {
            Fact::Present(s) => s.rotation_lambda_arn.clone().ok_or_else(|| {
                Fact::NotApplicable("the secret names no rotation Lambda".to_string())
            }),
            Fact::Unavailable(why) => Err(Fact::Unavailable(why.clone())),
            Fact::NotApplicable(why) => Err(Fact::NotApplicable(why.clone())),
        };
        let database_hint: Result<DatabaseHint, Unavailable> = match &connection {
            Fact::Present(c) => Ok(DatabaseHint {
                user_arn: user_arn
                    .as_ref()
                    .map(|arn| arn.expose().trim().to_string())
                    .filter(|arn| !arn.is_empty()),
                ..hint_from(c)
            }),
            Fact::Unavailable(why) => Err(why.clone()),
            Fact::NotApplicable(_) => Ok(DatabaseHint::default()),
        };
        drop(user_arn);

        // Beside rounds 2 and 3: the key and CloudTrail need only the secret.
        let kms_lookup = spawn_fact(self, &secret, |session, secret| async move {
            kms::secret_key(&session, &secret).await
        });
        let trail_lookup = spawn_fact(self, &secret, |session, secret| async move {
            cloudtrail::rotation_events(&session, &secret).await
        });

        // Round 2 (and the Lambda's subnet lookup, which only needs its config).
        let lambda_branch = async {
            let arn = match &rotation_lambda {
                Ok(arn) => arn,
                Err(why) => {
                    let reason = match why {
                        Fact::NotApplicable(reason) => reason.clone(),
                        _ => "the secret's rotation Lambda is unknown".to_string(),
                    };
                    return (
                        recast(why),
                        recast(why),
                        recast(why),
                        recast(why),
                        LambdaNetwork::NoLambda(reason),
                        None,
                    );
                }
            };
            let config = shared
                .lambda_configs
                .get(arn.clone(), || {
                    lambda::get_configuration(&shared.clients.lambda, arn)
                })
                .await;
            // The role's documents take up to three IAM round trips: start
            // now, finish beside round 3.
            let role_lookup = {
                let (session, lambda, secret) =
                    (self.clone(), config.lambda.clone(), secret.clone());
                tokio::spawn(async move { iam::execution_role(&session, &lambda, &secret).await })
            };
            let name = match &config.lambda {
                Fact::Present(l) => l.name.clone(),
                _ => lambda::function_name(arn),
            };
            let log_group = config
                .custom_log_group
                .clone()
                .unwrap_or_else(|| logs::default_log_group(&name));
            let lambda_subnets = match &config.lambda {
                Fact::Present(l) => Ok(l.vpc.as_ref().map(|vpc| vpc.subnet_ids.clone())),
                Fact::Unavailable(why) if why.kind == ErrorKind::NotFound => {
                    Err("the rotation Lambda does not exist".to_string())
                }
                _ => Err("the rotation Lambda's configuration could not be read".to_string()),
            };
            let logs_read = shared.log_excerpts.get(log_group.clone(), || async {
                let read = logs::read_logs(
                    &shared.clients.logs,
                    &log_group,
                    shared.log_start,
                    shared.collected_at,
                )
                .await;
                // Lines are masked with every password of the run, which a
                // scan may still be reading; no line, nothing to wait for.
                if matches!(&read, Fact::Present(excerpt) if !excerpt.events.is_empty()) {
                    self.all_read().await;
                }
                logs::masked(read, &shared.masked)
            });
            let network_lookup = async {
                match lambda_subnets {
                    Err(reason) => LambdaNetwork::NoLambda(reason),
                    Ok(None) => LambdaNetwork::NotInVpc,
                    Ok(Some(subnet_ids)) if subnet_ids.is_empty() => LambdaNetwork::NotInVpc,
                    Ok(Some(subnet_ids)) => {
                        let mut key = subnet_ids.clone();
                        key.sort();
                        let found = shared
                            .subnet_vpcs
                            .get(key, || {
                                network::vpcs_of_subnets(&shared.clients.ec2, &subnet_ids)
                            })
                            .await;
                        match found {
                            Ok(vpc_ids) => LambdaNetwork::Vpcs {
                                subnet_ids,
                                vpc_ids,
                            },
                            Err(why) => LambdaNetwork::Failed { subnet_ids, why },
                        }
                    }
                }
            };
            // GetPolicy answers ResourceNotFound both for "no policy" and for
            // "no function": for a missing function, say the latter.
            let policy = async {
                match &config.lambda {
                    Fact::Unavailable(why) if why.kind == ErrorKind::NotFound => {
                        Fact::Unavailable(why.clone())
                    }
                    _ => {
                        shared
                            .lambda_policies
                            .get(arn.clone(), || {
                                lambda::get_policy(&shared.clients.lambda, arn)
                            })
                            .await
                    }
                }
            };
            // ListTags of a missing function would say the same again.
            let tags = async {
                match &config.lambda {
                    Fact::Unavailable(why) if why.kind == ErrorKind::NotFound => {
                        Fact::Unavailable(why.clone())
                    }
                    _ => {
                        let resource = config
                            .lambda
                            .present()
                            .map_or_else(|| arn.clone(), |l| l.arn.clone());
                        shared
                            .lambda_tags
                            .get(resource.clone(), || {
                                lambda::list_tags(&shared.clients.lambda, &resource)
                            })
                            .await
                    }
                }
            };
            let (logs_fact, network_lookup, policy, tags) =
                tokio::join!(logs_read, network_lookup, policy, tags);
            (
                config.lambda,
                policy,
                tags,
                logs_fact,
                network_lookup,
                Some(role_lookup),
            )
        };
        let database_branch = async {
            let no_proxy = || Fact::NotApplicable("the secret names no RDS Proxy".to_string());
            match &database_hint {
                Err(why) => database::Located {
                    database: Fact::Unavailable(why.clone()),
                    proxy: no_proxy(),
                },
                Ok(hint) if hint.is_empty() => database::Located {
                    database: Fact::NotApplicable("the secret names no database host".to_string()),
                    proxy: no_proxy(),
                },
                Ok(hint) => database::locate(self, hint).await,
            }
        };
        let (
            (lambda_fact, lambda_policy, lambda_tags, logs_fact, lambda_network, role_lookup),
            located,
        ) = tokio::join!(lambda_branch, database_branch);
        let database::Located {
            database: database_fact,
            proxy: proxy_fact,
        } = located;

        // Round 3: the VPCs of the Lambda and of the database.
        let mut vpc_ids: BTreeSet<String> = BTreeSet::new();
        let mut referenced_groups: BTreeSet<String> = BTreeSet::new();
        if let LambdaNetwork::Vpcs { vpc_ids: ids, .. } = &lambda_network {
            vpc_ids.extend(ids.iter().cloned());
        }
        if let Some(vpc) = lambda_fact.present().and_then(|l| l.vpc.as_ref()) {
            referenced_groups.extend(vpc.security_group_ids.iter().cloned());
        }
        if let Some(db) = database_fact.present() {
            vpc_ids.extend(db.vpc_id.iter().cloned());
            referenced_groups.extend(db.security_group_ids.iter().cloned());
        }
        if let Some(proxy) = proxy_fact.present() {
            vpc_ids.extend(proxy.vpc_id.iter().cloned());
            referenced_groups.extend(proxy.security_group_ids.iter().cloned());
        }
        let network = if vpc_ids.is_empty() {
            // No VPC because a call failed is unknown, not "not applicable".
            let failed = |why: Option<&Unavailable>| {
                why.filter(|why| why.kind != ErrorKind::NotFound).cloned()
            };
            let upstream_failure = match &lambda_network {
                LambdaNetwork::Failed { why, .. } => Some(why.clone()),
                _ => None,
            }
            .or_else(|| failed(unavailable_of(&lambda_fact)))
            .or_else(|| failed(unavailable_of(&database_fact)));
            match upstream_failure {
                Some(why) => network_unavailable(&why),
                None => Network::not_applicable(&no_vpc_reason(&lambda_network, &database_fact)),
            }
        } else {
            let vpc_ids: Vec<String> = vpc_ids.into_iter().collect();
            let mut network = shared
                .networks
                .get(vpc_ids.clone(), || {
                    network::collect_network(&shared.clients.ec2, &vpc_ids)
                })
                .await;
            self.add_referenced_groups(&mut network, referenced_groups)
                .await;
            // The Lambda's VPC could not be read, so the list may lack its
            // subnets: say so rather than let them look deleted.
            if let LambdaNetwork::Failed { subnet_ids, why } = &lambda_network {
                let complete = network.subnets.present().is_some_and(|subnets| {
                    subnet_ids
                        .iter()
                        .all(|id| subnets.iter().any(|subnet| &subnet.id == id))
                });
                if !complete {
                    network.subnets = Fact::Unavailable(why.clone());
                }
            }
            network
        };

        let role = async {
            match role_lookup {
                Some(handle) => iam::joined_fact(handle, "iam:GetRole").await,
                None => recast(&match &rotation_lambda {
                    Err(why) => why.clone(),
                    Ok(_) => Fact::NotApplicable("no rotation Lambda".to_string()),
                }),
            }
        };
        let (execution_role, kms_key, rotation_events) = tokio::join!(
            role,
            iam::joined_fact(kms_lookup, "kms:DescribeKey"),
            iam::joined_fact(trail_lookup, "cloudtrail:LookupEvents"),
        );
        // Judged now, with the role's documents, and dropped: only verdicts
        // are kept.
        let master_secret = master::assess(
            self,
            master_arn.as_ref(),
            &connection,
            &secret,
            &execution_role,
        )
        .await;
        drop(master_arn);

        let mut facts = Facts {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            description: None,
            collected_at: shared.collected_at,
            region,
            secret_id: secret_id.to_string(),
            log_window_hours: window_hours(shared.since),
            secret,
            connection,
            lambda: lambda_fact,
            lambda_policy,
            lambda_tags,
            database: database_fact,
            proxy: proxy_fact,
            network,
            logs: logs_fact,
            execution_role,
            kms_key,
            rotation_events,
            master_secret,
            account_access: shared.account_access.clone(),
            template: Fact::NotApplicable("not collected".to_string()),
        };
        // What the function calls on the database side is known only now.
        let needs = rotation_doctor_checks::policy::database_api_needs(&facts);
        iam::simulate_database_api(self, &mut facts.execution_role, &needs).await;
        facts
    }

    /// The Lambda's and the database's security groups that are not in the
    /// VPCs read (normally none) are fetched by id, so the checks can see
    /// their rules.
    async fn add_referenced_groups(&self, network: &mut Network, referenced: BTreeSet<String>) {
        let Fact::Present(groups) = &mut network.security_groups else {
            return;
        };
        let missing: Vec<String> = referenced
            .into_iter()
            .filter(|id| !groups.iter().any(|group| &group.id == id))
            .collect();
        if missing.is_empty() {
            return;
        }
        let shared = &self.shared;
        let extra: Result<Vec<SecurityGroup>, Unavailable> = shared
            .groups_by_id
            .get(missing.clone(), || {
                network::groups_by_id(&shared.clients.ec2, &missing)
            })
            .await;
        match extra {
            Ok(extra) => groups.extend(extra),
            Err(why) => network.security_groups = Fact::Unavailable(why),
        }
    }
}

/// Runs `lookup` on its own task, beside the rounds.
fn spawn_fact<T, F, Fut>(
    session: &Session,
    secret: &Fact<Secret>,
    lookup: F,
) -> tokio::task::JoinHandle<Fact<T>>
where
    T: Send + 'static,
    F: FnOnce(Session, Fact<Secret>) -> Fut,
    Fut: std::future::Future<Output = Fact<T>> + Send + 'static,
{
    tokio::spawn(lookup(session.clone(), secret.clone()))
}

fn hint_from(connection: &Connection) -> DatabaseHint {
    let non_empty = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    DatabaseHint {
        instance_id: non_empty(&connection.db_instance_identifier),
        cluster_id: non_empty(&connection.db_cluster_identifier),
        host: non_empty(&connection.host),
        engine: non_empty(&connection.engine),
        user_arn: None,
    }
}

fn unavailable_of<T>(fact: &Fact<T>) -> Option<&Unavailable> {
    match fact {
        Fact::Unavailable(why) => Some(why),
        _ => None,
    }
}

/// The same missing-reason for a fact of another type.
fn recast<T>(why: &Fact<()>) -> Fact<T> {
    match why {
        Fact::Unavailable(u) => Fact::Unavailable(u.clone()),
        Fact::NotApplicable(reason) => Fact::NotApplicable(reason.clone()),
        Fact::Present(()) => Fact::NotApplicable("nothing to collect".to_string()),
    }
}

fn network_unavailable(why: &Unavailable) -> Network {
    fn u<T>(why: &Unavailable) -> Fact<T> {
        Fact::Unavailable(why.clone())
    }
    Network {
        vpcs: u(why),
        subnets: u(why),
        route_tables: u(why),
        network_acls: u(why),
        security_groups: u(why),
        vpc_endpoints: u(why),
        nat_gateways: u(why),
        internet_gateways: u(why),
        peering_connections: u(why),
        transit_gateways: u(why),
        transit_gateway_attachments: u(why),
        transit_gateway_route_tables: u(why),
    }
}

fn no_vpc_reason(
    lambda: &LambdaNetwork,
    database: &Fact<rotation_doctor_checks::Database>,
) -> String {
    let lambda_part = match lambda {
        LambdaNetwork::NoLambda(reason) => reason.clone(),
        LambdaNetwork::NotInVpc => "the rotation Lambda is not attached to a VPC".to_string(),
        LambdaNetwork::Vpcs { subnet_ids, .. } | LambdaNetwork::Failed { subnet_ids, .. } => {
            format!(
                "none of the rotation Lambda's subnets ({}) exists",
                subnet_ids.join(", ")
            )
        }
    };
    let database_part = match database {
        Fact::Present(db) => format!("the database {} reports no VPC", db.identifier),
        Fact::NotApplicable(reason) => reason.clone(),
        Fact::Unavailable(_) => "the database's VPC is unknown".to_string(),
    };
    format!("{lambda_part}, and {database_part}")
}

/// Whole hours of the log window, rounded up.
fn window_hours(since: Duration) -> u32 {
    let hours = since.as_secs().div_ceil(3600);
    u32::try_from(hours).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_hours_round_up() {
        assert_eq!(window_hours(Duration::from_secs(24 * 3600)), 24);
        assert_eq!(window_hours(Duration::from_secs(90 * 60)), 2);
        assert_eq!(window_hours(Duration::ZERO), 0);
    }

    #[test]
    fn blank_hints_are_ignored() {
        let hint = hint_from(&Connection {
            host: Some("  ".into()),
            db_instance_identifier: Some("db-1".into()),
            ..Connection::default()
        });
        assert_eq!(hint.instance_id.as_deref(), Some("db-1"));
        assert!(hint.host.is_none());
    }
}
