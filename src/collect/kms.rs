//! Round 2: the secret's customer managed KMS key (`kms:DescribeKey`) and
//! its key policy (`kms:GetKeyPolicy`, policy `default`).

use aws_sdk_kms::Client;
use chrono::{DateTime, Utc};
use rotation_doctor_checks::{ErrorKind, Fact, KmsKey, Secret, Unavailable};

use super::errors::unavailable;
use super::session::Session;

const DESCRIBE_KEY: &str = "kms:DescribeKey";
const GET_KEY_POLICY: &str = "kms:GetKeyPolicy";

/// Whether the secret's `KmsKeyId` names the AWS managed key (absent, or
/// the `aws/secretsmanager` alias): nothing to check then.
pub(crate) fn is_aws_managed(key_id: Option<&str>) -> bool {
    match key_id.map(str::trim) {
        None | Some("") => true,
        Some(id) => id.ends_with("alias/aws/secretsmanager"),
    }
}

/// The secret's customer managed key, once per key in a run.
pub(crate) async fn secret_key(session: &Session, secret: &Fact<Secret>) -> Fact<KmsKey> {
    let key_id = match secret {
        Fact::Present(s) => s.kms_key_id.clone(),
        Fact::Unavailable(why) => return Fact::Unavailable(why.clone()),
        Fact::NotApplicable(why) => return Fact::NotApplicable(why.clone()),
    };
    let shared = &session.shared;
    match key_id.filter(|id| !is_aws_managed(Some(id))) {
        None => collect_key(&shared.clients.kms, None).await,
        Some(id) => {
            shared
                .kms_keys
                .get(id.clone(), || async {
                    collect_key(&shared.clients.kms, Some(&id)).await
                })
                .await
        }
    }
}

pub(crate) async fn collect_key(client: &Client, key_id: Option<&str>) -> Fact<KmsKey> {
    let Some(key_id) = key_id.filter(|id| !is_aws_managed(Some(id))) else {
        return Fact::NotApplicable(
            "the secret uses the AWS managed key aws/secretsmanager".to_string(),
        );
    };
    // GetKeyPolicy takes a key id or ARN, not an alias: resolve aliases first.
    let (described, policy) = if key_id.contains("alias/") {
        let described = client.describe_key().key_id(key_id).send().await;
        let resolved = described
            .as_ref()
            .ok()
            .and_then(|d| d.key_metadata())
            .map(|m| m.key_id().to_string());
        let policy = match resolved {
            Some(id) => Some(get_policy(client, &id).await),
            None => None,
        };
        (described, policy)
    } else {
        let (described, policy) = tokio::join!(
            client.describe_key().key_id(key_id).send(),
            get_policy(client, key_id)
        );
        (described, Some(policy))
    };
    let described = match described {
        Ok(output) => output,
        Err(err) => return Fact::Unavailable(unavailable(DESCRIBE_KEY, &err)),
    };
    let Some(metadata) = described.key_metadata() else {
        return Fact::Unavailable(Unavailable {
            call: DESCRIBE_KEY.to_string(),
            kind: ErrorKind::Other,
            message: "the answer has no key metadata".to_string(),
        });
    };
    Fact::Present(KmsKey {
        key_id: key_id.to_string(),
        arn: metadata.arn().map(str::to_string),
        state: metadata.key_state().map(|s| s.as_str().to_string()),
        manager: metadata.key_manager().map(|m| m.as_str().to_string()),
        deletion_date: metadata.deletion_date().and_then(to_chrono),
        policy: policy.unwrap_or_else(|| {
            Fact::NotApplicable("the key's alias could not be resolved".to_string())
        }),
    })
}

async fn get_policy(client: &Client, key_id: &str) -> Fact<serde_json::Value> {
    // moto (like AWS) wants the policy name; "default" is the only one.
    match client
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
    {
        Ok(output) => match output
            .policy()
            .map(serde_json::from_str::<serde_json::Value>)
        {
            Some(Ok(document)) => Fact::Present(document),
            Some(Err(e)) => Fact::Unavailable(Unavailable {
                call: GET_KEY_POLICY.to_string(),
                kind: ErrorKind::Other,
                message: format!("the key policy is not JSON: {e}"),
            }),
            None => Fact::Unavailable(Unavailable {
                call: GET_KEY_POLICY.to_string(),
                kind: ErrorKind::Other,
                message: "the answer has no policy".to_string(),
            }),
        },
        Err(err) => Fact::Unavailable(unavailable(GET_KEY_POLICY, &err)),
    }
}

fn to_chrono(time: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_key_needs_no_lookup() {
        assert!(is_aws_managed(None));
        assert!(is_aws_managed(Some("alias/aws/secretsmanager")));
        assert!(is_aws_managed(Some(
            "arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager"
        )));
        assert!(!is_aws_managed(Some("alias/lab")));
        assert!(!is_aws_managed(Some(
            "1234abcd-12ab-34cd-56ef-1234567890ab"
        )));
    }
}
