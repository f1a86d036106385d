//! LOG001: the rotation Lambda's recent log errors, grouped by cause.

use crate::check::{Check, CheckMeta, ExplainedBy};
use crate::diagnosis::NetworkPaths;
use crate::facts::{ErrorKind, Fact, Facts};
use crate::finding::{Finding, Severity, Status};
use crate::logs::classify;

pub struct RotationLogErrors;

static META: CheckMeta = CheckMeta {
    id: "LOG001",
    name: "rotation-log-errors",
    title: "Recent errors in the rotation Lambda's logs",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: true,
    breaks_steps: &[],
    explained_by: ExplainedBy::AnyBrokenStep,
    docs: r#"## What it checks
The rotation Lambda's log events in the window (`--since`, 24 hours by
default), matched against the messages AWS's rotation functions and the
Lambda runtime write when a rotation breaks: failed database logins,
timeouts (told apart by what came before: silence after "Found credentials"
means Secrets Manager is unreachable, a timeout after createSecret means the
database is), missing modules, denied actions, KMS, missing secret keys,
engine mismatches, TLS failures, stage mismatches, and the drivers' own
connection, login and privilege errors (the list, with the source of each
message, is `checks/src/logs/messages.tsv`). It reports each cause with its
count, first and last time, the details the lines name, and the latest
matching line. An error line it does not know (logged at ERROR level, or an
exception) is reported as `unrecognised`, with its count and latest line,
rather than dropped.

## Why it breaks rotation
These lines are the rotation failing. They also tell which step failed, and
so where to look: the network checks for logins and timeouts, the role for
denied actions, the secret for missing keys.

## How to fix it
Follow the hint of each cause. The network causes are usually fixed by the
remediation of NET002 or NET003. A log group that does not exist means the
function never ran, or its role cannot write logs (attach
AWSLambdaBasicExecutionRole).

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
"#,
};

impl Check for RotationLogErrors {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let hours = facts.log_window_hours;
        let log_group = format!("/aws/lambda/{}", lambda.name);
        if let Some(finding) = super::support::not_deployed(&META, facts, &log_group, "logs") {
            return vec![*finding];
        }
        if let Fact::Unavailable(u) = &facts.logs {
            if u.kind == ErrorKind::NotFound {
                return vec![META.finding(
                    Status::Unknown,
                    &log_group,
                    format!(
                        "the log group {log_group} does not exist: the function has never run, or its role cannot write logs"
                    ),
                )];
            }
        }
        let logs = match super::support::readable(&META, &facts.logs, &log_group, "the logs") {
            Ok(logs) => logs,
            Err(finding) => return vec![*finding],
        };
        let causes = classify(&logs.events);
        let truncated = if logs.truncated {
            " (the read stopped at its page limit; older events were not read)"
        } else {
            ""
        };
        if causes.is_empty() {
            return vec![META.finding(
                Status::Pass,
                &logs.log_group,
                format!(
                    "no rotation errors in {} log events of the last {hours} h{truncated}",
                    logs.events.len()
                ),
            )];
        }
        let total: usize = causes.iter().map(|c| c.count).sum();
        let summary: Vec<String> = causes
            .iter()
            .map(|c| format!("{} ({}×)", c.cause, c.count))
            .collect();
        let evidence = causes.iter().map(|c| {
            let details = if c.details.is_empty() {
                String::new()
            } else {
                format!(" [{}]", c.details.join(", "))
            };
            format!(
                "{}: {}× from {} to {}{details}: {}",
                c.id,
                c.count,
                c.first.format("%Y-%m-%dT%H:%M:%SZ"),
                c.last.format("%Y-%m-%dT%H:%M:%SZ"),
                c.example
            )
        });
        let remediation: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.cause, c.hint))
            .collect();
        vec![META
            .finding(
                Status::Fail,
                &logs.log_group,
                format!(
                    "{total} rotation error line(s) in the last {hours} h{truncated}: {}",
                    summary.join("; ")
                ),
            )
            .with_evidence(evidence)
            .with_remediation(remediation.join("\n"))]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = crate::fixtures::lab();
        let passing = {
            let mut facts = crate::fixtures::lab();
            crate::fixtures::get(&mut facts.logs).events.clear();
            facts
        };
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Unavailable;
    use crate::fixtures::{get, lab};

    #[test]
    fn lab_reports_the_set_secret_login_failure() {
        let finding = crate::rules::evaluate_alone(&RotationLogErrors, &lab()).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert!(finding
            .message
            .contains("could not log into the database (1×)"));
        assert!(finding.evidence[0].contains("setSecret: Unable to log into database"));
        assert!(finding.evidence[0].contains("[setSecret]"));
    }

    #[test]
    fn passes_on_quiet_logs() {
        let mut facts = lab();
        get(&mut facts.logs).events.clear();
        assert_eq!(
            crate::rules::evaluate_alone(&RotationLogErrors, &facts)[0].status,
            Status::Pass
        );
    }

    #[test]
    fn an_unknown_error_line_is_reported_as_unrecognised_with_its_count() {
        let mut facts = lab();
        let events = &mut get(&mut facts.logs).events;
        let template = events[0].clone();
        events.clear();
        for (second, message) in [
            (1, "[INFO]\tordinary progress"),
            (2, "[ERROR]\t2026-11-28T11:00:02.000Z\tf00d\tsetSecret: a message no function logs today"),
            (3, "[ERROR] OSError: [Errno 28] No space left on device"),
        ] {
            let mut event = template.clone();
            event.timestamp += chrono::TimeDelta::seconds(second);
            event.message = message.to_string();
            events.push(event);
        }
        let finding = crate::rules::evaluate_alone(&RotationLogErrors, &facts).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains("does not recognise (2×)"),
            "{}",
            finding.message
        );
        assert!(
            finding.evidence[0].starts_with("unrecognised: 2×"),
            "{:?}",
            finding.evidence
        );
        assert!(
            finding.evidence[0]
                .ends_with("[OSError]: [ERROR] OSError: [Errno 28] No space left on device"),
            "{:?}",
            finding.evidence
        );
    }

    #[test]
    fn missing_log_group_is_unknown() {
        let mut facts = lab();
        facts.logs = Fact::Unavailable(Unavailable {
            call: "logs:FilterLogEvents".into(),
            kind: ErrorKind::NotFound,
            message: "The specified log group does not exist.".into(),
        });
        let finding = crate::rules::evaluate_alone(&RotationLogErrors, &facts).remove(0);
        assert_eq!(finding.status, Status::Unknown);
        assert!(finding.message.contains("does not exist"));
    }
}
