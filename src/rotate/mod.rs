//! `rotate --wait`: start a rotation and follow it until the new version
//! becomes AWSCURRENT, a step fails, or time runs out. Every poll reads the
//! version stages and the rotation Lambda's new log lines, and each step
//! the lines report is printed on stderr as it happens.

mod focus;
mod steps;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rotation_doctor_checks::{ErrorKind, LogEvent, RotationStep};

use crate::actions;
use crate::collect::errors::CallFailure;
use crate::collect::logs::clean_message;
use crate::collect::Clients;
use crate::error::UserError;
pub use focus::{findings_for_step, needs};
pub use steps::StepFailure;
use steps::{Outcome, StepTracker};

pub enum Rotation {
    Succeeded {
        version_id: String,
    },
    /// RotateSecret refused, the stages could not be read, or the new
    /// version lost AWSPENDING; why.
    Failed(String),
    /// The logs showed a step fail.
    StepFailed {
        version_id: String,
        failure: StepFailure,
    },
    TimedOut {
        version_id: String,
        /// The step after the last one that reported success, when the
        /// logs showed any.
        stalled_at: Option<RotationStep>,
    },
}

impl Rotation {
    /// The step the rotation failed or stopped at, when the logs tell.
    pub fn failed_step(&self) -> Option<RotationStep> {
        match self {
            Rotation::StepFailed { failure, .. } => Some(failure.step),
            Rotation::TimedOut { stalled_at, .. } => *stalled_at,
            _ => None,
        }
    }
}

/// How often the stages and the logs are read: rotations take seconds to
/// minutes.
const POLL_EVERY: Duration = Duration::from_secs(2);
/// The log read starts this long before RotateSecret was sent: the local
/// clock and CloudWatch's may differ by a little, and a line stamped before
/// the read's start would never be seen.
const CLOCK_SKEW_ALLOWANCE: chrono::Duration = chrono::Duration::seconds(5);
/// Each read goes back this far before the newest line already seen, for
/// lines CloudWatch Logs ingests late; the ids already seen are skipped.
const LATE_ARRIVAL: chrono::Duration = chrono::Duration::seconds(30);
/// Pages of `PAGE_LIMIT` events each read may take; the next read goes on
/// from the newest line.
const MAX_PAGES: usize = 5;
const PAGE_LIMIT: i32 = 1_000;

/// Where the trace goes: above the spinner on a terminal, plain lines on
/// stderr otherwise.
struct Progress {
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(show: bool, message: String) -> Progress {
        let spinner = show.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { spinner }
    }

    /// One step of the trace; `--quiet` keeps only the outcome.
    fn say(&self, line: &str) {
        if crate::notice::quiet() {
            return;
        }
        match &self.spinner {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(self) {
        if let Some(bar) = self.spinner {
            bar.finish_and_clear();
        }
    }
}

/// The secret's ARN and rotation function, read once before rotating:
/// RotateSecret without a function ARN keeps the stored one on AWS (moto
/// blanks it: docs/moto-notes.md, "Secrets Manager").
struct SecretToRotate {
    arn: String,
    function_name: Option<String>,
}

async fn describe(clients: &Clients, secret_id: &str) -> Result<SecretToRotate, String> {
    let described = clients
        .secrets
        .describe_secret()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| CallFailure::from_sdk("secretsmanager:DescribeSecret", &e).message)?;
    let function_name = described
        .rotation_lambda_arn()
        .filter(|arn| !arn.is_empty())
        .map(|arn| {
            rotation_doctor_checks::Arn::parse(arn)
                .and_then(|a| a.function_name())
                .unwrap_or(arn)
                .to_string()
        });
    Ok(SecretToRotate {
        arn: described.arn().unwrap_or(secret_id).to_string(),
        function_name,
    })
}

/// Reads a log group's lines of this rotation, a poll at a time, each line
/// once.
struct LogFollower {
    log_group: String,
    since: DateTime<Utc>,
    newest: Option<DateTime<Utc>>,
    seen: HashSet<String>,
}

impl LogFollower {
    /// The lines not read before, oldest first. A log group that does not
    /// exist yet (the function has not run) has none.
    async fn new_lines(&mut self, clients: &Clients) -> Result<Vec<LogEvent>, String> {
        let start = match self.newest {
            Some(newest) => (newest - LATE_ARRIVAL).max(self.since),
            None => self.since,
        };
        let mut lines = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let request = clients
                .logs
                .filter_log_events()
                .log_group_name(&self.log_group)
                .start_time(start.timestamp_millis())
                .limit(PAGE_LIMIT)
                .set_next_token(next_token.take());
            // As in src/collect/logs.rs: moto groups by stream without it.
            #[allow(deprecated)]
            let request = request.interleaved(true);
            let output = match request.send().await {
                Ok(output) => output,
                Err(error) => {
                    let failure = CallFailure::from_sdk("logs:FilterLogEvents", &error);
                    if failure.kind == ErrorKind::NotFound {
                        return Ok(lines);
                    }
                    return Err(failure.unavailable().to_string());
                }
            };
            for event in output.events() {
                let id = event.event_id().unwrap_or_default().to_string();
                let Some(timestamp) = event.timestamp().and_then(DateTime::from_timestamp_millis)
                else {
                    continue;
                };
                if !self.seen.insert(id) {
                    continue;
                }
                self.newest = Some(self.newest.map_or(timestamp, |n| n.max(timestamp)));
                lines.push(LogEvent {
                    timestamp,
                    stream: event.log_stream_name().map(str::to_string),
                    // The same cleaning as the diagnosis's log read: values
                    // of password-like keys are masked.
                    message: clean_message(event.message().unwrap_or_default(), &[]),
                });
            }
            next_token = output
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if next_token.is_none() {
                break;
            }
        }
        lines.sort_by_key(|line| line.timestamp);
        Ok(lines)
    }
}

/// The trace of one rotation: its log lines read as steps.
struct Trace {
    logs: LogFollower,
    steps: StepTracker,
}

pub async fn rotate_and_wait(
    clients: &Clients,
    secret_id: &str,
    timeout: Duration,
    show_progress: bool,
) -> Result<Rotation, UserError> {
    let secret = describe(clients, secret_id).await;
    let started = Utc::now();
    let clock = Instant::now();
    // A rotation that fails to start has failed; the diagnosis says why.
    let version_id = match actions::rotate_secret::start(clients, secret_id).await {
        Ok(version_id) => version_id,
        Err(reason) => return Ok(Rotation::Failed(reason)),
    };
    let progress = Progress::new(
        show_progress,
        format!("rotating {secret_id}: waiting for version {version_id}"),
    );
    let mut trace = match secret {
        Ok(SecretToRotate {
            arn,
            function_name: Some(function),
        }) => {
            let log_group = format!("/aws/lambda/{function}");
            progress.say(&format!(
                "Rotation started: version {version_id}; following {log_group}"
            ));
            Some(Trace {
                logs: LogFollower {
                    log_group,
                    since: started - CLOCK_SKEW_ALLOWANCE,
                    newest: None,
                    seen: HashSet::new(),
                },
                steps: StepTracker::new(&arn, &version_id),
            })
        }
        Ok(SecretToRotate {
            function_name: None,
            ..
        }) => {
            progress.say(&format!(
                "Rotation started: version {version_id}; the secret names no rotation Lambda, so only its version stages are followed"
            ));
            None
        }
        Err(reason) => {
            progress.say(&format!(
                "Rotation started: version {version_id}; the rotation Lambda is unknown ({reason}), so only the version stages are followed"
            ));
            None
        }
    };
    let deadline = clock + timeout;
    let outcome = loop {
        // Stages first, then the lines: a line written before the stages
        // moved is then shown before the success.
        let stages = actions::version_stages(clients, secret_id).await;
        let failure = follow(clients, &mut trace, &progress, started).await;
        // AWSCURRENT on the new version is success, even after a failed
        // step (Secrets Manager retries a failed rotation).
        if stages.as_ref().is_ok_and(|s| is_current(s, &version_id)) {
            progress.say(&format!(
                "  {:>7}  AWSCURRENT moved to version {version_id}",
                steps::elapsed(started, Utc::now())
            ));
            break Rotation::Succeeded { version_id };
        }
        if let Some(failure) = failure {
            break Rotation::StepFailed {
                version_id,
                failure,
            };
        }
        let stages = match stages {
            Ok(stages) => stages,
            Err(reason) => break Rotation::Failed(reason),
        };
        let labels = stages.get(&version_id).cloned().unwrap_or_default();
        let pending_elsewhere = stages
            .iter()
            .any(|(v, l)| *v != version_id && l.iter().any(|l| l == "AWSPENDING"));
        if !labels.iter().any(|l| l == "AWSPENDING") && !pending_elsewhere {
            break Rotation::Failed(format!(
                "version {version_id} lost its AWSPENDING label without becoming AWSCURRENT: the rotation was abandoned"
            ));
        }
        if Instant::now() >= deadline {
            let stalled_at = trace
                .as_ref()
                .filter(|t| t.steps.saw_lines())
                .and_then(|t| t.steps.step_in_progress());
            break Rotation::TimedOut {
                version_id,
                stalled_at,
            };
        }
        tokio::time::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now())))
            .await;
    };
    progress.finish();
    Ok(outcome)
}

fn is_current(stages: &HashMap<String, Vec<String>>, version_id: &str) -> bool {
    stages
        .get(version_id)
        .is_some_and(|labels| labels.iter().any(|l| l == "AWSCURRENT"))
}

/// Reads the new lines, prints the steps they report, and returns the first
/// failed step. A log group that cannot be read ends the trace (said once);
/// the stages are still followed.
async fn follow(
    clients: &Clients,
    trace: &mut Option<Trace>,
    progress: &Progress,
    started: DateTime<Utc>,
) -> Option<StepFailure> {
    let current = trace.as_mut()?;
    let lines = match current.logs.new_lines(clients).await {
        Ok(lines) => lines,
        Err(reason) => {
            progress.say(&format!(
                "  cannot read {} ({reason}): only the version stages are followed",
                current.logs.log_group
            ));
            *trace = None;
            return None;
        }
    };
    for line in lines {
        let Some(event) = current.steps.read(line) else {
            continue;
        };
        progress.say(&steps::render(&event, started));
        if let Outcome::Failed(failure) = event.outcome {
            return Some(failure);
        }
    }
    None
}
