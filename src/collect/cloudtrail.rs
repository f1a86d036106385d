//! After round 1, beside the others: CloudTrail's `RotationFailed`,
//! `RotationAbandoned` and `RotationSucceeded` events for the secret, by
//! event name, in bounded pages. Optional evidence: moto does not implement
//! LookupEvents (HTTP 500), and many roles may not call it; either way the
//! fact is unavailable with the reason.
//!
//! Why by event name: LookupEvents takes one lookup attribute. The three
//! names cost three lookups per region, shared by every secret, and return
//! only rotation events. `ResourceName` (the secret's ARN) would cost one
//! lookup per secret and match every call on the secret, so its pages would
//! fill with the applications' GetSecretValue; `EventSource`
//! (`secretsmanager.amazonaws.com`) matches every Secrets Manager call of
//! the region, worse still.
//!
//! The parsing of each event's `CloudTrailEvent` JSON is a pure function,
//! tested on recorded events (tests/data/cloudtrail/).

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_cloudtrail::Client;
use chrono::{DateTime, Utc};
use rotation_doctor_checks::{ErrorKind, Fact, RotationEvent, RotationEvents, Secret, Unavailable};
use serde_json::Value;
use tokio::time::{Duration, Instant};

use super::errors::{truncate_chars, unavailable};
use super::logs::mask_values;
use super::redacted::Redacted;
use super::session::Session;

const LOOKUP_EVENTS: &str = "cloudtrail:LookupEvents";

/// The service events of a rotation, newest kind first in importance.
pub(crate) const EVENT_NAMES: [&str; 3] =
    ["RotationFailed", "RotationAbandoned", "RotationSucceeded"];

/// Per event name, at most this many pages of `PAGE_SIZE` (50, the most
/// LookupEvents returns).
const MAX_PAGES: usize = 4;
const PAGE_SIZE: i32 = 50;
/// LookupEvents allows two calls a second per account and region, and a
/// region's events are read once per run: its calls (every page of every
/// name, one after the other) start at least this far apart. Concurrent
/// names would gain nothing within that limit.
const CALL_SPACING: Duration = Duration::from_millis(500);
const MAX_MESSAGE_CHARS: usize = 500;

/// The secret the events must be about.
pub(crate) struct SecretRef<'a> {
    pub arn: &'a str,
    pub name: &'a str,
    /// Values masked in the error messages kept.
    pub masked: &'a [&'a str],
}

/// The region's rotation events in the run's window, as CloudTrail hands
/// them over (the `CloudTrailEvent` JSON and the event time): read once per
/// run and shared by every secret, since the lookup is by event name.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrailPage {
    events: Vec<(String, Option<DateTime<Utc>>)>,
    truncated: bool,
}

/// The rotation events about `secret` in the run's window.
pub(crate) async fn rotation_events(
    session: &Session,
    secret: &Fact<Secret>,
) -> Fact<RotationEvents> {
    let (arn, name) = match secret {
        Fact::Present(s) => (&s.arn, &s.name),
        Fact::Unavailable(why) => return Fact::Unavailable(why.clone()),
        Fact::NotApplicable(why) => return Fact::NotApplicable(why.clone()),
    };
    let shared = &session.shared;
    let (start, end) = (shared.log_start, shared.collected_at);
    let page = shared
        .trail_pages
        .get((), || read_events(&shared.clients.cloudtrail, start, end))
        .await;
    let page = match page {
        Ok(page) => page,
        Err(why) => return Fact::Unavailable(why),
    };
    // Error messages may name the master secret, or print a password: mask
    // what the run may not keep (the lock is held only while parsing), once
    // a scan has read every value (no event, nothing to mask).
    if !page.events.is_empty() {
        session.all_read().await;
    }
    let masked = shared.masked.lock().unwrap_or_else(|e| e.into_inner());
    let masked: Vec<&str> = masked.iter().map(Redacted::expose).collect();
    let secret = SecretRef {
        arn,
        name,
        masked: &masked,
    };
    let mut events: Vec<RotationEvent> = page
        .events
        .iter()
        .filter_map(|(json, time)| parse_event(json, &secret, *time))
        .collect();
    events.sort_by_key(|e| e.time);
    Fact::Present(RotationEvents {
        start: Some(start),
        end: Some(end),
        events,
        truncated: page.truncated,
    })
}

async fn read_events(
    client: &Client,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<TrailPage, Unavailable> {
    let mut page = TrailPage::default();
    let mut next_call = Instant::now();
    for name in EVENT_NAMES {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(name)
            .build()
            .map_err(|e| Unavailable {
                call: LOOKUP_EVENTS.to_string(),
                kind: ErrorKind::Other,
                message: e.to_string(),
            })?;
        let mut next_token: Option<String> = None;
        for number in 0..MAX_PAGES {
            tokio::time::sleep_until(next_call).await;
            next_call = Instant::now() + CALL_SPACING;
            let output = client
                .lookup_events()
                .lookup_attributes(attribute.clone())
                .start_time(aws_smithy_types::DateTime::from_millis(
                    start.timestamp_millis(),
                ))
                .end_time(aws_smithy_types::DateTime::from_millis(
                    end.timestamp_millis(),
                ))
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await;
            let output = match output {
                Ok(output) => output,
                // The first failure decides: the other names would fail alike.
                Err(err) if page.events.is_empty() && number == 0 => {
                    return Err(unavailable(LOOKUP_EVENTS, &err))
                }
                Err(_) => {
                    page.truncated = true;
                    break;
                }
            };
            page.events
                .extend(output.events().iter().filter_map(|event| {
                    let time = event
                        .event_time()
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
                    Some((event.cloud_trail_event()?.to_string(), time))
                }));
            match output.next_token() {
                Some(token) if !token.is_empty() => {
                    if number + 1 == MAX_PAGES {
                        page.truncated = true;
                    }
                    next_token = Some(token.to_string());
                }
                _ => break,
            }
        }
    }
    Ok(page)
}

/// One `CloudTrailEvent` JSON document, if it is a rotation event about
/// `secret`: its time (`eventTime`, else `fallback_time`), name, the failing
/// step named in `errorMessage`, the message itself and the event id.
pub(crate) fn parse_event(
    json: &str,
    secret: &SecretRef<'_>,
    fallback_time: Option<DateTime<Utc>>,
) -> Option<RotationEvent> {
    let event: Value = serde_json::from_str(json).ok()?;
    let name = event.get("eventName")?.as_str()?;
    if !EVENT_NAMES.contains(&name) || !is_about(&event, secret) {
        return None;
    }
    let time = event
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or(fallback_time)?;
    let message = event
        .get("errorMessage")
        .and_then(Value::as_str)
        .map(|m| truncate_chars(&mask_values(m, secret.masked), MAX_MESSAGE_CHARS));
    Some(RotationEvent {
        time,
        name: name.to_string(),
        step: message.as_deref().and_then(failing_step),
        message,
        event_id: event
            .get("eventID")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// Whether the event names the secret: `additionalEventData.SecretId`,
/// `requestParameters.secretId`, or a resource ARN.
fn is_about(event: &Value, secret: &SecretRef<'_>) -> bool {
    let same = |id: &str| id == secret.arn || id == secret.name;
    let ids = [
        event.pointer("/additionalEventData/SecretId"),
        event.pointer("/requestParameters/secretId"),
    ];
    ids.iter().flatten().filter_map(|v| v.as_str()).any(same)
        || event
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("ARN").and_then(Value::as_str))
            .any(same)
}

/// `createSecret` from "Error when executing lambda ARN during createSecret
/// step".
pub(crate) fn failing_step(message: &str) -> Option<String> {
    let (_, after) = message.rsplit_once("during ")?;
    let step = after.split_whitespace().next()?;
    let step = step.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
    (!step.is_empty() && after[step.len()..].trim_start().starts_with("step"))
        .then(|| step.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str = include_str!("../../tests/data/cloudtrail/lookup-events-rotation.json");
    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/mysql-AbCdEf";

    fn recorded() -> Vec<RotationEvent> {
        let page: Value = serde_json::from_str(RECORDED).expect("recorded page");
        let secret = SecretRef {
            arn: ARN,
            name: "lab/mysql",
            masked: &[],
        };
        page["Events"]
            .as_array()
            .expect("Events")
            .iter()
            .filter_map(|e| parse_event(e["CloudTrailEvent"].as_str()?, &secret, None))
            .collect()
    }

    #[test]
    fn recorded_events_for_this_secret_only() {
        let events = recorded();
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        // The second event is about another secret.
        assert_eq!(
            names,
            ["RotationFailed", "RotationAbandoned", "RotationSucceeded"]
        );
        let failed = &events[0];
        assert_eq!(failed.step.as_deref(), Some("createSecret"));
        assert_eq!(failed.time.to_rfc3339(), "2026-11-28T10:00:00+00:00");
        assert_eq!(
            failed.event_id.as_deref(),
            Some("7d1c9f4e-2b3a-4c5d-8e9f-0a1b2c3d4e5f")
        );
        assert!(failed
            .message
            .as_deref()
            .is_some_and(|m| m.contains("lab-rotation")));
        assert_eq!(events[1].step, None);
        // Matched by name rather than ARN.
        assert_eq!(events[2].time.to_rfc3339(), "2026-11-27T07:00:00+00:00");
    }

    #[test]
    fn steps_are_read_from_the_message() {
        assert_eq!(
            failing_step("Error when executing lambda arn:aws:lambda:us-east-1:1:function:f during finishSecret step").as_deref(),
            Some("finishSecret")
        );
        assert_eq!(
            failing_step("during testSecret step.").as_deref(),
            Some("testSecret")
        );
        assert_eq!(
            failing_step("Pending secret version v was not created by Lambda f"),
            None
        );
        assert_eq!(failing_step("during lunch"), None);
    }

    #[test]
    fn other_events_and_bad_json_are_ignored() {
        let secret = SecretRef {
            arn: ARN,
            name: "lab/mysql",
            masked: &[],
        };
        assert!(parse_event("not json", &secret, None).is_none());
        let put = format!(
            r#"{{"eventName":"PutSecretValue","eventTime":"2026-11-28T10:00:00Z","requestParameters":{{"secretId":"{ARN}"}}}}"#
        );
        assert!(parse_event(&put, &secret, None).is_none());
        let by_resource =
            format!(r#"{{"eventName":"RotationSucceeded","resources":[{{"ARN":"{ARN}"}}]}}"#);
        let fallback = DateTime::from_timestamp(1_795_860_000, 0);
        let event = parse_event(&by_resource, &secret, fallback).expect("matched by resource");
        assert_eq!(Some(event.time), fallback);
    }
}
