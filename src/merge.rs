//! `merge`: one report from the JSON reports of separate runs (one job per
//! account or region in a CI matrix, a Step Functions distributed map), in
//! any output format and with the same exit code rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::UserError;
use crate::report::{Target, REPORT_SCHEMA_VERSION};

/// A JSON report as `--output json` writes it (its `schema_version` is
/// checked before); `stats` are per run and are not merged.
#[derive(Deserialize)]
struct SavedReport {
    targets: Vec<Target>,
}

/// A JSON report holds about 10 KB per secret: 1 GiB is far beyond any
/// account, and a bound keeps a wrong file from exhausting memory.
const MAX_REPORT_BYTES: u64 = 1024 * 1024 * 1024;

fn load(path: &Path) -> Result<Vec<Target>, UserError> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| UserError::new(format!("cannot read report {shown}: {e}")))?
        .len();
    if size > MAX_REPORT_BYTES {
        return Err(UserError::new(format!(
            "report {shown} is larger than 1 GiB, so it is not a rotation-doctor report"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| UserError::new(format!("cannot read report {shown}: {e}")))?;
    // The version first, so that a newer report says so instead of failing
    // on a field it does not know.
    let version: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UserError::new(format!(
            "report {shown} is not JSON ({e}): merge takes reports written with --output json"
        ))
    })?;
    match version.get("schema_version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(REPORT_SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(UserError::new(format!(
                "report {shown} has schema version {v}; this rotation-doctor reads version {REPORT_SCHEMA_VERSION}"
            )))
        }
        None => {
            return Err(UserError::new(format!(
                "report {shown} has no schema_version: merge takes reports written with --output json"
            )))
        }
    }
    let report: SavedReport = serde_json::from_value(version).map_err(|e| {
        UserError::new(format!(
            "report {shown} is not a rotation-doctor JSON report: {e}"
        ))
    })?;
    let mut targets = report.targets;
    // The findings decide: a report written before the verdict existed
    // gets one, and every verdict follows this version's rules.
    for target in &mut targets {
        target.conclude_again();
    }
    Ok(targets)
}

/// The targets of every report. A secret diagnosed by two runs (jobs whose
/// filters overlap) is kept once, from the latest run, and `notes` says so.
pub fn merge(paths: &[PathBuf]) -> Result<(Vec<Target>, Vec<String>), UserError> {
    let mut by_secret: BTreeMap<(String, String), Target> = BTreeMap::new();
    let mut notes = Vec::new();
    for path in paths {
        for target in load(path)? {
            let key = (
                target
                    .secret
                    .arn
                    .clone()
                    .unwrap_or_else(|| target.secret.name.clone()),
                target.region.clone(),
            );
            match by_secret.get(&key) {
                Some(kept) if kept.collected_at >= target.collected_at => {
                    notes.push(format!(
                        "{} is in several reports: kept the one collected at {}",
                        key.0, kept.collected_at
                    ));
                }
                Some(_) => {
                    notes.push(format!(
                        "{} is in several reports: kept the one collected at {}",
                        key.0, target.collected_at
                    ));
                    by_secret.insert(key, target);
                }
                None => {
                    by_secret.insert(key, target);
                }
            }
        }
    }
    let mut targets: Vec<Target> = by_secret.into_values().collect();
    // Grouped by account, as a multi-account scan reports them.
    targets.sort_by_key(|t| (t.account(), t.region.clone(), t.secret.name.clone()));
    Ok((targets, notes))
}
