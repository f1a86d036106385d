//! Round 2 (after the Lambda's configuration): the execution role, its trust
//! policy, inline and attached policy documents and permissions boundary, and
//! a `SimulatePrincipalPolicy` for what rotation needs.
//!
//! IAM hands policy documents over URL-encoded
//! (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html);
//! they are decoded by `policy::parse_document`. One unreadable document
//! makes only that document unavailable, never the whole role.

use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum};
use aws_sdk_iam::Client;
use rotation_doctor_checks::policy::{parse_document, rotation_role_needs, Need};
use rotation_doctor_checks::Arn;
use rotation_doctor_checks::{
    ErrorKind, ExecutionRole, Fact, Lambda, RolePolicy, Secret, SimulatedAction, Unavailable,
};
use tokio::task::{JoinHandle, JoinSet};

use super::errors::unavailable;
use super::session::{Session, SimulationKey};

const GET_ROLE: &str = "iam:GetRole";
const LIST_ROLE_POLICIES: &str = "iam:ListRolePolicies";
const GET_ROLE_POLICY: &str = "iam:GetRolePolicy";
const LIST_ATTACHED_ROLE_POLICIES: &str = "iam:ListAttachedRolePolicies";
const GET_POLICY: &str = "iam:GetPolicy";
const GET_POLICY_VERSION: &str = "iam:GetPolicyVersion";
const SIMULATE: &str = "iam:SimulatePrincipalPolicy";

/// Listing stops after this many pages of 100 (a role has at most 10
/// managed policies attached by default, and inline ones are few).
const MAX_PAGES: usize = 5;

/// The role's name: the last path segment of its ARN
/// (`arn:aws:iam::123456789012:role/service-role/name`).
pub(crate) fn role_name(role_arn: &str) -> &str {
    Arn::parse(role_arn)
        .and_then(|arn| arn.iam_name())
        .unwrap_or(role_arn)
}

/// A managed policy's name, from its ARN.
fn policy_name(policy_arn: &str) -> String {
    Arn::parse(policy_arn)
        .and_then(|arn| arn.iam_name())
        .unwrap_or(policy_arn)
        .to_string()
}

fn other(call: &str, message: impl Into<String>) -> Unavailable {
    Unavailable {
        call: call.to_string(),
        kind: ErrorKind::Other,
        message: message.into(),
    }
}

/// The role and its documents; the simulation is added per secret by
/// [`execution_role`].
async fn role_documents(client: &Client, role_arn: &str) -> Fact<ExecutionRole> {
    let name = role_name(role_arn).to_string();
    let (role, inline_names, attached) = tokio::join!(
        client.get_role().role_name(&name).send(),
        list_inline(client, &name),
        list_attached(client, &name),
    );
    let role = match role {
        Ok(output) => match output.role() {
            Some(role) => role.clone(),
            None => return Fact::Unavailable(other(GET_ROLE, "the answer has no role")),
        },
        Err(err) => return Fact::Unavailable(unavailable(GET_ROLE, &err)),
    };
    let trust_policy = role
        .assume_role_policy_document()
        .and_then(|text| parse_document(text).ok());
    let boundary_arn = role
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_string);

    // The documents, all at once.
    let inline = async {
        match inline_names {
            Ok(names) => Fact::Present(inline_documents(client, &name, names).await),
            Err(why) => Fact::Unavailable(why),
        }
    };
    let attached = async {
        match attached {
            Ok(list) => Fact::Present(managed_documents(client, list).await),
            Err(why) => Fact::Unavailable(why),
        }
    };
    let boundary = async {
        match boundary_arn {
            Some(arn) => managed_documents(client, vec![(policy_name(&arn), arn)])
                .await
                .pop(),
            None => None,
        }
    };
    let (inline_policies, attached_policies, permissions_boundary) =
        tokio::join!(inline, attached, boundary);

    Fact::Present(ExecutionRole {
        arn: role.arn().to_string(),
        name: role.role_name().to_string(),
        trust_policy,
        inline_policies,
        attached_policies,
        permissions_boundary,
        simulation: Fact::NotApplicable("not simulated yet".to_string()),
    })
}

async fn list_inline(client: &Client, role: &str) -> Result<Vec<String>, Unavailable> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let output = client
            .list_role_policies()
            .role_name(role)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|err| unavailable(LIST_ROLE_POLICIES, &err))?;
        names.extend(output.policy_names().iter().cloned());
        match output.marker() {
            Some(next) if output.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(names)
}

/// (name, ARN) of each attached managed policy.
async fn list_attached(client: &Client, role: &str) -> Result<Vec<(String, String)>, Unavailable> {
    let mut list = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let output = client
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|err| unavailable(LIST_ATTACHED_ROLE_POLICIES, &err))?;
        list.extend(output.attached_policies().iter().filter_map(|p| {
            let arn = p.policy_arn()?.to_string();
            let name = p
                .policy_name()
                .map(str::to_string)
                .unwrap_or_else(|| policy_name(&arn));
            Some((name, arn))
        }));
        match output.marker() {
            Some(next) if output.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    Ok(list)
}

async fn inline_documents(client: &Client, role: &str, names: Vec<String>) -> Vec<RolePolicy> {
    let mut tasks = JoinSet::new();
    for (index, name) in names.into_iter().enumerate() {
        let client = client.clone();
        let role = role.to_string();
        tasks.spawn(async move {
            let document = match client
                .get_role_policy()
                .role_name(&role)
                .policy_name(&name)
                .send()
                .await
            {
                Ok(output) => match parse_document(output.policy_document()) {
                    Ok(document) => Fact::Present(document),
                    Err(why) => Fact::Unavailable(other(GET_ROLE_POLICY, why)),
                },
                Err(err) => Fact::Unavailable(unavailable(GET_ROLE_POLICY, &err)),
            };
            (
                index,
                RolePolicy {
                    name,
                    arn: None,
                    document,
                },
            )
        });
    }
    joined(tasks, GET_ROLE_POLICY).await
}

/// GetPolicy (for the default version) then GetPolicyVersion, per policy,
/// concurrently. An AWS managed policy moto does not know (it loads them
/// only with MOTO_IAM_LOAD_MANAGED_POLICIES) is unavailable on its own.
async fn managed_documents(client: &Client, list: Vec<(String, String)>) -> Vec<RolePolicy> {
    let mut tasks = JoinSet::new();
    for (index, (name, arn)) in list.into_iter().enumerate() {
        let client = client.clone();
        tasks.spawn(async move {
            let document = managed_document(&client, &arn).await;
            (
                index,
                RolePolicy {
                    name,
                    arn: Some(arn),
                    document,
                },
            )
        });
    }
    joined(tasks, GET_POLICY).await
}

async fn managed_document(client: &Client, arn: &str) -> Fact<serde_json::Value> {
    let policy = match client.get_policy().policy_arn(arn).send().await {
        Ok(output) => output,
        Err(err) => return Fact::Unavailable(unavailable(GET_POLICY, &err)),
    };
    let Some(version) = policy.policy().and_then(|p| p.default_version_id()) else {
        return Fact::Unavailable(other(GET_POLICY, "the policy names no default version"));
    };
    match client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(output) => match output.policy_version().and_then(|v| v.document()) {
            Some(text) => match parse_document(text) {
                Ok(document) => Fact::Present(document),
                Err(why) => Fact::Unavailable(other(GET_POLICY_VERSION, why)),
            },
            None => Fact::Unavailable(other(GET_POLICY_VERSION, "the version has no document")),
        },
        Err(err) => Fact::Unavailable(unavailable(GET_POLICY_VERSION, &err)),
    }
}

/// The tasks' results in their original order; a task that panicked is
/// dropped (it cannot happen short of a bug, and must not take the run down).
async fn joined(mut tasks: JoinSet<(usize, RolePolicy)>, call: &str) -> Vec<RolePolicy> {
    let mut results = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result {
            Ok(pair) => results.push(pair),
            Err(err) => results.push((
                usize::MAX,
                RolePolicy {
                    name: "?".to_string(),
                    arn: None,
                    document: Fact::Unavailable(other(call, err.to_string())),
                },
            )),
        }
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, policy)| policy).collect()
}

/// Most pages of one simulation read (a page holds up to 1000 results).
const SIMULATION_PAGES: usize = 5;

/// One `iam:SimulatePrincipalPolicy` question: `actions` on `resources`. With
/// several resources AWS answers one result per action (the most restrictive
/// decision) and the per-resource decisions in `ResourceSpecificResults`,
/// which are read when present. Retried like every other call (a throttled
/// simulation is not a missing one); moto does not implement it and answers
/// HTTP 500, and after the retries the check falls back to our own
/// evaluation.
pub(crate) async fn simulate_call(
    client: &Client,
    key: &SimulationKey,
) -> Fact<Vec<SimulatedAction>> {
    let (role_arn, actions, resources, context) = key;
    let context: Vec<ContextEntry> = context
        .iter()
        .map(|(key, value)| {
            ContextEntry::builder()
                .context_key_name(key)
                .context_key_values(value)
                .context_key_type(ContextKeyTypeEnum::String)
                .build()
        })
        .collect();
    let mut results = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..SIMULATION_PAGES {
        let output = client
            .simulate_principal_policy()
            .policy_source_arn(role_arn)
            .set_action_names(Some(actions.clone()))
            .set_resource_arns(Some(resources.clone()))
            .set_context_entries((!context.is_empty()).then(|| context.clone()))
            .max_items(1000)
            .set_marker(marker.take())
            .send()
            .await;
        let output = match output {
            Ok(output) => output,
            Err(err) => return Fact::Unavailable(unavailable(SIMULATE, &err)),
        };
        for result in output.evaluation_results() {
            let action = result.eval_action_name();
            let per_resource = result.resource_specific_results();
            if per_resource.is_empty() {
                let resource = match (result.eval_resource_name(), resources.as_slice()) {
                    (Some(name), _) => name.to_string(),
                    (None, [only]) => only.clone(),
                    (None, _) => "*".to_string(),
                };
                results.push(SimulatedAction {
                    action: action.to_string(),
                    resource,
                    decision: result.eval_decision().as_str().to_string(),
                    missing_context: result.missing_context_values().to_vec(),
                });
            } else {
                results.extend(per_resource.iter().map(|r| SimulatedAction {
                    action: action.to_string(),
                    resource: r.eval_resource_name().to_string(),
                    decision: r.eval_resource_decision().as_str().to_string(),
                    missing_context: r.missing_context_values().to_vec(),
                }));
            }
        }
        match output.marker() {
            Some(next) if output.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    Fact::Present(results)
}

/// At most this many resources in one simulation.
pub(crate) const SIMULATION_RESOURCES: usize = 100;

/// The simulation of what rotating `secret_arn` needs, in at most three
/// questions: the secret actions on the secret (asked once for every secret
/// of the run the same Lambda rotates, in chunks of 100), the actions on
/// `*` (once per role), and the KMS actions on a customer managed key (per
/// secret, with its encryption context). The first question goes alone: if
/// the simulator is unavailable (still failing after the SDK's retries), the
/// others are not asked, since the check uses the simulation only when it
/// answers every action.
async fn simulation(
    session: &Session,
    role_arn: &str,
    lambda_arn: &str,
    needs: &[Need],
    secret_arn: &str,
) -> Fact<Vec<SimulatedAction>> {
    let shared = &session.shared;
    let ask = |key: SimulationKey| {
        shared.simulations.get(key.clone(), move || async move {
            simulate_call(&shared.clients.iam, &key).await
        })
    };
    let actions_on = |resource: &str| -> Vec<String> {
        needs
            .iter()
            .filter(|need| need.resource == resource)
            .map(|need| need.action.to_string())
            .collect()
    };

    let chunk = session
        .peer_chunk(lambda_arn, secret_arn, SIMULATION_RESOURCES)
        .await;
    let on_secret = ask((
        role_arn.to_string(),
        actions_on(secret_arn),
        chunk,
        Vec::new(),
    ))
    .await;
    let mut results = match on_secret {
        Fact::Present(results) => results,
        other => return other,
    };

    let on_star = ask((
        role_arn.to_string(),
        actions_on("*"),
        vec!["*".to_string()],
        Vec::new(),
    ));
    let key_resources: Vec<String> = needs
        .iter()
        .map(|need| need.resource.clone())
        .filter(|resource| resource != secret_arn && resource != "*")
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let on_keys = async {
        let mut facts = Vec::new();
        for resource in &key_resources {
            let context = vec![
                (
                    "kms:ViaService".to_string(),
                    format!("secretsmanager.{}.amazonaws.com", shared.clients.region),
                ),
                (
                    "kms:EncryptionContext:SecretARN".to_string(),
                    secret_arn.to_string(),
                ),
            ];
            facts.push(
                ask((
                    role_arn.to_string(),
                    actions_on(resource),
                    vec![resource.clone()],
                    context,
                ))
                .await,
            );
        }
        facts
    };
    let (on_star, on_keys) = tokio::join!(on_star, on_keys);
    for fact in std::iter::once(on_star).chain(on_keys) {
        match fact {
            Fact::Present(more) => results.extend(more),
            other => return other,
        }
    }
    // Keep only this secret's answers: the snapshot is about one secret.
    results.retain(|result| {
        needs
            .iter()
            .any(|need| need.resource == result.resource && need.action == result.action)
    });
    Fact::Present(results)
}

/// The execution role of the rotation Lambda with its documents (once per
/// role in a run) and the simulation of what this secret needs.
pub(crate) async fn execution_role(
    session: &Session,
    lambda: &Fact<Lambda>,
    secret: &Fact<Secret>,
) -> Fact<ExecutionRole> {
    let lambda = match lambda {
        Fact::Present(lambda) => lambda,
        Fact::Unavailable(why) if why.kind == ErrorKind::NotFound => {
            return Fact::NotApplicable("the rotation Lambda does not exist".to_string())
        }
        Fact::Unavailable(why) => return Fact::Unavailable(why.clone()),
        Fact::NotApplicable(why) => return Fact::NotApplicable(why.clone()),
    };
    let Some(role_arn) = lambda.role.clone() else {
        return Fact::NotApplicable("Lambda reports no execution role".to_string());
    };
    let (secret_arn, key_id, listed_lambda) = match secret {
        Fact::Present(s) => (
            s.arn.clone(),
            s.kms_key_id.clone(),
            s.rotation_lambda_arn.clone(),
        ),
        _ => (String::new(), None, None),
    };
    let shared = &session.shared;
    let key_arn = key_arn(key_id.as_deref(), &secret_arn, &shared.clients.region);
    let in_vpc = lambda
        .vpc
        .as_ref()
        .is_some_and(|v| !v.subnet_ids.is_empty());
    // What the function calls on the database side is added once the
    // master secret and the database are read (`simulate_database_api`).
    let needs = rotation_role_needs(&secret_arn, key_arn.as_deref(), in_vpc, Vec::new());
    let documents = shared.roles.get(role_arn.clone(), || async {
        role_documents(&shared.clients.iam, &role_arn).await
    });
    // The secret's peers are listed under the ARN the secret names.
    let peers_key = listed_lambda.as_deref().unwrap_or(&lambda.arn);
    let simulated = simulation(session, &role_arn, peers_key, &needs, &secret_arn);
    let (documents, simulated) = tokio::join!(documents, simulated);
    match documents {
        Fact::Present(mut role) => {
            role.simulation = simulated;
            Fact::Present(role)
        }
        other => other,
    }
}

/// Adds to the role's simulation what the function calls on the database
/// side (`database_api_needs`: an RDS-managed master secret's lookup, an
/// ElastiCache user's API), known only once the master secret and the
/// database are read, so that the simulation still answers every action
/// IAM002 asks about.
pub(crate) async fn simulate_database_api(
    session: &Session,
    role: &mut Fact<ExecutionRole>,
    needs: &[Need],
) {
    let Fact::Present(role) = role else {
        return;
    };
    for need in needs {
        let Fact::Present(results) = &mut role.simulation else {
            return;
        };
        let key: SimulationKey = (
            role.arn.clone(),
            vec![need.action.to_string()],
            vec![need.resource.clone()],
            Vec::new(),
        );
        let shared = &session.shared;
        let answer = shared
            .simulations
            .get(key.clone(), || simulate_call(&shared.clients.iam, &key))
            .await;
        match answer {
            Fact::Present(more) => results.extend(more),
            // Without this answer the simulation no longer covers every
            // action, and IAM002 evaluates the documents instead, saying why.
            other => role.simulation = other,
        }
    }
}

/// The result of a spawned lookup; a task that died (a bug) becomes an
/// unavailable fact rather than a crash.
pub(crate) async fn joined_fact<T>(handle: JoinHandle<Fact<T>>, call: &str) -> Fact<T> {
    match handle.await {
        Ok(fact) => fact,
        Err(err) => Fact::Unavailable(other(call, format!("the lookup stopped: {err}"))),
    }
}

/// The customer managed key's ARN as far as the secret's `KmsKeyId` tells
/// it: an ARN as is, a bare key id in the secret's account and region, an
/// alias left as it is (the simulation then does not cover the KMS actions
/// and the check evaluates the documents itself).
fn key_arn(key_id: Option<&str>, secret_arn: &str, region: &str) -> Option<String> {
    let key_id = key_id.filter(|id| !super::kms::is_aws_managed(Some(id)))?;
    if key_id.starts_with("arn:") || key_id.starts_with("alias/") {
        return Some(key_id.to_string());
    }
    let account = Arn::parse(secret_arn).map_or("", |arn| arn.account);
    Some(format!("arn:aws:kms:{region}:{account}:key/{key_id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_drop_the_path() {
        assert_eq!(role_name("arn:aws:iam::123456789012:role/lab"), "lab");
        assert_eq!(
            role_name("arn:aws:iam::123456789012:role/service-role/rot-x"),
            "rot-x"
        );
        assert_eq!(role_name("plain-name"), "plain-name");
    }

    #[test]
    fn key_arns_from_the_secrets_key_id() {
        let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf";
        assert_eq!(key_arn(None, secret, "us-east-1"), None);
        assert_eq!(
            key_arn(Some("alias/aws/secretsmanager"), secret, "us-east-1"),
            None
        );
        assert_eq!(
            key_arn(Some("1234abcd"), secret, "us-east-1").as_deref(),
            Some("arn:aws:kms:us-east-1:123456789012:key/1234abcd")
        );
        assert_eq!(
            key_arn(Some("arn:aws:kms:eu-west-1:1:key/k"), secret, "us-east-1").as_deref(),
            Some("arn:aws:kms:eu-west-1:1:key/k")
        );
    }
}
