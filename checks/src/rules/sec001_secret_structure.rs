//! SEC001: the secret's JSON has what the engine's rotation template needs,
//! and agrees with the database. Only host, port, engine, dbname and
//! username are ever named with their values; other keys by name only.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{
    Connection, Database, DatabaseKind, ErrorKind, Fact, Facts, Secret, SecretFormat,
};
use crate::finding::{Finding, Severity, Status};

pub struct SecretStructure;

static META: CheckMeta = CheckMeta {
    id: "SEC001",
    name: "secret-structure",
    title: "Secret JSON has the keys and engine its rotation template needs",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
    ],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The AWSCURRENT value of the secret, without ever showing a password or any
field other than host, port, engine, dbname and username:
- AWSCURRENT has a value at all: a secret created without one (a
  `CreateSecret` with no `SecretString`, a template's secret whose value an
  application was meant to write) answers GetSecretValue with
  `ResourceNotFoundException`, and that is named as such;
- it is a JSON object (not plain text, not binary);
- it has the keys AWS's rotation templates require: `engine`, `host`,
  `username`, `password`; `dbname` for Oracle; `masterarn` for the
  alternating-users (multi-user) templates, which are recognised by a
  `masterarn` key or a function name containing `MultiUser`;
- `engine` is one the templates accept: `mysql`, `aurora-mysql`,
  `postgres`, `aurora-postgresql`, `mariadb`, `oracle`, `sqlserver`,
  `redshift`, `mongo`, `db2`;
- an ElastiCache user's secret (it has `user_arn`, or names an ElastiCache
  user) has what AWS's `SecretsManagerElasticacheUserRotation` template
  reads instead: `user_arn`, `username` and `password`, and no engine;
- it agrees with the database found from it: the same engine family
  (`mysql` for an `aurora-mysql` cluster is fine, `postgres` for a MySQL
  instance is not), the same port (the template's default when the key is
  absent: 27017 for `mongo`, 5439 for `redshift`), and a `host` equal to
  the database's endpoint (another AWS endpoint name, `*.rds`, `*.docdb` or
  `*.redshift.amazonaws.com`, fails; another name, such as a CNAME, is a
  warning: TLS host name verification may reject it).

## Why it breaks rotation
The templates parse the value with `json.loads` and raise `KeyError: '<key>
key is missing from secret JSON'`, or `Database engine must be set to
'<engine>' in order to use this rotation lambda`, in the first step that
reads it. A wrong port or host makes every login fail (`setSecret: Unable to
log into database …`), which looks like a network problem. Without any
AWSCURRENT value createSecret stops at once (`can't find the specified secret
value for staging label: AWSCURRENT`). A value without `host` usually means
rotation ran before whatever writes the host did: a
`SecretTargetAttachment` the `RotationSchedule` does not wait for (TPL003),
or an application that puts the host after creating the secret.

## How to fix it
Put a corrected value, which becomes AWSCURRENT (and counts as a rotation):
`aws secretsmanager put-secret-value --secret-id SECRET --secret-string
file://connection.json` with `engine`, `host`, `port`, `username`,
`password`, `dbname` (and `masterarn` for multi-user). Clear a stuck
AWSPENDING first (ROT002). A secret without a value needs that value before
rotation is turned on; for a missing `host`, make the rotation wait for what
writes it. `--fix` never writes secret values.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas
- https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/User-Secrets-Manager.html
"#,
};

/// An engine value the templates accept, its family, and the template's
/// default port.
const ENGINES: &[(&str, &str, u16)] = &[
    ("mysql", "mysql", 3306),
    ("aurora-mysql", "mysql", 3306),
    ("postgres", "postgres", 5432),
    ("aurora-postgresql", "postgres", 5432),
    ("mariadb", "mariadb", 3306),
    ("oracle", "oracle", 1521),
    ("sqlserver", "sqlserver", 1433),
    ("redshift", "redshift", 5439),
    ("mongo", "mongo", 27017),
    ("db2", "db2", 50000),
];

/// The template family of a secret's `engine` value the templates accept.
pub(super) fn secret_engine_family(engine: &str) -> Option<&'static str> {
    ENGINES
        .iter()
        .find(|(name, _, _)| *name == engine)
        .map(|(_, family, _)| *family)
}

/// The template family of an RDS engine name (`aurora-mysql`, `oracle-ee`,
/// `sqlserver-se`, `docdb`…).
pub(super) fn database_family(engine: &str) -> Option<&'static str> {
    let engine = engine.to_ascii_lowercase();
    let family = match engine.as_str() {
        "mysql" | "aurora" | "aurora-mysql" => "mysql",
        "postgres" | "aurora-postgresql" => "postgres",
        "mariadb" => "mariadb",
        "docdb" => "mongo",
        "redshift" => "redshift",
        e if e.starts_with("oracle") || e.starts_with("custom-oracle") => "oracle",
        e if e.starts_with("sqlserver") || e.starts_with("custom-sqlserver") => "sqlserver",
        e if e.starts_with("db2") => "db2",
        _ => return None,
    };
    Some(family)
}

/// The keys AWS's ElastiCache user template reads: `user_arn` names the
/// user it changes with ModifyUser, `username` must equal its `USER_NAME`
/// variable (aws-samples/aws-secrets-manager-rotation-lambdas,
/// SecretsManagerElasticacheUserRotation/lambda_function.py).
const ELASTICACHE_KEYS: [&str; 3] = ["user_arn", "username", "password"];

/// An ElastiCache user's secret: it has `user_arn`, or its database is an
/// ElastiCache user.
fn is_elasticache_user(facts: &Facts, connection: &Connection) -> bool {
    has(connection, "user_arn")
        || facts
            .database
            .present()
            .is_some_and(|db| db.kind == DatabaseKind::ElasticacheUser)
}

fn has(connection: &Connection, key: &str) -> bool {
    connection.keys.iter().any(|k| k == key)
}

fn looks_multi_user(facts: &Facts, connection: &Connection) -> bool {
    has(connection, "masterarn")
        || facts
            .lambda
            .present()
            .is_some_and(|l| l.name.to_ascii_lowercase().contains("multiuser"))
}

/// Problems (fail) and doubts (warn) of the value against the database.
fn compare_with_database(
    connection: &Connection,
    family: Option<&str>,
    default_port: Option<u16>,
    db: &Database,
    problems: &mut Vec<String>,
    doubts: &mut Vec<String>,
) {
    // Through an RDS Proxy the host and port are the proxy's.
    let name = match db.kind {
        DatabaseKind::Proxy => format!("RDS Proxy {}", db.identifier),
        DatabaseKind::Instance
        | DatabaseKind::Cluster
        | DatabaseKind::RedshiftCluster
        | DatabaseKind::ElasticacheUser => format!("database {}", db.identifier),
    };
    if let (Some(family), Some(db_engine)) = (family, db.engine.as_deref()) {
        match database_family(db_engine) {
            Some(db_family) if db_family != family => problems.push(format!(
                "engine is {} but {name} runs {db_engine}",
                connection.engine.as_deref().unwrap_or_default()
            )),
            _ => {}
        }
    }
    if let Some(db_port) = db.port {
        match (connection.port, has(connection, "port"), default_port) {
            (Some(port), _, _) if port != db_port => problems.push(format!(
                "port is {port} but {name} listens on {db_port}"
            )),
            (None, true, _) => problems.push("port is not a number".to_string()),
            (None, false, Some(default)) if default != db_port => problems.push(format!(
                "the secret has no port, so the template uses {default}, but {name} listens on {db_port}"
            )),
            _ => {}
        }
    }
    if let (Some(host), Some(endpoint)) = (connection.host.as_deref(), db.endpoint.as_deref()) {
        let host = host.trim().trim_end_matches('.');
        if !host.eq_ignore_ascii_case(endpoint) {
            let message = format!("host is {host}, not {name}'s endpoint {endpoint}");
            let lower = host.to_ascii_lowercase();
            // An endpoint name of AWS's own is another database, not an alias.
            if [
                ".rds.amazonaws.com",
                ".docdb.amazonaws.com",
                ".redshift.amazonaws.com",
            ]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
            {
                problems.push(message);
            } else {
                doubts.push(format!(
                    "{message} (a CNAME works only if it resolves there, and TLS host name verification may reject it)"
                ));
            }
        }
    }
}

/// The finding for a secret whose AWSCURRENT has no value: GetSecretValue
/// found none (ResourceNotFoundException), or no version carries the label.
fn no_current_value(facts: &Facts, secret: &Secret) -> Option<Finding> {
    let Fact::Unavailable(failure) = &facts.connection else {
        return None;
    };
    let labelled = secret
        .versions
        .values()
        .any(|stages| stages.iter().any(|s| s == "AWSCURRENT"));
    if failure.kind != ErrorKind::NotFound && labelled {
        return None;
    }
    if failure.kind != ErrorKind::NotFound && secret.versions.is_empty() {
        return None;
    }
    let resource = secret.arn.as_str();
    let mut evidence = vec![format!("GetSecretValue(AWSCURRENT): {failure}")];
    evidence.extend(
        secret
            .versions
            .iter()
            .map(|(version, stages)| format!("version {version}: [{}]", stages.join(", "))),
    );
    if secret.versions.is_empty() {
        evidence.push("the secret has no versions".to_string());
    }
    Some(
        META.finding(
            Status::Fail,
            resource,
            "AWSCURRENT has no secret value: the secret was created without one, so rotation cannot start (createSecret fails with \"can't find the specified secret value for staging label: AWSCURRENT\")",
        )
        .with_evidence(evidence)
        .with_remediation(format!(
            "Put the connection JSON first: aws secretsmanager put-secret-value --secret-id {resource} \
             --secret-string file://connection.json (engine, host, port, username, password, dbname; \
             masterarn for multi-user). If a rotation already left AWSPENDING, clear it (ROT002), then rotate."
        )),
    )
}

impl Check for SecretStructure {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let resource = secret.arn.as_str();
        if let Some(finding) = no_current_value(facts, secret) {
            return vec![finding];
        }
        let connection = match super::support::readable(
            &META,
            &facts.connection,
            resource,
            "the secret's value",
        ) {
            Ok(connection) => connection,
            Err(finding) => return vec![*finding],
        };
        let put_hint = format!(
            "Put a corrected JSON value: aws secretsmanager put-secret-value --secret-id {resource} \
             --secret-string file://connection.json (engine, host, port, username, password, dbname; \
             masterarn for multi-user). It becomes AWSCURRENT; clear a stuck AWSPENDING first (ROT002)."
        );
        match connection.format {
            SecretFormat::Json => {}
            SecretFormat::NotJson => {
                return vec![META
                    .finding(
                        Status::Fail,
                        resource,
                        "the secret's value is not a JSON object: the rotation templates fail in json.loads",
                    )
                    .with_remediation(put_hint)]
            }
            SecretFormat::Binary => {
                return vec![META
                    .finding(
                        Status::Fail,
                        resource,
                        "the secret holds SecretBinary only: the rotation templates read SecretString as JSON",
                    )
                    .with_remediation(put_hint)]
            }
        }

        let engine = connection.engine.as_deref().map(str::trim);
        let known = engine.and_then(|e| ENGINES.iter().find(|(name, _, _)| *name == e));
        let family = known.map(|(_, family, _)| *family);
        let default_port = known.map(|(_, _, port)| *port);
        let multi_user = looks_multi_user(facts, connection);
        let elasticache = is_elasticache_user(facts, connection);

        let mut required = if elasticache {
            ELASTICACHE_KEYS.to_vec()
        } else {
            vec!["engine", "host", "username", "password"]
        };
        if family == Some("oracle") {
            required.push("dbname");
        }
        if multi_user {
            required.push("masterarn");
        }
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|k| !has(connection, k))
            .collect();

        let mut problems = Vec::new();
        let mut doubts = Vec::new();
        let missing_host = missing.contains(&"host");
        if missing_host {
            problems.push(
                "the value has no `host`: it was put or rotated before the SecretTargetAttachment or the application wrote the database's host".to_string(),
            );
        }
        let missing: Vec<&str> = missing.into_iter().filter(|k| *k != "host").collect();
        if !missing.is_empty() {
            problems.push(format!(
                "missing key{} {} ({}{})",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if elasticache {
                    "the ElastiCache user template raises KeyError: 'secret … has no user_arn defined', or on a missing username"
                } else {
                    "the template raises KeyError: '<key> key is missing from secret JSON'"
                },
                if multi_user && missing.contains(&"masterarn") {
                    "; masterarn is required by the multi-user templates"
                } else {
                    ""
                }
            ));
        }
        match (engine, known) {
            // The ElastiCache user template reads no engine.
            _ if elasticache => {}
            (Some(e), None) => problems.push(format!(
                "engine {e} is not one the rotation templates accept ({})",
                ENGINES
                    .iter()
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (None, _) if has(connection, "engine") => {
                problems.push("engine is not a string".to_string())
            }
            _ => {}
        }
        // Without a database nothing is compared; the evidence says why.
        // An ElastiCache user's secret names no host or port to compare.
        if let Some(db) = facts.connect_target().filter(|_| !elasticache) {
            compare_with_database(
                connection,
                family,
                default_port,
                &db,
                &mut problems,
                &mut doubts,
            );
        }

        let mut evidence = vec![format!("keys present: {}", connection.keys.join(", "))];
        for (key, value) in [
            ("engine", connection.engine.clone()),
            ("host", connection.host.clone()),
            ("port", connection.port.map(|p| p.to_string())),
            ("dbname", connection.dbname.clone()),
            ("username", connection.username.clone()),
        ] {
            if let Some(value) = value {
                evidence.push(format!("{key}: {value}"));
            }
        }
        if let Some(db) = facts.database.present() {
            evidence.push(format!(
                "database {}: engine {}, endpoint {}, port {}",
                db.identifier,
                db.engine.as_deref().unwrap_or("?"),
                db.endpoint.as_deref().unwrap_or("?"),
                db.port.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            ));
        } else if let Some(why) = facts.database.missing_reason() {
            evidence.push(format!("database not compared: {why}"));
        }
        if multi_user {
            evidence.push("multi-user (alternating users) rotation assumed".to_string());
        }

        let finding = if !problems.is_empty() {
            let mut all = problems;
            all.extend(doubts);
            let remediation = if missing_host {
                format!(
                    "Put the value again with the database's host (its endpoint): {put_hint} In CloudFormation, \
                     make the RotationSchedule wait for the SecretTargetAttachment (DependsOn, or SecretId: \
                     !Ref the attachment; see TPL003)."
                )
            } else {
                put_hint
            };
            META.finding(
                Status::Fail,
                resource,
                format!(
                    "the secret's JSON does not fit its rotation: {}",
                    all.join("; ")
                ),
            )
            .with_remediation(remediation)
        } else if !doubts.is_empty() {
            META.finding(Status::Warn, resource, doubts.join("; "))
                .with_remediation(put_hint)
        } else {
            META.finding(
                Status::Pass,
                resource,
                format!(
                    "the secret's JSON has the keys the {} template needs{}",
                    if elasticache {
                        "ElastiCache user"
                    } else {
                        engine.unwrap_or_default()
                    },
                    if facts.database.present().is_some() {
                        " and matches the database's engine, host and port"
                    } else {
                        ""
                    }
                ),
            )
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.connection)
                .keys
                .retain(|k| k != "host");
            crate::fixtures::get(&mut facts.connection).host = None;
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::get;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&SecretStructure, facts).remove(0)
    }

    #[test]
    fn behind_a_proxy_host_and_port_are_the_proxys() {
        let mut facts = crate::fixtures::lab_behind_proxy();
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        get(&mut facts.connection).port = Some(3307);
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("port is 3307 but RDS Proxy lab-proxy listens on 3306"),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_missing_host_fails_saying_what_wrote_no_host() {
        let f = first(&SecretStructure.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains(
                "the value has no `host`: it was put or rotated before the SecretTargetAttachment"
            ),
            "{}",
            f.message
        );
        assert!(!f.message.contains("missing key"), "{}", f.message);
        assert!(f.remediation.contains("TPL003"), "{:?}", f.remediation);
        // Other missing keys are still named as keys.
        let mut facts = SecretStructure.fixtures().0;
        get(&mut facts.connection).keys.retain(|k| k != "username");
        let f = first(&facts);
        assert!(f.message.contains("missing key username"), "{}", f.message);
    }

    #[test]
    fn an_awscurrent_without_a_value_is_named_as_such() {
        let mut facts = SecretStructure.fixtures().1;
        facts.connection = Fact::Unavailable(crate::facts::Unavailable {
            call: "secretsmanager:GetSecretValue".into(),
            kind: ErrorKind::NotFound,
            message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT".into(),
        });
        get(&mut facts.secret).versions =
            [("v1".to_string(), vec!["AWSPENDING".to_string()])].into();
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .starts_with("AWSCURRENT has no secret value: the secret was created without one"),
            "{}",
            f.message
        );
        assert!(f.evidence.iter().any(|e| e == "version v1: [AWSPENDING]"));
        assert!(f.remediation.starts_with("Put the connection JSON first"));
        // A value that could not be read for another reason stays unknown.
        facts.connection = Fact::Unavailable(crate::facts::Unavailable {
            call: "secretsmanager:GetSecretValue".into(),
            kind: ErrorKind::AccessDenied,
            message: "no".into(),
        });
        get(&mut facts.secret).versions =
            [("v1".to_string(), vec!["AWSCURRENT".to_string()])].into();
        assert_eq!(first(&facts).status, Status::Unknown);
    }

    #[test]
    fn the_lab_secret_passes() {
        let f = first(&SecretStructure.fixtures().1);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
    }

    #[test]
    fn engine_mismatch_and_unknown_engines_fail() {
        let mut facts = SecretStructure.fixtures().1;
        get(&mut facts.connection).engine = Some("postgres".into());
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("engine is postgres but database lab-db runs mysql"),
            "{}",
            f.message
        );
        get(&mut facts.connection).engine = Some("MySQL".into());
        assert!(first(&facts)
            .message
            .contains("not one the rotation templates accept"));
        // aurora-mysql in the secret for a MySQL-family database is fine.
        get(&mut facts.connection).engine = Some("aurora-mysql".into());
        get(&mut facts.database).engine = Some("aurora-mysql".into());
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn port_and_host_must_match_the_database() {
        let mut facts = SecretStructure.fixtures().1;
        get(&mut facts.connection).port = Some(3307);
        assert!(first(&facts).message.contains("port is 3307"));
        let mut facts = SecretStructure.fixtures().1;
        let connection = get(&mut facts.connection);
        connection.port = None;
        connection.keys.retain(|k| k != "port");
        get(&mut facts.database).port = Some(3307);
        assert!(first(&facts).message.contains("template uses 3306"));
        let mut facts = SecretStructure.fixtures().1;
        get(&mut facts.connection).host = Some("LAB-DB.abc.us-east-1.rds.amazonaws.com".into());
        assert_eq!(first(&facts).status, Status::Pass);
        get(&mut facts.connection).host = Some("db.internal.example.com".into());
        assert_eq!(first(&facts).status, Status::Warn);
        get(&mut facts.connection).host = Some("other.abc.us-east-1.rds.amazonaws.com".into());
        assert_eq!(first(&facts).status, Status::Fail);
    }

    #[test]
    fn oracle_needs_dbname_and_multi_user_needs_masterarn() {
        let mut facts = SecretStructure.fixtures().1;
        let connection = get(&mut facts.connection);
        connection.engine = Some("oracle".into());
        connection.keys.retain(|k| k != "dbname");
        facts.database = Fact::NotApplicable("none".into());
        assert!(first(&facts).message.contains("missing key dbname"));
        let mut facts = SecretStructure.fixtures().1;
        get(&mut facts.lambda).name = "SecretsManagerRDSMySQLRotationMultiUser".into();
        let f = first(&facts);
        assert!(f.message.contains("masterarn"), "{}", f.message);
    }

    #[test]
    fn not_json_and_binary_fail_and_managed_is_skipped() {
        let mut facts = SecretStructure.fixtures().1;
        get(&mut facts.connection).format = SecretFormat::NotJson;
        assert_eq!(first(&facts).status, Status::Fail);
        get(&mut facts.connection).format = SecretFormat::Binary;
        assert!(first(&facts).message.contains("SecretBinary"));
        get(&mut facts.secret).owning_service = Some("rds".into());
        assert_eq!(first(&facts).status, Status::Skipped);
    }

    #[test]
    fn documentdb_and_redshift_secrets_match_their_databases() {
        let mut facts = crate::fixtures::redshift();
        assert_eq!(
            first(&facts).status,
            Status::Pass,
            "{}",
            first(&facts).message
        );
        // A DocumentDB cluster: engine mongo, port 27017.
        let host = "lab-docdb.cluster-abc.us-east-1.docdb.amazonaws.com";
        let connection = get(&mut facts.connection);
        connection.engine = Some("mongo".into());
        connection.host = Some(host.into());
        connection.port = Some(27017);
        let db = get(&mut facts.database);
        db.kind = DatabaseKind::Cluster;
        db.engine = Some("docdb".into());
        db.endpoint = Some(host.into());
        db.port = Some(27017);
        assert_eq!(
            first(&facts).status,
            Status::Pass,
            "{}",
            first(&facts).message
        );
        // mysql for a docdb cluster, and another cluster's endpoint, fail.
        get(&mut facts.connection).engine = Some("mysql".into());
        get(&mut facts.connection).host =
            Some("other.cluster-abc.us-east-1.docdb.amazonaws.com".into());
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("runs docdb"), "{}", f.message);
        assert!(f.message.contains("not database"), "{}", f.message);
    }

    #[test]
    fn an_elasticache_user_secret_needs_user_arn_username_and_password() {
        let mut facts = crate::fixtures::elasticache_user();
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(
            f.message.contains("ElastiCache user template"),
            "{}",
            f.message
        );
        get(&mut facts.connection).keys.retain(|k| k != "user_arn");
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("missing key user_arn"), "{}", f.message);
        assert!(!f.message.contains("host"), "{}", f.message);
    }
}
