//! The rotation function's log lines read as the steps of one rotation:
//! which step a line reports, whether it succeeded or failed, and why.
//! Pure: `rotate_and_wait` feeds it the lines as they arrive.
//!
//! The strings are those AWS's rotation functions write
//! (docs/failure-catalog.md): `logger.info`/`logger.error` lines look like
//! `[INFO]\t<time>\t<request id>\tsetSecret: …`, an uncaught exception like
//! `[ERROR] ValueError: …` followed by a traceback, and the Lambda runtime
//! ends a function that ran out of time with `Task timed out after N seconds`.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;
use rotation_doctor_checks::logs::{classify, shorten, LogCause};
use rotation_doctor_checks::{LogEvent, RotationStep};

/// What one log line says about the rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Line {
    /// A step reported that it finished, in these words.
    Succeeded(RotationStep, &'static str),
    /// A step logged an error naming itself (the templates do so just
    /// before they raise); the text after the step's name.
    StepError(RotationStep, String),
    /// The invocation ended in an error without naming its step: an
    /// uncaught exception or a timeout.
    InvocationError(String),
    /// Anything else: progress, platform lines, errors the function recovers
    /// from (a TLS attempt before the plaintext fallback).
    Other,
}

/// `[LEVEL]\t<time>\t<request id>\t<text>` of Python's logging in Lambda.
fn logged_text(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('[')?;
    let (level, rest) = rest.split_once("]\t")?;
    let mut fields = rest.splitn(3, '\t');
    let (_time, _request, text) = (fields.next()?, fields.next()?, fields.next()?);
    Some((level, text))
}

/// `<step>: <text>` at the start of a line, or after an exception's type
/// (`ValueError: setSecret: …`).
static STEP_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z_.]+: )?(createSecret|setSecret|testSecret|finishSecret): (.*)")
        .expect("the step pattern is valid")
});

fn named_step(text: &str) -> Option<(RotationStep, &str)> {
    let captures = STEP_PREFIX.captures(text)?;
    let step = RotationStep::parse(captures.get(1)?.as_str())?;
    Some((step, captures.get(2)?.as_str()))
}

/// The success lines of the templates, by step: the start of the text
/// after `<step>: `, and what it means.
fn success(step: RotationStep, text: &str) -> Option<&'static str> {
    let starts = |prefix: &str| text.starts_with(prefix);
    match step {
        RotationStep::CreateSecret if starts("Successfully put secret") => {
            Some("put the new version (AWSPENDING)")
        }
        RotationStep::CreateSecret if starts("Successfully retrieved secret") => {
            Some("the new version already exists")
        }
        RotationStep::SetSecret if starts("Successfully set password") => {
            Some("set the new password in the database")
        }
        RotationStep::SetSecret if starts("AWSPENDING secret is already set as password") => {
            Some("the database already has the new password")
        }
        RotationStep::TestSecret if starts("Successfully signed into") => {
            Some("signed into the database with the new password")
        }
        RotationStep::FinishSecret if starts("Successfully set AWSCURRENT stage") => {
            Some("moved AWSCURRENT to the new version")
        }
        RotationStep::FinishSecret
            if starts("Version ") && text.contains("already marked as AWSCURRENT") =>
        {
            Some("the new version was already AWSCURRENT")
        }
        _ => None,
    }
}

/// Reads one log message.
pub fn read_line(message: &str) -> Line {
    const TIMEOUT: &str = "Task timed out after";
    if let Some(at) = message.find(TIMEOUT) {
        return Line::InvocationError(shorten(&message[at..]));
    }
    // The runtime's uncaught exception: `[ERROR] Type: message` (a space,
    // where a logging line has a tab).
    if let Some(text) = message.strip_prefix("[ERROR] ") {
        return match named_step(text) {
            Some((step, rest)) => Line::StepError(step, shorten(rest)),
            None => Line::InvocationError(shorten(text)),
        };
    }
    let Some((level, text)) = logged_text(message) else {
        return Line::Other;
    };
    match (named_step(text), level) {
        (Some((step, rest)), "ERROR") => Line::StepError(step, shorten(rest)),
        (Some((step, rest)), _) => match success(step, rest) {
            Some(words) => Line::Succeeded(step, words),
            None => Line::Other,
        },
        (None, _) => Line::Other,
    }
}

/// A step that finished or failed, as the trace shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepEvent {
    pub step: RotationStep,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded(&'static str),
    Failed(StepFailure),
}

/// Why a step failed: its line, and the cause `logs::classify` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFailure {
    pub step: RotationStep,
    /// The error, shortened (first line, at most 300 characters).
    pub line: String,
    pub cause: Option<LogCause>,
}

/// One run of the function, in one log stream: from its START line on.
#[derive(Default)]
struct Invocation {
    /// The step a line of it named.
    step: Option<RotationStep>,
    /// Whether its lines named this rotation's secret (true) or only another
    /// one (false); unknown until a line names a secret.
    ours: Option<bool>,
    /// Its failure was shown: a failing step logs the error, then raises it.
    failed: bool,
    /// Its lines so far, for the cause of an error that does not say it.
    events: Vec<LogEvent>,
}

/// A secret ARN in a log line.
static SECRET_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^\s'\x22,]+")
        .expect("the ARN pattern is valid")
});

/// Follows one rotation (one secret, one version) through its function's
/// log lines. One function can rotate several secrets: an invocation whose
/// lines name another secret and not this one is skipped. An invocation
/// that names no secret at all (a timeout, an import error) is taken as this
/// rotation's, since nothing says otherwise.
pub struct StepTracker {
    secret_arn: String,
    version_id: String,
    invocations: HashMap<String, Invocation>,
    /// This rotation's lines so far, the context `classify` reads.
    events: Vec<LogEvent>,
    /// The last step that reported success.
    last_done: Option<RotationStep>,
}

impl StepTracker {
    pub fn new(secret_arn: &str, version_id: &str) -> StepTracker {
        StepTracker {
            secret_arn: secret_arn.to_string(),
            version_id: version_id.to_string(),
            invocations: HashMap::new(),
            events: Vec::new(),
            last_done: None,
        }
    }

    /// Whether any line of this rotation was read.
    pub fn saw_lines(&self) -> bool {
        !self.events.is_empty()
    }

    /// The step the rotation is at: the one after the last that succeeded
    /// (Secrets Manager runs them in order). None once finishSecret is done.
    pub fn step_in_progress(&self) -> Option<RotationStep> {
        match self.last_done {
            None => Some(RotationStep::CreateSecret),
            Some(done) => RotationStep::ALL.into_iter().find(|s| *s > done),
        }
    }

    /// Whether `message` names this rotation's secret or version (true),
    /// only other secrets (false), or none (None).
    fn names_this_rotation(&self, message: &str) -> Option<bool> {
        if message.contains(&self.version_id) {
            return Some(true);
        }
        let mut arns = SECRET_ARN
            .find_iter(message)
            .map(|m| m.as_str().trim_end_matches('.'))
            .peekable();
        arns.peek()?;
        Some(arns.any(|arn| arn == self.secret_arn))
    }

    /// Reads one new line; the step event it shows, if any.
    pub fn read(&mut self, event: LogEvent) -> Option<StepEvent> {
        let stream = event.stream.clone().unwrap_or_default();
        if event.message.starts_with("START RequestId") {
            self.invocations.remove(&stream);
        }
        let named = self.names_this_rotation(&event.message);
        let invocation = self.invocations.entry(stream).or_default();
        invocation.ours = match (invocation.ours, named) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (_, Some(false)) => Some(false),
            (ours, None) => ours,
        };
        if invocation.ours == Some(false) {
            return None;
        }
        invocation.events.push(event.clone());
        self.events.push(event.clone());
        let line = read_line(&event.message);
        let (step, outcome) = match line {
            Line::Other => return None,
            Line::Succeeded(step, words) => {
                invocation.step = Some(step);
                self.last_done = Some(self.last_done.map_or(step, |done| done.max(step)));
                (step, Outcome::Succeeded(words))
            }
            Line::StepError(_, _) | Line::InvocationError(_) if invocation.failed => return None,
            Line::StepError(step, text) => {
                invocation.step = Some(step);
                invocation.failed = true;
                let failure = StepFailure {
                    step,
                    line: text,
                    cause: None,
                };
                (step, Outcome::Failed(failure))
            }
            Line::InvocationError(text) => {
                invocation.failed = true;
                let step = invocation
                    .step
                    .or_else(|| self.step_in_progress())
                    .unwrap_or(RotationStep::FinishSecret);
                let failure = StepFailure {
                    step,
                    line: text,
                    cause: None,
                };
                (step, Outcome::Failed(failure))
            }
        };
        let outcome = match outcome {
            Outcome::Failed(failure) => Outcome::Failed(StepFailure {
                cause: self.cause_of_last_line(),
                ..failure
            }),
            succeeded => succeeded,
        };
        Some(StepEvent {
            step,
            at: event.timestamp,
            outcome,
        })
    }

    /// The cause `classify` gives the last line read, in the context of the
    /// lines before it (a timeout right after createSecret is the database,
    /// a timeout after silence is the Secrets Manager endpoint); when the
    /// line itself matches nothing, the latest cause among its invocation's
    /// lines.
    fn cause_of_last_line(&self) -> Option<LogCause> {
        let (last, earlier) = self.events.split_last()?;
        let counts = |causes: &[LogCause]| -> BTreeMap<String, usize> {
            causes.iter().map(|c| (c.id.clone(), c.count)).collect()
        };
        let before = counts(&classify(earlier));
        let after = classify(&self.events);
        let grown = after
            .iter()
            .find(|c| before.get(&c.id).copied().unwrap_or(0) < c.count);
        if let Some(cause) = grown {
            return Some(cause.clone());
        }
        let stream = last.stream.clone().unwrap_or_default();
        let invocation = self.invocations.get(&stream)?;
        classify(&invocation.events).into_iter().next()
    }
}

/// `+3.2s`: the time since the rotation started; a line stamped before it
/// (the clocks differ a little) shows as +0.0s.
pub fn elapsed(since: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let millis = (at - since).num_milliseconds().max(0);
    format!("+{}.{}s", millis / 1000, (millis % 1000) / 100)
}

/// One line of the trace: `  +3.2s  createSecret  ✓ put the new version`.
pub fn render(event: &StepEvent, started: DateTime<Utc>) -> String {
    let (mark, text) = match &event.outcome {
        Outcome::Succeeded(words) => ("✓", (*words).to_string()),
        Outcome::Failed(failure) => ("✗", failure.line.clone()),
    };
    format!(
        "  {:>7}  {:<12}  {mark} {text}",
        elapsed(started, event.at),
        event.step.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/mysql/admin-AbCdEf";
    const OTHER_ARN: &str =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:other/postgres-XyZ123";
    const VERSION: &str = "c2a7c4b0-4f43-4a8e-9f5e-0d7b1d1e2f3a";

    /// How Python's logging writes a line in Lambda.
    fn logged(level: &str, text: &str) -> String {
        format!("[{level}]\t2026-11-28T10:00:01.000Z\t8c2f1e5a-1b7d-4c3e-9f0a-5d6e7f8a9b01\t{text}")
    }

    fn event(second: u32, stream: &str, message: &str) -> LogEvent {
        LogEvent {
            timestamp: Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, second).unwrap(),
            stream: Some(stream.to_string()),
            message: message.to_string(),
        }
    }

    #[test]
    fn success_lines_of_the_mysql_and_postgres_templates() {
        use RotationStep::*;
        let cases = [
            (format!("createSecret: Successfully put secret for ARN {ARN} and version {VERSION}."), CreateSecret),
            (format!("createSecret: Successfully retrieved secret for {ARN}."), CreateSecret),
            (format!("setSecret: Successfully set password for user admin in MySQL DB for secret arn {ARN}."), SetSecret),
            (format!("setSecret: Successfully set password for user app in PostgreSQL DB for secret arn {ARN}."), SetSecret),
            (format!("setSecret: AWSPENDING secret is already set as password in MySQL DB for secret arn {ARN}."), SetSecret),
            (format!("testSecret: Successfully signed into MySQL DB with AWSPENDING secret in {ARN}."), TestSecret),
            (format!("testSecret: Successfully signed into PostgreSQL DB with AWSPENDING secret in {ARN}."), TestSecret),
            (format!("finishSecret: Successfully set AWSCURRENT stage to version {VERSION} for secret {ARN}."), FinishSecret),
            (format!("finishSecret: Version {VERSION} already marked as AWSCURRENT for {ARN}"), FinishSecret),
        ];
        for (text, step) in cases {
            match read_line(&logged("INFO", &text)) {
                Line::Succeeded(s, _) => assert_eq!(s, step, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn failure_lines_of_each_step() {
        use RotationStep::*;
        let cases = [
            (
                logged("ERROR", &format!("setSecret: Unable to log into database with previous, current, or pending secret of secret arn {ARN}")),
                SetSecret,
                "Unable to log into database with previous, current, or pending secret",
            ),
            (
                logged("ERROR", &format!("setSecret: Unable to log into database using current credentials for secret {ARN}")),
                SetSecret,
                "Unable to log into database using current credentials",
            ),
            (
                logged("ERROR", &format!("testSecret: Unable to log into database with pending secret of secret ARN {ARN}")),
                TestSecret,
                "Unable to log into database with pending secret",
            ),
            (
                logged("ERROR", "setSecret: Attempting to modify user app other than current user admin"),
                SetSecret,
                "Attempting to modify user app",
            ),
            (
                format!("[ERROR] ValueError: setSecret: Unable to log into database with previous, current, or pending secret of secret arn {ARN}\nTraceback (most recent call last):"),
                SetSecret,
                "Unable to log into database",
            ),
        ];
        for (message, step, start) in cases {
            match read_line(&message) {
                Line::StepError(s, text) => {
                    assert_eq!(s, step, "{message}");
                    assert!(text.starts_with(start), "{text}");
                    assert!(!text.contains("Traceback"), "{text}");
                }
                other => panic!("{message}: {other:?}"),
            }
        }
    }

    #[test]
    fn uncaught_errors_and_timeouts_end_the_invocation_without_a_step() {
        let cases = [
            ("[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'pg'\nTraceback (most recent call last):", "Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'pg'"),
            ("[ERROR] KeyError: 'host key is missing from secret JSON'", "KeyError: 'host key is missing from secret JSON'"),
            ("[ERROR] ClientError: An error occurred (AccessDeniedException) when calling the PutSecretValue operation: User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: secretsmanager:PutSecretValue", "ClientError: An error occurred (AccessDeniedException) when calling the PutSecretValue operation: User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: secretsmanager:PutSecretValue"),
            ("2026-11-28T10:00:31.123Z 8c2f1e5a Task timed out after 30.03 seconds", "Task timed out after 30.03 seconds"),
        ];
        for (message, text) in cases {
            assert_eq!(read_line(message), Line::InvocationError(text.to_string()));
        }
    }

    #[test]
    fn progress_platform_and_recovered_errors_are_not_steps() {
        for message in [
            "START RequestId: 1 Version: $LATEST".to_string(),
            "END RequestId: 1".to_string(),
            "REPORT RequestId: 1\tDuration: 812.34 ms".to_string(),
            logged("INFO", "Found credentials in environment variables."),
            logged("INFO", &format!("setSecret: Successfully fetched connection params for Master Secret {ARN} from DescribeDBInstances API.")),
            // Logged before the plaintext fallback, which may work.
            logged("ERROR", "Unable to establish SSL/TLS handshake, SSL/TLS is not enabled on the host: db"),
            logged("INFO", &format!("Secret version {VERSION} already set as AWSCURRENT for secret {ARN}.")),
        ] {
            assert_eq!(read_line(&message), Line::Other, "{message}");
        }
    }

    #[test]
    fn a_rotation_that_fails_at_set_secret() {
        let mut tracker = StepTracker::new(ARN, VERSION);
        let lines = [
            event(0, "a", "START RequestId: r1 Version: $LATEST"),
            event(1, "a", &logged("INFO", "Found credentials in environment variables.")),
            event(2, "a", &logged("INFO", &format!("createSecret: Successfully put secret for ARN {ARN} and version {VERSION}."))),
            event(2, "a", "END RequestId: r1"),
            event(3, "a", "START RequestId: r2 Version: $LATEST"),
            event(18, "a", &logged("ERROR", &format!("setSecret: Unable to log into database with previous, current, or pending secret of secret arn {ARN}"))),
            event(18, "a", &format!("[ERROR] ValueError: Unable to log into database with previous, current, or pending secret of secret arn {ARN}\nTraceback (most recent call last):")),
        ];
        let events: Vec<StepEvent> = lines.into_iter().filter_map(|e| tracker.read(e)).collect();
        assert_eq!(events.len(), 2, "{events:#?}");
        assert_eq!(events[0].step, RotationStep::CreateSecret);
        assert!(matches!(events[0].outcome, Outcome::Succeeded(_)));
        let Outcome::Failed(failure) = &events[1].outcome else {
            panic!("{events:#?}")
        };
        assert_eq!(failure.step, RotationStep::SetSecret);
        assert_eq!(
            failure.cause.as_ref().map(|c| c.id.as_str()),
            Some("db-login-failed")
        );
        let started = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap();
        assert_eq!(
            render(&events[0], started),
            "    +2.0s  createSecret  ✓ put the new version (AWSPENDING)"
        );
        assert!(render(&events[1], started)
            .starts_with("   +18.0s  setSecret     ✗ Unable to log into database"));
    }

    #[test]
    fn a_timeout_in_the_invocation_that_named_create_secret_fails_create_secret() {
        let mut tracker = StepTracker::new(ARN, VERSION);
        let lines = [
            event(2, "b", "START RequestId: r2 Version: $LATEST"),
            event(3, "b", &logged("INFO", &format!("createSecret: Successfully put secret for ARN {ARN} and version {VERSION}."))),
            event(33, "b", "2026-11-28T10:00:33Z r2 Task timed out after 30.03 seconds"),
        ];
        let events: Vec<StepEvent> = lines.into_iter().filter_map(|e| tracker.read(e)).collect();
        let Some(Outcome::Failed(failure)) = events.last().map(|e| &e.outcome) else {
            panic!("{events:#?}")
        };
        // The invocation that timed out was a createSecret one (it said so):
        // Secrets Manager sees that step fail, whatever it logged before.
        assert_eq!(failure.step, RotationStep::CreateSecret);
        assert_eq!(
            failure.cause.as_ref().map(|c| c.id.as_str()),
            Some("db-unreachable-timeout")
        );
    }

    #[test]
    fn a_silent_timeout_is_the_step_in_progress_and_the_endpoint() {
        let mut tracker = StepTracker::new(ARN, VERSION);
        let lines = [
            event(0, "a", "START RequestId: r1 Version: $LATEST"),
            event(1, "a", &logged("INFO", &format!("createSecret: Successfully put secret for ARN {ARN} and version {VERSION}."))),
            event(2, "a", "START RequestId: r2 Version: $LATEST"),
            event(3, "a", &logged("INFO", "Found credentials in environment variables.")),
            event(33, "a", "2026-11-28T10:00:33Z r2 Task timed out after 30.03 seconds"),
        ];
        let events: Vec<StepEvent> = lines.into_iter().filter_map(|e| tracker.read(e)).collect();
        let Some(Outcome::Failed(failure)) = events.last().map(|e| &e.outcome) else {
            panic!("{events:#?}")
        };
        assert_eq!(failure.step, RotationStep::SetSecret);
        assert_eq!(
            failure.cause.as_ref().map(|c| c.id.as_str()),
            Some("secretsmanager-unreachable")
        );
    }

    #[test]
    fn lines_of_another_secret_are_skipped() {
        let mut tracker = StepTracker::new(ARN, VERSION);
        let lines = [
            event(0, "x", "START RequestId: r9 Version: $LATEST"),
            event(1, "x", &logged("ERROR", &format!("setSecret: Unable to log into database with previous, current, or pending secret of secret arn {OTHER_ARN}"))),
            event(1, "x", &format!("[ERROR] ValueError: Unable to log into database with previous, current, or pending secret of secret arn {OTHER_ARN}")),
            event(2, "a", "START RequestId: r1 Version: $LATEST"),
            event(3, "a", &logged("INFO", &format!("createSecret: Successfully put secret for ARN {ARN} and version {VERSION}."))),
        ];
        let events: Vec<StepEvent> = lines.into_iter().filter_map(|e| tracker.read(e)).collect();
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(events[0].step, RotationStep::CreateSecret);
        assert_eq!(tracker.step_in_progress(), Some(RotationStep::SetSecret));
    }

    #[test]
    fn an_import_error_before_any_step_fails_create_secret() {
        let mut tracker = StepTracker::new(ARN, VERSION);
        let failed = tracker.read(event(
            1,
            "a",
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'pg'",
        ));
        let Some(StepEvent {
            step,
            outcome: Outcome::Failed(failure),
            ..
        }) = failed
        else {
            panic!("{failed:?}")
        };
        assert_eq!(step, RotationStep::CreateSecret);
        assert_eq!(
            failure.cause.map(|c| c.id),
            Some("import-module".to_string())
        );
    }

    #[test]
    fn all_four_steps_then_nothing_is_in_progress() {
        let mut tracker = StepTracker::new(ARN, VERSION);
        for (second, text) in [
            (1, format!("createSecret: Successfully put secret for ARN {ARN} and version {VERSION}.")),
            (2, format!("setSecret: Successfully set password for user admin in MySQL DB for secret arn {ARN}.")),
            (3, format!("testSecret: Successfully signed into MySQL DB with AWSPENDING secret in {ARN}.")),
            (4, format!("finishSecret: Successfully set AWSCURRENT stage to version {VERSION} for secret {ARN}.")),
        ] {
            let read = tracker.read(event(second, "a", &logged("INFO", &text)));
            assert!(matches!(read.map(|e| e.outcome), Some(Outcome::Succeeded(_))));
        }
        assert_eq!(tracker.step_in_progress(), None);
    }

    #[test]
    fn elapsed_times_are_tenths_of_seconds_and_never_negative() {
        let start = Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 10).unwrap();
        let later = start + chrono::Duration::milliseconds(3_260);
        assert_eq!(elapsed(start, later), "+3.2s");
        assert_eq!(
            elapsed(start, start - chrono::Duration::seconds(2)),
            "+0.0s"
        );
    }
}
