//! `--fix`: choose a plan per failing finding, show it, ask, apply each
//! action (`crate::actions` re-checks and makes the change) in dependency
//! order, journal it, then diagnose again and show each finding before and
//! after. `undo` reverses a journal.

use std::borrow::Borrow;

pub mod journal;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use rotation_doctor_checks::fix::{FixAction, FixPlan, Safety};
use rotation_doctor_checks::names::label_ids_in;
use rotation_doctor_checks::{Finding, Status};
use serde::{Deserialize, Serialize};

use crate::actions;
use crate::collect::Clients;
use crate::error::UserError;
use journal::{Entry, Journal, Outcome};

/// One action of the chosen plans, with where it came from.
#[derive(Debug, Serialize, Deserialize)]
pub struct Step {
    pub check: String,
    pub plan: String,
    pub rationale: String,
    pub safety: Safety,
    pub description: String,
    pub iam_actions: Vec<String>,
    pub action: FixAction,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NotChosen {
    pub check: String,
    pub plan: String,
    pub safety: Safety,
    pub why_not: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Manual {
    pub check: String,
    pub message: String,
    pub remediation: String,
}

/// What `--fix` will do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub not_chosen: Vec<NotChosen>,
    pub manual: Vec<Manual>,
}

/// A plan saved by `diagnose --dry-run --output json`, for `apply`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub schema_version: u32,
    pub secret_id: String,
    pub region: String,
    pub plan: Plan,
    /// The names of the subnets and security groups the plan changes, so
    /// that `apply` shows them as `diagnose` did.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, String>,
}

impl PlanFile {
    pub fn load(path: &Path) -> Result<PlanFile, UserError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| UserError::new(format!("cannot read plan {shown}: {e}")))?;
        let file: PlanFile = serde_json::from_str(&text).map_err(|e| {
            UserError::new(format!(
                "{shown} is not a rotation-doctor plan (save one with diagnose --dry-run --output json): {e}"
            ))
        })?;
        if file.schema_version > crate::report::REPORT_SCHEMA_VERSION {
            return Err(UserError::new(format!(
                "plan {shown} has schema version {}, newer than this rotation-doctor reads",
                file.schema_version
            )));
        }
        Ok(file)
    }
}

/// Apply order: open the network first, then grant, then build, then move
/// the function, and clear a stuck rotation last, once the rest is in place.
fn order(action: &FixAction) -> u8 {
    match action {
        FixAction::AuthorizeIngressFromGroup { .. } | FixAction::AuthorizeEgress { .. } => 0,
        FixAction::AddInvokePermission { .. } | FixAction::PutRolePolicy { .. } => 1,
        FixAction::CreateInterfaceEndpoint { .. } => 2,
        FixAction::UpdateLambdaVpc { .. } | FixAction::SetLambdaEnvironment { .. } => 3,
        FixAction::RemovePendingLabel { .. } => 4,
    }
}

/// For each failing finding, its first plan the flags allow (checks list
/// their plans in order of preference).
pub fn choose<F: Borrow<Finding>>(findings: &[F], unsafe_fixes: bool) -> Plan {
    let allowed = |plan: &FixPlan| unsafe_fixes || plan.safety() == Safety::Safe;
    let mut plan = Plan {
        steps: Vec::new(),
        not_chosen: Vec::new(),
        manual: Vec::new(),
    };
    // An accepted (suppressed) failure is the team's call: not fixed.
    for finding in findings
        .iter()
        .map(Borrow::borrow)
        .filter(|f: &&Finding| f.status == Status::Fail && f.suppressed.is_none())
    {
        let Some(chosen) = finding.fixes.iter().find(|p| allowed(p)) else {
            if finding.fixes.is_empty() {
                plan.manual.push(Manual {
                    check: finding.check.clone(),
                    message: finding.message.clone(),
                    remediation: finding.remediation.clone(),
                });
            }
            for other in &finding.fixes {
                plan.not_chosen.push(NotChosen {
                    check: finding.check.clone(),
                    plan: other.summary.clone(),
                    safety: other.safety(),
                    why_not: "unsafe: pass --unsafe-fixes to apply it".to_string(),
                });
            }
            continue;
        };
        for other in finding.fixes.iter().filter(|p| *p != chosen) {
            let preferred = finding.fixes.iter().position(|p| p == other)
                < finding.fixes.iter().position(|p| p == chosen);
            plan.not_chosen.push(NotChosen {
                check: finding.check.clone(),
                plan: other.summary.clone(),
                safety: other.safety(),
                why_not: if preferred {
                    "preferred, but unsafe: pass --unsafe-fixes to apply it instead".to_string()
                } else {
                    format!("an alternative to \"{}\"", chosen.summary)
                },
            });
        }
        for action in &chosen.actions {
            // Two findings may propose the same change; it is made once.
            if plan.steps.iter().any(|s| s.action == *action) {
                continue;
            }
            plan.steps.push(Step {
                check: finding.check.clone(),
                plan: chosen.summary.clone(),
                rationale: chosen.rationale.clone(),
                safety: action.safety(),
                description: action.describe(),
                iam_actions: action.iam_actions().iter().map(|a| a.to_string()).collect(),
                action: action.clone(),
            });
        }
    }
    plan.steps.sort_by_key(|s| order(&s.action));
    plan
}

/// The plan for a person: `names` puts names beside the ids in its prose.
pub fn render_plan(plan: &Plan, secret: &str, names: &BTreeMap<String, String>) -> String {
    let named = |text: &str| label_ids_in(text, names);
    let mut out = String::new();
    if plan.steps.is_empty() {
        out.push_str(&format!("Nothing to fix automatically for {secret}.\n"));
    } else {
        out.push_str(&format!(
            "Fix plan for {secret}: {} change(s)\n",
            plan.steps.len()
        ));
    }
    for (number, step) in plan.steps.iter().enumerate() {
        out.push_str(&format!(
            "  {}. [{}] {}\n     for {}: {}\n     why: {}\n     needs: {}\n",
            number + 1,
            step.safety.as_str(),
            named(&step.description),
            step.check,
            named(&step.plan),
            named(&step.rationale),
            step.iam_actions.join(", ")
        ));
    }
    for other in &plan.not_chosen {
        out.push_str(&format!(
            "  not applied ({}): {} [{}] — {}\n",
            other.check,
            named(&other.plan),
            other.safety.as_str(),
            other.why_not
        ));
    }
    for manual in &plan.manual {
        out.push_str(&format!(
            "  manual ({}): {}\n",
            manual.check,
            named(&manual.message)
        ));
    }
    out
}

/// Asks on a terminal; refuses without one unless `--yes` was given.
pub fn consent(yes: bool, count: usize) -> Result<bool, UserError> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(UserError::new(
            "refusing to change anything without a terminal to confirm on: pass --yes to apply the plan, or --dry-run to only show it",
        ));
    }
    eprint!("Apply these {count} change(s)? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| UserError::new(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Applies the steps in order, saving the journal after each one.
pub async fn apply_plan(
    clients: &Clients,
    plan: &Plan,
    journal: &mut Journal,
    path: &Path,
    log: &mut dyn Write,
) -> Result<(), UserError> {
    journal.save(path)?;
    for step in &plan.steps {
        let result = actions::apply(clients, &step.action).await;
        let _ = writeln!(log, "  {}: {}", result.outcome.as_str(), result.detail);
        journal.entries.push(Entry {
            check: step.check.clone(),
            action: step.action.clone(),
            outcome: result.outcome,
            detail: result.detail,
            undo: result.undo,
            undone: false,
        });
        journal.save(path)?;
    }
    Ok(())
}

/// Reverses what a journal applied, newest first, marking each entry.
pub async fn undo_journal(
    clients: &Clients,
    journal: &mut Journal,
    path: &Path,
    log: &mut dyn Write,
) -> Result<bool, UserError> {
    let mut clean = true;
    for index in (0..journal.entries.len()).rev() {
        let entry = &journal.entries[index];
        let Some(undo) = entry.undo.clone() else {
            continue;
        };
        if entry.undone || entry.outcome != Outcome::Applied {
            continue;
        }
        let result = actions::undo(clients, &undo).await;
        let _ = writeln!(log, "  {}: {}", result.outcome.as_str(), result.detail);
        match result.outcome {
            Outcome::Applied | Outcome::AlreadyDone => journal.entries[index].undone = true,
            Outcome::Stopped | Outcome::Failed => clean = false,
        }
        journal.save(path)?;
    }
    Ok(clean)
}

/// Each finding before and after, paired by check and resource.
pub fn render_changes<B: Borrow<Finding>, A: Borrow<Finding>>(before: &[B], after: &[A]) -> String {
    let after: Vec<&Finding> = after.iter().map(Borrow::borrow).collect();
    let mut out = String::from("Before → after:\n");
    for finding in before.iter().map(Borrow::borrow) {
        let now = after
            .iter()
            .copied()
            .find(|f| f.check == finding.check && f.resource == finding.resource)
            .or_else(|| after.iter().copied().find(|f| f.check == finding.check));
        let status = now.map_or("gone", |f| f.status.as_str());
        let mark = if status == finding.status.as_str() {
            " "
        } else {
            "*"
        };
        out.push_str(&format!(
            " {mark} {} {} → {}{}\n",
            finding.check,
            finding.status.as_str(),
            status,
            now.filter(|f| f.status != finding.status)
                .map(|f| format!(": {}", f.message))
                .unwrap_or_default()
        ));
    }
    out
}
