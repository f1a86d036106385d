//! Our own evaluation of whether a role may make a call: its identity
//! documents (inline and attached), then its permissions boundary, and for
//! KMS actions the key policy. Shared by IAM002 (the rotation secret's
//! needs) and the collector's verdict on a multi-user master secret, whose
//! ARN may not be stored and so must be judged before the facts are kept.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::facts::{ExecutionRole, Fact, KmsKey, RolePolicy, SimulatedAction};
use crate::policy::{evaluate, Access, Need, Request};

/// How one needed action came out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    Granted(String),
    /// No statement allows it: an added Allow fixes it.
    Missing(String),
    /// An explicit Deny or the boundary blocks it: an Allow does not help.
    Blocked(String),
    Unknown(String),
}

/// The labelled documents of a list of policies, and the labels of those
/// that could not be read.
fn documents<'a>(
    kind: &str,
    policies: &'a Fact<Vec<RolePolicy>>,
    docs: &mut Vec<(String, &'a Value)>,
    unreadable: &mut Vec<String>,
) {
    match policies {
        Fact::Present(list) => {
            for policy in list {
                let label = format!("{kind} policy {}", policy.name);
                match &policy.document {
                    Fact::Present(document) => docs.push((label, document)),
                    other => unreadable.push(format!(
                        "{label} ({})",
                        other.missing_reason().unwrap_or_default()
                    )),
                }
            }
        }
        other => unreadable.push(format!(
            "the {kind} policies ({})",
            other.missing_reason().unwrap_or_default()
        )),
    }
}

/// Our own evaluation of the role's documents for one need.
pub fn evaluate_need(
    need: &Need,
    docs: &[(&str, &Value)],
    unreadable: &[String],
    boundary: Option<&RolePolicy>,
    context: &[(&str, &str)],
) -> Outcome {
    let request = Request {
        action: need.action,
        resource: &need.resource,
        principals: None,
        context,
    };
    let identity = match evaluate(docs, &request) {
        Access::Allowed { by } => Outcome::Granted(by),
        Access::Denied { by } => return Outcome::Blocked(format!("explicitly denied by {by}")),
        Access::Unknown { reason } => return Outcome::Unknown(reason),
        Access::NotAllowed if !unreadable.is_empty() => {
            return Outcome::Unknown(format!(
                "no readable policy allows it, and {} could not be read",
                unreadable.join(", ")
            ))
        }
        Access::NotAllowed => return Outcome::Missing("no statement allows it".to_string()),
    };
    let Some(boundary) = boundary else {
        return identity;
    };
    let label = format!("the permissions boundary {}", boundary.name);
    let document = match &boundary.document {
        Fact::Present(document) => document,
        other => {
            return Outcome::Unknown(format!(
                "{label} could not be read: {}",
                other.missing_reason().unwrap_or_default()
            ))
        }
    };
    match evaluate(&[(label.as_str(), document)], &request) {
        Access::Allowed { .. } => identity,
        Access::Denied { by } => Outcome::Blocked(format!("explicitly denied by {by}")),
        Access::NotAllowed => Outcome::Blocked(format!("{label} does not allow it")),
        Access::Unknown { reason } => Outcome::Unknown(reason),
    }
}

/// What the key policy itself grants the role (KMS actions need no IAM
/// statement then).
pub fn key_policy_grants(
    key: &Fact<KmsKey>,
    role_arn: &str,
    need: &Need,
    context: &[(&str, &str)],
) -> bool {
    let Some(policy) = key.present().and_then(|k| k.policy.present()) else {
        return false;
    };
    let principals = [role_arn];
    let request = Request {
        action: need.action,
        resource: "*",
        principals: Some(&principals),
        context,
    };
    evaluate(&[("the key policy", policy)], &request).is_allowed()
}

/// One answer of `iam:SimulatePrincipalPolicy` as an outcome.
pub fn simulated_outcome(result: &SimulatedAction) -> Outcome {
    match (result.decision.as_str(), &result.missing_context) {
        ("allowed", _) => Outcome::Granted("iam:SimulatePrincipalPolicy".to_string()),
        ("explicitDeny", _) => Outcome::Blocked("explicitly denied (simulation)".to_string()),
        // Denied for want of a condition value: undecided.
        (_, missing) if !missing.is_empty() => Outcome::Unknown(format!(
            "the simulation lacked values for {}",
            missing.join(", ")
        )),
        _ => Outcome::Missing("implicitly denied (simulation)".to_string()),
    }
}

/// The role's inline and attached documents that could be read, each with
/// its label, and the labels of those that could not.
pub fn identity_documents(role: &ExecutionRole) -> (Vec<(String, &Value)>, Vec<String>) {
    let mut labelled: Vec<(String, &Value)> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    documents(
        "inline",
        &role.inline_policies,
        &mut labelled,
        &mut unreadable,
    );
    documents(
        "attached",
        &role.attached_policies,
        &mut labelled,
        &mut unreadable,
    );
    (labelled, unreadable)
}

/// Our evaluation of one need for `role`: its identity documents and
/// boundary, and (for a KMS action) the key policy of `key`.
pub fn role_outcome(
    role: &ExecutionRole,
    need: &Need,
    context: &[(&str, &str)],
    key: &Fact<KmsKey>,
) -> Outcome {
    let (labelled, unreadable) = identity_documents(role);
    let docs: Vec<(&str, &Value)> = labelled.iter().map(|(l, d)| (l.as_str(), *d)).collect();
    let outcome = evaluate_need(
        need,
        &docs,
        &unreadable,
        role.permissions_boundary.as_ref(),
        context,
    );
    match outcome {
        Outcome::Missing(_) | Outcome::Unknown(_)
            if need.action.starts_with("kms:")
                && key_policy_grants(key, &role.arn, need, context) =>
        {
            Outcome::Granted("the key policy, which names the role".to_string())
        }
        other => other,
    }
}
