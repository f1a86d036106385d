//! TRL001: CloudTrail's record of the secret's recent rotations: failed or
//! abandoned ones, with the step that failed.

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Facts, RotationEvent};
use crate::finding::{Finding, Severity, Status};

use super::support::{iso, needed, unmanaged_secret};

pub struct RotationEvents;

const FAILED: &str = "RotationFailed";
const ABANDONED: &str = "RotationAbandoned";
const SUCCEEDED: &str = "RotationSucceeded";

static META: CheckMeta = CheckMeta {
    id: "TRL001",
    name: "rotation-events",
    title: "CloudTrail records no failed or abandoned rotation in the window",
    severity: Severity::High,
    can_fix: false,
    // CloudTrail only confirms what the other checks decide: an unknown
    // here (no permission, moto) never changes the exit code.
    optional_evidence: true,
    breaks_steps: &[],
    explained_by: ExplainedBy::AnyBrokenStep,
    docs: r#"## What it checks
CloudTrail's management events (`cloudtrail:LookupEvents`, by event name)
`RotationFailed`, `RotationAbandoned` and `RotationSucceeded` for this
secret (`additionalEventData.SecretId`) in the log window. A failure after
the last success fails, with the count, the last time and the failing step
(`... during createSecret step` in the event's `errorMessage`); failures
followed by a success warn. This is optional evidence: when CloudTrail cannot
be read (no permission, or an emulator without LookupEvents) the check says
so as `unknown`, which never changes the exit code.

## Why it breaks rotation
It does not: it records that rotation broke, and where. The step narrows the
cause: `createSecret` has no database access (Secrets Manager permissions,
KMS, the Secrets Manager endpoint), `setSecret` and `testSecret` log in to
the database (network, credentials), `finishSecret` moves the labels
(`UpdateSecretVersionStage`). `RotationAbandoned` means a manual change of
the secret (PutSecretValue, UpdateSecret) during a rotation; Secrets Manager
then removes AWSPENDING.

## How to fix it
Fix what the other findings report, then rotate again:
`aws secretsmanager rotate-secret --secret-id SECRET`. For an abandoned
rotation, stop whatever writes the secret during rotations. `--fix` has no
action for this check.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
"#,
};

fn describe(event: &RotationEvent) -> String {
    let step = event
        .step
        .as_deref()
        .map(|s| format!(" during {s}"))
        .unwrap_or_default();
    let message = event
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    format!("{} {}{step}{message}", iso(&event.time), event.name)
}

impl Check for RotationEvents {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        if secret.rotation_lambda_arn.is_none() && secret.rotation_enabled != Some(true) {
            return vec![META.finding(
                Status::Skipped,
                &secret.arn,
                "rotation is not configured on the secret",
            )];
        }
        let what = "CloudTrail events";
        if let Some(finding) = super::support::not_deployed(&META, facts, &secret.arn, what) {
            return vec![*finding];
        }
        let trail = match needed(
            &META,
            &facts.rotation_events,
            &secret.arn,
            |why| format!("CloudTrail's rotation events were not read: {why}"),
            |u| {
                format!(
                "CloudTrail's rotation events could not be read ({u}); they are optional evidence, the other checks decide"
            )
            },
        ) {
            Ok(trail) => trail,
            Err(finding) => return vec![*finding],
        };
        let window = format!("the last {} hours", facts.log_window_hours);
        let mut events: Vec<&RotationEvent> = trail.events.iter().collect();
        events.sort_by_key(|e| e.time);
        let last_success = events.iter().rposition(|e| e.name == SUCCEEDED);
        let bad = |e: &&&RotationEvent| e.name == FAILED || e.name == ABANDONED;
        let after: Vec<&RotationEvent> = events
            .iter()
            .skip(last_success.map_or(0, |i| i + 1))
            .filter(bad)
            .copied()
            .collect();
        let before: Vec<&RotationEvent> = events
            .iter()
            .take(last_success.map_or(0, |i| i + 1))
            .filter(bad)
            .copied()
            .collect();
        let mut evidence: Vec<String> = events.iter().rev().take(10).map(|e| describe(e)).collect();
        if trail.truncated {
            evidence
                .push("note: the page bound stopped the read; older events were not read".into());
        }
        let count =
            |list: &[&RotationEvent], name: &str| list.iter().filter(|e| e.name == name).count();
        let finding = if let Some(last) = after.last() {
            let (failed, abandoned) = (count(&after, FAILED), count(&after, ABANDONED));
            let mut parts = Vec::new();
            if failed > 0 {
                parts.push(format!("{failed} RotationFailed"));
            }
            if abandoned > 0 {
                parts.push(format!("{abandoned} RotationAbandoned"));
            }
            let step = after
                .iter()
                .rev()
                .find_map(|e| e.step.as_deref())
                .map(|s| format!(", failing in the {s} step"))
                .unwrap_or_default();
            let since = match last_success {
                Some(i) => format!(
                    "since the last RotationSucceeded at {}",
                    iso(&events[i].time)
                ),
                None => format!("and no RotationSucceeded in {window}"),
            };
            META.finding(
                Status::Fail,
                &secret.arn,
                format!(
                    "CloudTrail records {} event{} {since}, the last at {} ({}{step})",
                    parts.join(" and "),
                    if after.len() == 1 { "" } else { "s" },
                    iso(&last.time),
                    last.name,
                ),
            )
            .with_remediation(
                "Fix what the other findings report (the step narrows it: createSecret has no database access, setSecret and testSecret log in to the database, finishSecret moves labels), then: aws secretsmanager rotate-secret --secret-id SECRET"
                    .replace("SECRET", &secret.name),
            )
        } else if !before.is_empty() {
            let i = last_success.unwrap_or_default();
            META.finding(
                Status::Warn,
                &secret.arn,
                format!(
                    "CloudTrail records {} failed or abandoned rotation{} in {window}, followed by a RotationSucceeded at {}",
                    before.len(),
                    if before.len() == 1 { "" } else { "s" },
                    iso(&events[i].time)
                ),
            )
        } else if let Some(i) = last_success {
            META.finding(
                Status::Pass,
                &secret.arn,
                format!(
                    "CloudTrail records no failed rotation in {window}; the last RotationSucceeded was at {}",
                    iso(&events[i].time)
                ),
            )
        } else {
            META.finding(
                Status::Pass,
                &secret.arn,
                format!("CloudTrail records no rotation event for the secret in {window}"),
            )
        };
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            with_events(vec![
                event(9, FAILED, Some("setSecret")),
                event(10, FAILED, Some("setSecret")),
            ])
        };
        let passing = with_events(vec![event(9, SUCCEEDED, None)]);
        (failing, passing)
    }
}

#[cfg(test)]
fn event(hour: u32, name: &str, step: Option<&str>) -> RotationEvent {
    use chrono::TimeZone;
    RotationEvent {
        time: chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, hour, 0, 0)
            .unwrap(),
        name: name.to_string(),
        step: step.map(str::to_string),
        message: step.map(|s| {
            format!(
                "Error when executing lambda {} during {s} step",
                crate::fixtures::LAMBDA_ARN
            )
        }),
        event_id: None,
    }
}

#[cfg(test)]
fn with_events(events: Vec<RotationEvent>) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    crate::fixtures::get(&mut facts.rotation_events).events = events;
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ErrorKind, Fact, Unavailable};

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&RotationEvents, facts).remove(0)
    }

    #[test]
    fn failures_fail_with_count_last_time_and_step() {
        let f = first(&RotationEvents.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("2 RotationFailed events"),
            "{}",
            f.message
        );
        assert!(f.message.contains("2026-11-28T10:00:00Z"), "{}", f.message);
        assert!(
            f.message.contains("failing in the setSecret step"),
            "{}",
            f.message
        );
        assert_eq!(f.evidence.len(), 2);
    }

    #[test]
    fn a_success_passes_and_failures_before_it_warn() {
        assert_eq!(first(&RotationEvents.fixtures().1).status, Status::Pass);
        let f = first(&with_events(vec![
            event(8, ABANDONED, None),
            event(9, SUCCEEDED, None),
        ]));
        assert_eq!(f.status, Status::Warn);
        let f = first(&with_events(vec![
            event(8, SUCCEEDED, None),
            event(9, ABANDONED, None),
        ]));
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message
                .contains("1 RotationAbandoned event since the last RotationSucceeded"),
            "{}",
            f.message
        );
    }

    #[test]
    fn it_is_optional_evidence() {
        assert!(RotationEvents.meta().optional_evidence);
    }

    #[test]
    fn no_events_pass() {
        let f = first(&with_events(Vec::new()));
        assert_eq!(f.status, Status::Pass);
        assert!(f.message.contains("no rotation event"));
    }

    #[test]
    fn unreadable_cloudtrail_is_unknown_with_the_reason() {
        let mut facts = RotationEvents.fixtures().0;
        facts.rotation_events = Fact::Unavailable(Unavailable {
            call: "cloudtrail:LookupEvents".into(),
            kind: ErrorKind::Other,
            message: "HTTP 500 with an unreadable error body".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Unknown);
        assert!(
            f.message
                .contains("cloudtrail:LookupEvents failed: HTTP 500"),
            "{}",
            f.message
        );
        assert!(f.message.contains("optional evidence"));
    }
}
