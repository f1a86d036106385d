//! Resource types → facts: what each resource will be once CloudFormation
//! has created it, in the types a live diagnosis reads, with the ids the
//! template uses (logical ids) and ARNs built in the template's region and
//! a placeholder account (`intrinsics::ACCOUNT_PLACEHOLDER`).
//!
//! Property names follow the CloudFormation and SAM references
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-template-resource-type-ref.html,
//! https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html).
//! Where AWS adds something the template does not write, so does this
//! module: a VPC's main route table (only the local route: CloudFormation
//! cannot change which table is main, so a subnet without an association
//! uses it), its default network ACL (allows everything) and default
//! security group, a security group's allow-all egress rule when it has no
//! inline egress, the local route of every route table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ipnet::IpNet;

use super::intrinsics::{
    known_functions, references, Context, ResourceValues, Val, ACCOUNT_PLACEHOLDER,
};
use super::live::{self, DatabaseRef, Kind, Lookup};
use super::locate::{Located, LocationIndex, Locations};
use super::yaml::{Node, Value};
use super::{given, LoadOptions, TemplateError, TemplateTarget};
use crate::facts::*;

/// The transforms that turn a `HostedRotationLambda` into a function
/// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/transform-aws-secretsmanager.html).
pub const SECRETS_MANAGER_TRANSFORMS: &[&str] = &[
    "AWS::SecretsManager-2020-07-23",
    "AWS::SecretsManager-2024-09-16",
];

/// Stands for the random suffix Secrets Manager appends to a secret's name
/// in its ARN.
const SECRET_SUFFIX: &str = "xxxxxx";

/// Lambda's default timeout when a function does not set one.
const LAMBDA_DEFAULT_TIMEOUT: i32 = 3;
/// The timeout of the rotation functions of AWS's templates (the hosted
/// rotation and the Serverless Application Repository apps).
const ROTATION_TEMPLATE_TIMEOUT: i32 = 30;

/// Stands for the account's part of a database endpoint the template
/// creates.
const DB_ADDRESS_PLACEHOLDER: &str = "xxxxxxxxxxxx";

/// An endpoint the template builds for one of its databases.
fn is_template_address(host: &str) -> bool {
    host.split('.').nth(1) == Some(DB_ADDRESS_PLACEHOLDER)
}

const NOT_DEPLOYED_LOGS: &str = "not deployed yet: a template has no logs";
const NOT_DEPLOYED_TAGS: &str = "not deployed yet: a template's function has no tags to read";
const NOT_IN_TEMPLATE: &str =
    "peering connections and transit gateways are not read from a template";

fn err<T>(line: u32, message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        line,
        message: message.into(),
    })
}

fn unresolved<T>(why: impl Into<String>) -> Fact<T> {
    Fact::Unavailable(live::open(why))
}

/// The sentence for an id the template uses but does not create.
fn not_created(what: &str, id: &str) -> String {
    format!(
        "{what} {id} is not created by the template: rotation-doctor cannot see it before deployment"
    )
}

struct Resource<'a> {
    id: String,
    kind: String,
    /// The line of its logical id.
    line: u32,
    node: &'a Node,
    condition: Option<String>,
}

impl<'a> Resource<'a> {
    fn prop(&self, key: &str) -> Option<&'a Node> {
        self.node.get("Properties")?.get(key)
    }

    /// The line of a property's key, else the resource's.
    fn prop_line(&self, key: &str) -> u32 {
        self.node
            .get("Properties")
            .and_then(|p| p.entry(key))
            .map_or(self.line, |e| e.line)
    }
}

struct Model<'a> {
    resources: BTreeMap<String, Resource<'a>>,
    /// SAM's `Globals.Function`.
    globals: Option<&'a Node>,
}

impl<'a> Model<'a> {
    fn get(&self, id: &str) -> Option<&Resource<'a>> {
        self.resources.get(id)
    }

    fn of_kind<'m>(&'m self, kind: &'m str) -> impl Iterator<Item = &'m Resource<'a>> + 'm {
        self.resources.values().filter(move |r| r.kind == kind)
    }

    /// A property's value; `Val::NoValue` when it is absent.
    fn eval(&self, ctx: &Context, r: &Resource, key: &str) -> Result<Val, TemplateError> {
        match r.prop(key) {
            Some(node) => ctx.eval(node),
            None => Ok(Val::NoValue),
        }
    }

    /// A name property, else the logical id.
    fn name(&self, ctx: &Context, r: &Resource, key: &str) -> Result<Val, TemplateError> {
        Ok(match self.eval(ctx, r, key)? {
            Val::NoValue | Val::Null => Val::Str(r.id.clone()),
            other => other,
        })
    }

    fn arn_with(
        &self,
        ctx: &Context,
        r: &Resource,
        key: &str,
        make: impl Fn(&str) -> String,
    ) -> Result<Val, TemplateError> {
        Ok(match self.name(ctx, r, key)? {
            Val::Str(name) => Val::Str(make(&name)),
            other => other,
        })
    }

    fn secret_arn(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        self.arn_with(ctx, r, "Name", |name| {
            ctx.arn(
                "secretsmanager",
                true,
                &format!("secret:{name}-{SECRET_SUFFIX}"),
            )
        })
    }

    fn function_name(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        if r.kind == "AWS::Serverless::Application" {
            return Ok(match self.eval(ctx, r, "Parameters")?.get("functionName") {
                Some(name) => name.clone(),
                None => Val::Str(format!("{}-RotationLambda", r.id)),
            });
        }
        self.name(ctx, r, "FunctionName")
    }

    fn function_arn(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        Ok(match self.function_name(ctx, r)? {
            Val::Str(name) => Val::Str(ctx.arn("lambda", true, &format!("function:{name}"))),
            other => other,
        })
    }

    fn role_arn(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        let path = match self.eval(ctx, r, "Path")? {
            Val::Str(path) => path,
            _ => "/".to_string(),
        };
        self.arn_with(ctx, r, "RoleName", |name| {
            ctx.arn("iam", false, &format!("role{path}{name}"))
        })
    }

    fn db_identifier(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        let key = if r.kind == "AWS::RDS::DBCluster" {
            "DBClusterIdentifier"
        } else {
            "DBInstanceIdentifier"
        };
        Ok(match self.eval(ctx, r, key)? {
            // RDS stores identifiers in lower case.
            Val::Str(id) => Val::Str(id.to_ascii_lowercase()),
            Val::NoValue | Val::Null => Val::Str(r.id.clone()),
            other => other,
        })
    }

    fn db_port(&self, ctx: &Context, r: &Resource) -> Result<Option<u16>, TemplateError> {
        Ok(match self.eval(ctx, r, "Port")?.as_text() {
            Some(port) => port.trim().parse().ok(),
            None => self
                .eval(ctx, r, "Engine")?
                .as_text()
                .and_then(|e| crate::net::default_port(&e.to_ascii_lowercase())),
        })
    }

    fn db_address(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        Ok(match self.db_identifier(ctx, r)? {
            Val::Str(id) => Val::Str(format!(
                "{}.{DB_ADDRESS_PLACEHOLDER}.{}.rds.{}",
                id.to_ascii_lowercase(),
                ctx.region,
                ctx.url_suffix
            )),
            other => other,
        })
    }

    /// What `Ref` gives for a resource of the model.
    fn ref_of(&self, ctx: &Context, r: &Resource) -> Result<Val, TemplateError> {
        match r.kind.as_str() {
            "AWS::SecretsManager::Secret" => self.secret_arn(ctx, r),
            "AWS::SecretsManager::SecretTargetAttachment" => {
                // Its Ref is the secret's ARN.
                match r.prop("SecretId") {
                    Some(node) => ctx.eval(node),
                    None => err(r.line, format!("{} has no SecretId", r.id)),
                }
            }
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => self.function_name(ctx, r),
            "AWS::IAM::Role" => self.name(ctx, r, "RoleName"),
            "AWS::IAM::ManagedPolicy" => self.arn_with(ctx, r, "ManagedPolicyName", |name| {
                ctx.arn("iam", false, &format!("policy/{name}"))
            }),
            "AWS::RDS::DBInstance" | "AWS::RDS::DBCluster" => self.db_identifier(ctx, r),
            "AWS::RDS::DBSubnetGroup" => Ok(match self.name(ctx, r, "DBSubnetGroupName")? {
                Val::Str(name) => Val::Str(name.to_ascii_lowercase()),
                other => other,
            }),
            "AWS::KMS::Alias" => self.name(ctx, r, "AliasName"),
            "AWS::Serverless::Application" => Ok(Val::Str(ctx.arn(
                "cloudformation",
                true,
                &format!("stack/{}-{}/STACK_ID", ctx.stack_name, r.id),
            ))),
            _ => Ok(Val::Str(r.id.clone())),
        }
    }

    fn attribute_of(
        &self,
        ctx: &Context,
        r: &Resource,
        attribute: &str,
    ) -> Result<Val, TemplateError> {
        let known = match (r.kind.as_str(), attribute) {
            ("AWS::SecretsManager::Secret", "Id") => Some(self.secret_arn(ctx, r)?),
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                Some(self.function_arn(ctx, r)?)
            }
            ("AWS::Serverless::Application", "Outputs.RotationLambdaARN") => {
                Some(self.function_arn(ctx, r)?)
            }
            ("AWS::IAM::Role", "Arn") => Some(self.role_arn(ctx, r)?),
            ("AWS::KMS::Key", "Arn") => {
                Some(Val::Str(ctx.arn("kms", true, &format!("key/{}", r.id))))
            }
            ("AWS::KMS::Key", "KeyId") => Some(Val::Str(r.id.clone())),
            ("AWS::RDS::DBInstance", "Endpoint.Address")
            | ("AWS::RDS::DBCluster", "Endpoint.Address") => Some(self.db_address(ctx, r)?),
            ("AWS::RDS::DBInstance" | "AWS::RDS::DBCluster", "Endpoint.Port") => {
                self.db_port(ctx, r)?.map(|p| Val::Str(p.to_string()))
            }
            ("AWS::RDS::DBInstance", "DBInstanceArn") | ("AWS::RDS::DBCluster", "DBClusterArn") => {
                Some(Val::Str(self.db_arn(ctx, r)?))
            }
            ("AWS::EC2::VPC", "CidrBlock") => Some(self.eval(ctx, r, "CidrBlock")?),
            ("AWS::EC2::VPC", "VpcId") => Some(Val::Str(r.id.clone())),
            ("AWS::EC2::VPC", "DefaultSecurityGroup") => Some(Val::Str(default_group(&r.id))),
            ("AWS::EC2::VPC", "DefaultNetworkAcl") => Some(Val::Str(default_acl(&r.id))),
            ("AWS::EC2::Subnet", "SubnetId") => Some(Val::Str(r.id.clone())),
            ("AWS::EC2::Subnet", "VpcId" | "AvailabilityZone" | "CidrBlock") => {
                Some(self.eval(ctx, r, attribute)?)
            }
            ("AWS::EC2::SecurityGroup", "GroupId") => Some(Val::Str(r.id.clone())),
            ("AWS::EC2::SecurityGroup", "VpcId") => Some(self.eval(ctx, r, "VpcId")?),
            ("AWS::EC2::VPCEndpoint", "Id") => Some(Val::Str(r.id.clone())),
            ("AWS::EC2::VPCEndpoint", "DnsEntries") => Some(Val::List(
                endpoint_dns_names(ctx, &r.id, &self.eval(ctx, r, "ServiceName")?)
                    .into_iter()
                    .map(|name| Val::Str(format!("ZONE:{name}")))
                    .collect(),
            )),
            ("AWS::EC2::NatGateway", "NatGatewayId") => Some(Val::Str(r.id.clone())),
            _ => None,
        };
        Ok(known.unwrap_or_else(|| {
            Val::Unresolved(format!(
                "{}.{attribute} is known only after deployment",
                r.id
            ))
        }))
    }

    fn db_arn(&self, ctx: &Context, r: &Resource) -> Result<String, TemplateError> {
        let kind = if r.kind == "AWS::RDS::DBCluster" {
            "cluster"
        } else {
            "db"
        };
        Ok(match self.db_identifier(ctx, r)? {
            Val::Str(id) => ctx.arn("rds", true, &format!("{kind}:{id}")),
            _ => ctx.arn("rds", true, &format!("{kind}:{}", r.id)),
        })
    }
}

impl ResourceValues for Model<'_> {
    fn reference(&self, ctx: &Context, id: &str) -> Option<Result<Val, TemplateError>> {
        let r = self.get(id)?;
        Some(self.ref_of(ctx, r))
    }

    fn attribute(&self, ctx: &Context, id: &str, attribute: &str) -> Result<Val, TemplateError> {
        match self.get(id) {
            Some(r) => self.attribute_of(ctx, r, attribute),
            None => err(0, format!("there is no resource {id}")),
        }
    }
}

fn default_group(vpc: &str) -> String {
    format!("{vpc}.DefaultSecurityGroup")
}

fn default_acl(vpc: &str) -> String {
    format!("{vpc}.DefaultNetworkAcl")
}

fn main_table(vpc: &str) -> String {
    format!("{vpc}.MainRouteTable")
}

/// The DNS names an interface endpoint will have: its own, per service.
fn endpoint_dns_names(ctx: &Context, id: &str, service: &Val) -> Vec<String> {
    let service = service.as_text().unwrap_or_default();
    let short = service.rsplit('.').next().unwrap_or_default();
    vec![format!(
        "{}.{short}.{}.vpce.{}",
        id.to_ascii_lowercase(),
        ctx.region,
        ctx.url_suffix
    )]
}

/// A list of strings: a list, or a comma-separated string (SAM and the
/// hosted rotation take `VpcSubnetIds` as one string).
fn strings(value: &Val) -> Result<Vec<String>, String> {
    match value {
        Val::Unresolved(why) => Err(why.clone()),
        Val::List(items) => items
            .iter()
            .map(|item| match item {
                Val::Unresolved(why) => Err(why.clone()),
                other => Ok(other.as_text().unwrap_or_default()),
            })
            .collect(),
        Val::Str(text) => Ok(text
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()),
        _ => Ok(Vec::new()),
    }
}

fn text(value: &Val) -> Result<Option<String>, String> {
    match value {
        Val::Unresolved(why) => Err(why.clone()),
        other => Ok(other.as_text()),
    }
}

fn boolean(value: &Val, default: bool) -> Result<bool, String> {
    Ok(match text(value)? {
        Some(t) => t.eq_ignore_ascii_case("true"),
        None => default,
    })
}

/// The `Name` tag of a `Tags` list.
fn name_tag(tags: &Val) -> Option<String> {
    match tags {
        Val::List(items) => items.iter().find_map(|tag| {
            (tag.get("Key")?.as_text()? == "Name").then(|| tag.get("Value")?.as_text())?
        }),
        _ => None,
    }
}

/// The construct a CDK template's resource comes from (its `aws:cdk:path`
/// metadata, without the `/Resource` of an L2 construct's L1 child): what
/// a CDK user finds in their code, where the logical id is a hash.
fn cdk_path(r: &Resource) -> Option<String> {
    let path = r.node.get("Metadata")?.get("aws:cdk:path")?.as_str()?;
    let path = path.strip_suffix("/Resource").unwrap_or(path);
    (!path.is_empty()).then(|| path.to_string())
}

fn cidr(value: &Val) -> Result<Option<IpNet>, String> {
    match text(value)? {
        Some(t) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{t} is not a CIDR block")),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------
// The network, built once for the whole template.

/// A network list item with what of it could not be resolved.
struct Item<T> {
    value: T,
    unresolved: Option<String>,
}

#[derive(Default)]
struct World {
    vpcs: Vec<Item<Vpc>>,
    subnets: Vec<Item<Subnet>>,
    groups: Vec<Item<SecurityGroup>>,
    tables: Vec<Item<RouteTable>>,
    acls: Vec<Item<NetworkAcl>>,
    endpoints: Vec<Item<VpcEndpoint>>,
    nats: Vec<Item<NatGateway>>,
    igws: Vec<Item<InternetGateway>>,
}

impl World {
    /// The account's resources read with `--live`, before the template's:
    /// the template's rules for an existing group are added to it, its
    /// subnets in an existing VPC use that VPC's tables.
    fn with_account(account: Option<&live::Account>) -> World {
        fn read<T: Clone>(list: &Fact<Vec<T>>) -> Vec<Item<T>> {
            list.present()
                .into_iter()
                .flatten()
                .map(|value| item(value.clone(), Vec::new()))
                .collect()
        }
        let Some(account) = account else {
            return World::default();
        };
        let n = &account.network;
        World {
            vpcs: read(&n.vpcs),
            subnets: read(&n.subnets),
            groups: read(&n.security_groups),
            tables: read(&n.route_tables),
            acls: read(&n.network_acls),
            endpoints: read(&n.vpc_endpoints),
            nats: read(&n.nat_gateways),
            igws: read(&n.internet_gateways),
        }
    }
}

fn item<T>(value: T, problems: Vec<String>) -> Item<T> {
    Item {
        value,
        unresolved: problems.into_iter().next(),
    }
}

/// Collects the first unresolved reason of each field it reads.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn take<T: Default>(&mut self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|why| {
            self.0.push(why);
            T::default()
        })
    }
}

fn sg_protocol(value: Option<String>) -> String {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("-1") | Some("all") => "-1".to_string(),
        Some("6") => "tcp".to_string(),
        Some("17") => "udp".to_string(),
        Some("1") => "icmp".to_string(),
        Some(other) => other.to_string(),
    }
}

/// One inline or standalone security group rule (`SecurityGroupIngress`
/// / `SecurityGroupEgress` properties, or the resources of those names).
fn sg_rule(rule: &Val, ingress: bool, p: &mut Problems) -> Vec<SgRule> {
    let protocol = sg_protocol(p.take(text(rule.get("IpProtocol").unwrap_or(&Val::NoValue))));
    let port = |key: &str, p: &mut Problems| -> Option<i64> {
        p.take(text(rule.get(key).unwrap_or(&Val::NoValue)))
            .and_then(|t| t.trim().parse().ok())
    };
    let (from, to) = (port("FromPort", p), port("ToPort", p));
    let ports = match (protocol.as_str(), from, to) {
        ("-1", _, _) => None,
        (_, Some(from), Some(to)) if from >= 0 && to >= 0 => Some(PortRange {
            from: u16::try_from(from).unwrap_or(u16::MAX),
            to: u16::try_from(to).unwrap_or(u16::MAX),
        }),
        _ => None,
    };
    let description = rule.get("Description").and_then(Val::as_text);
    let (group_key, list_key) = if ingress {
        ("SourceSecurityGroupId", "SourcePrefixListId")
    } else {
        ("DestinationSecurityGroupId", "DestinationPrefixListId")
    };
    let mut peers = Vec::new();
    for key in ["CidrIp", "CidrIpv6"] {
        if let Some(net) = p.take(cidr(rule.get(key).unwrap_or(&Val::NoValue))) {
            peers.push(SgPeer::Cidr(net));
        }
    }
    if let Some(group) = p.take(text(rule.get(group_key).unwrap_or(&Val::NoValue))) {
        peers.push(SgPeer::Group(group));
    }
    if let Some(list) = p.take(text(rule.get(list_key).unwrap_or(&Val::NoValue))) {
        peers.push(SgPeer::PrefixList(list));
    }
    peers
        .into_iter()
        .map(|peer| SgRule {
            protocol: protocol.clone(),
            ports,
            peer,
            description: description.clone(),
        })
        .collect()
}

fn local_routes(cidrs: &[IpNet]) -> Vec<Route> {
    cidrs
        .iter()
        .map(|c| Route {
            destination: RouteDestination::Cidr(*c),
            target: RouteTarget::Local,
            state: Some("active".to_string()),
        })
        .collect()
}

/// `0.0.0.0/0`.
fn anywhere() -> IpNet {
    IpNet::V4(ipnet::Ipv4Net::default())
}

fn allow_all_acl_entries() -> Vec<AclEntry> {
    [false, true]
        .into_iter()
        .map(|egress| AclEntry {
            rule_number: 100,
            egress,
            protocol: "-1".to_string(),
            allow: true,
            cidr: Some(anywhere()),
            port_range: None,
        })
        .collect()
}

impl<'a> Model<'a> {
    fn existing<'m>(
        &'m self,
        kind: &'m str,
        exists: &'m BTreeSet<String>,
    ) -> impl Iterator<Item = &'m Resource<'a>> + 'm {
        self.of_kind(kind).filter(move |r| exists.contains(&r.id))
    }

    fn world(
        &self,
        ctx: &Context,
        exists: &BTreeSet<String>,
        account: Option<&live::Account>,
    ) -> Result<World, TemplateError> {
        let mut world = World::with_account(account);
        let v = |r: &Resource, key: &str| self.eval(ctx, r, key);

        // VPCs, with their extra CIDR blocks and what AWS gives each.
        let mut extra: BTreeMap<String, Vec<IpNet>> = BTreeMap::new();
        for r in self.existing("AWS::EC2::VPCCidrBlock", exists) {
            if let (Ok(Some(vpc)), Ok(Some(net))) =
                (text(&v(r, "VpcId")?), cidr(&v(r, "CidrBlock")?))
            {
                extra.entry(vpc).or_default().push(net);
            }
        }
        for r in self.existing("AWS::EC2::VPC", exists) {
            let mut p = Problems::default();
            let mut cidrs: Vec<IpNet> = p.take(cidr(&v(r, "CidrBlock")?)).into_iter().collect();
            cidrs.extend(extra.get(&r.id).into_iter().flatten());
            let vpc = Vpc {
                id: r.id.clone(),
                cidrs: cidrs.clone(),
                dns_support: Some(p.take(boolean(&v(r, "EnableDnsSupport")?, true))),
                dns_hostnames: Some(p.take(boolean(&v(r, "EnableDnsHostnames")?, false))),
            };
            let problems = p.0;
            world.tables.push(item(
                RouteTable {
                    id: main_table(&r.id),
                    vpc_id: r.id.clone(),
                    main: true,
                    subnet_ids: Vec::new(),
                    routes: local_routes(&cidrs),
                },
                problems.clone(),
            ));
            world.acls.push(item(
                NetworkAcl {
                    id: default_acl(&r.id),
                    vpc_id: r.id.clone(),
                    is_default: true,
                    subnet_ids: Vec::new(),
                    entries: allow_all_acl_entries(),
                },
                Vec::new(),
            ));
            let default = SecurityGroup {
                id: default_group(&r.id),
                name: Some("default".to_string()),
                vpc_id: Some(r.id.clone()),
                ingress: vec![SgRule {
                    protocol: "-1".to_string(),
                    ports: None,
                    peer: SgPeer::Group(default_group(&r.id)),
                    description: None,
                }],
                egress: vec![SgRule {
                    protocol: "-1".to_string(),
                    ports: None,
                    peer: SgPeer::Cidr(anywhere()),
                    description: None,
                }],
            };
            world.groups.push(item(default, Vec::new()));
            world.vpcs.push(item(vpc, problems));
        }

        for r in self.existing("AWS::EC2::Subnet", exists) {
            let mut p = Problems::default();
            let vpc_id = p.take(text(&v(r, "VpcId")?)).unwrap_or_default();
            let subnet = Subnet {
                id: r.id.clone(),
                vpc_id,
                cidr: p.take(cidr(&v(r, "CidrBlock")?)),
                ipv6_cidrs: p.take(cidr(&v(r, "Ipv6CidrBlock")?)).into_iter().collect(),
                availability_zone: p.take(text(&v(r, "AvailabilityZone")?)),
                name: name_tag(&v(r, "Tags")?),
            };
            world.subnets.push(item(subnet, p.0));
        }

        // Security groups, their inline rules, then the standalone ones.
        for r in self.existing("AWS::EC2::SecurityGroup", exists) {
            let mut p = Problems::default();
            let mut ingress = Vec::new();
            if let Val::List(rules) = v(r, "SecurityGroupIngress")? {
                for rule in &rules {
                    ingress.extend(sg_rule(rule, true, &mut p));
                }
            }
            let egress = match v(r, "SecurityGroupEgress")? {
                Val::List(rules) if !rules.is_empty() => {
                    let mut egress = Vec::new();
                    for rule in &rules {
                        egress.extend(sg_rule(rule, false, &mut p));
                    }
                    egress
                }
                // Terraform removes the default rule from the groups it creates.
                _ if r
                    .node
                    .get("Metadata")
                    .and_then(|m| m.get(super::terraform::NO_DEFAULT_EGRESS))
                    .is_some() =>
                {
                    Vec::new()
                }
                // AWS's default rule stays when no inline egress is given.
                _ => vec![SgRule {
                    protocol: "-1".to_string(),
                    ports: None,
                    peer: SgPeer::Cidr(anywhere()),
                    description: None,
                }],
            };
            let name = match v(r, "GroupName")? {
                Val::Str(name) => Some(name),
                _ => name_tag(&v(r, "Tags")?).or_else(|| cdk_path(r)),
            };
            let group = SecurityGroup {
                id: r.id.clone(),
                name,
                vpc_id: p.take(text(&v(r, "VpcId")?)),
                ingress,
                egress,
            };
            world.groups.push(item(group, p.0));
        }
        for (kind, ingress) in [
            ("AWS::EC2::SecurityGroupIngress", true),
            ("AWS::EC2::SecurityGroupEgress", false),
        ] {
            for r in self.existing(kind, exists) {
                let mut p = Problems::default();
                let rule_props = match r.node.get("Properties") {
                    Some(node) => ctx.eval(node)?,
                    None => Val::Map(Vec::new()),
                };
                let rules = sg_rule(&rule_props, ingress, &mut p);
                let group_id = p.take(text(&v(r, "GroupId")?)).unwrap_or_default();
                if let Some(group) = world.groups.iter_mut().find(|g| g.value.id == group_id) {
                    let list = if ingress {
                        &mut group.value.ingress
                    } else {
                        &mut group.value.egress
                    };
                    list.extend(rules);
                    if group.unresolved.is_none() {
                        group.unresolved = p.0.into_iter().next();
                    }
                }
            }
        }

        // Route tables, their routes and associations.
        for r in self.existing("AWS::EC2::RouteTable", exists) {
            let mut p = Problems::default();
            let vpc_id = p.take(text(&v(r, "VpcId")?)).unwrap_or_default();
            let cidrs: Vec<IpNet> = world
                .vpcs
                .iter()
                .find(|x| x.value.id == vpc_id)
                .map(|x| x.value.cidrs.clone())
                .unwrap_or_default();
            let table = RouteTable {
                id: r.id.clone(),
                vpc_id,
                main: false,
                subnet_ids: Vec::new(),
                routes: local_routes(&cidrs),
            };
            world.tables.push(item(table, p.0));
        }
        let igw_ids: BTreeSet<&str> = self
            .existing("AWS::EC2::InternetGateway", exists)
            .map(|r| r.id.as_str())
            .collect();
        for r in self.existing("AWS::EC2::Route", exists) {
            let mut p = Problems::default();
            let table_id = p.take(text(&v(r, "RouteTableId")?)).unwrap_or_default();
            let destination = match (
                p.take(cidr(&v(r, "DestinationCidrBlock")?)),
                p.take(cidr(&v(r, "DestinationIpv6CidrBlock")?)),
                p.take(text(&v(r, "DestinationPrefixListId")?)),
            ) {
                (Some(net), _, _) | (None, Some(net), _) => RouteDestination::Cidr(net),
                (None, None, Some(list)) => RouteDestination::PrefixList(list),
                (None, None, None) => continue,
            };
            let mut target = None;
            for (key, make) in [
                (
                    "NatGatewayId",
                    RouteTarget::NatGateway as fn(String) -> RouteTarget,
                ),
                ("VpcEndpointId", RouteTarget::VpcEndpoint),
                ("TransitGatewayId", RouteTarget::TransitGateway),
                ("VpcPeeringConnectionId", RouteTarget::VpcPeering),
                ("NetworkInterfaceId", RouteTarget::NetworkInterface),
                ("InstanceId", RouteTarget::Instance),
                (
                    "EgressOnlyInternetGatewayId",
                    RouteTarget::EgressOnlyInternetGateway,
                ),
            ] {
                if let Some(id) = p.take(text(&v(r, key)?)) {
                    target = Some(make(id));
                }
            }
            if let Some(id) = p.take(text(&v(r, "GatewayId")?)) {
                target = Some(if igw_ids.contains(id.as_str()) || id.starts_with("igw-") {
                    RouteTarget::InternetGateway(id)
                } else {
                    RouteTarget::Other(id)
                });
            }
            let Some(target) = target else {
                // A target that cannot be resolved leaves the table undecided.
                if let Some(why) = p.0.into_iter().next() {
                    if let Some(table) = world.tables.iter_mut().find(|t| t.value.id == table_id) {
                        table.unresolved.get_or_insert(why);
                    }
                }
                continue;
            };
            if let Some(table) = world.tables.iter_mut().find(|t| t.value.id == table_id) {
                table.value.routes.push(Route {
                    destination,
                    target,
                    state: Some("active".to_string()),
                });
                if table.unresolved.is_none() {
                    table.unresolved = p.0.into_iter().next();
                }
            }
        }
        for r in self.existing("AWS::EC2::SubnetRouteTableAssociation", exists) {
            let (Ok(Some(subnet)), Ok(Some(table_id))) =
                (text(&v(r, "SubnetId")?), text(&v(r, "RouteTableId")?))
            else {
                continue;
            };
            if let Some(table) = world.tables.iter_mut().find(|t| t.value.id == table_id) {
                table.value.subnet_ids.push(subnet);
            }
        }

        // Network ACLs.
        for r in self.existing("AWS::EC2::NetworkAcl", exists) {
            let mut p = Problems::default();
            let acl = NetworkAcl {
                id: r.id.clone(),
                vpc_id: p.take(text(&v(r, "VpcId")?)).unwrap_or_default(),
                is_default: false,
                subnet_ids: Vec::new(),
                entries: Vec::new(),
            };
            world.acls.push(item(acl, p.0));
        }
        for r in self.existing("AWS::EC2::NetworkAclEntry", exists) {
            let mut p = Problems::default();
            let acl_id = p.take(text(&v(r, "NetworkAclId")?)).unwrap_or_default();
            let range = v(r, "PortRange")?;
            let bound = |key: &str, p: &mut Problems| -> Option<u16> {
                p.take(text(range.get(key).unwrap_or(&Val::NoValue)))
                    .and_then(|t| t.trim().parse().ok())
            };
            let port_range = match (bound("From", &mut p), bound("To", &mut p)) {
                (Some(from), Some(to)) => Some(PortRange { from, to }),
                _ => None,
            };
            let entry = AclEntry {
                rule_number: p
                    .take(text(&v(r, "RuleNumber")?))
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(32766),
                egress: p.take(boolean(&v(r, "Egress")?, false)),
                protocol: p
                    .take(text(&v(r, "Protocol")?))
                    .unwrap_or_else(|| "-1".into()),
                allow: p
                    .take(text(&v(r, "RuleAction")?))
                    .is_some_and(|a| a.eq_ignore_ascii_case("allow")),
                cidr: p
                    .take(cidr(&v(r, "CidrBlock")?))
                    .or(p.take(cidr(&v(r, "Ipv6CidrBlock")?))),
                port_range,
            };
            if let Some(acl) = world.acls.iter_mut().find(|a| a.value.id == acl_id) {
                acl.value.entries.push(entry);
                if acl.unresolved.is_none() {
                    acl.unresolved = p.0.into_iter().next();
                }
            }
        }
        for r in self.existing("AWS::EC2::SubnetNetworkAclAssociation", exists) {
            let (Ok(Some(subnet)), Ok(Some(acl_id))) =
                (text(&v(r, "SubnetId")?), text(&v(r, "NetworkAclId")?))
            else {
                continue;
            };
            if let Some(acl) = world.acls.iter_mut().find(|a| a.value.id == acl_id) {
                acl.value.subnet_ids.push(subnet);
            }
        }

        // Gateways and endpoints.
        for r in self.existing("AWS::EC2::NatGateway", exists) {
            let mut p = Problems::default();
            let subnet_id = p.take(text(&v(r, "SubnetId")?));
            let vpc_id = subnet_id.as_ref().and_then(|s| {
                world
                    .subnets
                    .iter()
                    .find(|x| &x.value.id == s)
                    .map(|x| x.value.vpc_id.clone())
            });
            let nat = NatGateway {
                id: r.id.clone(),
                vpc_id,
                subnet_id,
                // What it will be once created.
                state: Some("available".to_string()),
                connectivity: Some(
                    p.take(text(&v(r, "ConnectivityType")?))
                        .unwrap_or_else(|| "public".to_string()),
                ),
            };
            world.nats.push(item(nat, p.0));
        }
        let mut attachments: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.existing("AWS::EC2::VPCGatewayAttachment", exists) {
            if let (Ok(Some(igw)), Ok(Some(vpc))) =
                (text(&v(r, "InternetGatewayId")?), text(&v(r, "VpcId")?))
            {
                attachments.entry(igw).or_default().push(vpc);
            }
        }
        for r in self.existing("AWS::EC2::InternetGateway", exists) {
            let igw = InternetGateway {
                id: r.id.clone(),
                attached_vpc_ids: attachments.remove(&r.id).unwrap_or_default(),
            };
            world.igws.push(item(igw, Vec::new()));
        }
        for r in self.existing("AWS::EC2::VPCEndpoint", exists) {
            let mut p = Problems::default();
            let service = v(r, "ServiceName")?;
            let endpoint_type = p
                .take(text(&v(r, "VpcEndpointType")?))
                .unwrap_or_else(|| "Gateway".to_string());
            let vpc_id = p.take(text(&v(r, "VpcId")?)).unwrap_or_default();
            let mut groups = p.take(strings(&v(r, "SecurityGroupIds")?));
            if groups.is_empty() && endpoint_type == "Interface" {
                // Without groups an interface endpoint gets the VPC's default one.
                groups.push(default_group(&vpc_id));
            }
            let endpoint = VpcEndpoint {
                id: r.id.clone(),
                vpc_id,
                service_name: p.take(text(&service)).unwrap_or_default(),
                dns_names: endpoint_dns_names(ctx, &r.id, &service),
                endpoint_type: Some(endpoint_type),
                state: Some("available".to_string()),
                subnet_ids: p.take(strings(&v(r, "SubnetIds")?)),
                security_group_ids: groups,
                private_dns_enabled: p.take(boolean(&v(r, "PrivateDnsEnabled")?, false)),
                policy: match v(r, "PolicyDocument")? {
                    Val::NoValue | Val::Null => None,
                    doc => match doc.to_json() {
                        Some(json) => Some(json_document(json)),
                        None => {
                            p.0.push(format!("the policy of endpoint {} is unresolved", r.id));
                            None
                        }
                    },
                },
            };
            world.endpoints.push(item(endpoint, p.0));
        }
        Ok(world)
    }
}

/// A policy document written as a JSON string is parsed; a mapping is used as is.
fn json_document(json: serde_json::Value) -> serde_json::Value {
    match &json {
        serde_json::Value::String(text) => serde_json::from_str(text).unwrap_or(json),
        _ => json,
    }
}

/// The network facts one target needs: the pieces of the VPCs its Lambda
/// and database are in, or why a list cannot be known.
fn network_for(
    world: &World,
    lookup: &Lookup,
    lambda_subnets: &[String],
    lambda_groups: &[String],
    db: Option<&Database>,
) -> Network {
    let mut subnet_ids: Vec<&String> = lambda_subnets.iter().collect();
    let mut group_ids: Vec<&String> = lambda_groups.iter().collect();
    if let Some(db) = db {
        subnet_ids.extend(&db.subnet_ids);
        group_ids.extend(&db.security_group_ids);
    }
    if subnet_ids.is_empty() && db.is_none_or(|d| d.vpc_id.is_none()) {
        return Network::not_applicable(
            "the rotation Lambda is not attached to a VPC, and the database's VPC is unknown",
        );
    }
    let mut external_subnets = Vec::new();
    let mut vpc_ids: BTreeSet<String> = BTreeSet::new();
    for id in &subnet_ids {
        match world.subnets.iter().find(|s| &&s.value.id == id) {
            Some(subnet) => {
                vpc_ids.insert(subnet.value.vpc_id.clone());
            }
            None => external_subnets.push(lookup.missing(Kind::Subnet, id)),
        }
    }
    if let Some(vpc) = db.and_then(|d| d.vpc_id.clone()) {
        vpc_ids.insert(vpc);
    }
    let external_vpcs: Vec<Unavailable> = vpc_ids
        .iter()
        .filter(|id| !id.is_empty() && !world.vpcs.iter().any(|v| &v.value.id == *id))
        .map(|id| {
            let mut why = lookup.missing(Kind::Vpc, id);
            if why.kind == ErrorKind::Unresolved && lookup.account.is_none() {
                why.message = format!(
                    "VPC {id} is not created by the template, nor are its route tables, network ACLs, endpoints and gateways: pass --live to read them from the account"
                );
            }
            why
        })
        .collect();
    let in_vpcs = |vpc: &str| vpc_ids.contains(vpc);

    fn collect<'w, T: Clone + 'w>(
        items: impl Iterator<Item = &'w Item<T>>,
        external: &[Unavailable],
    ) -> Fact<Vec<T>> {
        if let Some(why) = external.first() {
            return Fact::Unavailable(why.clone());
        }
        let mut out = Vec::new();
        for item in items {
            if let Some(why) = &item.unresolved {
                return unresolved(why.clone());
            }
            out.push(item.value.clone());
        }
        Fact::Present(out)
    }

    let mut external_groups: Vec<Unavailable> = group_ids
        .iter()
        .filter(|id| !world.groups.iter().any(|g| &&g.value.id == *id))
        .map(|id| lookup.missing(Kind::SecurityGroup, id))
        .collect();
    external_groups.sort_by(|a, b| a.message.cmp(&b.message));
    // Tables and ACLs: those of these VPCs.
    let tables: Vec<&Item<RouteTable>> = world
        .tables
        .iter()
        .filter(|t| in_vpcs(&t.value.vpc_id))
        .collect();
    let mut external_nats = Vec::new();
    let mut external_igws = Vec::new();
    for table in &tables {
        for route in &table.value.routes {
            match &route.target {
                RouteTarget::NatGateway(id) if !world.nats.iter().any(|n| &n.value.id == id) => {
                    external_nats.push(lookup.missing(Kind::NatGateway, id))
                }
                RouteTarget::InternetGateway(id)
                    if !world.igws.iter().any(|g| &g.value.id == id) =>
                {
                    external_igws.push(lookup.missing(Kind::InternetGateway, id))
                }
                _ => {}
            }
        }
    }
    let with = |mut first: Vec<Unavailable>, then: &[Unavailable]| {
        first.extend(then.iter().cloned());
        first
    };
    Network {
        vpcs: collect(
            world.vpcs.iter().filter(|v| in_vpcs(&v.value.id)),
            &external_vpcs,
        ),
        subnets: collect(
            world
                .subnets
                .iter()
                .filter(|s| in_vpcs(&s.value.vpc_id) || subnet_ids.contains(&&s.value.id)),
            &external_subnets,
        ),
        route_tables: collect(tables.into_iter(), &external_vpcs),
        network_acls: collect(
            world.acls.iter().filter(|a| in_vpcs(&a.value.vpc_id)),
            &external_vpcs,
        ),
        security_groups: collect(
            world.groups.iter().filter(|g| {
                g.value.vpc_id.as_deref().is_some_and(in_vpcs) || group_ids.contains(&&g.value.id)
            }),
            &external_groups,
        ),
        vpc_endpoints: collect(
            world.endpoints.iter().filter(|e| in_vpcs(&e.value.vpc_id)),
            &external_vpcs,
        ),
        nat_gateways: collect(
            world
                .nats
                .iter()
                .filter(|n| n.value.vpc_id.as_deref().is_none_or(in_vpcs)),
            &with(external_vpcs.clone(), &external_nats),
        ),
        internet_gateways: collect(
            world.igws.iter(),
            &with(external_vpcs.clone(), &external_igws),
        ),
        // Peering connections and transit gateways are not read from a
        // template: a route to one leaves the path unknown.
        peering_connections: Fact::NotApplicable(NOT_IN_TEMPLATE.to_string()),
        transit_gateways: Fact::NotApplicable(NOT_IN_TEMPLATE.to_string()),
        transit_gateway_attachments: Fact::NotApplicable(NOT_IN_TEMPLATE.to_string()),
        transit_gateway_route_tables: Fact::NotApplicable(NOT_IN_TEMPLATE.to_string()),
    }
}

// ---------------------------------------------------------------------------
// The template's sections.

/// Each parameter's value: `--parameter`, else its default, else
/// unresolved with what to pass. An SSM parameter type is always
/// unresolved: its value is read from Parameter Store at deployment.
fn parameters(
    tree: &Node,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Val>, TemplateError> {
    let mut out = BTreeMap::new();
    let declared = tree.get("Parameters");
    if let Some(node) = declared {
        if node.as_map().is_none() && node.value != Value::Null {
            return err(node.line, "Parameters must be a mapping");
        }
    }
    for entry in declared.and_then(Node::as_map).unwrap_or_default() {
        let name = &entry.key;
        let kind = entry
            .value
            .get("Type")
            .and_then(Node::as_str)
            .unwrap_or("String");
        let default = entry.value.get("Default").and_then(|d| match &d.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Seq(items) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        });
        let text = given.get(name).cloned().or(default);
        let value = if kind.starts_with("AWS::SSM::Parameter::Value<") {
            Val::Unresolved(format!(
                "parameter {name} is read from SSM Parameter Store at deployment{}",
                text.map(|t| format!(" ({t})")).unwrap_or_default()
            ))
        } else {
            match text {
                None => Val::Unresolved(format!(
                    "parameter {name} has no value and no default: pass --parameter {name}=VALUE"
                )),
                Some(text) => {
                    if let Some(Value::Seq(allowed)) =
                        entry.value.get("AllowedValues").map(|a| &a.value)
                    {
                        if !allowed.iter().any(|a| a.as_str() == Some(text.as_str())) {
                            return err(
                                entry.line,
                                format!(
                                    "the value of parameter {name} is not one of its AllowedValues"
                                ),
                            );
                        }
                    }
                    if kind.starts_with("List<") || kind == "CommaDelimitedList" {
                        Val::List(
                            text.split(',')
                                .map(|s| Val::Str(s.trim().to_string()))
                                .collect(),
                        )
                    } else {
                        Val::Str(text)
                    }
                }
            }
        };
        out.insert(name.clone(), value);
    }
    for name in given.keys() {
        if !out.contains_key(name) && name != "AWS::AccountId" && name != "AWS::StackName" {
            return err(
                0,
                format!("--parameter {name}: the template has no parameter {name}"),
            );
        }
    }
    Ok(out)
}

fn transforms(tree: &Node) -> Result<Vec<String>, TemplateError> {
    let Some(node) = tree.get("Transform") else {
        return Ok(Vec::new());
    };
    match &node.value {
        Value::Str(name) => Ok(vec![name.clone()]),
        Value::Seq(items) => items
            .iter()
            .map(|i| match i.as_str() {
                Some(name) => Ok(name.to_string()),
                None => err(i.line, "Transform lists names of transforms"),
            })
            .collect(),
        _ => err(node.line, "Transform is a name or a list of names"),
    }
}

fn read_resources(tree: &Node) -> Result<BTreeMap<String, Resource<'_>>, TemplateError> {
    let Some(section) = tree.get("Resources") else {
        return err(
            1,
            "the file has no Resources section: it is not a CloudFormation template",
        );
    };
    let Some(entries) = section.as_map().filter(|e| !e.is_empty()) else {
        return err(
            section.line,
            "Resources must be a mapping of at least one resource",
        );
    };
    let mut out = BTreeMap::new();
    for entry in entries {
        let node = &entry.value;
        let Some(kind) = node.get("Type").and_then(Node::as_str) else {
            return err(entry.line, format!("resource {} has no Type", entry.key));
        };
        let condition = match node.get("Condition") {
            None => None,
            Some(c) => match c.as_str() {
                Some(name) => Some(name.to_string()),
                None => {
                    return err(
                        c.line,
                        format!("the Condition of {} must be a name", entry.key),
                    )
                }
            },
        };
        if let Some(props) = node.get("Properties") {
            if props.as_map().is_none() && props.value != Value::Null {
                return err(
                    props.line,
                    format!("the Properties of {} must be a mapping", entry.key),
                );
            }
        }
        out.insert(
            entry.key.clone(),
            Resource {
                id: entry.key.clone(),
                kind: kind.to_string(),
                line: entry.line,
                node,
                condition,
            },
        );
    }
    Ok(out)
}

/// Every resource's dependencies (references in its properties and its
/// `DependsOn`), refusing a reference to nothing and a cycle, as
/// CloudFormation does before it creates anything.
fn dependencies(
    model: &Model,
    parameters: &BTreeMap<String, Val>,
    conditions: &BTreeMap<String, &Node>,
) -> Result<BTreeMap<String, BTreeSet<String>>, TemplateError> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in model.resources.values() {
        let mut found = Vec::new();
        if let Some(props) = r.node.get("Properties") {
            known_functions(props)?;
            references(props, &mut found);
        }
        let mut deps = BTreeSet::new();
        for (name, line) in found {
            if model.resources.contains_key(&name) {
                deps.insert(name);
            } else if !parameters.contains_key(&name) && !name.starts_with("AWS::") {
                return err(
                    line,
                    format!(
                        "{} refers to {name}, which is neither a parameter nor a resource",
                        r.id
                    ),
                );
            }
        }
        if let Some(node) = r.node.get("DependsOn") {
            let names: Vec<&Node> = match &node.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![node],
            };
            for name in names {
                let Some(name) = name.as_str() else {
                    return err(name.line, "DependsOn lists resource names");
                };
                if !model.resources.contains_key(name) {
                    return err(
                        node.line,
                        format!("{} DependsOn {name}, which is not a resource", r.id),
                    );
                }
                deps.insert(name.to_string());
            }
        }
        if let Some(condition) = &r.condition {
            if !conditions.contains_key(condition) {
                return err(
                    r.line,
                    format!("{} has condition {condition}, which is not defined", r.id),
                );
            }
        }
        graph.insert(r.id.clone(), deps);
    }
    // Depth-first, iteratively: a resource on the current path seen again
    // closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = graph.keys().map(|k| (k.as_str(), Mark::New)).collect();
    for start in graph.keys() {
        if marks[start.as_str()] != Mark::New {
            continue;
        }
        let mut path: Vec<(&str, Vec<&str>)> = Vec::new();
        let next: Vec<&str> = graph[start].iter().map(String::as_str).collect();
        marks.insert(start, Mark::OnPath);
        path.push((start, next));
        while let Some((node, pending)) = path.last_mut() {
            let node = *node;
            match pending.pop() {
                None => {
                    marks.insert(node, Mark::Done);
                    path.pop();
                }
                Some(dep) => match marks[dep] {
                    Mark::Done => {}
                    Mark::OnPath => {
                        let from = path.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[from..].iter().map(|(n, _)| *n).collect();
                        cycle.push(dep);
                        let line = model.get(dep).map_or(0, |r| r.line);
                        return err(
                            line,
                            format!(
                                "circular dependency between resources: {}",
                                cycle.join(" → ")
                            ),
                        );
                    }
                    Mark::New => {
                        marks.insert(dep, Mark::OnPath);
                        let next = graph[dep].iter().map(String::as_str).collect();
                        path.push((dep, next));
                    }
                },
            }
        }
    }
    Ok(graph)
}

fn depends_on(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut frontier = vec![from];
    while let Some(id) = frontier.pop() {
        for dep in graph.get(id).into_iter().flatten() {
            if dep == to {
                return true;
            }
            if seen.insert(dep.as_str()) {
                frontier.push(dep);
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------
// The targets.

/// `preset`: values the template's `Ref`s may name besides its parameters
/// (the unresolved values of a Terraform plan, with why).
pub(super) fn targets(
    file: &str,
    tree: &Node,
    options: &LoadOptions,
    stack_name: &str,
    preset: BTreeMap<String, Val>,
) -> Result<Vec<TemplateTarget>, TemplateError> {
    if tree.as_map().is_none() {
        return err(
            tree.line,
            "the file is not a CloudFormation template: its top level is not a mapping",
        );
    }
    let given = given(options);
    let mut parameters = parameters(tree, &given)?;
    parameters.extend(preset);
    let transforms = transforms(tree)?;
    let conditions: BTreeMap<String, &Node> = tree
        .get("Conditions")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|e| (e.key.clone(), &e.value))
        .collect();
    let model = Model {
        resources: read_resources(tree)?,
        globals: tree.get("Globals").and_then(|g| g.get("Function")),
    };
    let graph = dependencies(&model, &parameters, &conditions)?;
    // Which resources a template without any schedule creates does not
    // matter (one stack of a CDK app among others that rotate): conditions
    // it cannot decide are no reason to refuse it.
    if model
        .of_kind("AWS::SecretsManager::RotationSchedule")
        .next()
        .is_none()
    {
        return Ok(Vec::new());
    }
    let account = given
        .get("AWS::AccountId")
        .cloned()
        .unwrap_or_else(|| ACCOUNT_PLACEHOLDER.to_string());
    let stack_name = given
        .get("AWS::StackName")
        .cloned()
        .unwrap_or_else(|| stack_name.to_string());
    let ctx = Context::new(
        &options.region,
        &account,
        &stack_name,
        parameters,
        conditions,
        tree.get("Mappings"),
        &model,
    );
    let mut exists = BTreeSet::new();
    for r in model.resources.values() {
        let keep = match &r.condition {
            None => true,
            Some(condition) => match ctx.condition(condition, r.line)? {
                Ok(holds) => holds,
                Err(why) => {
                    return err(
                        r.line,
                        format!("whether {} exists depends on condition {condition}, which cannot be decided: {why}", r.id),
                    )
                }
            },
        };
        if keep {
            exists.insert(r.id.clone());
        }
    }
    let mut schedules: Vec<&Resource> = model
        .existing("AWS::SecretsManager::RotationSchedule", &exists)
        .collect();
    if schedules.is_empty() {
        return Ok(Vec::new());
    }
    schedules.sort_by_key(|r| r.line);
    let lookup = Lookup::new(options.account.as_ref());
    let world = model.world(&ctx, &exists, lookup.account)?;
    let index = Arc::new(model.location_index(&ctx, file, &exists)?);
    let builder = Builder {
        model: &model,
        ctx: &ctx,
        exists: &exists,
        world: &world,
        graph: &graph,
        file,
        transforms: &transforms,
        options,
        lookup: &lookup,
    };
    schedules
        .into_iter()
        .map(|schedule| {
            let facts = builder.facts(schedule)?;
            Ok(TemplateTarget {
                locations: Locations::new(index.clone(), &schedule.id),
                facts,
                wanted: lookup.take_wanted(),
            })
        })
        .collect()
}

struct Builder<'b, 'a> {
    model: &'b Model<'a>,
    ctx: &'b Context<'b>,
    exists: &'b BTreeSet<String>,
    world: &'b World,
    graph: &'b BTreeMap<String, BTreeSet<String>>,
    file: &'b str,
    transforms: &'b [String],
    options: &'b LoadOptions,
    lookup: &'b Lookup<'b>,
}

/// The database a `SecretTargetAttachment` points at.
enum Attached<'r, 'a> {
    Template(&'r Resource<'a>),
    /// Boxed: a `Database` is much larger than a reference.
    Existing(Box<Database>),
}

/// The database a secret's value names, for `--live` to look up.
fn database_ref(connection: &Connection) -> DatabaseRef {
    let field = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    DatabaseRef {
        instance_id: field(&connection.db_instance_identifier),
        cluster_id: field(&connection.db_cluster_identifier),
        host: field(&connection.host),
    }
}

/// The rotation function a schedule names, as the facts need it.
struct Function {
    lambda: Fact<Lambda>,
    lambda_policy: Fact<Option<serde_json::Value>>,
    execution_role: Fact<ExecutionRole>,
}

impl<'a> Builder<'_, 'a> {
    fn v(&self, r: &Resource, key: &str) -> Result<Val, TemplateError> {
        self.model.eval(self.ctx, r, key)
    }

    /// The existing resource of one of `kinds` whose `Ref`, ARN or logical
    /// id is `value`.
    fn find(&self, kinds: &[&str], value: &str) -> Result<Option<&Resource<'a>>, TemplateError> {
        for r in self.model.resources.values() {
            if !kinds.contains(&r.kind.as_str()) || !self.exists.contains(&r.id) {
                continue;
            }
            if r.id == value {
                return Ok(Some(r));
            }
            let reference = self.model.ref_of(self.ctx, r)?;
            if reference.as_text().as_deref() == Some(value) {
                return Ok(Some(r));
            }
            let arn = match r.kind.as_str() {
                "AWS::Lambda::Function"
                | "AWS::Serverless::Function"
                | "AWS::Serverless::Application" => Some(self.model.function_arn(self.ctx, r)?),
                "AWS::IAM::Role" => Some(self.model.role_arn(self.ctx, r)?),
                "AWS::SecretsManager::Secret" => Some(self.model.secret_arn(self.ctx, r)?),
                "AWS::KMS::Key" => Some(Val::Str(self.ctx.arn(
                    "kms",
                    true,
                    &format!("key/{}", r.id),
                ))),
                _ => None,
            };
            if arn.and_then(|a| a.as_text()).as_deref() == Some(value) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn facts(&self, schedule: &Resource<'a>) -> Result<Facts, TemplateError> {
        let ctx = self.ctx;
        let secret_id = match text(&self.v(schedule, "SecretId")?) {
            Ok(Some(id)) => Ok(id),
            Ok(None) => return err(schedule.line, format!("{} has no SecretId", schedule.id)),
            Err(why) => Err(why),
        };
        // SecretId names the secret, or the attachment whose Ref is its ARN.
        let secret_resource = match &secret_id {
            Ok(id) => self.find(&["AWS::SecretsManager::Secret"], id)?,
            Err(_) => None,
        };
        let target_name = secret_resource
            .map(|r| r.id.clone())
            .or_else(|| secret_id.clone().ok())
            .unwrap_or_else(|| schedule.id.clone());
        let attachment = match secret_resource {
            Some(secret) => self.attachment_of(secret)?,
            None => None,
        };

        // The rotation function.
        let hosted = schedule.prop("HostedRotationLambda");
        let (function, lambda_arn, hosted_facts) = match hosted {
            Some(_) => {
                let hosted = self.v(schedule, "HostedRotationLambda")?;
                let (function, arn, facts) = self.hosted_function(schedule, &hosted);
                (function, Some(arn), Some(facts))
            }
            None => match text(&self.v(schedule, "RotationLambdaARN")?) {
                Ok(Some(arn)) => (self.function(&arn)?, Some(arn), None),
                Ok(None) => {
                    return err(
                        schedule.line,
                        format!(
                            "{} has neither RotationLambdaARN nor HostedRotationLambda",
                            schedule.id
                        ),
                    )
                }
                Err(why) => (
                    Function {
                        lambda: unresolved(why.clone()),
                        lambda_policy: unresolved(why.clone()),
                        execution_role: unresolved(why),
                    },
                    None,
                    None,
                ),
            },
        };

        let rules = self.v(schedule, "RotationRules")?;
        let rotation_rules = match rules {
            Val::Map(_) => Some(RotationRules {
                automatically_after_days: rules
                    .get("AutomaticallyAfterDays")
                    .and_then(Val::as_text)
                    .and_then(|t| t.trim().parse().ok()),
                schedule_expression: rules.get("ScheduleExpression").and_then(Val::as_text),
                duration: rules.get("Duration").and_then(Val::as_text),
            }),
            _ => None,
        };

        let (secret, connection, kms_key) = match (secret_resource, &secret_id) {
            (Some(r), _) => self.secret(r, attachment, lambda_arn.clone(), rotation_rules)?,
            (None, Ok(id)) => match self.lookup.secret(id) {
                // The schedule turns rotation on, with its function and rules.
                Ok(existing) => {
                    let secret = match existing.secret {
                        Fact::Present(mut secret) => {
                            secret.rotation_enabled = Some(true);
                            secret.rotation_lambda_arn = lambda_arn.clone();
                            secret.rotation_rules = rotation_rules;
                            Fact::Present(secret)
                        }
                        other => other,
                    };
                    (secret, existing.connection, existing.kms_key)
                }
                Err(why) => (
                    Fact::Unavailable(why.clone()),
                    Fact::Unavailable(why.clone()),
                    Fact::Unavailable(why),
                ),
            },
            (None, Err(why)) => (
                unresolved(why.clone()),
                unresolved(why.clone()),
                unresolved(why.clone()),
            ),
        };
        let database = match attachment {
            Some(a) => self.database(a)?,
            None => match connection.present().map(database_ref) {
                Some(reference) if reference.host.as_deref().is_some_and(is_template_address) => {
                    unresolved(format!(
                        "the database at {} is the template's, but no SecretTargetAttachment attaches it to the secret",
                        reference.host.unwrap_or_default()
                    ))
                }
                Some(reference) if reference != DatabaseRef::default() => {
                    self.lookup.database(&reference)
                }
                _ => Fact::NotApplicable("the secret names no database host".to_string()),
            },
        };
        let lambda_vpc = function
            .lambda
            .present()
            .and_then(|l| l.vpc.clone())
            .unwrap_or_default();
        let network = match (&function.lambda, &database) {
            (Fact::Unavailable(u), _) => Network::not_applicable(&u.to_string()),
            _ => network_for(
                self.world,
                self.lookup,
                &lambda_vpc.subnet_ids,
                &lambda_vpc.security_group_ids,
                database.present(),
            ),
        };
        let network = match (&network.subnets, &database) {
            (_, Fact::Unavailable(u))
                if function.lambda.present().is_some_and(|l| l.vpc.is_none()) =>
            {
                Network::not_applicable(&u.to_string())
            }
            _ => network,
        };
        let template = TemplateFacts {
            file: self.file.to_string(),
            schedule: schedule.id.clone(),
            transforms: self.transforms.to_vec(),
            hosted_rotation: hosted_facts,
            target_attachment: attachment.map(|a| TargetAttachment {
                logical_id: a.id.clone(),
                schedule_waits: depends_on(self.graph, &schedule.id, &a.id),
            }),
            generate_secret_string: match secret_resource {
                Some(r) => self.generate_secret_string(r)?,
                None => None,
            },
        };
        let master_secret = match connection.present() {
            Some(c) if c.keys.iter().any(|k| k == "masterarn") => Fact::NotApplicable(
                "not deployed yet: the master secret named by masterarn is judged once deployed"
                    .to_string(),
            ),
            _ => Fact::NotApplicable(
                "the secret has no masterarn key (single-user rotation)".to_string(),
            ),
        };
        Ok(Facts {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            description: None,
            collected_at: self.options.now,
            region: ctx.region.clone(),
            secret_id: target_name,
            log_window_hours: 0,
            secret,
            connection,
            lambda: function.lambda,
            lambda_policy: function.lambda_policy,
            lambda_tags: Fact::NotApplicable(NOT_DEPLOYED_TAGS.to_string()),
            database,
            proxy: Fact::NotApplicable(
                "a template's secret is not read through an RDS Proxy".to_string(),
            ),
            network,
            logs: Fact::NotApplicable(NOT_DEPLOYED_LOGS.to_string()),
            execution_role: function.execution_role,
            kms_key,
            rotation_events: Fact::NotApplicable(
                "not deployed yet: a template has no CloudTrail events".to_string(),
            ),
            master_secret,
            template: Fact::Present(template),
            account_access: Fact::NotApplicable("a template is in no account yet".to_string()),
        })
    }

    fn attachment_of(&self, secret: &Resource<'a>) -> Result<Option<&Resource<'a>>, TemplateError> {
        let arn = self.model.secret_arn(self.ctx, secret)?.as_text();
        for r in self
            .model
            .existing("AWS::SecretsManager::SecretTargetAttachment", self.exists)
        {
            let id = text(&self.v(r, "SecretId")?).ok().flatten();
            if id.is_some() && (id == arn || id.as_deref() == Some(secret.id.as_str())) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// The secret, its value's shape, and its key.
    #[allow(clippy::type_complexity)]
    fn secret(
        &self,
        r: &Resource<'a>,
        attachment: Option<&Resource<'a>>,
        lambda_arn: Option<String>,
        rotation_rules: Option<RotationRules>,
    ) -> Result<(Fact<Secret>, Fact<Connection>, Fact<KmsKey>), TemplateError> {
        let ctx = self.ctx;
        let arn = self.model.secret_arn(ctx, r)?;
        let name = self.model.name(ctx, r, "Name")?;
        let (Some(arn), Some(name)) = (arn.as_text(), name.as_text()) else {
            let why = arn
                .unresolved()
                .or(name.unresolved())
                .unwrap_or_default()
                .to_string();
            return Ok((
                unresolved(why.clone()),
                unresolved(why.clone()),
                unresolved(why),
            ));
        };
        let key_value = self.v(r, "KmsKeyId")?;
        let (kms_key_id, kms_key) = match text(&key_value) {
            Err(why) => (None, unresolved(why)),
            Ok(None) => (
                None,
                Fact::NotApplicable(
                    "the secret uses the AWS managed key aws/secretsmanager".to_string(),
                ),
            ),
            Ok(Some(id)) => (Some(id.clone()), self.kms_key(&id)?),
        };
        // Reports name the secret by its logical id; the ARN keeps its Name.
        let _ = name;
        let secret = Secret {
            arn: arn.clone(),
            name: r.id.clone(),
            rotation_enabled: Some(true),
            rotation_lambda_arn: lambda_arn,
            rotation_rules,
            kms_key_id,
            ..Secret::default()
        };
        let connection = self.connection(r, attachment)?;
        Ok((Fact::Present(secret), connection, kms_key))
    }

    /// The password settings of the secret's `GenerateSecretString`
    /// (SEC003 compares them with the engine's rules).
    fn generate_secret_string(
        &self,
        r: &Resource<'a>,
    ) -> Result<Option<BTreeMap<String, String>>, TemplateError> {
        let generate = self.v(r, "GenerateSecretString")?;
        if !matches!(generate, Val::Map(_)) {
            return Ok(None);
        }
        let properties = [
            "ExcludeCharacters",
            "PasswordLength",
            "ExcludeNumbers",
            "ExcludePunctuation",
            "ExcludeUppercase",
            "ExcludeLowercase",
            "RequireEachIncludedType",
        ];
        Ok(Some(
            properties
                .into_iter()
                .filter_map(|name| {
                    let value = generate.get(name).and_then(Val::as_text)?;
                    Some((name.to_string(), value))
                })
                .collect(),
        ))
    }

    /// The keys the secret's value will have, and the connection fields:
    /// `SecretString`, or `GenerateSecretString`'s template and generated
    /// key, then what the attachment adds (engine, host, port and the
    /// database's identifier). A password is never kept.
    fn connection(
        &self,
        r: &Resource<'a>,
        attachment: Option<&Resource<'a>>,
    ) -> Result<Fact<Connection>, TemplateError> {
        let mut connection = Connection::default();
        let mut fields: BTreeMap<String, Option<String>> = BTreeMap::new();
        let json_fields = |text: &str, fields: &mut BTreeMap<String, Option<String>>| -> bool {
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(map)) => {
                    for (key, value) in map {
                        let value = match value {
                            serde_json::Value::String(s) => Some(s),
                            serde_json::Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                        fields.insert(key, value);
                    }
                    true
                }
                _ => false,
            }
        };
        match (self.v(r, "SecretString")?, self.v(r, "GenerateSecretString")?) {
            (Val::Unresolved(why), _) | (_, Val::Unresolved(why)) => return Ok(unresolved(why)),
            (value @ Val::Str(_), _) => {
                let text = value.as_text().unwrap_or_default();
                if !json_fields(&text, &mut fields) {
                    connection.format = SecretFormat::NotJson;
                }
            }
            (_, generate @ Val::Map(_)) => {
                match generate.get("SecretStringTemplate").map(text) {
                    Some(Err(why)) => return Ok(unresolved(why)),
                    Some(Ok(Some(template))) => {
                        if !json_fields(&template, &mut fields) {
                            connection.format = SecretFormat::NotJson;
                        }
                        let key = generate
                            .get("GenerateStringKey")
                            .and_then(Val::as_text)
                            .unwrap_or_else(|| "password".to_string());
                        fields.insert(key, None);
                    }
                    // Without a template the generated value is a bare string.
                    _ => connection.format = SecretFormat::NotJson,
                }
            }
            _ => {
                return Ok(unresolved(format!(
                    "secret {} has no value in the template (neither SecretString nor GenerateSecretString)",
                    r.id
                )))
            }
        }
        if let Some(a) = attachment {
            match self.attachment_fields(a)? {
                Ok(extra) => fields.extend(extra),
                Err(why) => return Ok(Fact::Unavailable(why)),
            }
        }
        let field = |key: &str| fields.get(key).cloned().flatten();
        connection.engine = field("engine");
        connection.host = field("host");
        connection.port = field("port").and_then(|p| p.trim().parse().ok());
        connection.dbname = field("dbname");
        connection.username = field("username");
        connection.db_instance_identifier = field("dbInstanceIdentifier");
        connection.db_cluster_identifier = field("dbClusterIdentifier");
        connection.keys = fields.into_keys().collect();
        Ok(Fact::Present(connection))
    }

    /// What a `SecretTargetAttachment` writes into the secret.
    fn attachment_fields(
        &self,
        a: &Resource<'a>,
    ) -> Result<Result<BTreeMap<String, Option<String>>, Unavailable>, TemplateError> {
        let db = match self.attached_database(a)? {
            Ok(Attached::Template(db)) => db,
            Ok(Attached::Existing(db)) => {
                let key = match db.kind {
                    // A template attaches an instance or a cluster, never a proxy.
                    DatabaseKind::Instance | DatabaseKind::Proxy => "dbInstanceIdentifier",
                    // Redshift's attachment writes a cluster's key too; only
                    // RDS and Redshift databases are read for a template, so
                    // an ElastiCache user never gets here.
                    DatabaseKind::Cluster
                    | DatabaseKind::RedshiftCluster
                    | DatabaseKind::ElasticacheUser => "dbClusterIdentifier",
                };
                return Ok(Ok(BTreeMap::from([
                    ("engine".to_string(), db.engine.clone()),
                    ("host".to_string(), db.endpoint.clone()),
                    ("port".to_string(), db.port.map(|p| p.to_string())),
                    (key.to_string(), Some(db.identifier.clone())),
                ])));
            }
            Err(why) => return Ok(Err(why)),
        };
        let ctx = self.ctx;
        let mut fields = BTreeMap::new();
        fields.insert(
            "engine".to_string(),
            self.v(db, "Engine")?
                .as_text()
                .map(|e| e.to_ascii_lowercase()),
        );
        fields.insert(
            "host".to_string(),
            self.model.db_address(ctx, db)?.as_text(),
        );
        fields.insert(
            "port".to_string(),
            self.model.db_port(ctx, db)?.map(|p| p.to_string()),
        );
        let key = if db.kind == "AWS::RDS::DBCluster" {
            "dbClusterIdentifier"
        } else {
            "dbInstanceIdentifier"
        };
        fields.insert(
            key.to_string(),
            self.model.db_identifier(ctx, db)?.as_text(),
        );
        Ok(Ok(fields))
    }

    /// The instance or cluster an attachment points at: the template's,
    /// or (`--live`) one the account has.
    fn attached_database(
        &self,
        a: &Resource<'a>,
    ) -> Result<Result<Attached<'_, 'a>, Unavailable>, TemplateError> {
        let kind = match text(&self.v(a, "TargetType")?) {
            Ok(Some(kind)) => kind,
            Ok(None) => return err(a.line, format!("{} has no TargetType", a.id)),
            Err(why) => return Ok(Err(live::open(why))),
        };
        if kind != "AWS::RDS::DBInstance" && kind != "AWS::RDS::DBCluster" {
            return Ok(Err(live::open(format!(
                "{} attaches a {kind}, which rotation-doctor does not read from templates",
                a.id
            ))));
        }
        let target = match text(&self.v(a, "TargetId")?) {
            Ok(Some(target)) => target,
            Ok(None) => return err(a.line, format!("{} has no TargetId", a.id)),
            Err(why) => return Ok(Err(live::open(why))),
        };
        if let Some(db) = self.find(&[kind.as_str()], &target)? {
            return Ok(Ok(Attached::Template(db)));
        }
        // RDS stores identifiers in lower case.
        let id = Some(target.to_ascii_lowercase());
        let reference = if kind == "AWS::RDS::DBCluster" {
            DatabaseRef {
                cluster_id: id,
                ..DatabaseRef::default()
            }
        } else {
            DatabaseRef {
                instance_id: id,
                ..DatabaseRef::default()
            }
        };
        Ok(match self.lookup.database(&reference) {
            Fact::Present(db) => Ok(Attached::Existing(Box::new(db))),
            Fact::Unavailable(why) => Err(why),
            Fact::NotApplicable(why) => Err(live::open(why)),
        })
    }

    fn database(&self, a: &Resource<'a>) -> Result<Fact<Database>, TemplateError> {
        let db = match self.attached_database(a)? {
            Ok(Attached::Template(db)) => db,
            Ok(Attached::Existing(db)) => return Ok(Fact::Present(*db)),
            Err(why) => return Ok(Fact::Unavailable(why)),
        };
        let ctx = self.ctx;
        let mut p = Problems::default();
        let cluster = db.kind == "AWS::RDS::DBCluster";
        let groups_key = if cluster {
            "VpcSecurityGroupIds"
        } else {
            "VPCSecurityGroups"
        };
        let security_group_ids = p.take(strings(&self.v(db, groups_key)?));
        let subnet_ids = match p.take(text(&self.v(db, "DBSubnetGroupName")?)) {
            Some(name) => {
                match self.find(&["AWS::RDS::DBSubnetGroup"], &name.to_ascii_lowercase())? {
                    Some(group) => p.take(strings(&self.v(group, "SubnetIds")?)),
                    None => {
                        p.0.push(not_created("DB subnet group", &name));
                        Vec::new()
                    }
                }
            }
            None => {
                p.0.push(format!(
                    "{} has no DBSubnetGroupName: it goes to the account's default VPC, which the template does not create",
                    db.id
                ));
                Vec::new()
            }
        };
        if let Some(why) = p.0.into_iter().next() {
            return Ok(unresolved(why));
        }
        let vpc_id = subnet_ids.iter().find_map(|id| {
            self.world
                .subnets
                .iter()
                .find(|s| &s.value.id == id)
                .map(|s| s.value.vpc_id.clone())
        });
        let publicly_accessible = match self.v(db, "PubliclyAccessible")? {
            Val::NoValue | Val::Null if cluster => None,
            value => Some(boolean(&value, false).unwrap_or(false)),
        };
        Ok(Fact::Present(Database {
            kind: if cluster {
                DatabaseKind::Cluster
            } else {
                DatabaseKind::Instance
            },
            identifier: self
                .model
                .db_identifier(ctx, db)?
                .as_text()
                .unwrap_or_else(|| db.id.clone()),
            arn: Some(self.model.db_arn(ctx, db)?),
            engine: self
                .v(db, "Engine")?
                .as_text()
                .map(|e| e.to_ascii_lowercase()),
            engine_version: self.v(db, "EngineVersion")?.as_text(),
            status: None,
            endpoint: self.model.db_address(ctx, db)?.as_text(),
            port: self.model.db_port(ctx, db)?,
            vpc_id,
            subnet_ids,
            security_group_ids,
            publicly_accessible,
        }))
    }

    fn kms_key(&self, id: &str) -> Result<Fact<KmsKey>, TemplateError> {
        let mut key = self.find(&["AWS::KMS::Key"], id)?;
        if key.is_none() {
            if let Some(alias) = self.find(&["AWS::KMS::Alias"], id)? {
                if let Ok(Some(target)) = text(&self.v(alias, "TargetKeyId")?) {
                    key = self.find(&["AWS::KMS::Key"], &target)?;
                }
            }
        }
        let Some(key) = key else {
            if id.contains("alias/aws/") {
                return Ok(Fact::NotApplicable(
                    "the secret uses an AWS managed key".to_string(),
                ));
            }
            return Ok(unresolved(not_created("KMS key", id)));
        };
        let policy = match self.v(key, "KeyPolicy")?.to_json() {
            Some(serde_json::Value::Null) | None => {
                unresolved(format!("the key policy of {} is unresolved", key.id))
            }
            Some(json) => Fact::Present(json_document(json)),
        };
        let enabled = boolean(&self.v(key, "Enabled")?, true).unwrap_or(true);
        Ok(Fact::Present(KmsKey {
            key_id: id.to_string(),
            arn: Some(self.ctx.arn("kms", true, &format!("key/{}", key.id))),
            state: Some(if enabled { "Enabled" } else { "Disabled" }.to_string()),
            manager: Some("CUSTOMER".to_string()),
            deletion_date: None,
            policy,
        }))
    }

    /// The function the transform creates for a `HostedRotationLambda`.
    fn hosted_function(
        &self,
        schedule: &Resource,
        hosted: &Val,
    ) -> (Function, String, HostedRotation) {
        let ctx = self.ctx;
        let rotation_type = hosted
            .get("RotationType")
            .and_then(Val::as_text)
            .unwrap_or_default();
        let name = hosted
            .get("RotationLambdaName")
            .and_then(Val::as_text)
            .unwrap_or_else(|| format!("{}-{rotation_type}", schedule.id));
        let arn = ctx.arn("lambda", true, &format!("function:{name}"));
        let facts = HostedRotation {
            rotation_type,
            vpc_subnet_ids: hosted.get("VpcSubnetIds").is_some(),
            vpc_security_group_ids: hosted.get("VpcSecurityGroupIds").is_some(),
        };
        let lists = (
            strings(hosted.get("VpcSubnetIds").unwrap_or(&Val::NoValue)),
            strings(hosted.get("VpcSecurityGroupIds").unwrap_or(&Val::NoValue)),
        );
        let runtime = hosted.get("Runtime").map(text).transpose();
        // The transform passes it to the function as EXCLUDE_CHARACTERS.
        let exclude = hosted.get("ExcludeCharacters").map(text).transpose();
        let lambda = match (lists, runtime, exclude) {
            ((Err(why), _) | (_, Err(why)), _, _) | (_, Err(why), _) | (_, _, Err(why)) => {
                unresolved(why)
            }
            ((Ok(subnet_ids), Ok(security_group_ids)), Ok(runtime), Ok(exclude_characters)) => {
                let exclude_characters = exclude_characters.flatten();
                Fact::Present(Lambda {
                    arn: arn.clone(),
                    name: name.clone(),
                    role: Some(ctx.arn("iam", false, &format!("role/{name}-role"))),
                    runtime: runtime.flatten(),
                    timeout_seconds: Some(ROTATION_TEMPLATE_TIMEOUT),
                    vpc: (!subnet_ids.is_empty() || !security_group_ids.is_empty()).then_some(
                        LambdaVpc {
                            subnet_ids,
                            security_group_ids,
                        },
                    ),
                    secrets_manager_endpoint: Some(format!(
                        "https://secretsmanager.{}.{}",
                        ctx.region, ctx.url_suffix
                    )),
                    environment_keys: vec!["SECRETS_MANAGER_ENDPOINT".to_string()],
                    password_settings: exclude_characters
                        .map(|value| BTreeMap::from([("EXCLUDE_CHARACTERS".to_string(), value)]))
                        .unwrap_or_default(),
                    ..Lambda::default()
                })
            }
        };
        let created = "the Secrets Manager transform creates it with the rotation function, so the template does not show it";
        (
            Function {
                lambda,
                lambda_policy: Fact::NotApplicable(created.to_string()),
                execution_role: Fact::NotApplicable(created.to_string()),
            },
            arn,
            facts,
        )
    }

    /// The function `RotationLambdaARN` names: one of the template's
    /// functions, or the function of a Serverless Application Repository
    /// rotation app; anything else is not created by the template.
    fn function(&self, arn: &str) -> Result<Function, TemplateError> {
        let kinds = [
            "AWS::Lambda::Function",
            "AWS::Serverless::Function",
            "AWS::Serverless::Application",
        ];
        let Some(r) = self.find(&kinds, arn)? else {
            let why = not_created("rotation function", arn);
            return Ok(Function {
                lambda: unresolved(why.clone()),
                lambda_policy: unresolved(why.clone()),
                execution_role: unresolved(why),
            });
        };
        if r.kind == "AWS::Serverless::Application" {
            return self.application_function(r);
        }
        let ctx = self.ctx;
        let sam = r.kind == "AWS::Serverless::Function";
        let globals = |key: &str| -> Result<Val, TemplateError> {
            match (sam, self.model.globals.and_then(|g| g.get(key))) {
                (true, Some(node)) => ctx.eval(node),
                _ => Ok(Val::NoValue),
            }
        };
        let or_global = |key: &str| -> Result<Val, TemplateError> {
            Ok(match self.v(r, key)? {
                Val::NoValue => globals(key)?,
                value => value,
            })
        };
        let mut p = Problems::default();
        let name = p
            .take(text(&self.model.function_name(ctx, r)?))
            .unwrap_or_default();
        let vpc_config = or_global("VpcConfig")?;
        let vpc = match vpc_config {
            Val::Map(_) => Some(LambdaVpc {
                subnet_ids: p.take(strings(
                    vpc_config.get("SubnetIds").unwrap_or(&Val::NoValue),
                )),
                security_group_ids: p.take(strings(
                    vpc_config.get("SecurityGroupIds").unwrap_or(&Val::NoValue),
                )),
            }),
            _ => None,
        };
        let mut variables: BTreeMap<String, Val> = BTreeMap::new();
        for source in [globals("Environment")?, self.v(r, "Environment")?] {
            match source.get("Variables") {
                Some(Val::Map(vars)) => variables.extend(vars.iter().cloned()),
                // Variables that cannot be read: the endpoint may be among them.
                Some(Val::Unresolved(why)) => p.0.push(why.clone()),
                _ => {}
            }
            if let Val::Unresolved(why) = source {
                p.0.push(why);
            }
        }
        let endpoint = match variables.get("SECRETS_MANAGER_ENDPOINT") {
            Some(value) => p.take(text(value)),
            None => None,
        };
        let mut password_settings = BTreeMap::new();
        for name in PASSWORD_VARIABLES {
            if let Some(value) = variables.get(*name).map(text) {
                if let Some(value) = p.take(value) {
                    password_settings.insert(name.to_string(), value);
                }
            }
        }
        let role_value = self.v(r, "Role")?;
        let role = p.take(text(&role_value));
        let timeout = p
            .take(text(&or_global("Timeout")?))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(LAMBDA_DEFAULT_TIMEOUT);
        let runtime = p.take(text(&or_global("Runtime")?));
        let function_arn = ctx.arn("lambda", true, &format!("function:{name}"));
        let sam_role = sam && role.is_none();
        let role_arn = match (&role, sam_role) {
            (Some(role), _) => Some(role.clone()),
            // SAM creates `<Function>Role` when the function names no role.
            (None, true) => Some(ctx.arn("iam", false, &format!("role/{}Role", r.id))),
            (None, false) => None,
        };
        if let Some(why) = p.0.into_iter().next() {
            return Ok(Function {
                lambda: unresolved(format!("the rotation function {}: {why}", r.id)),
                lambda_policy: unresolved(why.clone()),
                execution_role: unresolved(why),
            });
        }
        let in_vpc = vpc.as_ref().is_some_and(|v| !v.subnet_ids.is_empty());
        let execution_role = match (&role_arn, sam_role) {
            (Some(_), true) => self.sam_role(r, in_vpc)?,
            (Some(arn), false) => self.role(arn)?,
            (None, _) => unresolved(format!("the rotation function {} names no Role", r.id)),
        };
        let lambda = Lambda {
            arn: function_arn.clone(),
            name: name.clone(),
            role: role_arn,
            runtime,
            timeout_seconds: Some(timeout),
            vpc,
            secrets_manager_endpoint: endpoint,
            environment_keys: variables.into_keys().collect(),
            password_settings,
            ..Lambda::default()
        };
        Ok(Function {
            lambda: Fact::Present(lambda),
            lambda_policy: self.permissions(r, &name, &function_arn)?,
            execution_role,
        })
    }

    /// The function of a Serverless Application Repository rotation app
    /// (what AWS CDK's `addRotationSingleUser` deploys): its parameters
    /// say where it runs; the app creates its role and permission.
    fn application_function(&self, r: &Resource) -> Result<Function, TemplateError> {
        let ctx = self.ctx;
        let parameters = self.v(r, "Parameters")?;
        let param = |key: &str| parameters.get(key).cloned().unwrap_or(Val::NoValue);
        let mut p = Problems::default();
        let name = p
            .take(text(&self.model.function_name(ctx, r)?))
            .unwrap_or_default();
        let subnet_ids = p.take(strings(&param("vpcSubnetIds")));
        let security_group_ids = p.take(strings(&param("vpcSecurityGroupIds")));
        let endpoint = p.take(text(&param("endpoint")));
        // The rotation apps pass it to the function as EXCLUDE_CHARACTERS.
        let exclude_characters = p.take(text(&param("excludeCharacters")));
        if let Some(why) = p.0.into_iter().next() {
            return Ok(Function {
                lambda: unresolved(format!("the rotation application {}: {why}", r.id)),
                lambda_policy: unresolved(why.clone()),
                execution_role: unresolved(why),
            });
        }
        let created = "the rotation application creates it, so the template does not show it";
        Ok(Function {
            lambda: Fact::Present(Lambda {
                arn: ctx.arn("lambda", true, &format!("function:{name}")),
                name: name.clone(),
                role: Some(ctx.arn("iam", false, &format!("role/{name}-role"))),
                runtime: None,
                timeout_seconds: Some(ROTATION_TEMPLATE_TIMEOUT),
                vpc: (!subnet_ids.is_empty()).then_some(LambdaVpc {
                    subnet_ids,
                    security_group_ids,
                }),
                environment_keys: if endpoint.is_some() {
                    vec!["SECRETS_MANAGER_ENDPOINT".to_string()]
                } else {
                    Vec::new()
                },
                secrets_manager_endpoint: endpoint,
                password_settings: exclude_characters
                    .map(|value| BTreeMap::from([("EXCLUDE_CHARACTERS".to_string(), value)]))
                    .unwrap_or_default(),
                ..Lambda::default()
            }),
            lambda_policy: Fact::NotApplicable(created.to_string()),
            execution_role: Fact::NotApplicable(created.to_string()),
        })
    }

    /// The function's resource policy from the template's
    /// `AWS::Lambda::Permission` resources, as Lambda writes it.
    fn permissions(
        &self,
        function: &Resource,
        name: &str,
        arn: &str,
    ) -> Result<Fact<Option<serde_json::Value>>, TemplateError> {
        let mut statements = Vec::new();
        for r in self.model.existing("AWS::Lambda::Permission", self.exists) {
            let target = match text(&self.v(r, "FunctionName")?) {
                Ok(Some(target)) => target,
                Ok(None) => continue,
                Err(why) => return Ok(unresolved(why)),
            };
            if target != name && target != arn && target != function.id {
                continue;
            }
            let field = |key: &str| -> Result<Result<Option<String>, String>, TemplateError> {
                Ok(text(&self.v(r, key)?))
            };
            let (Ok(action), Ok(principal), Ok(account), Ok(source)) = (
                field("Action")?,
                field("Principal")?,
                field("SourceAccount")?,
                field("SourceArn")?,
            ) else {
                return Ok(unresolved(format!("the permission {} is unresolved", r.id)));
            };
            let principal = principal.unwrap_or_default();
            let principal = if principal.contains('.') {
                serde_json::json!({"Service": principal})
            } else if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
                serde_json::json!({"AWS": format!("arn:aws:iam::{principal}:root")})
            } else {
                serde_json::json!({"AWS": principal})
            };
            let mut condition = serde_json::Map::new();
            if let Some(account) = account {
                condition.insert(
                    "StringEquals".into(),
                    serde_json::json!({"AWS:SourceAccount": account}),
                );
            }
            if let Some(source) = source {
                condition.insert(
                    "ArnLike".into(),
                    serde_json::json!({"AWS:SourceArn": source}),
                );
            }
            let mut statement = serde_json::json!({
                "Sid": r.id,
                "Effect": "Allow",
                "Principal": principal,
                "Action": action.unwrap_or_default(),
                "Resource": arn,
            });
            if !condition.is_empty() {
                statement["Condition"] = serde_json::Value::Object(condition);
            }
            statements.push(statement);
        }
        Ok(Fact::Present((!statements.is_empty()).then(|| {
            serde_json::json!({"Version": "2012-10-17", "Id": "default", "Statement": statements})
        })))
    }

    /// A role of the template, with its inline policies, the
    /// `AWS::IAM::Policy` resources attached to it, and its managed policies.
    fn role(&self, arn: &str) -> Result<Fact<ExecutionRole>, TemplateError> {
        let Some(r) = self.find(&["AWS::IAM::Role"], arn)? else {
            return Ok(unresolved(not_created("role", arn)));
        };
        let ctx = self.ctx;
        let name = self
            .model
            .name(ctx, r, "RoleName")?
            .as_text()
            .unwrap_or_else(|| r.id.clone());
        let trust_policy = self
            .v(r, "AssumeRolePolicyDocument")?
            .to_json()
            .map(json_document);
        let mut inline = Vec::new();
        if let Val::List(policies) = self.v(r, "Policies")? {
            for policy in &policies {
                inline.push(RolePolicy {
                    name: policy
                        .get("PolicyName")
                        .and_then(Val::as_text)
                        .unwrap_or_default(),
                    arn: None,
                    document: document(policy.get("PolicyDocument")),
                });
            }
        }
        let mut attached = Vec::new();
        for kind in ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"] {
            for p in self.model.existing(kind, self.exists) {
                let roles = strings(&self.v(p, "Roles")?).unwrap_or_default();
                if !roles.iter().any(|role| role == &name || role == &r.id) {
                    continue;
                }
                let policy = RolePolicy {
                    name: self
                        .v(
                            p,
                            if kind == "AWS::IAM::Policy" {
                                "PolicyName"
                            } else {
                                "ManagedPolicyName"
                            },
                        )?
                        .as_text()
                        .unwrap_or_else(|| p.id.clone()),
                    arn: None,
                    document: document(Some(&self.v(p, "PolicyDocument")?)),
                };
                if kind == "AWS::IAM::Policy" {
                    inline.push(policy);
                } else {
                    attached.push(policy);
                }
            }
        }
        match strings(&self.v(r, "ManagedPolicyArns")?) {
            Ok(arns) => {
                for arn in arns {
                    attached.push(self.managed_policy(&arn)?);
                }
            }
            Err(why) => attached.push(RolePolicy {
                name: "ManagedPolicyArns".to_string(),
                arn: None,
                document: unresolved(why),
            }),
        }
        let permissions_boundary = match text(&self.v(r, "PermissionsBoundary")?) {
            Ok(Some(arn)) => Some(self.managed_policy(&arn)?),
            Ok(None) => None,
            Err(why) => Some(RolePolicy {
                name: "PermissionsBoundary".to_string(),
                arn: None,
                document: unresolved(why),
            }),
        };
        Ok(Fact::Present(ExecutionRole {
            arn: arn.to_string(),
            name,
            trust_policy,
            inline_policies: Fact::Present(inline),
            attached_policies: Fact::Present(attached),
            permissions_boundary,
            simulation: Fact::NotApplicable(
                "not deployed yet: IAM cannot simulate a role that does not exist".to_string(),
            ),
        }))
    }

    /// The role SAM creates for a function without `Role`: trusted by
    /// Lambda, with `AWSLambdaBasicExecutionRole` (and the VPC access
    /// policy in a VPC) and the function's `Policies`.
    fn sam_role(&self, r: &Resource, in_vpc: bool) -> Result<Fact<ExecutionRole>, TemplateError> {
        let ctx = self.ctx;
        let mut inline = Vec::new();
        let mut attached = vec![self.managed_policy(&format!(
            "arn:{}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            ctx.partition
        ))?];
        if in_vpc {
            attached.push(self.managed_policy(&format!(
                "arn:{}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
                ctx.partition
            ))?);
        }
        let policies = match self.v(r, "Policies")? {
            Val::List(items) => items,
            Val::NoValue | Val::Null => Vec::new(),
            one => vec![one],
        };
        for (n, policy) in policies.iter().enumerate() {
            match policy {
                Val::Str(name) if name.starts_with("arn:") => attached.push(self.managed_policy(name)?),
                Val::Str(name) => attached.push(self.managed_policy(&format!(
                    "arn:{}:iam::aws:policy/{name}",
                    ctx.partition
                ))?),
                Val::Map(_) if policy.get("Statement").is_some() => inline.push(RolePolicy {
                    name: format!("{}RolePolicy{n}", r.id),
                    arn: None,
                    document: document(Some(policy)),
                }),
                Val::Map(entries) => inline.push(RolePolicy {
                    name: entries.first().map(|(k, _)| k.clone()).unwrap_or_default(),
                    arn: None,
                    document: unresolved(format!(
                        "SAM policy template {} is expanded by the SAM transform, which rotation-doctor does not evaluate",
                        entries.first().map(|(k, _)| k.as_str()).unwrap_or_default()
                    )),
                }),
                other => inline.push(RolePolicy {
                    name: format!("{}RolePolicy{n}", r.id),
                    arn: None,
                    document: unresolved(other.unresolved().unwrap_or("a policy of an unknown form").to_string()),
                }),
            }
        }
        Ok(Fact::Present(ExecutionRole {
            arn: ctx.arn("iam", false, &format!("role/{}Role", r.id)),
            name: format!("{}Role", r.id),
            trust_policy: Some(serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            })),
            inline_policies: Fact::Present(inline),
            attached_policies: Fact::Present(attached),
            permissions_boundary: None,
            simulation: Fact::NotApplicable(
                "not deployed yet: IAM cannot simulate a role that does not exist".to_string(),
            ),
        }))
    }

    /// A managed policy by ARN: one of the template's, one of the two AWS
    /// managed policies rotation functions use (their documents are
    /// public and stable), or unresolved.
    fn managed_policy(&self, arn: &str) -> Result<RolePolicy, TemplateError> {
        let name = crate::Arn::parse(arn)
            .and_then(|a| a.iam_name().map(str::to_string))
            .unwrap_or_else(|| arn.to_string());
        let document = match self.find(&["AWS::IAM::ManagedPolicy"], arn)? {
            Some(p) => document(Some(&self.v(p, "PolicyDocument")?)),
            None => match aws_managed_policy(&name) {
                Some(doc) if arn.contains(":iam::aws:policy/") => Fact::Present(doc),
                _ => unresolved(format!(
                    "the document of managed policy {name} is not in the template"
                )),
            },
        };
        Ok(RolePolicy {
            name,
            arn: Some(arn.to_string()),
            document,
        })
    }
}

/// A policy document value, or unresolved.
fn document(value: Option<&Val>) -> Fact<serde_json::Value> {
    match value.and_then(Val::to_json) {
        Some(json) if !json.is_null() => Fact::Present(json_document(json)),
        _ => unresolved(
            value
                .and_then(Val::unresolved)
                .unwrap_or("the policy document is missing")
                .to_string(),
        ),
    }
}

/// The documents of the AWS managed policies SAM and AWS's rotation
/// functions attach
/// (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html).
fn aws_managed_policy(name: &str) -> Option<serde_json::Value> {
    let logs = [
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    ];
    match name {
        "AWSLambdaBasicExecutionRole" => Some(serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": logs, "Resource": "*"}]
        })),
        "AWSLambdaVPCAccessExecutionRole" => Some(serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": [
                "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"
            ], "Resource": "*"}]
        })),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Where each resource is written.

impl Model<'_> {
    fn location_index(
        &self,
        ctx: &Context,
        file: &str,
        exists: &BTreeSet<String>,
    ) -> Result<LocationIndex, TemplateError> {
        let mut index = LocationIndex::new(file);
        let rule_lines = |r: &Resource, key: &str| -> Vec<u32> {
            match r.prop(key).map(|n| &n.value) {
                Some(Value::Seq(items)) => items.iter().map(|i| i.line).collect(),
                _ => Vec::new(),
            }
        };
        // Standalone rules, by the group they add to.
        let mut standalone: BTreeMap<String, Vec<(&'static str, u32)>> = BTreeMap::new();
        // Those added to a group the template does not create (one that
        // exists, with `--live`) locate that group's findings.
        let mut existing_groups: BTreeMap<String, Located> = BTreeMap::new();
        for (kind, aspect) in [
            ("AWS::EC2::SecurityGroupIngress", "ingress"),
            ("AWS::EC2::SecurityGroupEgress", "egress"),
        ] {
            for r in self.existing(kind, exists) {
                if let Ok(Some(group)) = text(&self.eval(ctx, r, "GroupId")?) {
                    if !self.resources.contains_key(&group) {
                        existing_groups
                            .entry(group.clone())
                            .or_insert_with(|| Located::new(&r.id, r.line))
                            .aspect(aspect, r.line);
                    }
                    standalone.entry(group).or_default().push((aspect, r.line));
                }
            }
        }
        for r in self.resources.values().filter(|r| exists.contains(&r.id)) {
            let mut located = Located::new(&r.id, r.line);
            let mut keys = vec![r.id.clone()];
            match r.kind.as_str() {
                "AWS::EC2::SecurityGroup" => {
                    for (key, aspect) in [
                        ("SecurityGroupIngress", "ingress"),
                        ("SecurityGroupEgress", "egress"),
                    ] {
                        let lines = rule_lines(r, key);
                        let first_standalone = standalone
                            .get(&r.id)
                            .and_then(|rules| rules.iter().find(|(a, _)| *a == aspect))
                            .map(|(_, line)| *line);
                        let line = if r.prop(key).is_some() {
                            Some(r.prop_line(key))
                        } else {
                            first_standalone
                        };
                        if let Some(line) = line {
                            located.aspect(aspect, line);
                        }
                        for (n, line) in lines.into_iter().enumerate() {
                            located.aspect(&format!("{aspect}/{n}"), line);
                        }
                    }
                }
                "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                    for (key, aspect) in [
                        ("VpcConfig", "vpc"),
                        ("Runtime", "runtime"),
                        ("Timeout", "timeout"),
                        ("Environment", "environment"),
                        ("Role", "role"),
                    ] {
                        if r.prop(key).is_some() {
                            located.aspect(aspect, r.prop_line(key));
                        }
                    }
                    keys.extend(self.function_arn(ctx, r)?.as_text());
                    keys.extend(self.function_name(ctx, r)?.as_text());
                }
                "AWS::Serverless::Application" => {
                    if let Some(params) = r.prop("Parameters") {
                        for (key, aspect) in [("vpcSubnetIds", "vpc"), ("endpoint", "environment")]
                        {
                            if let Some(entry) = params.entry(key) {
                                located.aspect(aspect, entry.line);
                            }
                        }
                    }
                    keys.extend(self.function_arn(ctx, r)?.as_text());
                    keys.extend(self.function_name(ctx, r)?.as_text());
                }
                "AWS::SecretsManager::RotationSchedule" => {
                    if let Some(hosted) = r.prop("HostedRotationLambda") {
                        let line = r.prop_line("HostedRotationLambda");
                        located.aspect("hosted", line);
                        for (key, aspect) in [("VpcSubnetIds", "vpc"), ("Runtime", "runtime")] {
                            located.aspect(aspect, hosted.entry(key).map_or(line, |e| e.line));
                        }
                        // The function the transform creates is written here.
                        if let Ok(hosted) = ctx.eval(hosted) {
                            let rotation_type = hosted
                                .get("RotationType")
                                .and_then(Val::as_text)
                                .unwrap_or_default();
                            let name = hosted
                                .get("RotationLambdaName")
                                .and_then(Val::as_text)
                                .unwrap_or_else(|| format!("{}-{rotation_type}", r.id));
                            keys.push(ctx.arn("lambda", true, &format!("function:{name}")));
                            keys.push(name);
                        }
                    }
                }
                "AWS::IAM::Role" => {
                    for (key, aspect) in [
                        ("AssumeRolePolicyDocument", "trust"),
                        ("Policies", "policies"),
                    ] {
                        if r.prop(key).is_some() {
                            located.aspect(aspect, r.prop_line(key));
                        }
                    }
                    keys.extend(self.role_arn(ctx, r)?.as_text());
                }
                "AWS::KMS::Key" => {
                    if r.prop("KeyPolicy").is_some() {
                        located.aspect("policy", r.prop_line("KeyPolicy"));
                    }
                    keys.push(ctx.arn("kms", true, &format!("key/{}", r.id)));
                }
                "AWS::SecretsManager::Secret" => {
                    for key in ["GenerateSecretString", "SecretString"] {
                        if r.prop(key).is_some() {
                            located.aspect("value", r.prop_line(key));
                        }
                    }
                    keys.extend(self.secret_arn(ctx, r)?.as_text());
                }
                "AWS::RDS::DBInstance" | "AWS::RDS::DBCluster" => {
                    keys.extend(self.db_identifier(ctx, r)?.as_text());
                    keys.push(self.db_arn(ctx, r)?);
                }
                _ => {}
            }
            index.add(keys, located);
        }
        for (group, located) in existing_groups {
            index.add(vec![group], located);
        }
        // What AWS adds to each VPC is written where the VPC is.
        for r in self.existing("AWS::EC2::VPC", exists) {
            let located = Located::new(&r.id, r.line);
            index.add(
                vec![default_group(&r.id), default_acl(&r.id), main_table(&r.id)],
                located,
            );
        }
        Ok(index)
    }
}
