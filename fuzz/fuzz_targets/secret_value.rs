//! The secret value parser on arbitrary SecretStrings: no panic, and the
//! password never reaches the parsed `Connection` (its `Debug` or its JSON)
//! nor `ParsedSecret`'s `Debug`.
//!
//! For a JSON object with a "password" string, the input is parsed again
//! with the password swapped for a canary: the connection must come out the
//! same (it does not depend on the password), and the canary must not show
//! anywhere unless the rest of the input holds it too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rotation_doctor_checks::secret_value::{parse_secret_value, ParsedSecret};
use rotation_doctor_checks::SecretFormat;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

const CANARY: &str = "fuzz-canary-9d1b7c-p4ss";

fn parse(text: &str) -> ParsedSecret {
    parse_secret_value(Some(Zeroizing::new(text.to_string())), false)
}

/// Everything the parse result shows: the connection's Debug and JSON, and
/// the whole result's Debug (which holds the masked password).
fn shown(parsed: &ParsedSecret) -> String {
    format!(
        "{:?}\n{}\n{:?}\n{:#?}",
        parsed.connection,
        serde_json::to_string(&parsed.connection).expect("a Connection serializes"),
        parsed,
        parsed
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        // Not UTF-8 cannot be a SecretString; a SecretBinary is all we see then.
        let parsed = parse_secret_value(None, true);
        assert_eq!(parsed.connection.format, SecretFormat::Binary);
        return;
    };
    let parsed = parse(text);
    let output = shown(&parsed);
    assert!(
        !output.contains(CANARY) || text.contains(CANARY),
        "canary from nowhere: {output}"
    );
    if parsed.connection.format != SecretFormat::Json {
        assert!(parsed.password.is_none());
        assert!(parsed.connection.keys.is_empty());
    }
    if let Some(password) = &parsed.password {
        assert!(!password.is_empty());
        assert!(text.contains(password.expose()) || text.contains('\\'));
    }

    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(Value::String(password)) = object.get("password") else {
        return;
    };
    // The password and the canary must be interchangeable: the connection
    // (and everything shown) is the same whichever of the two is stored.
    let with = |value: &str| -> String {
        let mut changed: Map<String, Value> = object.clone();
        changed.insert("password".into(), Value::String(value.into()));
        serde_json::to_string(&Value::Object(changed)).expect("serializes")
    };
    let original = parse(&with(password));
    let canary = parse(&with(CANARY));
    assert_eq!(original.connection, canary.connection);
    if !password.is_empty() {
        // (An empty password is not kept, so `password: None` shows then.)
        assert_eq!(shown(&original), shown(&canary));
    }
    assert_eq!(
        original.password.as_ref().map(|p| p.expose().to_string()),
        Some(password.clone()).filter(|p| !p.is_empty())
    );
    assert_eq!(canary.password.as_ref().map(|p| p.expose()), Some(CANARY));
    let rest: String = object
        .iter()
        .filter(|(key, _)| *key != "password")
        .map(|(key, value)| format!("{key}{value}"))
        .collect();
    if !rest.contains(CANARY) {
        let output = shown(&canary);
        assert!(!output.contains(CANARY), "the password shows: {output}");
    }
});
