//! The report for people: a table of findings, the network paths, then the
//! evidence and the fix under each finding that needs action.

use colored::Colorize;
use comfy_table::{
    presets::UTF8_FULL_CONDENSED, Attribute, Cell, Color, ColumnConstraint, ContentArrangement,
    Table, Width,
};
use std::collections::BTreeMap;

use rotation_doctor_checks::fix::Safety;
use rotation_doctor_checks::net::{render_path, HopVerdict, NetPath};
use rotation_doctor_checks::{names, rules, Arn, Finding, Status};

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
    status_colour(Cell::new(text), status)
}

fn status_colour(cell: Cell, status: Status) -> Cell {
    match status {
        Status::Fail => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Status::Warn => cell.fg(Color::Yellow).add_attribute(Attribute::Bold),
        Status::Unknown => cell.fg(Color::Magenta),
        Status::Pass => cell.fg(Color::Green),
        Status::Skipped => cell.add_attribute(Attribute::Dim),
    }
}

/// The widest single word a table cell shows: longer ones are cut in the
/// middle, so that comfy-table never splits an id or an ARN across lines.
const LONGEST_WORD: usize = 36;

/// What a table cell shows of a text: named ids shortened
/// beside their names (`sg-80c3… (lab-db-sg)`), ARNs as their resource part
/// (the header names the account and region; the JSON keeps everything),
/// and any other word longer than `LONGEST_WORD` cut in the middle.
fn cell_text(text: &str, names: &BTreeMap<String, String>) -> String {
    fitted_text(text, names, LONGEST_WORD)
}

/// `cell_text` with words cut to `longest` characters.
fn fitted_text(text: &str, names: &BTreeMap<String, String>, longest: usize) -> String {
    shorten_named_ids(text, names)
        .split(' ')
        .map(|word| compact_word(word, longest))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `sg-80c3850805bba7188 (lab-db-sg)` → `sg-80c3… (lab-db-sg)`: beside its
/// name, the start of an id is enough to tell it apart. The verdict, which
/// wraps, gets only this: its words (commands among them) stay whole.
fn shorten_named_ids(text: &str, names: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (id, name) in names {
        let long = format!("{id} ({name})");
        if out.contains(&long) {
            out = out.replace(&long, &format!("{} ({name})", abbreviate(id)));
        }
    }
    out
}

/// The id's prefix and four characters: `sg-80c3…`, `subnet-904f…`.
fn abbreviate(id: &str) -> String {
    match id.split_once('-') {
        Some((prefix, rest)) if rest.chars().count() > 5 => {
            format!("{prefix}-{}…", rest.chars().take(4).collect::<String>())
        }
        _ => id.to_string(),
    }
}

fn compact_word(word: &str, longest: usize) -> String {
    let core = word.trim_end_matches([',', ';', ')', '.']);
    let punctuation = &word[core.len()..];
    let core = Arn::parse(core).map_or(core, |arn| arn.resource);
    format!("{}{punctuation}", cut_middle(core, longest))
}

/// `abcdefghij` → `abcd…ghij` within `max` characters.
fn cut_middle(word: &str, max: usize) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() <= max {
        return word.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

fn needs_action(finding: &Finding) -> bool {
    matches!(
        finding.status,
        Status::Fail | Status::Warn | Status::Unknown
    )
}

/// How much the table shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableOptions {
    /// The terminal's width, or `None` for a fixed layout.
    pub width: Option<u16>,
    /// Every finding and every path, not only what needs action.
    pub all: bool,
    /// The hops of each path under the finding that shows it.
    pub verbose: bool,
}

/// Wraps running text to the width, continuation lines indented.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    // Ids and dates have hyphens: never split at them.
    let options = textwrap::Options::new(width.max(40))
        .subsequent_indent(indent)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    textwrap::fill(text, options)
}

/// `rotation-doctor diagnose SECRET --fix`, with `--unsafe-fixes` when the
/// plan needs it.
fn fix_command(target: &Target, safety: Safety) -> String {
    let unsafe_flag = match safety {
        Safety::Safe => "",
        Safety::Unsafe => " --unsafe-fixes",
    };
    format!(
        "rotation-doctor diagnose {} --fix{unsafe_flag}",
        target.secret.name
    )
}

/// The root cause in a sentence, the one fix, and what follows from it.
fn render_verdict(target: &Target, width: usize) -> String {
    let verdict = &target.verdict;
    let names = &target.names;
    let headline = match verdict.root_causes.as_slice() {
        [] if verdict.undecided.is_empty() => "Verdict:".green().bold(),
        [] => "Verdict:".magenta().bold(),
        _ => "Verdict:".red().bold(),
    };
    let mut out = wrap(
        &format!("{headline} {}", shorten_named_ids(&verdict.summary, names)),
        width,
        "  ",
    );
    out.push('\n');
    let several = verdict.root_causes.len() > 1;
    for (n, root) in verdict.root_causes.iter().enumerate() {
        let indent = if several { "    " } else { "  " };
        if several {
            let cause = format!("{}. {} {}", n + 1, root.check.bold(), root.title);
            out.push_str(&wrap(&format!("  {cause}"), width, indent));
            out.push('\n');
        }
        let mut line = |label: &str, text: String| {
            let text = format!(
                "{indent}{} {}",
                label.bold(),
                shorten_named_ids(&text, names)
            );
            out.push_str(&wrap(&text, width, &format!("{indent}  ")));
            out.push('\n');
        };
        if let Some(fix) = &root.fix {
            let how = match root.fix_safety {
                Some(safety) => format!("{fix}: `{}` applies it", fix_command(target, safety)),
                None => fix.clone(),
            };
            line("Fix:", how);
        }
        if !root.consequences.is_empty() {
            let follows: Vec<String> = root
                .consequences
                .iter()
                .map(|c| match rules::find(&c.check) {
                    Some(check) => format!("{} ({})", c.check, check.meta().name),
                    None => c.check.clone(),
                })
                .collect();
            line("Follows from it:", follows.join(", "));
        }
        if root.then.len() > 1 || !root.consequences.is_empty() {
            line("Then:", root.then.join("; then "));
        }
    }
    if !verdict.root_causes.is_empty() && !verdict.warnings.is_empty() {
        let warnings: Vec<String> = verdict
            .warnings
            .iter()
            .map(|id| match rules::find(id) {
                Some(check) => format!("{id} ({})", check.meta().name),
                None => id.clone(),
            })
            .collect();
        out.push_str(&wrap(
            &format!("  {} {}", "Also warned:".bold(), warnings.join(", ")),
            width,
            "    ",
        ));
        out.push('\n');
    }
    out
}

/// One line per hop, as a tree under the path it belongs to.
fn render_hops(path: &NetPath, indent: &str) -> String {
    let mut out = String::new();
    let last = path.hops.len().saturating_sub(1);
    for (i, hop) in path.hops.iter().enumerate() {
        let branch = if i == last { "└─" } else { "├─" };
        let mark = match hop.verdict {
            HopVerdict::Pass => "✓".green().to_string(),
            HopVerdict::Block => "✗ BLOCKED".red().bold().to_string(),
            HopVerdict::Unknown => "?".magenta().to_string(),
            HopVerdict::Info => "·".dimmed().to_string(),
        };
        out.push_str(&format!(
            "{indent}{branch} {} {} {mark}: {}\n",
            hop.kind.as_str(),
            names::label(&hop.resource, hop.name.as_deref()),
            hop.detail
        ));
    }
    out
}

/// Below this width the resource moves into the finding's cell and the
/// severity under the status, so that the message keeps room for a whole
/// id or ARN on each line.
const NARROW: usize = 110;

/// The widest the Resource column gets in the wide layout.
const RESOURCE_COLUMN: usize = 32;

fn findings_table(target: &Target, shown: &[&Finding], width: Option<u16>) -> Table {
    let narrow = usize::from(width.unwrap_or(120)) < NARROW;
    let header: &[&str] = if narrow {
        &["Status", "Check", "Finding"]
    } else {
        &["Status", "Severity", "Check", "Resource", "Finding"]
    };
    let mut table = new_table(header, width);
    for finding in shown {
        let resource: Vec<String> = finding
            .resource
            .split(", ")
            .map(|id| target.label(id))
            .collect();
        let resource = resource.join(", ");
        let message = cell_text(&finding.message, &target.names);
        let status = status_cell(finding.status, finding.suppressed.is_some());
        if narrow {
            let status = status_cell_with_severity(finding);
            let resource = fitted_text(&resource, &target.names, LONGEST_WORD);
            table.add_row([
                status,
                Cell::new(&finding.check),
                Cell::new(format!("{resource}\n{message}")),
            ]);
        } else {
            table.add_row([
                status,
                Cell::new(finding.severity.as_str()),
                Cell::new(&finding.check),
                Cell::new(fitted_text(&resource, &target.names, RESOURCE_COLUMN)),
                Cell::new(message),
            ]);
        }
    }
    if !narrow {
        if let Some(column) = table.column_mut(3) {
            column.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(
                RESOURCE_COLUMN as u16 + 2,
            )));
        }
    }
    table
}

/// The narrow layout's status cell: the status, the severity under it.
fn status_cell_with_severity(finding: &Finding) -> Cell {
    let mut text = status_label(finding.status);
    if finding.suppressed.is_some() {
        text.push_str("\n(accepted)");
    }
    text.push('\n');
    text.push_str(finding.severity.as_str());
    status_colour(Cell::new(text), finding.status)
}

pub fn render_table(targets: &[Target], options: TableOptions) -> String {
    let width = usize::from(options.width.unwrap_or(120));
    let mut out = String::new();
    let accounts: std::collections::BTreeSet<Option<String>> =
        targets.iter().map(Target::account).collect();
    let mut account_shown: Option<Option<String>> = None;
    for target in targets {
        // Several accounts: each one's secrets under its heading.
        let account = target.account();
        if accounts.len() > 1 && account_shown.as_ref() != Some(&account) {
            let heading = format!("Account {}", account.as_deref().unwrap_or("(unknown)"));
            out.push_str(&format!(
                "{}\n{}\n\n",
                heading.bold(),
                "═".repeat(heading.len())
            ));
            account_shown = Some(account);
        }
        let about = format!(
            "{}\n{} · collected {}",
            target.secret.arn.as_deref().unwrap_or("ARN unknown"),
            target.region,
            target.collected_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
        out.push_str(&format!(
            "{} {}\n{}\n\n",
            "Secret".bold(),
            target.secret.name.bold(),
            about.dimmed()
        ));
        out.push_str(&render_verdict(target, width));
        out.push('\n');

        let shown: Vec<&Finding> = target
            .findings
            .iter()
            .filter(|f| options.all || needs_action(f))
            .map(|f| &**f)
            .collect();
        if !shown.is_empty() {
            out.push_str(&format!(
                "{}\n",
                findings_table(target, &shown, options.width)
            ));
        }
        let hidden = target.findings.len() - shown.len();
        if hidden > 0 {
            out.push_str(&format!(
                "{}\n",
                format!(
                    "{} passed, {} skipped: not listed (--all lists every finding)",
                    target.count(Status::Pass),
                    target.count(Status::Skipped)
                )
                .dimmed()
            ));
        }

        if options.all && !target.paths.is_empty() {
            out.push_str(&format!("\n{}\n", "Network paths".bold()));
            for path in target.paths.iter() {
                out.push_str(&format!("  {}\n", render_path(path)));
                if options.verbose {
                    out.push_str(&render_hops(path, "      "));
                }
            }
        }

        for finding in shown.iter().filter(|f| needs_action(f)) {
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
                    // A path's line in the evidence: its hops beneath it.
                    let path = target.paths.iter().find(|p| render_path(p) == *line);
                    if let (true, Some(path)) = (options.verbose, path) {
                        out.push_str(&render_hops(path, "        "));
                    }
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

/// `--quiet`: the verdict of each secret on one line.
pub fn render_verdicts(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| {
            let status = if !t.verdict.root_causes.is_empty() {
                status_text(Status::Fail)
            } else if !t.verdict.undecided.is_empty() {
                status_text(Status::Unknown)
            } else {
                status_text(Status::Pass)
            };
            format!(
                "{}: {status} {}\n",
                t.secret.name,
                shorten_named_ids(&t.verdict.summary, &t.names)
            )
        })
        .collect()
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

    /// `colored`'s override is global: tests that set it take turns.
    static COLOUR: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn colour(on: bool) -> std::sync::MutexGuard<'static, ()> {
        let guard = COLOUR.lock().unwrap_or_else(|e| e.into_inner());
        colored::control::set_override(on);
        guard
    }

    fn example_targets() -> [Target; 1] {
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lab-failed-rotation.json");
        let facts = crate::snapshot::load(&example).unwrap();
        [Target::new(
            &facts,
            rotation_doctor_checks::diagnose(&facts),
        )]
    }

    /// At every width, each word of every cell (an id, an ARN's resource,
    /// a date) is on one line of the table: none is split.
    #[test]
    fn no_word_of_a_cell_is_split_across_lines() {
        let targets = example_targets();
        let target = &targets[0];
        let _colour = colour(false);
        for width in [80, 100, 110, 120] {
            let options = TableOptions {
                width: Some(width),
                all: true,
                verbose: false,
            };
            let out = render_table(&targets, options);
            let table: Vec<&str> = out.lines().filter(|l| l.starts_with('│')).collect();
            for finding in &target.findings {
                let resource: Vec<String> = finding
                    .resource
                    .split(", ")
                    .map(|id| target.label(id))
                    .collect();
                let longest = if width < 100 {
                    LONGEST_WORD
                } else {
                    RESOURCE_COLUMN
                };
                let texts = [
                    cell_text(&finding.message, &target.names),
                    fitted_text(&resource.join(", "), &target.names, longest),
                ];
                for word in texts.iter().flat_map(|t| t.split_whitespace()) {
                    assert!(
                        table.iter().any(|line| line.contains(word)),
                        "{word:?} is split at width {width}:\n{out}"
                    );
                }
            }
        }
    }

    #[test]
    fn named_ids_are_shortened_and_arns_show_their_resource() {
        let names = BTreeMap::from([("sg-80c3850805bba7188".to_string(), "lab-db-sg".to_string())]);
        assert_eq!(
            cell_text(
                "group sg-80c3850805bba7188 (lab-db-sg) of arn:aws:lambda:us-east-1:123456789012:function:f, sg-1234567890abcdef0",
                &names
            ),
            "group sg-80c3… (lab-db-sg) of function:f, sg-1234567890abcdef0"
        );
        assert_eq!(cut_middle("abcdefghij", 5), "ab…ij");
        assert_eq!(cut_middle("abc", 5), "abc");
    }

    #[test]
    fn by_default_the_table_lists_what_needs_action_and_counts_the_rest() {
        let targets = example_targets();
        let _colour = colour(false);
        let short = render_table(&targets, TableOptions::default());
        assert!(
            targets[0].count(Status::Pass) > 10,
            "the example passes most checks"
        );
        let all = render_table(
            &targets,
            TableOptions {
                all: true,
                ..Default::default()
            },
        );
        assert!(
            short.contains(&format!(
                "{} passed, {} skipped: not listed",
                targets[0].count(Status::Pass),
                targets[0].count(Status::Skipped)
            )),
            "{short}"
        );
        assert!(!short.contains("│ PASS"), "{short}");
        assert!(all.contains("│ PASS"), "{all}");
        assert!(!short.contains("Network paths") && all.contains("Network paths"));
        // The verdict comes before the table.
        let verdict = short.find("Verdict: rotation fails because").unwrap();
        assert!(verdict < short.find('┌').unwrap());
    }

    #[test]
    fn verbose_shows_the_blocked_hop_under_the_path() {
        let targets = example_targets();
        let _colour = colour(false);
        let out = render_table(
            &targets,
            TableOptions {
                verbose: true,
                ..Default::default()
            },
        );
        assert!(
            out.contains("└─") || out.contains("├─"),
            "a hop tree under NET002's paths:\n{out}"
        );
        assert!(out.contains(
            "├─ security group ingress sg-80c3850805bba7188 (lab-db-sg) ✗ BLOCKED: sg-80c3850805bba7188 (lab-db-sg) admits no tcp/3306"
        ), "{out}");
    }

    #[test]
    fn coloured_table_lines_have_one_width() {
        let targets = example_targets();
        let _colour = colour(true);
        for width in [80, 120, 200] {
            let options = TableOptions {
                width: Some(width),
                all: true,
                verbose: true,
            };
            let out = render_table(&targets, options);
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
