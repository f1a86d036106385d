//! Round 1: the secret's metadata and the connection fields of its value.
//!
//! The value is the only secret this tool ever touches. It is held in
//! `Zeroizing` buffers, parsed into `Connection` (which has no place for a
//! password), and the password itself is kept only so the log reader can
//! scrub it from log lines, then wiped.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use rotation_doctor_checks::{Connection, ErrorKind, Fact, RotationRules, Secret, SecretFormat};
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::redacted::Redacted;

use super::errors::{CallFailure, Transport};
use crate::error::UserError;

pub(crate) const DESCRIBE_SECRET: &str = "secretsmanager:DescribeSecret";
pub(crate) const GET_SECRET_VALUE: &str = "secretsmanager:GetSecretValue";
pub(crate) const LIST_SECRET_VERSION_IDS: &str = "secretsmanager:ListSecretVersionIds";

/// What round 1 yields.
pub(crate) struct SecretRound {
    pub secret: Fact<Secret>,
    pub connection: Fact<Connection>,
    /// The AWSCURRENT password, when the value had a non-empty one.
    pub password: Option<Redacted>,
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
    // Always name the stage: after a moto rotation whose Lambda did nothing,
    // GetSecretValue without VersionStage fails (moto-coverage.md §1 item 4).
    let value = client
        .get_secret_value()
        .secret_id(target.secret_id)
        .version_stage("AWSCURRENT")
        .send();
    let versions = version_dates(client, target.secret_id);
    let (describe, value, versions) = tokio::join!(describe, value, versions);

    // Take the value out of the SDK's output into wiping buffers first, so it
    // is wiped whatever happens next.
    let (connection, password) = match value {
        Ok(mut output) => {
            let string = output.secret_string.take().map(Zeroizing::new);
            let binary = output
                .secret_binary
                .take()
                .map(|blob| Zeroizing::new(blob.into_inner()));
            let parsed = parse_secret_value(string, binary.is_some());
            (Fact::Present(parsed.connection), parsed.password)
        }
        Err(err) => (
            Fact::Unavailable(CallFailure::from_sdk(GET_SECRET_VALUE, &err).unavailable()),
            None,
        ),
    };

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
    Ok(SecretRound {
        secret,
        connection,
        password,
    })
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
            let cause = failure.root_cause.to_ascii_lowercase();
            if cause.contains("not enabled") || cause.contains("no credentials") {
                "no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, or pass --profile"
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

fn secret_from(output: &DescribeSecretOutput) -> Secret {
    Secret {
        arn: output.arn().unwrap_or_default().to_string(),
        name: output.name().unwrap_or_default().to_string(),
        rotation_enabled: output.rotation_enabled(),
        // moto stores "" after an ARN-less RotateSecret (moto-coverage.md §2).
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
        versions: output
            .version_ids_to_stages()
            .map(|map| {
                map.iter()
                    .map(|(version, stages)| (version.clone(), stages.clone()))
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default(),
        version_created: BTreeMap::new(),
        version_dates_unavailable: None,
        rds_primary_arn: rds_primary_arn(output),
    }
}

/// Most pages of ListSecretVersionIds read; a secret keeps at most about a
/// hundred versions, so this bound is only a guard against a looping token.
const VERSION_PAGES: usize = 20;

/// Version id to creation date, from ListSecretVersionIds. moto quirks
/// (moto-coverage.md §2): `ARN` holds the name (not read here), `NextToken`
/// is `""` on the last page, and a missing secret answers HTTP 500 (the
/// DescribeSecret beside it reports the missing secret properly).
async fn version_dates(
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
fn rds_primary_arn(output: &DescribeSecretOutput) -> Option<String> {
    output
        .tags()
        .iter()
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

/// The result of parsing a secret value: the connection fields, and the
/// password for log scrubbing. `Debug` never shows the password.
pub(crate) struct ParsedSecret {
    pub connection: Connection,
    pub password: Option<Redacted>,
}

impl fmt::Debug for ParsedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedSecret")
            .field("connection", &self.connection)
            .field("password", &self.password)
            .finish()
    }
}

/// Parses an AWSCURRENT value into `Connection`. Pure: the SecretString (if
/// any) and whether a SecretBinary was present. Only the named connection
/// fields are materialised; every other field is skipped by the parser, and
/// the password goes straight into a wiping buffer.
pub(crate) fn parse_secret_value(
    secret_string: Option<Zeroizing<String>>,
    has_binary: bool,
) -> ParsedSecret {
    let not_json = || ParsedSecret {
        connection: Connection {
            format: SecretFormat::NotJson,
            ..Connection::default()
        },
        password: None,
    };
    let Some(text) = secret_string else {
        let format = if has_binary {
            SecretFormat::Binary
        } else {
            SecretFormat::NotJson
        };
        return ParsedSecret {
            connection: Connection {
                format,
                ..Connection::default()
            },
            password: None,
        };
    };
    // A struct also deserializes from a JSON array; only an object counts.
    if !text.trim_start().starts_with('{') {
        return not_json();
    }
    let Ok(raw) = serde_json::from_str::<RawConnection>(&text) else {
        return not_json();
    };

    let mut keys = Vec::new();
    let present = [
        ("engine", raw.engine.is_some()),
        ("host", raw.host.is_some()),
        ("port", raw.port.is_some()),
        ("username", raw.username.is_some()),
        ("password", raw.password.is_some()),
        ("dbname", raw.dbname.is_some()),
        ("masterarn", raw.masterarn.is_some()),
        ("ssl", raw.ssl.is_some()),
    ];
    for (key, is_present) in present {
        if is_present {
            keys.push(key.to_string());
        }
    }

    let connection = Connection {
        format: SecretFormat::Json,
        engine: raw.engine.and_then(Scalar::into_string),
        host: raw.host.and_then(Scalar::into_string),
        port: raw.port.and_then(Scalar::into_port),
        dbname: raw.dbname.and_then(Scalar::into_string),
        username: raw.username.and_then(Scalar::into_string),
        db_instance_identifier: raw.db_instance_identifier.and_then(Scalar::into_string),
        db_cluster_identifier: raw.db_cluster_identifier.and_then(Scalar::into_string),
        keys,
    };
    let password = raw
        .password
        .and_then(|field| field.0)
        .map(Redacted::new)
        .filter(|password| !password.is_empty());
    ParsedSecret {
        connection,
        password,
    }
}

/// The fields we read from the value; unknown fields are skipped without
/// being stored. A key given as JSON `null` still counts as present (the
/// rotation templates test `key in secret_dict`).
#[derive(Deserialize)]
struct RawConnection {
    #[serde(default, deserialize_with = "some")]
    engine: Option<Scalar>,
    #[serde(default, deserialize_with = "some")]
    host: Option<Scalar>,
    #[serde(default, deserialize_with = "some")]
    port: Option<Scalar>,
    #[serde(default, deserialize_with = "some")]
    dbname: Option<Scalar>,
    #[serde(default, deserialize_with = "some")]
    username: Option<Scalar>,
    #[serde(default, rename = "dbInstanceIdentifier", deserialize_with = "some")]
    db_instance_identifier: Option<Scalar>,
    #[serde(default, rename = "dbClusterIdentifier", deserialize_with = "some")]
    db_cluster_identifier: Option<Scalar>,
    #[serde(default, deserialize_with = "some")]
    password: Option<PasswordField>,
    #[serde(default, deserialize_with = "some")]
    masterarn: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "some")]
    ssl: Option<IgnoredAny>,
}

/// `Some(..)` whenever the key is present, even for `null`.
fn some<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A connection field's value: kept when it is a string or number, anything
/// else (objects, arrays, null) is recorded as present but unusable.
enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Unusable,
}

impl Scalar {
    fn into_string(self) -> Option<String> {
        match self {
            Scalar::Text(text) => Some(text),
            Scalar::Number(number) => Some(number.to_string()),
            Scalar::Unusable => None,
        }
    }

    /// A port as a number (`3306`, `3306.0`) or a numeric string (`"3306"`).
    fn into_port(self) -> Option<u16> {
        match self {
            Scalar::Text(text) => text.trim().parse().ok(),
            Scalar::Number(number) => {
                number
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .or_else(|| {
                        number
                            .as_f64()
                            .filter(|f| f.fract() == 0.0 && (0.0..=65535.0).contains(f))
                            .map(|f| f as u16)
                    })
            }
            Scalar::Unusable => None,
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(Scalar::Text(text)),
            serde_json::Value::Number(number) => Ok(Scalar::Number(number)),
            _ => Ok(Scalar::Unusable),
        }
    }
}

/// The password: a string straight into a wiping buffer; any other JSON
/// value counts as present but is skipped unread.
struct PasswordField(Option<Zeroizing<String>>);

impl<'de> Deserialize<'de> for PasswordField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PasswordVisitor)
    }
}

struct PasswordVisitor;

impl<'de> Visitor<'de> for PasswordVisitor {
    type Value = PasswordField;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a password")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<PasswordField, E> {
        Ok(PasswordField(Some(Zeroizing::new(value.to_string()))))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<PasswordField, E> {
        Ok(PasswordField(Some(Zeroizing::new(value))))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<PasswordField, E> {
        Ok(PasswordField(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<PasswordField, E> {
        Ok(PasswordField(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<PasswordField, E> {
        Ok(PasswordField(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<PasswordField, E> {
        Ok(PasswordField(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<PasswordField, E> {
        Ok(PasswordField(None))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<PasswordField, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(PasswordField(None))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<PasswordField, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(PasswordField(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-Pa55w0rd-7f3e91";

    fn parse(text: &str) -> ParsedSecret {
        parse_secret_value(Some(Zeroizing::new(text.to_string())), false)
    }

    #[test]
    fn reads_the_connection_fields_of_a_json_object() {
        let parsed = parse(&format!(
            r#"{{"engine":"mysql","host":"db.example.com","port":3306,"username":"admin",
                "password":"{CANARY}","dbname":"app","dbInstanceIdentifier":"db-1",
                "masterarn":"arn:aws:secretsmanager:eu-west-1:1:secret:m","apikey":"other-secret"}}"#
        ));
        let c = &parsed.connection;
        assert_eq!(c.format, SecretFormat::Json);
        assert_eq!(c.engine.as_deref(), Some("mysql"));
        assert_eq!(c.host.as_deref(), Some("db.example.com"));
        assert_eq!(c.port, Some(3306));
        assert_eq!(c.username.as_deref(), Some("admin"));
        assert_eq!(c.dbname.as_deref(), Some("app"));
        assert_eq!(c.db_instance_identifier.as_deref(), Some("db-1"));
        assert_eq!(c.db_cluster_identifier, None);
        assert_eq!(
            c.keys,
            [
                "engine",
                "host",
                "port",
                "username",
                "password",
                "dbname",
                "masterarn"
            ]
        );
        assert_eq!(parsed.password.as_ref().map(Redacted::expose), Some(CANARY));
    }

    #[test]
    fn the_password_never_reaches_debug_or_json() {
        let parsed = parse(&format!(
            r#"{{"engine":"postgres","host":"h","port":"5432","username":"u","password":"{CANARY}",
                "extra":"{CANARY}","nested":{{"p":"{CANARY}"}}}}"#
        ));
        let debug = format!("{:?} {:?}", parsed.connection, parsed);
        let json = serde_json::to_string(&parsed.connection).expect("serializes");
        assert!(!debug.contains(CANARY), "{debug}");
        assert!(!json.contains(CANARY), "{json}");
        assert!(
            !json.contains("extra") && !json.contains("nested"),
            "{json}"
        );
    }

    #[test]
    fn ports_as_strings_floats_and_garbage() {
        assert_eq!(parse(r#"{"port":"5432"}"#).connection.port, Some(5432));
        assert_eq!(parse(r#"{"port":3306.0}"#).connection.port, Some(3306));
        assert_eq!(parse(r#"{"port":"abc"}"#).connection.port, None);
        assert_eq!(parse(r#"{"port":70000}"#).connection.port, None);
        assert_eq!(parse(r#"{"port":null}"#).connection.keys, ["port"]);
    }

    #[test]
    fn empty_or_odd_passwords_are_not_kept() {
        assert!(parse(r#"{"password":""}"#).password.is_none());
        let parsed = parse(r#"{"password":12345,"ssl":true}"#);
        assert!(parsed.password.is_none());
        assert_eq!(parsed.connection.keys, ["password", "ssl"]);
    }

    #[test]
    fn non_objects_and_binary() {
        for text in ["not json", "[1,2]", "\"a string\"", "", "{broken"] {
            let parsed = parse(text);
            assert_eq!(parsed.connection.format, SecretFormat::NotJson, "{text}");
            assert!(parsed.password.is_none());
        }
        let binary = parse_secret_value(None, true);
        assert_eq!(binary.connection.format, SecretFormat::Binary);
        assert_eq!(binary.connection.keys, Vec::<String>::new());
    }
}
