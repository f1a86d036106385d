//! A fleet's reads, for `scan`: the rotating secrets of a region from
//! ListSecrets, their values from BatchGetSecretValue, and the version dates
//! of the stuck ones, each secret then diagnosed by the session's rounds 2
//! and 3 (a listing entry already says what DescribeSecret would).

use std::collections::HashMap;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use rotation_doctor_checks::{ErrorKind, Fact, Facts, Secret, Unavailable};
use zeroize::Zeroizing;

use super::errors::unavailable;
use super::iam::SIMULATION_RESOURCES;
use super::secret::{current_value, parsed, secret_from_entry, version_dates, SecretValue};
use super::Session;
use crate::error::UserError;

/// A `--filter`: `name-prefix=PREFIX` or `tag=KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretFilter {
    NamePrefix(String),
    Tag { key: String, value: String },
}

/// A rotating secret of the listing with its value, ready to diagnose.
pub struct ListedSecret {
    secret: Secret,
    value: SecretValue,
}

impl ListedSecret {
    /// The rotation Lambda the listing names, if any.
    pub fn rotation_lambda(&self) -> Option<&str> {
        self.secret.rotation_lambda_arn.as_deref()
    }
}

impl Session {
    /// Whether `listed` can be diagnosed without waiting for more of the
    /// listing: its role simulation asks about a chunk of its Lambda's
    /// secrets, which must all be listed first.
    pub fn can_diagnose(&self, listed: &ListedSecret) -> bool {
        match listed.rotation_lambda() {
            Some(lambda) => self.chunk_listed(lambda, &listed.secret.arn, SIMULATION_RESOURCES),
            None => true,
        }
    }
}

/// BatchGetSecretValue takes at most 20 secret ids a call.
pub const BATCH_SIZE: usize = 20;

impl Session {
    /// ListSecrets, every page: the rotating secrets (rotation on, a rotation
    /// Lambda named, or managed by a service that rotates it, such as RDS),
    /// each already as the `Secret` DescribeSecret would give, handed to
    /// `page` as each page arrives. Name prefixes go to the service; tags
    /// are matched here, as a key and value pair (the service filters keys
    /// and values separately). The session learns which secrets each
    /// rotation Lambda serves page by page.
    pub async fn list_rotating(
        &self,
        filters: &[SecretFilter],
        mut page: impl FnMut(Vec<Secret>),
    ) -> Result<(), UserError> {
        let mut request = self.shared.clients.secrets.list_secrets().max_results(100);
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
        while let Some(listed) = pages.next().await {
            let listed = match listed {
                Ok(listed) => listed,
                Err(e) => {
                    // Nothing waits on a listing that has stopped.
                    self.add_listed(&[], true);
                    return Err(UserError::new(format!(
                        "cannot list the secrets: {}",
                        unavailable("secretsmanager:ListSecrets", &e)
                    )));
                }
            };
            let mut rotating = Vec::new();
            let mut by_lambda = Vec::new();
            for entry in listed.secret_list() {
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
                    let secret = secret_from_entry(entry);
                    if let Some(lambda) = &secret.rotation_lambda_arn {
                        by_lambda.push((lambda.clone(), secret.arn.clone()));
                    }
                    rotating.push(secret);
                }
            }
            self.add_listed(&by_lambda, false);
            page(rotating);
        }
        self.add_listed(&[], true);
        Ok(())
    }

    /// The values of up to [`BATCH_SIZE`] listed secrets, in one call. Every
    /// password (and masterarn) is remembered for masking before the
    /// secrets are handed on.
    pub async fn read_batch(&self, secrets: Vec<(usize, Secret)>) -> Vec<(usize, ListedSecret)> {
        let arns: Vec<String> = secrets.iter().map(|(_, s)| s.arn.clone()).collect();
        let mut values: HashMap<String, SecretValue> =
            batch_chunk(&self.shared.clients.secrets, arns)
                .await
                .into_iter()
                .collect();
        let listed: Vec<(usize, ListedSecret)> = secrets
            .into_iter()
            .map(|(index, secret)| {
                let value = values.remove(&secret.arn).unwrap_or_else(|| SecretValue {
                    connection: Fact::Unavailable(Unavailable {
                        call: "secretsmanager:BatchGetSecretValue".to_string(),
                        kind: ErrorKind::Other,
                        message: "the value was not returned".to_string(),
                    }),
                    password: None,
                    master_arn: None,
                    user_arn: None,
                });
                (index, ListedSecret { secret, value })
            })
            .collect();
        for (_, ListedSecret { value, .. }) in &listed {
            self.add_masked(value.password.as_ref());
            self.add_masked(value.master_arn.as_ref());
        }
        listed
    }

    /// One listed secret's diagnosis: the creation dates of its versions
    /// when it is stuck (a rotation whose AWSPENDING version is not
    /// AWSCURRENT, where ROT002 says how old it is; for any other secret the
    /// listing has said enough), then rounds 2 and 3.
    pub async fn diagnose_listed(&self, listed: ListedSecret) -> Facts {
        let ListedSecret { mut secret, value } = listed;
        let stuck = secret.versions.values().any(|stages| {
            stages.iter().any(|s| s == "AWSPENDING") && !stages.iter().any(|s| s == "AWSCURRENT")
        });
        if stuck {
            match version_dates(&self.shared.clients.secrets, &secret.arn).await {
                Ok(dates) => secret.version_created = dates,
                Err(reason) => secret.version_dates_unavailable = Some(reason),
            }
        }
        let id = secret.arn.clone();
        self.diagnose_read(&id, Fact::Present(secret), value).await
    }
}

/// The connection fields (and the password, for log scrubbing) of the
/// secrets in `chunk`, in one BatchGetSecretValue. A secret the batch could
/// not answer (a per-secret error, or a failed batch) is read alone with
/// GetSecretValue(AWSCURRENT), so its fact carries that call's own reason.
async fn batch_chunk(
    client: &aws_sdk_secretsmanager::Client,
    chunk: Vec<String>,
) -> Vec<(String, SecretValue)> {
    let mut values = Vec::new();
    let mut missed: Vec<String> = Vec::new();
    match client
        .batch_get_secret_value()
        .set_secret_id_list(Some(chunk.clone()))
        .send()
        .await
    {
        Ok(mut output) => {
            for mut entry in output.secret_values.take().unwrap_or_default() {
                let Some(arn) = entry.arn.take() else {
                    continue;
                };
                let string = entry.secret_string.take().map(Zeroizing::new);
                let binary = entry
                    .secret_binary
                    .take()
                    .map(|b| Zeroizing::new(b.into_inner()));
                values.push((arn, parsed(string, binary.is_some())));
            }
            missed.extend(
                chunk
                    .iter()
                    .filter(|arn| !values.iter().any(|(done, _)| done == *arn))
                    .cloned(),
            );
        }
        // The whole batch failed (no permission for the batch call, or an
        // emulator that cannot answer it): read each secret alone.
        Err(_) => missed = chunk,
    }
    for arn in missed {
        let value = current_value(client, &arn).await;
        values.push((arn, value));
    }
    values
}
