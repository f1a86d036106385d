//! NET002: the rotation Lambda reaches its database on the engine port.

use super::support::Blocked;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{DatabaseKind, Facts, SgPeer};
use crate::finding::{Finding, Severity};
use crate::fix::{EgressDestination, FixAction, FixPlan};
use crate::net::{Hop, HopKind, NetPath};

pub struct DatabaseReachable;

static META: CheckMeta = CheckMeta {
    id: "NET002",
    name: "database-unreachable",
    title: "Rotation Lambda reaches the database on its port",
    severity: Severity::Critical,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret, RotationStep::TestSecret],
    explained_by: ExplainedBy::Checks(&["NET001"]),
    docs: r#"## What it checks
From each of the rotation Lambda's subnets, whether a TCP connection to the
database on its port (the secret's `port`, else the database's, else the
engine's default: 3306 for MySQL, 27017 for DocumentDB, 5439 for Redshift)
gets through: the Lambda's security group egress, the route table, the
network ACLs of both subnets in both directions (with the ephemeral return
ports 1024-65535), and the database's security group ingress (a reference
to the Lambda's group, or a CIDR that covers the Lambda's whole subnet).
The database may run in any of its subnets, so each is checked. The
evidence shows every path with the component that blocks it.
A database in another VPC is followed across the VPC peering connection or
transit gateway the Lambda's route leads to: the peering must be `active`
and join the two VPCs; a transit gateway needs both VPCs attached (in the
zones used), route tables associated with the attachments that route each
side's range to the other (static or propagated routes); and the database
subnet's route table must send the Lambda's range back the same way. A
group reference counts across a peering in one Region, and across a
transit gateway only in the database's inbound rules and only when the
transit gateway has security group referencing enabled; otherwise only
CIDR rules do. What the account cannot read there is `unknown`, naming the
read.
When RDS has no database the secret names, there is no path to judge: the
check is skipped and DB001 fails naming the host. A Redshift Serverless
workgroup is not read, so its path is unknown.

For an ElastiCache user's secret the path is to the ElastiCache API
(`elasticache.REGION.amazonaws.com` on 443), not to the cache nodes: AWS's
`SecretsManagerElasticacheUserRotation` function changes the password with
`elasticache:ModifyUser` and waits with `DescribeUsers`, and never opens a
connection to 6379
(aws-samples/aws-secrets-manager-rotation-lambdas,
`SecretsManagerElasticacheUserRotation/lambda_function.py`). It is judged
like the Secrets Manager path (NET003), by the same engine: through an
interface endpoint of `com.amazonaws.REGION.elasticache` with private DNS,
its security group and policy, else through a NAT gateway.

## Why it breaks rotation
`setSecret` and `testSecret` log into the database. When the connection is
dropped the function logs `setSecret: Unable to log into database with
previous, current, or pending secret of secret arn ...` or times out, and the
rotation fails, leaving AWSPENDING behind.

## How to fix it
Admit the Lambda's security group on the database's group:
`aws ec2 authorize-security-group-ingress --group-id DB_SG --protocol tcp --port 3306 --source-group LAMBDA_SG`,
or move the Lambda to subnets and a security group the database already
admits (the report names them when it finds a placement from which both the
database and Secrets Manager are reachable):
`aws lambda update-function-configuration --function-name FN --vpc-config SubnetIds=...,SecurityGroupIds=...`.
Blocking network ACLs need allow rules for the port and the ephemeral range.
`--fix` offers that move first when the report found a placement (an
unsafe fix, applied only with `--unsafe-fixes`: it changes the function's
network configuration), then the one missing inbound or outbound rule
between the Lambda's and the database's groups (a safe fix: it only adds).
It does not change network ACLs.

For an ElastiCache user, give the Lambda's subnets a NAT route or an
interface endpoint for the ElastiCache API; `--fix` offers nothing there.

## References
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html
- https://docs.aws.amazon.com/vpc/latest/userguide/vpc-network-acls.html
- https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-routing.html
- https://docs.aws.amazon.com/vpc/latest/peering/vpc-peering-security-groups.html
- https://docs.aws.amazon.com/vpc/latest/tgw/tgw-vpc-attachments.html
- https://aws.amazon.com/blogs/networking-and-content-delivery/introducing-security-group-referencing-for-aws-transit-gateway/
- https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/User-Secrets-Manager.html
- https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/elasticache-privatelink.html
"#,
};

/// The peers the database's groups admit on the port, labelled: who the
/// database was built to let in.
fn admitted_on_port(facts: &Facts, group_ids: &[String], port: u16) -> Vec<String> {
    let groups = facts
        .network
        .security_groups
        .present()
        .into_iter()
        .flatten();
    let mut peers: Vec<String> = groups
        .filter(|g| group_ids.contains(&g.id))
        .flat_map(|g| &g.ingress)
        .filter(|rule| crate::net::tcp_rule_covers_port(rule, port))
        .map(|rule| match &rule.peer {
            SgPeer::Group(id) => facts.label(id),
            SgPeer::Cidr(cidr) => cidr.to_string(),
            SgPeer::PrefixList(id) => format!("prefix list {id}"),
        })
        .collect();
    peers.sort();
    peers.dedup();
    peers
}

/// An ElastiCache user's rotation: the function changes the password through
/// the ElastiCache API (`ModifyUser`), so that API is what it must reach
/// (aws-samples/aws-secrets-manager-rotation-lambdas,
/// SecretsManagerElasticacheUserRotation/lambda_function.py).
fn elasticache_api_finding(facts: &Facts, paths: &NetworkPaths, user: &str) -> Finding {
    let region = &facts.region;
    let api = format!("elasticache.{region}.amazonaws.com");
    let reachable = format!(
        "the rotation Lambda reaches the ElastiCache API ({api}), where its function changes user {user}'s password, from each of its subnets"
    );
    let blocked = |_: &NetPath, hop: &Hop| {
        Blocked {
        message: format!(
            "the rotation Lambda cannot reach the ElastiCache API ({api}) on tcp/443, where its function changes user {user}'s password: {}",
            hop.detail
        ),
        remediation: format!(
            "The function calls elasticache:DescribeUsers and elasticache:ModifyUser on {api}; it never connects to the cache nodes. \
             Give the Lambda's subnets a default route to a NAT gateway, or create an interface endpoint for the ElastiCache API in its VPC, \
             with private DNS and a security group that admits tcp/443 from the Lambda's group: \
             aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --service-name com.amazonaws.{region}.elasticache \
             --vpc-id VPC --subnet-ids SUBNETS --security-group-ids SG --private-dns-enabled"
        ),
        fixes: Vec::new(),
    }
    };
    super::support::path_finding(&META, facts, &paths.database, blocked, &reachable)
}

impl Check for DatabaseReachable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        if let Some(finding) = super::support::no_such_database(&META, facts, &lambda.arn) {
            return vec![*finding];
        }
        if let Some(user) = facts
            .database
            .present()
            .filter(|d| d.kind == DatabaseKind::ElasticacheUser)
        {
            return vec![elasticache_api_finding(facts, paths, &user.identifier)];
        }
        // Through an RDS Proxy the Lambda connects to the proxy.
        let target = facts.connect_target();
        let database = target.as_deref();
        let name = match database {
            Some(d) if d.kind == DatabaseKind::Proxy => {
                format!("RDS Proxy {}", d.identifier)
            }
            Some(d) => d.identifier.clone(),
            None => "the database".to_string(),
        };
        let reachable = format!("the rotation Lambda reaches {name} from each of its subnets");
        let blocked = |path: &NetPath, hop: &Hop| {
            let port = path.port;
            let groups = path.from.security_groups.join(", ");
            // The database's group names the Lambda's, but the reference
            // does not carry across the peering or transit gateway between.
            let not_carried = hop.kind == HopKind::SecurityGroupIngress
                && hop.detail.contains(crate::net::NOT_CARRIED);
            let message = match hop.kind {
                HopKind::SecurityGroupIngress if not_carried => format!(
                    "the rotation Lambda cannot reach {name} on tcp/{port}: {}",
                    hop.detail.split("; ").next().unwrap_or(&hop.detail)
                ),
                HopKind::SecurityGroupIngress => {
                    let db_groups: Vec<String> =
                        hop.resource.split(", ").map(str::to_string).collect();
                    let admitted = admitted_on_port(facts, &db_groups, port);
                    let only = if admitted.is_empty() {
                        String::new()
                    } else {
                        format!(" (it admits tcp/{port} only from {})", admitted.join(", "))
                    };
                    format!(
                        "security group {} does not admit tcp/{port} from the rotation Lambda's security group {}{only}: the Lambda cannot reach {name}",
                        facts.labels(&db_groups),
                        facts.labels(&path.from.security_groups)
                    )
                }
                _ => format!(
                    "the rotation Lambda cannot reach {name} on tcp/{port}: {}",
                    hop.detail
                ),
            };
            let placement = paths.placement.as_ref();
            let mut remediation = Vec::new();
            if let Some(placement) = placement {
                remediation.push(format!(
                    "Put the Lambda in security group {} and subnets {}: the database admits that group on tcp/{port} and Secrets Manager is reachable from those subnets. \
                     aws lambda update-function-configuration --function-name {} --vpc-config SubnetIds={},SecurityGroupIds={}",
                    facts.label(&placement.security_group_id),
                    facts.labels(&placement.subnet_ids),
                    lambda.name,
                    placement.subnet_ids.join(","),
                    placement.security_group_id
                ));
            }
            let db_group = database.and_then(|d| d.security_group_ids.first());
            let mut fixes = Vec::new();
            match hop.kind {
                HopKind::SecurityGroupIngress if not_carried => {
                    let range = path
                        .from
                        .subnet
                        .as_ref()
                        .and_then(|id| facts.network.subnets.present()?.iter().find(|s| &s.id == id))
                        .and_then(|s| s.cidr)
                        .map_or_else(|| "LAMBDA_SUBNET_CIDR".to_string(), |c| c.to_string());
                    remediation.push(format!(
                        "Admit the Lambda's subnet range instead of its group: aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port {port} --cidr {range}",
                        hop.resource
                    ));
                }
                HopKind::SecurityGroupIngress => {
                    for group in &path.from.security_groups {
                        remediation.push(format!(
                            "{} admit its group: aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port {port} --source-group {group}",
                            if remediation.is_empty() { "Admit the Lambda's group on the database's group:" } else { "Or" },
                            hop.resource
                        ));
                    }
                    if let Some(db_group) = db_group {
                        fixes.push(FixPlan {
                            summary: format!(
                                "admit the Lambda's security group {} on {} for tcp/{port}",
                                facts.labels(&path.from.security_groups),
                                facts.label(db_group)
                            ),
                            rationale: format!(
                                "Additive: one inbound rule on {db_group}; nothing that works now changes. It lets every member of {groups} connect to {name} on tcp/{port}."
                            ),
                            actions: path
                                .from
                                .security_groups
                                .iter()
                                .map(|source| FixAction::AuthorizeIngressFromGroup {
                                    group_id: db_group.clone(),
                                    port,
                                    source_group_id: source.clone(),
                                    description: "rotation-doctor: rotation Lambda to database".to_string(),
                                })
                                .collect(),
                        });
                    }
                }
                HopKind::SecurityGroupEgress => {
                    remediation.push(format!(
                        "Allow outbound tcp/{port} from {} to the database's security group: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port {port} --source-group DB_SG",
                        hop.resource, hop.resource
                    ));
                    if let (Some(db_group), Some(lambda_group)) = (db_group, path.from.security_groups.first()) {
                        fixes.push(FixPlan {
                            summary: format!("allow tcp/{port} out of {lambda_group} to {db_group}"),
                            rationale: format!("Additive: one outbound rule on {lambda_group}, to the database's group only."),
                            actions: vec![FixAction::AuthorizeEgress {
                                group_id: lambda_group.clone(),
                                port,
                                destination: EgressDestination::Group(db_group.clone()),
                                description: "rotation-doctor: rotation Lambda to database".to_string(),
                            }],
                        });
                    }
                }
                HopKind::NetworkAclInbound | HopKind::NetworkAclOutbound => remediation.push(format!(
                    "Add allow rules to {} for tcp/{port} and the return ports 1024-65535 between the Lambda's and the database's subnets, numbered before the rule that denies",
                    hop.resource
                )),
                HopKind::Placement => remediation.push(
                    "Attach the Lambda to private subnets of the database's VPC (see NET001).".to_string(),
                ),
                _ => remediation.push(format!("Repair {}: {}", hop.resource, hop.detail)),
            }
            // Moving the Lambda where the VPC was built to have it widens no
            // rule, so it comes first; without --unsafe-fixes the safe plan
            // after it is applied instead.
            if let (Some(placement), Some(vpc)) = (placement, &lambda.vpc) {
                fixes.insert(0, FixPlan {
                    summary: format!(
                        "move the Lambda to subnets {} and security group {}",
                        facts.labels(&placement.subnet_ids),
                        facts.label(&placement.security_group_id)
                    ),
                    rationale: format!(
                        "Puts the Lambda where the VPC was built to have it: {name} admits {} on tcp/{port}, and Secrets Manager is reachable from those subnets, so no rule is widened. \
                         It changes the function's network configuration (unsafe); its current subnets and groups are kept in the journal for undo.",
                        placement.security_group_id
                    ),
                    actions: vec![FixAction::UpdateLambdaVpc {
                        function_name: lambda.name.clone(),
                        subnet_ids: placement.subnet_ids.clone(),
                        security_group_ids: vec![placement.security_group_id.clone()],
                        previous_subnet_ids: vpc.subnet_ids.clone(),
                        previous_security_group_ids: vpc.security_group_ids.clone(),
                    }],
                });
            }
            Blocked {
                message,
                remediation: remediation.join("\n"),
                fixes,
            }
        };
        vec![super::support::path_finding(
            &META,
            facts,
            &paths.database,
            blocked,
            &reachable,
        )]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        let failing = crate::fixtures::lab();
        let passing = crate::fixtures::lab_moved();
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;
    use crate::fixtures::{lab, lab_moved};

    #[test]
    fn lab_fails_naming_the_group_the_port_and_the_way_out() {
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &lab()).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.resource, "sg-db");
        assert!(
            finding.message.contains(
                "security group sg-db (db) does not admit tcp/3306 from the rotation Lambda's security group sg-db (db) (it admits tcp/3306 only from sg-lambda (lambda))"
            ),
            "{}",
            finding.message
        );
        assert!(
            finding.remediation.contains(
                "security group sg-lambda (lambda) and subnets subnet-lambda-a, subnet-lambda-b"
            ),
            "{}",
            finding.remediation
        );
        assert!(finding
            .remediation
            .contains("--group-id sg-db --protocol tcp --port 3306 --source-group sg-db"));
        assert!(finding
            .evidence
            .iter()
            .any(|e| e.contains("sg-db (db) ✗ BLOCKED")));
    }

    #[test]
    fn lab_offers_moving_the_lambda_then_admitting_the_group() {
        use crate::fix::{FixAction, Safety};
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &lab()).remove(0);
        assert_eq!(finding.fixes.len(), 2);
        assert_eq!(finding.fixes[1].safety(), Safety::Safe);
        assert_eq!(
            finding.fixes[1].actions,
            vec![FixAction::AuthorizeIngressFromGroup {
                group_id: "sg-db".into(),
                port: 3306,
                source_group_id: "sg-db".into(),
                description: "rotation-doctor: rotation Lambda to database".into(),
            }]
        );
        assert_eq!(finding.fixes[0].safety(), Safety::Unsafe);
        match &finding.fixes[0].actions[0] {
            FixAction::UpdateLambdaVpc {
                subnet_ids,
                security_group_ids,
                previous_security_group_ids,
                ..
            } => {
                assert_eq!(subnet_ids, &["subnet-lambda-a", "subnet-lambda-b"]);
                assert_eq!(security_group_ids, &["sg-lambda"]);
                assert_eq!(previous_security_group_ids, &["sg-db"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn passes_once_the_lambda_is_moved() {
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &lab_moved()).remove(0);
        assert_eq!(finding.status, Status::Pass, "{finding:?}");
    }

    #[test]
    fn a_group_reference_across_a_transit_gateway_asks_for_a_range() {
        let mut facts = crate::fixtures::lab_via_transit_gateway();
        let network = &mut facts.network.security_groups;
        for group in crate::fixtures::get(network) {
            if group.id == "sg-far-db" {
                group.ingress.retain(|r| matches!(r.peer, SgPeer::Group(_)));
            }
        }
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.contains(
                "sg-far-db (far-db) admits tcp/3306 from sg-lambda (lambda) by group reference, but tgw-lab does not have security group referencing enabled"
            ),
            "{}",
            finding.message
        );
        assert!(
            finding
                .remediation
                .contains("--group-id sg-far-db --protocol tcp --port 3306 --cidr 10.0.11.0/24"),
            "{}",
            finding.remediation
        );
        // Admitting the group it already admits would change nothing.
        assert!(
            !finding.remediation.contains("--source-group"),
            "{}",
            finding.remediation
        );
        // The group in the database's VPC is no placement for the Lambda.
        assert!(
            !finding
                .remediation
                .contains("update-function-configuration"),
            "{}",
            finding.remediation
        );
    }

    #[test]
    fn a_host_that_matches_no_database_is_skipped_for_db001() {
        let mut facts = lab_moved();
        facts.database = crate::facts::Fact::Unavailable(crate::facts::Unavailable {
            call: "rds:DescribeDBInstances".into(),
            kind: crate::facts::ErrorKind::NotFound,
            message: "no RDS DB instance or cluster has the endpoint".into(),
        });
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Skipped, "{finding:?}");
        assert!(finding.message.contains("see DB001"), "{}", finding.message);
        assert!(
            finding
                .message
                .contains("lab-db.abc.us-east-1.rds.amazonaws.com"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn a_redshift_cluster_fails_on_5439_naming_its_group_until_admitted() {
        let mut facts = crate::fixtures::redshift();
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.resource, "sg-db");
        assert!(
            finding.message.contains(
                "security group sg-db (db) does not admit tcp/5439 from the rotation Lambda's security group sg-lambda (lambda)"
            ),
            "{}",
            finding.message
        );
        assert!(
            finding.message.contains("reach lab-warehouse"),
            "{}",
            finding.message
        );
        crate::fixtures::get(&mut facts.network.security_groups)[0]
            .ingress
            .push(crate::fixtures::tcp(
                5439,
                SgPeer::Group("sg-lambda".into()),
            ));
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Pass, "{finding:?}");
    }

    #[test]
    fn an_elasticache_user_needs_its_api_not_the_cache_port() {
        let mut facts = crate::fixtures::elasticache_user();
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Pass, "{finding:?}");
        assert!(
            finding
                .message
                .contains("reaches the ElastiCache API (elasticache.us-east-1.amazonaws.com)"),
            "{}",
            finding.message
        );
        crate::fixtures::get(&mut facts.network.route_tables)[1]
            .routes
            .retain(|r| r.target == crate::facts::RouteTarget::Local);
        let finding = crate::rules::evaluate_alone(&DatabaseReachable, &facts).remove(0);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.message.starts_with(
                "the rotation Lambda cannot reach the ElastiCache API (elasticache.us-east-1.amazonaws.com) on tcp/443, where its function changes user app-user's password"
            ),
            "{}",
            finding.message
        );
        assert!(finding
            .remediation
            .contains("com.amazonaws.us-east-1.elasticache"));
        assert!(finding.fixes.is_empty(), "{:?}", finding.fixes);
    }
}
