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
    /// The rotation steps a failure of this check makes fail: the first one
    /// that needs what the check looks at (an uninvokable function fails at
    /// createSecret, an unreachable database at setSecret). Empty for checks
    /// about the rotation as a whole or about its evidence.
    pub breaks_steps: &'static [RotationStep],
    /// Which other failures can explain a failure of this check; the verdict
    /// groups it under them as a consequence, not a cause of its own.
    pub explained_by: ExplainedBy,
    /// Markdown with the sections: What it checks, Why it breaks rotation,
    /// How to fix it, References.
    pub docs: &'static str,
}

/// The four steps Secrets Manager invokes a rotation function with, in
/// order (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RotationStep {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl RotationStep {
    pub const ALL: [RotationStep; 4] = [
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ];

    /// The name the function receives as `Step` and writes in its logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationStep::CreateSecret => "createSecret",
            RotationStep::SetSecret => "setSecret",
            RotationStep::TestSecret => "testSecret",
            RotationStep::FinishSecret => "finishSecret",
        }
    }

    pub fn parse(name: &str) -> Option<RotationStep> {
        RotationStep::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// What a failure of a check can be the consequence of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainedBy {
    /// Nothing else: a failure is a cause in itself.
    Nothing,
    /// A failure of one of these checks (by id).
    Checks(&'static [&'static str]),
    /// Any failure that breaks a rotation step (a check with
    /// `breaks_steps`): a stuck AWSPENDING version, errors in the logs, a
    /// RotationFailed event follow from whatever made the step fail.
    AnyBrokenStep,
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
            location: None,
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
