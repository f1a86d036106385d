//! Round 1: the secret's metadata and the connection fields of its value.
//!
//! The value is the only secret this tool ever touches. It is held in
//! `Zeroizing` buffers, parsed into `Connection` (which has no place for a
//! password), and the password itself is kept only so the log reader can
//! scrub it from log lines, then wiped. The parser itself is
//! `rotation_doctor_checks::secret_value`, pure, so it can be fuzzed.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::{SecretListEntry, Tag};
use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use rotation_doctor_checks::secret_value::parse_secret_value;
use rotation_doctor_checks::{Connection, ErrorKind, Fact, RotationRules, Secret};
use zeroize::Zeroizing;

use super::redacted::Redacted;

use super::errors::{CallFailure, Transport};
use crate::error::UserError;

pub(crate) const DESCRIBE_SECRET: &str = "secretsmanager:DescribeSecret";
pub(crate) const GET_SECRET_VALUE: &str = "secretsmanager:GetSecretValue";
pub(crate) const LIST_SECRET_VERSION_IDS: &str = "secretsmanager:ListSecretVersionIds";

/// What the AWSCURRENT value yields: the connection fields, and the
/// fields held only in memory (wiped on drop): the password, to scrub log
/// lines, `masterarn`, to judge the master secret, and an ElastiCache
/// secret's `user_arn`, to find its user.
pub(crate) struct SecretValue {
    pub connection: Fact<Connection>,
    pub password: Option<Redacted>,
    pub master_arn: Option<Redacted>,
    pub user_arn: Option<Redacted>,
}

/// What round 1 yields.
pub(crate) struct SecretRound {
    pub secret: Fact<Secret>,
    pub value: SecretValue,
}

/// Where calls go, for error sentences.
pub(crate) struct Target<'a> {
    pub secret_id: &'a str,
    pub region: &'a str,
    pub endpoint: &'a str,
}

/// DescribeSecret and GetSecretValue(AWSCURRENT), concurrently. A failure of
/// DescribeSecret that makes every other call pointless (no such secret, no
/// permission, no credentials, no connection) is returned as the user's error.
pub(crate) async fn collect_secret(
    client: &Client,
    target: &Target<'_>,
) -> Result<SecretRound, UserError> {
    let describe = client.describe_secret().secret_id(target.secret_id).send();
    let value = current_value(client, target.secret_id);
    let versions = version_dates(client, target.secret_id);
    let (describe, value, versions) = tokio::join!(describe, value, versions);

    let secret = match describe {
        Ok(output) => {
            let mut secret = secret_from(&output);
            match versions {
                Ok(dates) => secret.version_created = dates,
                Err(reason) => secret.version_dates_unavailable = Some(reason),
            }
            Fact::Present(secret)
        }
        Err(err) => {
            let failure = CallFailure::from_sdk(DESCRIBE_SECRET, &err);
            if let Some(fatal) = fatal_error(&failure, target) {
                return Err(fatal);
            }
            Fact::Unavailable(failure.unavailable())
        }
    };
    Ok(SecretRound { secret, value })
}

/// The user's sentence for a DescribeSecret failure that ends the run.
fn fatal_error(failure: &CallFailure, target: &Target<'_>) -> Option<UserError> {
    let Target {
        secret_id,
        region,
        endpoint,
    } = target;
    let message = match (failure.transport, failure.kind) {
        (Some(Transport::NoCredentials), _) => {
            // The chain asks the instance metadata service last, only when
            // nothing before it (environment, profile, SSO, web identity,
            // container) was configured: its error means "no credentials".
            let cause = failure.root_cause.to_ascii_lowercase();
            let nothing_configured = [
                "imds",
                "instance metadata",
                "not enabled",
                "no credentials",
                "not loaded",
            ]
            .iter()
            .any(|hint| cause.contains(hint));
            if nothing_configured {
                "no AWS credentials were found: run `aws configure` or `aws sso login`, or pass \
                 --profile; to try rotation-doctor without an account, diagnose a snapshot with \
                 --snapshot examples/lab-failed-rotation.json"
                    .to_string()
            } else {
                format!(
                    "the AWS credentials could not be loaded: {}",
                    failure.root_cause
                )
            }
        }
        (Some(Transport::BadCredentials), _) => format!(
            "the AWS credentials were rejected by {endpoint}: {}",
            failure.message
        ),
        (Some(Transport::Unreachable), _) => format!(
            "could not reach the AWS endpoint {endpoint}: {}",
            failure.root_cause
        ),
        (Some(Transport::Timeout), _) => format!(
            "the AWS endpoint {endpoint} did not answer in time ({} timed out)",
            failure.call
        ),
        (None, ErrorKind::NotFound) => {
            format!("secret {secret_id} was not found in region {region}")
        }
        (None, ErrorKind::AccessDenied) => format!(
            "access denied: the caller may not call {} on secret {secret_id} ({})",
            failure.call, failure.message
        ),
        (None, _) => return None,
    };
    Some(UserError::new(message))
}

/// The `Secret` of a DescribeSecret answer or a ListSecrets entry: the two
/// SDK types have the same accessors but no common trait, so a macro reads
/// them both (a listing entry also carries the version stages).
macro_rules! secret_fields {
    ($output:expr) => {{
        let output = $output;
        Secret {
            arn: output.arn().unwrap_or_default().to_string(),
            name: output.name().unwrap_or_default().to_string(),
            rotation_enabled: output.rotation_enabled(),
            // moto stores "" after an ARN-less RotateSecret
            // (docs/moto-notes.md, "Secrets Manager").
            rotation_lambda_arn: output
                .rotation_lambda_arn()
                .filter(|arn| !arn.is_empty())
                .map(str::to_string),
            rotation_rules: output.rotation_rules().map(|rules| RotationRules {
                automatically_after_days: rules.automatically_after_days(),
                schedule_expression: rules.schedule_expression().map(str::to_string),
                duration: rules.duration().map(str::to_string),
            }),
            last_rotated: output.last_rotated_date().and_then(to_chrono),
            last_changed: output.last_changed_date().and_then(to_chrono),
            next_rotation: output.next_rotation_date().and_then(to_chrono),
            deleted: output.deleted_date().and_then(to_chrono),
            kms_key_id: output.kms_key_id().map(str::to_string),
            owning_service: output.owning_service().map(str::to_string),
            versions: BTreeMap::new(),
            version_created: BTreeMap::new(),
            version_dates_unavailable: None,
            rds_primary_arn: rds_primary_arn(output.tags()),
        }
    }};
}

fn secret_from(output: &DescribeSecretOutput) -> Secret {
    let mut secret = secret_fields!(output);
    secret.versions = stages(output.version_ids_to_stages());
    secret
}

/// A ListSecrets entry as the `Secret` DescribeSecret would give: a scan
/// needs no DescribeSecret.
pub(super) fn secret_from_entry(entry: &SecretListEntry) -> Secret {
    let mut secret = secret_fields!(entry);
    secret.versions = stages(entry.secret_versions_to_stages());
    secret
}

fn stages(map: Option<&HashMap<String, Vec<String>>>) -> BTreeMap<String, Vec<String>> {
    map.map(|map| {
        map.iter()
            .map(|(version, stages)| (version.clone(), stages.clone()))
            .collect()
    })
    .unwrap_or_default()
}

/// GetSecretValue(AWSCURRENT) of one secret. Always name the stage: after
/// a moto rotation whose Lambda did nothing, GetSecretValue without
/// VersionStage fails (docs/moto-notes.md, "Secrets Manager").
pub(super) async fn current_value(client: &Client, secret_id: &str) -> SecretValue {
    let value = client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage("AWSCURRENT")
        .send()
        .await;
    // Take the value out of the SDK's output into wiping buffers first, so
    // it is wiped whatever happens next.
    match value {
        Ok(mut output) => {
            let string = output.secret_string.take().map(Zeroizing::new);
            let binary = output
                .secret_binary
                .take()
                .map(|blob| Zeroizing::new(blob.into_inner()));
            parsed(string, binary.is_some())
        }
        Err(err) => SecretValue {
            connection: Fact::Unavailable(
                CallFailure::from_sdk(GET_SECRET_VALUE, &err).unavailable(),
            ),
            password: None,
            master_arn: None,
            user_arn: None,
        },
    }
}

pub(super) fn parsed(string: Option<Zeroizing<String>>, binary: bool) -> SecretValue {
    let parsed = parse_secret_value(string, binary);
    SecretValue {
        connection: Fact::Present(parsed.connection),
        password: parsed.password,
        master_arn: parsed.master_arn,
        user_arn: parsed.user_arn,
    }
}

/// Most pages of ListSecretVersionIds read; a secret keeps at most about a
/// hundred versions, so this bound is only a guard against a looping token.
const VERSION_PAGES: usize = 20;

/// Version id to creation date, from ListSecretVersionIds. moto quirks
/// (docs/moto-notes.md, "Secrets Manager"): `ARN` holds the name (not read
/// here), `NextToken` is `""` on the last page, and a missing secret answers
/// HTTP 500 (the DescribeSecret beside it reports the missing secret
/// properly).
pub(super) async fn version_dates(
    client: &Client,
    secret_id: &str,
) -> Result<BTreeMap<String, DateTime<Utc>>, String> {
    let mut dates = BTreeMap::new();
    let mut token: Option<String> = None;
    for _ in 0..VERSION_PAGES {
        let output = client
            .list_secret_version_ids()
            .secret_id(secret_id)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|err| {
                CallFailure::from_sdk(LIST_SECRET_VERSION_IDS, &err)
                    .unavailable()
                    .to_string()
            })?;
        for entry in output.versions() {
            if let (Some(id), Some(created)) =
                (entry.version_id(), entry.created_date().and_then(to_chrono))
            {
                dates.insert(id.to_string(), created);
            }
        }
        match output.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(dates),
        }
    }
    Ok(dates)
}

/// The database of an RDS-managed secret, from its tags (RDS writes
/// `aws:rds:primaryDBInstanceArn` / `aws:rds:primaryDBClusterArn`; the
/// templates lower-case the keys, so compare without case).
pub(crate) fn rds_primary_arn(tags: &[Tag]) -> Option<String> {
    tags.iter()
        .find(|tag| {
            tag.key().is_some_and(|key| {
                key.eq_ignore_ascii_case("aws:rds:primaryDBInstanceArn")
                    || key.eq_ignore_ascii_case("aws:rds:primaryDBClusterArn")
            })
        })
        .and_then(|tag| tag.value())
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

pub(crate) fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}
