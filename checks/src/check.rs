//! The contract every check implements, and the metadata a user sees.

use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

/// What a check is, next to its code: `rotation-doctor checks` lists these
/// and `rotation-doctor explain ID` prints `docs`.
#[derive(Debug)]
pub struct CheckMeta {
    /// Stable, never reused: a category prefix and a number (ruff-style codes
    /// such as `S113`, see https://docs.astral.sh/ruff/rules/).
    pub id: &'static str,
    /// Kebab-case name of the problem.
    pub name: &'static str,
    /// One line.
    pub title: &'static str,
    /// The severity of a failure of this check.
    pub severity: Severity,
    /// Whether a failure can carry a fix plan for `--fix`; its docs then say
    /// what `--fix` does and whether that is a safe or an unsafe fix.
    pub can_fix: bool,
    /// Whether the check only adds evidence (logs, CloudTrail) rather than
    /// deciding whether rotation can work. When such a check is `unknown`
    /// the exit code does not change; for every other check it does.
    pub optional_evidence: bool,
    /// Markdown with the sections: What it checks, Why it breaks rotation,
    /// How to fix it, References.
    pub docs: &'static str,
}

/// A check is a pure function of the facts and the network paths the
/// engine evaluated once for them (`diagnosis::diagnose`): no I/O, no clock
/// but `Facts::collected_at`.
pub trait Check: Sync {
    fn meta(&self) -> &'static CheckMeta;
    fn evaluate(&self, facts: &Facts, paths: &NetworkPaths) -> Vec<Finding>;

    /// Facts on which the check fails or warns, and facts on which it
    /// passes; the registry's tests run every check on its own pair.
    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts);
}

impl CheckMeta {
    /// A finding of this check, with its title and severity.
    pub fn finding(
        &self,
        status: Status,
        resource: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            check: self.id.to_string(),
            title: self.title.to_string(),
            status,
            severity: self.severity,
            resource: resource.into(),
            message: message.into(),
            evidence: Vec::new(),
            remediation: String::new(),
            fixes: Vec::new(),
            suppressed: None,
        }
    }
}

impl Finding {
    pub fn with_evidence(mut self, evidence: impl IntoIterator<Item = String>) -> Finding {
        self.evidence.extend(evidence);
        self
    }

    pub fn with_remediation(mut self, remediation: impl Into<String>) -> Finding {
        self.remediation = remediation.into();
        self
    }

    pub fn with_fix(mut self, plan: crate::fix::FixPlan) -> Finding {
        self.fixes.push(plan);
        self
    }

    pub fn with_fixes(mut self, plans: Vec<crate::fix::FixPlan>) -> Finding {
        self.fixes.extend(plans);
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}
