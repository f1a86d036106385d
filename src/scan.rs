//! `scan`: every rotating secret of one or more regions, diagnosed with a
//! bounded number of concurrent collections sharing one session per region
//! (so AWS calls grow with the distinct Lambdas, VPCs, databases and log
//! groups, not with the secrets), reported as one report with a target per
//! secret.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use rotation_doctor_checks::{ErrorKind, Fact, Facts, Secret, Unavailable};
use tokio::sync::Semaphore;

use crate::collect::errors::unavailable;
use crate::collect::stats::{CallStats, OperationCount};
use crate::collect::{self, SecretValue, Session};
use crate::error::UserError;

/// A `--filter`: `name-prefix=PREFIX` or `tag=KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFilter {
    NamePrefix(String),
    Tag { key: String, value: String },
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

/// ListSecrets, every page: the rotating secrets (rotation on, a rotation
/// Lambda named, or managed by a service that rotates it, such as RDS), each
/// already as the `Secret` DescribeSecret would give. Name prefixes go to the
/// service; tags are matched here, as a key and value pair (the service
/// filters keys and values separately).
async fn list_rotating(
    client: &aws_sdk_secretsmanager::Client,
    filters: &[SecretFilter],
) -> Result<Vec<Secret>, UserError> {
    let mut request = client.list_secrets().max_results(100);
    for filter in filters {
        if let SecretFilter::NamePrefix(prefix) = filter {
            request = request.filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(prefix)
                    .build(),
            );
        }
    }
    let mut pages = request.into_paginator().send();
    let mut rotating = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            UserError::new(format!(
                "cannot list the secrets: {}",
                unavailable("secretsmanager:ListSecrets", &e)
            ))
        })?;
        for entry in page.secret_list() {
            let tags_match = filters.iter().all(|f| match f {
                SecretFilter::NamePrefix(_) => true,
                SecretFilter::Tag { key, value } => entry
                    .tags()
                    .iter()
                    .any(|t| t.key() == Some(key) && t.value() == Some(value)),
            });
            let is_rotating = entry.rotation_enabled() == Some(true)
                || entry.rotation_lambda_arn().is_some_and(|a| !a.is_empty())
                || entry.owning_service().is_some();
            if tags_match && is_rotating && entry.arn().is_some() {
                rotating.push(collect::secret_from_entry(entry));
            }
        }
    }
    Ok(rotating)
}

pub struct ScanOptions {
    pub since: Duration,
    pub concurrency: usize,
    pub filters: Vec<SecretFilter>,
    /// Advanced once per secret diagnosed; its length grows by each
    /// region's count as the listings arrive.
    pub progress: Option<indicatif::ProgressBar>,
}

/// One region's scan: the facts of every rotating secret, in listing order,
/// and the calls it made.
pub struct RegionScan {
    pub facts: Vec<Facts>,
    pub calls: Vec<(String, String, OperationCount)>,
}

/// Lists the region's rotating secrets, reads their values 20 a call, then
/// diagnoses them all under one session, so what they share (Lambdas,
/// roles, log groups, VPCs, databases, keys, CloudTrail events) is read once.
pub async fn scan_region(
    config: &aws_config::SdkConfig,
    options: &ScanOptions,
) -> Result<RegionScan, UserError> {
    // Retries follow the configuration (standard mode unless AWS_RETRY_MODE
    // or the profile says otherwise). Not adaptive by default: under heavy
    // throttling its client-side rate limiter fell to about one call in two
    // seconds and calls ran into the 25 s operation timeout
    // (tests/fleet.rs, one call in three throttled).
    let session = Session::new(config, options.since, true, CallStats::default())?;
    let client = session.secrets_client().clone();
    let secrets = list_rotating(&client, &options.filters).await?;
    if let Some(bar) = &options.progress {
        bar.inc_length(secrets.len() as u64);
    }

    let mut by_lambda: HashMap<String, Vec<String>> = HashMap::new();
    for secret in &secrets {
        if let Some(lambda) = &secret.rotation_lambda_arn {
            by_lambda
                .entry(lambda.clone())
                .or_default()
                .push(secret.arn.clone());
        }
    }
    session.set_secrets_by_lambda(by_lambda);

    // Every value before any diagnosis: see the passwords below.
    let arns: Vec<String> = secrets.iter().map(|s| s.arn.clone()).collect();
    let mut values = collect::batch_values(&client, &arns, options.concurrency).await;
    let mut secret_values = Vec::with_capacity(secrets.len());
    for arn in &arns {
        let value = values.remove(arn).unwrap_or_else(|| SecretValue {
            connection: Fact::Unavailable(Unavailable {
                call: "secretsmanager:BatchGetSecretValue".to_string(),
                kind: ErrorKind::Other,
                message: "the value was not returned".to_string(),
            }),
            password: None,
            master_arn: None,
        });
        secret_values.push(value);
    }
    // Every password (and masterarn) first: one Lambda's log group serves
    // all its secrets.
    for value in &secret_values {
        session.add_masked(value.password.as_ref());
        session.add_masked(value.master_arn.as_ref());
    }

    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (mut secret, value)) in secrets.into_iter().zip(secret_values).enumerate() {
        let (session, client, limit) = (session.clone(), client.clone(), limit.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            collect::version_dates_of_stuck(&client, &mut secret).await;
            let id = secret.arn.clone();
            let facts = session
                .diagnose_read(&id, Fact::Present(secret), value)
                .await;
            (index, facts)
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
    Ok(RegionScan {
        facts: results.into_iter().map(|(_, facts)| facts).collect(),
        calls: session.stats().snapshot(),
    })
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
