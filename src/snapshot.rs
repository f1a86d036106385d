//! Saved facts: `--save-snapshot` writes them, `--snapshot` reads them back
//! for an offline diagnosis with the same output.

use std::io::Read;
use std::path::Path;

use rotation_doctor_checks::{Facts, SNAPSHOT_SCHEMA_VERSION};

use crate::error::UserError;

/// Far above any real snapshot (a few hundred KiB); stops a wrong file from
/// being read into memory whole.
const MAX_SNAPSHOT_BYTES: u64 = 64 * 1024 * 1024;

pub fn load(path: &Path) -> Result<Facts, UserError> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| UserError::new(format!("cannot open snapshot {shown}: {e}")))?;
    let mut text = String::new();
    let read = file
        .take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| UserError::new(format!("cannot read snapshot {shown}: {e}")))?;
    if read as u64 > MAX_SNAPSHOT_BYTES {
        return Err(UserError::new(format!(
            "snapshot {shown} is larger than {} MiB, so it is not a rotation-doctor snapshot",
            MAX_SNAPSHOT_BYTES / 1024 / 1024
        )));
    }
    // Read the version first, so a newer snapshot gets a clear sentence
    // rather than a parse error about a field this version does not know.
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| UserError::new(format!("snapshot {shown} is not valid JSON: {e}")))?;
    let version = value.get("schema_version").and_then(|v| v.as_u64());
    match version {
        None => {
            return Err(UserError::new(format!(
                "{shown} is not a rotation-doctor snapshot: it has no schema_version"
            )))
        }
        Some(v) if v > u64::from(SNAPSHOT_SCHEMA_VERSION) => {
            return Err(UserError::new(format!(
                "snapshot {shown} has schema version {v}, newer than this rotation-doctor reads ({SNAPSHOT_SCHEMA_VERSION}): upgrade rotation-doctor"
            )))
        }
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(|e| {
        UserError::new(format!(
            "{shown} is not a valid rotation-doctor snapshot: {e}"
        ))
    })
}

pub fn save(path: &Path, facts: &Facts) -> Result<(), UserError> {
    let text = serde_json::to_string_pretty(facts)
        .map_err(|e| UserError::new(format!("cannot encode the snapshot: {e}")))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| UserError::new(format!("cannot write snapshot {}: {e}", path.display())))
}
