//! Round 2: the rotation Lambda's configuration and resource policy.

use std::collections::BTreeMap;

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::Client;
use rotation_doctor_checks::Arn;
use rotation_doctor_checks::{
    is_provenance_tag, ErrorKind, Fact, Lambda, LambdaVpc, Unavailable,
    ELASTICACHE_FUNCTION_VARIABLES, PASSWORD_VARIABLES,
};

use super::errors::unavailable;

const GET_FUNCTION_CONFIGURATION: &str = "lambda:GetFunctionConfiguration";
const GET_POLICY: &str = "lambda:GetPolicy";
const LIST_TAGS: &str = "lambda:ListTags";

/// The one environment variable whose value we keep: it redirects the
/// function's Secrets Manager calls (to a VPC endpoint, for example).
const ENDPOINT_VARIABLE: &str = "SECRETS_MANAGER_ENDPOINT";

/// The configuration, plus the log group the function writes to when it names
/// one of its own (LoggingConfig); the default is `/aws/lambda/<name>`.
#[derive(Clone)]
pub(crate) struct LambdaConfig {
    pub lambda: Fact<Lambda>,
    pub custom_log_group: Option<String>,
}

pub(crate) async fn get_configuration(client: &Client, arn: &str) -> LambdaConfig {
    match client
        .get_function_configuration()
        .function_name(arn)
        .send()
        .await
    {
        Ok(output) => LambdaConfig {
            custom_log_group: output
                .logging_config()
                .and_then(|logging| logging.log_group())
                .filter(|group| !group.is_empty())
                .map(str::to_string),
            lambda: Fact::Present(lambda_from(arn, &output)),
        },
        // ResourceNotFound stays an Unavailable of kind NotFound: the checks
        // report a deleted function from it.
        Err(err) => LambdaConfig {
            lambda: Fact::Unavailable(unavailable(GET_FUNCTION_CONFIGURATION, &err)),
            custom_log_group: None,
        },
    }
}

fn lambda_from(arn: &str, output: &GetFunctionConfigurationOutput) -> Lambda {
    // VpcConfig.VpcId is never read: moto answers a fixed "vpc-123abc"
    // (docs/moto-notes.md, "Lambda"); the VPC comes from the subnets.
    let vpc = output.vpc_config().and_then(|config| {
        let subnet_ids = config.subnet_ids().to_vec();
        let security_group_ids = config.security_group_ids().to_vec();
        if subnet_ids.is_empty() && security_group_ids.is_empty() {
            None
        } else {
            Some(LambdaVpc {
                subnet_ids,
                security_group_ids,
            })
        }
    });

    // Other variables may hold secrets: keep their names only, and the
    // values of the templates' settings, which are not secret.
    let mut secrets_manager_endpoint = None;
    let mut environment_keys = Vec::new();
    let mut password_settings = BTreeMap::new();
    let mut elasticache_settings = BTreeMap::new();
    if let Some(variables) = output.environment().and_then(|env| env.variables()) {
        for (name, value) in variables {
            if name == ENDPOINT_VARIABLE {
                secrets_manager_endpoint = Some(value.clone());
                continue;
            }
            if PASSWORD_VARIABLES.contains(&name.as_str()) {
                password_settings.insert(name.clone(), value.clone());
            }
            if ELASTICACHE_FUNCTION_VARIABLES.contains(&name.as_str()) {
                elasticache_settings.insert(name.clone(), value.clone());
            }
            environment_keys.push(name.clone());
        }
    }
    environment_keys.sort();

    Lambda {
        arn: output.function_arn().unwrap_or(arn).to_string(),
        name: output
            .function_name()
            .map(str::to_string)
            .unwrap_or_else(|| function_name(arn)),
        role: output.role().map(str::to_string),
        runtime: output.runtime().map(|runtime| runtime.as_str().to_string()),
        description: output
            .description()
            .filter(|description| !description.is_empty())
            .map(str::to_string),
        timeout_seconds: output.timeout(),
        state: output.state().map(|state| state.as_str().to_string()),
        state_reason: output.state_reason().map(str::to_string),
        state_reason_code: output
            .state_reason_code()
            .map(|code| code.as_str().to_string()),
        last_update_status: output
            .last_update_status()
            .map(|status| status.as_str().to_string()),
        last_update_status_reason: output.last_update_status_reason().map(str::to_string),
        last_update_status_reason_code: output
            .last_update_status_reason_code()
            .map(|code| code.as_str().to_string()),
        vpc,
        secrets_manager_endpoint,
        environment_keys,
        password_settings,
        elasticache_settings,
    }
}

/// The resource policy; a function without one answers ResourceNotFound.
pub(crate) async fn get_policy(client: &Client, arn: &str) -> Fact<Option<serde_json::Value>> {
    match client.get_policy().function_name(arn).send().await {
        Ok(output) => match output.policy() {
            None => Fact::Present(None),
            Some(text) => match serde_json::from_str(text) {
                Ok(document) => Fact::Present(Some(document)),
                Err(err) => Fact::Unavailable(Unavailable {
                    call: GET_POLICY.to_string(),
                    kind: ErrorKind::Other,
                    message: format!("the policy document is not valid JSON: {err}"),
                }),
            },
        },
        Err(err) => {
            let failure = unavailable(GET_POLICY, &err);
            if failure.kind == ErrorKind::NotFound {
                Fact::Present(None)
            } else {
                Fact::Unavailable(failure)
            }
        }
    }
}

/// The function's tags that say where it came from (a Serverless
/// Application Repository app, a CloudFormation stack); ListTags takes the
/// function's ARN, not its name.
pub(crate) async fn list_tags(client: &Client, arn: &str) -> Fact<BTreeMap<String, String>> {
    match client.list_tags().resource(arn).send().await {
        Ok(output) => Fact::Present(
            output
                .tags()
                .into_iter()
                .flatten()
                .filter(|(key, _)| is_provenance_tag(key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        Err(err) => Fact::Unavailable(unavailable(LIST_TAGS, &err)),
    }
}

/// The function name in a Lambda ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`),
/// or the input itself when it is already a name.
pub(crate) fn function_name(arn: &str) -> String {
    if let Some(name) = Arn::parse(arn).and_then(|a| a.function_name()) {
        return name.to_string();
    }
    // The short forms Lambda also accepts: `ACCOUNT:function:NAME`, `NAME:qualifier`.
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        [_, "function", name, ..] => (*name).to_string(),
        [name, ..] => (*name).to_string(),
        [] => arn.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn names_from_arns() {
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-1:123456789012:function:rotate-db"),
            "rotate-db"
        );
        assert_eq!(
            function_name("arn:aws-cn:lambda:cn-north-1:123456789012:function:rot:live"),
            "rot"
        );
        assert_eq!(function_name("123456789012:function:rot"), "rot");
        assert_eq!(function_name("rot"), "rot");
    }
}
