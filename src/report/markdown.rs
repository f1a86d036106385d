//! Markdown for a pull-request comment or a GitHub step summary
//! (`$GITHUB_STEP_SUMMARY`): per secret the verdict and its fix, a table of
//! what needs attention, and a Mermaid flowchart per network path with the
//! blocking component in red and the fix under it.
//!
//! GitHub's limits shape it: a step summary holds at most 1 MiB
//! (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands#adding-a-job-summary)
//! and Mermaid renders at most 50,000 characters per diagram (its
//! `maxTextSize`), so a large scan draws the blocked and undecided paths
//! first, up to [`MAX_DIAGRAMS`], and leaves out whole secrets past the
//! size limit, saying so.

use std::collections::BTreeSet;

use rotation_doctor_checks::fix::Safety;
use rotation_doctor_checks::net::{render_path, Verdict as PathVerdict};
use rotation_doctor_checks::{Arn, Finding, Status};

use super::graph::{path_graphs, Node, PathGraph, State};
use super::Target;

/// Diagrams drawn in one report; the rest are listed one line each.
pub const MAX_DIAGRAMS: usize = 30;
/// A step summary larger than 1 MiB is not shown at all.
const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;
/// What the secrets' sections may take, leaving room for the closing note.
const SECTIONS_BUDGET: usize = STEP_SUMMARY_LIMIT - 16 * 1024;
/// Mermaid's default `maxTextSize`.
const MERMAID_MAX_TEXT: usize = 50_000;

const RED: &str = "#d00000";
const AMBER: &str = "#b8860b";
const GREY: &str = "#999999";

pub fn render_markdown(targets: &[Target]) -> String {
    let mut out = String::from("# rotation-doctor\n\n");
    if targets.is_empty() {
        out.push_str("No rotating secret matched.\n");
        return out;
    }
    let graphs: Vec<Vec<PathGraph>> = targets.iter().map(|t| path_graphs(&t.paths)).collect();
    let drawn = choose_diagrams(&graphs);
    if targets.len() > 1 {
        out.push_str(&overview(targets));
    }
    let total: usize = graphs.iter().map(Vec::len).sum();
    if drawn.len() < total {
        out.push_str(&format!(
            "{} of {total} path diagrams are drawn, blocked and undecided paths first, so that GitHub renders the report; the others are listed in one line each (`--output dot` draws them all).\n\n",
            drawn.len()
        ));
    }
    let mut left_out = 0;
    for (index, target) in targets.iter().enumerate() {
        let section = section(target, index, &graphs[index], &drawn);
        if left_out > 0 || out.len() + section.len() > SECTIONS_BUDGET {
            left_out += 1;
            continue;
        }
        out.push_str(&section);
    }
    if left_out > 0 {
        out.push_str(&format!(
            "---\n\n{left_out} more secret(s) left out to keep this report under GitHub's 1 MiB step-summary limit; `--output json` has every finding.\n"
        ));
    }
    out
}

/// Which diagrams (target, graph) are drawn: blocked, then undecided, then
/// reachable paths, in report order within each, up to [`MAX_DIAGRAMS`].
fn choose_diagrams(graphs: &[Vec<PathGraph>]) -> BTreeSet<(usize, usize)> {
    let mut all: Vec<(PathVerdict, usize, usize)> = graphs
        .iter()
        .enumerate()
        .flat_map(|(t, gs)| {
            gs.iter()
                .enumerate()
                .map(move |(g, graph)| (graph.verdict, t, g))
        })
        .collect();
    // Blocked sorts last in the engine's order; most serious first here.
    all.sort_by_key(|&(verdict, t, g)| (std::cmp::Reverse(verdict), t, g));
    all.into_iter()
        .take(MAX_DIAGRAMS)
        .map(|(_, t, g)| (t, g))
        .collect()
}

fn outcome(target: &Target) -> &'static str {
    let verdict = &target.verdict;
    if !verdict.root_causes.is_empty() {
        "rotation fails"
    } else if !verdict.undecided.is_empty() {
        "undecided"
    } else if !verdict.warnings.is_empty() {
        "works, with warnings"
    } else {
        "works"
    }
}

/// One row per secret, for a scan.
fn overview(targets: &[Target]) -> String {
    let failing = targets
        .iter()
        .filter(|t| !t.verdict.root_causes.is_empty())
        .count();
    let mut out = format!(
        "{} secrets diagnosed, {failing} with rotation failing.\n\n| Secret | Region | Outcome | Fail | Warn | Unknown |\n| --- | --- | --- | --- | --- | --- |\n",
        targets.len()
    );
    for target in targets {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            markdown_text(&target.secret.name),
            markdown_text(&target.region),
            outcome(target),
            target.count(Status::Fail),
            target.count(Status::Warn),
            target.count(Status::Unknown),
        ));
    }
    out.push('\n');
    out
}

fn section(
    target: &Target,
    index: usize,
    graphs: &[PathGraph],
    drawn: &BTreeSet<(usize, usize)>,
) -> String {
    let mut out = format!(
        "## {}\n\n{} · {} · collected {}\n\n",
        markdown_text(&target.secret.name),
        markdown_text(target.secret.arn.as_deref().unwrap_or("ARN unknown")),
        markdown_text(&target.region),
        target.collected_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    out.push_str(&verdict(target));
    out.push_str(&findings(target));
    if !graphs.is_empty() {
        out.push_str("### Network paths\n\n");
        for (g, graph) in graphs.iter().enumerate() {
            out.push_str(&path_section(target, graph, drawn.contains(&(index, g))));
        }
    }
    out
}

/// The root cause, its fix, what follows from it and what to do after.
fn verdict(target: &Target) -> String {
    let verdict = &target.verdict;
    let mut out = format!("**Verdict:** {}\n\n", markdown_text(&verdict.summary));
    let numbered = verdict.root_causes.len() > 1;
    for (i, cause) in verdict.root_causes.iter().enumerate() {
        let number = if numbered {
            format!(" {}", i + 1)
        } else {
            String::new()
        };
        if let Some(fix) = &cause.fix {
            let applies = match cause.fix_safety {
                Some(Safety::Safe) => " `--fix` applies it.",
                Some(Safety::Unsafe) => {
                    " `--fix --unsafe-fixes` applies it (it changes existing configuration)."
                }
                None => "",
            };
            out.push_str(&format!(
                "**Fix{number}** ({}): {}.{applies}\n\n",
                cause.check,
                markdown_text(fix.trim_end_matches('.'))
            ));
        }
        if !cause.consequences.is_empty() {
            let ids: Vec<&str> = cause
                .consequences
                .iter()
                .map(|c| c.check.as_str())
                .collect();
            out.push_str(&format!(
                "**Follows from it:** {}.\n\n",
                markdown_text(&ids.join(", "))
            ));
        }
        if !cause.then.is_empty() {
            out.push_str(&format!(
                "**Then:** {}.\n\n",
                markdown_text(&cause.then.join("; "))
            ));
        }
    }
    out
}

fn needs_attention(finding: &Finding) -> bool {
    matches!(
        finding.status,
        Status::Fail | Status::Warn | Status::Unknown
    )
}

/// An ARN's resource part, else `id (name)`.
fn resource_label(target: &Target, resource: &str) -> String {
    match Arn::parse(resource) {
        Some(arn) => arn.resource.to_string(),
        None => target.label(resource),
    }
}

/// The findings that need attention in a table, and a count of the rest.
fn findings(target: &Target) -> String {
    let mut out = String::new();
    let attention: Vec<&Finding> = target
        .findings
        .iter()
        .filter(|f| needs_attention(f))
        .map(|f| &**f)
        .collect();
    if !attention.is_empty() {
        out.push_str("| Status | Check | Resource | Finding |\n| --- | --- | --- | --- |\n");
        for finding in attention {
            let mut status = finding.status.as_str().to_uppercase();
            if let Some(reason) = &finding.suppressed {
                status.push_str(&format!(" (accepted: {reason})"));
            }
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                markdown_text(&status),
                markdown_text(&finding.check),
                markdown_text(&resource_label(target, &finding.resource)),
                markdown_text(&finding.message)
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{} passed, {} skipped.\n\n",
        target.count(Status::Pass),
        target.count(Status::Skipped)
    ));
    out
}

/// The check that reports a destination's reachability.
fn reachability_check(graph: &PathGraph) -> &'static str {
    match graph.to {
        rotation_doctor_checks::net::Destination::Database => "NET002",
        rotation_doctor_checks::net::Destination::Secretsmanager => "NET003",
        rotation_doctor_checks::net::Destination::RdsApi => "NET004",
    }
}

/// The fix for a blocked path: the failing finding's remediation, first
/// line, else the verdict's fix for that check.
fn path_fix(target: &Target, graph: &PathGraph) -> Option<String> {
    let check = reachability_check(graph);
    let finding = target
        .findings
        .iter()
        .find(|f| f.check == check && f.status == Status::Fail);
    let remediation = finding
        .and_then(|f| f.remediation.lines().next())
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string);
    let fix = remediation.or_else(|| {
        target
            .verdict
            .root_causes
            .iter()
            .find(|c| c.check == check)
            .and_then(|c| c.fix.clone())
    })?;
    Some(match finding.and_then(|f| f.suppressed.as_ref()) {
        Some(reason) => format!("{fix} (accepted: {reason})"),
        None => fix,
    })
}

fn path_section(target: &Target, graph: &PathGraph, draw: bool) -> String {
    let mut out = format!("**{}**\n\n", markdown_text(&graph.title()));
    let diagram = mermaid(graph);
    if draw && diagram.len() <= MERMAID_MAX_TEXT {
        out.push_str(&format!("```mermaid\n{diagram}```\n\n"));
    } else {
        for &p in &graph.paths {
            out.push_str(&format!(
                "- {}\n",
                markdown_text(&render_path(&target.paths[p]))
            ));
        }
        out.push('\n');
    }
    let at = |node: &Node| format!("{} {}", node.kind, node.label);
    if let Some(node) = graph.blocking() {
        out.push_str(&format!(
            "**Blocked at** {}: {}\n\n",
            markdown_text(&at(node)),
            markdown_text(node.detail.as_deref().unwrap_or(""))
        ));
        if let Some(fix) = path_fix(target, graph) {
            out.push_str(&format!("**Fix:** {}\n\n", markdown_text(&fix)));
        }
    }
    for node in graph.undecided().filter(|n| n.detail.is_some()) {
        out.push_str(&format!(
            "**Undecided at** {}: {}\n\n",
            markdown_text(&at(node)),
            markdown_text(node.detail.as_deref().unwrap_or(""))
        ));
    }
    for note in &graph.notes {
        out.push_str(&format!("Note: {}\n\n", markdown_text(note)));
    }
    out
}

/// The graph as a Mermaid flowchart, left to right.
pub fn mermaid(graph: &PathGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    let last = graph.sources.len() + graph.steps.len() - 1;
    for (i, node) in graph.nodes().enumerate() {
        let text = format!(
            "{}<br/>{}",
            mermaid_text(&node.kind),
            mermaid_text(&node.label)
        );
        // A rounded box for the Lambda, a cylinder for the database.
        let (open, close) = if i < graph.sources.len() {
            ("(", ")")
        } else if i == last && graph.to == rotation_doctor_checks::net::Destination::Database {
            ("[(", ")]")
        } else {
            ("[", "]")
        };
        out.push_str(&format!("    n{i}{open}\"{text}\"{close}\n"));
    }
    let mut styles: Vec<(usize, &str)> = Vec::new();
    for (i, edge) in graph.edges().iter().enumerate() {
        let arrow = match edge.state {
            State::Pass | State::Blocked => "-->",
            State::Unknown | State::NotReached => "-.->",
        };
        let label = edge
            .label
            .as_deref()
            .map(|l| format!("|\"{}\"|", mermaid_text(l)))
            .unwrap_or_default();
        out.push_str(&format!("    n{} {arrow}{label} n{}\n", edge.from, edge.to));
        match edge.state {
            State::Blocked => styles.push((i, RED)),
            State::Unknown => styles.push((i, AMBER)),
            State::NotReached => styles.push((i, GREY)),
            State::Pass => {}
        }
    }
    for (state, class, style) in [
        (
            State::Blocked,
            "blocked",
            "fill:#ffe0e0,stroke:#d00000,stroke-width:3px,color:#600000",
        ),
        (
            State::Unknown,
            "unknown",
            "fill:#fff3cd,stroke:#b8860b,stroke-dasharray:5 3,color:#5c4300",
        ),
        (
            State::NotReached,
            "unreached",
            "fill:#f4f4f4,stroke:#999999,color:#777777",
        ),
    ] {
        let members: Vec<String> = graph
            .nodes()
            .enumerate()
            .filter(|(_, n)| n.state == state)
            .map(|(i, _)| format!("n{i}"))
            .collect();
        if !members.is_empty() {
            out.push_str(&format!("    classDef {class} {style}\n"));
            out.push_str(&format!("    class {} {class}\n", members.join(",")));
        }
    }
    for (i, colour) in styles {
        out.push_str(&format!(
            "    linkStyle {i} stroke:{colour},stroke-width:2px,color:{colour}\n"
        ));
    }
    out
}

/// Text inside a quoted Mermaid label. Mermaid has no backslash escapes;
/// it decodes entity codes (`#quot;`, `#35;`), so every character that
/// would end the string, start a code, or read as HTML or as the
/// flowchart's own syntax is written as one
/// (https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters).
/// Line breaks and other control characters become spaces.
pub fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            '[' => out.push_str("#91;"),
            ']' => out.push_str("#93;"),
            '{' => out.push_str("#123;"),
            '}' => out.push_str("#125;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text in a paragraph or a table cell: Markdown's punctuation is
/// backslash-escaped so a message reads as written (`s3:*` stays, `|` does
/// not end a cell, `<x>` is no HTML); line breaks become spaces (a cell is
/// one line).
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// `count` copies of the example's diagnosis, as a scan reports them.
    fn lab_targets(count: usize) -> Vec<Target> {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lab-failed-rotation.json");
        let facts = crate::snapshot::load(&example).unwrap();
        (0..count)
            .map(|_| Target::new(&facts, rotation_doctor_checks::diagnose(&facts)))
            .collect()
    }

    #[test]
    fn a_large_scan_draws_blocked_paths_first_and_says_what_it_left_out() {
        // 12 secrets: 24 blocked database paths, 12 merged reachable ones.
        let out = render_markdown(&lab_targets(12));
        let diagrams: Vec<&str> = out.split("```mermaid\n").skip(1).collect();
        assert_eq!(diagrams.len(), MAX_DIAGRAMS);
        let blocked = diagrams
            .iter()
            .filter(|d| d.contains("classDef blocked"))
            .count();
        assert_eq!(blocked, 24, "every blocked path is drawn");
        assert!(out.contains(&format!("{MAX_DIAGRAMS} of 36 path diagrams are drawn")));
        // The 6 reachable paths left out are listed one line each, both
        // subnets of each.
        let listed = out
            .lines()
            .filter(|l| l.starts_with("- ") && l.contains("Secrets Manager tcp/443: reachable"))
            .count();
        assert_eq!(listed, 12);
        assert!(out.contains("12 secrets diagnosed, 12 with rotation failing."));
    }

    #[test]
    fn a_report_stays_under_the_step_summary_limit() {
        let targets = lab_targets(300);
        let out = render_markdown(&targets);
        assert!(out.len() <= STEP_SUMMARY_LIMIT, "{} bytes", out.len());
        let sections = out.matches("\n## lab/mysql/admin\n").count();
        assert!(sections > 0 && sections < 300, "{sections} sections");
        assert!(
            out.contains(&format!(
                "{} more secret(s) left out to keep this report under GitHub's 1 MiB step-summary limit",
                300 - sections
            )),
            "{}",
            &out[out.len() - 300..]
        );
        // Every diagram drawn is within Mermaid's default maxTextSize.
        for diagram in out.split("```mermaid\n").skip(1) {
            let end = diagram.find("```").unwrap();
            assert!(end <= MERMAID_MAX_TEXT);
        }
    }

    #[test]
    fn mermaid_text_escapes_what_ends_or_changes_a_label() {
        assert_eq!(
            mermaid_text(r#"a "b" #1 <c> | [d] {e} & `f`"#),
            "a #quot;b#quot; #35;1 #lt;c#gt; #124; #91;d#93; #123;e#125; #amp; #96;f#96;"
        );
        assert_eq!(mermaid_text("line\nbreak\ttab"), "line break tab");
        // Nothing a label can hold ends it.
        let nasty: String = (' '..='~').collect();
        let escaped = mermaid_text(&nasty);
        assert!(!escaped.contains(['"', '<', '>', '|', '[', ']', '`']));
    }

    #[test]
    fn markdown_text_keeps_cells_and_text_literal() {
        assert_eq!(
            markdown_text("allow s3:* | deny <all> [x]_y_"),
            r"allow s3:\* \| deny \<all\> \[x\]\_y\_"
        );
        assert_eq!(markdown_text("two\nlines"), "two lines");
        assert_eq!(markdown_text(r"a\|b"), r"a\\\|b");
    }
}
