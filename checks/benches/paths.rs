//! Evaluation speed of the reachability engine on a large synthetic VPC:
//! 500 security groups of 50 ingress rules that reference each other (see
//! `security_group`), 200 subnets, 50 route tables of 22 routes, network
//! ACLs of 40 entries a direction. Run:
//! `cargo bench -p rotation-doctor-checks --bench paths`.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use rotation_doctor_checks::net::{database_paths, secretsmanager_paths};
use rotation_doctor_checks::*;

fn net(text: &str) -> ipnet::IpNet {
    text.parse().expect("bench CIDR")
}

fn rule(port: u16, peer: SgPeer) -> SgRule {
    SgRule {
        protocol: "tcp".into(),
        ports: Some(PortRange {
            from: port,
            to: port,
        }),
        peer,
        description: None,
    }
}

/// Groups in the VPC; every group has 50 ingress rules.
const GROUPS: usize = 500;
const RULES: usize = 50;
/// The tiers' service ports, rule by rule.
const PORTS: [u16; 5] = [443, 8080, 3306, 5432, 6379];
/// The Lambda's groups (an ENI takes at most five) and the database's.
const LAMBDA_GROUPS: std::ops::Range<usize> = 1..6;
const DB_GROUPS: std::ops::Range<usize> = 400..405;
/// The groups of the application tiers, which the others reference.
const APP_GROUPS: usize = 400;

fn sg(g: usize) -> SgPeer {
    SgPeer::Group(format!("sg-{g}"))
}

/// A VPC whose groups reference each other, as tiers do: every ingress rule
/// of every group admits another group of the VPC on a service port, and
/// egress is AWS's default (all traffic anywhere) except on the Lambda's
/// groups, which allow only named groups and HTTPS out. The database's
/// groups admit many application groups on 3306; only the last rule of the
/// last one admits the Lambda's group, so the engine reads every rule of
/// the Lambda's groups (egress) and of the database's (ingress) before the
/// flow passes.
fn security_group(g: usize) -> SecurityGroup {
    let ingress: Vec<SgRule> = if DB_GROUPS.contains(&g) {
        (0..RULES)
            .map(|r| {
                if g == DB_GROUPS.end - 1 && r == RULES - 1 {
                    rule(3306, sg(LAMBDA_GROUPS.end - 1))
                } else {
                    rule(3306, sg(100 + (g * 7 + r * 3) % 300))
                }
            })
            .collect()
    } else {
        (0..RULES)
            .map(|r| rule(PORTS[r % PORTS.len()], sg((g * 31 + r * 17 + 1) % GROUPS)))
            .collect()
    };
    let egress: Vec<SgRule> = if LAMBDA_GROUPS.contains(&g) {
        // To application groups on their ports (never the database's
        // groups on 3306); the last group adds the database and HTTPS.
        let mut egress: Vec<SgRule> = (0..RULES - 2)
            .map(|r| rule(PORTS[r % PORTS.len()], sg((g * 13 + r * 11) % APP_GROUPS)))
            .collect();
        if g == LAMBDA_GROUPS.end - 1 {
            egress.push(rule(3306, sg(DB_GROUPS.end - 1)));
            egress.push(rule(443, SgPeer::Cidr(net("0.0.0.0/0"))));
        }
        egress
    } else {
        vec![SgRule {
            protocol: "-1".into(),
            ports: None,
            peer: SgPeer::Cidr(net("0.0.0.0/0")),
            description: None,
        }]
    };
    SecurityGroup {
        id: format!("sg-{g}"),
        name: None,
        vpc_id: Some("vpc-big".into()),
        ingress,
        egress,
    }
}

fn synthetic() -> Facts {
    let vpc = "vpc-big".to_string();
    let subnets: Vec<Subnet> = (0..200)
        .map(|i| Subnet {
            id: format!("subnet-{i}"),
            vpc_id: vpc.clone(),
            cidr: Some(net(&format!("10.0.{i}.0/24"))),
            ipv6_cidrs: Vec::new(),
            availability_zone: Some(format!("us-east-1{}", ["a", "b", "c"][i % 3])),
            name: None,
        })
        .collect();
    // 50 route tables of 4 subnets each; the last serves the public subnet.
    let route_tables: Vec<RouteTable> = (0..50)
        .map(|t| {
            let mut routes = vec![Route {
                destination: RouteDestination::Cidr(net("10.0.0.0/16")),
                target: RouteTarget::Local,
                state: Some("active".into()),
            }];
            routes.extend((0..20).map(|r| Route {
                destination: RouteDestination::Cidr(net(&format!("172.{}.{r}.0/24", 16 + t % 16))),
                target: RouteTarget::VpcPeering(format!("pcx-{t}-{r}")),
                state: Some("active".into()),
            }));
            routes.push(Route {
                destination: RouteDestination::Cidr(net("0.0.0.0/0")),
                target: if t == 49 {
                    RouteTarget::InternetGateway("igw-big".into())
                } else {
                    RouteTarget::NatGateway("nat-big".into())
                },
                state: Some("active".into()),
            });
            RouteTable {
                id: format!("rtb-{t}"),
                vpc_id: vpc.clone(),
                main: t == 0,
                subnet_ids: (t * 4..t * 4 + 4).map(|i| format!("subnet-{i}")).collect(),
                routes,
            }
        })
        .collect();
    // 5 ACLs of 40 entries per direction; the allows come last.
    let network_acls: Vec<NetworkAcl> = (0..5)
        .map(|a| {
            let mut entries = Vec::new();
            for egress in [false, true] {
                for n in 0..39 {
                    entries.push(AclEntry {
                        rule_number: n + 1,
                        egress,
                        protocol: "6".into(),
                        allow: false,
                        cidr: Some(net(&format!("192.168.{n}.0/24"))),
                        port_range: Some(PortRange { from: 22, to: 22 }),
                    });
                }
                entries.push(AclEntry {
                    rule_number: 100,
                    egress,
                    protocol: "-1".into(),
                    allow: true,
                    cidr: Some(net("0.0.0.0/0")),
                    port_range: None,
                });
            }
            NetworkAcl {
                id: format!("acl-{a}"),
                vpc_id: vpc.clone(),
                is_default: a == 0,
                subnet_ids: (a * 40..a * 40 + 40)
                    .map(|i| format!("subnet-{i}"))
                    .collect(),
                entries,
            }
        })
        .collect();
    let security_groups: Vec<SecurityGroup> = (0..GROUPS).map(security_group).collect();
    Facts {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        tool_version: "bench".into(),
        description: None,
        collected_at: Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
        region: "us-east-1".into(),
        secret_id: "bench".into(),
        log_window_hours: 24,
        secret: Fact::Present(Secret {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench".into(),
            name: "bench".into(),
            rotation_lambda_arn: Some(
                "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
            ),
            versions: BTreeMap::new(),
            ..Secret::default()
        }),
        connection: Fact::Present(Connection {
            engine: Some("mysql".into()),
            port: Some(3306),
            ..Connection::default()
        }),
        lambda: Fact::Present(Lambda {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
            name: "bench".into(),
            vpc: Some(LambdaVpc {
                subnet_ids: vec!["subnet-100".into(), "subnet-101".into()],
                security_group_ids: LAMBDA_GROUPS.map(|g| format!("sg-{g}")).collect(),
            }),
            ..Lambda::default()
        }),
        lambda_policy: Fact::Present(None),
        lambda_tags: Fact::Present(Default::default()),
        database: Fact::Present(Database {
            kind: DatabaseKind::Instance,
            identifier: "bench-db".into(),
            arn: None,
            engine: Some("mysql".into()),
            engine_version: None,
            status: Some("available".into()),
            endpoint: None,
            port: Some(3306),
            vpc_id: Some(vpc.clone()),
            subnet_ids: vec!["subnet-10".into(), "subnet-11".into()],
            security_group_ids: DB_GROUPS.map(|g| format!("sg-{g}")).collect(),
            publicly_accessible: Some(false),
        }),
        proxy: Fact::NotApplicable("bench".into()),
        network: Network {
            vpcs: Fact::Present(vec![Vpc {
                id: vpc.clone(),
                cidrs: vec![net("10.0.0.0/16")],
                dns_support: Some(true),
                dns_hostnames: Some(true),
            }]),
            subnets: Fact::Present(subnets),
            route_tables: Fact::Present(route_tables),
            network_acls: Fact::Present(network_acls),
            security_groups: Fact::Present(security_groups),
            vpc_endpoints: Fact::Present(Vec::new()),
            nat_gateways: Fact::Present(vec![NatGateway {
                id: "nat-big".into(),
                vpc_id: Some(vpc.clone()),
                subnet_id: Some("subnet-199".into()),
                state: Some("available".into()),
                connectivity: None,
            }]),
            internet_gateways: Fact::Present(vec![InternetGateway {
                id: "igw-big".into(),
                attached_vpc_ids: vec![vpc],
            }]),
            peering_connections: not_collected(),
            transit_gateways: not_collected(),
            transit_gateway_attachments: not_collected(),
            transit_gateway_route_tables: not_collected(),
        },
        logs: Fact::NotApplicable("bench".into()),
        execution_role: Fact::NotApplicable("bench".into()),
        kms_key: Fact::NotApplicable("bench".into()),
        rotation_events: Fact::NotApplicable("bench".into()),
        master_secret: Fact::NotApplicable("bench".into()),
        account_access: Fact::NotApplicable("bench".into()),
        template: Fact::NotApplicable("not collected".to_string()),
    }
}

fn bench(c: &mut Criterion) {
    let facts = synthetic();
    // Every reference names a group of the VPC.
    let groups = facts.network.security_groups.present().expect("groups");
    let referenced = groups
        .iter()
        .flat_map(|g| g.ingress.iter().chain(&g.egress))
        .filter_map(|r| match &r.peer {
            SgPeer::Group(id) => Some(id),
            _ => None,
        });
    for id in referenced {
        assert!(groups.iter().any(|g| &g.id == id), "{id} is not in the VPC");
    }
    let db = database_paths(&facts).expect("paths");
    let sm = secretsmanager_paths(&facts).expect("paths");
    assert_eq!(db.len() + sm.len(), 4);
    assert!(db
        .iter()
        .chain(&sm)
        .all(|p| p.verdict == net::Verdict::Reachable));
    c.bench_function(
        "all 4 paths of one target (2 subnets × database, secretsmanager)",
        |b| {
            b.iter(|| {
                let db = database_paths(std::hint::black_box(&facts));
                let sm = secretsmanager_paths(std::hint::black_box(&facts));
                (db, sm)
            })
        },
    );
}

/// The whole evaluation step of one target: the engine once, every check
/// on its paths, and (on the example, whose database path is blocked) the
/// placement search that runs the engine once per candidate subnet.
fn bench_diagnose(c: &mut Criterion) {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/lab-failed-rotation.json"
    );
    let text = std::fs::read_to_string(example).expect("the bundled example");
    let lab: Facts = serde_json::from_str(&text).expect("the example is a snapshot");
    let synthetic = synthetic();
    c.bench_function(
        "diagnose the bundled example (blocked: engine + placement + 21 checks)",
        |b| b.iter(|| rotation_doctor_checks::diagnose(std::hint::black_box(&lab))),
    );
    c.bench_function(
        "diagnose the synthetic VPC (reachable: engine + 21 checks)",
        |b| b.iter(|| rotation_doctor_checks::diagnose(std::hint::black_box(&synthetic))),
    );
}

criterion_group!(benches, bench, bench_diagnose);
criterion_main!(benches);
