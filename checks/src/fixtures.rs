//! Hand-built facts for tests: the lab case of the foundation issue, which
//! each test bends into the configuration it needs.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use crate::facts::*;

pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:lab/mysql-AbCdEf";
pub const LAMBDA_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:lab-rotation";

pub fn net(cidr: &str) -> ipnet::IpNet {
    cidr.parse().expect("test CIDR")
}

pub fn subnet(id: &str, cidr: &str, az: &str) -> Subnet {
    Subnet {
        id: id.to_string(),
        vpc_id: "vpc-lab".to_string(),
        cidr: Some(net(cidr)),
        ipv6_cidrs: Vec::new(),
        availability_zone: Some(az.to_string()),
        name: None,
    }
}

pub fn tcp(port: u16, peer: SgPeer) -> SgRule {
    SgRule {
        protocol: "tcp".to_string(),
        ports: Some(PortRange {
            from: port,
            to: port,
        }),
        peer,
        description: None,
    }
}

pub fn all_traffic(peer: SgPeer) -> SgRule {
    SgRule {
        protocol: "-1".to_string(),
        ports: None,
        peer,
        description: None,
    }
}

pub fn group(id: &str, ingress: Vec<SgRule>, egress: Vec<SgRule>) -> SecurityGroup {
    SecurityGroup {
        id: id.to_string(),
        name: Some(id.trim_start_matches("sg-").to_string()),
        vpc_id: Some("vpc-lab".to_string()),
        ingress,
        egress,
    }
}

pub fn route(cidr: &str, target: RouteTarget) -> Route {
    Route {
        destination: RouteDestination::Cidr(net(cidr)),
        target,
        state: Some("active".to_string()),
    }
}

pub fn acl_entry(
    rule_number: i32,
    egress: bool,
    allow: bool,
    cidr: &str,
    ports: Option<(u16, u16)>,
) -> AclEntry {
    AclEntry {
        rule_number,
        egress,
        protocol: if ports.is_some() { "6" } else { "-1" }.to_string(),
        allow,
        cidr: Some(net(cidr)),
        port_range: ports.map(|(from, to)| PortRange { from, to }),
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The lab: a rotation Lambda placed in the DB subnets with the DB security
/// group, which admits 3306 only from the separate Lambda security group.
pub fn lab() -> Facts {
    let any = || SgPeer::Cidr(net("0.0.0.0/0"));
    Facts {
        schema_version: SNAPSHOT_SCHEMA_VERSION,
        tool_version: "test".to_string(),
        description: None,
        collected_at: Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
        region: "us-east-1".to_string(),
        secret_id: "lab/mysql".to_string(),
        log_window_hours: 24,
        secret: Fact::Present(Secret {
            arn: SECRET_ARN.to_string(),
            name: "lab/mysql".to_string(),
            rotation_enabled: Some(true),
            rotation_lambda_arn: Some(LAMBDA_ARN.to_string()),
            rotation_rules: Some(RotationRules {
                automatically_after_days: Some(30),
                ..RotationRules::default()
            }),
            versions: BTreeMap::from([
                ("v1".to_string(), vec!["AWSCURRENT".to_string()]),
                ("v2".to_string(), vec!["AWSPENDING".to_string()]),
            ]),
            ..Secret::default()
        }),
        connection: Fact::Present(Connection {
            format: SecretFormat::Json,
            engine: Some("mysql".to_string()),
            host: Some("lab-db.abc.us-east-1.rds.amazonaws.com".to_string()),
            port: Some(3306),
            dbname: Some("app".to_string()),
            username: Some("admin".to_string()),
            db_instance_identifier: Some("lab-db".to_string()),
            db_cluster_identifier: None,
            keys: ids(&["engine", "host", "port", "username", "password", "dbname"]),
        }),
        lambda: Fact::Present(Lambda {
            arn: LAMBDA_ARN.to_string(),
            name: "lab-rotation".to_string(),
            role: Some("arn:aws:iam::123456789012:role/lab-rotation".to_string()),
            runtime: Some("python3.12".to_string()),
            description: None,
            timeout_seconds: Some(30),
            state: Some("Active".to_string()),
            state_reason: None,
            state_reason_code: None,
            last_update_status: Some("Successful".to_string()),
            last_update_status_reason: None,
            last_update_status_reason_code: None,
            vpc: Some(LambdaVpc {
                subnet_ids: ids(&["subnet-db-a", "subnet-db-b"]),
                security_group_ids: ids(&["sg-db"]),
            }),
            secrets_manager_endpoint: Some("https://secretsmanager.us-east-1.amazonaws.com".to_string()),
            environment_keys: ids(&["SECRETS_MANAGER_ENDPOINT"]),
            password_settings: BTreeMap::new(),
            elasticache_settings: BTreeMap::new(),
        }),
        lambda_policy: Fact::Present(None),
        lambda_tags: Fact::Present(BTreeMap::new()),
        database: Fact::Present(Database {
            kind: DatabaseKind::Instance,
            identifier: "lab-db".to_string(),
            arn: None,
            engine: Some("mysql".to_string()),
            engine_version: Some("8.0.35".to_string()),
            status: Some("available".to_string()),
            endpoint: Some("lab-db.abc.us-east-1.rds.amazonaws.com".to_string()),
            port: Some(3306),
            vpc_id: Some("vpc-lab".to_string()),
            subnet_ids: ids(&["subnet-db-a", "subnet-db-b"]),
            security_group_ids: ids(&["sg-db"]),
            publicly_accessible: Some(false),
        }),
        proxy: Fact::NotApplicable("the lab's host is its database's endpoint".to_string()),
        network: Network {
            vpcs: Fact::Present(vec![Vpc {
                id: "vpc-lab".to_string(),
                cidrs: vec![net("10.0.0.0/16")],
                dns_support: Some(true),
                dns_hostnames: Some(true),
            }]),
            subnets: Fact::Present(vec![
                subnet("subnet-db-a", "10.0.1.0/24", "us-east-1a"),
                subnet("subnet-db-b", "10.0.2.0/24", "us-east-1b"),
                subnet("subnet-lambda-a", "10.0.11.0/24", "us-east-1a"),
                subnet("subnet-lambda-b", "10.0.12.0/24", "us-east-1b"),
                subnet("subnet-public-a", "10.0.101.0/24", "us-east-1a"),
                subnet("subnet-public-b", "10.0.102.0/24", "us-east-1b"),
            ]),
            route_tables: Fact::Present(vec![
                RouteTable {
                    id: "rtb-main".to_string(),
                    vpc_id: "vpc-lab".to_string(),
                    main: true,
                    subnet_ids: Vec::new(),
                    routes: vec![route("10.0.0.0/16", RouteTarget::Local)],
                },
                RouteTable {
                    id: "rtb-private".to_string(),
                    vpc_id: "vpc-lab".to_string(),
                    main: false,
                    subnet_ids: ids(&["subnet-db-a", "subnet-db-b", "subnet-lambda-a", "subnet-lambda-b"]),
                    routes: vec![
                        route("10.0.0.0/16", RouteTarget::Local),
                        route("0.0.0.0/0", RouteTarget::NatGateway("nat-lab".to_string())),
                    ],
                },
                RouteTable {
                    id: "rtb-public".to_string(),
                    vpc_id: "vpc-lab".to_string(),
                    main: false,
                    subnet_ids: ids(&["subnet-public-a", "subnet-public-b"]),
                    routes: vec![
                        route("10.0.0.0/16", RouteTarget::Local),
                        route("0.0.0.0/0", RouteTarget::InternetGateway("igw-lab".to_string())),
                    ],
                },
            ]),
            network_acls: Fact::Present(vec![NetworkAcl {
                id: "acl-default".to_string(),
                vpc_id: "vpc-lab".to_string(),
                is_default: true,
                subnet_ids: ids(&[
                    "subnet-db-a",
                    "subnet-db-b",
                    "subnet-lambda-a",
                    "subnet-lambda-b",
                    "subnet-public-a",
                    "subnet-public-b",
                ]),
                entries: vec![
                    acl_entry(100, false, true, "0.0.0.0/0", None),
                    acl_entry(100, true, true, "0.0.0.0/0", None),
                    acl_entry(32767, false, false, "0.0.0.0/0", None),
                    acl_entry(32767, true, false, "0.0.0.0/0", None),
                ],
            }]),
            security_groups: Fact::Present(vec![
                group(
                    "sg-db",
                    vec![tcp(3306, SgPeer::Group("sg-lambda".to_string()))],
                    vec![all_traffic(any())],
                ),
                group("sg-lambda", Vec::new(), vec![all_traffic(any())]),
            ]),
            vpc_endpoints: Fact::Present(Vec::new()),
            nat_gateways: Fact::Present(vec![NatGateway {
                id: "nat-lab".to_string(),
                vpc_id: Some("vpc-lab".to_string()),
                subnet_id: Some("subnet-public-a".to_string()),
                state: Some("available".to_string()),
                connectivity: None,
            }]),
            internet_gateways: Fact::Present(vec![InternetGateway {
                id: "igw-lab".to_string(),
                attached_vpc_ids: ids(&["vpc-lab"]),
            }]),
            peering_connections: not_collected(),
            transit_gateways: not_collected(),
            transit_gateway_attachments: not_collected(),
            transit_gateway_route_tables: not_collected(),
        },
        logs: Fact::Present(LogExcerpt {
            log_group: "/aws/lambda/lab-rotation".to_string(),
            start: None,
            end: None,
            events: vec![LogEvent {
                timestamp: Utc.with_ymd_and_hms(2026, 11, 28, 11, 0, 0).unwrap(),
                stream: Some("2026/11/28/[$LATEST]abc".to_string()),
                message: format!(
                    "[ERROR]\t2026-11-28T11:00:00.000Z\tf00d\tsetSecret: Unable to log into database with previous, current, or pending secret of secret arn {SECRET_ARN}"
                ),
            }],
            truncated: false,
        }),
        execution_role: Fact::Present(lab_role()),
        kms_key: Fact::NotApplicable(
            "the secret uses the AWS managed key aws/secretsmanager".to_string(),
        ),
        rotation_events: Fact::Present(RotationEvents {
            start: Some(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()),
            end: Some(Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()),
            events: Vec::new(),
            truncated: false,
        }),
        master_secret: Fact::NotApplicable(
            "the secret has no masterarn key (single-user rotation)".to_string(),
        ),
        account_access: Fact::NotApplicable("the credentials' own account".to_string()),
        template: Fact::NotApplicable("not collected".to_string()),
    }
}

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/lab-rotation";
pub const KEY_ARN: &str =
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The lab's execution role, healthy: Lambda may assume it, and one inline
/// policy grants what the rotation template and a VPC function need.
pub fn lab_role() -> ExecutionRole {
    ExecutionRole {
        arn: ROLE_ARN.to_string(),
        name: "lab-rotation".to_string(),
        trust_policy: Some(serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"
            }]
        })),
        inline_policies: Fact::Present(vec![RolePolicy {
            name: "rotation".to_string(),
            arn: None,
            document: Fact::Present(serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:DescribeSecret",
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:PutSecretValue",
                            "secretsmanager:UpdateSecretVersionStage"
                        ],
                        "Resource": SECRET_ARN
                    },
                    {
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetRandomPassword",
                        "Resource": "*"
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "ec2:CreateNetworkInterface",
                            "ec2:DeleteNetworkInterface",
                            "ec2:DescribeNetworkInterfaces",
                            "ec2:DetachNetworkInterface"
                        ],
                        "Resource": "*"
                    }
                ]
            })),
        }]),
        attached_policies: Fact::Present(Vec::new()),
        permissions_boundary: None,
        simulation: Fact::Unavailable(Unavailable {
            call: "iam:SimulatePrincipalPolicy".to_string(),
            kind: ErrorKind::Other,
            message: "HTTP 500 with an unreadable error body".to_string(),
        }),
    }
}

/// A customer managed key, enabled, whose policy enables IAM policies
/// (the default key policy).
pub fn lab_key() -> KmsKey {
    KmsKey {
        key_id: KEY_ARN.to_string(),
        arn: Some(KEY_ARN.to_string()),
        state: Some("Enabled".to_string()),
        manager: Some("CUSTOMER".to_string()),
        deletion_date: None,
        policy: Fact::Present(serde_json::json!({
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [{
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*"
            }]
        })),
    }
}

/// Mutable access to a present fact in a test.
pub fn get<T>(fact: &mut Fact<T>) -> &mut T {
    match fact {
        Fact::Present(value) => value,
        _ => panic!("fact not present in fixture"),
    }
}

/// The lab after the fix: the Lambda in the Lambda subnets and group.
pub fn lab_moved() -> Facts {
    let mut facts = lab();
    get(&mut facts.lambda).vpc = Some(LambdaVpc {
        subnet_ids: ids(&["subnet-lambda-a", "subnet-lambda-b"]),
        security_group_ids: ids(&["sg-lambda"]),
    });
    facts
}

pub const PROXY_HOST: &str = "lab-proxy.proxy-abc123.us-east-1.rds.amazonaws.com";

/// The moved lab whose secret names an RDS Proxy in front of lab-db: the
/// proxy lists the secret, sits in the database's subnets, and its group
/// `sg-proxy` admits the Lambda's group on 3306.
pub fn lab_behind_proxy() -> Facts {
    let mut facts = lab_moved();
    get(&mut facts.connection).host = Some(PROXY_HOST.to_string());
    facts.proxy = Fact::Present(Proxy {
        name: "lab-proxy".to_string(),
        arn: Some("arn:aws:rds:us-east-1:123456789012:db-proxy:prx-0123456789abcdef0".to_string()),
        endpoint: PROXY_HOST.to_string(),
        endpoint_name: None,
        engine_family: Some("MYSQL".to_string()),
        status: Some("available".to_string()),
        vpc_id: Some("vpc-lab".to_string()),
        subnet_ids: ids(&["subnet-db-a", "subnet-db-b"]),
        security_group_ids: ids(&["sg-proxy"]),
        auth_secret_arns: vec![SECRET_ARN.to_string()],
        default_auth_scheme: None,
        targets: Fact::Present(vec![ProxyTarget {
            kind: DatabaseKind::Instance,
            identifier: "lab-db".to_string(),
            endpoint: None,
            port: Some(3306),
        }]),
    });
    if let Fact::Present(groups) = &mut facts.network.security_groups {
        groups.push(group(
            "sg-proxy",
            vec![tcp(3306, SgPeer::Group("sg-lambda".to_string()))],
            vec![all_traffic(SgPeer::Cidr(net("0.0.0.0/0")))],
        ));
    }
    facts
}

/// `facts` as a multi-user secret whose master secret RDS manages.
pub fn rds_managed_master(mut facts: Facts) -> Facts {
    use crate::facts::MasterSecret;
    use crate::role_access::Outcome;
    crate::fixtures::get(&mut facts.connection)
        .keys
        .push("masterarn".to_string());
    facts.master_secret = Fact::Present(MasterSecret {
        found: true,
        scheduled_for_deletion: false,
        same_account: true,
        same_region: true,
        customer_managed_key: false,
        key_state: Fact::NotApplicable("the AWS managed key".into()),
        role_get_secret_value: Fact::Present(Outcome::Granted("the lab policy".into())),
        role_decrypt: Fact::NotApplicable("the AWS managed key".into()),
        decided_by: "our evaluation".into(),
        rds_primary_arn: Some("arn:aws:rds:us-east-1:123456789012:db:lab-db".into()),
    });
    facts
}

pub fn peering(
    id: &str,
    status: &str,
    requester: (&str, &str),
    accepter: (&str, &str),
) -> PeeringConnection {
    let side = |(vpc, cidr): (&str, &str)| PeeringSide {
        vpc_id: vpc.to_string(),
        owner_id: Some("123456789012".to_string()),
        region: Some("us-east-1".to_string()),
        cidrs: vec![net(cidr)],
    };
    PeeringConnection {
        id: id.to_string(),
        status: status.to_string(),
        requester: side(requester),
        accepter: side(accepter),
    }
}

/// The moved lab with its database in a second VPC, `vpc-db`
/// (10.1.0.0/16): subnets `subnet-far-a`/`-b`, group `sg-far-db`
/// admitting `sg-lambda` by id, route table `rtb-far` (local only) and an
/// allow-all ACL. Each crossing adds its own routes.
fn lab_far_database() -> Facts {
    let mut facts = lab_moved();
    let far_subnet = |id: &str, cidr: &str, az: &str| Subnet {
        vpc_id: "vpc-db".to_string(),
        ..subnet(id, cidr, az)
    };
    let database = get(&mut facts.database);
    database.vpc_id = Some("vpc-db".to_string());
    database.subnet_ids = ids(&["subnet-far-a", "subnet-far-b"]);
    database.security_group_ids = ids(&["sg-far-db"]);
    let network = &mut facts.network;
    get(&mut network.vpcs).push(Vpc {
        id: "vpc-db".to_string(),
        cidrs: vec![net("10.1.0.0/16")],
        dns_support: Some(true),
        dns_hostnames: Some(true),
    });
    get(&mut network.subnets).extend([
        far_subnet("subnet-far-a", "10.1.1.0/24", "us-east-1a"),
        far_subnet("subnet-far-b", "10.1.2.0/24", "us-east-1b"),
    ]);
    get(&mut network.route_tables).push(RouteTable {
        id: "rtb-far".to_string(),
        vpc_id: "vpc-db".to_string(),
        main: true,
        subnet_ids: Vec::new(),
        routes: vec![route("10.1.0.0/16", RouteTarget::Local)],
    });
    get(&mut network.network_acls).push(NetworkAcl {
        id: "acl-far".to_string(),
        vpc_id: "vpc-db".to_string(),
        is_default: true,
        subnet_ids: ids(&["subnet-far-a", "subnet-far-b"]),
        entries: vec![
            acl_entry(100, false, true, "0.0.0.0/0", None),
            acl_entry(100, true, true, "0.0.0.0/0", None),
        ],
    });
    let mut far_group = group(
        "sg-far-db",
        vec![tcp(3306, SgPeer::Group("sg-lambda".to_string()))],
        vec![all_traffic(SgPeer::Cidr(net("0.0.0.0/0")))],
    );
    far_group.vpc_id = Some("vpc-db".to_string());
    get(&mut network.security_groups).push(far_group);
    facts
}

/// Adds a route to a route table of the fixture.
pub fn add_route(facts: &mut Facts, table: &str, route: Route) {
    get(&mut facts.network.route_tables)
        .iter_mut()
        .find(|t| t.id == table)
        .expect("route table in fixture")
        .routes
        .push(route);
}

/// The far database reached over `pcx-lab`, active, with routes both ways.
pub fn lab_peered() -> Facts {
    let mut facts = lab_far_database();
    let pcx = || RouteTarget::VpcPeering("pcx-lab".to_string());
    add_route(&mut facts, "rtb-private", route("10.1.0.0/16", pcx()));
    add_route(&mut facts, "rtb-far", route("10.0.0.0/16", pcx()));
    facts.network.peering_connections = Fact::Present(vec![peering(
        "pcx-lab",
        "active",
        ("vpc-lab", "10.0.0.0/16"),
        ("vpc-db", "10.1.0.0/16"),
    )]);
    facts
}

/// The far database reached over transit gateway `tgw-lab`: both VPCs
/// attached in both zones, one route table `tgw-rtb-lab` associated with
/// and propagated from both (its routes are derived from the
/// propagations), security group referencing off. `sg-far-db` admits the
/// Lambda VPC's range as well, since its group reference does not count.
pub fn lab_via_transit_gateway() -> Facts {
    let mut facts = lab_far_database();
    let tgw = || RouteTarget::TransitGateway("tgw-lab".to_string());
    add_route(&mut facts, "rtb-private", route("10.1.0.0/16", tgw()));
    add_route(&mut facts, "rtb-far", route("10.0.0.0/16", tgw()));
    if let Some(group) = get(&mut facts.network.security_groups)
        .iter_mut()
        .find(|g| g.id == "sg-far-db")
    {
        group
            .ingress
            .push(tcp(3306, SgPeer::Cidr(net("10.0.0.0/16"))));
    }
    let attachment = |id: &str, vpc: &str, subnets: &[&str]| TransitGatewayAttachment {
        id: id.to_string(),
        transit_gateway_id: "tgw-lab".to_string(),
        vpc_id: vpc.to_string(),
        vpc_owner_id: Some("123456789012".to_string()),
        state: Some("available".to_string()),
        subnet_ids: ids(subnets),
        security_group_referencing: Some(true),
    };
    let network = &mut facts.network;
    network.transit_gateways = Fact::Present(vec![TransitGateway {
        id: "tgw-lab".to_string(),
        owner_id: Some("123456789012".to_string()),
        state: Some("available".to_string()),
        security_group_referencing: Some(false),
    }]);
    network.transit_gateway_attachments = Fact::Present(vec![
        attachment(
            "tgw-attach-lab",
            "vpc-lab",
            &["subnet-lambda-a", "subnet-lambda-b"],
        ),
        attachment(
            "tgw-attach-far",
            "vpc-db",
            &["subnet-far-a", "subnet-far-b"],
        ),
    ]);
    network.transit_gateway_route_tables = Fact::Present(vec![TransitGatewayRouteTable {
        id: "tgw-rtb-lab".to_string(),
        transit_gateway_id: "tgw-lab".to_string(),
        associated_attachment_ids: ids(&["tgw-attach-lab", "tgw-attach-far"]),
        propagating_attachment_ids: ids(&["tgw-attach-lab", "tgw-attach-far"]),
        routes: Vec::new(),
    }]);
    facts
}

/// The moved lab with a provisioned Redshift cluster where the MySQL
/// instance was: the same subnets and group, which admits 3306 only.
pub fn redshift() -> Facts {
    let host = "lab-warehouse.c9akciq32xyz.us-east-1.redshift.amazonaws.com";
    let mut facts = lab_moved();
    let connection = get(&mut facts.connection);
    connection.engine = Some("redshift".to_string());
    connection.host = Some(host.to_string());
    connection.port = Some(5439);
    connection.dbname = Some("dev".to_string());
    connection.db_instance_identifier = None;
    let db = get(&mut facts.database);
    db.kind = DatabaseKind::RedshiftCluster;
    db.identifier = "lab-warehouse".to_string();
    db.engine = Some("redshift".to_string());
    db.engine_version = Some("1.0".to_string());
    db.endpoint = Some(host.to_string());
    db.port = Some(5439);
    facts
}

/// The moved lab where the secret is an ElastiCache user's (`user_arn`,
/// `username`, `password`), used by a replication group in the DB subnets
/// and group; the DB group does not admit 6379, which the rotation never
/// needs.
pub fn elasticache_user() -> Facts {
    let mut facts = lab_moved();
    facts.connection = Fact::Present(Connection {
        format: SecretFormat::Json,
        username: Some("app-user".to_string()),
        keys: ids(&["username", "password", "user_arn"]),
        ..Connection::default()
    });
    let db = get(&mut facts.database);
    db.kind = DatabaseKind::ElasticacheUser;
    db.identifier = "app-user".to_string();
    db.arn = Some("arn:aws:elasticache:us-east-1:123456789012:user:app-user".to_string());
    db.engine = Some("redis".to_string());
    db.engine_version = None;
    db.status = Some("active".to_string());
    db.endpoint = Some("lab-cache.abc123.ng.0001.use1.cache.amazonaws.com".to_string());
    db.port = Some(6379);
    db.publicly_accessible = None;
    facts
}
