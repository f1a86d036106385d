//! AWS configuration from the command line and the environment.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};

use crate::error::UserError;

/// Bounds on every call, so a dead or black-holed endpoint ends in an error
/// instead of a hang. The SDK's own defaults set only a connect timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(25);

/// The AWS CLI habits: --profile, --region, --endpoint-url, plus the standard
/// credential chain and `AWS_*` variables.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// AWS region (default: the profile's or AWS_REGION). `scan` takes it
    /// several times; other commands take one.
    #[arg(long = "region", global = true, value_name = "REGION", action = clap::ArgAction::Append)]
    pub region: Vec<String>,
    /// Named profile from the shared config files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator such as moto).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// Loads the shared SDK configuration: the standard chain (environment,
/// profile, SSO, IMDS...) with the command-line flags on top. Retries are left
/// to the SDK's normal resolution (standard mode, 3 attempts unless
/// `AWS_MAX_ATTEMPTS` or the profile says otherwise).
pub async fn load_config(args: &AwsArgs) -> Result<aws_config::SdkConfig, UserError> {
    if let Some(url) = &args.endpoint_url {
        check_endpoint_url(url, "--endpoint-url")?;
    }

    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    check_profile_exists(args.profile.as_deref()).await?;
    if let Some(region) = args.region.last() {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &args.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader.load().await;

    let Some(region) = config.region() else {
        return Err(UserError::new(
            "no AWS region is set: pass --region or set AWS_REGION",
        ));
    };
    if !region_name_is_valid(region.as_ref()) {
        return Err(UserError::new(format!(
            "{:?} is not an AWS region name (such as us-east-1 or eu-west-2)",
            region.as_ref()
        )));
    }
    // AWS_ENDPOINT_URL (or the profile's endpoint_url) arrives through the
    // loader; a bad one would otherwise fail only at the first call, obscurely.
    if args.endpoint_url.is_none() {
        if let Some(url) = config.endpoint_url() {
            check_endpoint_url(url, "the configured endpoint URL (AWS_ENDPOINT_URL)")?;
        }
    }
    Ok(config)
}

/// A profile named by `--profile` or `AWS_PROFILE` that the shared files do
/// not have would otherwise fall through the credential chain to the
/// instance metadata service, whose error says nothing about the profile.
async fn check_profile_exists(flag: Option<&str>) -> Result<(), UserError> {
    let env = aws_types::os_shim_internal::Env::real();
    let (name, source) = match flag {
        Some(name) => (name.to_string(), "--profile"),
        None => match env.get("AWS_PROFILE") {
            Ok(name) if !name.is_empty() => (name, "AWS_PROFILE"),
            _ => return Ok(()),
        },
    };
    let fs = aws_types::os_shim_internal::Fs::real();
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    match aws_config::profile::load(&fs, &env, &files, None).await {
        Ok(profiles) if profiles.get_profile(&name).is_some() => Ok(()),
        Ok(_) => Err(UserError::new(format!(
            "profile {name} (from {source}) is not in {} or {}: list the profiles with `aws configure list-profiles`",
            shared_file(&env, "AWS_CONFIG_FILE", "config"),
            shared_file(&env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        ))),
        Err(error) => Err(UserError::new(format!(
            "the AWS config files could not be read for profile {name}: {error}"
        ))),
    }
}

/// Where the SDK reads a shared file: the variable's path, else `~/.aws/NAME`.
fn shared_file(env: &aws_types::os_shim_internal::Env, variable: &str, name: &str) -> String {
    env.get(variable)
        .ok()
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| format!("~/.aws/{name}"))
}

/// The shape of every AWS region name: `us-east-1`, `us-gov-west-1`,
/// `cn-northwest-1`, `us-isob-east-1`. A name of that shape that does not
/// exist fails at the first call, as "could not reach".
pub fn region_name_is_valid(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// Accepts `http(s)://host[:port][/path]`, the only form the SDK can use.
fn check_endpoint_url(url: &str, source: &str) -> Result<(), UserError> {
    if endpoint_url_is_valid(url) {
        Ok(())
    } else {
        Err(UserError::new(format!(
            "{source} {url:?} is not a valid http:// or https:// URL"
        )))
    }
}

fn endpoint_url_is_valid(url: &str) -> bool {
    let rest = match url.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        _ => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    // Split off a port, but not inside a bracketed IPv6 literal.
    let (host, port) = if let Some(after_bracket) = authority.strip_prefix('[') {
        match after_bracket.split_once(']') {
            Some((v6, tail)) => {
                if v6.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                match tail {
                    "" => ("v6", None),
                    t => match t.strip_prefix(':') {
                        Some(p) => ("v6", Some(p)),
                        None => return false,
                    },
                }
            }
            None => return false,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    host_ok && port_ok && !url.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::endpoint_url_is_valid;

    #[test]
    fn endpoint_urls() {
        for good in [
            "http://127.0.0.1:5000",
            "https://secretsmanager.eu-west-1.amazonaws.com",
            "http://localhost:4566/",
            "HTTP://[::1]:5000/path",
            "http://moto_server:5000",
        ] {
            assert!(endpoint_url_is_valid(good), "{good}");
        }
        for bad in [
            "",
            "localhost:5000",
            "ftp://example.com",
            "http://",
            "http://:5000",
            "http://host:port",
            "http://host:0",
            "http://host:70000",
            "http://user@host",
            "http://ho st",
            "http://[nope]:1",
        ] {
            assert!(!endpoint_url_is_valid(bad), "{bad}");
        }
    }
}
