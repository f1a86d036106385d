//! Accepted findings: suppressions from `.rotation-doctor.toml` (each with a
//! reason and an optional expiry; an expired one reports again) and a
//! baseline file of accepted failures, so a CI gate fails only on new ones.
//! A suppressed finding is still reported, with its reason, but no longer
//! counts toward the exit code.

use std::sync::Arc;

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;
use rotation_doctor_checks::Status;
use serde::{Deserialize, Serialize};

use crate::error::UserError;
use crate::report::{sarif::fingerprint, Target};

pub const CONFIG_FILE: &str = ".rotation-doctor.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub ignore: Vec<Suppression>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// A check id; absent means every check.
    pub check: Option<String>,
    /// A glob over the finding's resource, the secret's ARN or its name
    /// (`*` and `?` also match `/` and `:`; case-sensitive, as ARNs are);
    /// absent means every resource.
    pub resource: Option<String>,
    /// `resource`, compiled when the config is loaded.
    #[serde(skip)]
    resource_glob: Option<globset::GlobMatcher>,
    pub reason: String,
    /// The last day the suppression holds (YYYY-MM-DD).
    pub expires: Option<NaiveDate>,
}

impl Config {
    /// The config at `path`, or `.rotation-doctor.toml` in the working
    /// directory when there is one.
    pub fn load(path: Option<&Path>) -> Result<Config, UserError> {
        let default = Path::new(CONFIG_FILE);
        let path = match path {
            Some(path) => path,
            None if default.exists() => default,
            None => return Ok(Config::default()),
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| UserError::new(format!("cannot read {}: {e}", path.display())))?;
        Config::parse(&text, &path.display().to_string())
    }

    /// A config's text; `source` names it in errors.
    fn parse(text: &str, source: &str) -> Result<Config, UserError> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            UserError::new(format!(
                "{source} is not a valid rotation-doctor config: {}",
                e.message()
            ))
        })?;
        if let Some(empty) = config.ignore.iter().find(|s| s.reason.trim().is_empty()) {
            return Err(UserError::new(format!(
                "{source}: every suppression needs a reason (the one for {} has none)",
                empty.check.as_deref().unwrap_or("all checks")
            )));
        }
        for suppression in &mut config.ignore {
            if let Some(pattern) = &suppression.resource {
                let glob = globset::Glob::new(pattern).map_err(|e| {
                    UserError::new(format!(
                        "{source}: the resource pattern {pattern:?} is not a valid glob: {}",
                        e.kind()
                    ))
                })?;
                suppression.resource_glob = Some(glob.compile_matcher());
            }
        }
        Ok(config)
    }
}

fn matches(suppression: &Suppression, check: &str, candidates: &[&str]) -> bool {
    suppression
        .check
        .as_deref()
        .is_none_or(|c| c.eq_ignore_ascii_case(check))
        && suppression
            .resource_glob
            .as_ref()
            .is_none_or(|glob| candidates.iter().any(|c| glob.is_match(c)))
}

/// Marks the findings the config accepts; returns one notice per expired
/// suppression that matched something.
pub fn apply_config(targets: &mut [Target], config: &Config, today: NaiveDate) -> Vec<String> {
    let mut notices = BTreeSet::new();
    for target in targets.iter_mut() {
        let secret_arn = target.secret.arn.clone().unwrap_or_default();
        let secret_name = target.secret.name.clone();
        for finding in target
            .findings
            .iter_mut()
            .filter(|f| matches!(f.status, Status::Fail | Status::Warn | Status::Unknown))
        {
            let candidates = [
                finding.resource.as_str(),
                secret_arn.as_str(),
                secret_name.as_str(),
            ];
            for suppression in config
                .ignore
                .iter()
                .filter(|s| matches(s, &finding.check, &candidates))
            {
                match suppression.expires {
                    Some(expires) if expires < today => {
                        notices.insert(format!(
                            "the suppression of {} ({}) expired on {expires}: reported again",
                            suppression.check.as_deref().unwrap_or("all checks"),
                            suppression.reason
                        ));
                    }
                    _ => {
                        Arc::make_mut(finding).suppressed = Some(suppression.reason.clone());
                        break;
                    }
                }
            }
        }
    }
    notices.into_iter().collect()
}

/// The accepted failures, by fingerprint.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub accepted: BTreeSet<String>,
}

fn finding_key(target: &Target, check: &str, resource: &str) -> String {
    let secret = target.secret.arn.as_deref().unwrap_or(&target.secret.name);
    fingerprint(&[check, secret, resource])
}

/// Applies the baseline at `path`, or, when there is none yet, writes the
/// current failures to it. Returns a sentence saying which.
pub fn apply_baseline(targets: &mut [Target], path: &Path) -> Result<String, UserError> {
    if !path.exists() {
        let accepted = targets
            .iter()
            .flat_map(|t| {
                t.findings
                    .iter()
                    .filter(|f| f.status == Status::Fail && f.suppressed.is_none())
                    .map(move |f| finding_key(t, &f.check, &f.resource))
            })
            .collect::<BTreeSet<_>>();
        let count = accepted.len();
        let baseline = Baseline {
            schema_version: 1,
            accepted,
        };
        let text = serde_json::to_string_pretty(&baseline).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| {
            UserError::new(format!("cannot write baseline {}: {e}", path.display()))
        })?;
        for target in targets.iter_mut() {
            for finding in target
                .findings
                .iter_mut()
                .filter(|f| f.status == Status::Fail)
            {
                Arc::make_mut(finding)
                    .suppressed
                    .get_or_insert_with(|| "in the new baseline".to_string());
            }
        }
        return Ok(format!(
            "baseline {} written with {count} accepted failure(s); later runs fail only on new ones",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| UserError::new(format!("cannot read baseline {}: {e}", path.display())))?;
    let baseline: Baseline = serde_json::from_str(&text).map_err(|e| {
        UserError::new(format!(
            "{} is not a rotation-doctor baseline: {e}",
            path.display()
        ))
    })?;
    let mut accepted = 0;
    for target in targets.iter_mut() {
        let keys: Vec<String> = target
            .findings
            .iter()
            .map(|f| finding_key(target, &f.check, &f.resource))
            .collect();
        for (finding, key) in target.findings.iter_mut().zip(keys) {
            if finding.status == Status::Fail && baseline.accepted.contains(&key) {
                Arc::make_mut(finding)
                    .suppressed
                    .get_or_insert_with(|| "accepted in the baseline".to_string());
                accepted += 1;
            }
        }
    }
    Ok(format!(
        "baseline {}: {accepted} failure(s) accepted",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::parse(text, "test config").expect("config")
    }

    #[test]
    fn suppressions_match_check_and_resource_globs_and_expire() {
        let config = config(
            r#"
            [[ignore]]
            check = "lam003"
            resource = "*legacy/*"
            reason = "migrating in Q1"
            expires = "2026-12-31"

            [[ignore]]
            check = "NET003"
            reason = "old"
            expires = "2026-01-01"
            "#,
        );
        let suppression = &config.ignore[0];
        assert!(matches(
            suppression,
            "LAM003",
            &["arn:aws:secretsmanager:us-east-1:1:secret:legacy/db-1"]
        ));
        assert!(!matches(
            suppression,
            "LAM003",
            &["arn:aws:secretsmanager:us-east-1:1:secret:prod/db-1"]
        ));
        assert!(!matches(suppression, "LAM002", &["legacy/db"]));
        assert_eq!(
            config.ignore[1].expires,
            NaiveDate::from_ymd_opt(2026, 1, 1)
        );
    }

    #[test]
    fn resource_globs_are_case_sensitive_and_cross_separators() {
        let config = config("[[ignore]]\nresource = \"*secret:prod/*\"\nreason = \"r\"");
        let suppression = &config.ignore[0];
        let arn = |name: &str| format!("arn:aws:secretsmanager:us-east-1:1:secret:{name}");
        assert!(matches(suppression, "NET002", &[&arn("prod/db/a")]));
        assert!(!matches(suppression, "NET002", &[&arn("Prod/db")]));
    }

    #[test]
    fn bad_configs_are_refused() {
        for text in [
            "[[ignore]]\nchek = \"X\"\nreason = \"r\"",
            "[[ignore]]\nresource = \"a[\"\nreason = \"r\"",
            "[[ignore]]\ncheck = \"X\"\nreason = \" \"",
        ] {
            assert!(Config::parse(text, "c").is_err(), "{text}");
        }
    }
}
