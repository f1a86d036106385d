//! The policy-document evaluator on arbitrary input: whatever the bytes, no
//! panic, and glob matching in polynomial time (libFuzzer's `-timeout` turns
//! an exponential blowup into a crash). Glob results are checked against a
//! regex built from the same pattern.

#![no_main]

use libfuzzer_sys::fuzz_target;
use regex::bytes::RegexBuilder;
use rotation_doctor_checks::policy::{
    decide, decode_policy_document, evaluate, evaluate_condition, glob_matches, parse_document,
    Decision, Request,
};
use serde_json::Value;

const ACTIONS: [&str; 4] = [
    "secretsmanager:GetSecretValue",
    "lambda:InvokeFunction",
    "kms:Decrypt",
    "ec2:CreateNetworkInterface",
];
const RESOURCES: [&str; 3] = [
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/mysql/admin-XoZTyZ",
    "arn:aws:lambda:us-east-1:123456789012:function:lab-mysql-rotation",
    "*",
];
const PRINCIPALS: [Option<&str>; 3] = [
    None,
    Some("secretsmanager.amazonaws.com"),
    Some("arn:aws:iam::123456789012:role/lab-rotation"),
];

/// Up to `limit` string leaves (and object keys) of a JSON value.
fn strings<'a>(value: &'a Value, out: &mut Vec<&'a str>, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out, limit)),
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            if out.len() < limit {
                out.push(k);
            }
            strings(v, out, limit)
        }),
        _ => {}
    }
}

/// The IAM glob as a byte regex: `*` any run of bytes, `?` one byte, ASCII
/// letters without case, anything else literal.
fn glob_as_regex(pattern: &str) -> Option<regex::bytes::Regex> {
    let mut re = String::from(r"(?s-u)\A");
    for &b in pattern.as_bytes() {
        match b {
            b'*' => re.push_str(".*"),
            b'?' => re.push('.'),
            b if b.is_ascii_alphanumeric() => re.push(b as char),
            b => re.push_str(&format!(r"\x{b:02X}")),
        }
    }
    re.push_str(r"\z");
    RegexBuilder::new(&re)
        .case_insensitive(true)
        .unicode(false)
        .size_limit(1 << 20)
        .build()
        .ok()
}

fn check_glob(pattern: &str, text: &str) {
    let matched = glob_matches(pattern, text);
    if pattern.len() <= 512 {
        if let Some(re) = glob_as_regex(pattern) {
            assert_eq!(
                matched,
                re.is_match(text.as_bytes()),
                "glob_matches({pattern:?}, {text:?})"
            );
        }
    }
    // Every text matches itself, in any ASCII case.
    assert!(glob_matches(&text.replace(['*', '?'], "?"), text));
    assert!(glob_matches(
        &text.to_ascii_uppercase(),
        &text.to_ascii_lowercase()
    ));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // Globs: "pattern\ntext" (and the reverse), on any input.
    let (left, right) = text.split_once('\n').unwrap_or((&text, ""));
    check_glob(left, right);
    check_glob(right, left);

    // The URL-encoded form IAM returns documents in.
    let _ = decode_policy_document(&text);
    let Ok(doc) = parse_document(&text) else {
        return;
    };

    let mut derived = Vec::new();
    strings(&doc, &mut derived, 8);

    let no_deny = !text.contains("Deny");
    let actions = ACTIONS.iter().copied().chain(derived.iter().copied());
    for action in actions {
        let resources = RESOURCES
            .iter()
            .copied()
            .chain(derived.iter().copied().take(3));
        for resource in resources {
            for principal in PRINCIPALS
                .iter()
                .copied()
                .chain(derived.first().map(|p| Some(*p)))
            {
                let decision = decide(&doc, principal, action, resource);
                if no_deny {
                    assert!(!matches!(decision, Decision::Denied { .. }), "{decision:?}");
                }
            }
            let context: Vec<(&str, &str)> = derived
                .chunks(2)
                .filter_map(|pair| match pair {
                    [k, v] => Some((*k, *v)),
                    _ => None,
                })
                .collect();
            let principals: Vec<&str> = derived.iter().copied().take(2).collect();
            let documents = [("fuzzed", &doc)];
            for principals in [None, Some(&principals[..])] {
                let request = Request {
                    action,
                    resource,
                    principals,
                    context: &context,
                };
                let _ = evaluate(&documents, &request);
            }
        }
    }
    if let Some(statements) = doc.get("Statement") {
        for statement in statements
            .as_array()
            .into_iter()
            .flatten()
            .chain([statements])
        {
            let _ = evaluate_condition(statement.get("Condition"), &[("aws:SourceAccount", "1")]);
        }
    }
});
