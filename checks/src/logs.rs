//! Classifies a rotation Lambda's log lines by cause, from the exact strings
//! AWS's rotation functions, their drivers and the Lambda runtime emit
//! (docs/failure-catalog.md, sections A–G; every message, with its source,
//! in logs/messages.tsv). Matching happens here, on our side, because
//! CloudWatch Logs filter patterns are not reliable on every backend
//! (docs/moto-notes.md, "CloudWatch Logs").

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::facts::LogEvent;

/// One known failure signature.
struct Signature {
    id: &'static str,
    /// What went wrong, for a person.
    cause: &'static str,
    /// What to look at or do.
    hint: &'static str,
    /// Any of these substrings marks a line (case-sensitive, as logged).
    needles: &'static [&'static str],
    /// A pattern whose first group names the detail (a module, an action, a key).
    detail: Option<&'static str>,
}

/// The signatures in the order they are tried: the first whose needle is in
/// the line wins. A driver's or an API's text travels inside the function's
/// own message ("Encountered API error …: <botocore text>", "Connection
/// failure with secret ARN …: <driver text>"), so the more specific causes
/// come first: denied actions and KMS, then the master secret's database
/// link, then TLS and the drivers' errors, then the functions' own words.
const SIGNATURES: &[Signature] = &[
    Signature {
        id: "import-module",
        cause: "the function's code cannot be loaded (runtime and bundled dependencies do not match)",
        hint: "recreate the rotation function from the current template, or set its runtime back to the one its package was built for (LAM007 names the module and, from the function's tags, the app version to redeploy)",
        needles: &["Runtime.ImportModuleError", "Runtime.UserCodeSyntaxError"],
        detail: Some(r"No module named '([^']+)'"),
    },
    Signature {
        id: "function-not-ready",
        cause: "the function's VPC connection was not ready",
        hint: "check the function's State and StateReasonCode (subnet IPs, security groups, ENI permissions)",
        needles: &["ResourceNotReadyException", "ENINotReadyException"],
        detail: None,
    },
    Signature {
        id: "access-denied",
        cause: "the execution role is not allowed an action",
        hint: "grant the named action to the rotation Lambda's execution role, on the secret",
        needles: &["is not authorized to perform"],
        detail: Some(r"is not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9]+)"),
    },
    Signature {
        id: "kms-denied",
        cause: "the role may not use the secret's KMS key",
        hint: "allow kms:Decrypt and kms:GenerateDataKey on the secret's customer managed key to the role, in the key policy or the role policy",
        needles: &["Access to KMS is not allowed"],
        detail: None,
    },
    Signature {
        id: "kms-decrypt",
        cause: "Secrets Manager could not decrypt or encrypt the secret with its KMS key",
        hint: "the key is disabled, pending deletion or gone (check KMS001): enable it or cancel its deletion; a deleted key's secret values cannot be recovered",
        needles: &[
            "(DecryptionFailure)",
            "(EncryptionFailure)",
            "can't decrypt the protected secret text",
            "can't encrypt the protected secret text",
            "KMSInvalidStateException",
        ],
        detail: Some(r"when calling the (\w+) operation"),
    },
    Signature {
        id: "master-link-invalid",
        cause: "the master secret's database link names no database the RDS or Redshift API knows",
        hint: "the master (Redshift: admin) secret's tag aws:rds:primaryDBInstanceArn, aws:rds:primaryDBClusterArn, aws:redshift:primaryclusterarn or aws:redshift-serverless:namespacearn names a database that is gone, in another Region, or malformed: point masterarn at the current database's secret",
        needles: &[
            "is not a valid DB Instance ARN",
            "is not a valid DB Cluster ARN",
            "but Redshift can't find",
            "but the ARN in the tag exceeds the maximum length",
            "(DBInstanceNotFound)",
            "(DBClusterNotFoundFault)",
            "(ClusterNotFound)",
        ],
        detail: Some(r"(No Instances found|No Clusters found|exceeds the maximum length|can't find \w+)"),
    },
    Signature {
        id: "master-lookup-api",
        cause: "the function could not call the RDS or Redshift API to find the master secret's database",
        hint: "give the role rds:DescribeDBInstances and rds:DescribeDBClusters (Redshift: redshift:DescribeClusters, redshift-serverless:ListNamespaces and ListWorkgroups) and the subnets a path to that API (a NAT route or an interface endpoint)",
        needles: &["Encountered API error while fetching connection parameters"],
        detail: Some(r"fetching connection parameters from (\w+)"),
    },
    Signature {
        id: "secretsmanager-unreachable",
        cause: "the function could not reach the Secrets Manager endpoint",
        hint: "give the Lambda's subnets a NAT gateway route or an interface endpoint for Secrets Manager with private DNS (check NET003)",
        needles: &[
            "Connect timeout on endpoint URL",
            "Could not connect to the endpoint URL",
            "Read timeout on endpoint URL",
        ],
        detail: Some(r#"endpoint URL: "([^"]+)""#),
    },
    Signature {
        id: "tls",
        cause: "the TLS handshake with the database failed",
        hint: "use the RDS endpoint host name, set \"ssl\" in the secret, and use a current rotation function",
        needles: &[
            "Unable to establish SSL/TLS handshake",
            "Hostname verification failed when estlablishing SSL/TLS",
            "requires TLS connections",
            "no pg_hba.conf entry for host",
            "Connections using insecure transport are prohibited",
            "CERTIFICATE_VERIFY_FAILED",
        ],
        detail: None,
    },
    Signature {
        id: "auth-plugin",
        cause: "the database's authentication method needs a library the function lacks",
        hint: "MySQL caching_sha2_password over plaintext needs the cryptography package: set \"ssl\": true in the secret; PostgreSQL scram-sha-256 needs libpq 10 or later: recreate the function from the current template",
        needles: &[
            "'cryptography' package is required",
            "SCRAM authentication requires libpq version 10",
        ],
        detail: None,
    },
    Signature {
        id: "db-auth-failed",
        cause: "the database rejected the user name or password",
        hint: "the password was changed outside rotation or the database was restored: put the database's current password in the secret (multi user: in the master secret), then rotate",
        needles: &[
            "password authentication failed for user",
            "PAM authentication failed for user",
            "(using password:",
            "Login failed for user",
            "ORA-01017",
            "ORA-28000",
            "SQL30082N",
            "'codeName': 'AuthenticationFailed'",
            "Reason: Unauthorized",
        ],
        detail: None,
    },
    Signature {
        id: "db-permission",
        cause: "the database user lacks a privilege the rotation needs",
        hint: "grant the user that changes the password (single user: the secret's own user; multi user: the master user) the right to alter users, on the database",
        needles: &[
            "Access denied; you need",
            "(1044, ",
            "permission denied to",
            "must be superuser to",
            "because it does not exist or you do not have permission",
            "ORA-01031",
            "'codeName': 'Unauthorized'",
            "SQL0551N",
        ],
        detail: None,
    },
    Signature {
        id: "db-unreachable",
        cause: "the database did not answer: the driver could not connect",
        hint: "let the function's security group reach the database on its port (check NET002 and NET001) and check host and port in the secret",
        needles: &[
            "Can't connect to MySQL server on",
            "could not connect to server",
            "connection to server at",
            "timeout expired",
            "could not translate host name",
            "Can't create a connection to host",
            "Adaptive Server is unavailable or does not exist",
            "Adaptive Server connection timed out",
            "DPY-6005",
            "ORA-12170",
            "ORA-12541",
            "SQL30081N",
            "ServerSelectionTimeoutError",
            "Failed to establish a new connection",
        ],
        detail: None,
    },
    Signature {
        id: "db-login-failed",
        cause: "the function could not log into the database",
        hint: "a long task duration means the database is unreachable (check NET002: security groups, subnets); a short one means the credentials in the secret are wrong",
        needles: &[
            "Unable to log into database with previous, current, or pending secret",
            "Unable to log into database using current credentials",
            "Unable to log into database using credentials in master secret",
            "Unable to log into database using credentials in admin secret",
            "Unable to log into rdsadmin database using credentials in master secret",
            "Unable to log into database with pending secret",
            "Connection failure",
            "Failed to set new authorization with secret ARN",
            "Adaptive Server connection failed",
        ],
        detail: Some(r"(createSecret|setSecret|testSecret): (?:Unable to log into|Connection failure|Failed to set new authorization)"),
    },
    Signature {
        id: "db-set-password-failed",
        cause: "the database refused to change the password or to create the user",
        hint: "the user that changes it (multi user: the master user) needs the right to alter users, and the new password must meet the database's password policy; the database's own log says which",
        needles: &[
            "Error encountered when attempting to set password in database for user",
            "Failed to update password for secret ARN",
            "Unable to create user",
        ],
        detail: None,
    },
    Signature {
        id: "db-user-missing",
        cause: "the user named in the secret does not exist in the database",
        hint: "create the user on the database, or correct username in the secret (multi user: the function creates only the _clone user)",
        needles: &["does not exist in database", "Operation ALTER USER failed for"],
        detail: None,
    },
    Signature {
        id: "keytab-failed",
        cause: "a Kerberos keytab could not be created or validated",
        hint: "the principals listed in the keytab secret must be the user's service principal names; the text after the message names the keytab and the tool's error",
        needles: &[
            "Failed to create keytab with new password",
            "Failed to set the user's keytab",
            "keytabs failed validation",
            "keytab(s):",
            "Failed to create or validate new keytab",
            "Failed to get principal slots",
            "Failed to split keytab",
            "Failed to validate base64 encoded keytab",
            "Keytab failed to create or validate",
            "Keytab validation failed",
            "Principals in secret do not match principals in keytab",
            "Subprocess command failed",
            "Failed to load secret from",
        ],
        detail: None,
    },
    Signature {
        id: "directory-login-failed",
        cause: "the function could not sign into the directory (Kerberos kinit) with the secret's credentials",
        hint: "check username and password in the secret against the directory, and that the function reaches the domain controllers (DNS, and Kerberos on port 88)",
        needles: &["kinit failed", "execute_kinit_command: Unexpected value for current_dict"],
        detail: None,
    },
    Signature {
        id: "directory-reset-failed",
        cause: "AWS Directory Service refused to reset the user's password",
        hint: "allow ds:ResetUserPassword on the directory to the role, and check that the user exists in the directory and that the password meets its policy",
        needles: &["password in Directory Services"],
        detail: None,
    },
    Signature {
        id: "clone-username",
        cause: "the username cannot be cloned (too long with _clone appended, or empty without it)",
        hint: "shorten the username, or raise USERNAME_CHARACTER_LIMIT where the function reads it",
        needles: &[
            "Unable to clone user",
            "username must not be empty after _clone suffix is removed",
        ],
        detail: None,
    },
    Signature {
        id: "clone-permissions",
        cause: "the user holds a database permission the function cannot copy to the _clone user",
        hint: "the SQL Server multi-user function copies only the permission classes and types it knows: grant the unusual permission through a role instead, then rotate",
        needles: &[
            "Invalid database permission class",
            "Invalid database principal permission type",
        ],
        detail: Some(r"Invalid database (?:principal )?permission (?:class|type) (\S+)"),
    },
    Signature {
        id: "host-not-master",
        cause: "the secret's host is neither the master's host nor a replica of it (multi-user)",
        hint: "make host in the secret and the masterarn secret name the same database",
        needles: &["is not the same host as"],
        detail: None,
    },
    Signature {
        id: "user-or-host-drift",
        cause: "the username or host changed while a rotation was pending",
        hint: "clear the stale AWSPENDING version and rotate again",
        needles: &[
            "Attempting to modify user",
            "in current dict does not match username",
            "does not match pending directory name list",
            "Current and pending secrets do not have the same token types",
            "Current and pending tokens failed user equality test",
            "Rotation is attempting to use a new DB instance",
        ],
        detail: None,
    },
    Signature {
        id: "stage-mismatch",
        cause: "the rotation token does not match the secret's AWSPENDING version",
        hint: "remove the stale AWSPENDING label and start a new rotation",
        needles: &[
            "not set as AWSPENDING for rotation",
            "has no stage for rotation",
            "was not created by Lambda",
            "A previous rotation isn't complete",
        ],
        detail: None,
    },
    Signature {
        id: "rotation-disabled",
        cause: "the function ran while the secret's rotation is disabled",
        hint: "turn rotation back on with RotateSecret",
        needles: &["is not enabled for rotation"],
        detail: None,
    },
    Signature {
        id: "invalid-step",
        cause: "the function was invoked with a Step other than createSecret, setSecret, testSecret or finishSecret",
        hint: "only Secrets Manager should invoke it; a test event must carry one of the four step names, spelled exactly",
        needles: &["Invalid step parameter"],
        detail: Some(r"Invalid step parameter (\S+)"),
    },
    Signature {
        id: "wrong-function",
        cause: "the function is set up for another secret or user (its SECRET_ARN or USER_NAME variable)",
        hint: "rotate the secret with the function deployed for it, or correct the function's variables",
        needles: &["is not allowed to use this Lambda function for rotation"],
        detail: None,
    },
    Signature {
        id: "no-current-value",
        cause: "the secret has no AWSCURRENT value to rotate from",
        hint: "put an initial value with PutSecretValue, clear the stale AWSPENDING, then rotate",
        needles: &["can't find the specified secret value for staging label: AWSCURRENT"],
        detail: None,
    },
    Signature {
        id: "not-json",
        cause: "the secret value is not JSON",
        hint: "store the connection as a JSON object (engine, host, port, username, password, dbname)",
        needles: &[
            "JSONDecodeError",
            "KeyError: 'SecretString'",
            "Invalid secret value JSON for secret",
            "Invalid secret value json for secret",
            "Failed to parse secret string from",
        ],
        detail: None,
    },
    Signature {
        id: "missing-key",
        cause: "the secret JSON lacks a key the rotation function needs",
        hint: "add the missing key to the secret's JSON (host, username, password, engine; dbname for Oracle; masterarn for multi-user)",
        needles: &[
            "key is missing from secret JSON",
            "KeyError: 'masterarn'",
            "has no user_arn defined",
        ],
        detail: Some(r"'(\w+) key is missing from secret JSON|KeyError: '(masterarn)'|has no (user_arn) defined"),
    },
    Signature {
        id: "engine-mismatch",
        cause: "the secret's engine is not the one this rotation function handles",
        hint: "set the secret's engine key to the value the function expects, or use the function for the database's engine",
        needles: &["Database engine must be set to"],
        detail: Some(r"Database engine must be set to '([^']+)'"),
    },
    Signature {
        id: "influxdb-token",
        cause: "the secret's InfluxDB token settings do not allow the rotation",
        hint: "set type (allAccess, operator or custom), the token for an operator token and the permissions as <action>-<type> in the secret; the token in the secret must exist in the instance; creating tokens needs AUTHENTICATION_CREATION_ENABLED on the function",
        needles: &[
            "is not a valid token type",
            "The token value must be set when rotating an operator token",
            "No permissions were set for token creation",
            "must fit the format <action>-<type>",
            "Authentication creation has not been enabled",
            "Failed to copy or create a new token",
            "Failed to find the current secret token defined in the InfluxDB instance",
        ],
        detail: None,
    },
    Signature {
        id: "db-endpoint-missing",
        cause: "the InfluxDB instance the secret names has no endpoint",
        hint: "check dbIdentifier in the secret against the Timestream for InfluxDB instance, which must exist and be available",
        needles: &["Invalid endpoint info for InfluxDB instance"],
        detail: None,
    },
    Signature {
        id: "user-not-active",
        cause: "the ElastiCache user did not become active after the password change",
        hint: "check the user's status in ElastiCache (a user group being modified holds it) and rotate again once it is active",
        needles: &["did not reached the active status"],
        detail: None,
    },
    Signature {
        id: "invalid-characters",
        cause: "the username or password holds a character the function refuses",
        hint: "remove the character from the username; for the password, keep it in EXCLUDE_CHARACTERS so that new passwords never hold it",
        needles: &["check_inputs: Invalid character in"],
        detail: Some(r"Invalid character in (username|password)"),
    },
    Signature {
        id: "missing-endpoint-variable",
        cause: "the function has no SECRETS_MANAGER_ENDPOINT variable",
        hint: "set SECRETS_MANAGER_ENDPOINT to https://secretsmanager.REGION.amazonaws.com or the VPC endpoint's DNS name",
        needles: &["KeyError: 'SECRETS_MANAGER_ENDPOINT'"],
        detail: None,
    },
    Signature {
        id: "timeout",
        cause: "the function timed out",
        hint: "a timeout is nearly always an unreachable database or Secrets Manager endpoint; raise the timeout only when the work really needs it",
        needles: &["Task timed out after"],
        detail: Some(r"Task timed out after ([0-9.]+ seconds)"),
    },
];

/// The timeout shapes told apart by what the invocation logged before it.
const SILENT_TIMEOUT: Signature = Signature {
    id: "secretsmanager-unreachable",
    cause: "the function could not reach the Secrets Manager endpoint",
    hint: "only \"Found credentials\" and then a timeout: the first Secrets Manager call never answered; give the Lambda's subnets a NAT route or an interface endpoint with private DNS (check NET003)",
    needles: &[],
    detail: Some(r"Task timed out after ([0-9.]+ seconds)"),
};
const TIMEOUT_AFTER_CREATE: Signature = Signature {
    id: "db-unreachable-timeout",
    cause: "the function timed out after createSecret, while connecting to the database",
    hint: "createSecret needs only Secrets Manager; a timeout right after it means the database is unreachable (check NET002)",
    needles: &[],
    detail: Some(r"Task timed out after ([0-9.]+ seconds)"),
};

/// An error line no signature matches: counted and shown, never dropped.
const UNRECOGNISED: Signature = Signature {
    id: "unrecognised",
    cause: "an error line rotation-doctor does not recognise",
    hint: "read the example line: it is shown as the function logged it",
    needles: &[],
    detail: Some(r"^(?:\[ERROR\]\s+)?([A-Za-z_][\w.]*(?:Error|Exception|Failure)):"),
};

/// All the lines of one cause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCause {
    pub id: String,
    pub cause: String,
    pub hint: String,
    pub count: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    /// Details the lines named (a module, an action, a key, a step), distinct.
    pub details: Vec<String>,
    /// One matching line, shortened.
    pub example: String,
}

fn compiled(pattern: &'static str) -> Option<&'static Regex> {
    static CACHE: OnceLock<BTreeMap<&'static str, Regex>> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            SIGNATURES
                .iter()
                .chain([&SILENT_TIMEOUT, &TIMEOUT_AFTER_CREATE, &UNRECOGNISED])
                .filter_map(|s| s.detail)
                .filter_map(|p| Regex::new(p).ok().map(|r| (p, r)))
                .collect()
        })
        .get(pattern)
}

fn is_platform_line(message: &str) -> bool {
    [
        "START RequestId",
        "END RequestId",
        "REPORT RequestId",
        "INIT_START",
        "INIT_REPORT",
        "EXTENSION",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

/// An exception's first line: a Python type name ending in Error or
/// Exception, then a colon or its arguments.
static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z_][\w.]*(?:Error|Exception)[:(]").expect("the exception pattern is valid")
});

/// Whether a line reports an error: logged at ERROR level (the text format
/// `[ERROR]`, or the JSON format's `"level":"ERROR"`), or an exception with
/// its traceback. Ordinary INFO output and the runtime's own lines are not.
fn is_error_line(message: &str) -> bool {
    if is_platform_line(message) {
        return false;
    }
    let first = message.trim_start().lines().next().unwrap_or_default();
    first.starts_with("[ERROR]")
        || first.contains("\"level\":\"ERROR\"")
        || message.contains("Traceback (most recent call last)")
        || EXCEPTION_LINE.is_match(first)
}

/// The signature of one line, given what its invocation logged before it.
fn classify_line<'a>(message: &str, earlier: &[&LogEvent]) -> Option<&'a Signature> {
    // Lambda's own report lines repeat the function's error type
    // ("INIT_REPORT … Status: error Error Type: Runtime.ImportModuleError"):
    // the line that names the module has been counted already.
    if is_platform_line(message) {
        return None;
    }
    let Some(signature) = SIGNATURES
        .iter()
        .find(|s| s.needles.iter().any(|n| message.contains(n)))
    else {
        return is_error_line(message).then_some(&UNRECOGNISED);
    };
    if signature.id != "timeout" {
        return Some(signature);
    }
    let said: Vec<&str> = earlier
        .iter()
        .map(|e| e.message.as_str())
        .filter(|m| !is_platform_line(m))
        .collect();
    if said
        .iter()
        .any(|m| m.contains("createSecret: Successfully put secret"))
        && !said.iter().any(|m| m.contains("setSecret"))
    {
        return Some(&TIMEOUT_AFTER_CREATE);
    }
    if said
        .iter()
        .all(|m| m.contains("Found credentials in environment variables"))
    {
        return Some(&SILENT_TIMEOUT);
    }
    Some(signature)
}

/// The first line of a message (a traceback follows it), tabs as spaces,
/// at most 300 characters: how LOG001 and the `rotate --wait` trace show a line.
pub fn shorten(message: &str) -> String {
    let first = message.trim().lines().next().unwrap_or_default();
    let line = first.replace('\t', " ");
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Groups the error events by cause, most recent cause first. An error line
/// no signature matches is counted under `unrecognised`, with its example.
pub fn classify(events: &[LogEvent]) -> Vec<LogCause> {
    let mut by_cause: BTreeMap<&str, LogCause> = BTreeMap::new();
    // Each stream is one execution environment; an invocation runs from its
    // START line, so "what came before" is read per stream since the last START.
    let mut invocation: BTreeMap<&str, Vec<&LogEvent>> = BTreeMap::new();
    for event in events {
        let stream = event.stream.as_deref().unwrap_or("");
        let earlier = invocation.entry(stream).or_default();
        if event.message.starts_with("START RequestId") {
            earlier.clear();
        }
        if let Some(signature) = classify_line(&event.message, earlier) {
            let detail = signature.detail.and_then(compiled).and_then(|re| {
                re.captures(&event.message).and_then(|c| {
                    c.iter()
                        .skip(1)
                        .flatten()
                        .next()
                        .map(|m| m.as_str().to_string())
                })
            });
            let entry = by_cause.entry(signature.id).or_insert_with(|| LogCause {
                id: signature.id.to_string(),
                cause: signature.cause.to_string(),
                hint: signature.hint.to_string(),
                count: 0,
                first: event.timestamp,
                last: event.timestamp,
                details: Vec::new(),
                example: shorten(&event.message),
            });
            entry.count += 1;
            entry.first = entry.first.min(event.timestamp);
            if event.timestamp >= entry.last {
                entry.last = event.timestamp;
                entry.example = shorten(&event.message);
            }
            if let Some(detail) = detail {
                if !entry.details.contains(&detail) {
                    entry.details.push(detail);
                }
            }
        }
        earlier.push(event);
    }
    let mut causes: Vec<LogCause> = by_cause.into_values().collect();
    causes.sort_by(|a, b| b.last.cmp(&a.last).then(b.count.cmp(&a.count)));
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(second: u32, stream: &str, message: &str) -> LogEvent {
        LogEvent {
            timestamp: Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, second).unwrap(),
            stream: Some(stream.to_string()),
            message: message.to_string(),
        }
    }

    #[test]
    fn an_import_error_is_counted_once_beside_lambdas_init_report() {
        // As Lambda logs a failed init: the runtime's line, then its report.
        let events = vec![
            event(1, "a", "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named '_pg'\nTraceback (most recent call last):"),
            event(2, "a", "INIT_REPORT Init Duration: 144.81 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError"),
            event(3, "a", "REPORT RequestId: 1\tDuration: 8.00 ms\tStatus: error\tError Type: Runtime.ImportModuleError"),
        ];
        let causes = classify(&events);
        assert_eq!(causes.len(), 1, "{causes:#?}");
        assert_eq!(causes[0].id, "import-module");
        assert_eq!(causes[0].count, 1);
        assert_eq!(causes[0].details, vec!["_pg"]);
        assert!(causes[0].example.contains("No module named '_pg'"));
    }

    #[test]
    fn catalog_lines_are_classified_with_details() {
        let events = vec![
            event(1, "a", "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'pg'"),
            event(2, "a", "[ERROR]\t2026-11-28T10:00:02Z\tid\tsetSecret: Unable to log into database with previous, current, or pending secret of secret arn arn:x"),
            event(3, "a", "[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the PutSecretValue operation: User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: secretsmanager:PutSecretValue on resource: arn:x because no identity-based policy allows the secretsmanager:PutSecretValue action"),
            event(4, "a", "[ERROR] KeyError: 'host key is missing from secret JSON'"),
            event(5, "a", "[ERROR] KeyError: \"Database engine must be set to 'mysql' in order to use this rotation lambda\""),
            event(6, "a", "[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the GetSecretValue operation: Access to KMS is not allowed"),
            event(7, "a", "setSecret: Unable to log into database with previous, current, or pending secret of secret arn arn:x"),
        ];
        let causes = classify(&events);
        let find = |id: &str| {
            causes
                .iter()
                .find(|c| c.id == id)
                .unwrap_or_else(|| panic!("{id}: {causes:#?}"))
        };
        assert_eq!(find("import-module").details, vec!["pg"]);
        assert_eq!(find("db-login-failed").count, 2);
        assert_eq!(find("db-login-failed").details, vec!["setSecret"]);
        assert_eq!(
            find("access-denied").details,
            vec!["secretsmanager:PutSecretValue"]
        );
        assert_eq!(find("missing-key").details, vec!["host"]);
        assert_eq!(find("engine-mismatch").details, vec!["mysql"]);
        assert_eq!(find("kms-denied").count, 1);
        // Most recent cause first.
        assert_eq!(causes[0].id, "db-login-failed");
    }

    #[test]
    fn silence_after_credentials_then_timeout_is_an_unreachable_endpoint() {
        let events = vec![
            event(0, "a", "START RequestId: 1 Version: $LATEST"),
            event(
                1,
                "a",
                "[INFO]\tFound credentials in environment variables.",
            ),
            event(
                31,
                "a",
                "2026-11-28T10:00:31Z 1 Task timed out after 30.03 seconds",
            ),
            event(32, "a", "END RequestId: 1"),
            event(40, "b", "START RequestId: 2 Version: $LATEST"),
            event(
                41,
                "b",
                "[INFO]\tcreateSecret: Successfully put secret for ARN arn:x and version v.",
            ),
            event(42, "b", "START RequestId: 3 Version: $LATEST"),
            event(
                43,
                "b",
                "[INFO]\tFound credentials in environment variables.",
            ),
            event(
                44,
                "b",
                "[INFO]\tcreateSecret: Successfully put secret for ARN arn:x and version v.",
            ),
            event(
                59,
                "b",
                "2026-11-28T10:00:59Z 3 Task timed out after 15.00 seconds",
            ),
        ];
        let causes = classify(&events);
        let ids: Vec<&str> = causes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["db-unreachable-timeout", "secretsmanager-unreachable"]
        );
        assert_eq!(causes[0].details, vec!["15.00 seconds"]);
    }

    #[test]
    fn a_timeout_after_other_work_stays_a_timeout() {
        let events = vec![
            event(0, "a", "START RequestId: 1 Version: $LATEST"),
            event(
                1,
                "a",
                "[INFO] setSecret: Successfully set password for user admin",
            ),
            event(31, "a", "Task timed out after 30.03 seconds"),
        ];
        assert_eq!(classify(&events)[0].id, "timeout");
    }

    #[test]
    fn the_example_is_the_first_line_of_a_traceback() {
        let events = vec![event(
            1,
            "a",
            "[ERROR] ValueError: setSecret: Unable to log into database with previous, current, or pending secret of secret arn x\nTraceback (most recent call last):\n  File \"/var/task/lambda_function.py\"",
        )];
        let causes = classify(&events);
        assert!(
            causes[0].example.ends_with("secret arn x"),
            "{}",
            causes[0].example
        );
    }

    #[test]
    fn host_and_authentication_plugin_lines_are_classified() {
        let events = vec![
            event(1, "a", "[ERROR] ValueError: setSecret: Current database host h1 is not the same host as/rds replica of master h2"),
            event(2, "a", "[ERROR] RuntimeError: 'cryptography' package is required for sha256_password or caching_sha2_password auth methods"),
        ];
        let ids: Vec<String> = classify(&events).into_iter().map(|c| c.id).collect();
        assert_eq!(ids, vec!["auth-plugin", "host-not-master"]);
    }

    /// The rows of logs/messages.tsv: the cause id, the line (with `\\t`
    /// and `\\n` unescaped) and its source.
    fn message_table() -> Vec<(&'static str, String, &'static str)> {
        include_str!("logs/messages.tsv")
            .lines()
            .filter(|row| !row.starts_with('#') && !row.trim().is_empty())
            .map(|row| {
                let fields: Vec<&str> = row.split('\t').collect();
                assert_eq!(fields.len(), 3, "three tab-separated fields: {row}");
                let line = fields[1].replace("\\t", "\t").replace("\\n", "\n");
                (fields[0], line, fields[2])
            })
            .collect()
    }

    #[test]
    fn every_known_message_has_its_cause() {
        let table = message_table();
        assert!(table.len() > 100, "{} rows", table.len());
        let wrong: Vec<String> = table
            .iter()
            .filter_map(|(expected, line, source)| {
                let ids: Vec<String> = classify(&[event(1, "a", line)])
                    .into_iter()
                    .map(|c| c.id)
                    .collect();
                (ids != [*expected])
                    .then(|| format!("{source}: want {expected}, got {ids:?}: {line}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_signature_has_a_row_in_the_message_table() {
        let table = message_table();
        // A row is classified alone, and a timeout with nothing before it
        // is the silent one; `a_timeout_after_other_work_stays_a_timeout`
        // covers "timeout".
        for signature in SIGNATURES.iter().filter(|s| s.id != "timeout") {
            assert!(
                table.iter().any(|(id, _, _)| *id == signature.id),
                "{} has no row in logs/messages.tsv",
                signature.id
            );
        }
    }

    #[test]
    fn the_master_link_answered_by_the_api_is_not_an_unreachable_api() {
        let events = vec![
            event(1, "a", "[ERROR]\t2026-11-28T10:00:01Z\tid\tsetSecret: arn:aws:rds:us-east-1:123456789012:db:gone is not a valid DB Instance ARN. No Instances found when using DescribeDBInstances RDS API to get connection params."),
            event(2, "a", "[ERROR] ValueError: arn:aws:rds:us-east-1:123456789012:db:xxxxxxxx is not a valid DB Instance ARN. It exceeds the maximum length of 256."),
            event(3, "a", "[ERROR] Exception: Encountered API error while fetching connection parameters from DescribeDBInstances RDS API: Connect timeout on endpoint URL: \"https://rds.us-east-1.amazonaws.com/\""),
        ];
        let causes = classify(&events);
        let ids: Vec<&str> = causes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, vec!["master-lookup-api", "master-link-invalid"]);
        assert_eq!(causes[0].details, vec!["DescribeDBInstances"]);
        assert_eq!(
            causes[1].details,
            vec!["No Instances found", "exceeds the maximum length"]
        );
    }

    #[test]
    fn unknown_error_lines_are_counted_as_unrecognised_with_an_example() {
        let events = vec![
            event(0, "a", "START RequestId: 1 Version: $LATEST"),
            event(1, "a", "[INFO]\t2026-11-28T10:00:01Z\tid\tsetSecret: Something new happened"),
            event(2, "a", "[WARNING]\t2026-11-28T10:00:02Z\tid\tUnable to establish database connection"),
            event(3, "a", "[ERROR]\t2026-11-28T10:00:03Z\tid\tsetSecret: a message no function logs today"),
            event(4, "a", "[ERROR] ZeroDivisionError: division by zero\nTraceback (most recent call last):\n  File \"/var/task/lambda_function.py\", line 9"),
            event(5, "a", "pymysql.err.InternalError: (1205, 'Lock wait timeout exceeded; try restarting transaction')"),
            event(6, "a", r#"{"timestamp":"2026-11-28T10:00:06Z","level":"ERROR","message":"custom failure","logger":"root"}"#),
            event(7, "a", "END RequestId: 1"),
            event(8, "a", "REPORT RequestId: 1\tDuration: 8000.00 ms\tStatus: error"),
        ];
        let causes = classify(&events);
        assert_eq!(causes.len(), 1, "{causes:#?}");
        let unrecognised = &causes[0];
        assert_eq!(unrecognised.id, "unrecognised");
        assert_eq!(unrecognised.count, 4);
        assert_eq!(
            unrecognised.details,
            vec!["ZeroDivisionError", "pymysql.err.InternalError"]
        );
        assert!(
            unrecognised.example.contains("custom failure"),
            "{}",
            unrecognised.example
        );
    }

    #[test]
    fn ordinary_lines_match_nothing() {
        let events = vec![
            event(0, "a", "START RequestId: 1 Version: $LATEST"),
            event(
                1,
                "a",
                "[INFO] finishSecret: Successfully set AWSCURRENT stage to version v",
            ),
        ];
        assert!(classify(&events).is_empty());
    }
}
