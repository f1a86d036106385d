//! Accounts of an organization on moto: clients acting in a member account
//! (moto acts in the role's account with the credentials AssumeRole gives),
//! and an organization of N members. Shared by tests/accounts.rs and
//! benches/fleet_scale.rs.

use aws_sdk_organizations::types::OrganizationFeatureSet;

use super::lab::OrPanic;
use super::MotoServer;

/// Test clients acting in `account` and `region` (moto: through any role
/// there).
pub async fn clients_in(server: &MotoServer, account: &str, region: &str) -> super::Clients {
    let base = super::sdk_config(&server.endpoint()).await;
    let sts = aws_sdk_sts::Client::new(&base);
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/setup"))
        .role_session_name("setup")
        .send()
        .await
        .or_panic("AssumeRole");
    let c = assumed.credentials().expect("credentials");
    let config = base
        .into_builder()
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    c.access_key_id(),
                    c.secret_access_key(),
                    Some(c.session_token().to_string()),
                    None,
                    "tests",
                ),
            ),
        )
        .build();
    super::Clients::new(&config)
}

/// Creates the organization (the credentials' account manages it) and a
/// member account for each name: the members' ids, in order.
pub async fn create_organization(server: &MotoServer, names: &[String]) -> Vec<String> {
    let config = super::sdk_config(&server.endpoint()).await;
    let org = aws_sdk_organizations::Client::new(&config);
    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .or_panic("CreateOrganization");
    let mut members = Vec::new();
    for name in names {
        let created = org
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .or_panic("CreateAccount");
        let status = created.create_account_status().expect("status");
        members.push(status.account_id().expect("account id").to_string());
    }
    members
}
