//! `scan`: every rotating secret of one or more regions, diagnosed with a
//! bounded number of concurrent collections sharing one session per region
//! (so AWS calls grow with the distinct Lambdas, VPCs, databases and log
//! groups, not with the secrets), reported as one report with a target per
//! secret.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_types::region::Region;
use rotation_doctor_checks::{AccountAccess, Fact, Facts, Secret, Unavailable};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::accounts::{self, AccountArgs};
use crate::aws::{self, AwsArgs};
use crate::collect::stats::CallStats;
pub use crate::collect::SecretFilter;
use crate::collect::{in_flight, Clients, ListedSecret, Session, BATCH_SIZE};
use crate::error::UserError;
use crate::report::Target;

/// At most this many AWS calls in flight at once, whatever the number of
/// accounts and regions: each region's secrets are collected
/// `--concurrency` at a time, and a scan of many accounts stays polite.
const MAX_CALLS_IN_FLIGHT: usize = 64;

/// Once a region is listed and read, its diagnoses left may run beyond its
/// own `--concurrency`: this many more at once in the whole run, whatever
/// the number of regions. With this bound per region instead, forty regions
/// (an organisation's) held some 2,000 secrets' facts at once, each with its
/// own copy of its VPC's network: 257 MB peak on the bench's organisation,
/// 116 MB with this bound (3.72 s → 3.46 s). Sharing the regions' own
/// permits too made them wait for each other's first reads (78 MB, 4.99 s).
const MAX_DIAGNOSES_IN_FLIGHT: usize = 64;

/// What every region of a run shares: its options and the bound on
/// diagnoses in flight across all of them.
struct Run {
    options: Arc<ScanOptions>,
    diagnoses: Arc<Semaphore>,
}

/// What a scan found in one account, with the calls it made there.
pub struct AccountScan {
    /// `None` for the credentials' own account.
    pub account: Option<String>,
    pub targets: Vec<Target>,
    pub calls: CallStats,
}

/// Scans every account the flags name (or the credentials' own), every
/// region of each at once, under one bound on calls in flight. An account
/// or region that cannot be entered or listed is an `ACC001` entry of its
/// own; the others go on.
pub async fn scan(
    aws_args: &AwsArgs,
    account_args: &AccountArgs,
    options: Arc<ScanOptions>,
) -> Result<Vec<AccountScan>, UserError> {
    if account_args.all_regions && !aws_args.region.is_empty() {
        return Err(UserError::new(
            "--all-regions scans every region the account has enabled: drop --region, or drop --all-regions to scan the regions you name",
        ));
    }
    let mut base_args = aws_args.clone();
    base_args.region.truncate(1);
    let permits = Arc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT));
    let base = in_flight::bounded(&aws::load_config(&base_args).await?, &permits);
    let run = Arc::new(Run {
        options,
        diagnoses: Arc::new(Semaphore::new(MAX_DIAGNOSES_IN_FLIGHT)),
    });
    let Some(role_name) = account_args.role_name.clone() else {
        let regions = match regions_of(&base, aws_args, account_args.all_regions).await {
            Ok(regions) => regions,
            Err(unavailable) => {
                return Err(UserError::new(format!(
                    "cannot list the account's regions: {unavailable}"
                )))
            }
        };
        if let Some(bad) = regions.iter().find(|r| !aws::region_name_is_valid(r)) {
            return Err(UserError::new(format!(
                "{bad:?} is not an AWS region name (such as us-east-1 or eu-west-2)"
            )));
        }
        let calls = CallStats::default();
        let own = Fact::NotApplicable("the credentials' own account".to_string());
        // With the caller's own credentials a failed region stops the run,
        // as a failed `diagnose` does.
        let mut targets = Vec::new();
        for (_, scanned) in scan_regions(&base, regions, own, &calls, &run).await {
            targets.extend(scanned?);
        }
        return Ok(vec![AccountScan {
            account: None,
            targets,
            calls,
        }]);
    };
    let ids = accounts::accounts(account_args, &base).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in ids.into_iter().enumerate() {
        let (base, aws_args, run) = (base.clone(), aws_args.clone(), run.clone());
        let (role_name, external_id) = (role_name.clone(), account_args.external_id.clone());
        let all_regions = account_args.all_regions;
        tasks.spawn(async move {
            let calls = CallStats::default();
            let targets = scan_account(
                &base,
                &aws_args,
                &account,
                (&role_name, external_id.as_deref()),
                all_regions,
                &calls,
                &run,
            )
            .await;
            (
                index,
                AccountScan {
                    account: Some(account),
                    targets,
                    calls,
                },
            )
        });
    }
    let mut scans = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        scans.push(joined.map_err(|e| UserError::new(format!("an account's scan stopped: {e}")))?);
    }
    scans.sort_by_key(|(index, _)| *index);
    Ok(scans.into_iter().map(|(_, scan)| scan).collect())
}

/// One account entered through the role: its regions' targets, or one entry
/// saying why it (or a region of it) could not be scanned.
async fn scan_account(
    base: &SdkConfig,
    aws_args: &AwsArgs,
    account: &str,
    (role_name, external_id): (&str, Option<&str>),
    all_regions: bool,
    calls: &CallStats,
    run: &Arc<Run>,
) -> Vec<Target> {
    let home = base.region().map(|r| r.to_string()).unwrap_or_default();
    let not_scanned = |region: &str, role_arn: &str, why: Unavailable| {
        (run.options.evaluate)(&Facts::unentered(region, role_arn, chrono::Utc::now(), why))
    };
    let (config, access) = match accounts::enter(base, account, role_name, external_id).await {
        Ok(entered) => entered,
        Err(why) => {
            let role_arn = accounts::role_arn(base, account, role_name);
            return vec![not_scanned(&home, &role_arn, why)];
        }
    };
    let regions = match regions_of(&config, aws_args, all_regions).await {
        Ok(regions) => regions,
        Err(why) => return vec![not_scanned(&home, &access.role_arn, why)],
    };
    let role_arn = access.role_arn.clone();
    let mut targets = Vec::new();
    let access = Fact::Present(access);
    for (region, scanned) in scan_regions(&config, regions, access, calls, run).await {
        match scanned {
            Ok(found) => targets.extend(found),
            Err(error) => targets.push(not_scanned(
                &region,
                &role_arn,
                Unavailable {
                    call: "secretsmanager:ListSecrets".to_string(),
                    kind: rotation_doctor_checks::ErrorKind::Other,
                    message: error.to_string(),
                },
            )),
        }
    }
    targets
}

/// The regions to scan in `config`'s account: `--all-regions` asks the
/// account; otherwise `--region`, or the configuration's own.
async fn regions_of(
    config: &SdkConfig,
    aws_args: &AwsArgs,
    all_regions: bool,
) -> Result<Vec<String>, Unavailable> {
    if all_regions {
        return accounts::enabled_regions(config).await;
    }
    if !aws_args.region.is_empty() {
        return Ok(aws_args.region.clone());
    }
    Ok(config.region().map(|r| r.to_string()).into_iter().collect())
}

/// Every region of one account at once, each with its own session: each
/// region's targets, or why its scan failed, in the order given.
async fn scan_regions(
    config: &SdkConfig,
    regions: Vec<String>,
    access: Fact<AccountAccess>,
    calls: &CallStats,
    run: &Arc<Run>,
) -> Vec<(String, Result<Vec<Target>, UserError>)> {
    let mut handles = Vec::new();
    for region in regions {
        let regional = config
            .to_builder()
            .region(Region::new(region.clone()))
            .build();
        let (calls, run, access) = (calls.clone(), run.clone(), access.clone());
        let scan = tokio::spawn(async move {
            // Retries follow the configuration (standard mode unless
            // AWS_RETRY_MODE or the profile says otherwise). Not adaptive
            // by default: under heavy throttling its client-side rate
            // limiter fell to about one call in two seconds and calls ran
            // into the 25 s operation timeout (tests/fleet.rs, one call in
            // three throttled).
            let clients = Clients::new(&regional, &calls)?;
            scan_region(clients, access, &run).await
        });
        handles.push((region, scan));
    }
    let mut results = Vec::new();
    for (region, handle) in handles {
        let result = handle
            .await
            .map_err(|e| UserError::new(format!("a region's scan stopped: {e}")))
            .and_then(|scanned| scanned);
        results.push((region, result));
    }
    results
}

pub fn parse_filter(text: &str) -> Result<SecretFilter, String> {
    match text.split_once('=') {
        Some(("name-prefix", prefix)) if !prefix.is_empty() => {
            Ok(SecretFilter::NamePrefix(prefix.to_string()))
        }
        Some(("tag", rest)) => match rest.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok(SecretFilter::Tag {
                key: key.to_string(),
                value: value.to_string(),
            }),
            _ => Err("a tag filter is tag=KEY=VALUE".to_string()),
        },
        _ => Err("use name-prefix=PREFIX or tag=KEY=VALUE".to_string()),
    }
}

pub struct ScanOptions {
    pub since: Duration,
    pub concurrency: usize,
    pub filters: Vec<SecretFilter>,
    /// Advanced once per secret diagnosed; its length grows by each
    /// page's count as the listings arrive.
    pub progress: Option<indicatif::ProgressBar>,
    /// What a secret's facts become in the report. It runs as soon as the
    /// facts are in, and only its result is kept: a scan of thousands of
    /// secrets holds their reports, not every secret's Lambda, role and VPC.
    pub evaluate: Box<dyn Fn(&Facts) -> Target + Send + Sync>,
}

/// Lists the region's rotating secrets and diagnoses each as soon as it
/// can: a full batch of 20 listed secrets has its values read in one call
/// while the listing goes on, and each secret of it is then diagnosed (at
/// most `concurrency` value reads and `concurrency` diagnoses at once) once
/// the listing has given the 100 secrets of its Lambda that its role
/// simulation asks about together, so the scan ends about when the listing
/// does. A diagnosis whose log group or CloudTrail events have lines to
/// mask waits for every password of the region to be read. What the
/// secrets share (Lambdas, roles, log groups, VPCs, databases, keys,
/// CloudTrail events) is read once by the one session. The targets, in
/// listing order.
///
/// Memory: a diagnosis is started only when it may run (its future is tens
/// of kilobytes, so thousands waiting were most of a large scan's memory),
/// and each is joined as it ends, keeping only its target.
async fn scan_region(
    clients: Clients,
    access: Fact<AccountAccess>,
    run: &Arc<Run>,
) -> Result<Vec<Target>, UserError> {
    let options = &run.options;
    let session = Session::entered(clients, options.since, true, access);
    let (pages_sender, mut pages) = tokio::sync::mpsc::unbounded_channel();
    let mut listing = {
        let (session, filters) = (session.clone(), options.filters.clone());
        tokio::spawn(async move {
            session
                .list_rotating(&filters, |page| {
                    // The receiver lives until the listing ends.
                    let _ = pages_sender.send(page);
                })
                .await
        })
    };
    let read_limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let diagnose_limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    // Until the region is listed and read, one evaluation at a time: the
    // checks are the scan's only heavy computing, and the listing's answers
    // (and, on an emulator, the emulator itself) need a core of their own.
    let evaluate_limit = Arc::new(Semaphore::new(1));
    let mut reads = tokio::task::JoinSet::new();
    let mut diagnoses = tokio::task::JoinSet::new();
    let read = |reads: &mut tokio::task::JoinSet<_>, batch: Vec<(usize, Secret)>| {
        let (session, limit) = (session.clone(), read_limit.clone());
        reads.spawn(async move {
            let _permit = limit.acquire_owned().await;
            session.read_batch(batch).await
        });
    };

    let mut unread: Vec<(usize, Secret)> = Vec::new();
    // Read, waiting for the listing to give the rest of their simulation
    // chunk (`Session::can_diagnose`), so that a diagnosis never holds a
    // permit while it waits for the listing.
    let mut waiting: Vec<(usize, ListedSecret)> = Vec::new();
    let mut ready: VecDeque<(usize, ListedSecret)> = VecDeque::new();
    let mut lambdas_seen: HashSet<String> = HashSet::new();
    let mut make_ready = |ready: &mut VecDeque<_>, (index, secret): (usize, ListedSecret)| {
        // The first secret of each Lambda goes first: its diagnosis reads
        // what all the Lambda's secrets share (its configuration, role,
        // VPC), while the listing still runs; the others then find it read.
        let lambda = secret.rotation_lambda().unwrap_or_default();
        if lambdas_seen.insert(lambda.to_string()) {
            ready.push_front((index, secret));
        } else {
            ready.push_back((index, secret));
        }
    };
    let mut targets: Vec<(usize, Target)> = Vec::new();
    let (mut listed, mut listing_open, mut all_read) = (0, true, false);
    loop {
        let mut listing_grew = false;
        tokio::select! {
            page = pages.recv(), if listing_open => match page {
                Some(page) => {
                    listing_grew = true;
                    if let Some(bar) = &options.progress {
                        bar.inc_length(page.len() as u64);
                    }
                    for secret in page {
                        unread.push((listed, secret));
                        listed += 1;
                    }
                    while unread.len() >= BATCH_SIZE {
                        let rest = unread.split_off(BATCH_SIZE);
                        read(&mut reads, std::mem::replace(&mut unread, rest));
                    }
                }
                None => {
                    (listing_open, listing_grew) = (false, true);
                    (&mut listing)
                        .await
                        .map_err(|e| UserError::new(format!("a region's listing stopped: {e}")))??;
                    if !unread.is_empty() {
                        read(&mut reads, std::mem::take(&mut unread));
                    }
                }
            },
            Some(batch) = reads.join_next() => {
                for listed in joined(batch)? {
                    if session.can_diagnose(&listed.1) {
                        make_ready(&mut ready, listed);
                    } else {
                        waiting.push(listed);
                    }
                }
            }
            // The region's own `--concurrency` diagnoses, and once it is all
            // read, as many more as the run's shared bound has room for.
            permit = diagnose_limit.clone().acquire_owned(), if !ready.is_empty() => {
                if let (Ok(permit), Some(next)) = (permit, ready.pop_front()) {
                    diagnoses.spawn(diagnosis(&session, options, &evaluate_limit, permit, next));
                }
            }
            permit = run.diagnoses.clone().acquire_owned(), if all_read && !ready.is_empty() => {
                if let (Ok(permit), Some(next)) = (permit, ready.pop_front()) {
                    diagnoses.spawn(diagnosis(&session, options, &evaluate_limit, permit, next));
                }
            }
            Some(diagnosed) = diagnoses.join_next() => targets.push(joined(diagnosed)?),
            else => break,
        }
        if listing_grew && !waiting.is_empty() {
            // A page or the listing's end may have completed their chunks.
            let (now, still): (Vec<_>, Vec<_>) = std::mem::take(&mut waiting)
                .into_iter()
                .partition(|(_, listed)| session.can_diagnose(listed));
            waiting = still;
            for listed in now {
                make_ready(&mut ready, listed);
            }
        }
        if !all_read && !listing_open && reads.is_empty() {
            // Every password is known: the diagnoses waiting to mask log
            // lines or CloudTrail messages go on.
            session.set_all_read();
            all_read = true;
            // The diagnoses left mostly reuse what the session has read
            // (a Lambda's, a role's, a VPC's): beside the region's own, they
            // take the run's shared permits (above), and the bound on calls
            // in flight still holds whatever they call. Each evaluates as
            // soon as its facts are in.
            evaluate_limit.add_permits(options.concurrency + MAX_DIAGNOSES_IN_FLIGHT);
        }
    }
    targets.sort_by_key(|(index, _)| *index);
    Ok(targets.into_iter().map(|(_, target)| target).collect())
}

/// One secret's diagnosis, holding `permit` until its target is made; its
/// evaluation waits for one of the region's `evaluating` permits.
fn diagnosis(
    session: &Session,
    options: &Arc<ScanOptions>,
    evaluating: &Arc<Semaphore>,
    permit: OwnedSemaphorePermit,
    (index, secret): (usize, ListedSecret),
) -> impl std::future::Future<Output = (usize, Target)> + Send + 'static {
    let (session, options, evaluating) = (session.clone(), options.clone(), evaluating.clone());
    async move {
        let _permit = permit;
        let facts = session.diagnose_listed(secret).await;
        if let Some(bar) = &options.progress {
            bar.inc(1);
        }
        let _evaluating = evaluating.acquire_owned().await;
        (index, (options.evaluate)(&facts))
    }
}

/// A task's result, or why the scan cannot go on without it.
fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, UserError> {
    result.map_err(|e| UserError::new(format!("a scan task stopped: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse() {
        assert_eq!(
            parse_filter("name-prefix=prod/"),
            Ok(SecretFilter::NamePrefix("prod/".into()))
        );
        assert_eq!(
            parse_filter("tag=team=payments"),
            Ok(SecretFilter::Tag {
                key: "team".into(),
                value: "payments".into()
            })
        );
        assert!(parse_filter("tag=").is_err());
        assert!(parse_filter("owner=me").is_err());
    }
}
