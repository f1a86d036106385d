//! Round 2: the rotation Lambda's recent log events, in bounded pages.

use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, Utc};
use rotation_doctor_checks::{ErrorKind, Fact, LogEvent, LogExcerpt};

use super::errors::{truncate_chars, unavailable};

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
/// implements patterns only partly (moto-coverage.md §1 item 9), so the checks
/// match on our side. `interleaved` keeps moto from grouping by stream; we
/// sort anyway. `password` is scrubbed from every message before it is kept.
pub(crate) async fn read_logs(
    client: &Client,
    log_group: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    password: Option<&str>,
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
        // (moto-coverage.md §1 item 9).
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
                message: clean_message(event.message().unwrap_or_default(), password),
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

/// Masks the password, then cuts the message. In that order, so a cut can
/// never leave part of a password behind.
pub(crate) fn clean_message(message: &str, password: Option<&str>) -> String {
    let trimmed = message.trim_end_matches(['\n', '\r']);
    match password {
        Some(password) if !password.is_empty() && trimmed.contains(password) => {
            truncate_chars(&trimmed.replace(password, MASK), MAX_MESSAGE_CHARS)
        }
        _ => truncate_chars(trimmed, MAX_MESSAGE_CHARS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_then_truncates() {
        let cleaned = clean_message("login hunter2 failed; retry hunter2\n", Some("hunter2"));
        assert_eq!(cleaned, "login ******** failed; retry ********");

        let long = format!("{}hunter2", "x".repeat(MAX_MESSAGE_CHARS - 3));
        let cleaned = clean_message(&long, Some("hunter2"));
        assert!(!cleaned.contains("hun"), "{cleaned}");
        assert_eq!(cleaned.chars().count(), MAX_MESSAGE_CHARS + 1); // plus the ellipsis
    }

    #[test]
    fn no_password_leaves_the_message() {
        assert_eq!(clean_message("[ERROR] x", None), "[ERROR] x");
        assert_eq!(clean_message("[ERROR] x", Some("")), "[ERROR] x");
    }
}
