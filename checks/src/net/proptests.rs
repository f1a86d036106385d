//! Properties of the reachability engine on generated worlds.
//!
//! A world starts healthy (every path reachable; Secrets Manager through the
//! NAT gateway or an interface endpoint) and is then bent by up to three
//! perturbations drawn from a list. Bending a working network, rather than
//! drawing rules at random, keeps reachable paths common: "an allow never
//! blocks a reachable path" means little when no path is reachable.
//! `generated_worlds_are_mixed` measures the share of each kind.

use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::strategy::ValueTree;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};

use super::*;
use crate::facts::*;
use crate::fixtures::{self, acl_entry, all_traffic, get, group, net, tcp};

const VPCE_NAME: &str = "vpce-sm-1234.secretsmanager.us-east-1.vpce.amazonaws.com";

/// How the healthy world reaches Secrets Manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// The private route table's 0.0.0.0/0 to the lab's NAT gateway.
    Nat,
    /// An interface endpoint whose private DNS answers for the public name.
    PrivateDns,
    /// An interface endpoint without private DNS, named by
    /// SECRETS_MANAGER_ENDPOINT.
    EndpointName,
}

/// The choices that make a world in which every path is reachable.
#[derive(Clone, Debug)]
struct Healthy {
    lambda_subnets: Vec<&'static str>,
    db_subnets: Vec<&'static str>,
    engine: &'static str,
    /// The port the secret and the database give; `None`: the engine's default.
    port: Option<u16>,
    /// Whom the database group admits, on its port or on every port.
    db_peer: SgPeer,
    db_all_ports: bool,
    /// The Lambda group's egress: exactly the two flows, or all traffic.
    lambda_egress_exact: bool,
    access: Access,
    /// Endpoint worlds may keep the NAT route as well.
    nat_route: bool,
    endpoint_subnets: Vec<&'static str>,
    /// The database subnets get their own network ACL (the default's entries).
    db_acl: bool,
}

fn healthy() -> impl Strategy<Value = Healthy> {
    let subnet_lists =
        |a: &'static str, b: &'static str| select(vec![vec![a], vec![b], vec![a, b], vec![b, a]]);
    (
        subnet_lists("subnet-lambda-a", "subnet-lambda-b"),
        subnet_lists("subnet-db-a", "subnet-db-b"),
        select(vec!["mysql", "postgres", "sqlserver-ex", "oracle-ee"]),
        prop_oneof![Just(None), Just(Some(13306))],
        select(vec![
            SgPeer::Group("sg-lambda".into()),
            SgPeer::Cidr(net("10.0.0.0/16")),
            // Covers both Lambda subnets, 10.0.11.0/24 and 10.0.12.0/24.
            SgPeer::Cidr(net("10.0.8.0/21")),
        ]),
        any::<bool>(),
        any::<bool>(),
        select(vec![Access::Nat, Access::PrivateDns, Access::EndpointName]),
        any::<bool>(),
        select(vec![
            vec!["subnet-lambda-a"],
            vec!["subnet-lambda-b"],
            vec!["subnet-lambda-a", "subnet-lambda-b"],
            vec!["subnet-db-a"],
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(
                lambda_subnets,
                db_subnets,
                engine,
                port,
                db_peer,
                db_all_ports,
                lambda_egress_exact,
                access,
                nat_route,
                endpoint_subnets,
                db_acl,
            )| Healthy {
                lambda_subnets,
                db_subnets,
                engine,
                port,
                db_peer,
                db_all_ports,
                lambda_egress_exact,
                access,
                nat_route: nat_route || access == Access::Nat,
                endpoint_subnets,
                db_acl,
            },
        )
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn group_mut<'a>(facts: &'a mut Facts, id: &str) -> Option<&'a mut SecurityGroup> {
    get(&mut facts.network.security_groups)
        .iter_mut()
        .find(|g| g.id == id)
}

fn acl_mut<'a>(facts: &'a mut Facts, id: &str) -> &'a mut NetworkAcl {
    get(&mut facts.network.network_acls)
        .iter_mut()
        .find(|a| a.id == id)
        .expect("the world has this network ACL")
}

fn private_table(facts: &mut Facts) -> &mut RouteTable {
    get(&mut facts.network.route_tables)
        .iter_mut()
        .find(|t| t.id == "rtb-private")
        .expect("the lab has rtb-private")
}

fn is_default_route(route: &Route) -> bool {
    route.destination == RouteDestination::Cidr(net("0.0.0.0/0"))
}

fn port_of(facts: &Facts) -> u16 {
    database_port(facts).expect("every engine drawn has a default port")
}

impl Healthy {
    fn facts(&self) -> Facts {
        let mut facts = fixtures::lab_moved();
        let lambda = get(&mut facts.lambda);
        lambda.vpc = Some(LambdaVpc {
            subnet_ids: ids(&self.lambda_subnets),
            security_group_ids: ids(&["sg-lambda"]),
        });
        if self.access == Access::EndpointName {
            lambda.secrets_manager_endpoint = Some(format!("https://{VPCE_NAME}"));
        }
        let connection = get(&mut facts.connection);
        connection.engine = Some(self.engine.into());
        connection.port = self.port;
        let database = get(&mut facts.database);
        database.engine = Some(self.engine.into());
        database.port = self.port;
        database.subnet_ids = ids(&self.db_subnets);

        let port = port_of(&facts);
        let db_rule = if self.db_all_ports {
            all_traffic(self.db_peer.clone())
        } else {
            tcp(port, self.db_peer.clone())
        };
        group_mut(&mut facts, "sg-db").unwrap().ingress = vec![db_rule];
        if self.lambda_egress_exact {
            group_mut(&mut facts, "sg-lambda").unwrap().egress = vec![
                tcp(port, SgPeer::Group("sg-db".into())),
                tcp(443, SgPeer::Cidr(net("0.0.0.0/0"))),
            ];
        }
        if self.access != Access::Nat {
            get(&mut facts.network.security_groups).push(group(
                "sg-vpce",
                vec![tcp(443, SgPeer::Group("sg-lambda".into()))],
                Vec::new(),
            ));
            get(&mut facts.network.vpc_endpoints).push(VpcEndpoint {
                id: "vpce-sm".into(),
                vpc_id: "vpc-lab".into(),
                service_name: "com.amazonaws.us-east-1.secretsmanager".into(),
                endpoint_type: Some("Interface".into()),
                state: Some("available".into()),
                subnet_ids: ids(&self.endpoint_subnets),
                security_group_ids: ids(&["sg-vpce"]),
                private_dns_enabled: self.access == Access::PrivateDns,
                dns_names: vec![VPCE_NAME.into()],
                policy: None,
            });
        }
        if !self.nat_route {
            drop_default_route(&mut facts);
        }
        if self.db_acl {
            let acls = get(&mut facts.network.network_acls);
            acls[0].subnet_ids.retain(|s| !s.starts_with("subnet-db"));
            let entries = acls[0].entries.clone();
            acls.push(NetworkAcl {
                id: "acl-db".into(),
                vpc_id: "vpc-lab".into(),
                is_default: false,
                subnet_ids: ids(&["subnet-db-a", "subnet-db-b"]),
                entries,
            });
        }
        facts
    }
}

/// One change to a healthy world. Some block a path, some only in some
/// worlds (a NAT change in an endpoint world), and the `Unrelated*` ones
/// never change a verdict.
#[derive(Clone, Debug)]
enum Perturbation {
    RemoveDbIngress,
    NarrowDbIngress,
    LambdaEgressHttpsOnly,
    RemoveLambdaEgress,
    /// A deny on the database subnets' ACL (`true`) or the default one.
    NaclDeny(AclEntry, bool),
    DropDefaultRoute,
    BlackholeDefaultRoute,
    RouteDbSubnetToPeering,
    NatState(&'static str),
    PrivateDnsOff,
    VpcDnsHostnamesOff,
    RemoveEndpointIngress,
    NarrowEndpointPolicy,
    ChangeDbPort(u16),
    /// On the return direction of the database group (`true`) or the Lambda's.
    UnrelatedRule(SgRule, bool),
    UnrelatedGroup,
    UnrelatedSubnet,
    UnrelatedRoute,
    UnrelatedNaclDeny(i32, bool),
}

fn remove_db_ingress(facts: &mut Facts) {
    group_mut(facts, "sg-db").unwrap().ingress.clear();
}

/// The database group keeps its peers but admits the next port instead.
fn narrow_db_ingress(facts: &mut Facts) {
    let next = port_of(facts).wrapping_add(1);
    for rule in &mut group_mut(facts, "sg-db").unwrap().ingress {
        *rule = tcp(next, rule.peer.clone());
    }
}

fn lambda_egress_https_only(facts: &mut Facts) {
    group_mut(facts, "sg-lambda").unwrap().egress = vec![tcp(443, SgPeer::Cidr(net("0.0.0.0/0")))];
}

fn remove_lambda_egress(facts: &mut Facts) {
    group_mut(facts, "sg-lambda").unwrap().egress.clear();
}

/// Rule numbers are unique per ACL and direction, as in AWS: a taken number
/// leaves the world as it is.
fn add_nacl_entry(facts: &mut Facts, acl_id: &str, entry: AclEntry) {
    let acl = acl_mut(facts, acl_id);
    let taken = acl
        .entries
        .iter()
        .any(|e| e.rule_number == entry.rule_number && e.egress == entry.egress);
    if !taken {
        acl.entries.push(entry);
    }
}

fn add_nacl_deny(facts: &mut Facts, entry: AclEntry, on_db_acl: bool) {
    let has_db_acl = get(&mut facts.network.network_acls)
        .iter()
        .any(|a| a.id == "acl-db");
    let acl = if on_db_acl && has_db_acl {
        "acl-db"
    } else {
        "acl-default"
    };
    add_nacl_entry(facts, acl, entry);
}

fn drop_default_route(facts: &mut Facts) {
    private_table(facts).routes.retain(|r| !is_default_route(r));
}

fn blackhole_default_route(facts: &mut Facts) {
    for route in &mut private_table(facts).routes {
        if is_default_route(route) {
            route.state = Some("blackhole".into());
        }
    }
}

/// A more specific route sends subnet-db-a's range out of the VPC, over an
/// active peering to another VPC: the database is not there, so such paths
/// are blocked.
fn route_db_subnet_to_peering(facts: &mut Facts) {
    private_table(facts).routes.push(fixtures::route(
        "10.0.1.0/24",
        RouteTarget::VpcPeering("pcx-1".into()),
    ));
    facts.network.peering_connections = Fact::Present(vec![fixtures::peering(
        "pcx-1",
        "active",
        ("vpc-lab", "10.0.0.0/16"),
        ("vpc-peer", "10.1.0.0/16"),
    )]);
}

fn set_nat_state(facts: &mut Facts, state: &str) {
    get(&mut facts.network.nat_gateways)[0].state = Some(state.into());
}

fn private_dns_off(facts: &mut Facts) {
    for endpoint in get(&mut facts.network.vpc_endpoints) {
        endpoint.private_dns_enabled = false;
    }
}

/// enableDnsHostnames off: public names still resolve, but an endpoint's
/// private DNS needs it.
fn vpc_dns_hostnames_off(facts: &mut Facts) {
    get(&mut facts.network.vpcs)[0].dns_hostnames = Some(false);
}

fn remove_endpoint_ingress(facts: &mut Facts) {
    if let Some(group) = group_mut(facts, "sg-vpce") {
        group.ingress.clear();
    }
}

/// An endpoint policy that allows only one of the rotation's actions.
fn narrow_endpoint_policy(facts: &mut Facts) {
    for endpoint in get(&mut facts.network.vpc_endpoints) {
        endpoint.policy = Some(serde_json::json!({"Statement": [{
            "Effect": "Allow", "Principal": "*",
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"
        }]}));
    }
}

/// The secret and the database move to another port; the rules stay.
fn change_db_port(facts: &mut Facts, port: u16) {
    get(&mut facts.connection).port = Some(port);
    get(&mut facts.database).port = Some(port);
}

/// Security groups are stateful: the database group's egress and the Lambda
/// group's ingress take no part in either flow.
fn unrelated_rule(facts: &mut Facts, rule: SgRule, on_db: bool) {
    if on_db {
        group_mut(facts, "sg-db").unwrap().egress.push(rule);
    } else {
        group_mut(facts, "sg-lambda").unwrap().ingress.push(rule);
    }
}

fn unrelated_group(facts: &mut Facts) {
    let any = || all_traffic(SgPeer::Cidr(net("0.0.0.0/0")));
    get(&mut facts.network.security_groups).push(group("sg-spare", vec![any()], vec![any()]));
}

fn unrelated_subnet(facts: &mut Facts) {
    get(&mut facts.network.subnets).push(fixtures::subnet(
        "subnet-spare",
        "10.0.200.0/24",
        "us-east-1c",
    ));
}

fn unrelated_route(facts: &mut Facts) {
    private_table(facts).routes.push(fixtures::route(
        "192.168.0.0/16",
        RouteTarget::VpcPeering("pcx-spare".into()),
    ));
}

/// 192.168.0.0/16 is neither a subnet of the lab nor a public address.
fn unrelated_nacl_deny(facts: &mut Facts, rule_number: i32, egress: bool) {
    let entry = acl_entry(rule_number, egress, false, "192.168.0.0/16", None);
    add_nacl_entry(facts, "acl-default", entry);
}

impl Perturbation {
    fn apply(&self, facts: &mut Facts) {
        use Perturbation::*;
        match self {
            RemoveDbIngress => remove_db_ingress(facts),
            NarrowDbIngress => narrow_db_ingress(facts),
            LambdaEgressHttpsOnly => lambda_egress_https_only(facts),
            RemoveLambdaEgress => remove_lambda_egress(facts),
            NaclDeny(entry, on_db_acl) => add_nacl_deny(facts, entry.clone(), *on_db_acl),
            DropDefaultRoute => drop_default_route(facts),
            BlackholeDefaultRoute => blackhole_default_route(facts),
            RouteDbSubnetToPeering => route_db_subnet_to_peering(facts),
            NatState(state) => set_nat_state(facts, state),
            PrivateDnsOff => private_dns_off(facts),
            VpcDnsHostnamesOff => vpc_dns_hostnames_off(facts),
            RemoveEndpointIngress => remove_endpoint_ingress(facts),
            NarrowEndpointPolicy => narrow_endpoint_policy(facts),
            ChangeDbPort(port) => change_db_port(facts, *port),
            UnrelatedRule(rule, on_db) => unrelated_rule(facts, rule.clone(), *on_db),
            UnrelatedGroup => unrelated_group(facts),
            UnrelatedSubnet => unrelated_subnet(facts),
            UnrelatedRoute => unrelated_route(facts),
            UnrelatedNaclDeny(number, egress) => unrelated_nacl_deny(facts, *number, *egress),
        }
    }
}

const CIDRS: [&str; 7] = [
    "0.0.0.0/0",
    // Public, but only part of the public space.
    "52.0.0.0/8",
    "10.0.0.0/16",
    "10.0.11.0/24",
    "10.0.1.0/24",
    "10.0.12.0/25",
    "192.168.0.0/16",
];

fn acl_ports() -> impl Strategy<Value = Option<(u16, u16)>> {
    select(vec![
        None,
        Some((3306, 3306)),
        Some((5432, 5432)),
        Some((443, 443)),
        Some((1024, 65535)),
        Some((1000, 2000)),
    ])
}

/// A network ACL entry; its rule number is set by whoever adds it.
fn nacl_entry(allow: bool) -> impl Strategy<Value = AclEntry> {
    (any::<bool>(), select(CIDRS.to_vec()), acl_ports())
        .prop_map(move |(egress, cidr, ports)| acl_entry(0, egress, allow, cidr, ports))
}

/// A number on either side of the default ACL's allow at 100, never 1 (the
/// deny-beats-allow property takes a number below every existing entry).
fn deny_number() -> impl Strategy<Value = i32> {
    (2i32..199).prop_map(|n| if n >= 100 { n + 1 } else { n })
}

/// Any security group rule: protocols, ports and peers that admit the flows
/// and ones that do not.
fn sg_rule() -> impl Strategy<Value = SgRule> {
    let peer = prop_oneof![
        select(CIDRS.to_vec()).prop_map(|c| SgPeer::Cidr(net(c))),
        select(vec!["sg-db", "sg-lambda", "sg-vpce", "sg-other"])
            .prop_map(|g| SgPeer::Group(g.into())),
        Just(SgPeer::PrefixList("pl-1".into())),
    ];
    let ports = prop_oneof![
        Just(None),
        select(vec![443u16, 3306, 5432, 13306]).prop_map(|p| Some(PortRange { from: p, to: p })),
        (0u16..20000, 0u16..20000).prop_map(|(a, b)| Some(PortRange {
            from: a.min(b),
            to: a.max(b)
        })),
    ];
    (select(vec!["-1", "tcp", "6", "udp"]), ports, peer).prop_map(|(protocol, ports, peer)| {
        SgRule {
            protocol: protocol.into(),
            ports: if protocol == "-1" { None } else { ports },
            peer,
            description: None,
        }
    })
}

fn unrelated() -> impl Strategy<Value = Perturbation> {
    use Perturbation::*;
    prop_oneof![
        (sg_rule(), any::<bool>()).prop_map(|(rule, on_db)| UnrelatedRule(rule, on_db)),
        Just(UnrelatedGroup),
        Just(UnrelatedSubnet),
        Just(UnrelatedRoute),
        (deny_number(), any::<bool>()).prop_map(|(n, egress)| UnrelatedNaclDeny(n, egress)),
    ]
}

fn perturbation() -> impl Strategy<Value = Perturbation> {
    use Perturbation::*;
    prop_oneof![
        1 => Just(RemoveDbIngress),
        1 => Just(NarrowDbIngress),
        1 => Just(LambdaEgressHttpsOnly),
        1 => Just(RemoveLambdaEgress),
        3 => (nacl_entry(false), deny_number(), any::<bool>()).prop_map(|(mut entry, n, on_db)| {
            entry.rule_number = n;
            NaclDeny(entry, on_db)
        }),
        1 => Just(DropDefaultRoute),
        1 => Just(BlackholeDefaultRoute),
        1 => Just(RouteDbSubnetToPeering),
        1 => select(vec!["pending", "failed", "deleted"]).prop_map(NatState),
        1 => Just(PrivateDnsOff),
        1 => Just(VpcDnsHostnamesOff),
        1 => Just(RemoveEndpointIngress),
        1 => Just(NarrowEndpointPolicy),
        1 => select(vec![3306u16, 5432, 1433, 13306]).prop_map(ChangeDbPort),
        4 => unrelated(),
    ]
}

#[derive(Clone, Debug)]
struct World {
    healthy: Healthy,
    perturbations: Vec<Perturbation>,
}

impl World {
    fn facts(&self) -> Facts {
        let mut facts = self.healthy.facts();
        for perturbation in &self.perturbations {
            perturbation.apply(&mut facts);
        }
        facts
    }
}

fn world() -> impl Strategy<Value = World> {
    (healthy(), proptest::collection::vec(perturbation(), 0..=3)).prop_map(
        |(healthy, perturbations)| World {
            healthy,
            perturbations,
        },
    )
}

/// What one perturbation does to a healthy world: the verdict of every
/// database path and of every Secrets Manager path, or `None` when it
/// depends on more than the perturbation.
fn expected(
    healthy: &Healthy,
    port: u16,
    perturbation: &Perturbation,
) -> Option<(Verdict, Verdict)> {
    use Perturbation::*;
    use Verdict::{Blocked, Reachable, Unknown};
    let endpoint = healthy.access != Access::Nat;
    let breaks_endpoint = if endpoint { Blocked } else { Reachable };
    Some(match perturbation {
        RemoveDbIngress | NarrowDbIngress | LambdaEgressHttpsOnly => (Blocked, Reachable),
        RemoveLambdaEgress => (Blocked, Blocked),
        // Behind the allow-all at 100 a deny is never reached; ahead of it,
        // its effect depends on its ranges and ports.
        NaclDeny(entry, _) if entry.rule_number > 100 => (Reachable, Reachable),
        NaclDeny(..) => return None,
        // The endpoint, when there is one, does not need the NAT.
        DropDefaultRoute | BlackholeDefaultRoute | NatState(_) => {
            (Reachable, if endpoint { Reachable } else { Blocked })
        }
        // The peering leads to another VPC; the endpoint's own route check
        // does not follow a peering.
        RouteDbSubnetToPeering => (
            if healthy.db_subnets.contains(&"subnet-db-a") {
                Blocked
            } else {
                Reachable
            },
            if endpoint && healthy.endpoint_subnets == ["subnet-db-a"] {
                Unknown
            } else {
                Reachable
            },
        ),
        // Only private DNS needs them; without it the Lambda falls back to the NAT.
        PrivateDnsOff | VpcDnsHostnamesOff => {
            let stranded = healthy.access == Access::PrivateDns && !healthy.nat_route;
            (Reachable, if stranded { Blocked } else { Reachable })
        }
        RemoveEndpointIngress | NarrowEndpointPolicy => (Reachable, breaks_endpoint),
        ChangeDbPort(new) => {
            let admitted = *new == port || (healthy.db_all_ports && !healthy.lambda_egress_exact);
            (if admitted { Reachable } else { Blocked }, Reachable)
        }
        UnrelatedRule(..)
        | UnrelatedGroup
        | UnrelatedSubnet
        | UnrelatedRoute
        | UnrelatedNaclDeny(..) => (Reachable, Reachable),
    })
}

fn lambda_subnets(facts: &Facts) -> Vec<String> {
    facts
        .lambda
        .present()
        .and_then(|l| l.vpc.as_ref())
        .map(|v| v.subnet_ids.clone())
        .unwrap_or_default()
}

/// Both kinds of path; an engine error or a path count other than one per
/// Lambda subnet fails the case.
fn paths(facts: &Facts) -> Result<(Vec<NetPath>, Vec<NetPath>), TestCaseError> {
    let database = database_paths(facts)
        .map_err(|e| TestCaseError::fail(format!("database_paths erred: {e}")))?;
    let secretsmanager = secretsmanager_paths(facts)
        .map_err(|e| TestCaseError::fail(format!("secretsmanager_paths erred: {e}")))?;
    let subnets = lambda_subnets(facts).len();
    prop_assert_eq!(database.len(), subnets, "database paths");
    prop_assert_eq!(secretsmanager.len(), subnets, "Secrets Manager paths");
    Ok((database, secretsmanager))
}

/// The database verdicts, then the Secrets Manager ones.
fn verdicts(facts: &Facts) -> Result<Vec<Verdict>, TestCaseError> {
    let (database, secretsmanager) = paths(facts)?;
    Ok(database
        .iter()
        .chain(&secretsmanager)
        .map(|p| p.verdict)
        .collect())
}

fn keeps_reachable(before: &[Verdict], after: &[Verdict]) -> Result<(), TestCaseError> {
    prop_assert_eq!(before.len(), after.len());
    for (i, (b, a)) in before.iter().zip(after).enumerate() {
        if *b == Verdict::Reachable {
            prop_assert_eq!(*a, Verdict::Reachable, "path {} was reachable", i);
        }
    }
    Ok(())
}

/// The network ACLs the database subnets use.
fn db_acl_ids(facts: &Facts) -> Vec<String> {
    let index = NetIndex::new(&facts.network);
    let mut acls: Vec<String> = facts
        .database
        .present()
        .expect("the world has a database")
        .subnet_ids
        .iter()
        .map(|s| {
            index
                .network_acl_for(index.subnet(s).unwrap())
                .unwrap()
                .id
                .clone()
        })
        .collect();
    acls.dedup();
    acls
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_world_gets_one_path_per_lambda_subnet(world in world()) {
        let facts = world.facts();
        let (database, secretsmanager) = paths(&facts)?;
        let subnets = lambda_subnets(&facts);
        for (path, subnet) in database.iter().zip(&subnets) {
            prop_assert_eq!(path.from.subnet.as_ref(), Some(subnet));
            prop_assert_eq!((path.to, path.port), (Destination::Database, port_of(&facts)));
        }
        for (path, subnet) in secretsmanager.iter().zip(&subnets) {
            prop_assert_eq!(path.from.subnet.as_ref(), Some(subnet));
            prop_assert_eq!((path.to, path.port), (Destination::Secretsmanager, 443));
        }
        for path in database.iter().chain(&secretsmanager) {
            prop_assert_eq!(path.blocked_by.is_some(), path.verdict == Verdict::Blocked);
        }
    }

    /// Each perturbation alone does what its name says, to the paths it
    /// concerns and no others: the mix of worlds is what it claims to be.
    #[test]
    fn one_perturbation_does_what_it_says(healthy in healthy(), perturbation in perturbation()) {
        let port = port_of(&healthy.facts());
        let Some((db, sm)) = expected(&healthy, port, &perturbation) else { return Ok(()) };
        let world = World { healthy, perturbations: vec![perturbation] };
        let (database, secretsmanager) = paths(&world.facts())?;
        for path in &database {
            prop_assert_eq!(path.verdict, db, "{}", render_path(path));
        }
        for path in &secretsmanager {
            prop_assert_eq!(path.verdict, sm, "{}", render_path(path));
        }
    }

    /// The database may run in any of its subnets, so each path stands for
    /// Lambda subnet × every database subnet: its verdict is the worst of them.
    #[test]
    fn a_database_path_is_its_worst_database_subnet(world in world()) {
        let facts = world.facts();
        let (all, _) = paths(&facts)?;
        let mut worst = vec![Verdict::Reachable; all.len()];
        for db_subnet in &world.healthy.db_subnets {
            let mut one = facts.clone();
            get(&mut one.database).subnet_ids = ids(&[db_subnet]);
            let (single, _) = paths(&one)?;
            prop_assert_eq!(single.len(), worst.len());
            for (worst, path) in worst.iter_mut().zip(&single) {
                *worst = (*worst).max(path.verdict);
            }
        }
        let verdicts: Vec<Verdict> = all.iter().map(|p| p.verdict).collect();
        prop_assert_eq!(verdicts, worst);
    }

    #[test]
    fn a_healthy_world_is_reachable_on_every_path(healthy in healthy()) {
        let (database, secretsmanager) = paths(&healthy.facts())?;
        for path in database.iter().chain(&secretsmanager) {
            prop_assert_eq!(path.verdict, Verdict::Reachable, "{}", render_path(path));
        }
    }

    /// Security groups only allow: another rule, at any place in any group
    /// on either side, can only admit more.
    #[test]
    fn adding_a_security_group_rule_keeps_reachable_paths_reachable(
        world in world(), group in select(vec!["sg-db", "sg-lambda", "sg-vpce"]),
        ingress in any::<bool>(), at in any::<Index>(), rule in sg_rule(),
    ) {
        let facts = world.facts();
        let before = verdicts(&facts)?;
        let mut more = facts.clone();
        let Some(group) = group_mut(&mut more, group) else { return Ok(()) };
        let rules = if ingress { &mut group.ingress } else { &mut group.egress };
        rules.insert(at.index(rules.len() + 1), rule);
        keeps_reachable(&before, &verdicts(&more)?)?;
    }

    /// An allow at any free rule number: ahead of the deciding allow it
    /// admits the flow or part of it, behind it it is never reached. Half
    /// the numbers fall below 200, among the generated entries.
    #[test]
    fn adding_a_network_acl_allow_keeps_reachable_paths_reachable(
        world in world(), acl in any::<Index>(), entry in nacl_entry(true),
        number in prop_oneof![1i32..200, 1i32..32767],
    ) {
        let facts = world.facts();
        let before = verdicts(&facts)?;
        let mut more = facts.clone();
        let acls = get(&mut more.network.network_acls);
        let chosen = acl.index(acls.len());
        let acl = &mut acls[chosen];
        let taken = |e: &AclEntry| e.rule_number == number && e.egress == entry.egress;
        prop_assume!(!acl.entries.iter().any(taken));
        acl.entries.push(AclEntry { rule_number: number, ..entry });
        keeps_reachable(&before, &verdicts(&more)?)?;
    }

    /// On the database subnets' ACL, a deny and an allow of the same flow
    /// (the request in, or the reply out), numbered below every other entry:
    /// the lower number decides. Both name the Lambda subnets' range
    /// (10.0.8.0/21), not the VPC's: the ACL may be the Lambda subnets' too,
    /// where a deny of 10.0.0.0/16 would also drop part of the other direction.
    #[test]
    fn the_lower_numbered_of_a_deny_and_an_allow_decides(
        world in world(), egress in any::<bool>(), low in any::<Index>(), gap in 1i32..1000,
    ) {
        let facts = world.facts();
        let db_verdicts = |facts: &Facts| -> Result<Vec<Verdict>, TestCaseError> {
            Ok(paths(facts)?.0.iter().map(|p| p.verdict).collect())
        };
        let before = db_verdicts(&facts)?;
        let acl_ids = db_acl_ids(&facts);
        let ports = if egress { (1024, 65535) } else { (port_of(&facts), port_of(&facts)) };
        let numbers: Vec<i32> = facts.network.network_acls.present().unwrap().iter()
            .filter(|a| acl_ids.contains(&a.id))
            .flat_map(|a| &a.entries)
            .filter(|e| e.egress == egress)
            .map(|e| e.rule_number)
            .collect();
        let first = numbers.iter().copied().min().unwrap_or(32767);
        let low = 1 + low.index((first - 1) as usize) as i32;
        let high = low + gap;
        prop_assume!(!numbers.contains(&high));
        let with = |deny: i32, allow: i32| {
            let mut facts = facts.clone();
            for id in &acl_ids {
                let acl = acl_mut(&mut facts, id);
                acl.entries.push(acl_entry(deny, egress, false, "10.0.8.0/21", Some(ports)));
                acl.entries.push(acl_entry(allow, egress, true, "10.0.8.0/21", Some(ports)));
            }
            facts
        };

        let (denied, _) = paths(&with(low, high))?;
        prop_assert_eq!(denied.len(), before.len());
        for (path, was) in denied.iter().zip(&before) {
            prop_assert_eq!(path.verdict, Verdict::Blocked, "{}", render_path(path));
            if *was == Verdict::Reachable {
                // Nothing else changed: the new deny is what blocks.
                let by = path.blocked_by.as_ref().unwrap();
                prop_assert!(acl_ids.contains(by), "{}", render_path(path));
            }
        }
        keeps_reachable(&before, &db_verdicts(&with(high, low))?)?;
    }

    /// A VPC Lambda without an endpoint reaches the public name only
    /// through a NAT gateway, which only a default route leads to.
    #[test]
    fn without_an_endpoint_or_a_default_route_secretsmanager_is_blocked(world in world()) {
        let mut facts = world.facts();
        get(&mut facts.network.vpc_endpoints).clear();
        get(&mut facts.lambda).secrets_manager_endpoint =
            Some("https://secretsmanager.us-east-1.amazonaws.com".into());
        for table in get(&mut facts.network.route_tables) {
            table.routes.retain(|r| !is_default_route(r));
        }
        let (_, secretsmanager) = paths(&facts)?;
        for path in &secretsmanager {
            prop_assert_eq!(path.verdict, Verdict::Blocked, "{}", render_path(path));
        }
    }

    /// Once DNS sends the flow to an interface endpoint, the NAT path
    /// takes no part.
    #[test]
    fn default_routes_do_not_matter_once_dns_picks_an_endpoint(world in world()) {
        let facts = world.facts();
        let (_, before) = paths(&facts)?;
        let mut without = facts.clone();
        for table in get(&mut without.network.route_tables) {
            table.routes.retain(|r| !is_default_route(r));
        }
        let (_, after) = paths(&without)?;
        for (b, a) in before.iter().zip(&after) {
            let dns_picked_an_endpoint =
                b.hops.iter().any(|h| h.kind == HopKind::Dns && h.verdict == HopVerdict::Pass);
            if dns_picked_an_endpoint {
                prop_assert_eq!((b.verdict, &b.blocked_by), (a.verdict, &a.blocked_by));
            }
        }
    }

    #[test]
    fn unrelated_changes_change_no_verdict(
        world in world(), changes in proptest::collection::vec(unrelated(), 1..4),
    ) {
        let facts = world.facts();
        let mut changed = facts.clone();
        for change in &changes {
            change.apply(&mut changed);
        }
        let outcome = |facts: &Facts| -> Result<Vec<(Verdict, Option<String>)>, TestCaseError> {
            let (database, secretsmanager) = paths(facts)?;
            let all = database.into_iter().chain(secretsmanager);
            Ok(all.map(|p| (p.verdict, p.blocked_by)).collect())
        };
        prop_assert_eq!(outcome(&facts)?, outcome(&changed)?);
    }
}

/// The share of generated worlds with every path reachable, and with some
/// path blocked: the properties above are only as good as this mix. Run
/// with `--nocapture` to see it.
#[test]
fn generated_worlds_are_mixed() {
    const WORLDS: usize = 2000;
    let mut runner = TestRunner::new_with_rng(
        ProptestConfig::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = world();
    let (mut all_reachable, mut some_blocked, mut some_unknown) = (0, 0, 0);
    let (mut db_reachable, mut sm_reachable) = (0, 0);
    for _ in 0..WORLDS {
        let facts = strategy.new_tree(&mut runner).unwrap().current().facts();
        let (database, secretsmanager) = paths(&facts).unwrap_or_else(|e| panic!("{e}"));
        let reachable = |paths: &[NetPath]| paths.iter().all(|p| p.verdict == Verdict::Reachable);
        let any = |verdict| {
            database
                .iter()
                .chain(&secretsmanager)
                .any(|p| p.verdict == verdict)
        };
        all_reachable += usize::from(reachable(&database) && reachable(&secretsmanager));
        db_reachable += usize::from(reachable(&database));
        sm_reachable += usize::from(reachable(&secretsmanager));
        some_blocked += usize::from(any(Verdict::Blocked));
        some_unknown += usize::from(any(Verdict::Unknown));
    }
    let share = |n: usize| format!("{n}/{WORLDS} ({:.0}%)", 100.0 * n as f64 / WORLDS as f64);
    println!(
        "generated worlds: every path reachable {}, some path blocked {}, some unknown {}; \
         every database path reachable {}, every Secrets Manager path reachable {}",
        share(all_reachable),
        share(some_blocked),
        share(some_unknown),
        share(db_reachable),
        share(sm_reachable)
    );
    assert!(
        all_reachable * 100 >= WORLDS * 40,
        "too few reachable worlds: {}",
        share(all_reachable)
    );
    assert!(
        some_blocked * 100 >= WORLDS * 40,
        "too few blocked worlds: {}",
        share(some_blocked)
    );
}
