//! LAM004: the rotation Lambda's `SECRETS_MANAGER_ENDPOINT` variable is set
//! and points at this region's Secrets Manager (or its VPC endpoint).

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Facts, Lambda};
use crate::finding::{Finding, Severity, Status};
use crate::fix::{FixAction, FixPlan};

pub struct SecretsManagerEndpointVariable;

const VARIABLE: &str = "SECRETS_MANAGER_ENDPOINT";

static META: CheckMeta = CheckMeta {
    id: "LAM004",
    name: "secrets-manager-endpoint-variable",
    title: "SECRETS_MANAGER_ENDPOINT is set to this region's endpoint",
    severity: Severity::High,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
That the rotation Lambda's environment has `SECRETS_MANAGER_ENDPOINT`, and
that it points at Secrets Manager in the secret's region:
`https://secretsmanager.REGION.amazonaws.com` (or the `-fips` variant), or
the DNS name of a Secrets Manager interface endpoint in the Lambda's VPC.

## Why it breaks rotation
AWS's rotation templates read `os.environ['SECRETS_MANAGER_ENDPOINT']` and
pass it to boto3 as `endpoint_url`. Without it the handler stops at once
with `KeyError: 'SECRETS_MANAGER_ENDPOINT'`. An endpoint of another region
does not know the secret, and any other host (a typo, a proxy, an old VPC
endpoint) ends in timeouts or certificate errors, looking exactly like a
network problem.

## How to fix it
Set it, keeping the other variables (the CLI's `--environment` replaces
all of them):
`aws lambda update-function-configuration --function-name FN --environment
"Variables={SECRETS_MANAGER_ENDPOINT=https://secretsmanager.REGION.amazonaws.com,...}"`.
With an interface endpoint and private DNS, the regional name resolves to
the endpoint, so the regional URL is right there too. `--fix` sets the
regional URL and keeps the other variables (an unsafe fix: it changes the
function's configuration).

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas
"#,
};

fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The URL the templates are deployed with in `region`.
fn regional_url(region: &str) -> String {
    format!("https://secretsmanager.{region}.{}", dns_suffix(region))
}

/// The scheme and lower-cased host of a URL (`None` without a scheme).
fn split_url(url: &str) -> (Option<String>, String) {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, url),
    };
    let host = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (scheme, host)
}

/// The region of a public Secrets Manager host name, if it is one.
fn public_endpoint_region(host: &str) -> Option<&str> {
    let rest = host
        .strip_prefix("secretsmanager-fips.")
        .or_else(|| host.strip_prefix("secretsmanager."))?;
    let region = rest
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| rest.strip_suffix(".amazonaws.com"))?;
    (!region.contains('.')).then_some(region)
}

/// The Secrets Manager interface endpoint of the Lambda's VPC whose DNS name
/// (or id, in the `https://VPCE-ID.secretsmanager…` form CDK builds) is `host`.
fn matching_vpc_endpoint(facts: &Facts, lambda: &Lambda, host: &str) -> Option<String> {
    let subnets = facts.network.subnets.present()?;
    let vpcs: Vec<&str> = lambda
        .vpc
        .as_ref()?
        .subnet_ids
        .iter()
        .filter_map(|id| subnets.iter().find(|s| &s.id == id))
        .map(|s| s.vpc_id.as_str())
        .collect();
    facts
        .network
        .vpc_endpoints
        .present()?
        .iter()
        .filter(|e| vpcs.contains(&e.vpc_id.as_str()))
        .filter(|e| e.service_name.ends_with(".secretsmanager"))
        .find(|e| {
            e.dns_names.iter().any(|name| {
                let name = name.trim_start_matches("*.").to_ascii_lowercase();
                name == host || host.ends_with(&format!(".{name}"))
            }) || (host.starts_with(&format!("{}.", e.id.to_ascii_lowercase()))
                && host.contains(".secretsmanager."))
        })
        .map(|e| e.id.clone())
}

impl Check for SecretsManagerEndpointVariable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let region = facts.region.as_str();
        let url = regional_url(region);
        let fix = |previous: Option<String>| {
            FixPlan {
            summary: format!("set {VARIABLE}={url} on {}", lambda.name),
            rationale: "The rotation templates read this variable at start and send every Secrets Manager \
                        call to it; the regional URL also reaches an interface endpoint with private DNS. \
                        The other variables are kept."
                .to_string(),
            actions: vec![FixAction::SetLambdaEnvironment {
                function_name: lambda.name.clone(),
                name: VARIABLE.to_string(),
                value: url.clone(),
                previous_value: previous,
            }],
        }
        };
        let remediation = format!(
            "Set {VARIABLE}={url} on the function, keeping its other variables: aws lambda \
             update-function-configuration --function-name {} --environment \"Variables={{{VARIABLE}={url},...}}\"",
            lambda.name
        );
        let value = match lambda.secrets_manager_endpoint.as_deref().map(str::trim) {
            Some(value) if !value.is_empty() => value,
            present => {
                let message = if present.is_some() {
                    format!(
                        "{VARIABLE} is empty on the rotation Lambda: boto3 gets no endpoint URL"
                    )
                } else {
                    format!(
                        "the rotation Lambda has no {VARIABLE} variable: the templates read os.environ['{VARIABLE}'] and stop with KeyError at start"
                    )
                };
                return vec![META
                    .finding(Status::Fail, &lambda.arn, message)
                    .with_evidence([format!(
                        "environment variables: {}",
                        if lambda.environment_keys.is_empty() {
                            "(none)".to_string()
                        } else {
                            lambda.environment_keys.join(", ")
                        }
                    )])
                    .with_remediation(remediation)
                    .with_fix(fix(present.map(str::to_string)))];
            }
        };
        let (scheme, host) = split_url(value);
        let evidence = vec![format!("{VARIABLE}={value}")];
        let finding = if let Some(other) = public_endpoint_region(&host) {
            if other != region {
                META.finding(
                    Status::Fail,
                    &lambda.arn,
                    format!(
                        "{VARIABLE} points at Secrets Manager in {other}, but the secret is in {region}: every call fails"
                    ),
                )
                .with_remediation(remediation)
                .with_fix(fix(Some(value.to_string())))
            } else if scheme.as_deref() != Some("https") {
                META.finding(
                    Status::Warn,
                    &lambda.arn,
                    format!("{VARIABLE} names this region's endpoint without https:// ({value})"),
                )
                .with_remediation(remediation)
            } else {
                META.finding(
                    Status::Pass,
                    &lambda.arn,
                    format!("{VARIABLE} points at Secrets Manager in {region}"),
                )
            }
        } else if let Some(endpoint) = matching_vpc_endpoint(facts, lambda, &host) {
            META.finding(
                Status::Pass,
                &lambda.arn,
                format!("{VARIABLE} points at interface endpoint {endpoint} in the Lambda's VPC"),
            )
        } else {
            META.finding(
                Status::Warn,
                &lambda.arn,
                format!(
                    "{VARIABLE} points at {host}, which is neither Secrets Manager's endpoint in {region} nor an interface endpoint in the Lambda's VPC"
                ),
            )
            .with_remediation(remediation)
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            let lambda = crate::fixtures::get(&mut facts.lambda);
            lambda.secrets_manager_endpoint = None;
            lambda.environment_keys.clear();
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::VpcEndpoint;
    use crate::fixtures::get;

    fn with_endpoint(value: &str) -> Facts {
        let mut facts = SecretsManagerEndpointVariable.fixtures().1;
        get(&mut facts.lambda).secrets_manager_endpoint = Some(value.into());
        facts
    }

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&SecretsManagerEndpointVariable, facts).remove(0)
    }

    #[test]
    fn missing_fails_with_the_key_error_and_a_fix() {
        let f = first(&SecretsManagerEndpointVariable.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("KeyError"), "{}", f.message);
        assert_eq!(
            f.fixes[0].actions[0],
            FixAction::SetLambdaEnvironment {
                function_name: "lab-rotation".into(),
                name: VARIABLE.into(),
                value: "https://secretsmanager.us-east-1.amazonaws.com".into(),
                previous_value: None,
            }
        );
    }

    #[test]
    fn regional_and_fips_pass() {
        assert_eq!(
            first(&SecretsManagerEndpointVariable.fixtures().1).status,
            Status::Pass
        );
        let f = first(&with_endpoint(
            "https://secretsmanager-fips.us-east-1.amazonaws.com/",
        ));
        assert_eq!(f.status, Status::Pass);
    }

    #[test]
    fn another_region_fails_and_other_hosts_warn() {
        let f = first(&with_endpoint(
            "https://secretsmanager.eu-west-1.amazonaws.com",
        ));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("eu-west-1"), "{}", f.message);
        assert_eq!(
            first(&with_endpoint("https://proxy.example.com")).status,
            Status::Warn
        );
    }

    #[test]
    fn a_vpc_endpoint_dns_name_in_the_lambdas_vpc_passes() {
        let mut facts =
            with_endpoint("https://vpce-0abc-1234.secretsmanager.us-east-1.vpce.amazonaws.com");
        facts.network.vpc_endpoints = crate::facts::Fact::Present(vec![VpcEndpoint {
            id: "vpce-0abc".into(),
            vpc_id: "vpc-lab".into(),
            service_name: "com.amazonaws.us-east-1.secretsmanager".into(),
            endpoint_type: Some("Interface".into()),
            state: Some("available".into()),
            subnet_ids: vec!["subnet-lambda-a".into()],
            security_group_ids: vec![],
            private_dns_enabled: false,
            dns_names: vec!["vpce-0abc-1234.secretsmanager.us-east-1.vpce.amazonaws.com".into()],
            policy: None,
        }]);
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(f.message.contains("vpce-0abc"));
        // The same name while the endpoint is in another VPC only warns.
        get(&mut facts.lambda).vpc = None;
        assert_eq!(first(&facts).status, Status::Warn);
    }
}
