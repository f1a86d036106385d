//! Small helpers shared by the checks: the fact a check needs (or the
//! finding that says why it is missing), the managed-secret test, the secret
//! and the Lambda a check reads, the finding of a reachability check, and
//! dates for people.

use crate::check::CheckMeta;
use crate::facts::{ErrorKind, Fact, Facts, Lambda, Secret, Unavailable};
use crate::finding::{Finding, Status};

/// The fact a check needs, or the finding that says why it cannot go on: a
/// fact that does not apply gives `skipped`, worded by `not_applicable`
/// from its reason; one that could not be read gives `unknown`, worded by
/// `unavailable` from the failed call.
pub(crate) fn needed<'a, T>(
    meta: &'static CheckMeta,
    fact: &'a Fact<T>,
    resource: &str,
    not_applicable: impl FnOnce(&str) -> String,
    unavailable: impl FnOnce(&Unavailable) -> String,
) -> Result<&'a T, Box<Finding>> {
    match fact {
        Fact::Present(value) => Ok(value),
        Fact::NotApplicable(why) => Err(Box::new(meta.finding(
            Status::Skipped,
            resource,
            not_applicable(why),
        ))),
        Fact::Unavailable(u) => Err(Box::new(meta.finding(
            Status::Unknown,
            resource,
            unavailable(u),
        ))),
    }
}

/// The fact a check cannot do without, or an `unknown` finding whatever
/// the reason it is missing: "{what} could not be read: {reason}".
pub(crate) fn readable<'a, T>(
    meta: &'static CheckMeta,
    fact: &'a Fact<T>,
    resource: &str,
    what: &str,
) -> Result<&'a T, Box<Finding>> {
    match fact {
        Fact::Present(value) => Ok(value),
        other => Err(Box::new(meta.finding(
            Status::Unknown,
            resource,
            format!(
                "{what} could not be read: {}",
                other.missing_reason().unwrap_or_default()
            ),
        ))),
    }
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
    let secret = readable(meta, &facts.secret, &facts.secret_id, "the secret")?;
    if is_managed(secret) {
        return Err(Box::new(meta.finding(
            Status::Skipped,
            &secret.arn,
            format!(
                "the secret's rotation is managed by {} (see MGD001)",
                secret.owning_service.as_deref().unwrap_or("rds")
            ),
        )));
    }
    Ok(secret)
}

/// The rotation Lambda a Lambda-based check looks at, or the finding that
/// says why it cannot: a managed secret or one without a Lambda is
/// `skipped`; a Lambda that could not be read is `unknown` (a deleted one
/// is reported by LAM001, the canonical existence check, and NET001).
pub(crate) fn rotation_lambda<'a>(
    meta: &'static CheckMeta,
    facts: &'a Facts,
) -> Result<&'a Lambda, Box<Finding>> {
    let not_this = |status, resource: &str, message: String| {
        Err(Box::new(meta.finding(status, resource, message)))
    };
    let secret = readable(meta, &facts.secret, &facts.secret_id, "the secret")?;
    if let Some(service) = &secret.owning_service {
        let message =
            format!("the secret is managed by {service}, which rotates it without a Lambda");
        return not_this(Status::Skipped, &secret.arn, message);
    }
    let arn = secret.rotation_lambda_arn.as_deref().unwrap_or_default();
    if arn.is_empty() {
        let message = "the secret names no rotation Lambda".to_string();
        return not_this(Status::Skipped, &secret.arn, message);
    }
    if let Fact::Unavailable(u) = &facts.lambda {
        if u.kind == ErrorKind::NotFound {
            let message = format!("the rotation Lambda {arn} does not exist (see LAM001)");
            return not_this(Status::Unknown, arn, message);
        }
    }
    readable(meta, &facts.lambda, arn, "the rotation Lambda")
}

/// `skipped` when RDS has no database the secret names: there is nothing
/// to reach, and DB001 fails naming the host (the verdict's root cause), so
/// a network check adds no undecided path of its own.
pub(crate) fn no_such_database(
    meta: &'static CheckMeta,
    facts: &Facts,
    resource: &str,
) -> Option<Box<Finding>> {
    // A proxy with no database behind it is still a destination to reach.
    if facts.proxy.present().is_some() {
        return None;
    }
    match &facts.database {
        Fact::Unavailable(u) if u.kind == ErrorKind::NotFound => {
            let named = facts
                .connection
                .present()
                .and_then(|c| c.host.as_deref())
                .map_or_else(
                    || "the secret's database".to_string(),
                    |h| format!("the secret's host {h}"),
                );
            Some(Box::new(meta.finding(
                Status::Skipped,
                resource,
                if u.call.starts_with("rds:") {
                    format!("no database to reach: {named} matches no RDS database (see DB001)")
                } else {
                    format!("no database to reach: {} (see DB001)", u.message)
                },
            )))
        }
        _ => None,
    }
}

/// `skipped` for facts that describe a template before it is deployed
/// (`Facts::template`): a check of what only a deployed account has (the
/// secret's versions and dates, the function's and database's states,
/// logs, CloudTrail events) has nothing to read there.
pub(crate) fn not_deployed(
    meta: &'static CheckMeta,
    facts: &Facts,
    resource: &str,
    what: &str,
) -> Option<Box<Finding>> {
    facts.template.present().map(|_| {
        Box::new(meta.finding(
            Status::Skipped,
            resource,
            format!("not deployed yet: a template has no {what}"),
        ))
    })
}

/// What a reachability check says about its first blocked path.
pub(crate) struct Blocked {
    pub message: String,
    pub remediation: String,
    pub fixes: Vec<crate::fix::FixPlan>,
}

/// The finding of a reachability check from its paths: `fail` when any path
/// is blocked (the first blocked one speaks), `unknown` when any is
/// undecided, else `pass`. Every path is one line of evidence.
pub(crate) fn path_finding(
    meta: &'static CheckMeta,
    facts: &Facts,
    paths: &Result<Vec<crate::net::NetPath>, String>,
    blocked: impl Fn(&crate::net::NetPath, &crate::net::Hop) -> Blocked,
    reachable: &str,
) -> Finding {
    use crate::net::{render_path, HopVerdict, Verdict};
    let resource = facts
        .lambda
        .present()
        .map(|l| l.arn.clone())
        .unwrap_or_else(|| facts.secret_id.clone());
    let paths = match paths {
        Ok(paths) if !paths.is_empty() => paths,
        Ok(_) => {
            return meta.finding(
                Status::Unknown,
                resource,
                "the Lambda has no subnets to evaluate",
            )
        }
        Err(reason) => return meta.finding(Status::Unknown, resource, reason.clone()),
    };
    let evidence: Vec<String> = paths.iter().map(render_path).collect();
    let first_block = paths.iter().find_map(|path| {
        path.hops
            .iter()
            .find(|h| h.verdict == HopVerdict::Block)
            .map(|hop| (path, hop))
    });
    if let Some((path, hop)) = first_block {
        let Blocked {
            message,
            remediation,
            fixes,
        } = blocked(path, hop);
        let mut evidence = evidence;
        evidence.push(format!("{}: {}", hop.kind.as_str(), hop.detail));
        evidence.extend(
            path.hops
                .iter()
                .filter(|h| h.verdict == HopVerdict::Info)
                .map(|h| format!("note: {}", h.detail)),
        );
        return meta
            .finding(Status::Fail, hop.resource.clone(), message)
            .with_evidence(evidence)
            .with_remediation(remediation)
            .with_fixes(fixes);
    }
    if let Some(path) = paths.iter().find(|p| p.verdict == Verdict::Unknown) {
        let reasons: Vec<String> = path
            .hops
            .iter()
            .filter(|h| h.verdict == HopVerdict::Unknown)
            .map(|h| h.detail.clone())
            .collect();
        return meta
            .finding(
                Status::Unknown,
                resource,
                format!("could not be decided: {}", reasons.join("; ")),
            )
            .with_evidence(evidence);
    }
    meta.finding(Status::Pass, resource, reachable)
        .with_evidence(evidence)
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
    fn ages_read_naturally() {
        assert_eq!(age(chrono::TimeDelta::minutes(1)), "1 minute");
        assert_eq!(age(chrono::TimeDelta::hours(5)), "5 hours");
        assert_eq!(age(chrono::TimeDelta::days(40)), "40 days");
    }
}
