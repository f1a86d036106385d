//! The second source of `Facts`: a CloudFormation template (YAML or JSON,
//! with the SAM and Secrets Manager transforms as CloudFormation sees them)
//! turned into the facts a live diagnosis would collect once it is
//! deployed, one target per rotated secret (`AWS::SecretsManager::
//! RotationSchedule`). Resource ids in these facts are the logical ids.
//!
//! Nothing after `Facts` needs to know where they came from, with one
//! exception the checks ask for explicitly: `Facts::template` is present,
//! so the checks of a deployment's state (versions, logs, events, states)
//! are skipped. What the template leaves to the deployment (parameters
//! without values, imports, SSM parameters, resources it does not create)
//! makes the facts that need it unavailable, with what to pass. With
//! `--live` (`live.rs`), the existing resources it names by id are read
//! from the account by the binary and merged with the template's.
//!
//! A Terraform plan (`terraform show -json`, recognized by its content) is
//! first rewritten as the template it amounts to (`terraform.rs`), with
//! resource addresses as logical ids, and then read the same way.
//!
//! A CDK cloud assembly is a directory of templates; its manifest says
//! which, and with which stack name and environment (`cdk.rs`).

pub mod cdk;
pub mod intrinsics;
mod live;
mod locate;
pub mod remedy;
mod resources;
mod terraform;
pub mod yaml;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::facts::Facts;
pub use live::{Account, DatabaseRef, ExistingSecret, Wanted};
pub use locate::Locations;
pub use resources::SECRETS_MANAGER_TRANSFORMS;

/// The largest template file read. CloudFormation takes 1 MB from S3; a
/// generous bound keeps a wrong file from filling memory.
pub const MAX_TEMPLATE_BYTES: usize = 16 * 1024 * 1024;

/// Why a template cannot be read, at a line of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub line: u32,
    pub message: String,
}

/// What a template is read with besides its text.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `AWS::Region` (us-east-1 unless given).
    pub region: String,
    /// `--parameter KEY=VALUE`, in the order given. `AWS::AccountId` and
    /// `AWS::StackName` may be given too.
    pub parameters: Vec<(String, String)>,
    /// "Now" for the facts.
    pub now: DateTime<Utc>,
    /// `--live`: what was read from the account of the resources the
    /// template names but does not create; `None` leaves them unresolved.
    pub account: Option<Account>,
}

/// One rotated secret of a template: its facts, and where each resource
/// they came from is written.
#[derive(Clone, Debug)]
pub struct TemplateTarget {
    pub facts: Facts,
    pub locations: Locations,
    /// With `--live`: what the facts still need from the account (empty
    /// once everything named has been read, found or not).
    pub wanted: Wanted,
}

impl TemplateTarget {
    /// Puts each fail/warn finding's template line on it (and, as the first
    /// line of its evidence, for reports that show no location).
    pub fn locate(&self, findings: &mut [crate::Finding], paths: &[crate::net::NetPath]) {
        self.locations.locate(findings, paths);
    }
}

/// The targets of a template file, or one sentence naming the file and
/// line of what is wrong with it (a template that rotates no secret too).
pub fn load(
    file: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<Vec<TemplateTarget>, String> {
    let targets = load_rotations(file, bytes, options)?;
    if targets.is_empty() {
        return Err(format!("{file}: {NO_ROTATION}"));
    }
    Ok(targets)
}

/// Why a template has no targets.
pub const NO_ROTATION: &str =
    "the template has no AWS::SecretsManager::RotationSchedule: it rotates no secret";

/// As `load`, but a template that rotates no secret has no targets (one
/// stack of a CDK app among others that do).
pub fn load_rotations(
    file: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<Vec<TemplateTarget>, String> {
    if bytes.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "{file} is larger than {} MiB: it is not a CloudFormation template",
            MAX_TEMPLATE_BYTES / (1024 * 1024)
        ));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("{file} is not UTF-8 text: it is not a CloudFormation template"))?;
    // Line 0: about the file as a whole.
    let at = |e: TemplateError| match e.line {
        0 => format!("{file}: {}", e.message),
        line => format!("{file}:{line}: {}", e.message),
    };
    let tree = yaml::parse(text).map_err(|e| {
        at(TemplateError {
            line: e.line,
            message: format!("not valid YAML or JSON: {}", e.message),
        })
    })?;
    let stack_name = stack_name_of(file);
    if terraform::is_terraform(&tree) {
        let plan = terraform::translate(&tree).map_err(at)?;
        return resources::targets(file, &plan.tree, options, &stack_name, plan.unresolved)
            .map_err(at);
    }
    resources::targets(file, &tree, options, &stack_name, BTreeMap::new()).map_err(at)
}

/// `AWS::StackName`: the file's name without its extension, as a stack
/// is often named after its template.
fn stack_name_of(file: &str) -> String {
    let name = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("stack");
    let name: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if name.is_empty() {
        "stack".to_string()
    } else {
        name
    }
}

/// `KEY=VALUE` as `--parameter` takes it.
pub fn parse_parameter(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// Parameters given more than once: the last one counts, as with the AWS CLI.
fn given(options: &LoadOptions) -> BTreeMap<String, String> {
    options.parameters.iter().cloned().collect()
}

#[cfg(test)]
mod tests;
