//! NET004: a multi-user rotation whose master secret RDS manages reaches the
//! RDS API.

use super::service_fixes;
use super::support::Blocked;
use crate::check::{Check, CheckMeta, ExplainedBy, RotationStep};
use crate::diagnosis::NetworkPaths;
use crate::facts::{Fact, Facts};
use crate::finding::{Finding, Severity, Status};
use crate::net::{Hop, HopKind, NetPath, RDS_API};

pub struct RdsApiReachable;

static META: CheckMeta = CheckMeta {
    id: "NET004",
    name: "rds-api-unreachable",
    title: "Multi-user rotation with an RDS-managed master secret reaches the RDS API",
    severity: Severity::Critical,
    can_fix: true,
    optional_evidence: false,
    breaks_steps: &[RotationStep::SetSecret],
    explained_by: ExplainedBy::Checks(&["NET001"]),
    docs: r#"## What it checks
For a multi-user secret whose master secret (`masterarn`) is managed by RDS
(`rds!db-…` or `rds!cluster-…`, tagged `aws:rds:primaryDBInstanceArn` or
`aws:rds:primaryDBClusterArn`), whether HTTPS from each of the rotation
Lambda's subnets reaches the RDS API: through an interface endpoint
`com.amazonaws.REGION.rds` whose private DNS is on (with the VPC's DNS
support and host names on), its security group on 443 and its policy, or
else to the public endpoint `rds.REGION.amazonaws.com` through a NAT
gateway. It is the same engine as NET003's, asked about another service.
Other secrets skip it.

It is a check of its own rather than part of NET003: only these secrets
need the path, an endpoint for Secrets Manager does not serve it, and a
finding that names the RDS API says which endpoint is missing.

## Why it breaks rotation
An RDS-managed master secret holds only `username` and `password`. The
multi-user templates then read the master secret's tags and call
`DescribeDBInstances` (or `DescribeDBClusters`) to find its host, port and
engine (`get_connection_params_from_rds_api`), in setSecret. With no way to
the RDS API the call hangs until the function times out, or fails with
`setSecret: Encountered API error while fetching connection parameters from
DescribeDBInstances RDS API`. Subnets that reach Secrets Manager only
through its interface endpoint typically have no way to the RDS API. The
role needs `rds:DescribeDBInstances` / `rds:DescribeDBClusters` as well
(IAM002).

## How to fix it
Create an interface endpoint for the RDS API in the Lambda's subnets:
`aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --vpc-id VPC --service-name com.amazonaws.REGION.rds --subnet-ids ... --security-group-ids SG --private-dns-enabled`
(billed by the hour) with a security group that admits tcp/443 from the
Lambda's group, or give the subnets a default route to a NAT gateway.
`--fix` adds a missing tcp/443 security group rule (a safe fix: it only
adds). When the subnets have no way to the RDS API, it offers an interface
endpoint `com.amazonaws.REGION.rds` in the Lambda's subnets (one a zone),
guarded by the Lambda's own group opened to itself on tcp/443 (a safe fix,
though billed by the hour), as NET003 does for Secrets Manager. It does not
change routes, network ACLs or endpoint policies.

## References
- https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas/blob/master/SecretsManagerRDSMySQLRotationMultiUser/lambda_function.py (`get_connection_params_from_rds_api`, `fetch_instance_arn_from_system_tags`)
- https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-function-network-access.html
- https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/vpc-interface-endpoints.html
"#,
};

impl Check for RdsApiReachable {
    fn meta(&self) -> &'static CheckMeta {
        &META
    }

    fn evaluate(&self, facts: &Facts, paths: &NetworkPaths) -> Vec<Finding> {
        let lambda = match super::support::rotation_lambda(&META, facts) {
            Ok(lambda) => lambda,
            Err(finding) => return vec![*finding],
        };
        let skip = |why: &str| vec![META.finding(Status::Skipped, &lambda.arn, why)];
        match &facts.master_secret {
            Fact::Present(master) if master.rds_primary_arn.is_some() => {}
            Fact::Present(_) => {
                return skip("the master secret is not managed by RDS: it names its own host")
            }
            Fact::Unavailable(u) => {
                return vec![META.finding(
                    Status::Unknown,
                    &lambda.arn,
                    format!("whether RDS manages the master secret is unknown: {u}"),
                )]
            }
            Fact::NotApplicable(_) => {
                return skip("not a multi-user secret: the function does not call the RDS API")
            }
        }
        let region = &facts.region;
        let blocked = |path: &NetPath, hop: &Hop| {
            let subnet = path
                .from
                .subnet
                .as_deref()
                .map_or("its network".to_string(), |s| facts.label(s));
            let groups = path.from.security_groups.join(",");
            let message = format!(
                "the rotation Lambda cannot reach the RDS API from {subnet}, which it calls to find the RDS-managed master secret's database: {}",
                hop.detail
            );
            let lambda_group = path.from.security_groups.first();
            let (remediation, fixes) = match hop.kind {
                HopKind::SecurityGroupIngress => (
                    format!(
                        "Admit HTTPS from the Lambda's group on the endpoint's group: aws ec2 authorize-security-group-ingress --group-id {} --protocol tcp --port 443 --source-group {}",
                        hop.resource.split(", ").next().unwrap_or(&hop.resource),
                        lambda_group.map_or("LAMBDA_SG", String::as_str)
                    ),
                    service_fixes::admit_on_endpoint_group(&RDS_API, path, hop),
                ),
                HopKind::SecurityGroupEgress => (
                    format!(
                        "Allow outbound tcp/443 from {}: aws ec2 authorize-security-group-egress --group-id {} --protocol tcp --port 443 --cidr 0.0.0.0/0",
                        hop.resource, hop.resource
                    ),
                    service_fixes::allow_egress(&RDS_API, facts, path),
                ),
                HopKind::NetworkAclInbound | HopKind::NetworkAclOutbound => (
                    format!(
                        "Add allow rules to {} for tcp/443 and the return ports 1024-65535, numbered before the rule that denies",
                        hop.resource
                    ),
                    None,
                ),
                HopKind::EndpointPolicy => (
                    format!(
                        "Let the endpoint policy of {} allow rds:DescribeDBInstances and rds:DescribeDBClusters",
                        hop.resource
                    ),
                    None,
                ),
                _ => (
                    format!(
                        "Create an interface endpoint for the RDS API with private DNS (billed hourly): aws ec2 create-vpc-endpoint --vpc-endpoint-type Interface --vpc-id VPC --service-name com.amazonaws.{region}.rds --subnet-ids {subnet} --security-group-ids ENDPOINT_SG --private-dns-enabled, with ENDPOINT_SG admitting tcp/443 from {groups}; \
                         or give {subnet} a default route to a NAT gateway in a public subnet"
                    ),
                    service_fixes::new_endpoint(&RDS_API, facts, lambda),
                ),
            };
            Blocked {
                message,
                remediation,
                fixes: fixes.into_iter().collect(),
            }
        };
        vec![super::support::path_finding(
            &META,
            facts,
            &paths.rds_api,
            blocked,
            "the rotation Lambda reaches the RDS API from each of its subnets",
        )]
    }

    #[cfg(test)]
    fn fixtures(&self) -> (Facts, Facts) {
        // The moved lab without its NAT route, reaching Secrets Manager
        // through its interface endpoint only.
        let passing = crate::fixtures::rds_managed_master(crate::fixtures::lab_moved());
        let failing = {
            let mut facts = passing.clone();
            crate::fixtures::get(&mut facts.network.route_tables)[1]
                .routes
                .truncate(1);
            facts
        };
        (failing, passing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::VpcEndpoint;
    use crate::fix::FixAction;
    use crate::fixtures::{get, lab_moved};
    use crate::rules::evaluate_alone;

    fn first(facts: &Facts) -> Finding {
        evaluate_alone(&RdsApiReachable, facts).remove(0)
    }

    fn endpoint(service: &str) -> VpcEndpoint {
        VpcEndpoint {
            id: format!("vpce-{service}"),
            vpc_id: "vpc-lab".into(),
            service_name: format!("com.amazonaws.us-east-1.{service}"),
            endpoint_type: Some("Interface".into()),
            state: Some("available".into()),
            subnet_ids: vec!["subnet-lambda-a".into(), "subnet-lambda-b".into()],
            security_group_ids: vec!["sg-lambda".into()],
            private_dns_enabled: true,
            dns_names: Vec::new(),
            policy: None,
        }
    }

    /// The lab with no NAT route and a Secrets Manager endpoint; the Lambda
    /// group admits itself on 443 (it guards the endpoints).
    fn private_lab() -> Facts {
        let mut facts = RdsApiReachable.fixtures().0;
        get(&mut facts.network.vpc_endpoints).push(endpoint("secretsmanager"));
        if let Fact::Present(groups) = &mut facts.network.security_groups {
            for group in groups.iter_mut().filter(|g| g.id == "sg-lambda") {
                group.ingress.push(crate::fixtures::tcp(
                    443,
                    crate::facts::SgPeer::Group("sg-lambda".into()),
                ));
            }
        }
        facts
    }

    #[test]
    fn no_nat_and_no_rds_endpoint_fails_naming_the_endpoint_to_create() {
        let facts = private_lab();
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        assert!(
            f.message
                .contains("no usable interface endpoint for the RDS API"),
            "{}",
            f.message
        );
        assert!(
            f.remediation.contains("com.amazonaws.us-east-1.rds"),
            "{}",
            f.remediation
        );
        // The plan: an RDS endpoint in one subnet a zone, guarded by the
        // Lambda's group opened to itself.
        let plan = f.fixes.first().expect("a fix plan");
        assert_eq!(
            plan.summary,
            "create an interface endpoint for the RDS API in vpc-lab"
        );
        assert!(
            matches!(&plan.actions[..], [
                FixAction::AuthorizeIngressFromGroup { group_id, port: 443, source_group_id, .. },
                FixAction::CreateInterfaceEndpoint { service_name, subnet_ids, security_group_ids, .. },
            ] if group_id == "sg-lambda" && source_group_id == "sg-lambda"
                && service_name == "com.amazonaws.us-east-1.rds"
                && subnet_ids == &["subnet-lambda-a", "subnet-lambda-b"]
                && security_group_ids == &["sg-lambda"]),
            "{plan:?}"
        );
        // Secrets Manager is reachable through its own endpoint all along.
        let paths = crate::net::secretsmanager_paths(&facts).expect("paths");
        assert!(paths
            .iter()
            .all(|p| p.verdict == crate::net::Verdict::Reachable));
    }

    #[test]
    fn an_rds_endpoint_with_private_dns_or_the_nat_passes() {
        let mut facts = private_lab();
        get(&mut facts.network.vpc_endpoints).push(endpoint("rds"));
        let f = first(&facts);
        assert_eq!(f.status, Status::Pass, "{}", f.message);
        assert!(f.evidence.iter().any(|e| e.contains("vpce-rds")), "{f:?}");
        assert_eq!(first(&RdsApiReachable.fixtures().1).status, Status::Pass);
    }

    #[test]
    fn a_deleted_rds_endpoint_neither_serves_nor_stops_a_new_one() {
        let mut facts = private_lab();
        let mut deleted = endpoint("rds");
        deleted.state = Some("deleted".into());
        get(&mut facts.network.vpc_endpoints).push(deleted);
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        assert!(
            f.evidence.iter().any(|e| e.contains("vpce-rds is deleted")),
            "{:?}",
            f.evidence
        );
        assert_eq!(
            f.fixes.first().map(|p| p.summary.as_str()),
            Some("create an interface endpoint for the RDS API in vpc-lab")
        );
    }

    #[test]
    fn an_rds_endpoint_whose_group_refuses_the_lambda_offers_the_rule() {
        let mut facts = private_lab();
        let mut rds = endpoint("rds");
        rds.security_group_ids = vec!["sg-db".into()];
        get(&mut facts.network.vpc_endpoints).push(rds);
        let f = first(&facts);
        assert_eq!(f.status, Status::Fail, "{}", f.message);
        let plan = f.fixes.first().expect("a fix plan");
        assert!(
            matches!(&plan.actions[..], [FixAction::AuthorizeIngressFromGroup { group_id, port: 443, source_group_id, description }]
                if group_id == "sg-db" && source_group_id == "sg-lambda"
                && description == "rotation-doctor: rotation Lambda to the RDS API"),
            "{plan:?}"
        );
    }

    #[test]
    fn other_secrets_skip() {
        assert_eq!(first(&lab_moved()).status, Status::Skipped);
        let mut facts = RdsApiReachable.fixtures().0;
        if let Fact::Present(master) = &mut facts.master_secret {
            master.rds_primary_arn = None;
        }
        assert_eq!(first(&facts).status, Status::Skipped);
    }
}
