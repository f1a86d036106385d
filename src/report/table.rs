//! The report for people: a table of findings, the network paths, then the
//! evidence and the fix under each finding that needs action.

use colored::Colorize;
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, Attribute, Cell, Color, ContentArrangement, Table,
};
use rotation_doctor_checks::net::render_path;
use rotation_doctor_checks::{Arn, Finding, Status};

use super::Target;

/// Whether output is coloured: `colored` already folds in `NO_COLOR`,
/// `CLICOLOR_FORCE` and the override `main` sets when stdout is no terminal.
fn colour_enabled() -> bool {
    colored::control::SHOULD_COLORIZE.should_colorize()
}

/// A table with the house layout: it fits `width` (the terminal's, or 120
/// columns when there is none) and colours its cells only when colour is
/// on. Cells are coloured through comfy-table, never with escape codes in
/// their text, which comfy-table would count as width.
pub fn new_table(header: &[&str], width: Option<u16>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(width.unwrap_or(120))
        .force_no_tty()
        .set_header(header.iter().copied());
    if colour_enabled() {
        table.enforce_styling();
    }
    table
}

fn status_label(status: Status) -> String {
    status.as_str().to_uppercase()
}

/// A status in running text, coloured by `colored` (no width is counted).
fn status_text(status: Status) -> String {
    let text = status_label(status);
    match status {
        Status::Fail => text.red().bold().to_string(),
        Status::Warn => text.yellow().bold().to_string(),
        Status::Unknown => text.magenta().to_string(),
        Status::Pass => text.green().to_string(),
        Status::Skipped => text.dimmed().to_string(),
    }
}

/// A status in a table cell, coloured by comfy-table.
fn status_cell(status: Status, accepted: bool) -> Cell {
    let mut text = status_label(status);
    if accepted {
        text.push_str(" (accepted)");
    }
    let cell = Cell::new(text);
    match status {
        Status::Fail => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Status::Warn => cell.fg(Color::Yellow).add_attribute(Attribute::Bold),
        Status::Unknown => cell.fg(Color::Magenta),
        Status::Pass => cell.fg(Color::Green),
        Status::Skipped => cell.add_attribute(Attribute::Dim),
    }
}

/// An ARN's resource part (`function:name`, `secret:name-AbCdEf`): the
/// table has little room, and the JSON keeps the whole ARN.
fn short_resource(resource: &str) -> &str {
    Arn::parse(resource).map_or(resource, |arn| arn.resource)
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

        let mut table = new_table(
            &["Status", "Severity", "Check", "Resource", "Finding"],
            width,
        );
        for finding in &target.findings {
            table.add_row([
                status_cell(finding.status, finding.suppressed.is_some()),
                Cell::new(finding.severity.as_str()),
                Cell::new(&finding.check),
                Cell::new(short_resource(&finding.resource)),
                Cell::new(&finding.message),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use unicode_width::UnicodeWidthStr;

    use super::*;

    /// What a terminal shows of a line: its text without escape codes.
    fn display_width(line: &str) -> usize {
        let escapes = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
        escapes.replace_all(line, "").width()
    }

    #[test]
    fn coloured_table_lines_have_one_width() {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lab-failed-rotation.json");
        let facts = crate::snapshot::load(&example).unwrap();
        let targets = [Target::new(
            &facts,
            rotation_doctor_checks::diagnose(&facts),
        )];
        colored::control::set_override(true);
        for width in [80, 120, 200] {
            let out = render_table(&targets, Some(width));
            assert!(out.contains('\x1b'), "colour was forced on");
            let table: Vec<&str> = out
                .lines()
                .skip_while(|l| !l.starts_with('┌'))
                .take_while(|l| !l.starts_with('└'))
                .collect();
            assert!(table.len() > 5, "the table has rows:\n{out}");
            let header = display_width(table[0]);
            for line in &table {
                assert_eq!(display_width(line), header, "{line:?} in\n{out}");
            }
            assert!(header <= usize::from(width), "{header} > {width}");
        }
    }
}
