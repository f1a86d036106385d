//! A small reader of IAM-style policy documents: enough to say whether a
//! document allows, denies, or cannot be decided for an action on a resource.
//! Conditions are not evaluated: a statement with a condition makes the
//! answer `Conditional`, never a silent allow.

use std::borrow::Cow;

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed {
        sid: Option<String>,
    },
    /// An explicit deny.
    Denied {
        sid: Option<String>,
    },
    /// No statement allows it (the implicit deny).
    NotAllowed,
    /// Only statements with conditions would decide; not evaluated.
    Conditional {
        sid: Option<String>,
    },
}

/// Whether letter case matters in a comparison. IAM matches action names
/// without case, but resource and principal ARNs and the values of the
/// `String*` (other than `…IgnoreCase`) and `Arn*` condition operators with
/// case:
/// - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
/// - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
/// - https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// ARNs, principals, and `StringEquals` / `StringLike` / `Arn*` values.
    Sensitive,
    /// Action names, `StringEqualsIgnoreCase` values, condition key names.
    Insensitive,
}

/// Glob match with `*` (any run) and `?` (any one byte), with or without
/// case as `case` says.
///
/// Iterative, with one backtrack point: on a mismatch only the latest `*`
/// takes one more byte (an earlier `*` never needs to, since the latest one
/// can absorb anything it would). At most pattern × text steps, never the
/// exponential time of trying every split of every `*`.
pub fn glob_matches_case(pattern: &str, text: &str, case: Case) -> bool {
    let same = |a: u8, b: u8| match case {
        Case::Sensitive => a == b,
        Case::Insensitive => a.eq_ignore_ascii_case(&b),
    };
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // After the latest `*`: where the pattern resumes, and where in the
    // text the `*`'s match currently ends.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some((pi, ti));
            }
            Some(&c) if c == b'?' || same(c, t[ti]) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((resume, end)) => {
                    pi = resume;
                    ti = end + 1;
                    star = Some((resume, end + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Case-insensitive glob match: right for IAM action names only (an ARN
/// needs `glob_matches_case(.., Case::Sensitive)`). Kept with this
/// signature for callers outside this crate and the fuzz target.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    glob_matches_case(pattern, text, Case::Insensitive)
}

/// A policy element that may be one string or a list of strings.
pub fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a document (one object or a list).
pub fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(statement @ Value::Object(_)) => vec![statement],
        _ => Vec::new(),
    }
}

fn sid(statement: &Value) -> Option<String> {
    statement
        .get("Sid")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Whether the statement's Action / NotAction covers `action` (action
/// names match without case).
fn covers_action(statement: &Value, action: &str) -> bool {
    let matches = |p: &&str| glob_matches_case(p, action, Case::Insensitive);
    if let Some(actions) = statement.get("Action") {
        strings(Some(actions)).iter().any(matches)
    } else if let Some(not_actions) = statement.get("NotAction") {
        !strings(Some(not_actions)).iter().any(matches)
    } else {
        false
    }
}

/// Whether the statement's Resource / NotResource covers `resource`; a
/// statement without either (a resource policy) covers everything. ARNs
/// match with case: `secret:Prod/*` does not cover `secret:prod/db`.
fn covers_resource(statement: &Value, resource: &str) -> bool {
    let matches = |p: &&str| glob_matches_case(p, resource, Case::Sensitive);
    if let Some(resources) = statement.get("Resource") {
        strings(Some(resources)).iter().any(matches)
    } else if let Some(not_resources) = statement.get("NotResource") {
        !strings(Some(not_resources)).iter().any(matches)
    } else {
        true
    }
}

/// Whether the statement's principal covers everyone (`*`, `{"AWS": "*"}`),
/// or `principal` when given (an ARN, or a service name). Compared with
/// case: AWS documents principal ARNs as case sensitive and no principal as
/// case insensitive.
fn covers_principal(statement: &Value, principal: Option<&str>) -> bool {
    let Some(value) = statement.get("Principal") else {
        // Identity policies have no principal: they apply to their holder.
        return true;
    };
    if value.as_str() == Some("*") {
        return true;
    }
    let named: Vec<&str> = ["AWS", "Service", "Federated"]
        .iter()
        .flat_map(|key| strings(value.get(*key)))
        .collect();
    named.contains(&"*")
        || principal.is_some_and(|p| {
            named
                .iter()
                .any(|n| glob_matches_case(n, p, Case::Sensitive))
        })
}

/// What `document` says about `principal` doing `action` on `resource`.
pub fn decide(document: &Value, principal: Option<&str>, action: &str, resource: &str) -> Decision {
    let mut allowed = None;
    let mut conditional = None;
    for statement in statements(document) {
        if !(covers_action(statement, action)
            && covers_resource(statement, resource)
            && covers_principal(statement, principal))
        {
            continue;
        }
        let has_condition = statement
            .get("Condition")
            .is_some_and(|c| c.as_object().is_some_and(|o| !o.is_empty()));
        let effect = statement.get("Effect").and_then(Value::as_str);
        match (effect, has_condition) {
            (Some("Deny"), false) => {
                return Decision::Denied {
                    sid: sid(statement),
                }
            }
            (Some("Allow"), false) => allowed = allowed.or(Some(sid(statement))),
            (Some(_), true) => conditional = conditional.or(Some(sid(statement))),
            _ => {}
        }
    }
    match (allowed, conditional) {
        (_, Some(sid)) => Decision::Conditional { sid },
        (Some(sid), None) => Decision::Allowed { sid },
        (None, None) => Decision::NotAllowed,
    }
}

/// What the evaluator knows about a request, to evaluate conditions on
/// these keys (matched case-insensitively); a condition on any other key is
/// reported as not evaluated.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    /// For resource policies (a key policy): the principals the request may
    /// come as; a statement matches when its `Principal` names one of them
    /// or everyone. `None` for identity policies, which have no principal.
    pub principals: Option<&'a [&'a str]>,
    /// Condition keys with their known value.
    pub context: &'a [(&'a str, &'a str)],
}

/// The outcome of a statement's `Condition` block for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionOutcome {
    Met,
    /// A condition fails for this request, with the condition as text.
    NotMet(String),
    /// Conditions on keys or operators this evaluator does not evaluate.
    NotEvaluated(Vec<String>),
}

/// Evaluates the string and ARN operators (and their `IfExists` and `Not`
/// forms) on the keys `context` knows. Anything else is not evaluated. Key
/// names match without case; values with case, except for the
/// `…IgnoreCase` operators:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
pub fn evaluate_condition(condition: Option<&Value>, context: &[(&str, &str)]) -> ConditionOutcome {
    let Some(blocks) = condition.and_then(Value::as_object) else {
        return ConditionOutcome::Met;
    };
    let mut not_evaluated = Vec::new();
    for (operator, keys) in blocks {
        let Some(keys) = keys.as_object() else {
            not_evaluated.push(operator.clone());
            continue;
        };
        let base = operator.strip_suffix("IfExists").unwrap_or(operator);
        let (negated, base) = match base {
            "StringNotEquals" => (true, "StringEquals"),
            "StringNotEqualsIgnoreCase" => (true, "StringEqualsIgnoreCase"),
            "StringNotLike" => (true, "StringLike"),
            "ArnNotEquals" => (true, "ArnEquals"),
            "ArnNotLike" => (true, "ArnLike"),
            other => (false, other),
        };
        let known = matches!(
            base,
            "StringEquals" | "StringEqualsIgnoreCase" | "StringLike" | "ArnEquals" | "ArnLike"
        );
        for (key, values) in keys {
            let patterns = strings(Some(values));
            let subject = context
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| *v);
            let Some(subject) = subject.filter(|_| known) else {
                not_evaluated.push(format!("{operator} {key}"));
                continue;
            };
            let matched = patterns.iter().any(|p| match base {
                "StringEquals" => *p == subject,
                "StringEqualsIgnoreCase" => p.eq_ignore_ascii_case(subject),
                // StringLike, ArnEquals, ArnLike: wildcards, with case.
                _ => glob_matches_case(p, subject, Case::Sensitive),
            });
            if matched == negated {
                return ConditionOutcome::NotMet(format!(
                    "{operator} {key} {}",
                    patterns.join(", ")
                ));
            }
        }
    }
    if not_evaluated.is_empty() {
        ConditionOutcome::Met
    } else {
        ConditionOutcome::NotEvaluated(not_evaluated)
    }
}

/// What a set of policy documents says about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// An Allow statement applies (its label: policy and Sid).
    Allowed { by: String },
    /// An explicit Deny applies.
    Denied { by: String },
    /// No statement allows it: the implicit deny.
    NotAllowed,
    /// Only statements with conditions that were not evaluated decide.
    Unknown { reason: String },
}

impl Access {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Access::Allowed { .. })
    }
}

/// Whether `statement`'s Principal / NotPrincipal covers one of `principals`
/// (or everyone), with case as in `covers_principal`.
fn covers_any_principal(statement: &Value, principals: &[&str]) -> bool {
    let named = |value: &Value| -> Vec<String> {
        if value.as_str() == Some("*") {
            return vec!["*".to_string()];
        }
        ["AWS", "Service", "Federated", "CanonicalUser"]
            .iter()
            .flat_map(|key| strings(value.get(*key)))
            .map(str::to_string)
            .collect()
    };
    let listed = |names: &[String]| {
        names.iter().any(|n| {
            n == "*"
                || principals
                    .iter()
                    .any(|p| glob_matches_case(n, p, Case::Sensitive))
        })
    };
    match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(principal), _) => listed(&named(principal)),
        (None, Some(not_principal)) => !listed(&named(not_principal)),
        (None, None) => false,
    }
}

/// Evaluates `request` against every statement of every `(label, document)`,
/// the way IAM combines policies of one kind: an explicit Deny wins, else an
/// Allow, else the implicit deny. A statement whose conditions cannot be
/// evaluated makes the answer `Unknown` where it could change it.
pub fn evaluate(documents: &[(&str, &Value)], request: &Request) -> Access {
    let mut allowed: Option<String> = None;
    let mut deny_unknown = Vec::new();
    let mut allow_unknown = Vec::new();
    for (label, document) in documents {
        for statement in statements(document) {
            let principal_ok = match request.principals {
                Some(principals) => covers_any_principal(statement, principals),
                None => true,
            };
            if !(principal_ok
                && covers_action(statement, request.action)
                && covers_resource(statement, request.resource))
            {
                continue;
            }
            let by = match sid(statement) {
                Some(sid) => format!("{label}, statement {sid}"),
                None => label.to_string(),
            };
            let outcome = evaluate_condition(statement.get("Condition"), request.context);
            match (statement.get("Effect").and_then(Value::as_str), outcome) {
                (Some("Deny"), ConditionOutcome::Met) => return Access::Denied { by },
                (Some("Deny"), ConditionOutcome::NotEvaluated(keys)) => {
                    deny_unknown.push(format!("{by} ({})", keys.join(", ")))
                }
                (Some("Allow"), ConditionOutcome::Met) => {
                    allowed.get_or_insert(by);
                }
                (Some("Allow"), ConditionOutcome::NotEvaluated(keys)) => {
                    allow_unknown.push(format!("{by} ({})", keys.join(", ")))
                }
                _ => {}
            }
        }
    }
    if !deny_unknown.is_empty() {
        return Access::Unknown {
            reason: format!(
                "a Deny with conditions not evaluated may apply: {}",
                deny_unknown.join("; ")
            ),
        };
    }
    match allowed {
        Some(by) => Access::Allowed { by },
        None if !allow_unknown.is_empty() => Access::Unknown {
            reason: format!(
                "allowed only under conditions not evaluated: {}",
                allow_unknown.join("; ")
            ),
        },
        None => Access::NotAllowed,
    }
}

/// Parses an IAM policy document: the IAM API returns them URL-encoded
/// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html);
/// a document that is already JSON is taken as is.
pub fn parse_document(text: &str) -> Result<Value, String> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(value);
    }
    let decoded = decode_policy_document(text);
    serde_json::from_str::<Value>(&decoded)
        .map_err(|e| format!("the policy document is not JSON: {e}"))
}

/// The text of a URL-encoded policy document, as IAM returns them (RFC
/// 3986: `%XX` escapes; a `+` is a plus sign, as botocore's `unquote` reads
/// it). Invalid escapes are kept as they are, and bytes that are not UTF-8
/// become U+FFFD.
pub fn decode_policy_document(text: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy()
}

/// One permission the rotation Lambda's execution role needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    pub action: &'static str,
    pub resource: String,
    /// What fails without it, for a person.
    pub why: &'static str,
}

/// The Secrets Manager actions the templates call on the secret itself.
pub const SECRET_ACTIONS: [(&str, &str); 4] = [
    (
        "secretsmanager:DescribeSecret",
        "every step starts with DescribeSecret",
    ),
    (
        "secretsmanager:GetSecretValue",
        "createSecret, setSecret and testSecret read the secret",
    ),
    (
        "secretsmanager:PutSecretValue",
        "createSecret stores the new AWSPENDING version",
    ),
    (
        "secretsmanager:UpdateSecretVersionStage",
        "finishSecret moves AWSCURRENT",
    ),
];

/// The network-interface actions a VPC function's role needs
/// (the core of `AWSLambdaVPCAccessExecutionRole`).
pub const ENI_ACTIONS: [&str; 3] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
];

/// The KMS actions a secret under a customer managed key needs.
pub const KMS_ACTIONS: [(&str, &str); 2] = [
    (
        "kms:Decrypt",
        "GetSecretValue fails with \"Access to KMS is not allowed\"",
    ),
    (
        "kms:GenerateDataKey",
        "PutSecretValue fails with \"Access to KMS is not allowed\"",
    ),
];

/// What a multi-user rotation needs when its master secret is managed by
/// RDS: the templates look the master's database up by the ARN in its tag
/// (`get_connection_params_from_rds_api`), with DescribeDBInstances for an
/// instance and DescribeDBClusters for a cluster.
pub fn master_lookup_need(primary_arn: &str) -> Need {
    let cluster = crate::arn::Arn::parse(primary_arn)
        .and_then(|arn| arn.resource_type())
        .is_some_and(|kind| kind == "cluster");
    Need {
        action: if cluster {
            "rds:DescribeDBClusters"
        } else {
            "rds:DescribeDBInstances"
        },
        resource: primary_arn.to_string(),
        why: "setSecret looks up the host of the RDS-managed master secret's database",
    }
}

/// The ElastiCache actions the user rotation function calls on the user
/// its secret's `user_arn` names: DescribeUsers to wait for the user to be
/// `active`, ModifyUser to set the password (ElastiCache user guide,
/// "Automatically rotating passwords for users", the role's policy).
pub const ELASTICACHE_USER_ACTIONS: [(&str, &str); 2] = [
    (
        "elasticache:DescribeUsers",
        "every step waits for the ElastiCache user to be active",
    ),
    (
        "elasticache:ModifyUser",
        "setSecret sets the ElastiCache user's new password",
    ),
];

/// What the rotation function calls on the database side besides the
/// database itself: the RDS lookup of a master secret RDS manages (the ARN
/// in its tag), or the ElastiCache API on the user a user secret names.
pub fn database_api_needs(facts: &crate::Facts) -> Vec<Need> {
    let master = facts
        .master_secret
        .present()
        .and_then(|master| master.rds_primary_arn.as_deref())
        .map(master_lookup_need);
    let elasticache_user = facts
        .database
        .present()
        .filter(|db| db.kind == crate::DatabaseKind::ElasticacheUser)
        .and_then(|db| db.arn.as_deref());
    let user = elasticache_user.into_iter().flat_map(|user_arn| {
        ELASTICACHE_USER_ACTIONS.iter().map(|(action, why)| Need {
            action,
            resource: user_arn.to_string(),
            why,
        })
    });
    master.into_iter().chain(user).collect()
}

/// What the execution role of a rotation Lambda needs, per the Secrets
/// Manager documentation: the four secret actions on the secret, the
/// password generator on `*`, the ENI actions on `*` for a VPC function,
/// Decrypt / GenerateDataKey on a customer managed key, and what it calls
/// on the database side (`database_api`, see [`database_api_needs`]).
pub fn rotation_role_needs(
    secret_arn: &str,
    key_arn: Option<&str>,
    in_vpc: bool,
    database_api: Vec<Need>,
) -> Vec<Need> {
    let mut needs: Vec<Need> = SECRET_ACTIONS
        .iter()
        .map(|(action, why)| Need {
            action,
            resource: secret_arn.to_string(),
            why,
        })
        .collect();
    needs.push(Need {
        action: "secretsmanager:GetRandomPassword",
        resource: "*".to_string(),
        why: "createSecret generates the new password",
    });
    if in_vpc {
        needs.extend(ENI_ACTIONS.iter().map(|action| Need {
            action,
            resource: "*".to_string(),
            why: "Lambda creates the function's network interfaces in the VPC with the role",
        }));
    }
    if let Some(key) = key_arn {
        needs.extend(KMS_ACTIONS.iter().map(|(action, why)| Need {
            action,
            resource: key.to_string(),
            why,
        }));
    }
    needs.extend(database_api);
    needs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_like_iam() {
        assert!(glob_matches(
            "secretsmanager:*",
            "secretsmanager:GetSecretValue"
        ));
        assert!(glob_matches(
            "secretsmanager:Get*",
            "SecretsManager:GetSecretValue"
        ));
        assert!(glob_matches("*", "kms:Decrypt"));
        assert!(glob_matches("s3:?etObject", "s3:GetObject"));
        assert!(!glob_matches(
            "secretsmanager:Put*",
            "secretsmanager:GetSecretValue"
        ));
        assert!(!glob_matches("kms:Decrypt", "kms:DecryptX"));
        assert!(glob_matches("", ""));
        assert!(glob_matches("**", ""));
        assert!(!glob_matches("?", ""));
        assert!(glob_matches("a*b*c", "aXbYbZc"));
        assert!(!glob_matches("a*b*c", "aXbYbZ"));
        assert!(glob_matches("*:*Secret*", "secretsmanager:GetSecretValue"));
    }

    /// Many `*` against a long text that almost matches: the recursive
    /// matcher this replaced tried every split (`*a` eight times and `b`
    /// against 44 `a`s ran past the fuzz target's 10 s timeout); the
    /// iterative one answers at once.
    #[test]
    fn many_stars_do_not_take_exponential_time() {
        let text = "a".repeat(200);
        let stars = "*a".repeat(40);
        assert!(!glob_matches(&format!("{stars}b"), &text));
        assert!(glob_matches(&format!("{stars}*"), &text));
        assert!(glob_matches(&stars, &text));
        assert!(!glob_matches(&"*a".repeat(201), &text));
        for case in [Case::Sensitive, Case::Insensitive] {
            assert!(!glob_matches_case(&format!("{stars}b"), &text, case));
            assert!(glob_matches_case(&stars, &text, case));
        }
    }

    const PROD_DB: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf";

    #[test]
    fn resource_arns_match_with_case() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:Prod/*"}]});
        let docs = [("p", &doc)];
        let get = |resource| {
            evaluate(
                &docs,
                &request("secretsmanager:GetSecretValue", resource, &[]),
            )
        };
        assert_eq!(get(PROD_DB), Access::NotAllowed);
        assert!(get(&PROD_DB.replace("prod/", "Prod/")).is_allowed());
        assert_eq!(
            decide(&doc, None, "secretsmanager:GetSecretValue", PROD_DB),
            Decision::NotAllowed
        );
        // NotResource too: `Prod/*` does not exclude `prod/db`.
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "secretsmanager:*",
            "NotResource": "arn:aws:secretsmanager:*:*:secret:Prod/*"}]});
        let docs = [("p", &doc)];
        assert!(evaluate(
            &docs,
            &request("secretsmanager:GetSecretValue", PROD_DB, &[])
        )
        .is_allowed());
    }

    #[test]
    fn action_names_match_without_case() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "SecretsManager:GetSecretValue", "Resource": PROD_DB}]});
        let docs = [("p", &doc)];
        assert!(evaluate(
            &docs,
            &request("secretsmanager:getsecretvalue", PROD_DB, &[])
        )
        .is_allowed());
        let doc = json!({"Statement": [{"Effect": "Allow", "NotAction": "SECRETSMANAGER:Delete*", "Resource": "*"}]});
        let docs = [("p", &doc)];
        assert_eq!(
            evaluate(&docs, &request("secretsmanager:DeleteSecret", PROD_DB, &[])),
            Access::NotAllowed
        );
    }

    #[test]
    fn only_ignore_case_operators_ignore_the_case_of_values() {
        // Key names match without case whatever the operator.
        let context = [("AWS:UserName", "JohnDoe")];
        let outcome = |operator: &str, value: &str| {
            evaluate_condition(Some(&json!({operator: {"aws:username": value}})), &context)
        };
        assert_eq!(
            outcome("StringEqualsIgnoreCase", "johndoe"),
            ConditionOutcome::Met
        );
        assert!(matches!(
            outcome("StringNotEqualsIgnoreCase", "johndoe"),
            ConditionOutcome::NotMet(_)
        ));
        assert_eq!(
            outcome("StringNotEqualsIgnoreCase", "janedoe"),
            ConditionOutcome::Met
        );
        assert!(matches!(
            outcome("StringEquals", "johndoe"),
            ConditionOutcome::NotMet(_)
        ));
        assert_eq!(outcome("StringEquals", "JohnDoe"), ConditionOutcome::Met);
        assert!(matches!(
            outcome("StringLike", "john*"),
            ConditionOutcome::NotMet(_)
        ));
        assert_eq!(outcome("StringLike", "John*"), ConditionOutcome::Met);
        assert_eq!(outcome("StringNotLike", "john*"), ConditionOutcome::Met);

        let arn = [("aws:SourceArn", PROD_DB)];
        let upper =
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:secretsmanager:*:*:secret:Prod/*"}});
        assert!(matches!(
            evaluate_condition(Some(&upper), &arn),
            ConditionOutcome::NotMet(_)
        ));
        let lower =
            json!({"ArnEquals": {"aws:sourcearn": "arn:aws:secretsmanager:*:*:secret:prod/*"}});
        assert_eq!(
            evaluate_condition(Some(&lower), &arn),
            ConditionOutcome::Met
        );
    }

    #[test]
    fn principal_arns_match_with_case() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:role/Rotation"}, "Action": "kms:*", "Resource": "*"}]});
        let docs = [("key policy", &doc)];
        let req = |principals| Request {
            action: "kms:Decrypt",
            resource: "*",
            principals: Some(principals),
            context: &[],
        };
        assert!(evaluate(&docs, &req(&["arn:aws:iam::1:role/Rotation"])).is_allowed());
        assert_eq!(
            evaluate(&docs, &req(&["arn:aws:iam::1:role/rotation"])),
            Access::NotAllowed
        );
        assert!(matches!(
            decide(
                &doc,
                Some("arn:aws:iam::1:role/Rotation"),
                "KMS:decrypt",
                "*"
            ),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            decide(
                &doc,
                Some("arn:aws:iam::1:role/rotation"),
                "kms:Decrypt",
                "*"
            ),
            Decision::NotAllowed
        );
    }

    /// `s` with the case of the letters `flips` marks swapped.
    fn flip_case(s: &str, flips: &[bool]) -> String {
        s.chars()
            .zip(flips.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &flip)| match (flip, c.is_ascii_uppercase()) {
                (false, _) => c,
                (true, true) => c.to_ascii_lowercase(),
                (true, false) => c.to_ascii_uppercase(),
            })
            .collect()
    }

    proptest::proptest! {
        /// A resource pattern with any letter's case flipped matches only
        /// when it is still the same string; an action pattern always does.
        #[test]
        fn flipped_case_matches_actions_but_not_resources(
            s in "[A-Za-z]{1,40}",
            flips in proptest::collection::vec(proptest::prelude::any::<bool>(), 40),
            at in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let mut flips = flips;
            // At least one letter flips, so the strings differ.
            flips[at.index(s.len())] = true;
            let flipped = flip_case(&s, &flips);
            proptest::prop_assert_ne!(&flipped, &s);
            proptest::prop_assert_eq!(glob_matches_case(&flipped, &s, Case::Sensitive), flipped == s);
            proptest::prop_assert!(glob_matches_case(&flipped, &s, Case::Insensitive));

            // The same through the evaluator.
            let resource = format!("arn:aws:secretsmanager:us-east-1:1:secret:{s}");
            let action = format!("secretsmanager:{s}");
            let doc = json!({"Statement": [{"Effect": "Allow",
                "Action": format!("secretsmanager:{flipped}"),
                "Resource": format!("arn:aws:secretsmanager:us-east-1:1:secret:{flipped}")}]});
            let docs = [("p", &doc)];
            proptest::prop_assert_eq!(
                evaluate(&docs, &request(&action, &resource, &[])),
                Access::NotAllowed
            );
            let doc = json!({"Statement": [{"Effect": "Allow",
                "Action": format!("secretsmanager:{flipped}"), "Resource": resource.clone()}]});
            let docs = [("p", &doc)];
            proptest::prop_assert!(evaluate(&docs, &request(&action, &resource, &[])).is_allowed());
        }
    }

    #[test]
    fn explicit_deny_beats_allow() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Sid": "NoPut", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutSecretValue", "Resource": "*"}
        ]});
        assert_eq!(
            decide(&doc, None, "secretsmanager:PutSecretValue", "arn:x"),
            Decision::Denied {
                sid: Some("NoPut".into())
            }
        );
        assert!(matches!(
            decide(&doc, None, "secretsmanager:GetSecretValue", "arn:x"),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn not_action_and_missing_allow() {
        let doc = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "NotAction": "secretsmanager:Delete*", "Resource": "*"}});
        assert!(matches!(
            decide(&doc, None, "secretsmanager:GetSecretValue", "arn:x"),
            Decision::Allowed { .. }
        ));
        assert_eq!(
            decide(&doc, None, "secretsmanager:DeleteSecret", "arn:x"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn conditions_are_not_evaluated() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}}]});
        assert!(matches!(
            decide(&doc, None, "secretsmanager:GetSecretValue", "arn:x"),
            Decision::Conditional { .. }
        ));
    }

    fn request<'a>(
        action: &'a str,
        resource: &'a str,
        context: &'a [(&'a str, &'a str)],
    ) -> Request<'a> {
        Request {
            action,
            resource,
            principals: None,
            context,
        }
    }

    #[test]
    fn evaluation_combines_documents_and_deny_wins() {
        let allow = json!({"Statement": {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}});
        let deny = json!({"Statement": [{"Sid": "NoPut", "Effect": "Deny", "Action": "secretsmanager:Put*", "Resource": "arn:aws:secretsmanager:*:*:secret:lab/*"}]});
        let docs = [("inline a", &allow), ("managed b", &deny)];
        assert_eq!(
            evaluate(
                &docs,
                &request(
                    "secretsmanager:PutSecretValue",
                    "arn:aws:secretsmanager:us-east-1:1:secret:lab/x-AbC",
                    &[]
                )
            ),
            Access::Denied {
                by: "managed b, statement NoPut".into()
            }
        );
        assert_eq!(
            evaluate(
                &docs,
                &request("secretsmanager:GetSecretValue", "arn:x", &[])
            ),
            Access::Allowed {
                by: "inline a".into()
            }
        );
        assert_eq!(
            evaluate(&docs, &request("kms:Decrypt", "arn:x", &[])),
            Access::NotAllowed
        );
    }

    #[test]
    fn not_resource_and_not_action_are_complements() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:secretsmanager:*:*:secret:prod/*"}
        ]});
        let docs = [("p", &doc)];
        assert!(evaluate(
            &docs,
            &request(
                "secretsmanager:GetSecretValue",
                "arn:aws:secretsmanager:us-east-1:1:secret:lab/x",
                &[]
            )
        )
        .is_allowed());
        assert_eq!(
            evaluate(
                &docs,
                &request(
                    "secretsmanager:GetSecretValue",
                    "arn:aws:secretsmanager:us-east-1:1:secret:prod/x",
                    &[]
                )
            ),
            Access::NotAllowed
        );
        assert_eq!(
            evaluate(&docs, &request("iam:GetRole", "arn:x", &[])),
            Access::NotAllowed
        );
    }

    #[test]
    fn known_condition_keys_are_evaluated_and_others_are_unknown() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:SecretARN": "arn:s1"}}}]});
        let docs = [("p", &doc)];
        let context = [("kms:EncryptionContext:SecretARN", "arn:s1")];
        assert!(evaluate(&docs, &request("kms:Decrypt", "arn:k", &context)).is_allowed());
        let other = [("kms:EncryptionContext:SecretARN", "arn:s2")];
        assert_eq!(
            evaluate(&docs, &request("kms:Decrypt", "arn:k", &other)),
            Access::NotAllowed
        );
        assert!(matches!(
            evaluate(&docs, &request("kms:Decrypt", "arn:k", &[])),
            Access::Unknown { .. }
        ));
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        let docs = [("p", &doc), ("d", &deny)];
        assert!(matches!(
            evaluate(&docs, &request("kms:Decrypt", "arn:k", &context)),
            Access::Unknown { .. }
        ));
    }

    #[test]
    fn negated_and_if_exists_operators() {
        let cond =
            json!({"StringNotEqualsIfExists": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}});
        assert_eq!(
            evaluate_condition(
                Some(&cond),
                &[("kms:ViaService", "secretsmanager.us-east-1.amazonaws.com")]
            ),
            ConditionOutcome::Met
        );
        assert!(matches!(
            evaluate_condition(
                Some(&cond),
                &[("kms:ViaService", "ec2.us-east-1.amazonaws.com")]
            ),
            ConditionOutcome::NotMet(_)
        ));
    }

    #[test]
    fn resource_policy_principals() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:role/a", "arn:aws:iam::1:root"]}, "Action": "kms:*", "Resource": "*"}]});
        let docs = [("key policy", &doc)];
        let role = ["arn:aws:iam::1:role/a"];
        let other = ["arn:aws:iam::1:role/b"];
        let req = |principals| Request {
            action: "kms:Decrypt",
            resource: "*",
            principals: Some(principals),
            context: &[],
        };
        assert!(evaluate(&docs, &req(&role)).is_allowed());
        assert_eq!(evaluate(&docs, &req(&other)), Access::NotAllowed);
    }

    #[test]
    fn documents_are_percent_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse_document(encoded).unwrap()["Version"], "2012-10-17");
        assert_eq!(parse_document("{\"a\": 1}").unwrap()["a"], 1);
        assert!(parse_document("%zz").is_err());
    }

    #[test]
    fn policy_documents_decode_like_botocores_unquote() {
        assert_eq!(decode_policy_document("%7B%22a%22%3A%201%7D"), "{\"a\": 1}");
        assert_eq!(decode_policy_document("100%"), "100%");
        assert_eq!(decode_policy_document("%zz%4"), "%zz%4");
        assert_eq!(decode_policy_document("a+b%2Bc"), "a+b+c");
        assert_eq!(decode_policy_document("caf%C3%A9"), "café");
        assert_eq!(decode_policy_document("%FF"), "\u{FFFD}");
    }
}
