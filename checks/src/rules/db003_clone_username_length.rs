//! DB003: multi-user MySQL and MariaDB rotation can create its clone user:
//! the username plus `_clone` fits the engine's and the function's limit.

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};

pub struct CloneUsernameLength;

static META: CheckMeta = CheckMeta {
    id: "DB003",
    name: "clone-username-length",
    title: "Multi-user rotation's clone user name fits the engine's limit",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret, RotationStep::SetSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
For a multi-user (alternating users) secret, one whose value has a
`masterarn` key, on MySQL, Aurora MySQL or MariaDB: that the username
with `_clone` appended (6 more characters) fits the longest user name the
engine accepts, by its `EngineVersion`:

- MySQL before 5.7.8 (and Aurora MySQL 1, MySQL 5.6 compatible): 16
  characters; MySQL 5.7.8 and later, Aurora MySQL 2 and 3: 32.
- MariaDB: 80.

AWS's MySQL multi-user function also refuses a clone name longer than its
`USERNAME_CHARACTER_LIMIT` environment variable, 16 when the variable is
not set, whatever the engine version; its MariaDB function refuses one over
80. A username that already ends in `_clone` passes: the next rotation
alternates back to the name without it. The check is unknown when the
engine version is unknown and the name is longer than the smallest limit.

## Why it breaks rotation
The first rotation of a multi-user secret creates a second user, the
username plus `_clone`, and rotations alternate between the two. When the
clone name is too long, `createSecret` raises `Unable to clone user,
username length with _clone appended would exceed N characters`, or the
engine refuses `CREATE USER` in `setSecret` (`String '…' is too long for
user name`). Every rotation fails the same way until the name is shorter.

## How to fix it
- Use a shorter username: create the user with a name of at most the limit
  minus 6 characters, grant it the same privileges, and put it in the
  secret's value (`aws secretsmanager put-secret-value`).
- On MySQL 5.7.8 or later whose name fits 32 but not 16 characters, set
  `USERNAME_CHARACTER_LIMIT` to `32` on the rotation function
  (`aws lambda update-function-configuration --environment …`, keeping its
  other variables).
- On MySQL before 5.7.8, upgrading the engine raises its limit to 32.

`--fix` has no action for this check.

## References
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/blob/master/SecretsManagerRDSMySQLRotationMultiUser/lambda_function.py (`get_alt_username`, `USERNAME_CHARACTER_LIMIT`)
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/blob/master/SecretsManagerRDSMariaDBRotationMultiUser/lambda_function.py
- https://dev.mysql.com/doc/refman/5.7/en/replication-features-user-names.html (16 characters before MySQL 5.7.8, 32 from it)
- https://mariadb.com/kb/en/create-user/
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html
"#,
};

/// What AWS's rotation functions append to the username for the second user.
const CLONE_SUFFIX: &str = "_clone";
/// The variable AWS's MySQL multi-user function reads its limit from.
const LIMIT_VARIABLE: &str = "USERNAME_CHARACTER_LIMIT";
/// Its value when the variable is not set.
const DEFAULT_FUNCTION_LIMIT: usize = 16;
/// The shortest limit of any MySQL version: a name that fits it fits all.
const SMALLEST_MYSQL_LIMIT: usize = 16;
const MARIADB_LIMIT: usize = 80;

#[derive(Clone, Copy, PartialEq)]
enum Family {
    Mysql,
    Mariadb,
}

/// The engine family of the database (else of the secret's `engine`).
fn family(engine: &str) -> Option<Family> {
    match engine.to_ascii_lowercase().as_str() {
        "mysql" | "aurora" | "aurora-mysql" => Some(Family::Mysql),
        "mariadb" => Some(Family::Mariadb),
        _ => None,
    }
}

/// The MySQL user-name limit of an RDS engine version: `5.6.51`,
/// `8.0.35`, or Aurora's `5.7.mysql_aurora.2.11.2` (MySQL 5.7.12
/// compatible, so 32), `5.6.10a` (16).
fn mysql_limit(engine: &str, version: &str) -> Option<usize> {
    let mut parts = version.split('.');
    let number = |part: Option<&str>| -> Option<u32> {
        let digits: String = part?.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    let major = number(parts.next())?;
    let minor = number(parts.next())?;
    let aurora = engine.starts_with("aurora");
    let long_names = match (major, minor) {
        (5, 7) if aurora => true,
        (5, 7) => number(parts.next())? >= 8,
        (major, minor) => (major, minor) > (5, 7),
    };
    Some(if long_names { 32 } else { 16 })
}

/// The function's own limit: AWS's MySQL function reads
/// `USERNAME_CHARACTER_LIMIT` (16 when unset); its MariaDB function has 80.
enum FunctionLimit {
    Known(usize),
    /// The variable is set: its value is not collected (only the names of
    /// the function's variables are).
    SetByVariable,
    /// The function's configuration could not be read.
    Unread(String),
}

impl Check for CloneUsernameLength {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let skipped = |message: &str| vec![META.finding(Status::Skipped, &secret.arn, message)];
        let Some(connection) = facts.connection.present() else {
            return skipped("the secret's value could not be read (SEC001 says why)");
        };
        if !connection.keys.iter().any(|key| key == "masterarn") {
            return skipped("single-user secret (no masterarn): no clone user is created");
        }
        let database = facts.database.present();
        let engine = database
            .and_then(|db| db.engine.as_deref())
            .or(connection.engine.as_deref())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Some(family) = family(&engine) else {
            return skipped("not MySQL or MariaDB: only their multi-user functions append _clone to a length-limited name");
        };
        let Some(username) = connection.username.as_deref().filter(|u| !u.is_empty()) else {
            return skipped("the secret's value has no username (SEC001 reports it)");
        };
        if username.ends_with(CLONE_SUFFIX) {
            return vec![META.finding(
                Status::Pass,
                &secret.arn,
                format!("the current user {username} is the clone: the next rotation alternates back to the name without {CLONE_SUFFIX}"),
            )];
        }
        let clone = format!("{username}{CLONE_SUFFIX}");
        let length = clone.chars().count();
        let version = database.and_then(|db| db.engine_version.as_deref());
        let engine_limit = match family {
            Family::Mariadb => Some(MARIADB_LIMIT),
            Family::Mysql => version.and_then(|v| mysql_limit(&engine, v)),
        };
        let function_limit = match (family, &facts.lambda) {
            (Family::Mariadb, _) => FunctionLimit::Known(MARIADB_LIMIT),
            (Family::Mysql, Fact::Present(lambda)) => {
                if lambda.environment_keys.iter().any(|k| k == LIMIT_VARIABLE) {
                    FunctionLimit::SetByVariable
                } else {
                    FunctionLimit::Known(DEFAULT_FUNCTION_LIMIT)
                }
            }
            (Family::Mysql, fact) => FunctionLimit::Unread(
                fact.missing_reason()
                    .unwrap_or_else(|| "not read".to_string()),
            ),
        };
        let engine_named = match version {
            Some(version) => format!("{engine} {version}"),
            None => engine.clone(),
        };
        let too_long = format!(
            "the clone user {clone} is {length} characters (username {username}, {} characters, plus {CLONE_SUFFIX})",
            length - CLONE_SUFFIX.len()
        );
        let shorter = |limit: usize| {
            format!(
                "Use a username of at most {} characters: create it with the same privileges and put it in the secret's value (aws secretsmanager put-secret-value), then rotate.",
                limit - CLONE_SUFFIX.len()
            )
        };
        if let Some(limit) = engine_limit.filter(|limit| length > *limit) {
            return vec![META
                .finding(
                    Status::Fail,
                    &secret.arn,
                    format!(
                        "{too_long}, over the {limit}-character user-name limit of {engine_named}: multi-user rotation cannot create it"
                    ),
                )
                .with_remediation(if family == Family::Mysql && limit == 16 {
                    format!("{}\nOr upgrade the engine to MySQL 5.7.8 or later (32 characters).", shorter(limit))
                } else {
                    shorter(limit)
                })];
        }
        if let FunctionLimit::Known(limit) = function_limit {
            if length > limit {
                let mut finding = META.finding(
                    Status::Fail,
                    &secret.arn,
                    format!(
                        "{too_long}, over the rotation function's {limit}-character limit ({LIMIT_VARIABLE} is not set; {engine_named} allows {}): createSecret refuses to clone the user",
                        engine_limit.map_or("an unknown length".to_string(), |l| format!("{l}"))
                    ),
                );
                let raise = engine_limit
                    .filter(|l| length <= *l)
                    .map(|l| format!("Set {LIMIT_VARIABLE}={l} on the rotation function (aws lambda update-function-configuration, keeping its other variables), then rotate."));
                finding = finding.with_remediation(match raise {
                    Some(raise) => format!("{raise}\nOr: {}", shorter(limit)),
                    None => shorter(limit),
                });
                return vec![finding];
            }
        }
        if engine_limit.is_none() && length > SMALLEST_MYSQL_LIMIT {
            return vec![META.finding(
                Status::Unknown,
                &secret.arn,
                format!(
                    "the clone user {clone} is {length} characters: MySQL allows 16 before 5.7.8 and 32 from it, and the engine version is unknown ({})",
                    database.map_or_else(
                        || facts.database.missing_reason().unwrap_or_default(),
                        |db| format!("RDS reported none for {}", db.identifier)
                    )
                ),
            )];
        }
        if let FunctionLimit::Unread(why) = &function_limit {
            if length > DEFAULT_FUNCTION_LIMIT {
                return vec![META.finding(
                    Status::Unknown,
                    &secret.arn,
                    format!(
                        "the clone user {clone} is {length} characters, over the function's default limit of {DEFAULT_FUNCTION_LIMIT} unless {LIMIT_VARIABLE} is set, and the function could not be read: {why}"
                    ),
                )];
            }
        }
        let limit = engine_limit.unwrap_or(SMALLEST_MYSQL_LIMIT);
        let mut finding = META.finding(
            Status::Pass,
            &secret.arn,
            format!("the clone user {clone} ({length} characters) fits {engine_named}'s {limit}-character limit"),
        );
        if matches!(function_limit, FunctionLimit::SetByVariable) {
            finding = finding.with_evidence([format!(
                "the rotation function sets {LIMIT_VARIABLE}; its value is not read"
            )]);
        }
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let multi_user = |username: &str, version: &str| {
            let mut facts = crate::fixtures::lab_moved();
            let connection = crate::fixtures::get(&mut facts.connection);
            connection.username = Some(username.to_string());
            connection.keys.push("masterarn".to_string());
            crate::fixtures::get(&mut facts.database).engine_version = Some(version.to_string());
            facts
        };
        (
            multi_user("reporting_user", "5.6.51"),
            multi_user("app_user", "5.6.51"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ErrorKind, Unavailable};
    use crate::fixtures::get;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&CloneUsernameLength, facts).remove(0)
    }

    fn multi_user(username: &str, engine: &str, version: Option<&str>) -> Facts {
        let mut facts = CloneUsernameLength.fixtures().1;
        get(&mut facts.connection).username = Some(username.to_string());
        let db = get(&mut facts.database);
        db.engine = Some(engine.to_string());
        db.engine_version = version.map(str::to_string);
        facts
    }

    #[test]
    fn a_long_name_on_mysql_5_6_fails_with_the_numbers() {
        let f = first(&CloneUsernameLength.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("reporting_user_clone is 20 characters")
                && f.message.contains("16-character")
                && f.message.contains("mysql 5.6.51"),
            "{}",
            f.message
        );
        assert!(
            f.remediation.contains("at most 10 characters"),
            "{}",
            f.remediation
        );
        assert!(f.remediation.contains("5.7.8"), "{}", f.remediation);
    }

    #[test]
    fn a_short_name_passes() {
        let f = first(&CloneUsernameLength.fixtures().1);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(
            f.message.contains("app_user_clone (14 characters)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn mysql_8_allows_32_but_the_function_defaults_to_16() {
        let mut facts = multi_user("reporting_user", "mysql", Some("8.0.35"));
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("function's 16-character limit")
                && f.message.contains("mysql 8.0.35 allows 32"),
            "{}",
            f.message
        );
        assert!(
            f.remediation.contains("USERNAME_CHARACTER_LIMIT=32"),
            "{}",
            f.remediation
        );
        get(&mut facts.lambda)
            .environment_keys
            .push(LIMIT_VARIABLE.to_string());
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(f.message.contains("32-character"), "{}", f.message);
    }

    #[test]
    fn over_32_fails_on_mysql_8_and_aurora_versions_parse() {
        let name = "a_reporting_user_for_finance_ops";
        let f = first(&multi_user(name, "mysql", Some("8.0.35")));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("32-character"), "{}", f.message);
        assert_eq!(
            mysql_limit("aurora-mysql", "5.7.mysql_aurora.2.11.2"),
            Some(32)
        );
        assert_eq!(
            mysql_limit("aurora-mysql", "8.0.mysql_aurora.3.05.2"),
            Some(32)
        );
        assert_eq!(mysql_limit("aurora", "5.6.10a"), Some(16));
        assert_eq!(mysql_limit("mysql", "5.7.7"), Some(16));
        assert_eq!(mysql_limit("mysql", "5.7.44"), Some(32));
        assert_eq!(mysql_limit("mysql", "unknown"), None);
    }

    #[test]
    fn mariadb_allows_80() {
        let mut facts = multi_user("reporting_user", "mariadb", Some("10.11.6"));
        assert_eq!(first(&facts).status, Status::Pass);
        get(&mut facts.connection).username = Some("u".repeat(75));
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("81 characters") && f.message.contains("80-character"),
            "{}",
            f.message
        );
    }

    #[test]
    fn unknown_version_is_unknown_only_when_it_matters() {
        let mut facts = multi_user("reporting_user", "mysql", None);
        get(&mut facts.lambda)
            .environment_keys
            .push(LIMIT_VARIABLE.to_string());
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown, "{}", f.message);
        assert!(
            f.message.contains("engine version is unknown"),
            "{}",
            f.message
        );
        get(&mut facts.connection).username = Some("app_user".to_string());
        assert_eq!(first(&facts).status, Status::Pass);
        facts.database = Fact::Unavailable(Unavailable {
            call: "rds:DescribeDBInstances".into(),
            kind: ErrorKind::AccessDenied,
            message: "denied".into(),
        });
        get(&mut facts.connection).username = Some("reporting_user".to_string());
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown, "{}", f.message);
        assert!(f.message.contains("denied"), "{}", f.message);
    }

    #[test]
    fn single_user_secrets_and_clones_are_not_judged_as_too_long() {
        let mut facts = multi_user("reporting_user", "mysql", Some("5.6.51"));
        get(&mut facts.connection).keys.retain(|k| k != "masterarn");
        assert_eq!(first(&facts).status, Status::Skipped);
        let facts = multi_user("reporting_user_clone", "mysql", Some("5.6.51"));
        assert_eq!(first(&facts).status, Status::Pass);
        let facts = multi_user("reporting_user", "postgres", Some("16.1"));
        assert_eq!(first(&facts).status, Status::Skipped);
    }
}
