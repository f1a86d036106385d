//! The verdict: the root cause of a failed rotation in a sentence, the one
//! fix to apply, and the findings that follow from it. Derived from the
//! checks' metadata (`CheckMeta::explained_by`, `breaks_steps`), never
//! written per case: a stuck AWSPENDING version, failed logins in the logs
//! and a RotationFailed event are consequences of whatever broke a step.

use serde::{Deserialize, Serialize};

use crate::check::{CheckMeta, ExplainedBy};
use crate::finding::{Finding, Status};
use crate::fix::Safety;
use crate::rules;

/// What the findings of one secret amount to. (`Default` is the empty
/// verdict a report of an earlier version has; `conclude` makes the real one.)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// One sentence for a person.
    pub summary: String,
    /// Failures nothing else explains, the most severe first.
    pub root_causes: Vec<RootCause>,
    /// Checks that could not decide whether rotation can work (they change
    /// the exit code unless `--allow-unknown`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undecided: Vec<String>,
    /// Warnings: risks that do not stop rotation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    pub check: String,
    pub title: String,
    pub resource: String,
    /// The finding's message.
    pub message: String,
    /// The fix to apply: the finding's preferred plan, or its remediation's
    /// first line when `--fix` has no plan for it.
    pub fix: Option<String>,
    /// `safe` or `unsafe` when `--fix` can apply `fix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_safety: Option<Safety>,
    /// Failures that follow from this one, by check id, each with its message.
    pub consequences: Vec<Consequence>,
    /// What to do after the fix, from the consequences' own plans (clear a
    /// stuck AWSPENDING label), then rotating again.
    pub then: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Consequence {
    pub check: String,
    pub title: String,
    pub message: String,
}

fn meta(finding: &Finding) -> Option<&'static CheckMeta> {
    rules::find(&finding.check).map(|c| c.meta())
}

/// Whether a failure of `cause` can explain a failure of `effect`.
fn explains(cause: &Finding, effect: &Finding) -> bool {
    let (Some(cause_meta), Some(effect_meta)) = (meta(cause), meta(effect)) else {
        return false;
    };
    if cause.check == effect.check {
        return false;
    }
    match effect_meta.explained_by {
        ExplainedBy::Nothing => false,
        ExplainedBy::Checks(ids) => ids.contains(&cause_meta.id),
        ExplainedBy::AnyBrokenStep => !cause_meta.breaks_steps.is_empty(),
    }
}

/// A failure that counts: failing, and not accepted by a suppression.
fn counts(finding: &Finding) -> bool {
    finding.status == Status::Fail && finding.suppressed.is_none()
}

/// The root a failure traces back to: follows what explains it until a
/// failure nothing explains (the metadata has no cycles: a registry test
/// holds that).
fn root_of(index: usize, failures: &[&Finding]) -> usize {
    let mut current = index;
    for _ in 0..failures.len() {
        match (0..failures.len()).find(|&i| explains(failures[i], failures[current])) {
            Some(cause) => current = cause,
            None => break,
        }
    }
    current
}

/// The verdict of one secret's findings (in registry order, as
/// `diagnose` returns them; owned, or shared as a report shares them).
pub fn conclude<F: std::borrow::Borrow<Finding>>(findings: &[F]) -> Verdict {
    let findings: Vec<&Finding> = findings.iter().map(|f| f.borrow()).collect();
    let mut failures: Vec<&Finding> = findings.iter().copied().filter(|f| counts(f)).collect();
    // Most severe first; the registry's order breaks ties.
    failures.sort_by_key(|f| f.severity);
    let roots: Vec<usize> = (0..failures.len())
        .filter(|&i| root_of(i, &failures) == i)
        .collect();
    let root_causes: Vec<RootCause> = roots
        .iter()
        .map(|&root| {
            let finding = failures[root];
            let consequences: Vec<&Finding> = (0..failures.len())
                .filter(|&i| i != root && root_of(i, &failures) == root)
                .map(|i| failures[i])
                .collect();
            let plan = finding.fixes.first();
            let then = consequences
                .iter()
                .filter_map(|c| c.fixes.first())
                .map(|plan| plan.summary.clone())
                .chain(std::iter::once("rotate again".to_string()))
                .collect();
            RootCause {
                check: finding.check.clone(),
                title: finding.title.clone(),
                resource: finding.resource.clone(),
                message: finding.message.clone(),
                fix: plan.map(|p| p.summary.clone()).or_else(|| {
                    finding
                        .remediation
                        .lines()
                        .next()
                        .filter(|l| !l.is_empty())
                        .map(str::to_string)
                }),
                fix_safety: plan.map(|p| p.safety()),
                consequences: consequences
                    .into_iter()
                    .map(|c| Consequence {
                        check: c.check.clone(),
                        title: c.title.clone(),
                        message: c.message.clone(),
                    })
                    .collect(),
                then,
            }
        })
        .collect();
    let ids = |status: Status, deciding_only: bool| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f.status == status && f.suppressed.is_none())
            .filter(|f| !deciding_only || meta(f).is_some_and(|m| !m.optional_evidence))
            .map(|f| f.check.clone())
            .collect()
    };
    let undecided = ids(Status::Unknown, true);
    let warnings = ids(Status::Warn, false);
    Verdict {
        summary: summary(&root_causes, &undecided, &warnings),
        root_causes,
        undecided,
        warnings,
    }
}

/// A failure that only shows that a step broke (a stuck version, log
/// errors, a RotationFailed event), not what broke it.
fn is_symptom(root: &RootCause) -> bool {
    rules::find(&root.check).is_some_and(|c| c.meta().explained_by == ExplainedBy::AnyBrokenStep)
}

fn summary(roots: &[RootCause], undecided: &[String], warnings: &[String]) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            one.to_string()
        } else {
            format!("{n} {many}")
        }
    };
    match roots {
        [] if !undecided.is_empty() => format!(
            "no check found a cause, but {} could not decide ({}): see why below",
            plural(undecided.len(), "one check", "checks"),
            undecided.join(", ")
        ),
        [] if !warnings.is_empty() => format!(
            "nothing stops rotation; {} ({})",
            plural(warnings.len(), "one warning", "warnings"),
            warnings.join(", ")
        ),
        [] => "nothing stops rotation: every check passed or does not apply".to_string(),
        _ if roots.iter().all(is_symptom) => format!(
            "rotation failed, but no check found why in the configuration: {}; the evidence below says what the function met",
            roots
                .iter()
                .map(|r| r.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        [root] => format!("rotation fails because {}", root.message),
        [root, rest @ ..] => format!(
            "rotation fails because {}; {} also stop{} it ({})",
            root.message,
            plural(rest.len(), "one more cause", "more causes"),
            if rest.len() == 1 { "s" } else { "" },
            rest.iter()
                .map(|r| r.check.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::diagnose;
    use crate::fixtures::{lab, lab_moved};

    /// The bundled example: the lab's failed rotation as recorded.
    fn example() -> crate::Facts {
        let bytes = include_bytes!("../../examples/lab-failed-rotation.json");
        crate::snapshot::parse(bytes, "the example").unwrap()
    }

    /// The fixture's findings without its second cause (the fixture's
    /// Lambda has no resource policy, which LAM006 fails).
    fn lab_findings(facts: &crate::Facts) -> Vec<Finding> {
        let mut findings = diagnose(facts).findings;
        findings.retain(|f| f.check != "LAM006");
        findings
    }

    fn ids(consequences: &[Consequence]) -> Vec<&str> {
        consequences.iter().map(|c| c.check.as_str()).collect()
    }

    #[test]
    fn the_lab_has_one_root_cause_and_its_consequences() {
        let diagnosis = diagnose(&example());
        let verdict = &diagnosis.verdict;
        assert_eq!(verdict.root_causes.len(), 1, "{verdict:#?}");
        let root = &verdict.root_causes[0];
        assert_eq!(root.check, "NET002");
        assert!(
            verdict.summary.starts_with(
                "rotation fails because security group sg-80c3850805bba7188 (lab-db-sg) does not admit tcp/3306"
            ),
            "{}",
            verdict.summary
        );
        assert!(verdict
            .summary
            .contains("only from sg-b9eba2562f3047d4b (lab-lambda-sg)"));
        assert_eq!(verdict.warnings, ["LAM006"]);
        assert!(
            root.fix.as_deref().unwrap().contains("move the Lambda"),
            "{root:?}"
        );
        assert_eq!(root.fix_safety, Some(Safety::Unsafe));
        // The stuck version and the failed logins follow from it.
        let consequences = ids(&root.consequences);
        assert_eq!(consequences, ["ROT002", "LOG001", "TRL001"]);
        assert!(
            root.then.iter().any(|t| t.contains("AWSPENDING")),
            "{:?}",
            root.then
        );
        assert_eq!(root.then.last().map(String::as_str), Some("rotate again"));
    }

    #[test]
    fn a_consequence_without_its_cause_is_a_root_cause() {
        // Failed logins with a reachable database: the credentials are wrong,
        // and LOG001 is all there is to say.
        let findings = lab_findings(&lab_moved());
        let log = findings.iter().find(|f| f.check == "LOG001").unwrap();
        assert_eq!(log.status, Status::Fail, "the fixture keeps its log lines");
        let verdict = conclude(&findings);
        let roots: Vec<&str> = verdict
            .root_causes
            .iter()
            .map(|r| r.check.as_str())
            .collect();
        assert_eq!(roots, ["ROT002", "LOG001"]);
        assert!(
            verdict
                .summary
                .starts_with("rotation failed, but no check found why in the configuration: "),
            "{}",
            verdict.summary
        );
    }

    #[test]
    fn the_cause_of_a_cause_is_the_root() {
        // NET001 explains NET002, which would explain LOG001: LOG001 goes
        // under NET001, the root.
        let mut findings = lab_findings(&lab());
        for f in findings.iter_mut().filter(|f| f.check == "NET001") {
            f.status = Status::Fail;
        }
        let verdict = conclude(&findings);
        let roots: Vec<&str> = verdict
            .root_causes
            .iter()
            .map(|r| r.check.as_str())
            .collect();
        assert_eq!(roots, ["NET001"], "{verdict:#?}");
        let consequences = ids(&verdict.root_causes[0].consequences);
        for id in ["NET002", "ROT002", "LOG001"] {
            assert!(consequences.contains(&id), "{id} in {consequences:?}");
        }
    }

    #[test]
    fn accepted_failures_are_no_cause() {
        let mut findings = lab_findings(&lab());
        for f in findings.iter_mut().filter(|f| f.check == "NET002") {
            f.suppressed = Some("known".into());
        }
        let roots: Vec<String> = conclude(&findings)
            .root_causes
            .into_iter()
            .map(|r| r.check)
            .collect();
        assert!(!roots.contains(&"NET002".to_string()), "{roots:?}");
    }

    #[test]
    fn without_failures_it_says_what_could_not_be_decided_or_that_nothing_stops_rotation() {
        let mut findings = lab_findings(&lab_moved());
        for f in findings.iter_mut().filter(|f| f.status == Status::Fail) {
            f.status = Status::Pass;
        }
        let clean = conclude(&findings);
        assert!(clean.root_causes.is_empty());
        assert!(
            clean.summary.starts_with("nothing stops rotation"),
            "{}",
            clean.summary
        );
        for f in findings.iter_mut().filter(|f| f.check == "NET002") {
            f.status = Status::Unknown;
        }
        let undecided = conclude(&findings);
        assert_eq!(undecided.undecided, ["NET002"]);
        assert!(
            undecided.summary.contains("could not decide (NET002)"),
            "{}",
            undecided.summary
        );
    }
}
