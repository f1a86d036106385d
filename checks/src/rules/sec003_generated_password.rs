//! SEC003: the password the rotation function generates is one the engine
//! accepts: its `EXCLUDE_CHARACTERS`, `PASSWORD_LENGTH` and `EXCLUDE_*`
//! settings against the engine's documented password rules. Only the
//! settings are read; no password is.

use std::collections::BTreeMap;

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Facts, Lambda};
use crate::finding::{Finding, Severity, Status};

pub struct GeneratedPassword;

static META: CheckMeta = CheckMeta {
    id: "SEC003",
    name: "generated-password-rejected",
    title: "The rotation function generates passwords the database accepts",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The variables AWS's rotation templates pass to `GetRandomPassword` when
they make the new password (`EXCLUDE_CHARACTERS`, `PASSWORD_LENGTH`,
`EXCLUDE_NUMBERS`, `EXCLUDE_PUNCTUATION`, `EXCLUDE_UPPERCASE`,
`EXCLUDE_LOWERCASE`, `REQUIRE_EACH_INCLUDED_TYPE`; each template's own
default where one is not set) against the password rules of the secret's
engine (from the secret's `engine`, else the database, else the function's
rotation type):
- the characters the engine does not allow: `/`, `"` and `@` for RDS for
  MySQL, MariaDB, PostgreSQL, SQL Server and Db2, Aurora and Amazon
  DocumentDB; also `&` and `'` for RDS for Oracle; `'`, `"`, `\`, `/` and
  `@` for Amazon Redshift;
- the characters the template itself cannot pass: `"` for Oracle (the
  template sets the password with `ALTER USER … IDENTIFIED BY "…"`) and
  `;` for Db2 (it joins the password into a `…;PWD=…;` connection string);
- the length: 8 to 41 characters for MySQL, MariaDB and Aurora, 8 to 30 for
  Oracle, 8 to 128 for PostgreSQL and SQL Server, 8 to 255 for Db2, 8 to 64
  for Redshift, 8 to 100 for DocumentDB;
- the kinds of characters: Redshift needs an upper-case letter, a
  lower-case letter and a digit; SQL Server's password policy three of the
  four kinds; `GetRandomPassword` needs at least one kind.

It fails when the settings let the function make a password the engine
rejects, naming the character or length and the rule; it warns when a
character the template leaves out by default (`'` and `\`, `:` for
PostgreSQL and Redshift) is allowed again, a connection-URL and quoting
hazard rather than a rejection, and when it lets through a character RDS
refuses only through its API that the template does not leave out either
(`&` for Oracle: the template's `ALTER USER` accepts it). A function that
is not one of AWS's templates (no `SECRETS_MANAGER_ENDPOINT` and none of
these variables) or an unknown engine is skipped. In a template, `HostedRotationLambda`'s
`ExcludeCharacters`, a rotation application's `excludeCharacters` and the
function's `Environment` are read the same way.

## Why it breaks rotation
createSecret stores whatever `GetRandomPassword` returns; setSecret then
fails when the database refuses it (Oracle: a password over 30 characters;
SQL Server: `Password validation failed`; Redshift: a password without a
digit), or the template's own statement breaks on the character, and the
secret is left with a stuck AWSPENDING. A password with `/`, `"` or `@`
is one RDS refuses for its master user (`ModifyDBInstance`, a console
reset), and one that breaks every connection URL built from the secret.
Whether a generated password has the character is chance, so the rotation
fails now and then rather than every time.

## How to fix it
Set the variable back within the rules, keeping the other variables (the
CLI's `--environment` replaces all of them): for example
`aws lambda update-function-configuration --function-name FN --environment
"Variables={SECRETS_MANAGER_ENDPOINT=…,EXCLUDE_CHARACTERS=/@\"'\\,PASSWORD_LENGTH=30}"`,
or remove `EXCLUDE_CHARACTERS` and `PASSWORD_LENGTH` to get the template's
defaults. In a template, set `ExcludeCharacters` on the
`HostedRotationLambda`. Then clear the stuck AWSPENDING (ROT002) and
rotate. `--fix` has no action for this check: the right set is a choice.

## References
- https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html (MasterUserPassword)
- https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html (MasterUserPassword)
- https://docs.aws.amazon.com/documentdb/latest/developerguide/API_CreateDBCluster.html (MasterUserPassword)
- https://docs.aws.amazon.com/redshift/latest/APIReference/API_CreateCluster.html (MasterUserPassword)
- https://learn.microsoft.com/en-us/sql/relational-databases/security/password-policy
- https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas (each `lambda_function.py`, `get_random_password`)
"#,
};

/// `GetRandomPassword`'s punctuation characters.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// What one engine accepts in a password, and what AWS's template for it
/// generates by default.
struct EngineRules {
    /// The engine as people name it: `RDS for MySQL`.
    name: &'static str,
    /// Characters the engine does not allow, and the rule that says so.
    rejected: &'static str,
    rule: &'static str,
    /// Characters the template cannot pass to the database, and why.
    template_breaks: &'static [(char, &'static str)],
    min_length: u32,
    max_length: u32,
    /// The template's defaults: `EXCLUDE_CHARACTERS` and `PASSWORD_LENGTH`.
    default_exclude: &'static str,
    default_length: u32,
    classes: ClassRule,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClassRule {
    /// Any one kind of character.
    Any,
    /// An upper-case letter, a lower-case letter and a digit (Redshift).
    UpperLowerDigit,
    /// Three of the four kinds (SQL Server's password policy).
    ThreeOfFour,
}

const RDS_RULE: &str =
    "RDS master passwords may hold any printable ASCII character except /, \" and @";

/// The rules of a template family (SEC001's families).
fn engine_rules(family: &str) -> Option<EngineRules> {
    let base = EngineRules {
        name: "",
        rejected: "/\"@",
        rule: RDS_RULE,
        template_breaks: &[],
        min_length: 8,
        max_length: 128,
        default_exclude: "/@\"'\\",
        default_length: 32,
        classes: ClassRule::Any,
    };
    let rules = match family {
        "mysql" => EngineRules {
            name: "RDS for MySQL",
            max_length: 41,
            ..base
        },
        "mariadb" => EngineRules {
            name: "RDS for MariaDB",
            max_length: 41,
            ..base
        },
        "postgres" => EngineRules {
            name: "RDS for PostgreSQL",
            default_exclude: ":/@\"'\\",
            ..base
        },
        "oracle" => EngineRules {
            name: "RDS for Oracle",
            rejected: "/\"@&'",
            rule: "RDS for Oracle master passwords may hold any printable ASCII character except /, \", @, & and '",
            template_breaks: &[(
                '"',
                "the template sets the password with ALTER USER … IDENTIFIED BY \"…\"",
            )],
            max_length: 30,
            default_length: 30,
            ..base
        },
        "sqlserver" => EngineRules {
            name: "RDS for SQL Server",
            classes: ClassRule::ThreeOfFour,
            ..base
        },
        "db2" => EngineRules {
            name: "RDS for Db2",
            template_breaks: &[(
                ';',
                "the template puts the password into a …;PWD=…; connection string",
            )],
            max_length: 255,
            default_exclude: "/@\"'\\;",
            ..base
        },
        "redshift" => EngineRules {
            name: "Amazon Redshift",
            rejected: "'\"\\/@",
            rule: "Redshift passwords may hold any printable ASCII character except ', \", \\, / and @",
            max_length: 64,
            default_exclude: "/@\"'\\:",
            classes: ClassRule::UpperLowerDigit,
            ..base
        },
        "mongo" => EngineRules {
            name: "Amazon DocumentDB",
            rule: "DocumentDB master passwords may hold any printable ASCII character except /, \" and @",
            max_length: 100,
            ..base
        },
        _ => return None,
    };
    Some(rules)
}

/// The template family a rotation function's name or rotation type names
/// (`SecretsManagerRDSOracleRotationSingleUser`, `MySQLMultiUser`).
fn family_from_rotation_type(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    [
        ("postgresql", "postgres"),
        ("mariadb", "mariadb"),
        ("mysql", "mysql"),
        ("oracle", "oracle"),
        ("sqlserver", "sqlserver"),
        ("db2", "db2"),
        ("redshift", "redshift"),
        ("mongodb", "mongo"),
    ]
    .into_iter()
    .find(|(token, _)| name.contains(token))
    .map(|(_, family)| family)
}

/// The engine family and where it was read.
fn engine_family(facts: &Facts, lambda: Option<&Lambda>) -> Option<(&'static str, String)> {
    if let Some(engine) = facts.connection.present().and_then(|c| c.engine.as_deref()) {
        if let Some(family) = super::sec001_secret_structure::secret_engine_family(engine.trim()) {
            return Some((family, format!("the secret's engine {engine}")));
        }
    }
    if let Some(db) = facts.database.present() {
        if let Some(engine) = db.engine.as_deref() {
            if let Some(family) = super::sec001_secret_structure::database_family(engine) {
                return Some((family, format!("database {} runs {engine}", db.identifier)));
            }
        }
    }
    let hosted = facts
        .template
        .present()
        .and_then(|t| t.hosted_rotation.as_ref())
        .map(|h| h.rotation_type.as_str());
    [hosted, lambda.map(|l| l.name.as_str())]
        .into_iter()
        .flatten()
        .find_map(|name| {
            family_from_rotation_type(name).map(|f| (f, format!("rotation type {name}")))
        })
}

/// Where password settings come from: the rotation function's variables
/// or a template's `GenerateSecretString`, with their names and defaults.
struct Source {
    exclude: &'static str,
    length: &'static str,
    numbers: &'static str,
    punctuation: &'static str,
    uppercase: &'static str,
    lowercase: &'static str,
    require_each: &'static str,
    /// What a length that is not a number does.
    bad_length: &'static str,
    /// The password is set through RDS's API (a database's
    /// `MasterUserPassword`), so every character RDS refuses fails, and
    /// the rotation template's own defaults say nothing about it.
    set_through_rds: bool,
}

const FUNCTION: Source = Source {
    exclude: "EXCLUDE_CHARACTERS",
    length: "PASSWORD_LENGTH",
    numbers: "EXCLUDE_NUMBERS",
    punctuation: "EXCLUDE_PUNCTUATION",
    uppercase: "EXCLUDE_UPPERCASE",
    lowercase: "EXCLUDE_LOWERCASE",
    require_each: "REQUIRE_EACH_INCLUDED_TYPE",
    bad_length: "the template's int() raises ValueError in createSecret",
    set_through_rds: false,
};

const GENERATE_SECRET_STRING: Source = Source {
    exclude: "ExcludeCharacters",
    length: "PasswordLength",
    numbers: "ExcludeNumbers",
    punctuation: "ExcludePunctuation",
    uppercase: "ExcludeUppercase",
    lowercase: "ExcludeLowercase",
    require_each: "RequireEachIncludedType",
    bad_length: "CloudFormation refuses the secret",
    set_through_rds: true,
};

/// The settings passed to `GetRandomPassword`, with the defaults for the
/// ones not set.
struct Settings {
    exclude: String,
    length: Result<u32, String>,
    exclude_numbers: bool,
    exclude_punctuation: bool,
    exclude_uppercase: bool,
    exclude_lowercase: bool,
    require_each: bool,
}

impl Settings {
    fn read(
        values: &BTreeMap<String, String>,
        source: &Source,
        default_exclude: &str,
        default_length: u32,
    ) -> Settings {
        // The templates' get_environment_bool; CloudFormation's booleans
        // are `true` and `false`, which it reads the same.
        let flag = |name: &str, default: bool| {
            values.get(name).map_or(default, |v| {
                ["true", "1", "y", "yes"].contains(&v.to_ascii_lowercase().as_str())
            })
        };
        let length = match values.get(source.length) {
            None => Ok(default_length),
            // Python's int() takes surrounding white space.
            Some(value) => value.trim().parse::<u32>().map_err(|_| value.clone()),
        };
        Settings {
            exclude: values
                .get(source.exclude)
                .cloned()
                .unwrap_or_else(|| default_exclude.to_string()),
            length,
            exclude_numbers: flag(source.numbers, false),
            exclude_punctuation: flag(source.punctuation, false),
            exclude_uppercase: flag(source.uppercase, false),
            exclude_lowercase: flag(source.lowercase, false),
            require_each: flag(source.require_each, true),
        }
    }

    /// Whether a generated password may contain `c`.
    fn may_contain(&self, c: char) -> bool {
        let excluded_as_punctuation = self.exclude_punctuation && PUNCTUATION.contains(c);
        !self.exclude.contains(c) && !excluded_as_punctuation
    }

    /// How many of the four kinds of characters are generated.
    fn kinds(&self) -> usize {
        [
            self.exclude_numbers,
            self.exclude_punctuation,
            self.exclude_uppercase,
            self.exclude_lowercase,
        ]
        .iter()
        .filter(|excluded| !**excluded)
        .count()
    }
}

/// `'x'` as a person reads it in a message.
fn quoted(c: char) -> String {
    format!("`{c}`")
}

fn quoted_all(chars: Vec<char>) -> String {
    chars.into_iter().map(quoted).collect::<Vec<_>>().join(", ")
}

/// What the settings break (fail) and risk (warn) under the rules.
fn judge(rules: &EngineRules, settings: &Settings, source: &Source) -> (Vec<String>, Vec<String>) {
    let (name, exclude) = (rules.name, source.exclude);
    let mut problems = Vec::new();
    let mut hazards = Vec::new();
    // A character the template's own default lets through is set by its
    // SQL without complaint: only RDS's API (a master password reset)
    // refuses it, so it is a warning.
    let (refused, tolerated): (Vec<char>, Vec<char>) = rules
        .rejected
        .chars()
        .filter(|c| settings.may_contain(*c))
        .partition(|c| source.set_through_rds || rules.default_exclude.contains(*c));
    if !refused.is_empty() {
        problems.push(format!(
            "{exclude} lets it generate {} ({})",
            quoted_all(refused),
            rules.rule
        ));
    }
    for (c, why) in rules.template_breaks {
        if settings.may_contain(*c) && !rules.rejected.contains(*c) {
            problems.push(format!("{exclude} lets it generate {} ({why})", quoted(*c)));
        }
    }
    if !tolerated.is_empty() {
        hazards.push(format!(
            "it can generate {} ({}): AWS's template does not leave it out either and sets it through SQL, but the password cannot be set through RDS (ModifyDBInstance, a console reset)",
            quoted_all(tolerated),
            rules.rule
        ));
    }
    let hazard_chars: Vec<char> = rules
        .default_exclude
        .chars()
        .filter(|c| !rules.rejected.contains(*c))
        .filter(|c| !rules.template_breaks.iter().any(|(b, _)| b == c))
        .filter(|c| settings.may_contain(*c))
        .collect();
    if !hazard_chars.is_empty() && !source.set_through_rds {
        hazards.push(format!(
            "{exclude} lets it generate {}, which AWS's {name} template leaves out by default: each must be escaped in connection URLs, shell commands and SQL literals",
            quoted_all(hazard_chars)
        ));
    }
    let length_name = source.length;
    match settings.length {
        Err(ref value) => problems.push(format!(
            "{length_name}={value} is not a whole number: {}",
            source.bad_length
        )),
        Ok(length) if length > rules.max_length => problems.push(format!(
            "{length_name}={length} is over {name}'s limit of {} characters",
            rules.max_length
        )),
        Ok(length) if length < rules.min_length => problems.push(format!(
            "{length_name}={length} is under {name}'s minimum of {} characters",
            rules.min_length
        )),
        Ok(_) => {}
    }
    let kinds = settings.kinds();
    if kinds == 0 {
        problems.push(format!(
            "{}, {}, {} and {} are all true: GetRandomPassword has no characters to choose from",
            source.numbers, source.punctuation, source.uppercase, source.lowercase
        ));
        return (problems, hazards);
    }
    match rules.classes {
        ClassRule::UpperLowerDigit => {
            let missing: Vec<&str> = [
                (settings.exclude_uppercase, source.uppercase),
                (settings.exclude_lowercase, source.lowercase),
                (settings.exclude_numbers, source.numbers),
            ]
            .into_iter()
            .filter(|(excluded, _)| *excluded)
            .map(|(_, name)| name)
            .collect();
            if !missing.is_empty() {
                problems.push(format!(
                    "{} is true, but a Redshift password must contain an upper-case letter, a lower-case letter and a digit",
                    missing.join(" and ")
                ));
            } else if !settings.require_each {
                hazards.push(format!(
                    "{} is false: a password without an upper-case letter, a lower-case letter or a digit, which Redshift rejects, can be generated",
                    source.require_each
                ));
            }
        }
        ClassRule::ThreeOfFour if kinds < 3 => problems.push(format!(
            "only {kinds} of the four kinds of characters are generated, but SQL Server's password policy (CHECK_POLICY, on by default) needs three of upper-case letters, lower-case letters, digits and symbols"
        )),
        _ => {}
    }
    (problems, hazards)
}

/// The rules of the engine, and where the engine was read; Aurora's
/// CreateDBCluster limits master passwords to 41 characters.
fn rules_for(facts: &Facts, lambda: Option<&Lambda>) -> Result<(EngineRules, String), String> {
    let Some((family, source)) = engine_family(facts, lambda) else {
        return Err("the engine is unknown (not in the secret, the database or the function's name): no password rules to compare with".to_string());
    };
    let Some(mut rules) = engine_rules(family) else {
        return Err(format!("no password rules are known for engine {family}"));
    };
    let aurora = facts.database.present().is_some_and(|db| {
        db.engine
            .as_deref()
            .is_some_and(|e| e.to_ascii_lowercase().starts_with("aurora"))
    });
    if aurora {
        rules.name = if family == "postgres" {
            "Aurora PostgreSQL"
        } else {
            "Aurora MySQL"
        };
        rules.max_length = 41;
    }
    Ok((rules, source))
}

/// The finding of one set of settings: fail on problems, warn on hazards.
fn verdict(
    resource: &str,
    what: &str,
    rules: &EngineRules,
    (problems, hazards): (Vec<String>, Vec<String>),
    evidence: Vec<String>,
    remediation: String,
) -> Finding {
    let name = rules.name;
    let finding = if !problems.is_empty() {
        let mut all = problems;
        all.extend(hazards);
        META.finding(
            Status::Fail,
            resource,
            format!(
                "{what} can generate a password {name} rejects: {}",
                all.join("; ")
            ),
        )
        .with_remediation(remediation)
    } else if !hazards.is_empty() {
        META.finding(
            Status::Warn,
            resource,
            format!("{what}: {}", hazards.join("; ")),
        )
        .with_remediation(remediation)
    } else {
        META.finding(
            Status::Pass,
            resource,
            format!("{what}'s password settings fit {name}'s password rules"),
        )
    };
    finding.with_evidence(evidence)
}

/// The evidence lines of the settings: each one set, and each default.
fn settings_evidence(
    values: &BTreeMap<String, String>,
    source: &Source,
    default_exclude: &str,
    default_length: u32,
) -> Vec<String> {
    let mut evidence = Vec::new();
    for name in [source.exclude, source.length] {
        if !values.contains_key(name) {
            let default = if name == source.exclude {
                match default_exclude {
                    "" => "(nothing excluded)".to_string(),
                    set => set.to_string(),
                }
            } else {
                default_length.to_string()
            };
            evidence.push(format!("{name} not set: the default {default}"));
        }
    }
    for (name, value) in values {
        evidence.push(format!("{name}={value}"));
    }
    evidence
}

/// The rotation function's settings.
fn function_finding(facts: &Facts) -> Finding {
    let lambda = match super::support::rotation_lambda(&META, facts) {
        Ok(lambda) => lambda,
        Err(finding) => return *finding,
    };
    let resource = lambda.arn.as_str();
    if lambda.secrets_manager_endpoint.is_none() && lambda.password_settings.is_empty() {
        return META.finding(
            Status::Skipped,
            resource,
            "the rotation Lambda does not look like one of AWS's rotation templates (no SECRETS_MANAGER_ENDPOINT, no password settings): how it makes passwords is its own",
        );
    }
    let (rules, engine) = match rules_for(facts, Some(lambda)) {
        Ok(found) => found,
        Err(why) => return META.finding(Status::Skipped, resource, why),
    };
    let values = &lambda.password_settings;
    let settings = Settings::read(
        values,
        &FUNCTION,
        rules.default_exclude,
        rules.default_length,
    );
    let mut evidence = vec![format!("engine: {} ({engine})", rules.name)];
    evidence.extend(settings_evidence(
        values,
        &FUNCTION,
        rules.default_exclude,
        rules.default_length,
    ));
    let remediation = format!(
        "Set the function's password settings within {}'s rules, keeping its other variables: \
         aws lambda update-function-configuration --function-name {} --environment \
         \"Variables={{SECRETS_MANAGER_ENDPOINT=…,EXCLUDE_CHARACTERS={},PASSWORD_LENGTH={}}}\" \
         (or remove the variables to get the template's defaults); then clear a stuck AWSPENDING (ROT002) and rotate.",
        rules.name, lambda.name, rules.default_exclude, rules.default_length
    );
    verdict(
        resource,
        "the rotation function",
        &rules,
        judge(&rules, &settings, &FUNCTION),
        evidence,
        remediation,
    )
}

/// A template secret's `GenerateSecretString`: the first password, which
/// the database is usually created with.
fn generated_finding(facts: &Facts) -> Option<Finding> {
    let values = facts.template.present()?.generate_secret_string.as_ref()?;
    let resource = facts
        .secret
        .present()
        .map_or(facts.secret_id.as_str(), |s| s.arn.as_str());
    let (rules, engine) = match rules_for(facts, facts.lambda.present()) {
        Ok(found) => found,
        Err(why) => return Some(META.finding(Status::Skipped, resource, why)),
    };
    // CloudFormation's defaults: 32 characters, nothing excluded.
    let (default_exclude, default_length) = ("", 32);
    let settings = Settings::read(
        values,
        &GENERATE_SECRET_STRING,
        default_exclude,
        default_length,
    );
    let mut evidence = vec![format!("engine: {} ({engine})", rules.name)];
    evidence.extend(settings_evidence(
        values,
        &GENERATE_SECRET_STRING,
        default_exclude,
        default_length,
    ));
    let needed: String = rules
        .rejected
        .chars()
        .chain(rules.template_breaks.iter().map(|(c, _)| *c))
        .collect();
    let remediation = format!(
        "Give the secret's GenerateSecretString an ExcludeCharacters of at least `{needed}` and a PasswordLength \
         between {} and {}.",
        rules.min_length, rules.max_length
    );
    Some(verdict(
        resource,
        "the secret's GenerateSecretString",
        &rules,
        judge(&rules, &settings, &GENERATE_SECRET_STRING),
        evidence,
        remediation,
    ))
}

impl Check for GeneratedPassword {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let mut findings = vec![function_finding(facts)];
        findings.extend(generated_finding(facts));
        findings
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.lambda)
                .password_settings
                .insert("EXCLUDE_CHARACTERS".into(), "/\"'\\".into());
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Fact, HostedRotation, TemplateFacts};
    use crate::fixtures::get;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&GeneratedPassword, facts).remove(0)
    }

    fn with(settings: &[(&str, &str)]) -> Facts {
        let mut facts = GeneratedPassword.fixtures().1;
        let lambda = get(&mut facts.lambda);
        for (name, value) in settings {
            lambda
                .password_settings
                .insert(name.to_string(), value.to_string());
        }
        facts
    }

    fn engine(mut facts: Facts, engine: &str) -> Facts {
        get(&mut facts.connection).engine = Some(engine.into());
        facts.database = Fact::NotApplicable("none".into());
        facts
    }

    #[test]
    fn an_at_sign_on_mysql_fails_naming_it_and_the_rule() {
        let f = first(&GeneratedPassword.fixtures().0);
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        assert!(f.message.contains("`@`"), "{}", f.message);
        assert!(f.message.contains("RDS for MySQL"), "{}", f.message);
        assert!(f.message.contains(RDS_RULE), "{}", f.message);
        assert!(!f.message.contains("`/`"), "{}", f.message);
    }

    #[test]
    fn the_templates_defaults_pass_for_every_engine() {
        for e in [
            "mysql",
            "mariadb",
            "postgres",
            "sqlserver",
            "db2",
            "redshift",
            "mongo",
        ] {
            let f = first(&engine(with(&[]), e));
            assert_eq!(f.status, Status::Pass, "{e}: {}", f.message);
        }
        // Except Oracle's own default, which lets `&` through: RDS refuses
        // it only through its API.
        let f = first(&engine(with(&[]), "oracle"));
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        assert!(f.message.contains("`&`"), "{}", f.message);
    }

    #[test]
    fn oracle_over_30_characters_fails() {
        let f = first(&engine(with(&[("PASSWORD_LENGTH", "40")]), "oracle"));
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("PASSWORD_LENGTH=40 is over RDS for Oracle's limit of 30 characters"),
            "{}",
            f.message
        );
        // 40 is fine for PostgreSQL; 7 is too short everywhere.
        let f = first(&engine(with(&[("PASSWORD_LENGTH", "40")]), "postgres"));
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        let f = first(&engine(with(&[("PASSWORD_LENGTH", "7")]), "postgres"));
        assert!(f.message.contains("minimum of 8"), "{}", f.message);
        let f = first(&engine(with(&[("PASSWORD_LENGTH", "thirty")]), "postgres"));
        assert!(f.message.contains("ValueError"), "{}", f.message);
    }

    #[test]
    fn oracle_quote_and_db2_semicolon_fail() {
        let f = first(&engine(with(&[("EXCLUDE_CHARACTERS", "/@'\\")]), "oracle"));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("`\"`"), "{}", f.message);
        let f = first(&engine(with(&[("EXCLUDE_CHARACTERS", "/@\"'\\")]), "db2"));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("`;`"), "{}", f.message);
        assert!(f.message.contains("PWD="), "{}", f.message);
    }

    #[test]
    fn url_hazards_only_warn() {
        let f = first(&engine(with(&[("EXCLUDE_CHARACTERS", "/@\"")]), "postgres"));
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        assert!(f.message.contains("`:`"), "{}", f.message);
        assert!(f.message.contains("`'`"), "{}", f.message);
    }

    #[test]
    fn excluding_punctuation_makes_any_exclude_set_safe() {
        let f = first(&with(&[
            ("EXCLUDE_CHARACTERS", ""),
            ("EXCLUDE_PUNCTUATION", "True"),
        ]));
        assert_eq!(f.status, Status::Pass, "{}", f.message);
    }

    #[test]
    fn character_kinds_redshift_sql_server_and_none() {
        let f = first(&engine(with(&[("EXCLUDE_NUMBERS", "yes")]), "redshift"));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("EXCLUDE_NUMBERS"), "{}", f.message);
        let f = first(&engine(
            with(&[("REQUIRE_EACH_INCLUDED_TYPE", "false")]),
            "redshift",
        ));
        assert_eq!(f.status, Status::Warn, "{}", f.message);
        let f = first(&engine(
            with(&[("EXCLUDE_NUMBERS", "1"), ("EXCLUDE_PUNCTUATION", "1")]),
            "sqlserver",
        ));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("CHECK_POLICY"), "{}", f.message);
        let all = [
            ("EXCLUDE_NUMBERS", "1"),
            ("EXCLUDE_PUNCTUATION", "1"),
            ("EXCLUDE_UPPERCASE", "1"),
            ("EXCLUDE_LOWERCASE", "1"),
        ];
        assert!(first(&with(&all)).message.contains("no characters"));
    }

    #[test]
    fn aurora_clusters_are_limited_to_41() {
        let mut facts = with(&[("PASSWORD_LENGTH", "64")]);
        get(&mut facts.connection).engine = Some("postgres".into());
        get(&mut facts.database).engine = Some("aurora-postgresql".into());
        let f = first(&facts);
        assert!(
            f.message.contains("Aurora PostgreSQL's limit of 41"),
            "{}",
            f.message
        );
    }

    #[test]
    fn engine_from_the_rotation_type_and_unknown_engines_skip() {
        let mut facts = with(&[("PASSWORD_LENGTH", "40")]);
        facts.connection = Fact::NotApplicable("template".into());
        facts.database = Fact::NotApplicable("none".into());
        assert_eq!(first(&facts).status, Status::Skipped);
        facts.template = Fact::Present(TemplateFacts {
            hosted_rotation: Some(HostedRotation {
                rotation_type: "OracleSingleUser".into(),
                ..HostedRotation::default()
            }),
            ..TemplateFacts::default()
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.contains("OracleSingleUser")));
    }

    #[test]
    fn a_templates_generate_secret_string_is_judged_as_rds_sets_it() {
        let mut facts = GeneratedPassword.fixtures().1;
        facts.template = Fact::Present(TemplateFacts {
            generate_secret_string: Some(BTreeMap::new()),
            ..TemplateFacts::default()
        });
        let findings = crate::rules::evaluate_alone(&GeneratedPassword, &facts);
        assert_eq!(findings[0].status, Status::Pass);
        // CloudFormation excludes nothing by default: RDS refuses / " @.
        let f = &findings[1];
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        assert!(
            f.message
                .contains("ExcludeCharacters lets it generate `/`, `\"`, `@`"),
            "{}",
            f.message
        );
        let settings = BTreeMap::from([
            ("ExcludeCharacters".to_string(), "/@\"".to_string()),
            ("PasswordLength".to_string(), "24".to_string()),
        ]);
        get_template(&mut facts).generate_secret_string = Some(settings);
        let findings = crate::rules::evaluate_alone(&GeneratedPassword, &facts);
        assert_eq!(findings[1].status, Status::Pass, "{}", findings[1].message);
    }

    fn get_template(facts: &mut Facts) -> &mut TemplateFacts {
        match &mut facts.template {
            Fact::Present(template) => template,
            _ => panic!("no template"),
        }
    }

    #[test]
    fn a_function_that_is_not_a_template_is_skipped() {
        let mut facts = GeneratedPassword.fixtures().1;
        get(&mut facts.lambda).secrets_manager_endpoint = None;
        assert_eq!(first(&facts).status, Status::Skipped);
    }
}
