//! `template --live`: the existing resources a template names by id, read
//! with diagnose's collectors (the same calls, so the same read-only
//! policy) into the checks crate's `template::Account`, which merges them
//! with what the template creates.

use std::collections::BTreeSet;

use rotation_doctor_checks::template::{Account, ExistingSecret, Wanted};
use rotation_doctor_checks::{ErrorKind, Fact, Network, Unavailable};

use super::database::{self, DatabaseHint};
use super::secret::{self, SecretRound, SecretValue};
use super::session::Session;
use super::{kms, network};

/// Reads what `wanted` names and adds it to `account`, with what was
/// looked for: an id looked for and absent is one the account lacks.
pub async fn read_existing(session: &Session, wanted: &Wanted, account: &mut Account) {
    let ec2 = &session.shared.clients.ec2;
    for id in &wanted.secrets {
        let existing = existing_secret(session, id).await;
        account.add_secret(id, existing);
    }
    for reference in &wanted.databases {
        let hint = DatabaseHint {
            instance_id: reference.instance_id.clone(),
            cluster_id: reference.cluster_id.clone(),
            host: reference.host.clone(),
            engine: None,
            user_arn: None,
        };
        let found = database::find_database(session, &hint).await;
        account.add_database(reference.clone(), found);
    }

    // Subnets and groups are read by id for their VPCs; each VPC is then
    // read whole, as diagnose reads the Lambda's and the database's.
    let mut vpc_ids: BTreeSet<String> = wanted.vpcs.clone();
    if !wanted.subnets.is_empty() {
        let ids: Vec<String> = wanted.subnets.iter().cloned().collect();
        match network::vpcs_of_subnets(ec2, &ids).await {
            Ok(vpcs) => vpc_ids.extend(vpcs),
            Err(why) => {
                let mut read = Network::empty();
                read.subnets = Fact::Unavailable(why);
                account.add_network(read);
            }
        }
    }
    if !wanted.security_groups.is_empty() {
        let ids: Vec<String> = wanted.security_groups.iter().cloned().collect();
        match network::groups_by_id(ec2, &ids).await {
            Ok(groups) => {
                vpc_ids.extend(groups.iter().filter_map(|g| g.vpc_id.clone()));
                let mut read = Network::empty();
                read.security_groups = Fact::Present(groups);
                account.add_network(read);
            }
            Err(why) => {
                let mut read = Network::empty();
                read.security_groups = Fact::Unavailable(why);
                account.add_network(read);
            }
        }
    }
    let vpc_ids: Vec<String> = vpc_ids
        .into_iter()
        .filter(|id| !account.looked_up.vpcs.contains(id))
        .collect();
    if !vpc_ids.is_empty() {
        account.add_network(network::collect_network(ec2, &vpc_ids).await);
        account.looked_up.vpcs.extend(vpc_ids);
    }
    account.looked_up.extend(&Wanted {
        databases: BTreeSet::new(),
        ..wanted.clone()
    });
}

/// DescribeSecret, GetSecretValue (only its connection fields are kept:
/// the password is dropped here) and the secret's key, as diagnose reads them.
async fn existing_secret(session: &Session, id: &str) -> ExistingSecret {
    let clients = &session.shared.clients;
    let target = secret::Target {
        secret_id: id,
        region: &clients.region,
        endpoint: &clients.endpoint,
    };
    match secret::collect_secret(&clients.secrets, &target).await {
        Ok(SecretRound { secret, value }) => {
            let SecretValue { connection, .. } = value;
            let kms_key = kms::secret_key(session, &secret).await;
            ExistingSecret {
                secret,
                connection,
                kms_key,
            }
        }
        // What would end a diagnosis (no such secret, no permission)
        // leaves this one unknown, saying so.
        Err(error) => {
            let why = Unavailable {
                call: secret::DESCRIBE_SECRET.to_string(),
                kind: ErrorKind::Other,
                message: error.to_string(),
            };
            ExistingSecret {
                secret: Fact::Unavailable(why.clone()),
                connection: Fact::Unavailable(why.clone()),
                kms_key: Fact::Unavailable(why),
            }
        }
    }
}
