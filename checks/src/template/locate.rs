//! Where in the template each fact came from, and putting findings there:
//! a finding is located at the resource its `resource` names (a logical
//! id, an ARN or a name the template builds), at the property a fix
//! changes (a database group's ingress for NET002, a function's subnets
//! and groups for NET001), so that code scanning annotates that line.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::finding::{Finding, Location, Status};
use crate::net::{HopKind, HopVerdict, NetPath};

/// One resource of the template: its logical id, the line of that id, and
/// the lines of the properties a fix would change, by aspect (`vpc`,
/// `ingress`, `ingress/0` for the first inline rule, `runtime`, ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub logical_id: String,
    pub line: u32,
    pub aspects: BTreeMap<String, u32>,
}

impl Located {
    pub fn new(logical_id: &str, line: u32) -> Located {
        Located {
            logical_id: logical_id.to_string(),
            line,
            aspects: BTreeMap::new(),
        }
    }

    pub fn aspect(&mut self, aspect: &str, line: u32) {
        self.aspects.entry(aspect.to_string()).or_insert(line);
    }

    /// The line of an aspect, else the resource's.
    pub fn line_of(&self, aspect: Option<&str>) -> u32 {
        aspect
            .and_then(|a| self.aspects.get(a))
            .copied()
            .unwrap_or(self.line)
    }
}

/// Every resource of one template file, by each id the facts may use for it.
#[derive(Clone, Debug, Default)]
pub struct LocationIndex {
    pub file: String,
    entries: Vec<Located>,
    by_key: BTreeMap<String, usize>,
}

impl LocationIndex {
    pub fn new(file: &str) -> LocationIndex {
        LocationIndex {
            file: file.to_string(),
            ..LocationIndex::default()
        }
    }

    /// Adds a resource under its keys; a key already taken keeps its
    /// first resource (logical ids are added before names).
    pub fn add(&mut self, keys: Vec<String>, located: Located) {
        let index = self.entries.len();
        self.entries.push(located);
        for key in keys {
            self.by_key.entry(key).or_insert(index);
        }
    }

    pub fn get(&self, key: &str) -> Option<&Located> {
        self.by_key.get(key).map(|&i| &self.entries[i])
    }
}

/// The locations of one target: the template's index and the target's own
/// schedule, where a finding about nothing the template writes is put.
#[derive(Clone, Debug)]
pub struct Locations {
    index: Arc<LocationIndex>,
    schedule: String,
}

/// The property a check's finding asks to change.
fn aspect_of(check: &str) -> Option<&'static str> {
    Some(match check {
        "NET001" => "vpc",
        "LAM002" => "timeout",
        "LAM003" => "runtime",
        "LAM004" => "environment",
        "IAM001" => "trust",
        "IAM002" => "policies",
        "KMS001" => "policy",
        "SEC001" => "value",
        "TPL001" => "hosted",
        "TPL002" => "vpc",
        _ => return None,
    })
}

impl Locations {
    pub fn new(index: Arc<LocationIndex>, schedule: &str) -> Locations {
        Locations {
            index,
            schedule: schedule.to_string(),
        }
    }

    pub fn file(&self) -> &str {
        &self.index.file
    }

    /// The resource written under `key` (a logical id, ARN or name).
    pub fn get(&self, key: &str) -> Option<&Located> {
        self.index.get(key)
    }

    /// Locates every finding that asks for attention (fail, warn,
    /// unknown), and says where as the first line of its evidence.
    pub fn locate(&self, findings: &mut [Finding], paths: &[NetPath]) {
        for finding in findings.iter_mut() {
            if !matches!(
                finding.status,
                Status::Fail | Status::Warn | Status::Unknown
            ) {
                continue;
            }
            let resource = finding.resource.split(", ").next().unwrap_or_default();
            let located = self
                .index
                .get(resource)
                .or_else(|| self.index.get(&self.schedule));
            let Some(located) = located else { continue };
            let aspect = match finding.check.as_str() {
                // A blocked path: the side of the group that blocks it.
                "NET002" | "NET003" => paths
                    .iter()
                    .filter(|p| p.blocked_by.as_deref() == Some(resource))
                    .flat_map(|p| &p.hops)
                    .find(|h| h.resource == resource && h.verdict == HopVerdict::Block)
                    .and_then(|h| match h.kind {
                        HopKind::SecurityGroupIngress => Some("ingress"),
                        HopKind::SecurityGroupEgress => Some("egress"),
                        HopKind::Placement => Some("vpc"),
                        _ => None,
                    }),
                other => aspect_of(other),
            };
            let line = located.line_of(aspect);
            let location = Location {
                file: self.index.file.clone(),
                line,
                logical_id: located.logical_id.clone(),
            };
            finding.evidence.insert(
                0,
                format!(
                    "template: {}:{} ({})",
                    location.file, location.line, location.logical_id
                ),
            );
            finding.location = Some(location);
        }
    }
}
