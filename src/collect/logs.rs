//! Round 2: the rotation Lambda's recent log events, in bounded pages.

use std::sync::{LazyLock, Mutex};

use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, Utc};
use regex::Regex;
use rotation_doctor_checks::{ErrorKind, Fact, LogEvent, LogExcerpt};

use super::errors::{truncate_chars, unavailable};
use super::redacted::Redacted;

const FILTER_LOG_EVENTS: &str = "logs:FilterLogEvents";

/// The read stops after this many pages of `PAGE_LIMIT` events, and says so.
const MAX_PAGES: usize = 10;
const PAGE_LIMIT: i32 = 10_000;
/// Longest message kept; rotation errors fit easily, stack traces get cut.
const MAX_MESSAGE_CHARS: usize = 2000;
const MASK: &str = "********";

/// The default log group of a function.
pub(crate) fn default_log_group(function_name: &str) -> String {
    format!("/aws/lambda/{function_name}")
}

/// FilterLogEvents over `[start, end]`, with no filter pattern: moto
/// implements patterns only partly (docs/moto-notes.md, "CloudWatch Logs"), so
/// the checks match on our side. `interleaved` keeps moto from grouping by
/// stream; we sort anyway. The messages are as logged: [`masked`] scrubs
/// them before they are kept.
pub(crate) async fn read_logs(
    client: &Client,
    log_group: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Fact<LogExcerpt> {
    let mut events = Vec::new();
    let mut next_token: Option<String> = None;
    let mut truncated = false;

    for page in 0..MAX_PAGES {
        let request = client
            .filter_log_events()
            .log_group_name(log_group)
            .start_time(start.timestamp_millis())
            .end_time(end.timestamp_millis())
            .limit(PAGE_LIMIT)
            .set_next_token(next_token.take());
        // AWS ignores `interleaved` (always true) and the SDK marks it
        // deprecated, but moto still groups by stream without it
        // (docs/moto-notes.md, "CloudWatch Logs").
        #[allow(deprecated)]
        let request = request.interleaved(true);
        let result = request.send().await;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                let mut failure = unavailable(FILTER_LOG_EVENTS, &err);
                if page > 0 {
                    // Some pages were read: keep them, flagged as incomplete.
                    truncated = true;
                    break;
                }
                if failure.kind == ErrorKind::NotFound {
                    failure.message = format!(
                        "the log group {log_group} does not exist (the function has never \
                         run, or its logs were deleted)"
                    );
                }
                return Fact::Unavailable(failure);
            }
        };
        for event in output.events() {
            let Some(timestamp) = event.timestamp().and_then(DateTime::from_timestamp_millis)
            else {
                continue;
            };
            events.push(LogEvent {
                timestamp,
                stream: event.log_stream_name().map(str::to_string),
                message: event.message().unwrap_or_default().to_string(),
            });
        }
        next_token = output
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if next_token.is_none() {
            break;
        }
        if page + 1 == MAX_PAGES {
            truncated = true;
        }
    }

    // Stable, so events with the same millisecond keep the service's order.
    events.sort_by_key(|event| event.timestamp);
    Fact::Present(LogExcerpt {
        log_group: log_group.to_string(),
        start: Some(start),
        end: Some(end),
        events,
        truncated,
    })
}

/// The excerpt with every value in `masked` (each password and `masterarn`
/// the run has read: a log group serves every secret its Lambda rotates)
/// scrubbed from every message, and the values of password-like keys too.
pub(crate) fn masked(excerpt: Fact<LogExcerpt>, masked: &Mutex<Vec<Redacted>>) -> Fact<LogExcerpt> {
    let Fact::Present(mut excerpt) = excerpt else {
        return excerpt;
    };
    let masked = masked.lock().unwrap_or_else(|e| e.into_inner());
    let masked: Vec<&str> = masked.iter().map(Redacted::expose).collect();
    for event in &mut excerpt.events {
        event.message = clean_message(&event.message, &masked);
    }
    Fact::Present(excerpt)
}

/// `text` with every one of `values` replaced by the mask, longest first
/// (so one that contains another is masked whole).
pub(crate) fn mask_values(text: &str, values: &[&str]) -> String {
    let mut masked = text.to_string();
    let mut by_length: Vec<&str> = values.iter().copied().filter(|v| !v.is_empty()).collect();
    by_length.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for value in by_length {
        if masked.contains(value) {
            masked = masked.replace(value, MASK);
        }
    }
    masked
}

/// A value given to a password-like key (`password=x`, `"password": "x"`,
/// `'pwd': 'x'`): a function that prints a secret's dict leaks the passwords
/// of secrets this run never read (a `diagnose` knows only its own).
static PASSWORD_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(["']?\b(?:password|passwd|pwd)["']?\s*[:=]\s*["']?)([^"'\s,;}]+)"#)
        .expect("the password pattern is valid")
});

/// Masks `values` (see [`mask_values`]) and any value given to a
/// password-like key, then cuts the message. In that order, so a cut can never leave part of a password
/// behind.
pub(crate) fn clean_message(message: &str, values: &[&str]) -> String {
    let cleaned = mask_values(message.trim_end_matches(['\n', '\r']), values);
    let cleaned = PASSWORD_VALUE.replace_all(&cleaned, format!("${{1}}{MASK}"));
    truncate_chars(&cleaned, MAX_MESSAGE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_then_truncates() {
        let cleaned = clean_message("login hunter2 failed; retry hunter2\n", &["hunter2"]);
        assert_eq!(cleaned, "login ******** failed; retry ********");

        let long = format!("{}hunter2", "x".repeat(MAX_MESSAGE_CHARS - 3));
        let cleaned = clean_message(&long, &["hunter2"]);
        assert!(!cleaned.contains("hun"), "{cleaned}");
        assert_eq!(cleaned.chars().count(), MAX_MESSAGE_CHARS + 1); // plus the ellipsis
    }

    #[test]
    fn no_password_leaves_the_message() {
        assert_eq!(clean_message("[ERROR] x", &[]), "[ERROR] x");
        assert_eq!(clean_message("[ERROR] x", &[""]), "[ERROR] x");
    }

    #[test]
    fn values_of_password_keys_are_masked_even_when_unknown() {
        assert_eq!(
            clean_message(
                "secret={'username': 'u', 'password': 'p@ss', 'port': 3306}",
                &[]
            ),
            "secret={'username': 'u', 'password': '********', 'port': 3306}"
        );
        assert_eq!(
            clean_message(r#"{"PASSWORD":"x1","host":"h"}"#, &[]),
            r#"{"PASSWORD":"********","host":"h"}"#
        );
        assert_eq!(
            clean_message("pwd=hunter2 user=u", &[]),
            "pwd=******** user=u"
        );
        // Prose about passwords keeps its words: the classifier needs them.
        let prose = "FATAL: password authentication failed for user \"app\"";
        assert_eq!(clean_message(prose, &[]), prose);
    }

    #[test]
    fn every_password_of_the_run_is_masked_longest_first() {
        let cleaned = clean_message("a=pw-1 b=pw-12 c=pw-2", &["pw-1", "pw-12", "pw-2"]);
        assert_eq!(cleaned, "a=******** b=******** c=********");
        assert!(!cleaned.contains('2'), "{cleaned}");
    }
}
