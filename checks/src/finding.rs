//! What a check says about one resource.

use serde::{Deserialize, Serialize};

/// Outcome of one check on one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// This breaks, or will break, rotation.
    Fail,
    /// A risk or hygiene problem; rotation can still work.
    Warn,
    /// Could not be decided; the message says which fact is missing and why.
    Unknown,
    Pass,
    /// Does not apply to this secret.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Unknown => "unknown",
            Status::Pass => "pass",
            Status::Skipped => "skipped",
        }
    }
}

/// How bad a failure of this check is. Ordered from the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }

    /// True when `self` is as severe as `threshold` or more.
    pub fn at_least(self, threshold: Severity) -> bool {
        self <= threshold
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The stable check id, e.g. `NET002`.
    pub check: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    /// The resource the finding is about: an id or an ARN.
    pub resource: String,
    /// One line that says what was found.
    pub message: String,
    /// The rules, routes or log lines that decided it.
    pub evidence: Vec<String>,
    /// What to change, in words; empty when there is nothing to do.
    pub remediation: String,
    /// Plans `--fix` can apply, the preferred one first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<crate::fix::FixPlan>,
    /// Why this finding is accepted (a suppression or the baseline): it is
    /// still reported, but no longer fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
    /// Where in a template the resource to change is written
    /// (`rotation-doctor template`); `None` for a live diagnosis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A line of a template file and the resource written there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The file, as given on the command line.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// The resource's logical id.
    pub logical_id: String,
}
