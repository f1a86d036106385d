//! `scan` across accounts: which accounts (`--account`, `--accounts-file`,
//! `--organization` with `--ou`), entered through one role name (STS
//! AssumeRole, session `rotation-doctor`), and which regions in each
//! (`--region`, or `--all-regions`: the regions the account has enabled).

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use rotation_doctor_checks::{AccountAccess, ErrorKind, Unavailable};

use crate::collect::errors::{unavailable, CallFailure};
use crate::error::UserError;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct AccountArgs {
    /// Scan other accounts by assuming arn:aws:iam::ACCOUNT:role/NAME in
    /// each account that --account, --accounts-file or --organization names.
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,

    /// The external id the role's trust policy asks for (sts:ExternalId).
    #[arg(long, value_name = "ID", requires = "role_name")]
    pub external_id: Option<String>,

    /// An account to scan, by its 12-digit id (repeatable).
    #[arg(long = "account", value_name = "ID", requires = "role_name", value_parser = parse_account_id)]
    pub accounts: Vec<String>,

    /// Accounts to scan: one id a line (# comments), or Cloud Custodian
    /// c7n-org's accounts.yml (its account_id entries).
    #[arg(long, value_name = "FILE", requires = "role_name")]
    pub accounts_file: Option<PathBuf>,

    /// Every ACTIVE account of the organization (Organizations
    /// ListAccounts, from its management or a delegated account).
    #[arg(long, requires = "role_name")]
    pub organization: bool,

    /// Only the accounts under this organizational unit and its children
    /// (repeatable).
    #[arg(long = "ou", value_name = "OU_ID", requires = "organization")]
    pub ous: Vec<String>,

    /// Every region the account has enabled (EC2 DescribeRegions), instead
    /// of --region.
    #[arg(long)]
    pub all_regions: bool,
}

pub fn parse_account_id(text: &str) -> Result<String, String> {
    if text.len() == 12 && text.chars().all(|c| c.is_ascii_digit()) {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is not an AWS account id (12 digits)"))
    }
}

/// The accounts of a file: one id a line, or c7n-org's accounts.yml whose
/// entries each have an `account_id`.
pub fn read_accounts_file(path: &Path) -> Result<Vec<String>, UserError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| UserError::new(format!("cannot read accounts file {shown}: {e}")))?;
    let c7n_entry = regex::Regex::new(r#"account_id["']?\s*:\s*["']?([^"'\s,}]+)"#)
        .map_err(|e| UserError::new(format!("internal error: {e}")))?;
    let mut accounts = Vec::new();
    if text.contains("account_id") {
        for (number, line) in text.lines().enumerate() {
            for found in c7n_entry.captures_iter(line) {
                let id = parse_account_id(&found[1])
                    .map_err(|e| UserError::new(format!("{shown}:{}: {e}", number + 1)))?;
                accounts.push(id);
            }
        }
    } else {
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let id = parse_account_id(line)
                .map_err(|e| UserError::new(format!("{shown}:{}: {e}", number + 1)))?;
            accounts.push(id);
        }
    }
    if accounts.is_empty() {
        return Err(UserError::new(format!(
            "accounts file {shown} names no account"
        )));
    }
    Ok(accounts)
}

/// The ACTIVE accounts of the organization, or of the given OUs and
/// their children.
pub async fn organization_accounts(
    config: &SdkConfig,
    ous: &[String],
) -> Result<Vec<String>, UserError> {
    let client = aws_sdk_organizations::Client::new(config);
    let fatal = |failure: CallFailure| {
        UserError::new(format!(
            "cannot list the organization's accounts: {}",
            failure.unavailable()
        ))
    };
    let mut accounts = Vec::new();
    let mut keep = |account: &aws_sdk_organizations::types::Account| {
        let active = account
            .status()
            .is_some_and(|s| s.as_str().eq_ignore_ascii_case("ACTIVE"));
        if let (true, Some(id)) = (active, account.id()) {
            if !accounts.iter().any(|a| a == id) {
                accounts.push(id.to_string());
            }
        }
    };
    if ous.is_empty() {
        let mut pages = client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| fatal(CallFailure::from_sdk(LIST_ACCOUNTS, &e)))?;
            page.accounts().iter().for_each(&mut keep);
        }
        return Ok(accounts);
    }
    // Breadth first through the OUs: each one's accounts, then its child OUs.
    let mut queue: Vec<String> = ous.to_vec();
    let mut seen = Vec::new();
    while let Some(parent) = queue.pop() {
        if seen.contains(&parent) {
            continue;
        }
        seen.push(parent.clone());
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| fatal(CallFailure::from_sdk(LIST_ACCOUNTS_FOR_PARENT, &e)))?;
            page.accounts().iter().for_each(&mut keep);
        }
        let mut children = client
            .list_children()
            .parent_id(&parent)
            .child_type(aws_sdk_organizations::types::ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = children.next().await {
            let page = page.map_err(|e| fatal(CallFailure::from_sdk(LIST_CHILDREN, &e)))?;
            queue.extend(
                page.children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_string)),
            );
        }
    }
    Ok(accounts)
}

const LIST_ACCOUNTS: &str = "organizations:ListAccounts";
const LIST_ACCOUNTS_FOR_PARENT: &str = "organizations:ListAccountsForParent";
const LIST_CHILDREN: &str = "organizations:ListChildren";
const ASSUME_ROLE: &str = "sts:AssumeRole";

/// Every account the flags name, in order, each once.
pub async fn accounts(args: &AccountArgs, config: &SdkConfig) -> Result<Vec<String>, UserError> {
    let mut accounts = args.accounts.clone();
    if let Some(path) = &args.accounts_file {
        accounts.extend(read_accounts_file(path)?);
    }
    if args.organization {
        accounts.extend(organization_accounts(config, &args.ous).await?);
    }
    let mut unique = Vec::new();
    for account in accounts {
        if !unique.contains(&account) {
            unique.push(account);
        }
    }
    if unique.is_empty() {
        return Err(UserError::new(
            "--role-name needs accounts to enter: --account ID, --accounts-file FILE or --organization",
        ));
    }
    Ok(unique)
}

pub fn role_arn(config: &SdkConfig, account: &str, role_name: &str) -> String {
    let partition = match config.region().map(|r| r.as_ref().to_string()) {
        Some(region) if region.starts_with("cn-") => "aws-cn",
        Some(region) if region.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

/// The configuration that acts in `account` through the role, and what the
/// report says of it; or why the account could not be entered. The
/// credentials last the role's session (an hour by default).
pub async fn enter(
    config: &SdkConfig,
    account: &str,
    role_name: &str,
    external_id: Option<&str>,
) -> Result<(SdkConfig, AccountAccess), Unavailable> {
    let role_arn = role_arn(config, account, role_name);
    let sts = aws_sdk_sts::Client::new(config);
    let assumed = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("rotation-doctor")
        .set_external_id(external_id.map(str::to_string))
        .send()
        .await
        .map_err(|e| unavailable(ASSUME_ROLE, &e))?;
    let Some(credentials) = assumed.credentials() else {
        return Err(Unavailable {
            call: ASSUME_ROLE.to_string(),
            kind: ErrorKind::Other,
            message: "AssumeRole answered without credentials".to_string(),
        });
    };
    let expiry = std::time::SystemTime::try_from(*credentials.expiration()).ok();
    let provider = Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_string()),
        expiry,
        "rotation-doctor-assume-role",
    );
    let entered = config
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build();
    Ok((
        entered,
        AccountAccess {
            account: account.to_string(),
            role_arn,
        },
    ))
}

/// The regions `config`'s account has enabled.
pub async fn enabled_regions(config: &SdkConfig) -> Result<Vec<String>, Unavailable> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    let answer = ec2
        .describe_regions()
        .send()
        .await
        .map_err(|e| unavailable("ec2:DescribeRegions", &e))?;
    let mut regions: Vec<String> = answer
        .regions()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    regions.sort();
    Ok(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(parse_account_id("123456789012").is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(parse_account_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accounts_files_of_both_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("accounts.txt");
        std::fs::write(&plain, "# prod\n111111111111\n\n222222222222  # staging\n").unwrap();
        assert_eq!(
            read_accounts_file(&plain).unwrap(),
            ["111111111111", "222222222222"]
        );
        let c7n = dir.path().join("accounts.yml");
        std::fs::write(
            &c7n,
            "accounts:\n- account_id: '111111111111'\n  name: prod\n  regions: [us-east-1]\n- account_id: \"222222222222\"\n  name: dev\n",
        )
        .unwrap();
        assert_eq!(
            read_accounts_file(&c7n).unwrap(),
            ["111111111111", "222222222222"]
        );
        let bad = dir.path().join("bad.txt");
        std::fs::write(&bad, "111111111111\nprod\n").unwrap();
        let error = read_accounts_file(&bad).unwrap_err().to_string();
        assert!(error.contains("bad.txt:2"), "{error}");
        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# none\n").unwrap();
        assert!(read_accounts_file(&empty).is_err());
    }
}
