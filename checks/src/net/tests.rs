use super::*;
use crate::facts::*;
use crate::fixtures::{self, acl_entry, get, group, net, route, tcp};

fn db_verdicts(facts: &Facts) -> Vec<Verdict> {
    database_paths(facts)
        .expect("paths")
        .iter()
        .map(|p| p.verdict)
        .collect()
}

fn sm_paths(facts: &Facts) -> Vec<NetPath> {
    secretsmanager_paths(facts).expect("paths")
}

#[test]
fn lab_database_path_is_blocked_by_the_db_group() {
    let paths = database_paths(&fixtures::lab()).unwrap();
    assert_eq!(paths.len(), 2);
    for path in &paths {
        assert_eq!(path.verdict, Verdict::Blocked);
        assert_eq!(path.blocked_by.as_deref(), Some("sg-db"));
        let hop = path
            .hops
            .iter()
            .find(|h| h.verdict == HopVerdict::Block)
            .unwrap();
        assert_eq!(hop.kind, HopKind::SecurityGroupIngress);
        assert!(hop.detail.contains("tcp/3306"), "{}", hop.detail);
        assert!(hop.detail.contains("only sg-lambda"), "{}", hop.detail);
    }
}

#[test]
fn moved_lambda_reaches_database_and_secretsmanager() {
    let facts = fixtures::lab_moved();
    assert_eq!(db_verdicts(&facts), vec![Verdict::Reachable; 2]);
    for path in sm_paths(&facts) {
        assert_eq!(path.verdict, Verdict::Reachable, "{:#?}", path.hops);
        assert!(path.hops.iter().any(|h| h.resource == "nat-lab"));
        assert!(path.hops.iter().any(|h| h.resource == "igw-lab"));
    }
}

#[test]
fn internet_gateway_route_alone_does_not_reach_secretsmanager() {
    let mut facts = fixtures::lab_moved();
    let tables = get(&mut facts.network.route_tables);
    tables[1].routes[1] = route("0.0.0.0/0", RouteTarget::InternetGateway("igw-lab".into()));
    for path in sm_paths(&facts) {
        assert_eq!(path.verdict, Verdict::Blocked);
        assert_eq!(path.blocked_by.as_deref(), Some("rtb-private"));
        assert!(path.hops.iter().any(|h| h.detail.contains("no public IP")));
    }
}

#[test]
fn no_default_route_and_no_endpoint_is_blocked() {
    let mut facts = fixtures::lab_moved();
    get(&mut facts.network.route_tables)[1].routes.pop();
    let paths = sm_paths(&facts);
    assert!(paths.iter().all(|p| p.verdict == Verdict::Blocked));
    assert!(paths[0]
        .hops
        .iter()
        .any(|h| h.detail.contains("no default route")));
}

#[test]
fn deleted_nat_gateway_blocks() {
    let mut facts = fixtures::lab_moved();
    get(&mut facts.network.nat_gateways)[0].state = Some("deleted".into());
    assert!(sm_paths(&facts)
        .iter()
        .all(|p| p.blocked_by.as_deref() == Some("nat-lab")));
}

#[test]
fn nat_without_internet_route_blocks_at_the_public_table() {
    let mut facts = fixtures::lab_moved();
    get(&mut facts.network.route_tables)[2].routes.pop();
    let paths = sm_paths(&facts);
    assert!(paths
        .iter()
        .all(|p| p.blocked_by.as_deref() == Some("rtb-public")));
}

fn add_endpoint(facts: &mut Facts, private_dns: bool, endpoint_ingress: Vec<SgRule>) {
    get(&mut facts.network.security_groups).push(group("sg-vpce", endpoint_ingress, Vec::new()));
    get(&mut facts.network.vpc_endpoints).push(VpcEndpoint {
        id: "vpce-sm".into(),
        vpc_id: "vpc-lab".into(),
        service_name: "com.amazonaws.us-east-1.secretsmanager".into(),
        endpoint_type: Some("Interface".into()),
        state: Some("available".into()),
        subnet_ids: vec!["subnet-lambda-a".into()],
        security_group_ids: vec!["sg-vpce".into()],
        private_dns_enabled: private_dns,
        dns_names: vec!["vpce-sm-1234.secretsmanager.us-east-1.vpce.amazonaws.com".into()],
        policy: None,
    });
    // Without the NAT, only the endpoint can work.
    get(&mut facts.network.route_tables)[1].routes.pop();
}

#[test]
fn endpoint_with_private_dns_and_open_group_is_reachable_across_zones() {
    let mut facts = fixtures::lab_moved();
    add_endpoint(
        &mut facts,
        true,
        vec![tcp(443, SgPeer::Group("sg-lambda".into()))],
    );
    let paths = sm_paths(&facts);
    assert!(
        paths.iter().all(|p| p.verdict == Verdict::Reachable),
        "{paths:#?}"
    );
    // subnet-lambda-b is in us-east-1b, the endpoint only in us-east-1a.
    assert!(paths[1]
        .hops
        .iter()
        .any(|h| h.verdict == HopVerdict::Info && h.detail.contains("crosses")));
}

#[test]
fn endpoint_without_private_dns_is_a_near_miss() {
    let mut facts = fixtures::lab_moved();
    add_endpoint(
        &mut facts,
        false,
        vec![tcp(443, SgPeer::Group("sg-lambda".into()))],
    );
    let path = &sm_paths(&facts)[0];
    assert_eq!(path.verdict, Verdict::Blocked);
    assert!(path
        .hops
        .iter()
        .any(|h| h.resource == "vpce-sm" && h.verdict == HopVerdict::Info));
    // ...which SECRETS_MANAGER_ENDPOINT pointing at the endpoint repairs.
    get(&mut facts.lambda).secrets_manager_endpoint =
        Some("https://vpce-sm-1234.secretsmanager.us-east-1.vpce.amazonaws.com".into());
    assert!(sm_paths(&facts)
        .iter()
        .all(|p| p.verdict == Verdict::Reachable));
}

#[test]
fn endpoint_group_without_443_blocks_at_the_endpoint_group() {
    let mut facts = fixtures::lab_moved();
    add_endpoint(
        &mut facts,
        true,
        vec![tcp(80, SgPeer::Group("sg-lambda".into()))],
    );
    let path = &sm_paths(&facts)[0];
    assert_eq!(path.blocked_by.as_deref(), Some("sg-vpce"));
}

#[test]
fn endpoint_policy_deny_blocks() {
    let mut facts = fixtures::lab_moved();
    add_endpoint(
        &mut facts,
        true,
        vec![tcp(443, SgPeer::Cidr(net("10.0.0.0/16")))],
    );
    get(&mut facts.network.vpc_endpoints)[0].policy = Some(serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    ]}));
    let path = &sm_paths(&facts)[0];
    assert_eq!(path.verdict, Verdict::Blocked);
    assert!(path
        .hops
        .iter()
        .any(|h| h.kind == HopKind::EndpointPolicy && h.verdict == HopVerdict::Block));
}

#[test]
fn lambda_egress_limited_to_443_blocks_the_database() {
    let mut facts = fixtures::lab_moved();
    let groups = get(&mut facts.network.security_groups);
    groups[1].egress = vec![tcp(443, SgPeer::Cidr(net("0.0.0.0/0")))];
    let paths = database_paths(&facts).unwrap();
    assert!(paths
        .iter()
        .all(|p| p.blocked_by.as_deref() == Some("sg-lambda")));
    assert!(sm_paths(&facts)
        .iter()
        .all(|p| p.verdict == Verdict::Reachable));
}

#[test]
fn nacl_deny_on_the_database_port_blocks() {
    let mut facts = fixtures::lab_moved();
    let acls = get(&mut facts.network.network_acls);
    acls[0].entries.push(acl_entry(
        50,
        false,
        false,
        "10.0.0.0/16",
        Some((3306, 3306)),
    ));
    let paths = database_paths(&facts).unwrap();
    assert!(paths
        .iter()
        .all(|p| p.blocked_by.as_deref() == Some("acl-default")));
}

#[test]
fn custom_nacl_without_entries_denies() {
    let mut facts = fixtures::lab_moved();
    let acls = get(&mut facts.network.network_acls);
    acls[0].subnet_ids.retain(|s| s != "subnet-db-a");
    acls.push(NetworkAcl {
        id: "acl-empty".into(),
        vpc_id: "vpc-lab".into(),
        is_default: false,
        subnet_ids: vec!["subnet-db-a".into()],
        entries: Vec::new(),
    });
    let paths = database_paths(&facts).unwrap();
    assert!(paths
        .iter()
        .all(|p| p.blocked_by.as_deref() == Some("acl-empty")));
}

#[test]
fn database_ingress_by_the_lambda_subnet_range() {
    let mut facts = fixtures::lab_moved();
    get(&mut facts.network.security_groups)[0].ingress =
        vec![tcp(3306, SgPeer::Cidr(net("10.0.8.0/21")))];
    // 10.0.8.0/21 covers 10.0.11.0/24 and 10.0.12.0/24.
    assert_eq!(db_verdicts(&facts), vec![Verdict::Reachable; 2]);
    get(&mut facts.network.security_groups)[0].ingress =
        vec![tcp(3306, SgPeer::Cidr(net("10.0.11.0/25")))];
    assert_eq!(db_verdicts(&facts), vec![Verdict::Blocked; 2]);
}

#[test]
fn database_ingress_on_the_wrong_port_blocks() {
    let mut facts = fixtures::lab_moved();
    get(&mut facts.network.security_groups)[0].ingress =
        vec![tcp(5432, SgPeer::Group("sg-lambda".into()))];
    assert_eq!(db_verdicts(&facts), vec![Verdict::Blocked; 2]);
}

#[test]
fn a_denied_describe_call_makes_paths_unknown_not_reachable() {
    let mut facts = fixtures::lab_moved();
    facts.network.security_groups = Fact::Unavailable(Unavailable {
        call: "ec2:DescribeSecurityGroups".into(),
        kind: ErrorKind::AccessDenied,
        message: "not authorized".into(),
    });
    for path in database_paths(&facts)
        .unwrap()
        .iter()
        .chain(sm_paths(&facts).iter())
    {
        assert_eq!(path.verdict, Verdict::Unknown);
        assert!(path
            .hops
            .iter()
            .any(|h| h.detail.contains("ec2:DescribeSecurityGroups")));
    }
}

#[test]
fn lambda_outside_a_vpc_cannot_reach_a_private_database() {
    let mut facts = fixtures::lab();
    get(&mut facts.lambda).vpc = None;
    assert_eq!(db_verdicts(&facts), vec![Verdict::Blocked]);
    assert_eq!(sm_paths(&facts)[0].verdict, Verdict::Reachable);
}

#[test]
fn prefix_list_rules_are_unknown() {
    let mut facts = fixtures::lab_moved();
    get(&mut facts.network.security_groups)[0].ingress =
        vec![tcp(3306, SgPeer::PrefixList("pl-123".into()))];
    assert_eq!(db_verdicts(&facts), vec![Verdict::Unknown; 2]);
}

#[test]
fn a_redshift_cluster_is_judged_on_5439() {
    let mut facts = fixtures::redshift();
    for path in database_paths(&facts).expect("paths") {
        assert_eq!(path.port, 5439);
        assert_eq!(
            path.blocked_by.as_deref(),
            Some("sg-db"),
            "{:#?}",
            path.hops
        );
    }
    get(&mut facts.network.security_groups)[0]
        .ingress
        .push(tcp(5439, SgPeer::Group("sg-lambda".to_string())));
    assert_eq!(db_verdicts(&facts), vec![Verdict::Reachable; 2]);
}

#[test]
fn an_elasticache_user_is_reached_through_its_api_not_port_6379() {
    let mut facts = fixtures::elasticache_user();
    let paths = database_paths(&facts).expect("paths");
    for path in &paths {
        // The DB group admits no 6379, and that does not matter.
        assert_eq!((path.port, path.verdict), (443, Verdict::Reachable));
        assert!(
            path.hops.iter().any(|h| h.resource == "nat-lab"),
            "{:#?}",
            path.hops
        );
    }
    // Without the NAT route, only an ElastiCache interface endpoint would do.
    get(&mut facts.network.route_tables)[1]
        .routes
        .retain(|r| r.target == RouteTarget::Local);
    let paths = database_paths(&facts).expect("paths");
    let hop = paths[0]
        .hops
        .iter()
        .find(|h| h.verdict == HopVerdict::Block)
        .expect("a blocking hop");
    assert!(
        hop.detail
            .contains("no usable interface endpoint for ElastiCache"),
        "{}",
        hop.detail
    );
    get(&mut facts.network.vpc_endpoints).push(VpcEndpoint {
        id: "vpce-cache".to_string(),
        vpc_id: "vpc-lab".to_string(),
        service_name: "com.amazonaws.us-east-1.elasticache".to_string(),
        endpoint_type: Some("Interface".to_string()),
        state: Some("available".to_string()),
        subnet_ids: vec!["subnet-lambda-a".to_string(), "subnet-lambda-b".to_string()],
        security_group_ids: vec!["sg-lambda".to_string()],
        private_dns_enabled: true,
        dns_names: Vec::new(),
        policy: Some(serde_json::json!({
            "Statement": [{"Effect": "Allow", "Principal": "*",
                           "Action": "elasticache:DescribeUsers", "Resource": "*"}]
        })),
    });
    get(&mut facts.network.security_groups)[1]
        .ingress
        .push(tcp(443, SgPeer::Group("sg-lambda".to_string())));
    let paths = database_paths(&facts).expect("paths");
    let hop = paths[0]
        .hops
        .iter()
        .find(|h| h.verdict == HopVerdict::Block)
        .expect("the endpoint policy blocks");
    assert_eq!(hop.kind, HopKind::EndpointPolicy);
    assert!(
        hop.detail.contains("does not allow elasticache:ModifyUser"),
        "{}",
        hop.detail
    );
    // No placement is offered from the replication group's groups.
    assert_eq!(suggest_placement(&facts), None);
}
