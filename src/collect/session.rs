//! One run's answers already fetched, over its [`Clients`].
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
    AccountAccess, ExecutionRole, Fact, KmsKey, LogExcerpt, Network, SecurityGroup,
    SimulatedAction, Unavailable,
};
use tokio::sync::OnceCell;

use super::clients::Clients;
use super::cloudtrail::TrailPage;
use super::database::{DatabaseHint, Listing};
use super::lambda::LambdaConfig;
use super::master::Described;
use super::redacted::Redacted;

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

/// What a simulation call is about: the role, the actions, the resources
/// and the context entries. Equal keys are the same question.
pub(crate) type SimulationKey = (String, Vec<String>, Vec<String>, Vec<(String, String)>);

/// One run against one region. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Session {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    /// Also the run's region and Secrets Manager endpoint.
    pub clients: Clients,
    /// The log window every diagnosis of the run reads.
    pub log_start: DateTime<Utc>,
    pub collected_at: DateTime<Utc>,
    pub since: std::time::Duration,
    /// Many secrets are diagnosed: find databases in one listing rather
    /// than one DescribeDBInstances per identifier.
    pub fleet: bool,
    /// The role assumed to enter the account, for a multi-account scan.
    pub account_access: Fact<AccountAccess>,
    /// Every value of a secret the run holds and may not keep: each
    /// AWSCURRENT password and `masterarn` read so far. Masked in every log
    /// line and CloudTrail event kept (a Lambda's log group serves every
    /// secret it rotates, and an AccessDenied line names the master secret).
    /// Wiped on drop.
    pub masked: Mutex<Vec<Redacted>>,
    /// The secrets of the run by rotation Lambda ARN, so a simulation asks
    /// about all of a Lambda's secrets at once.
    pub secrets_by_lambda: Mutex<HashMap<String, Vec<String>>>,
    /// True once every secret of the run is listed and its value read, so
    /// `masked` and `secrets_by_lambda` are whole. A scan diagnoses secrets
    /// while it still lists them; what needs every secret of the run (the
    /// masking of a log group's lines and of CloudTrail's messages, a
    /// simulation about all of a Lambda's secrets) waits for this.
    pub all_read: tokio::sync::watch::Sender<bool>,

    pub lambda_configs: Memo<String, LambdaConfig>,
    pub lambda_policies: Memo<String, Fact<Option<serde_json::Value>>>,
    pub log_excerpts: Memo<String, Fact<LogExcerpt>>,
    pub subnet_vpcs: Memo<Vec<String>, Result<Vec<String>, Unavailable>>,
    pub networks: Memo<Vec<String>, Network>,
    pub groups_by_id: Memo<Vec<String>, Result<Vec<SecurityGroup>, Unavailable>>,
    pub databases: Memo<DatabaseHint, super::database::Located>,
    pub db_listing: Memo<(), Listing>,
    pub roles: Memo<String, Fact<ExecutionRole>>,
    pub simulations: Memo<SimulationKey, Fact<Vec<SimulatedAction>>>,
    pub kms_keys: Memo<String, Fact<KmsKey>>,
    pub trail_pages: Memo<(), Result<TrailPage, Unavailable>>,
    /// By the `masterarn` value: held in memory only, never stored.
    pub masters: Memo<String, Result<Described, Unavailable>>,
}

impl Session {
    /// A session over `clients`, reading log events from `since` ago;
    /// `fleet` when many secrets will be diagnosed.
    pub fn new(clients: Clients, since: std::time::Duration, fleet: bool) -> Session {
        let own = Fact::NotApplicable("the credentials' own account".to_string());
        Session::entered(clients, since, fleet, own)
    }

    /// A session in an account entered through `access` (a scan's role).
    pub fn entered(
        clients: Clients,
        since: std::time::Duration,
        fleet: bool,
        account_access: Fact<AccountAccess>,
    ) -> Session {
        let collected_at = Utc::now();
        let window = chrono::TimeDelta::from_std(since).unwrap_or(chrono::TimeDelta::MAX);
        let log_start = collected_at
            .checked_sub_signed(window)
            .unwrap_or(DateTime::UNIX_EPOCH);
        Session {
            shared: Arc::new(Shared {
                clients,
                log_start,
                collected_at,
                since,
                fleet,
                account_access,
                masked: Mutex::new(Vec::new()),
                secrets_by_lambda: Mutex::new(HashMap::new()),
                // A single diagnosis has read its one secret before it asks.
                all_read: tokio::sync::watch::Sender::new(!fleet),
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
        }
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

    /// Says that every secret of the run is listed and its value read.
    pub(crate) fn set_all_read(&self) {
        self.shared.all_read.send_replace(true);
    }

    /// Waits until every secret of the run is listed and its value read
    /// (at once outside a scan).
    pub(crate) async fn all_read(&self) {
        let mut read = self.shared.all_read.subscribe();
        // An error means the sender is gone, which the session itself holds.
        let _ = read.wait_for(|all| *all).await;
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
