//! The secret value's parser: an AWSCURRENT SecretString into the connection
//! fields a diagnosis may know, and the password (only so the log reader can
//! scrub it from log lines) in a type that never prints it and wipes it on
//! drop. Pure, so the fuzz target and the unit tests call it directly.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::facts::{Connection, SecretFormat};

/// A secret string that cannot be printed by accident: `Debug` and
/// `Display` show a mask, and the memory is wiped when it is dropped.
pub struct Redacted(Zeroizing<String>);

impl Redacted {
    pub fn new(value: Zeroizing<String>) -> Redacted {
        Redacted(value)
    }

    /// The value itself, for the one use that needs it (masking it in log
    /// lines). Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redacted(********)")
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// The result of parsing a secret value: the connection fields, and the
/// password for log scrubbing. `Debug` never shows the password.
pub struct ParsedSecret {
    pub connection: Connection,
    pub password: Option<Redacted>,
    /// `masterarn` (multi-user rotation): a field of the value like any
    /// other, so it is held only to judge the master secret, never stored.
    pub master_arn: Option<Redacted>,
    /// `user_arn` (ElastiCache user rotation): the user whose password the
    /// function changes; held only to look the user up, never stored.
    pub user_arn: Option<Redacted>,
}

impl fmt::Debug for ParsedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedSecret")
            .field("connection", &self.connection)
            .field("password", &self.password)
            .field("master_arn", &self.master_arn)
            .field("user_arn", &self.user_arn)
            .finish()
    }
}

/// Parses an AWSCURRENT value into `Connection`. Pure: the SecretString (if
/// any) and whether a SecretBinary was present. Only the named connection
/// fields are materialised; every other field is skipped by the parser, and
/// the password goes straight into a wiping buffer.
pub fn parse_secret_value(
    secret_string: Option<Zeroizing<String>>,
    has_binary: bool,
) -> ParsedSecret {
    let not_json = || ParsedSecret {
        connection: Connection {
            format: SecretFormat::NotJson,
            ..Connection::default()
        },
        password: None,
        master_arn: None,
        user_arn: None,
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
            master_arn: None,
            user_arn: None,
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
        ("user_arn", raw.user_arn.is_some()),
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
    let master_arn = raw
        .masterarn
        .and_then(|field| field.0)
        .map(Redacted::new)
        .filter(|arn| !arn.is_empty());
    let user_arn = raw
        .user_arn
        .and_then(|field| field.0)
        .map(Redacted::new)
        .filter(|arn| !arn.is_empty());
    ParsedSecret {
        connection,
        password,
        master_arn,
        user_arn,
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
    masterarn: Option<PasswordField>,
    #[serde(default, deserialize_with = "some")]
    ssl: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "some")]
    user_arn: Option<PasswordField>,
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
    fn masterarn_is_held_masked_and_never_in_the_connection() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:MASTER-CANARY-AbCdEf";
        let parsed = parse(&format!(
            r#"{{"username":"u","password":"p","masterarn":"{arn}"}}"#
        ));
        assert_eq!(parsed.master_arn.as_ref().map(Redacted::expose), Some(arn));
        assert!(parsed.connection.keys.contains(&"masterarn".to_string()));
        let shown = format!(
            "{parsed:?} {}",
            serde_json::to_string(&parsed.connection).expect("serializes")
        );
        assert!(!shown.contains("MASTER-CANARY"), "{shown}");
        // A masterarn that is not a string is present but unusable.
        let odd = parse(r#"{"masterarn":{"a":1}}"#);
        assert!(odd.master_arn.is_none());
        assert_eq!(odd.connection.keys, ["masterarn"]);
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

    #[test]
    fn neither_debug_nor_display_shows_the_value() {
        let secret = Redacted::new(Zeroizing::new("CANARY-hunter2".to_string()));
        assert!(!format!("{secret:?} {secret} {secret:#?}").contains("hunter2"));
        assert_eq!(secret.expose(), "CANARY-hunter2");
    }
}
