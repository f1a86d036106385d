//! Where the rotation Lambda could go instead: the security groups the
//! database admits on its port, and the subnets of its VPC from which both
//! the database and Secrets Manager are reachable with such a group. Worked
//! out by running the engine on each candidate, not by naming conventions.

use super::sg::tcp_rule_covers_port;
use super::{database_paths, database_port, secretsmanager_paths, NetIndex, Verdict};
use crate::facts::{Facts, LambdaVpc, SgPeer};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub subnet_ids: Vec<String>,
    pub security_group_id: String,
}

fn all_reachable(facts: &Facts) -> bool {
    let reachable = |paths: Result<Vec<super::NetPath>, String>| {
        paths.is_ok_and(|p| !p.is_empty() && p.iter().all(|p| p.verdict == Verdict::Reachable))
    };
    reachable(database_paths(facts)) && reachable(secretsmanager_paths(facts))
}

/// A placement that works, preferring subnets the database does not use
/// (the usual "Lambda subnets") and the group with the most such subnets.
pub fn suggest_placement(facts: &Facts) -> Option<Placement> {
    let database = facts.connect_target()?;
    // An ElastiCache user's groups are its replication group's, which the
    // rotation never reaches: no group of them is a way in.
    if database.kind == crate::facts::DatabaseKind::ElasticacheUser {
        return None;
    }
    let vpc_id = database.vpc_id.as_deref()?;
    let port = database_port(facts)?;
    facts.lambda.present()?;
    let index = NetIndex::new(&facts.network);

    let mut candidates: Vec<String> = Vec::new();
    for group_id in &database.security_group_ids {
        let Ok(group) = index.security_group(group_id) else {
            continue;
        };
        for rule in group
            .ingress
            .iter()
            .filter(|r| tcp_rule_covers_port(r, port))
        {
            if let SgPeer::Group(admitted) = &rule.peer {
                if !candidates.contains(admitted) {
                    candidates.push(admitted.clone());
                }
            }
        }
    }
    candidates.sort();

    let mut best: Option<Placement> = None;
    for group_id in candidates {
        // A Lambda's groups must be in its subnets' VPC: a group the
        // database admits across a peering is no candidate here.
        match index.security_group(&group_id) {
            Ok(group) if group.vpc_id.as_deref().is_none_or(|v| v == vpc_id) => {}
            _ => continue,
        }
        let working: Vec<String> = index
            .subnets_in(vpc_id)
            .into_iter()
            .filter(|subnet| {
                let mut trial = facts.clone();
                if let crate::Fact::Present(lambda) = &mut trial.lambda {
                    lambda.vpc = Some(LambdaVpc {
                        subnet_ids: vec![subnet.id.clone()],
                        security_group_ids: vec![group_id.clone()],
                    });
                }
                all_reachable(&trial)
            })
            .map(|subnet| subnet.id.clone())
            .collect();
        let apart: Vec<String> = working
            .iter()
            .filter(|s| !database.subnet_ids.contains(s))
            .cloned()
            .collect();
        let mut chosen = if apart.is_empty() { working } else { apart };
        // In zone order, as a person lists them (ids are random).
        chosen.sort_by_key(|id| {
            let zone = index
                .subnet(id)
                .ok()
                .and_then(|s| s.availability_zone.clone());
            (zone, id.clone())
        });
        if !chosen.is_empty()
            && best
                .as_ref()
                .is_none_or(|b| chosen.len() > b.subnet_ids.len())
        {
            best = Some(Placement {
                subnet_ids: chosen,
                security_group_id: group_id,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn lab_suggests_the_lambda_subnets_and_group() {
        assert_eq!(
            suggest_placement(&fixtures::lab()),
            Some(Placement {
                subnet_ids: vec!["subnet-lambda-a".into(), "subnet-lambda-b".into()],
                security_group_id: "sg-lambda".into(),
            })
        );
    }

    #[test]
    fn nothing_to_suggest_when_no_group_is_admitted() {
        let mut facts = fixtures::lab();
        fixtures::get(&mut facts.network.security_groups)[0]
            .ingress
            .clear();
        assert_eq!(suggest_placement(&facts), None);
    }
}
