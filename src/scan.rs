//! `scan`: every rotating secret of one or more regions, diagnosed with a
//! bounded number of concurrent collections, reported as one report with a
//! target per secret.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use rotation_doctor_checks::Facts;
use tokio::sync::Semaphore;

use crate::collect::errors::unavailable;
use crate::collect::{self, CollectOptions};
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

/// One secret the listing found, and whether it rotates.
struct Listed {
    arn: String,
    rotating: bool,
}

/// ListSecrets, every page. Name prefixes go to the service; tags are
/// matched here, as a key and value pair (the service filters keys and
/// values separately).
async fn list_secrets(
    client: &aws_sdk_secretsmanager::Client,
    filters: &[SecretFilter],
) -> Result<Vec<Listed>, UserError> {
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
    let mut listed = Vec::new();
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
            if !tags_match {
                continue;
            }
            // Rotating: rotation on, a rotation Lambda named, or managed by
            // a service that rotates it (RDS).
            let rotating = entry.rotation_enabled() == Some(true)
                || entry.rotation_lambda_arn().is_some_and(|a| !a.is_empty())
                || entry.owning_service().is_some();
            if let Some(arn) = entry.arn() {
                listed.push(Listed {
                    arn: arn.to_string(),
                    rotating,
                });
            }
        }
    }
    Ok(listed)
}

pub struct ScanOptions {
    pub since: Duration,
    pub concurrency: usize,
    pub filters: Vec<SecretFilter>,
    pub show_progress: bool,
}

/// The facts of every rotating secret in the region of `config`, in the
/// order listed. A secret whose collection fails outright is skipped with
/// a note on stderr; the scan goes on.
pub async fn scan_region(
    config: &aws_config::SdkConfig,
    options: &ScanOptions,
) -> Result<Vec<Facts>, UserError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let listed = list_secrets(&client, &options.filters).await?;
    let rotating: Vec<String> = listed
        .into_iter()
        .filter(|l| l.rotating)
        .map(|l| l.arn)
        .collect();
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let progress = options.show_progress.then(|| {
        let bar = indicatif::ProgressBar::new(rotating.len() as u64);
        bar.set_message(format!("scanning {region}"));
        bar
    });
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, arn) in rotating.iter().enumerate() {
        let (config, arn, limit) = (config.clone(), arn.clone(), limit.clone());
        let collect_options = CollectOptions {
            since: options.since,
        };
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (
                index,
                arn.clone(),
                collect::collect(&config, &arn, &collect_options).await,
            )
        });
    }
    let mut results: Vec<(usize, Facts)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Some(bar) = &progress {
            bar.inc(1);
        }
        match joined {
            Ok((index, _, Ok(facts))) => results.push((index, facts)),
            Ok((_, arn, Err(error))) => eprintln!("rotation-doctor: skipped {arn}: {error}"),
            Err(error) => eprintln!("rotation-doctor: a collection task failed: {error}"),
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
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
