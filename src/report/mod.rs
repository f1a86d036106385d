//! Rendering a diagnosis: the report model shared by every format, and the
//! exit code a CI gate reads.

mod dot;
mod graph;
mod json;
mod junit;
mod markdown;
pub mod sarif;
mod stats;
mod table;

use rotation_doctor_checks::net::NetPath;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::sync::{Arc, Mutex};

use rotation_doctor_checks::{rules, Diagnosis, Facts, Finding, Severity, Status, Verdict};
use serde::{Deserialize, Serialize};

pub use dot::render_dot;
pub use json::write_json;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use sarif::render_sarif;
pub use stats::RunStats;
pub use table::{new_table, render_table, render_verdicts, TableOptions};

/// Version of the JSON report's shape (documented in README.md).
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The diagnosis of one secret (read back by `merge`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Target {
    pub secret: SecretRef,
    /// The account the secret is in (or that a scan could not enter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub region: String,
    pub collected_at: chrono::DateTime<chrono::Utc>,
    /// The root cause, its fix and its consequences (accepted findings are
    /// no cause: `accept` concludes again after suppressions).
    #[serde(default)]
    pub verdict: Verdict,
    /// Shared with other targets where equal (see [`Interner`]).
    #[serde(with = "shared_list")]
    pub findings: Vec<Arc<Finding>>,
    /// One per Lambda subnet and destination.
    #[serde(with = "shared")]
    pub paths: Arc<Vec<NetPath>>,
    /// The names of the subnets and security groups the report mentions.
    #[serde(default)]
    pub names: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SecretRef {
    pub arn: Option<String>,
    pub name: String,
}

impl Target {
    /// The report of one secret: who it is, from the facts, and what the
    /// diagnosis found. Nothing is evaluated here.
    pub fn new(facts: &Facts, diagnosis: Diagnosis) -> Target {
        let secret = match facts.secret.present() {
            Some(secret) => SecretRef {
                arn: Some(secret.arn.clone()),
                name: secret.name.clone(),
            },
            None => SecretRef {
                arn: None,
                name: facts.secret_id.clone(),
            },
        };
        let mut secret = secret;
        if let rotation_doctor_checks::Fact::Unavailable(_) = &facts.account_access {
            // Not a secret: the account the scan could not enter.
            secret.name = match account_of(&facts.secret_id) {
                Some(account) => format!("account {account} (not scanned)"),
                None => "an account (not scanned)".to_string(),
            };
        }
        let account = match &facts.account_access {
            rotation_doctor_checks::Fact::Present(access) => Some(access.account.clone()),
            // An account not entered: its id is in the role's ARN.
            rotation_doctor_checks::Fact::Unavailable(_) => account_of(&facts.secret_id),
            rotation_doctor_checks::Fact::NotApplicable(_) => {
                secret.arn.as_deref().and_then(account_of)
            }
        };
        Target {
            secret,
            account,
            region: facts.region.clone(),
            collected_at: facts.collected_at,
            verdict: diagnosis.verdict,
            findings: shared_findings(diagnosis.findings),
            paths: Arc::new(diagnosis.paths),
            names: diagnosis.names,
        }
    }

    /// The account the secret is in (from its ARN for a report of an
    /// earlier version, which had no `account`).
    pub fn account(&self) -> Option<String> {
        self.account
            .clone()
            .or_else(|| self.secret.arn.as_deref().and_then(account_of))
    }

    /// `ACCOUNT/REGION/NAME`: the secret, told apart from a namesake in
    /// another account or region (merged reports hold several).
    pub fn qualified_name(&self) -> String {
        match self.account() {
            Some(account) => format!("{account}/{}/{}", self.region, self.secret.name),
            None => format!("{}/{}", self.region, self.secret.name),
        }
    }

    /// `id (name)` for an id the report names, else the id.
    pub fn label(&self, id: &str) -> String {
        rotation_doctor_checks::names::label(id, self.names.get(id).map(String::as_str))
    }

    /// The verdict again, after suppressions changed which failures count.
    pub fn conclude_again(&mut self) {
        self.verdict = rotation_doctor_checks::verdict::conclude(&self.findings);
    }

    pub fn count(&self, status: Status) -> usize {
        self.findings.iter().filter(|f| f.status == status).count()
    }
}

/// Each finding behind an `Arc`, in a list of its own size (`collect` would
/// reuse the larger buffer of the findings themselves).
fn shared_findings(findings: Vec<Finding>) -> Vec<Arc<Finding>> {
    let mut shared = Vec::with_capacity(findings.len());
    shared.extend(findings.into_iter().map(Arc::new));
    shared
}

/// Findings and path lists equal between targets, kept once. A scan's
/// secrets of one Lambda and VPC have the same paths and most findings the
/// same (the Lambda's, its role's, its network's): 5,000 copies of them were
/// most of a large scan's memory.
#[derive(Default)]
pub struct Interner {
    findings: Mutex<HashMap<u64, Vec<Arc<Finding>>>>,
    paths: Mutex<HashMap<u64, Vec<Arc<Vec<NetPath>>>>>,
}

impl Interner {
    /// `target`, its findings and paths replaced by equal ones seen before.
    pub fn intern(&self, mut target: Target) -> Target {
        {
            let mut findings = self.findings.lock().unwrap_or_else(|e| e.into_inner());
            for finding in &mut target.findings {
                *finding = interned(&mut findings, finding);
            }
        }
        let mut paths = self.paths.lock().unwrap_or_else(|e| e.into_inner());
        target.paths = interned(&mut paths, &target.paths);
        target
    }
}

/// The value in `seen` equal to `value` (added when new). Keyed by a hash
/// of its JSON, which is what a report shows of it; equality decides.
fn interned<T: Serialize + PartialEq>(
    seen: &mut HashMap<u64, Vec<Arc<T>>>,
    value: &Arc<T>,
) -> Arc<T> {
    let mut hasher = HashWriter(std::collections::hash_map::DefaultHasher::new());
    if serde_json::to_writer(&mut hasher, &**value).is_err() {
        return value.clone();
    }
    let same_hash = seen.entry(hasher.0.finish()).or_default();
    match same_hash.iter().find(|known| ***known == **value) {
        Some(known) => known.clone(),
        None => {
            same_hash.push(value.clone());
            value.clone()
        }
    }
}

/// Feeds what is written to a hasher.
struct HashWriter(std::collections::hash_map::DefaultHasher);

impl std::io::Write for HashWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.write(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `Arc<T>` as `T` in the report (serde's own takes a feature that would
/// rebuild the AWS SDK).
mod shared {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(value: &Arc<T>, s: S) -> Result<S::Ok, S::Error> {
        (**value).serialize(s)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Arc<T>, D::Error> {
        T::deserialize(d).map(Arc::new)
    }
}

/// `Vec<Arc<T>>` as a list of `T`.
mod shared_list {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        values: &[Arc<T>],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(values.iter().map(|value| &**value))
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<Arc<T>>, D::Error> {
        Vec::<T>::deserialize(d).map(|values| values.into_iter().map(Arc::new).collect())
    }
}

/// The account of an ARN, when it has one.
fn account_of(arn: &str) -> Option<String> {
    rotation_doctor_checks::Arn::parse(arn)
        .map(|a| a.account.to_string())
        .filter(|account| !account.is_empty())
}

/// 1 when a `fail` finding is at or above the threshold, or (unless
/// `allow_unknown`) a check that decides whether rotation can work is
/// `unknown` at or above it; else 0. Optional evidence (logs, CloudTrail)
/// that cannot be read never changes it.
pub fn exit_code(targets: &[Target], fail_on: Severity, allow_unknown: bool) -> i32 {
    let deciding = |check: &str| rules::find(check).is_some_and(|c| !c.meta().optional_evidence);
    let failing = targets.iter().flat_map(|t| &t.findings).any(|f| {
        f.suppressed.is_none()
            && f.severity.at_least(fail_on)
            && match f.status {
                Status::Fail => true,
                Status::Unknown => !allow_unknown && deciding(&f.check),
                _ => false,
            }
    });
    i32::from(failing)
}
