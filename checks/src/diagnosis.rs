//! The evaluation step: facts in, a diagnosis out. The reachability engine
//! runs once per target here; the network checks and the report share its
//! paths, and everything after this step (rendering, choosing a fix) only
//! reads the `Diagnosis`.

use serde::Serialize;

use crate::facts::Facts;
use crate::finding::Finding;
use crate::net::{
    database_paths, secretsmanager_paths, suggest_placement, NetPath, Placement, Verdict,
};
use crate::rules;

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
    /// Where the Lambda could go instead (worked out only when a path is
    /// blocked: it runs the engine once per candidate subnet).
    pub placement: Option<Placement>,
}

impl NetworkPaths {
    /// Runs the engine for a Lambda-rotated secret; a secret rotated by a
    /// managed service, or whose Lambda could not be read, has no paths.
    pub fn evaluate(facts: &Facts) -> NetworkPaths {
        let lambda_rotated = facts.lambda.present().is_some()
            && facts
                .secret
                .present()
                .is_some_and(|s| s.owning_service.is_none());
        if !lambda_rotated {
            return NetworkPaths {
                database: Ok(Vec::new()),
                secretsmanager: Ok(Vec::new()),
                placement: None,
            };
        }
        let database = database_paths(facts);
        let secretsmanager = secretsmanager_paths(facts);
        let blocked = [&database, &secretsmanager]
            .into_iter()
            .flat_map(|paths| paths.iter().flatten())
            .any(|path| path.verdict == Verdict::Blocked);
        NetworkPaths {
            placement: if blocked {
                suggest_placement(facts)
            } else {
                None
            },
            database,
            secretsmanager,
        }
    }

    /// Every evaluated path, database first (moved out: the checks have
    /// read them by then). A destination the engine could not evaluate has
    /// none; NET002 or NET003 reports why.
    pub fn into_paths(self) -> Vec<NetPath> {
        [self.database, self.secretsmanager]
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
}

/// Runs the engine once and every check on its result.
pub fn diagnose(facts: &Facts) -> Diagnosis {
    let paths = NetworkPaths::evaluate(facts);
    Diagnosis {
        findings: rules::ALL
            .iter()
            .flat_map(|check| check.evaluate(facts, &paths))
            .collect(),
        paths: paths.into_paths(),
    }
}
