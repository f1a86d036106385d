//! The record of what `--fix` changed, written after every action so that a
//! fault midway leaves it true, and read back by `rotation-doctor undo`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rotation_doctor_checks::arn::Arn;
use rotation_doctor_checks::fix::FixAction;
use serde::{Deserialize, Serialize};

use crate::error::UserError;

pub const JOURNAL_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub struct Journal {
    pub schema_version: u32,
    pub tool_version: String,
    pub secret_id: String,
    pub region: String,
    pub started_at: DateTime<Utc>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The check whose finding proposed the action.
    pub check: String,
    pub action: FixAction,
    pub outcome: Outcome,
    /// One sentence: what happened.
    pub detail: String,
    /// How to reverse it; only for actions this run applied.
    pub undo: Option<Undo>,
    pub undone: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Applied,
    /// The change was already in place: nothing to do, nothing to undo.
    AlreadyDone,
    /// The resource changed since the plan: left alone.
    Stopped,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadyDone => "already done",
            Outcome::Stopped => "stopped",
            Outcome::Failed => "failed",
        }
    }
}

/// The reverse of one applied action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum Undo {
    RevokeIngressFromGroup {
        group_id: String,
        port: u16,
        source_group_id: String,
        description: String,
    },
    RevokeEgress {
        group_id: String,
        port: u16,
        destination: rotation_doctor_checks::fix::EgressDestination,
        description: String,
    },
    RestoreLambdaVpc {
        function_name: String,
        /// What the fix set: undo stops if the function moved since.
        applied_subnet_ids: Vec<String>,
        applied_security_group_ids: Vec<String>,
        subnet_ids: Vec<String>,
        security_group_ids: Vec<String>,
    },
    DeleteVpcEndpoint {
        endpoint_id: String,
    },
    RemovePermission {
        function_name: String,
        statement_id: String,
    },
    DeleteRolePolicy {
        role_name: String,
        policy_name: String,
    },
    RestoreLambdaEnvironment {
        function_name: String,
        name: String,
        applied_value: String,
        previous_value: Option<String>,
    },
    RestorePendingLabel {
        secret_id: String,
        version_id: String,
    },
}

/// The journal's path: the one asked for, or the default; never an existing
/// file, whose record of an earlier fix `undo` may still need.
pub fn fresh_path(requested: Option<PathBuf>, journal: &Journal) -> Result<PathBuf, UserError> {
    let path = requested.unwrap_or_else(|| journal.default_path());
    if path.exists() {
        return Err(UserError::new(format!(
            "journal {} already exists and may be needed by `undo`: choose another --journal path",
            path.display()
        )));
    }
    Ok(path)
}

impl Journal {
    pub fn new(secret_id: &str, region: &str) -> Journal {
        Journal {
            schema_version: JOURNAL_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            secret_id: secret_id.to_string(),
            region: region.to_string(),
            started_at: Utc::now(),
            entries: Vec::new(),
        }
    }

    /// Where a journal goes by default: the working directory, named by the
    /// secret and the time.
    pub fn default_path(&self) -> PathBuf {
        let name = Arn::parse(&self.secret_id)
            .and_then(|arn| arn.secret_name())
            .unwrap_or(&self.secret_id);
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        PathBuf::from(format!(
            "rotation-doctor-journal-{safe}-{}.json",
            self.started_at.format("%Y%m%dT%H%M%SZ")
        ))
    }

    /// Writes the whole journal, via a temporary file and a rename, so a
    /// crash never leaves half a journal.
    pub fn save(&self, path: &Path) -> Result<(), UserError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| UserError::new(format!("cannot encode the journal: {e}")))?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text + "\n")
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|e| UserError::new(format!("cannot write journal {}: {e}", path.display())))
    }

    pub fn load(path: &Path) -> Result<Journal, UserError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| UserError::new(format!("cannot read journal {shown}: {e}")))?;
        let journal: Journal = serde_json::from_str(&text).map_err(|e| {
            UserError::new(format!("{shown} is not a rotation-doctor journal: {e}"))
        })?;
        if journal.schema_version > JOURNAL_SCHEMA_VERSION {
            return Err(UserError::new(format!(
                "journal {shown} has schema version {}, newer than this rotation-doctor reads ({JOURNAL_SCHEMA_VERSION})",
                journal.schema_version
            )));
        }
        Ok(journal)
    }
}
