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

/// The JSON report, written as it is serialised: a scan of thousands of
/// secrets makes a report of a hundred megabytes, which is never held whole.
pub fn write_json(
    out: &mut impl std::io::Write,
    targets: &[Target],
    stats: Option<&RunStats>,
) -> std::io::Result<()> {
    let report = Report {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION"),
        targets,
        stats,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}
