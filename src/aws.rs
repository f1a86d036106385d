//! AWS configuration from the command line and the environment.
//! (Placeholder signatures; the collector work fills this in.)

use crate::error::UserError;

/// The AWS CLI habits: --profile, --region, --endpoint-url, plus the standard
/// credential chain and `AWS_*` variables.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// AWS region (default: the profile's or AWS_REGION).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Named profile from the shared config files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator such as moto).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

pub async fn load_config(_args: &AwsArgs) -> Result<aws_config::SdkConfig, UserError> {
    Err(UserError::new("live AWS collection is not built yet"))
}
