//! The one set of AWS SDK clients a command uses: every read (this module's
//! collector) and every write (`crate::actions`: `--fix`, `undo`, `rotate`)
//! goes through it, and every client counts its calls into the same
//! [`CallStats`] (`--stats`).

use super::stats::CallStats;
use crate::error::UserError;

/// The SDK clients of one region. Cheap to clone: clones share their
/// connections and credentials.
#[derive(Clone)]
pub struct Clients {
    pub(super) region: String,
    /// The Secrets Manager endpoint, for error sentences.
    pub(super) endpoint: String,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) cloudtrail: aws_sdk_cloudtrail::Client,
}

impl Clients {
    /// Every client of `config`'s region, each counting into `stats`.
    pub fn new(config: &aws_config::SdkConfig, stats: &CallStats) -> Result<Clients, UserError> {
        use aws_sdk_cloudtrail as trail;
        use aws_sdk_cloudwatchlogs as logs;
        use aws_sdk_secretsmanager as sm;
        let region = config
            .region()
            .map(|region| region.to_string())
            .ok_or_else(|| {
                UserError::new("no AWS region is set: pass --region or set AWS_REGION")
            })?;
        let endpoint = config
            .endpoint_url()
            .map(str::to_string)
            .unwrap_or_else(|| format!("https://secretsmanager.{region}.amazonaws.com"));
        Ok(Clients {
            region,
            endpoint,
            secrets: sm::Client::from_conf(
                sm::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            logs: logs::Client::from_conf(
                logs::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
            cloudtrail: trail::Client::from_conf(
                trail::config::Builder::from(config)
                    .interceptor(stats.interceptor())
                    .build(),
            ),
        })
    }

    /// The region every call goes to.
    pub fn region(&self) -> &str {
        &self.region
    }
}
