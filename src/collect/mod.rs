//! The collector: AWS SDK calls in, `Facts` out.
//! (Placeholder signatures; the collector work fills this in.)

use std::time::Duration;

use rotation_doctor_checks::Facts;

use crate::error::UserError;

pub struct CollectOptions {
    /// How far back to read the rotation Lambda's log events.
    pub since: Duration,
}

pub async fn collect(
    _config: &aws_config::SdkConfig,
    _secret_id: &str,
    _options: &CollectOptions,
) -> Result<Facts, UserError> {
    Err(UserError::new("live AWS collection is not built yet"))
}
