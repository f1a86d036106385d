//! `scan`: every rotating secret of one or more regions, diagnosed with a
//! bounded number of concurrent collections sharing one session per region
//! (so AWS calls grow with the distinct Lambdas, VPCs, databases and log
//! groups, not with the secrets), reported as one report with a target per
//! secret.

use std::sync::Arc;
use std::time::Duration;

use rotation_doctor_checks::Facts;
use tokio::sync::Semaphore;

pub use crate::collect::SecretFilter;
use crate::collect::{Clients, Session};
use crate::error::UserError;

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
pub async fn scan_region(clients: Clients, options: &ScanOptions) -> Result<Vec<Facts>, UserError> {
    let session = Session::new(clients, options.since, true);
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
