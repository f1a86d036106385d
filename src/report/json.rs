use serde::Serialize;

use super::stats::RunStats;
use super::{Target, REPORT_SCHEMA_VERSION};

#[derive(Serialize)]
struct Report<'a> {
    schema_version: u32,
    tool_version: &'static str,
    targets: &'a [Target],
    /// With `--stats`: the AWS calls the run made.
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<&'a RunStats>,
}

pub fn render_json(targets: &[Target], stats: Option<&RunStats>) -> String {
    let report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        targets,
        stats,
    };
    // Serialising our own plain structs cannot fail; an empty object is a
    // safe answer if it ever did.
    serde_json::to_string_pretty(&report).unwrap_or_else(|_| "{}".to_string())
}
