//! A small reader of IAM-style policy documents: enough to say whether a
//! document allows, denies, or cannot be decided for an action on a resource.
//! Conditions are not evaluated: a statement with a condition makes the
//! answer `Conditional`, never a silent allow.

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

/// Case-insensitive glob match with `*` and `?`, as IAM matches actions.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
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

/// Whether the statement's Action / NotAction covers `action`.
fn covers_action(statement: &Value, action: &str) -> bool {
    if let Some(actions) = statement.get("Action") {
        strings(Some(actions))
            .iter()
            .any(|p| glob_matches(p, action))
    } else if let Some(not_actions) = statement.get("NotAction") {
        !strings(Some(not_actions))
            .iter()
            .any(|p| glob_matches(p, action))
    } else {
        false
    }
}

/// Whether the statement's Resource / NotResource covers `resource`; a
/// statement without either (a resource policy) covers everything.
fn covers_resource(statement: &Value, resource: &str) -> bool {
    if let Some(resources) = statement.get("Resource") {
        strings(Some(resources))
            .iter()
            .any(|p| glob_matches(p, resource))
    } else if let Some(not_resources) = statement.get("NotResource") {
        !strings(Some(not_resources))
            .iter()
            .any(|p| glob_matches(p, resource))
    } else {
        true
    }
}

/// Whether the statement's principal covers everyone (`*`, `{"AWS": "*"}`),
/// or `principal` when given (an ARN, or a service name).
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
    named.contains(&"*") || principal.is_some_and(|p| named.iter().any(|n| glob_matches(n, p)))
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
}
