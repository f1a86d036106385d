//! After the role: the master secret a multi-user secret's `masterarn`
//! names. Its ARN is a field of the secret's value, which is never stored,
//! so it is judged here, while the value is in memory, and only verdicts
//! reach the facts (`MasterSecret`). No message kept here may contain it:
//! AWS error messages echo the secret id, so they are replaced by a sentence
//! of our own.

use aws_sdk_secretsmanager::Client;
use rotation_doctor_checks::policy::Need;
use rotation_doctor_checks::role_access::{
    key_policy_grants, role_outcome, simulated_outcome, Outcome,
};
use rotation_doctor_checks::Arn;
use rotation_doctor_checks::{
    Connection, ErrorKind, ExecutionRole, Fact, KmsKey, MasterSecret, Secret, Unavailable,
};

use super::errors::CallFailure;
use super::redacted::Redacted;
use super::session::{Session, SimulationKey};
use super::{iam, kms, secret::DESCRIBE_SECRET};

/// DescribeSecret of the master secret, as far as the verdicts need it.
#[derive(Clone)]
pub(crate) struct Described {
    found: bool,
    /// The full ARN (the value may name the secret by a partial ARN or name),
    /// for matching policy resources.
    arn: String,
    scheduled_for_deletion: bool,
    kms_key_id: Option<String>,
    /// The database of a master secret RDS manages (its tag).
    rds_primary_arn: Option<String>,
}

async fn describe(client: &Client, master_id: &str) -> Result<Described, Unavailable> {
    match client.describe_secret().secret_id(master_id).send().await {
        Ok(output) => Ok(Described {
            found: true,
            arn: output.arn().unwrap_or(master_id).to_string(),
            scheduled_for_deletion: output.deleted_date().is_some(),
            kms_key_id: output.kms_key_id().map(str::to_string),
            rds_primary_arn: super::secret::rds_primary_arn(output.tags()),
        }),
        Err(err) => {
            let failure = CallFailure::from_sdk(DESCRIBE_SECRET, &err);
            if failure.kind == ErrorKind::NotFound {
                return Ok(Described {
                    found: false,
                    arn: master_id.to_string(),
                    scheduled_for_deletion: false,
                    kms_key_id: None,
                    rds_primary_arn: None,
                });
            }
            let what = match failure.kind {
                ErrorKind::AccessDenied => "access denied",
                ErrorKind::Throttled => "throttled",
                ErrorKind::Timeout => "timed out",
                _ => "the call failed",
            };
            Err(Unavailable {
                call: DESCRIBE_SECRET.to_string(),
                kind: failure.kind,
                message: format!(
                    "the master secret named by masterarn could not be described: {what}"
                ),
            })
        }
    }
}

/// `masterarn` names no secret that exists.
fn no_master() -> MasterSecret {
    MasterSecret {
        found: false,
        scheduled_for_deletion: false,
        same_account: true,
        same_region: true,
        customer_managed_key: false,
        key_state: not_applicable("the master secret does not exist"),
        role_get_secret_value: not_applicable("the master secret does not exist"),
        role_decrypt: not_applicable("the master secret does not exist"),
        decided_by: String::new(),
        rds_primary_arn: None,
    }
}

fn not_applicable<T>(why: &str) -> Fact<T> {
    Fact::NotApplicable(why.to_string())
}

fn region_of(arn: &str) -> Option<&str> {
    Arn::parse(arn)
        .map(|arn| arn.region)
        .filter(|region| !region.is_empty())
}

fn account_of(arn: &str) -> Option<&str> {
    Arn::parse(arn)
        .map(|arn| arn.account)
        .filter(|account| !account.is_empty())
}

/// The verdicts on the master secret `master_arn` names, for the rotation
/// `role` of `secret`.
pub(crate) async fn assess(
    session: &Session,
    master_arn: Option<&Redacted>,
    connection: &Fact<Connection>,
    secret: &Fact<Secret>,
    role: &Fact<ExecutionRole>,
) -> Fact<MasterSecret> {
    let Some(master_arn) = master_arn else {
        let has_key = connection
            .present()
            .is_some_and(|c| c.keys.iter().any(|k| k == "masterarn"));
        if !has_key {
            return Fact::NotApplicable(
                "the secret has no masterarn key (single-user rotation)".to_string(),
            );
        }
        // `masterarn` is there but null, empty or not a string: it names
        // nothing the template could read.
        return Fact::Present(no_master());
    };
    let shared = &session.shared;
    // Many user secrets share one master: described once per run.
    let described = shared
        .masters
        .get(master_arn.expose().to_string(), || {
            describe(&shared.clients.secrets, master_arn.expose())
        })
        .await;
    let described = match described {
        Ok(described) => described,
        Err(why) => return Fact::Unavailable(why),
    };
    if !described.found {
        return Fact::Present(no_master());
    }

    let secret_arn = secret.present().map(|s| s.arn.as_str()).unwrap_or_default();
    let same_account = match (account_of(&described.arn), account_of(secret_arn)) {
        (Some(master), Some(own)) => master == own,
        _ => true,
    };
    let same_region = region_of(&described.arn).is_none_or(|r| r == shared.clients.region);
    let key_id = described
        .kms_key_id
        .clone()
        .filter(|id| !kms::is_aws_managed(Some(id)));
    let key: Fact<KmsKey> = match &key_id {
        None => not_applicable("the AWS managed key aws/secretsmanager"),
        Some(id) => {
            shared
                .kms_keys
                .get(id.clone(), || async {
                    kms::collect_key(&shared.clients.kms, Some(id)).await
                })
                .await
        }
    };
    let key_state = match (&key_id, &key) {
        (None, _) => not_applicable("the AWS managed key aws/secretsmanager"),
        (Some(_), Fact::Present(key)) => match &key.state {
            Some(state) => Fact::Present(state.clone()),
            None => not_applicable("DescribeKey reported no state"),
        },
        (Some(_), Fact::Unavailable(why)) => Fact::Unavailable(why.clone()),
        (Some(_), Fact::NotApplicable(why)) => Fact::NotApplicable(why.clone()),
    };

    let (role_get_secret_value, role_decrypt, decided_by) = match role {
        Fact::Present(role) => {
            let region = shared.clients.region.as_str();
            let via_service = format!("secretsmanager.{region}.amazonaws.com");
            let account = account_of(&described.arn).unwrap_or_default();
            let context = [
                ("kms:EncryptionContext:SecretARN", described.arn.as_str()),
                ("kms:ViaService", via_service.as_str()),
                ("kms:CallerAccount", account),
                ("aws:RequestedRegion", region),
            ];
            let read = Need {
                action: "secretsmanager:GetSecretValue",
                resource: described.arn.clone(),
                why: "setSecret reads the master user's credentials",
            };
            let (get, mut decided_by) = decide(session, role, &read, &[], &context, &key).await;
            let decrypt = match &key_id {
                None => not_applicable("the AWS managed key aws/secretsmanager"),
                Some(id) => {
                    let need = Need {
                        action: "kms:Decrypt",
                        resource: key
                            .present()
                            .and_then(|k| k.arn.clone())
                            .unwrap_or_else(|| id.clone()),
                        why: "Secrets Manager decrypts the master secret for the role",
                    };
                    let (outcome, method) =
                        decide(session, role, &need, &context, &context, &key).await;
                    if method != decided_by {
                        decided_by = format!("{decided_by}; kms:Decrypt: {method}");
                    }
                    Fact::Present(outcome)
                }
            };
            (Fact::Present(get), decrypt, decided_by)
        }
        Fact::Unavailable(why) => (
            Fact::Unavailable(why.clone()),
            Fact::Unavailable(why.clone()),
            String::new(),
        ),
        Fact::NotApplicable(why) => (
            Fact::NotApplicable(why.clone()),
            Fact::NotApplicable(why.clone()),
            String::new(),
        ),
    };
    Fact::Present(MasterSecret {
        found: true,
        scheduled_for_deletion: described.scheduled_for_deletion,
        same_account,
        same_region,
        customer_managed_key: key_id.is_some(),
        key_state,
        role_get_secret_value,
        role_decrypt,
        decided_by,
        rds_primary_arn: described.rds_primary_arn,
    })
}

/// Whether `role` may make the call `need`, and how that was decided:
/// `iam:SimulatePrincipalPolicy` where it answers (`simulation_context` is
/// passed to it), else our evaluation of the role's documents with
/// `context`. A key policy naming the role grants a KMS action by itself.
async fn decide(
    session: &Session,
    role: &ExecutionRole,
    need: &Need,
    simulation_context: &[(&str, &str)],
    context: &[(&str, &str)],
    key: &Fact<KmsKey>,
) -> (Outcome, String) {
    let question: SimulationKey = (
        role.arn.clone(),
        vec![need.action.to_string()],
        vec![need.resource.clone()],
        simulation_context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    let shared = &session.shared;
    let simulated = shared
        .simulations
        .get(question.clone(), || {
            iam::simulate_call(&shared.clients.iam, &question)
        })
        .await;
    let answer = simulated.present().and_then(|results| {
        results
            .iter()
            .find(|r| r.action == need.action && r.resource == need.resource)
    });
    match answer {
        Some(result) => {
            let outcome = match simulated_outcome(result) {
                Outcome::Missing(_) | Outcome::Unknown(_)
                    if need.action.starts_with("kms:")
                        && key_policy_grants(key, &role.arn, need, context) =>
                {
                    Outcome::Granted("the key policy, which names the role".to_string())
                }
                other => other,
            };
            (outcome, "iam:SimulatePrincipalPolicy".to_string())
        }
        None => {
            let why = match &simulated {
                Fact::Present(_) => "it did not answer for this action".to_string(),
                other => other.missing_reason().unwrap_or_default(),
            };
            (
                role_outcome(role, need, context, key),
                format!(
                    "our evaluation of the role's documents (iam:SimulatePrincipalPolicy: {why})"
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{account_of, region_of};

    #[test]
    fn accounts_of_arns_and_names() {
        assert_eq!(
            account_of("arn:aws:secretsmanager:us-east-1:123456789012:secret:m-AbCdEf"),
            Some("123456789012")
        );
        assert_eq!(account_of("prod/master"), None);
        assert_eq!(
            region_of("arn:aws:secretsmanager:eu-west-1:123456789012:secret:m-AbCdEf"),
            Some("eu-west-1")
        );
        assert_eq!(region_of("prod/master"), None);
    }
}
