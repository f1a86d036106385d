//! A saved snapshot's bytes back into facts: the size bound, UTF-8, JSON,
//! the schema version, then the shape. The binary reads the file and the fuzz target
//! feeds its input here, so both go through the same checks.

use crate::{Facts, SNAPSHOT_SCHEMA_VERSION};

/// Far above any real snapshot (a few hundred KiB); stops a wrong file from
/// being taken whole.
pub const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

/// The facts in `bytes`, or one sentence for the user naming the snapshot as
/// `shown` (its path).
pub fn parse(bytes: &[u8], shown: &str) -> Result<Facts, String> {
    if bytes.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(format!(
            "snapshot {shown} is larger than {} MiB, so it is not a rotation-doctor snapshot",
            MAX_SNAPSHOT_BYTES / 1024 / 1024
        ));
    }
    // The sentence `read_to_string` gave when the binary read text directly.
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("cannot read snapshot {shown}: stream did not contain valid UTF-8"))?;
    // Read the version first, so a newer snapshot gets a clear sentence
    // rather than a parse error about a field this version does not know.
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("snapshot {shown} is not valid JSON: {e}"))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        None => {
            return Err(format!(
                "{shown} is not a rotation-doctor snapshot: it has no schema_version"
            ))
        }
        Some(v) if v > u64::from(SNAPSHOT_SCHEMA_VERSION) => {
            return Err(format!(
                "snapshot {shown} has schema version {v}, newer than this rotation-doctor reads ({SNAPSHOT_SCHEMA_VERSION}): upgrade rotation-doctor"
            ))
        }
        Some(_) => {}
    }
    serde_json::from_value(value)
        .map_err(|e| format!("{shown} is not a valid rotation-doctor snapshot: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_is_one_sentence_naming_the_snapshot() {
        let refused = |bytes: &[u8]| parse(bytes, "f.json").unwrap_err();
        let too_big = vec![b' '; MAX_SNAPSHOT_BYTES as usize + 1];
        assert!(refused(&too_big).contains("larger than 64 MiB"));
        assert!(refused(b"{\xff}").ends_with("stream did not contain valid UTF-8"));
        assert!(refused(b"{").starts_with("snapshot f.json is not valid JSON"));
        assert!(refused(b"{}").contains("it has no schema_version"));
        assert!(refused(b"{\"schema_version\": 2}").contains("upgrade rotation-doctor"));
        assert!(refused(b"{\"schema_version\": 1}")
            .starts_with("f.json is not a valid rotation-doctor snapshot"));
    }
}
