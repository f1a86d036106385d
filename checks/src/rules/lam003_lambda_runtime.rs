//! LAM003: the rotation Lambda's runtime is not deprecated.

use chrono::NaiveDate;

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::Facts;
use crate::finding::{Finding, Severity, Status};

pub struct LambdaRuntime;

/// Deprecation dates (YYYY, MM, DD) of Lambda's managed runtimes, from the
/// "Lambda runtimes" page of the Lambda developer guide
/// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), as
/// also carried by tflint-ruleset-aws (PR #969 moved python3.9 to
/// 2025-12-15) and AWS's deprecation notices (python3.8: "We are ending
/// support for Python 3.8 in Lambda on October 14, 2024"). The AL2-based
/// python3.10/3.11 date (2026-06-30) and python3.12/3.13 dates also appear
/// on AWS's AgentCore runtime page, which follows the same policy. Only
/// runtimes the rotation templates could plausibly use (Python, Node.js)
/// are listed; the templates are Python.
const DEPRECATIONS: &[(&str, (i32, u32, u32))] = &[
    ("python2.7", (2021, 7, 15)),
    ("python3.6", (2022, 7, 18)),
    ("python3.7", (2023, 12, 4)),
    ("python3.8", (2024, 10, 14)),
    ("python3.9", (2025, 12, 15)),
    ("python3.10", (2026, 6, 30)),
    ("python3.11", (2026, 6, 30)),
    ("python3.12", (2028, 10, 31)),
    ("python3.13", (2029, 6, 30)),
    ("nodejs8.10", (2020, 3, 6)),
    ("nodejs10.x", (2021, 7, 30)),
    ("nodejs12.x", (2023, 3, 31)),
    ("nodejs14.x", (2023, 12, 4)),
    ("nodejs16.x", (2024, 6, 12)),
    ("nodejs18.x", (2025, 9, 1)),
    ("nodejs20.x", (2026, 4, 30)),
    ("nodejs22.x", (2027, 4, 30)),
];

static META: CheckMeta = CheckMeta {
    id: "LAM003",
    name: "rotation-lambda-runtime",
    title: "Rotation Lambda runtime is not deprecated",
    severity: Severity::Low,
    can_fix: false,
    optional_evidence: false,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The rotation Lambda's runtime against Lambda's deprecation dates (Python
2.7 and 3.6–3.11, Node.js up to 20 as of late 2026), compared with the
time the facts were collected. Container-image functions report no
runtime and are skipped.

## Why it breaks rotation
A deprecated runtime gets no security patches, and after the later "block
update" date the function's configuration can no longer be changed, so a
network or environment fix cannot be applied to it. Runtime upgrades are
also the most common cause of `Runtime.ImportModuleError` in rotation
functions: the templates bundle compiled drivers (PyGreSQL's `_pg`,
`pymssql`, `python-oracledb`, `ibm_db`) built for one Python version, and a
function moved to another version cannot import them (LAM007 reports it
from the logs, with the app version to redeploy).

## How to fix it
Recreate the rotation function from the current template (the console's
"Create a new function" in the rotation settings, a SAR application update,
or `Transform: AWS::SecretsManager-2024-09-16`), rather than only changing
the runtime of the old package. `--fix` has no action for this check.

## References
- https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
"#,
};

fn deprecation(runtime: &str) -> Option<NaiveDate> {
    DEPRECATIONS
        .iter()
        .find(|(id, _)| *id == runtime)
        .and_then(|(_, (y, m, d))| NaiveDate::from_ymd_opt(*y, *m, *d))
}

impl Check for LambdaRuntime {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let Some(runtime) = lambda.runtime.as_deref().filter(|r| !r.is_empty()) else {
            return vec![META.finding(
                Status::Skipped,
                &lambda.arn,
                "the function reports no runtime (a container image, or a function whose runtime its template leaves to a transform): its runtime is not checked",
            )];
        };
        let today = facts.collected_at.date_naive();
        let finding = match deprecation(runtime) {
            Some(date) if date <= today => META
                .finding(
                    Status::Warn,
                    &lambda.arn,
                    format!(
                        "the rotation Lambda runs {runtime}, deprecated by Lambda since {date}: no security patches, and updates to the function will be blocked"
                    ),
                )
                .with_remediation(
                    "Recreate the rotation function from the current template (its bundled drivers match \
                     its runtime) rather than only changing the runtime of the old package.",
                ),
            Some(date) => META.finding(
                Status::Pass,
                &lambda.arn,
                format!("the rotation Lambda runs {runtime} (deprecation planned for {date})"),
            ),
            None => META.finding(
                Status::Pass,
                &lambda.arn,
                format!("the rotation Lambda runs {runtime}, which has no known deprecation date"),
            ),
        };
        vec![finding]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = {
            let mut facts = crate::fixtures::lab_moved();
            crate::fixtures::get(&mut facts.lambda).runtime = Some("python3.8".into());
            facts
        };
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::get;
    use chrono::TimeZone;

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&LambdaRuntime, facts).remove(0)
    }

    #[test]
    fn python38_warns_with_its_date() {
        let f = first(&LambdaRuntime.fixtures().0);
        assert_eq!(f.status, Status::Warn);
        assert!(f.message.contains("2024-10-14"), "{}", f.message);
    }

    #[test]
    fn the_date_is_compared_with_the_collection_time() {
        let mut facts = LambdaRuntime.fixtures().1;
        get(&mut facts.lambda).runtime = Some("python3.9".into());
        facts.collected_at = chrono::Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(first(&facts).status, Status::Pass);
        facts.collected_at = chrono::Utc.with_ymd_and_hms(2025, 12, 16, 0, 0, 0).unwrap();
        assert_eq!(first(&facts).status, Status::Warn);
    }

    #[test]
    fn current_passes_and_container_images_are_skipped() {
        assert_eq!(first(&LambdaRuntime.fixtures().1).status, Status::Pass);
        let mut facts = LambdaRuntime.fixtures().1;
        get(&mut facts.lambda).runtime = None;
        assert_eq!(first(&facts).status, Status::Skipped);
    }
}
