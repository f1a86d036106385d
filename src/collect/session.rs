//! One run's AWS clients and the answers already fetched.
//!
//! `scan` diagnoses many secrets that share a few Lambdas, roles, VPCs,
//! databases and log groups. Every lookup of a shared resource goes through a
//! [`Memo`] keyed by what identifies it, so it is fetched once per run however
//! many secrets point at it, and concurrent diagnoses asking at the same time
//! wait for the one call in flight instead of repeating it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rotation_doctor_checks::{
    Database, ExecutionRole, Fact, KmsKey, LogExcerpt, Network, SecurityGroup, SimulatedAction,
    Unavailable,
};
use tokio::sync::OnceCell;

use super::cloudtrail::TrailPage;
use super::database::{DatabaseHint, Listing};
use super::lambda::LambdaConfig;
use super::master::Described;
use super::redacted::Redacted;
use super::stats::CallStats;

/// Answers by key, each computed once. Values are cloned out, so a memo of
/// `Fact`s hands every diagnosis its own copy.
pub(crate) struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub fn new() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key`: fetched by `fetch` the first time, then reused.
    pub async fn get<F, Fut>(&self, key: K, fetch: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            // A poisoned lock means a panic elsewhere mid-insert; the map is
            // still whole.
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells.entry(key).or_default().clone()
        };
        cell.get_or_init(fetch).await.clone()
    }
}

/// The SDK clients of one region, each counting its calls into the run's
/// [`CallStats`].
#[derive(Clone)]
pub(crate) struct Clients {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub rds: aws_sdk_rds::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
}

impl Clients {
    fn new(config: &aws_config::SdkConfig, stats: &CallStats) -> Clients {
        use aws_sdk_cloudtrail as trail;
        use aws_sdk_cloudwatchlogs as logs;
        use aws_sdk_secretsmanager as sm;
        Clients {
            secrets: sm::Client::from_conf(
                sm::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            logs: logs::Client::from_conf(
                logs::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            cloudtrail: trail::Client::from_conf(
                trail::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
        }
    }
}

/// What a simulation call is about: the role, the actions, the resources
/// and the context entries. Equal keys are the same question.
pub(crate) type SimulationKey = (String, Vec<String>, Vec<String>, Vec<(String, String)>);

/// One run against one region. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Session {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    pub region: String,
    /// The Secrets Manager endpoint, for error sentences.
    pub endpoint: String,
    pub clients: Clients,
    pub stats: CallStats,
    /// The log window every diagnosis of the run reads.
    pub log_start: DateTime<Utc>,
    pub collected_at: DateTime<Utc>,
    pub since: std::time::Duration,
    /// Many secrets are diagnosed: find databases in one listing rather
    /// than one DescribeDBInstances per identifier.
    pub fleet: bool,
    /// Every value of a secret the run holds and may not keep: each
    /// AWSCURRENT password and `masterarn` read so far. Masked in every log
    /// line and CloudTrail event kept (a Lambda's log group serves every
    /// secret it rotates, and an AccessDenied line names the master secret).
    /// Wiped on drop.
    pub masked: Mutex<Vec<Redacted>>,
    /// The secrets of the run by rotation Lambda ARN, so a simulation asks
    /// about all of a Lambda's secrets at once.
    pub secrets_by_lambda: Mutex<HashMap<String, Vec<String>>>,

    pub lambda_configs: Memo<String, LambdaConfig>,
    pub lambda_policies: Memo<String, Fact<Option<serde_json::Value>>>,
    pub log_excerpts: Memo<String, Fact<LogExcerpt>>,
    pub subnet_vpcs: Memo<Vec<String>, Result<Vec<String>, Unavailable>>,
    pub networks: Memo<Vec<String>, Network>,
    pub groups_by_id: Memo<Vec<String>, Result<Vec<SecurityGroup>, Unavailable>>,
    pub databases: Memo<DatabaseHint, Fact<Database>>,
    pub db_listing: Memo<(), Listing>,
    pub roles: Memo<String, Fact<ExecutionRole>>,
    pub simulations: Memo<SimulationKey, Fact<Vec<SimulatedAction>>>,
    pub kms_keys: Memo<String, Fact<KmsKey>>,
    pub trail_pages: Memo<(), Result<TrailPage, Unavailable>>,
    /// By the `masterarn` value: held in memory only, never stored.
    pub masters: Memo<String, Result<Described, Unavailable>>,
}

impl Session {
    pub fn new(
        config: &aws_config::SdkConfig,
        since: std::time::Duration,
        fleet: bool,
        stats: CallStats,
    ) -> Result<Session, crate::error::UserError> {
        let region = config
            .region()
            .map(|region| region.to_string())
            .ok_or_else(|| {
                crate::error::UserError::new(
                    "no AWS region is set: pass --region or set AWS_REGION",
                )
            })?;
        let endpoint = config
            .endpoint_url()
            .map(str::to_string)
            .unwrap_or_else(|| format!("https://secretsmanager.{region}.amazonaws.com"));
        let collected_at = Utc::now();
        let window = chrono::TimeDelta::from_std(since).unwrap_or(chrono::TimeDelta::MAX);
        let log_start = collected_at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::UNIX_EPOCH);
        Ok(Session {
            shared: Arc::new(Shared {
                clients: Clients::new(config, &stats),
                stats,
                region,
                endpoint,
                log_start,
                collected_at,
                since,
                fleet,
                masked: Mutex::new(Vec::new()),
                secrets_by_lambda: Mutex::new(HashMap::new()),
                lambda_configs: Memo::new(),
                lambda_policies: Memo::new(),
                log_excerpts: Memo::new(),
                subnet_vpcs: Memo::new(),
                networks: Memo::new(),
                groups_by_id: Memo::new(),
                databases: Memo::new(),
                db_listing: Memo::new(),
                roles: Memo::new(),
                simulations: Memo::new(),
                kms_keys: Memo::new(),
                trail_pages: Memo::new(),
                masters: Memo::new(),
            }),
        })
    }

    /// The calls this session has made so far.
    pub fn stats(&self) -> &CallStats {
        &self.shared.stats
    }

    /// Remembers a value (a password, a `masterarn`) so that every log line
    /// and CloudTrail event kept is scrubbed of it.
    pub(crate) fn add_masked(&self, value: Option<&Redacted>) {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            return;
        };
        let mut masked = self.shared.masked.lock().unwrap_or_else(|e| e.into_inner());
        if !masked.iter().any(|known| known.expose() == value.expose()) {
            masked.push(Redacted::new(zeroize::Zeroizing::new(
                value.expose().to_string(),
            )));
        }
    }

    /// Records which secrets each rotation Lambda serves in this run.
    pub(super) fn set_secrets_by_lambda(&self, map: HashMap<String, Vec<String>>) {
        *self
            .shared
            .secrets_by_lambda
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// The run's secrets rotated by `lambda_arn`, sorted, always including
    /// `secret_arn` itself.
    pub(crate) fn peers(&self, lambda_arn: &str, secret_arn: &str) -> Vec<String> {
        let map = self
            .shared
            .secrets_by_lambda
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut peers = map.get(lambda_arn).cloned().unwrap_or_default();
        if !peers.iter().any(|arn| arn == secret_arn) {
            peers.push(secret_arn.to_string());
        }
        peers.sort();
        peers.dedup();
        peers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_memo_fetches_each_key_once_even_when_asked_concurrently() {
        let memo: Memo<&str, usize> = Memo::new();
        let fetches = AtomicUsize::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            7
        };
        let (a, b, c) = tokio::join!(
            memo.get("k", fetch),
            memo.get("k", fetch),
            memo.get("k", fetch)
        );
        assert_eq!((a, b, c), (7, 7, 7));
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(memo.get("other", fetch).await, 7);
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }
}
