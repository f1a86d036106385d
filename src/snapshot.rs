//! Saved facts: `--save-snapshot` writes them, `--snapshot` reads them back
//! for an offline diagnosis with the same output. This reads the file; the
//! checks crate's loader (`rotation_doctor_checks::snapshot`) decides what
//! its bytes are.

use std::io::Read;
use std::path::Path;

use rotation_doctor_checks::snapshot::{parse, MAX_SNAPSHOT_BYTES};
use rotation_doctor_checks::Facts;

use crate::error::UserError;

pub fn load(path: &Path) -> Result<Facts, UserError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| UserError::new(format!("cannot open snapshot {shown}: {e}")))?;
    // One byte past the bound, so that the loader can refuse a larger file
    // without it being read into memory whole.
    let mut bytes = Vec::new();
    file.take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| UserError::new(format!("cannot read snapshot {shown}: {e}")))?;
    parse(&bytes, &shown).map_err(UserError::new)
}

pub fn save(path: &Path, facts: &Facts) -> Result<(), UserError> {
    let text = serde_json::to_string_pretty(facts)
        .map_err(|e| UserError::new(format!("cannot encode the snapshot: {e}")))?;
    std::fs::write(path, text + "\n")
        .map_err(|e| UserError::new(format!("cannot write snapshot {}: {e}", path.display())))
}
