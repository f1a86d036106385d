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
    /// The secrets of the run by rotation Lambda ARN, in listing order, as
    /// the listing goes: a simulation asks about 100 of a Lambda's secrets
    /// at once, as soon as they are listed.
    pub listed: tokio::sync::watch::Sender<Listed>,
    /// True once every secret of the run is listed and its value read, so
    /// `masked` is whole. A scan diagnoses secrets while it still lists
    /// them; what needs every password of the run (the masking of a log
    /// group's lines and of CloudTrail's messages) waits for this.
    pub all_read: tokio::sync::watch::Sender<bool>,

    pub lambda_configs: Memo<String, LambdaConfig>,
    pub lambda_policies: Memo<String, Fact<Option<serde_json::Value>>>,
    pub lambda_tags: Memo<String, Fact<std::collections::BTreeMap<String, String>>>,
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
                // A single diagnosis lists nothing: its secret is its own chunk.
                listed: tokio::sync::watch::Sender::new(Listed {
                    by_lambda: HashMap::new(),
                    whole: !fleet,
                }),
                // A single diagnosis has read its one secret before it asks.
                all_read: tokio::sync::watch::Sender::new(!fleet),
                lambda_configs: Memo::new(),
                lambda_policies: Memo::new(),
                lambda_tags: Memo::new(),
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

    /// Records secrets the listing found, each under its rotation Lambda, in
    /// listing order; `whole` once the listing has ended.
    pub(super) fn add_listed(&self, secrets: &[(String, String)], whole: bool) {
        self.shared.listed.send_modify(|listed| {
            for (lambda_arn, secret_arn) in secrets {
                listed
                    .by_lambda
                    .entry(lambda_arn.clone())
                    .or_default()
                    .push(secret_arn.clone());
            }
            listed.whole |= whole;
        });
    }

    /// Whether the listing has given the whole chunk of `size` secrets that
    /// `secret_arn` is in (see [`Session::peer_chunk`]).
    pub(crate) fn chunk_listed(&self, lambda_arn: &str, secret_arn: &str, size: usize) -> bool {
        self.shared
            .listed
            .borrow()
            .chunk_of(lambda_arn, secret_arn, size)
            .is_some()
    }

    /// The chunk of at most `size` of the run's secrets rotated by
    /// `lambda_arn` that holds `secret_arn`, cut in listing order, once the
    /// listing has given all of it: every secret of a chunk gets the same
    /// one (so they share one question) while later pages are still listed.
    pub(crate) async fn peer_chunk(
        &self,
        lambda_arn: &str,
        secret_arn: &str,
        size: usize,
    ) -> Vec<String> {
        let mut listed = self.shared.listed.subscribe();
        let mut chunk = Vec::new();
        // An error means the sender is gone, which the session itself holds.
        let _ = listed
            .wait_for(
                |listed| match listed.chunk_of(lambda_arn, secret_arn, size) {
                    Some(peers) => {
                        chunk = peers.to_vec();
                        true
                    }
                    None => false,
                },
            )
            .await;
        if chunk.is_empty() {
            chunk.push(secret_arn.to_string());
        }
        chunk
    }
}

/// The rotating secrets listed so far, by rotation Lambda.
#[derive(Debug, Default)]
pub(crate) struct Listed {
    by_lambda: HashMap<String, Vec<String>>,
    whole: bool,
}

impl Listed {
    /// See [`Session::peer_chunk`]; `None` while the chunk may still grow,
    /// and an empty chunk for a secret the listing did not put under
    /// `lambda_arn` (the function's ARN read differently, or a single
    /// diagnosis): it is a chunk of its own once the listing has ended.
    fn chunk_of(&self, lambda_arn: &str, secret_arn: &str, size: usize) -> Option<&[String]> {
        let peers = self
            .by_lambda
            .get(lambda_arn)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let Some(position) = peers.iter().position(|arn| arn == secret_arn) else {
            return self.whole.then_some(&[]);
        };
        let start = position / size * size;
        let end = (start + size).min(peers.len());
        (end - start == size || self.whole).then(|| &peers[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn listed(lambda: &str, secrets: usize, whole: bool) -> Listed {
        let arns = (0..secrets).map(|n| format!("s{n}")).collect();
        Listed {
            by_lambda: HashMap::from([(lambda.to_string(), arns)]),
            whole,
        }
    }

    #[test]
    fn a_chunk_is_cut_in_listing_order_once_it_is_full_or_the_listing_ends() {
        let partial = listed("f", 150, false);
        let first = partial.chunk_of("f", "s42", 100).expect("a full chunk");
        assert_eq!(first.len(), 100);
        assert_eq!((first[0].as_str(), first[99].as_str()), ("s0", "s99"));
        // The second chunk may still grow, and one of another Lambda is
        // not known yet.
        assert_eq!(partial.chunk_of("f", "s120", 100), None);
        assert_eq!(partial.chunk_of("g", "s1", 100), None);

        let whole = listed("f", 150, true);
        let last = whole.chunk_of("f", "s120", 100).expect("the listing ended");
        assert_eq!(last.len(), 50);
        assert_eq!(last[0], "s100");
        let alone: &[String] = &[];
        assert_eq!(whole.chunk_of("g", "s1", 100), Some(alone));
    }

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
