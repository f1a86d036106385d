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
    pub(crate) redshift: aws_sdk_redshift::Client,
    pub(crate) elasticache: aws_sdk_elasticache::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) cloudtrail: aws_sdk_cloudtrail::Client,
}

/// One service's client of `config`, counting its calls into `stats`.
/// Each SDK crate has its own `Client` and `config::Builder` types, with
/// no trait in common, so a macro spells the same three calls for each.
macro_rules! counted_client {
    ($sdk:ident, $config:expr, $stats:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor($stats.interceptor())
                .build(),
        )
    };
}

impl Clients {
    /// Every client of `config`'s region, each counting into `stats`.
    pub fn new(config: &aws_config::SdkConfig, stats: &CallStats) -> Result<Clients, UserError> {
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
            secrets: counted_client!(aws_sdk_secretsmanager, config, stats),
            lambda: counted_client!(aws_sdk_lambda, config, stats),
            logs: counted_client!(aws_sdk_cloudwatchlogs, config, stats),
            rds: counted_client!(aws_sdk_rds, config, stats),
            redshift: counted_client!(aws_sdk_redshift, config, stats),
            elasticache: counted_client!(aws_sdk_elasticache, config, stats),
            ec2: counted_client!(aws_sdk_ec2, config, stats),
            iam: counted_client!(aws_sdk_iam, config, stats),
            kms: counted_client!(aws_sdk_kms, config, stats),
            cloudtrail: counted_client!(aws_sdk_cloudtrail, config, stats),
        })
    }

    /// The region every call goes to.
    pub fn region(&self) -> &str {
        &self.region
    }
}
