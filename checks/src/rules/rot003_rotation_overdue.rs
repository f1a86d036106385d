//! ROT003: the last rotation is older than the schedule allows.

use chrono::{DateTime, Duration, Utc};

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

use super::schedule::{window, Schedule};
use super::support::{age, iso};

pub struct RotationOverdue;

static META: CheckMeta = CheckMeta {
    id: "ROT003",
    name: "rotation-overdue",
    title: "The last rotation is older than the schedule allows",
    severity: Severity::Medium,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[],
    explained_by: ExplainedBy::AnyBrokenStep,
    docs: r#"## What it checks
For a secret with rotation on, that rotation happens on schedule:
`NextRotationDate` is not in the past, and `LastRotatedDate` is not older
than the schedule. It reads `AutomaticallyAfterDays`, `rate(N hours|days)`
and the six-field AWS `cron()` form (`*`, `?`, numbers, names, lists,
ranges, `/` steps; `L`, `W` and `#` are noted and not evaluated), and
allows the rotation window (`Duration`, or 24 hours when unset, because
Secrets Manager picks the hour within the day at random) as grace. "Now"
is the time the facts were collected.

## Why it breaks rotation
A rotation that does not happen on schedule has failed or is blocked: a
stuck AWSPENDING (ROT002), a function that errors (LOG001), a network path
that is closed (NET002, NET003). Meanwhile the password ages past the
policy it was meant to keep; AWS Config's
`secretsmanager-scheduled-rotation-success-check` and Security Hub
SecretsManager.2 report the same.

## How to fix it
Fix the causes the other findings name, then rotate now:
`aws secretsmanager rotate-secret --secret-id SECRET`. `--fix` has no
action for this check: it fixes the causes.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/config/latest/developerguide/secretsmanager-scheduled-rotation-success-check.html
"#,
};

impl Check for RotationOverdue {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let secret = match super::support::unmanaged_secret(&META, facts) {
            Ok(secret) => secret,
            Err(finding) => return vec![*finding],
        };
        let what = "rotation dates";
        if let Some(finding) = super::support::not_deployed(&META, facts, &secret.arn, what) {
            return vec![*finding];
        }
        if secret.rotation_enabled != Some(true) {
            return vec![META.finding(
                Status::Skipped,
                &secret.arn,
                "rotation is not on (see ROT001)",
            )];
        }
        let now = facts.collected_at;
        let rules = secret.rotation_rules.clone().unwrap_or_default();
        let window_length = window(rules.duration.as_deref());
        let grace = window_length.unwrap_or(Duration::hours(24));
        let grace_text = match window_length {
            Some(_) => format!(
                "the {} rotation window",
                rules.duration.as_deref().unwrap_or_default()
            ),
            None => "24 hours".to_string(),
        };
        let schedule = Schedule::from_rules(&rules);

        let mut evidence = Vec::new();
        let mut notes = Vec::new();
        match &schedule {
            Ok(Some(s)) => evidence.push(format!("schedule: {}", s.describe())),
            Ok(None) => notes.push("no schedule is recorded".to_string()),
            Err(why) => notes.push(format!("schedule not evaluated: {}", why.0)),
        }
        if let Some(d) = &rules.duration {
            evidence.push(format!("window: {d}"));
        }
        if let Some(last) = &secret.last_rotated {
            evidence.push(format!("last rotated: {}", iso(last)));
        }
        if let Some(next) = &secret.next_rotation {
            evidence.push(format!("next rotation: {}", iso(next)));
        }
        evidence.push(format!("diagnosed at: {}", iso(&now)));

        // Whether the grace after `due` has passed (a date so late that the
        // grace runs past the last representable one never has).
        let past_grace =
            |due: DateTime<Utc>| due.checked_add_signed(grace).is_some_and(|end| end < now);
        let mut overdue = Vec::new();
        if let Some(next) = secret.next_rotation {
            if past_grace(next) {
                overdue.push(format!(
                    "NextRotationDate {} passed {} ago",
                    iso(&next),
                    age(now - next)
                ));
            }
        }
        if let (Some(last), Ok(Some(s))) = (secret.last_rotated, &schedule) {
            match s.next_after(last) {
                Some(due) if past_grace(due) => overdue.push(format!(
                    "the last rotation was {} ({} ago), and {} asked for the next by {}",
                    iso(&last),
                    age(now - last),
                    s.describe(),
                    iso(&due)
                )),
                Some(_) => {}
                None => notes.push(format!(
                    "{} has no run within five years of the last rotation",
                    s.describe()
                )),
            }
        }

        let finding = if !overdue.is_empty() {
            META.finding(
                Status::Fail,
                &secret.arn,
                format!("rotation is overdue: {} (grace: {grace_text})", overdue.join("; ")),
            )
            .with_remediation(format!(
                "A rotation that does not run on schedule has failed or is blocked: fix what ROT002, LOG001 \
                 and the network checks report, then rotate now: aws secretsmanager rotate-secret --secret-id {}",
                secret.arn
            ))
        } else if secret.last_rotated.is_none() && secret.next_rotation.is_none() {
            META.finding(
                Status::Pass,
                &secret.arn,
                "no rotation date is recorded yet, so nothing is overdue",
            )
        } else {
            let note = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            META.finding(
                Status::Pass,
                &secret.arn,
                format!("rotation is on schedule{note}"),
            )
        };
        evidence.extend(notes.into_iter().map(|n| format!("note: {n}")));
        vec![finding.with_evidence(evidence)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            // Rotated 40 days ago on a 30-day schedule; the next date passed 10 days ago.
            with_dates(40, -10)
        };
        let passing = with_dates(3, 27);
        (failing, passing)
    }
}

#[cfg(test)]
fn with_dates(last_days_ago: i64, next_in_days: i64) -> Facts {
    let mut facts = crate::fixtures::lab_moved();
    let now = facts.collected_at;
    let secret = crate::fixtures::get(&mut facts.secret);
    secret.last_rotated = Some(now - Duration::days(last_days_ago));
    secret.next_rotation = Some(now + Duration::days(next_in_days));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::RotationRules;
    use crate::fixtures::get;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&RotationOverdue, facts).remove(0)
    }

    fn rules(facts: &mut Facts, expression: Option<&str>, duration: Option<&str>) {
        get(&mut facts.secret).rotation_rules = Some(RotationRules {
            automatically_after_days: None,
            schedule_expression: expression.map(str::to_string),
            duration: duration.map(str::to_string),
        });
    }

    #[test]
    fn a_past_next_date_and_an_old_rotation_fail() {
        let f = first(&RotationOverdue.fixtures().0);
        assert_eq!(f.status, Status::Fail);
        assert_eq!(f.severity, Severity::Medium);
        assert!(f.message.contains("passed 10 days ago"), "{}", f.message);
        assert!(f.message.contains("every 30 days"), "{}", f.message);
    }

    #[test]
    fn on_schedule_passes() {
        assert_eq!(first(&RotationOverdue.fixtures().1).status, Status::Pass);
    }

    #[test]
    fn the_window_is_the_grace() {
        // Due 12 hours ago: inside the default 24 h, outside a 3 h window.
        let mut facts = with_dates(1, 30);
        let now = facts.collected_at;
        get(&mut facts.secret).last_rotated = Some(now - Duration::hours(16));
        get(&mut facts.secret).next_rotation = None;
        rules(&mut facts, Some("rate(4 hours)"), None);
        assert_eq!(first(&facts).status, Status::Pass);
        rules(&mut facts, Some("rate(4 hours)"), Some("3h"));
        assert_eq!(first(&facts).status, Status::Fail);
    }

    #[test]
    fn cron_schedules_are_followed() {
        // Monthly on the 1st; last rotated 2026-10-01, now 2026-11-28: the
        // 2026-11-01 run is missing.
        let mut facts = with_dates(58, 30);
        get(&mut facts.secret).next_rotation = None;
        rules(&mut facts, Some("cron(0 8 1 * ? *)"), Some("4h"));
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.message.contains("2026-11-01T08:00:00Z"), "{}", f.message);
        // Weekly: last rotated three days ago is fine.
        let mut facts = with_dates(3, 30);
        get(&mut facts.secret).next_rotation = None;
        rules(&mut facts, Some("cron(0 8 ? * SUN *)"), None);
        assert_eq!(first(&facts).status, Status::Pass);
    }

    #[test]
    fn unevaluated_cron_passes_with_a_note() {
        let mut facts = with_dates(58, 30);
        get(&mut facts.secret).next_rotation = None;
        rules(&mut facts, Some("cron(0 8 L * ? *)"), None);
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass);
        assert!(f.message.contains("not evaluated"), "{}", f.message);
    }

    #[test]
    fn skipped_when_rotation_is_off() {
        let mut facts = RotationOverdue.fixtures().0;
        get(&mut facts.secret).rotation_enabled = Some(false);
        assert_eq!(first(&facts).status, Status::Skipped);
    }

    /// A snapshot's dates and counts at the edge of what chrono holds
    /// panicked (`DateTime + TimeDelta` overflowed, `TimeDelta::days out of
    /// bounds`); the snapshot_load fuzz target's corpus keeps such inputs.
    #[test]
    fn dates_and_counts_at_the_edge_do_not_panic() {
        let mut facts = with_dates(40, -10);
        get(&mut facts.secret).next_rotation = Some(DateTime::<Utc>::MAX_UTC);
        assert_eq!(
            first(&facts).status,
            Status::Fail,
            "the schedule still decides"
        );
        get(&mut facts.secret).next_rotation = None;
        rules(&mut facts, Some("rate(9223372036854775807 days)"), None);
        assert_eq!(first(&facts).status, Status::Pass);
        rules(
            &mut facts,
            Some("rate(4 hours)"),
            Some("9223372036854775807h"),
        );
        assert_eq!(first(&facts).status, Status::Fail);
        get(&mut facts.secret).rotation_rules = Some(RotationRules {
            automatically_after_days: Some(i64::MAX),
            schedule_expression: None,
            duration: None,
        });
        assert_eq!(first(&facts).status, Status::Pass);
    }
}
