//! SARIF 2.1.0 for code scanning: one rule per check (with its help text),
//! one result per `fail`/`warn` finding. Live resources have no source file,
//! so each result is located by a stable artifact URI derived from the
//! secret's ARN and by a logical location naming the resource, and carries
//! partialFingerprints so code scanning can track it across runs. A
//! template's finding (`rotation-doctor template`) is located at the file
//! and line of the resource to change instead, with its logical id as a
//! logical location
//! (GitHub, "SARIF support for code scanning":
//! https://docs.github.com/en/code-security/reference/code-scanning/sarif-files/sarif-support-for-code-scanning).

use rotation_doctor_checks::{rules, Severity, Status};
use serde_json::{json, Value};

use super::Target;

fn level(status: Status) -> &'static str {
    match status {
        Status::Fail => "error",
        _ => "warning",
    }
}

/// GitHub's security-severity scale (0.1–10).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.5",
    }
}

/// FNV-1a, 64 bits: small, stable across versions and platforms, enough to
/// tell findings apart (it is an identity, not a security boundary).
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0u8)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// `aws/ACCOUNT/REGION/secretsmanager/NAME`: a path-like URI that stays the
/// same across runs for one secret and differs between accounts.
fn artifact_uri(target: &Target) -> String {
    let name: String = target
        .secret
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_./".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match target.account() {
        Some(account) => format!("aws/{account}/{}/secretsmanager/{name}", target.region),
        None => format!("aws/{}/secretsmanager/{name}", target.region),
    }
}

/// A template's path as a relative URI: `/` separators, no leading `./`,
/// and anything but unreserved characters percent-encoded, so code
/// scanning finds the file from the repository's root.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.trim_start_matches("./");
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn first_paragraph(docs: &str) -> String {
    docs.lines()
        .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn render_sarif(targets: &[Target]) -> String {
    let rules: Vec<Value> = rules::ALL
        .iter()
        .map(|check| {
            let meta = check.meta();
            json!({
                "id": meta.id,
                "name": meta.name,
                "shortDescription": {"text": meta.title},
                "fullDescription": {"text": first_paragraph(meta.docs)},
                "help": {"text": meta.docs, "markdown": meta.docs},
                "defaultConfiguration": {"level": "error"},
                "properties": {
                    "security-severity": security_severity(meta.severity),
                    "tags": ["security", "secrets-manager", "rotation"],
                },
            })
        })
        .collect();
    let mut results = Vec::new();
    for target in targets {
        let secret = target.secret.arn.as_deref().unwrap_or(&target.secret.name);
        for finding in target
            .findings
            .iter()
            .filter(|f| matches!(f.status, Status::Fail | Status::Warn))
        {
            let rule_index = rules::ALL
                .iter()
                .position(|c| c.meta().id == finding.check)
                .unwrap_or(0);
            let mut text = finding.message.clone();
            if !finding.remediation.is_empty() {
                text.push_str("\nFix: ");
                text.push_str(&finding.remediation);
            }
            let suppressions = match &finding.suppressed {
                Some(reason) => json!([{"kind": "external", "justification": reason}]),
                None => json!([]),
            };
            let resource = json!({"name": finding.resource, "kind": "resource", "fullyQualifiedName": finding.resource});
            let secret_location =
                json!({"name": target.secret.name, "kind": "secret", "fullyQualifiedName": secret});
            // A template's finding sits at the line of the resource to change.
            let location = match &finding.location {
                Some(at) => {
                    let mut logical = vec![
                        json!({"name": at.logical_id, "kind": "resource", "fullyQualifiedName": at.logical_id}),
                    ];
                    if at.logical_id != finding.resource {
                        logical.push(resource);
                    }
                    logical.push(secret_location);
                    json!({
                        "physicalLocation": {
                            "artifactLocation": {"uri": file_uri(&at.file)},
                            "region": {"startLine": at.line},
                        },
                        "logicalLocations": logical,
                    })
                }
                None => json!({
                    "physicalLocation": {"artifactLocation": {"uri": artifact_uri(target)}},
                    "logicalLocations": [resource, secret_location],
                }),
            };
            results.push(json!({
                "ruleId": finding.check,
                "suppressions": suppressions,
                "ruleIndex": rule_index,
                "level": level(finding.status),
                "message": {"text": text},
                "locations": [location],
                "partialFingerprints": {
                    "rotationDoctorFinding/v1": fingerprint(&[&finding.check, secret, &finding.resource]),
                },
                "properties": {
                    "status": finding.status.as_str(),
                    "severity": finding.severity.as_str(),
                    "security-severity": security_severity(finding.severity),
                    "secret": secret,
                    "region": target.region,
                    "evidence": finding.evidence,
                },
            }));
        }
    }
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rotation-doctor",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&sarif).unwrap_or_default()
}
