//! Classifies a rotation Lambda's log lines by cause, from the exact strings
//! AWS's rotation functions and the Lambda runtime emit
//! (docs/failure-catalog.md, sections A–E). Matching happens here, on our
//! side, because CloudWatch Logs filter patterns are not reliable on every
//! backend (docs/moto-notes.md, "CloudWatch Logs").

use std::collections::BTreeMap;
use std::sync::OnceLock;

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

const SIGNATURES: &[Signature] = &[
    Signature {
        id: "db-login-failed",
        cause: "the function could not log into the database",
        hint: "a long task duration means the database is unreachable (check NET002: security groups, subnets); a short one means the credentials in the secret are wrong",
        needles: &[
            "Unable to log into database with previous, current, or pending secret",
            "Unable to log into database using current credentials",
            "Unable to log into database using credentials in master secret",
            "Unable to log into database with pending secret",
        ],
        detail: Some(r"(setSecret|testSecret): Unable to log into database"),
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
        id: "import-module",
        cause: "the function's code cannot be loaded (runtime and bundled dependencies do not match)",
        hint: "recreate the rotation function from the current template, or set its runtime back to the one its package was built for",
        needles: &["Runtime.ImportModuleError", "Runtime.UserCodeSyntaxError"],
        detail: Some(r"No module named '([^']+)'"),
    },
    Signature {
        id: "access-denied",
        cause: "the execution role is not allowed an action",
        hint: "grant the named action to the rotation Lambda's execution role, on the secret",
        needles: &["is not authorized to perform"],
        detail: Some(r"is not authorized to perform: ([A-Za-z0-9]+:[A-Za-z0-9]+)"),
    },
    Signature {
        id: "kms-denied",
        cause: "the role may not use the secret's KMS key",
        hint: "allow kms:Decrypt and kms:GenerateDataKey on the secret's customer managed key to the role, in the key policy or the role policy",
        needles: &["Access to KMS is not allowed"],
        detail: None,
    },
    Signature {
        id: "missing-key",
        cause: "the secret JSON lacks a key the rotation function needs",
        hint: "add the missing key to the secret's JSON (host, username, password, engine; dbname for Oracle; masterarn for multi-user)",
        needles: &["key is missing from secret JSON", "KeyError: 'masterarn'"],
        detail: Some(r"'(\w+) key is missing from secret JSON|KeyError: '(masterarn)'"),
    },
    Signature {
        id: "engine-mismatch",
        cause: "the secret's engine is not the one this rotation function handles",
        hint: "set the secret's engine key to the value the function expects, or use the function for the database's engine",
        needles: &["Database engine must be set to"],
        detail: Some(r"Database engine must be set to '([^']+)'"),
    },
    Signature {
        id: "tls",
        cause: "the TLS handshake with the database failed",
        hint: "use the RDS endpoint host name, set \"ssl\" in the secret, and use a current rotation function",
        needles: &[
            "Unable to establish SSL/TLS handshake",
            "Hostname verification failed when estlablishing SSL/TLS",
            "requires TLS connections",
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
        needles: &["JSONDecodeError", "KeyError: 'SecretString'"],
        detail: None,
    },
    Signature {
        id: "missing-endpoint-variable",
        cause: "the function has no SECRETS_MANAGER_ENDPOINT variable",
        hint: "set SECRETS_MANAGER_ENDPOINT to https://secretsmanager.REGION.amazonaws.com or the VPC endpoint's DNS name",
        needles: &["KeyError: 'SECRETS_MANAGER_ENDPOINT'"],
        detail: None,
    },
    Signature {
        id: "user-or-host-drift",
        cause: "the username or host changed while a rotation was pending",
        hint: "clear the stale AWSPENDING version and rotate again",
        needles: &["Attempting to modify user"],
        detail: None,
    },
    Signature {
        id: "rds-api",
        cause: "the function could not call the RDS API for the master secret's connection",
        hint: "give the role rds:DescribeDBInstances/DescribeDBClusters and the subnets a path to the RDS API",
        needles: &[
            "Encountered API error while fetching connection parameters",
            "is not a valid DB Instance ARN",
        ],
        detail: None,
    },
    Signature {
        id: "clone-username",
        cause: "the clone username would be too long",
        hint: "shorten the username or raise USERNAME_CHARACTER_LIMIT",
        needles: &["Unable to clone user"],
        detail: None,
    },
    Signature {
        id: "host-not-master",
        cause: "the secret's host is neither the master's host nor a replica of it (multi-user)",
        hint: "make host in the secret and the masterarn secret name the same database",
        needles: &["is not the same host as"],
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
        id: "function-not-ready",
        cause: "the function's VPC connection was not ready",
        hint: "check the function's State and StateReasonCode (subnet IPs, security groups, ENI permissions)",
        needles: &["ResourceNotReadyException", "ENINotReadyException"],
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
                .chain([&SILENT_TIMEOUT, &TIMEOUT_AFTER_CREATE])
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
        "EXTENSION",
    ]
    .iter()
    .any(|p| message.starts_with(p))
}

/// The signature of one line, given what its invocation logged before it.
fn classify_line<'a>(message: &str, earlier: &[&LogEvent]) -> Option<&'a Signature> {
    let signature = SIGNATURES
        .iter()
        .find(|s| s.needles.iter().any(|n| message.contains(n)))?;
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

/// Groups matching events by cause, most recent cause first.
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
