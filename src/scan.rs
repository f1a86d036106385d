//! `scan`: every rotating secret of one or more regions, diagnosed with a
//! bounded number of concurrent collections sharing one session per region
//! (so AWS calls grow with the distinct Lambdas, VPCs, databases and log
//! groups, not with the secrets), reported as one report with a target per
//! secret.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_types::region::Region;
use rotation_doctor_checks::{AccountAccess, Fact, Facts, Unavailable};
use tokio::sync::Semaphore;

use crate::accounts::{self, AccountArgs};
use crate::aws::{self, AwsArgs};
use crate::collect::stats::CallStats;
pub use crate::collect::SecretFilter;
use crate::collect::{in_flight, Clients, Session};
use crate::error::UserError;

/// At most this many AWS calls in flight at once, whatever the number of
/// accounts and regions: each region's secrets are collected
/// `--concurrency` at a time, and a scan of many accounts stays polite.
const MAX_CALLS_IN_FLIGHT: usize = 64;

/// What a scan found in one account, with the calls it made there.
pub struct AccountScan {
    /// `None` for the credentials' own account.
    pub account: Option<String>,
    pub facts: Vec<Facts>,
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
        let mut facts = Vec::new();
        for (_, scanned) in scan_regions(&base, regions, own, &calls, &options).await {
            facts.extend(scanned?);
        }
        return Ok(vec![AccountScan {
            account: None,
            facts,
            calls,
        }]);
    };
    let ids = accounts::accounts(account_args, &base).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in ids.into_iter().enumerate() {
        let (base, aws_args, options) = (base.clone(), aws_args.clone(), options.clone());
        let (role_name, external_id) = (role_name.clone(), account_args.external_id.clone());
        let all_regions = account_args.all_regions;
        tasks.spawn(async move {
            let calls = CallStats::default();
            let facts = scan_account(
                &base,
                &aws_args,
                &account,
                (&role_name, external_id.as_deref()),
                all_regions,
                &calls,
                &options,
            )
            .await;
            (
                index,
                AccountScan {
                    account: Some(account),
                    facts,
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

/// One account entered through the role: its regions' facts, or one entry
/// saying why it (or a region of it) could not be scanned.
async fn scan_account(
    base: &SdkConfig,
    aws_args: &AwsArgs,
    account: &str,
    (role_name, external_id): (&str, Option<&str>),
    all_regions: bool,
    calls: &CallStats,
    options: &Arc<ScanOptions>,
) -> Vec<Facts> {
    let home = base.region().map(|r| r.to_string()).unwrap_or_default();
    let not_scanned = |region: &str, role_arn: &str, why: Unavailable| {
        Facts::unentered(region, role_arn, chrono::Utc::now(), why)
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
    let mut facts = Vec::new();
    let access = Fact::Present(access);
    for (region, scanned) in scan_regions(&config, regions, access, calls, options).await {
        match scanned {
            Ok(found) => facts.extend(found),
            Err(error) => facts.push(not_scanned(
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
    facts
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
/// region's facts, or why its scan failed, in the order given.
async fn scan_regions(
    config: &SdkConfig,
    regions: Vec<String>,
    access: Fact<AccountAccess>,
    calls: &CallStats,
    options: &Arc<ScanOptions>,
) -> Vec<(String, Result<Vec<Facts>, UserError>)> {
    let mut handles = Vec::new();
    for region in regions {
        let regional = config
            .to_builder()
            .region(Region::new(region.clone()))
            .build();
        let (calls, options, access) = (calls.clone(), options.clone(), access.clone());
        let scan = tokio::spawn(async move {
            // Retries follow the configuration (standard mode unless
            // AWS_RETRY_MODE or the profile says otherwise). Not adaptive
            // by default: under heavy throttling its client-side rate
            // limiter fell to about one call in two seconds and calls ran
            // into the 25 s operation timeout (tests/fleet.rs, one call in
            // three throttled).
            let clients = Clients::new(&regional, &calls)?;
            scan_region(clients, access, &options).await
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
    /// region's count as the listings arrive.
    pub progress: Option<indicatif::ProgressBar>,
}

/// Lists the region's rotating secrets, reads their values 20 a call, then
/// diagnoses them all under one session, so what they share (Lambdas,
/// roles, log groups, VPCs, databases, keys, CloudTrail events) is read
/// once. The facts of every rotating secret, in listing order.
pub async fn scan_region(
    clients: Clients,
    access: Fact<AccountAccess>,
    options: &ScanOptions,
) -> Result<Vec<Facts>, UserError> {
    let session = Session::entered(clients, options.since, true, access);
    let secrets = session.list_rotating(&options.filters).await?;
    if let Some(bar) = &options.progress {
        bar.inc_length(secrets.len() as u64);
    }
    let listed = session.read_values(secrets, options.concurrency).await;

    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, secret) in listed.into_iter().enumerate() {
        let (session, limit) = (session.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, session.diagnose_listed(secret).await)
        });
    }
    let mut results: Vec<(usize, Facts)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Some(bar) = &options.progress {
            bar.inc(1);
        }
        match joined {
            Ok(pair) => results.push(pair),
            Err(error) => eprintln!("rotation-doctor: a diagnosis task failed: {error}"),
        }
    }
    results.sort_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, facts)| facts).collect())
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
