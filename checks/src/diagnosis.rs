//! The evaluation step: facts in, a diagnosis out. The reachability engine
//! runs once per target here; the network checks and the report share its
//! paths, and everything after this step (rendering, choosing a fix) only
//! reads the `Diagnosis`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::facts::Facts;
use crate::finding::Finding;
use crate::names::Names;
use crate::net::{
    database_paths, rds_api_paths, secretsmanager_paths, suggest_placement, NetPath, Placement,
};
use crate::rules;
use crate::verdict::{conclude, Verdict};

/// The engine's answer for one target: every path from the rotation
/// Lambda's subnets to the database and to Secrets Manager, and, when one
/// is blocked, a placement of the Lambda from which both are reachable.
#[derive(Clone, Debug)]
pub struct NetworkPaths {
    /// One per Lambda subnet and database subnet; `Err` says why none
    /// could be evaluated.
    pub database: Result<Vec<NetPath>, String>,
    /// One per Lambda subnet.
    pub secretsmanager: Result<Vec<NetPath>, String>,
    /// One per Lambda subnet, only for a multi-user secret whose master
    /// secret is managed by RDS (the function then calls the RDS API).
    pub rds_api: Result<Vec<NetPath>, String>,
    /// Where the Lambda could go instead (worked out only when a path is
    /// blocked: it runs the engine once per candidate subnet).
    pub placement: Option<Placement>,
}

impl NetworkPaths {
    /// Runs the engine for a Lambda-rotated secret; a secret rotated by a
    /// managed service, or whose Lambda could not be read, has no paths.
    pub fn evaluate(facts: &Facts) -> NetworkPaths {
        NetworkPaths::evaluate_named(facts, &Names::of(facts))
    }

    /// `evaluate`, with the facts' names already gathered.
    fn evaluate_named(facts: &Facts, names: &Names) -> NetworkPaths {
        let mut paths = NetworkPaths::evaluate_unnamed(facts);
        for result in [
            &mut paths.database,
            &mut paths.secretsmanager,
            &mut paths.rds_api,
        ] {
            for path in result.iter_mut().flatten() {
                path.name_hops(names);
            }
        }
        paths
    }

    fn evaluate_unnamed(facts: &Facts) -> NetworkPaths {
        let lambda_rotated = facts.lambda.present().is_some()
            && facts
                .secret
                .present()
                .is_some_and(|s| s.owning_service.is_none());
        if !lambda_rotated {
            return NetworkPaths {
                database: Ok(Vec::new()),
                secretsmanager: Ok(Vec::new()),
                rds_api: Ok(Vec::new()),
                placement: None,
            };
        }
        let database = database_paths(facts);
        let secretsmanager = secretsmanager_paths(facts);
        let rds_api = rds_api_paths(facts);
        let blocked = [&database, &secretsmanager]
            .into_iter()
            .flat_map(|paths| paths.iter().flatten())
            .any(|path| path.verdict == crate::net::Verdict::Blocked);
        NetworkPaths {
            placement: if blocked {
                suggest_placement(facts)
            } else {
                None
            },
            database,
            secretsmanager,
            rds_api,
        }
    }

    /// Every evaluated path, database first (moved out: the checks have
    /// read them by then). A destination the engine could not evaluate has
    /// none; NET002 or NET003 reports why.
    pub fn into_paths(self) -> Vec<NetPath> {
        [self.database, self.secretsmanager, self.rds_api]
            .into_iter()
            .flat_map(|paths| paths.unwrap_or_default())
            .collect()
    }
}

/// Everything the checks found about one secret.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    /// Every check's findings, in the registry's order.
    pub findings: Vec<Finding>,
    /// One per Lambda subnet and destination, as the engine evaluated them.
    pub paths: Vec<NetPath>,
    /// The root cause, the fix and what follows from it.
    pub verdict: Verdict,
    /// The names of the subnets and security groups the findings and paths
    /// mention, by id.
    pub names: BTreeMap<String, String>,
}

/// Runs the engine once and every check on its result.
pub fn diagnose(facts: &Facts) -> Diagnosis {
    // An account a scan could not enter has nothing else collected: ACC001
    // says so, and the other checks have nothing to look at.
    if matches!(facts.account_access, crate::Fact::Unavailable(_)) {
        let findings = crate::rules::find("ACC001")
            .map(|check| check.evaluate(facts, &NetworkPaths::evaluate(facts)))
            .unwrap_or_default();
        return Diagnosis {
            verdict: conclude(&findings),
            findings,
            paths: Vec::new(),
            names: BTreeMap::new(),
        };
    }
    // Gathered once: the engine's hops and the report's names share them.
    let names = Names::of(facts);
    let paths = NetworkPaths::evaluate_named(facts, &names);
    let findings: Vec<Finding> = rules::ALL
        .iter()
        .flat_map(|check| check.evaluate(facts, &paths))
        .collect();
    let paths = paths.into_paths();
    let names = mentioned_names(&names, &findings, &paths);
    Diagnosis {
        verdict: conclude(&findings),
        findings,
        paths,
        names,
    }
}

/// The names of the ids that occur in the findings' text and in the paths:
/// a report carries the names it needs, not the whole VPC's.
fn mentioned_names(
    names: &Names,
    findings: &[Finding],
    paths: &[NetPath],
) -> BTreeMap<String, String> {
    let texts = findings.iter().flat_map(|f| {
        [&f.resource, &f.message, &f.remediation]
            .into_iter()
            .chain(&f.evidence)
    });
    let path_ids = paths.iter().flat_map(|p| {
        p.from
            .subnet
            .iter()
            .chain(&p.from.security_groups)
            .chain(p.hops.iter().map(|h| &h.resource))
    });
    let words = texts
        .chain(path_ids)
        .flat_map(|text| text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')));
    names.restricted_to(words).into_map()
}
