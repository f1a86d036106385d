//! The report for people: a table of findings, the network paths, then the
//! evidence and the fix under each finding that needs action.

use colored::Colorize;
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use rotation_doctor_checks::net::render_path;
use rotation_doctor_checks::{Finding, Status};

use super::Target;

fn status_text(status: Status) -> String {
    let text = status.as_str().to_uppercase();
    match status {
        Status::Fail => text.red().bold().to_string(),
        Status::Warn => text.yellow().bold().to_string(),
        Status::Unknown => text.magenta().to_string(),
        Status::Pass => text.green().to_string(),
        Status::Skipped => text.dimmed().to_string(),
    }
}

/// An ARN's resource part (`function:name`, `secret:name-AbCdEf`): the
/// table has little room, and the JSON keeps the whole ARN.
fn short_resource(resource: &str) -> &str {
    if resource.starts_with("arn:") {
        resource.splitn(6, ':').nth(5).unwrap_or(resource)
    } else {
        resource
    }
}

fn needs_action(finding: &Finding) -> bool {
    matches!(
        finding.status,
        Status::Fail | Status::Warn | Status::Unknown
    )
}

/// `width`: the terminal's width, or `None` for a fixed layout.
pub fn render_table(targets: &[Target], width: Option<u16>) -> String {
    let mut out = String::new();
    for target in targets {
        out.push_str(&format!(
            "{} {}\n{}\n\n",
            "Secret".bold(),
            target.secret.name.bold(),
            format!(
                "{} · {} · collected {}",
                target.secret.arn.as_deref().unwrap_or("ARN unknown"),
                target.region,
                target.collected_at.format("%Y-%m-%d %H:%M:%S UTC")
            )
            .dimmed()
        ));

        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(width.unwrap_or(120))
            .set_header(["Status", "Severity", "Check", "Resource", "Finding"]);
        for finding in &target.findings {
            table.add_row([
                match &finding.suppressed {
                    Some(_) => format!("{} (accepted)", status_text(finding.status)),
                    None => status_text(finding.status),
                },
                finding.severity.as_str().to_string(),
                finding.check.clone(),
                short_resource(&finding.resource).to_string(),
                finding.message.clone(),
            ]);
        }
        out.push_str(&format!("{table}\n"));

        if !target.paths.is_empty() {
            out.push_str(&format!("\n{}\n", "Network paths".bold()));
            for path in &target.paths {
                out.push_str(&format!("  {}\n", render_path(path)));
            }
        }

        for finding in target.findings.iter().filter(|f| needs_action(f)) {
            out.push_str(&format!(
                "\n{} {} {}\n  {}\n",
                status_text(finding.status),
                finding.check.bold(),
                finding.title,
                finding.message
            ));
            if !finding.evidence.is_empty() {
                out.push_str(&format!("  {}\n", "Evidence:".bold()));
                for line in &finding.evidence {
                    out.push_str(&format!("    - {line}\n"));
                }
            }
            if let Some(reason) = &finding.suppressed {
                out.push_str(&format!("  {} {reason}\n", "Accepted:".bold()));
            }
            if !finding.remediation.is_empty() {
                out.push_str(&format!("  {}\n", "Fix:".bold()));
                for line in finding.remediation.lines() {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }

        let summary = [
            Status::Fail,
            Status::Warn,
            Status::Unknown,
            Status::Pass,
            Status::Skipped,
        ]
        .map(|s| format!("{} {}", target.count(s), s.as_str()))
        .join(", ");
        out.push_str(&format!("\n{} {summary}\n", "Summary:".bold()));
    }
    out
}
