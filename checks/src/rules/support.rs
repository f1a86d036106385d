//! Small helpers shared by the rotation, Lambda and secret checks: ARN
//! parsing, the managed-secret test, and the secret a check reads.

use crate::check::CheckMeta;
use crate::facts::{Fact, Facts, Secret};
use crate::finding::{Finding, Status};

/// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub(crate) fn parse_arn(text: &str) -> Option<Arn<'_>> {
    let mut parts = text.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    Some(Arn {
        partition: parts.next()?,
        service: parts.next()?,
        region: parts.next()?,
        account: parts.next()?,
        resource: parts.next()?,
    })
}

/// True for a secret another service rotates without a Lambda (RDS's
/// `rds!db-…` / `rds!cluster-…` master secrets and the like).
pub(crate) fn is_managed(secret: &Secret) -> bool {
    secret.owning_service.is_some() || secret.name.starts_with("rds!")
}

/// The secret a rotation-state check reads, or the finding that says why it
/// cannot: `unknown` when it could not be read, `skipped` when another
/// service manages its rotation (MGD001 reports those).
pub(crate) fn unmanaged_secret<'a>(
    meta: &'static CheckMeta,
    facts: &'a Facts,
) -> Result<&'a Secret, Box<Finding>> {
    match &facts.secret {
        Fact::Present(secret) if is_managed(secret) => Err(Box::new(meta.finding(
            Status::Skipped,
            &secret.arn,
            format!(
                "the secret's rotation is managed by {} (see MGD001)",
                secret.owning_service.as_deref().unwrap_or("rds")
            ),
        ))),
        Fact::Present(secret) => Ok(secret),
        other => Err(Box::new(meta.finding(
            Status::Unknown,
            &facts.secret_id,
            format!(
                "the secret could not be read: {}",
                other.missing_reason().unwrap_or_default()
            ),
        ))),
    }
}

/// `2026-11-28T12:00:00Z`.
pub(crate) fn iso(time: &chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A rough age for a person: `3 days`, `5 hours`, `12 minutes`.
pub(crate) fn age(delta: chrono::TimeDelta) -> String {
    let minutes = delta.num_minutes().max(0);
    let (n, unit) = if minutes >= 2 * 24 * 60 {
        (minutes / (24 * 60), "day")
    } else if minutes >= 2 * 60 {
        (minutes / 60, "hour")
    } else {
        (minutes, "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_their_parts() {
        let arn =
            parse_arn("arn:aws:lambda:eu-west-1:123456789012:function:rot:live").expect("an ARN");
        assert_eq!(arn.service, "lambda");
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "function:rot:live");
        assert!(parse_arn("rot").is_none());
        assert!(parse_arn("arn:aws:lambda").is_none());
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(chrono::TimeDelta::minutes(1)), "1 minute");
        assert_eq!(age(chrono::TimeDelta::hours(5)), "5 hours");
        assert_eq!(age(chrono::TimeDelta::days(40)), "40 days");
    }
}
