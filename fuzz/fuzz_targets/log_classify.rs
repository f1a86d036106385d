//! The log classifier on arbitrary log lines: no panic, and what it returns
//! adds up. Each line is one event (a line that starts with a tab or two
//! spaces continues the previous one, like a traceback); its stream is picked
//! from a few names by the line's first byte, and timestamps increase (by
//! zero or more seconds, so equal timestamps occur too).

#![no_main]

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use rotation_doctor_checks::logs::classify;
use rotation_doctor_checks::LogEvent;

const STREAMS: [Option<&str>; 4] = [
    Some("2026/11/28/[$LATEST]aaaa"),
    Some("2026/11/28/[$LATEST]bbbb"),
    Some("2026/11/28/[$LATEST]cccc"),
    None,
];

fn events(text: &str) -> Vec<LogEvent> {
    let start = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).expect("a valid instant");
    let mut events: Vec<LogEvent> = Vec::new();
    let mut at = start;
    for line in text.split('\n') {
        if line.starts_with('\t') || line.starts_with("  ") {
            if let Some(last) = events.last_mut() {
                last.message.push('\n');
                last.message.push_str(line);
                continue;
            }
        }
        let first = line.bytes().next().unwrap_or(0);
        at += TimeDelta::seconds(i64::from(first % 3));
        events.push(LogEvent {
            timestamp: at,
            stream: STREAMS[usize::from(first / 3) % STREAMS.len()].map(str::to_string),
            message: line.to_string(),
        });
    }
    events
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let events = events(&text);
    let causes = classify(&events);

    let total: usize = causes.iter().map(|c| c.count).sum();
    assert!(total <= events.len(), "{total} > {}", events.len());
    let first_at = events.first().map(|e| e.timestamp);
    let last_at = events.last().map(|e| e.timestamp);
    let mut ids = BTreeSet::new();
    for cause in &causes {
        assert!(ids.insert(cause.id.as_str()), "{} twice", cause.id);
        assert!(cause.count >= 1, "{cause:?}");
        assert!(cause.first <= cause.last, "{cause:?}");
        assert!(Some(cause.first) >= first_at && Some(cause.last) <= last_at);
        assert!(!cause.example.contains('\n'), "{cause:?}");
        assert!(cause.example.chars().count() <= 301, "{cause:?}");
        let distinct: BTreeSet<&String> = cause.details.iter().collect();
        assert_eq!(distinct.len(), cause.details.len(), "{cause:?}");
        serde_json::to_string(cause).expect("a cause serializes");
    }
    // Most recent cause first.
    for pair in causes.windows(2) {
        assert!(pair[0].last >= pair[1].last, "{pair:?}");
    }
});
