//! LAM007: the rotation Lambda's package loads on the runtime it runs on.

use std::collections::BTreeMap;

use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Facts, Lambda, SAR_APPLICATION_TAG, SAR_VERSION_TAG};
use crate::finding::{Finding, Severity, Status};
use crate::logs::LogCause;

pub struct PackageRuntime;

/// LOG001's cause for the lines Lambda logs when it cannot load the
/// function's code (`Runtime.ImportModuleError`, "Unable to import module
/// 'lambda_function': No module named '…'", and `Runtime.UserCodeSyntaxError`),
/// with the modules the lines name as its details
/// (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html).
const IMPORT_MODULE_CAUSE: &str = "import-module";

/// The CloudFormation tag on every resource of a stack (nested stacks
/// included): the stack that created the function.
const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";

/// How AWS's rotation templates describe their function ("Conducts an AWS
/// SecretsManager secret rotation for RDS MySQL using single user rotation
/// scheme").
const TEMPLATE_DESCRIPTION: &str = "Conducts an AWS SecretsManager secret rotation";

/// Compiled modules (top-level names, as `No module named '…'` gives them)
/// of the drivers AWS's rotation templates and hand-built rotation packages
/// bundle, with the package each belongs to. A compiled module is built for
/// one Python version: a package moved to another runtime cannot import it.
/// Sources: the templates' imports in aws-samples/aws-secrets-manager-rotation-lambdas
/// (`pg`/`pgdb` PostgreSQL and Redshift, `pymssql` SQL Server, `oracledb`
/// Oracle, `ibm_db` Db2); the logged names in that repository's issues #161
/// (`_pg`) and #120 (`pymssql._pymssql`); `_cffi_backend` in the re:Post
/// article https://repost.aws/knowledge-center/secrets-manager-lambda-rotation.
/// PyMySQL (MySQL, MariaDB) is pure Python and is not listed.
const NATIVE_MODULES: &[(&str, &str)] = &[
    ("_pg", "PyGreSQL"),
    ("pg", "PyGreSQL"),
    ("pgdb", "PyGreSQL"),
    ("pymssql", "pymssql"),
    ("_mssql", "pymssql"),
    ("oracledb", "python-oracledb"),
    ("ibm_db", "ibm_db"),
    ("_cffi_backend", "cffi (cryptography's bindings)"),
    ("cryptography", "cryptography"),
    ("psycopg2", "psycopg2"),
];

static META: CheckMeta = CheckMeta {
    id: "LAM007",
    name: "rotation-package-runtime",
    title: "Rotation Lambda's package loads on its runtime",
    severity: Severity::High,
    can_fix: false,
    optional_evidence: true,
    breaks_steps: &[RotationStep::CreateSecret],
    explained_by: ExplainedBy::Nothing,
    docs: r#"## What it checks
The rotation Lambda's log events in the window for
`Runtime.ImportModuleError` ("Unable to import module 'lambda_function':
No module named '…'") and `Runtime.UserCodeSyntaxError`, which Lambda
logs when it cannot load the function's code: the lines LOG001 counts as
`import-module` (Lambda's `INIT_REPORT` and `REPORT` lines, which repeat
the error type, are not counted again). When the missing module is a
compiled one of the drivers the rotation templates bundle (PyGreSQL's
`_pg`, `pymssql`, `python-oracledb`, `ibm_db`, cffi and cryptography,
psycopg2), the package was built for another Python version than the
function's runtime. The finding names the runtime, the module and, from
the function's tags, where the package came from:
`serverlessrepo:applicationId` and `serverlessrepo:semanticVersion` name
the Serverless Application Repository (SAR) app and the version that was
deployed, `aws:cloudformation:stack-name` the stack. A rotation
template's `Description` ("Conducts an AWS SecretsManager secret rotation
for …") says which template it is. Without such lines the check passes;
without logs it is `unknown`.

What is verified and what is not: SAM adds `serverlessrepo:applicationId`
and `serverlessrepo:semanticVersion` (and `lambda:createdBy: SAM`) to the
stack of an `AWS::Serverless::Application` from the SAR (SAM's
`AWS::Serverless::Application` reference, and
aws/serverless-application-model `samtranslator/model/__init__.py`,
`_SAR_APP_KEY`/`_SAR_SEMVER_KEY`), and CloudFormation propagates stack tags
to the stack's resources; an exported SAR rotation function shows them on
the function with `SecretsManagerLambda: Rotation`. The hosted rotation
(`HostedRotationLambda`, the `AWS::SecretsManager` transform) puts the
function in a nested `AWS::CloudFormation::Stack`, which tags it with
`aws:cloudformation:stack-name`; whether it also carries the SAR tags is
not verified, nor what the console's "Create a new function" leaves. The
SAR apps' own templates (their `Runtime`) are not in the public
repository, so which Python each version was built for is not known to
this check: it says "the Python version its package was built for". The
public record has python2.7 in 2019 (issue #18) and python3.7, then
python3.9 for new deployments (issue #120, 2023; the re:Post article).

## Why it breaks rotation
Lambda cannot load the function, so every step fails before the
function's code runs: Secrets Manager's first call, createSecret, fails
and rotation stops. It happens when the function's runtime is changed
(python3.7 → python3.9, python3.9 → python3.10 …, by hand, by a template's
`Runtime`, or to leave a deprecated runtime, see LAM003) under a package
whose compiled modules were built for the old one (issues #120 and #161
of aws-samples/aws-secrets-manager-rotation-lambdas; aws/aws-cdk#35503).
The errors LOG001 counts as "cannot be loaded" follow from this.

## How to fix it
Redeploy a package built for the runtime, rather than only change the
runtime: for a function from the SAR, update its stack to the same app at
a version built for the runtime the function should run (redeploying the
version the tags name, through its stack, sets the runtime back to the one
its package was built for); for a hosted rotation, update the stack with
the current transform (`AWS::SecretsManager-2024-09-16`) and leave
`Runtime` unset, or set it to the runtime the package was built for; from
the console, "Create a new function" in the secret's rotation settings.
As a stop-gap, set the function's runtime back to the Python version its
package was built for. `--fix` has no action for this check.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://repost.aws/knowledge-center/secrets-manager-lambda-rotation
- https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-application.html
- https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-secretsmanager.html
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/issues/120
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/issues/161
"#,
};

/// The package a compiled module of a bundled driver belongs to.
fn native_package(module: &str) -> Option<&'static str> {
    let top = module.split('.').next().unwrap_or(module);
    NATIVE_MODULES
        .iter()
        .find(|(name, _)| *name == top)
        .map(|(_, package)| *package)
}

/// Where the function's package came from, as its tags say.
struct Provenance {
    /// The SAR app's name (the last part of its ARN) and the deployed version.
    application: Option<(String, Option<String>)>,
    stack: Option<String>,
}

fn provenance(tags: Option<&BTreeMap<String, String>>) -> Provenance {
    let tag = |key: &str| {
        tags.and_then(|tags| tags.get(key))
            .filter(|v| !v.is_empty())
            .cloned()
    };
    Provenance {
        application: tag(SAR_APPLICATION_TAG).map(|id| {
            let name = id.rsplit('/').next().unwrap_or(&id).to_string();
            (name, tag(SAR_VERSION_TAG))
        }),
        stack: tag(STACK_NAME_TAG),
    }
}

/// What to redeploy, from where the package came.
fn redeploy(runtime: &str, from: &Provenance) -> String {
    let stack = from
        .stack
        .as_deref()
        .map(|s| format!(" (update the CloudFormation stack {s})"))
        .unwrap_or_default();
    match &from.application {
        Some((app, Some(version))) => format!(
            "Redeploy version {version} of the Serverless Application Repository app {app} \
             (or a later version of it built for {runtime}){stack}: the same version sets the \
             runtime back to the one its package was built for."
        ),
        Some((app, None)) => format!(
            "Redeploy the Serverless Application Repository app {app} at a version built for \
             {runtime}{stack}."
        ),
        None => format!(
            "Recreate the rotation function from the current rotation template (the secret's \
             rotation settings: Create a new function; or its template{stack}), or set its \
             runtime back to the Python version its package was built for; a hand-built \
             package must be rebuilt for {runtime}."
        ),
    }
}

impl Check for PackageRuntime {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, _paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let log_group = format!("/aws/lambda/{}", lambda.name);
        if let Some(finding) = super::support::not_deployed(&META, facts, &log_group, "logs") {
            return vec![*finding];
        }
        let logs = match super::support::readable(&META, &facts.logs, &log_group, "the logs") {
            Ok(logs) => logs,
            Err(finding) => return vec![*finding],
        };
        let runtime = lambda
            .runtime
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("its runtime");
        let causes = crate::logs::classify(&logs.events);
        let Some(failures) = causes.iter().find(|c| c.id == IMPORT_MODULE_CAUSE) else {
            return vec![META.finding(
                Status::Pass,
                &lambda.arn,
                format!(
                    "no Runtime.ImportModuleError or UserCodeSyntaxError in {} log events of the last {} h: the function's code loads on {runtime}",
                    logs.events.len(),
                    facts.log_window_hours
                ),
            )];
        };
        vec![import_failure(facts, lambda, runtime, failures)]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = tests::sar_function_failing_to_import("_pg");
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

fn import_failure(facts: &Facts, lambda: &Lambda, runtime: &str, failures: &LogCause) -> Finding {
    let from = provenance(facts.lambda_tags.present());
    // A compiled module says the most; otherwise the last module named.
    let native = failures
        .details
        .iter()
        .find_map(|m| native_package(m).map(|p| (m.as_str(), p)));
    let module = failures.details.last().map(String::as_str);
    let origin = match &from.application {
        Some((app, Some(version))) => {
            format!("; its tags say it is version {version} of the Serverless Application Repository app {app}")
        }
        Some((app, None)) => {
            format!("; its tags say it came from the Serverless Application Repository app {app}")
        }
        None => String::new(),
    };
    let message = match (native, module) {
        (Some((module, package)), _) => format!(
            "the rotation Lambda cannot load its code: it runs {runtime}, but its package's compiled module '{module}' ({package}) was built for another Python version{origin}"
        ),
        (None, Some(module)) => format!(
            "the rotation Lambda cannot load its code on {runtime}: its package has no module '{module}'{origin}"
        ),
        (None, None) => format!(
            "the rotation Lambda cannot load its code on {runtime}: {}{origin}",
            failures.example
        ),
    };
    let mut evidence = vec![format!(
        "{}× from {} to {}: {}",
        failures.count,
        super::support::iso(&failures.first),
        super::support::iso(&failures.last),
        failures.example
    )];
    evidence.push(format!("runtime: {runtime}"));
    if let Some(tags) = facts.lambda_tags.present().filter(|t| !t.is_empty()) {
        let listed: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        evidence.push(format!("tags: {}", listed.join(", ")));
    } else if let Some(why) = facts.lambda_tags.missing_reason() {
        evidence.push(format!("tags: not read ({why})"));
    }
    if let Some(description) = lambda
        .description
        .as_deref()
        .filter(|d| d.starts_with(TEMPLATE_DESCRIPTION))
    {
        evidence.push(format!(
            "description (a rotation template's): {description}"
        ));
    }
    let remediation = if native.is_some() || from.application.is_some() {
        redeploy(runtime, &from)
    } else {
        format!(
            "Build the function's package with every module it imports, for {runtime} \
             (pip install --target with the Lambda platform), or recreate it from the current \
             rotation template; check that the handler names the package's file."
        )
    };
    META.finding(Status::Fail, &lambda.arn, message)
        .with_evidence(evidence)
        .with_remediation(remediation)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fixtures::{get, lab_moved};

    const APP: &str = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser";

    /// A function from the SAR (version 1.1.37 of the PostgreSQL single
    /// user app) whose runtime was moved to python3.12, failing to import
    /// `module`.
    pub(crate) fn sar_function_failing_to_import(module: &str) -> Facts {
        let mut facts = lab_moved();
        get(&mut facts.lambda).runtime = Some("python3.12".into());
        get(&mut facts.lambda).description = Some(
            "Conducts an AWS SecretsManager secret rotation for RDS PostgreSQL using single user rotation scheme"
                .into(),
        );
        facts.lambda_tags = crate::facts::Fact::Present(BTreeMap::from([
            (SAR_APPLICATION_TAG.to_string(), APP.to_string()),
            (SAR_VERSION_TAG.to_string(), "1.1.37".to_string()),
            ("lambda:createdBy".to_string(), "SAM".to_string()),
            (
                STACK_NAME_TAG.to_string(),
                "serverlessrepo-lab-rotation".to_string(),
            ),
        ]));
        let events = &mut get(&mut facts.logs).events;
        let mut event = events[0].clone();
        event.message = format!(
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named '{module}'\nTraceback (most recent call last):"
        );
        events.push(event);
        facts
    }

    fn first(facts: &Facts) -> Finding {
        crate::rules::evaluate_alone(&PackageRuntime, facts).remove(0)
    }

    #[test]
    fn a_native_module_under_a_new_runtime_names_the_version_to_redeploy() {
        let f = first(&sar_function_failing_to_import("_pg"));
        assert_eq!(f.status, Status::Fail);
        assert!(f.message.contains("runs python3.12"), "{}", f.message);
        assert!(f.message.contains("'_pg' (PyGreSQL)"), "{}", f.message);
        assert!(
            f.message.contains("version 1.1.37 of the Serverless Application Repository app SecretsManagerRDSPostgreSQLRotationSingleUser"),
            "{}",
            f.message
        );
        assert!(
            f.remediation.starts_with(
                "Redeploy version 1.1.37 of the Serverless Application Repository app SecretsManagerRDSPostgreSQLRotationSingleUser (or a later version of it built for python3.12)"
            ),
            "{}",
            f.remediation
        );
        assert!(
            f.remediation.contains("stack serverlessrepo-lab-rotation"),
            "{}",
            f.remediation
        );
        assert!(
            f.evidence[0].starts_with("1× from ")
                && f.evidence[0].contains("No module named '_pg'"),
            "{:?}",
            f.evidence
        );
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("semanticVersion=1.1.37")));
        assert!(f
            .evidence
            .iter()
            .any(|e| e.contains("for RDS PostgreSQL using single user")));
    }

    #[test]
    fn lambdas_init_report_after_the_error_neither_counts_nor_hides_the_module() {
        let mut facts = sar_function_failing_to_import("_pg");
        let events = &mut get(&mut facts.logs).events;
        let mut report = events[events.len() - 1].clone();
        report.timestamp += chrono::TimeDelta::seconds(1);
        report.message =
            "INIT_REPORT Init Duration: 144.81 ms\tPhase: init\tStatus: error\tError Type: Runtime.ImportModuleError"
                .into();
        events.push(report);
        let f = first(&facts);
        assert!(f.message.contains("'_pg' (PyGreSQL)"), "{}", f.message);
        assert!(f.evidence[0].starts_with("1× from "), "{:?}", f.evidence);
    }

    #[test]
    fn a_syntax_error_loading_the_package_fails_without_a_module() {
        let mut facts = sar_function_failing_to_import("_pg");
        let events = &mut get(&mut facts.logs).events;
        let last = events.len() - 1;
        // A package with the PyPI project `pg`, not PyGreSQL (failure catalog E3).
        events[last].message = "[ERROR] Runtime.UserCodeSyntaxError: Syntax error in module 'lambda_function': invalid syntax (__init__.py, line 3)".into();
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains(
                "cannot load its code on python3.12: [ERROR] Runtime.UserCodeSyntaxError"
            ),
            "{}",
            f.message
        );
        // The tags still say which version to redeploy.
        assert!(
            f.remediation.starts_with("Redeploy version 1.1.37"),
            "{}",
            f.remediation
        );
    }

    #[test]
    fn a_dotted_module_is_judged_by_its_package() {
        let f = first(&sar_function_failing_to_import("pymssql._pymssql"));
        assert!(
            f.message.contains("'pymssql._pymssql' (pymssql)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn without_tags_it_says_what_to_redeploy_in_general_terms() {
        let mut facts = sar_function_failing_to_import("_cffi_backend");
        facts.lambda_tags = crate::facts::Fact::Present(BTreeMap::new());
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(!f.message.contains("Serverless Application Repository"));
        assert!(
            f.remediation
                .starts_with("Recreate the rotation function from the current rotation template"),
            "{}",
            f.remediation
        );
        // Unreadable tags are said, not hidden.
        facts.lambda_tags = crate::facts::Fact::Unavailable(crate::facts::Unavailable {
            call: "lambda:ListTags".into(),
            kind: crate::facts::ErrorKind::AccessDenied,
            message: "not allowed".into(),
        });
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.evidence.iter().any(|e| e.starts_with("tags: not read")),
            "{:?}",
            f.evidence
        );
    }

    #[test]
    fn a_pure_python_module_missing_is_a_package_without_it() {
        let mut facts = sar_function_failing_to_import("pymysql");
        facts.lambda_tags = crate::facts::Fact::Present(BTreeMap::new());
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.message.contains("has no module 'pymysql'"),
            "{}",
            f.message
        );
        assert!(
            f.remediation.starts_with("Build the function's package"),
            "{}",
            f.remediation
        );
    }

    #[test]
    fn quiet_logs_pass_and_unreadable_logs_are_unknown() {
        assert_eq!(first(&lab_moved()).status, Status::Pass);
        let mut facts = lab_moved();
        facts.logs = crate::facts::Fact::Unavailable(crate::facts::Unavailable {
            call: "logs:FilterLogEvents".into(),
            kind: crate::facts::ErrorKind::NotFound,
            message: "The specified log group does not exist.".into(),
        });
        assert_eq!(first(&facts).status, Status::Unknown);
    }

    #[test]
    fn the_verdict_puts_log001s_import_errors_under_this_finding() {
        let mut facts = sar_function_failing_to_import("_pg");
        // Only the import error in the logs: the login failure is another story.
        get(&mut facts.logs).events.remove(0);
        let mut findings = crate::diagnosis::diagnose(&facts).findings;
        findings.retain(|f| f.check != "LAM006");
        let verdict = crate::verdict::conclude(&findings);
        let root = verdict
            .root_causes
            .iter()
            .find(|r| r.check == "LAM007")
            .unwrap_or_else(|| panic!("LAM007 is no root cause: {verdict:#?}"));
        assert!(
            root.consequences
                .iter()
                .any(|c| c.check == "LOG001" && c.message.contains("cannot be loaded")),
            "{root:#?}"
        );
        assert!(
            verdict
                .summary
                .starts_with("rotation fails because the rotation Lambda cannot load its code"),
            "{}",
            verdict.summary
        );
    }
}
