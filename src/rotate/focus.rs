//! After a rotation failed at a known step: the part of the diagnosis that
//! bears on that step, chosen by each check's `breaks_steps`.

use rotation_doctor_checks::{rules, ExplainedBy, Finding, RotationStep, Status};

/// What a step needs, in words, for the heading of the diagnosis.
pub fn needs(step: RotationStep) -> &'static str {
    match step {
        RotationStep::CreateSecret | RotationStep::FinishSecret => {
            "the Secrets Manager endpoint and permissions"
        }
        RotationStep::SetSecret | RotationStep::TestSecret => "the database path and credentials",
    }
}

/// The findings of the checks whose failure breaks `step`, whatever their
/// status (a pass rules a cause out), and the failures and unknowns of the
/// checks about the rotation as a whole (no `breaks_steps`, such as ROT001
/// "rotation disabled", which fails every step). Checks explained by any
/// broken step (LOG001, ROT002, ROT003, TRL001) are left out: they report
/// the failure itself (its log lines, its stuck AWSPENDING, its CloudTrail
/// event), which the trace has just shown.
pub fn findings_for_step<F: std::borrow::Borrow<Finding>>(
    findings: Vec<F>,
    step: RotationStep,
) -> Vec<F> {
    findings
        .into_iter()
        .filter(|finding| {
            let finding: &Finding = finding.borrow();
            let Some(check) = rules::find(&finding.check) else {
                return true;
            };
            let meta = check.meta();
            if meta.breaks_steps.contains(&step) {
                return true;
            }
            meta.breaks_steps.is_empty()
                && meta.explained_by != ExplainedBy::AnyBrokenStep
                && matches!(finding.status, Status::Fail | Status::Unknown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_doctor_checks::Severity;

    fn finding(check: &str, status: Status) -> Finding {
        Finding {
            check: check.to_string(),
            title: String::new(),
            status,
            severity: Severity::High,
            resource: String::new(),
            message: String::new(),
            evidence: Vec::new(),
            remediation: String::new(),
            fixes: Vec::new(),
            suppressed: None,
            location: None,
        }
    }

    fn kept(step: RotationStep, findings: &[(&str, Status)]) -> Vec<String> {
        let findings = findings.iter().map(|(c, s)| finding(c, *s)).collect();
        findings_for_step(findings, step)
            .into_iter()
            .map(|f| f.check)
            .collect()
    }

    #[test]
    fn set_secret_keeps_the_database_path_and_drops_the_invoke_permission() {
        let all = [
            ("NET002", Status::Fail),
            ("NET001", Status::Pass),
            ("LAM006", Status::Fail),
            ("LOG001", Status::Fail),
            ("ROT002", Status::Fail),
            ("ROT001", Status::Fail),
            ("MGD001", Status::Skipped),
        ];
        assert_eq!(
            kept(RotationStep::SetSecret, &all),
            vec!["NET002", "NET001", "ROT001"]
        );
        assert_eq!(
            kept(RotationStep::CreateSecret, &all),
            vec!["LAM006", "ROT001"]
        );
    }

    #[test]
    fn every_step_keeps_the_checks_that_break_it_per_the_registry() {
        for step in RotationStep::ALL {
            let all: Vec<(&str, Status)> = rules::ALL
                .iter()
                .map(|c| (c.meta().id, Status::Pass))
                .collect();
            let expected: Vec<&str> = rules::ALL
                .iter()
                .map(|c| c.meta())
                .filter(|m| m.breaks_steps.contains(&step))
                .map(|m| m.id)
                .collect();
            assert!(!expected.is_empty(), "{step:?}");
            assert_eq!(kept(step, &all), expected, "{step:?}");
        }
    }
}
