//! JUnit XML for CI systems that read test reports: one test suite per
//! secret, one test case per finding. `fail` is a failure, `unknown` an
//! error (the check could not run), `skipped` skipped; `warn` passes with
//! its message in system-out. A finding the team accepted (a suppression or
//! the baseline) is skipped with the reason, as it does not fail the run.

use std::sync::Arc;

use rotation_doctor_checks::{Finding, Status};

use super::Target;

/// How a finding reads in JUnit: the element its test case holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Failure,
    Error,
    Skipped,
    Passed,
}

fn case(finding: &Finding) -> Case {
    match (finding.status, &finding.suppressed) {
        (Status::Skipped, _) | (Status::Fail | Status::Unknown, Some(_)) => Case::Skipped,
        (Status::Fail, None) => Case::Failure,
        (Status::Unknown, None) => Case::Error,
        (Status::Warn | Status::Pass, _) => Case::Passed,
    }
}

fn count<'a>(findings: impl IntoIterator<Item = &'a Arc<Finding>>, wanted: Case) -> usize {
    findings.into_iter().filter(|f| case(f) == wanted).count()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

pub fn render_junit(targets: &[Target]) -> String {
    let all = || targets.iter().flat_map(|t| &t.findings);
    let total = all().count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"rotation-doctor\" tests=\"{total}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n",
        count(all(), Case::Failure),
        count(all(), Case::Error),
        count(all(), Case::Skipped)
    ));
    for target in targets {
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" timestamp=\"{}\">\n",
            escape(&target.qualified_name()),
            target.findings.len(),
            count(&target.findings, Case::Failure),
            count(&target.findings, Case::Error),
            count(&target.findings, Case::Skipped),
            target.collected_at.format("%Y-%m-%dT%H:%M:%S")
        ));
        for finding in &target.findings {
            out.push_str(&format!(
                "    <testcase classname=\"rotation-doctor.{}\" name=\"{} {}\">\n",
                escape(&target.secret.name),
                escape(&finding.check),
                escape(&finding.title)
            ));
            let body = escape(
                &finding
                    .evidence
                    .iter()
                    .chain(std::iter::once(&finding.remediation))
                    .filter(|l| !l.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            let message = escape(&finding.message);
            match case(finding) {
                Case::Failure => out.push_str(&format!(
                    "      <failure message=\"{message}\" type=\"{}\">{body}</failure>\n",
                    finding.severity.as_str()
                )),
                Case::Error => out.push_str(&format!(
                    "      <error message=\"{message}\" type=\"unknown\"></error>\n"
                )),
                Case::Skipped => {
                    let why = match &finding.suppressed {
                        Some(reason) => format!("accepted ({}): {message}", escape(reason)),
                        None => message,
                    };
                    out.push_str(&format!("      <skipped message=\"{why}\"/>\n"))
                }
                Case::Passed if finding.status == Status::Warn => out.push_str(&format!(
                    "      <system-out>warning: {message}\n{body}</system-out>\n"
                )),
                Case::Passed => {}
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(escape("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot; ");
    }
}
