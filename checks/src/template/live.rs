//! `template --live`: the existing resources a template names by id (a
//! VPC, subnets and security groups given as parameters or literals, the
//! database a secret is attached to), read from the account and merged
//! with what the template creates, so that the facts hold both: the
//! template's resources under their logical ids and the account's under
//! their real ids. The reading is the caller's (the collectors, in the
//! binary); this module says what to read (`Wanted`), holds what was read
//! (`Account`), and answers the template's lookups from it.
//!
//! Loading is repeated until nothing new is wanted: the database read in
//! one round names the subnets and groups read in the next, and those
//! name the VPC whose route tables, ACLs and endpoints come after.
//!
//! What could not be read stays unknown and says why: an id the account
//! does not have names the id; a denied call names the call.

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::facts::{
    Connection, Database, ErrorKind, Fact, InternetGateway, KmsKey, NatGateway, Network,
    NetworkAcl, RouteTable, Secret, SecurityGroup, Subnet, Unavailable, Vpc, VpcEndpoint,
};

/// How a template names a database it does not create: a
/// `SecretTargetAttachment`'s `TargetId`, or the secret's `host`,
/// `dbInstanceIdentifier` or `dbClusterIdentifier`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatabaseRef {
    pub instance_id: Option<String>,
    pub cluster_id: Option<String>,
    pub host: Option<String>,
}

impl DatabaseRef {
    fn describe(&self) -> String {
        match (&self.instance_id, &self.cluster_id, &self.host) {
            (Some(id), _, _) => format!("DB instance {id}"),
            (None, Some(id), _) => format!("DB cluster {id}"),
            (None, None, Some(host)) => format!("the database at {host}"),
            (None, None, None) => "the database".to_string(),
        }
    }
}

/// The ids a template names but does not create, to read from the account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub vpcs: BTreeSet<String>,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    pub databases: BTreeSet<DatabaseRef>,
    /// Secrets a rotation schedule names by ARN or name.
    pub secrets: BTreeSet<String>,
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.vpcs.is_empty()
            && self.subnets.is_empty()
            && self.security_groups.is_empty()
            && self.databases.is_empty()
            && self.secrets.is_empty()
    }

    pub fn extend(&mut self, other: &Wanted) {
        self.vpcs.extend(other.vpcs.iter().cloned());
        self.subnets.extend(other.subnets.iter().cloned());
        self.security_groups
            .extend(other.security_groups.iter().cloned());
        self.databases.extend(other.databases.iter().cloned());
        self.secrets.extend(other.secrets.iter().cloned());
    }

    /// What of `self` is not in `read`.
    pub fn without(&self, read: &Wanted) -> Wanted {
        fn minus<T: Ord + Clone>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> BTreeSet<T> {
            a.difference(b).cloned().collect()
        }
        Wanted {
            vpcs: minus(&self.vpcs, &read.vpcs),
            subnets: minus(&self.subnets, &read.subnets),
            security_groups: minus(&self.security_groups, &read.security_groups),
            databases: minus(&self.databases, &read.databases),
            secrets: minus(&self.secrets, &read.secrets),
        }
    }
}

/// What was read from the account so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    /// The region read, for the sentences about what it lacks.
    pub region: String,
    /// Every VPC piece read (the whole of each VPC read, and groups by
    /// id), each list or the first call that failed for it.
    pub network: Network,
    /// Every id looked for: one looked for and absent does not exist.
    pub looked_up: Wanted,
    /// Each database looked for, or why it could not be read.
    pub databases: Vec<(DatabaseRef, Fact<Database>)>,
    /// Each secret looked for, by the id the template gives.
    pub secrets: Vec<(String, ExistingSecret)>,
}

/// What diagnose reads of a secret that exists: DescribeSecret, the
/// connection fields of its value (never the password), its key.
#[derive(Clone, Debug, PartialEq)]
pub struct ExistingSecret {
    pub secret: Fact<Secret>,
    pub connection: Fact<Connection>,
    pub kms_key: Fact<KmsKey>,
}

impl Account {
    /// Nothing read yet.
    pub fn new(region: &str) -> Account {
        Account {
            region: region.to_string(),
            network: Network::empty(),
            looked_up: Wanted::default(),
            databases: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Adds a network read: each list to the list so far (an item read
    /// twice is kept once); a list that could not be read makes the list
    /// unavailable, with that call, since it may lack what was looked for.
    pub fn add_network(&mut self, read: Network) {
        let n = &mut self.network;
        merge(&mut n.vpcs, read.vpcs, |v: &Vpc| v.id.clone());
        merge(&mut n.subnets, read.subnets, |s: &Subnet| s.id.clone());
        merge(&mut n.route_tables, read.route_tables, |t: &RouteTable| {
            t.id.clone()
        });
        merge(&mut n.network_acls, read.network_acls, |a: &NetworkAcl| {
            a.id.clone()
        });
        merge(
            &mut n.security_groups,
            read.security_groups,
            |g: &SecurityGroup| g.id.clone(),
        );
        merge(
            &mut n.vpc_endpoints,
            read.vpc_endpoints,
            |e: &VpcEndpoint| e.id.clone(),
        );
        merge(&mut n.nat_gateways, read.nat_gateways, |g: &NatGateway| {
            g.id.clone()
        });
        merge(
            &mut n.internet_gateways,
            read.internet_gateways,
            |g: &InternetGateway| g.id.clone(),
        ); // Peering connections and transit gateways are not read for a
           // template (its paths through them are unknown): nothing to merge.
    }

    pub fn add_secret(&mut self, id: &str, secret: ExistingSecret) {
        self.looked_up.secrets.insert(id.to_string());
        self.secrets.retain(|(known, _)| known != id);
        self.secrets.push((id.to_string(), secret));
    }

    pub fn add_database(&mut self, reference: DatabaseRef, database: Fact<Database>) {
        self.looked_up.databases.insert(reference.clone());
        self.databases.retain(|(r, _)| r != &reference);
        self.databases.push((reference, database));
    }
}

fn merge<T>(into: &mut Fact<Vec<T>>, read: Fact<Vec<T>>, id: impl Fn(&T) -> String) {
    match (into, read) {
        (Fact::Present(items), Fact::Present(new)) => {
            for item in new {
                if !items.iter().any(|known| id(known) == id(&item)) {
                    items.push(item);
                }
            }
        }
        // The first failure is kept.
        (into @ Fact::Present(_), Fact::Unavailable(why)) => *into = Fact::Unavailable(why),
        // Nothing to add (not applicable), or already unavailable.
        _ => {}
    }
}

/// The kinds of existing resource a template names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Vpc,
    Subnet,
    SecurityGroup,
    NatGateway,
    InternetGateway,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Vpc => "VPC",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "security group",
            Kind::NatGateway => "NAT gateway",
            Kind::InternetGateway => "internet gateway",
        }
    }

    fn call(self) -> &'static str {
        match self {
            Kind::Vpc => "ec2:DescribeVpcs",
            Kind::Subnet => "ec2:DescribeSubnets",
            Kind::SecurityGroup => "ec2:DescribeSecurityGroups",
            Kind::NatGateway => "ec2:DescribeNatGateways",
            Kind::InternetGateway => "ec2:DescribeInternetGateways",
        }
    }
}

/// The sentence for an id the template uses but does not create.
pub(super) fn not_created(what: &str, id: &str) -> String {
    format!("{what} {id} is not created by the template: pass --live to read it from the account")
}

/// A reason that is no failed call: what the template leaves open.
pub(super) fn open(why: impl Into<String>) -> Unavailable {
    Unavailable {
        call: "template".to_string(),
        kind: ErrorKind::Unresolved,
        message: why.into(),
    }
}

/// The template's lookups of what it does not create: from the account
/// with `--live`, else unresolved with what to pass. Records what the
/// account was not asked for yet.
pub(super) struct Lookup<'a> {
    pub account: Option<&'a Account>,
    pub wanted: RefCell<Wanted>,
}

impl<'a> Lookup<'a> {
    pub fn new(account: Option<&'a Account>) -> Lookup<'a> {
        Lookup {
            account,
            wanted: RefCell::new(Wanted::default()),
        }
    }

    /// What was wanted since the last call.
    pub fn take_wanted(&self) -> Wanted {
        self.wanted.take()
    }

    /// Why an id of `kind` that is neither the template's nor among what
    /// was read cannot be known.
    pub fn missing(&self, kind: Kind, id: &str) -> Unavailable {
        let Some(account) = self.account else {
            return open(not_created(kind.noun(), id));
        };
        let n = &account.network;
        let list_failure = match kind {
            Kind::Vpc => n.vpcs.missing_call(),
            Kind::Subnet => n.subnets.missing_call(),
            Kind::SecurityGroup => n.security_groups.missing_call(),
            Kind::NatGateway => n.nat_gateways.missing_call(),
            Kind::InternetGateway => n.internet_gateways.missing_call(),
        };
        if let Some(why) = list_failure {
            return why;
        }
        let looked_up = &account.looked_up;
        let mut wanted = self.wanted.borrow_mut();
        let (asked, wanted) = match kind {
            Kind::Vpc => (looked_up.vpcs.contains(id), Some(&mut wanted.vpcs)),
            Kind::Subnet => (looked_up.subnets.contains(id), Some(&mut wanted.subnets)),
            Kind::SecurityGroup => (
                looked_up.security_groups.contains(id),
                Some(&mut wanted.security_groups),
            ),
            // Read with their VPC: not there, not in it.
            Kind::NatGateway | Kind::InternetGateway => (true, None),
        };
        if asked {
            return Unavailable {
                call: kind.call().to_string(),
                kind: ErrorKind::NotFound,
                message: format!(
                    "{} {id} does not exist in the account's region {}",
                    kind.noun(),
                    account.region
                ),
            };
        }
        if let Some(wanted) = wanted {
            wanted.insert(id.to_string());
        }
        open(format!(
            "{} {id} has not been read from the account yet",
            kind.noun()
        ))
    }

    /// The existing database `reference` names, or why it cannot be known.
    pub fn database(&self, reference: &DatabaseRef) -> Fact<Database> {
        let Some(account) = self.account else {
            return Fact::Unavailable(open(format!(
                "{} is not created by the template: pass --live to read it from the account",
                reference.describe()
            )));
        };
        match account.databases.iter().find(|(r, _)| r == reference) {
            Some((_, fact)) => fact.clone(),
            None => {
                self.wanted.borrow_mut().databases.insert(reference.clone());
                Fact::Unavailable(open(format!(
                    "{} has not been read from the account yet",
                    reference.describe()
                )))
            }
        }
    }
}

impl Lookup<'_> {
    /// The existing secret `id` (an ARN or a name) names, or why it
    /// cannot be known.
    pub fn secret(&self, id: &str) -> Result<ExistingSecret, Unavailable> {
        let Some(account) = self.account else {
            return Err(open(not_created("secret", id)));
        };
        match account.secrets.iter().find(|(known, _)| known == id) {
            Some((_, secret)) => Ok(secret.clone()),
            None => {
                self.wanted.borrow_mut().secrets.insert(id.to_string());
                Err(open(format!(
                    "secret {id} has not been read from the account yet"
                )))
            }
        }
    }
}

impl<T> Fact<T> {
    /// The failed call of an unavailable fact.
    fn missing_call(&self) -> Option<Unavailable> {
        match self {
            Fact::Unavailable(why) => Some(why.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Status};
    use crate::fixtures;
    use crate::template::{load, LoadOptions, TemplateTarget};

    const ADD_ROTATION: &str = include_str!("../../../tests/data/templates/live-add-rotation.yaml");
    const ADD_ROTATION_FIXED: &str =
        include_str!("../../../tests/data/templates/live-add-rotation-fixed.yaml");

    fn options(parameters: &[(&str, &str)], account: Option<Account>) -> LoadOptions {
        LoadOptions {
            region: "us-east-1".to_string(),
            parameters: parameters
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            now: chrono::DateTime::UNIX_EPOCH,
            account,
        }
    }

    /// The lab's account: its VPC as the collector reads it, and its
    /// database `lab-db` (in `sg-db`, which admits only `sg-lambda`).
    fn lab_account() -> (Network, Database) {
        let lab = fixtures::lab();
        (
            lab.network,
            lab.database.present().cloned().expect("lab db"),
        )
    }

    /// What the binary does with `--live`: load, read what is wanted
    /// (here from `network`/`database` instead of an account), load
    /// again, until nothing new is wanted.
    fn load_live(
        text: &str,
        parameters: &[(&str, &str)],
        network: &Network,
        database: &Database,
    ) -> (TemplateTarget, Account) {
        let mut account = Account::new("us-east-1");
        for _ in 0..5 {
            let mut targets = load(
                "t.yaml",
                text.as_bytes(),
                &options(parameters, Some(account.clone())),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let target = targets.remove(0);
            let wanted = target.wanted.without(&account.looked_up);
            if wanted.is_empty() {
                return (target, account);
            }
            if !(wanted.vpcs.is_empty()
                && wanted.subnets.is_empty()
                && wanted.security_groups.is_empty())
            {
                account.add_network(network.clone());
            }
            for reference in &wanted.databases {
                let found = if reference.instance_id.as_deref() == Some(&database.identifier) {
                    Fact::Present(database.clone())
                } else {
                    Fact::Unavailable(Unavailable {
                        call: "rds:DescribeDBInstances".to_string(),
                        kind: ErrorKind::NotFound,
                        message: format!("no DB instance is named {}", reference.describe()),
                    })
                };
                account.add_database(reference.clone(), found);
            }
            let looked_up = Wanted {
                databases: BTreeSet::new(),
                ..wanted
            };
            account.looked_up.extend(&looked_up);
        }
        panic!("still wanting after five rounds");
    }

    fn finding(target: &TemplateTarget, check: &str) -> Finding {
        let mut diagnosis = crate::diagnose(&target.facts);
        target.locate(&mut diagnosis.findings, &diagnosis.paths);
        diagnosis
            .findings
            .into_iter()
            .find(|f| f.check == check)
            .unwrap_or_else(|| panic!("no {check} finding"))
    }

    const LAB_PARAMETERS: &[(&str, &str)] = &[
        ("VpcId", "vpc-lab"),
        ("RotationSubnetIds", "subnet-lambda-a,subnet-lambda-b"),
        ("DbInstanceIdentifier", "lab-db"),
        ("DbSecurityGroupId", "sg-db"),
    ];

    #[test]
    fn lists_read_twice_keep_each_item_once_and_a_failed_read_sticks() {
        let (network, _) = lab_account();
        let mut account = Account::new("us-east-1");
        account.add_network(network.clone());
        account.add_network(network.clone());
        assert_eq!(account.network, network);
        let denied = Unavailable {
            call: "ec2:DescribeSecurityGroups".to_string(),
            kind: ErrorKind::AccessDenied,
            message: "not authorized".to_string(),
        };
        let mut failed = network.clone();
        failed.security_groups = Fact::Unavailable(denied.clone());
        account.add_network(failed);
        account.add_network(network);
        assert_eq!(account.network.security_groups, Fact::Unavailable(denied));
        assert!(account.network.subnets.present().is_some());
    }

    #[test]
    fn the_new_group_not_admitted_by_the_existing_database_group_fails_net002() {
        let (network, database) = lab_account();
        let (target, account) = load_live(ADD_ROTATION, &LAB_PARAMETERS[..3], &network, &database);
        // The database, its subnets and the rotation function's were read.
        assert!(account.looked_up.subnets.contains("subnet-lambda-a"));
        assert!(account
            .looked_up
            .databases
            .iter()
            .any(|r| r.instance_id.as_deref() == Some("lab-db")));
        // Both kinds of id in one set of facts.
        let groups = target.facts.network.security_groups.present().unwrap();
        assert!(groups.iter().any(|g| g.id == "sg-db"));
        assert!(groups.iter().any(|g| g.id == "RotationSecurityGroup"));
        let connection = target.facts.connection.present().unwrap();
        assert_eq!(connection.host, database.endpoint);
        assert_eq!(connection.db_instance_identifier.as_deref(), Some("lab-db"));
        let net002 = finding(&target, "NET002");
        assert_eq!(net002.status, Status::Fail, "{net002:?}");
        assert!(net002.message.contains("sg-db"), "{}", net002.message);
        assert_eq!(finding(&target, "NET003").status, Status::Pass);
    }

    #[test]
    fn an_ingress_rule_the_template_adds_to_the_existing_group_is_merged_into_it() {
        let (network, database) = lab_account();
        let (target, _) = load_live(ADD_ROTATION_FIXED, LAB_PARAMETERS, &network, &database);
        let groups = target.facts.network.security_groups.present().unwrap();
        let db_group = groups.iter().find(|g| g.id == "sg-db").unwrap();
        // The account's rule and the template's.
        assert_eq!(db_group.ingress.len(), 2, "{db_group:?}");
        assert!(db_group
            .ingress
            .iter()
            .any(|r| r.peer == crate::SgPeer::Group("RotationSecurityGroup".to_string())));
        let net002 = finding(&target, "NET002");
        assert_eq!(net002.status, Status::Pass, "{net002:?}");
    }

    #[test]
    fn a_wrong_rule_added_to_the_existing_group_is_where_net002_points() {
        let (network, database) = lab_account();
        let text = ADD_ROTATION_FIXED
            .replace("ToPort: 3306", "ToPort: 3305")
            .replace("FromPort: 3306", "FromPort: 3305");
        let (target, _) = load_live(&text, LAB_PARAMETERS, &network, &database);
        let net002 = finding(&target, "NET002");
        assert_eq!(net002.status, Status::Fail, "{net002:?}");
        let location = net002.location.expect("located");
        assert_eq!(location.logical_id, "DbIngressFromRotation");
        let line = text
            .lines()
            .position(|l| l == "  DbIngressFromRotation:")
            .unwrap() as u32
            + 1;
        assert_eq!(location.line, line);
    }

    #[test]
    fn an_existing_secret_is_read_with_the_schedules_rotation_and_its_database_found() {
        let lab = fixtures::lab();
        let (network, database) = lab_account();
        let text = include_str!("../../../tests/data/templates/live-existing-secret.yaml");
        let parameters = [
            ("SecretArn", fixtures::SECRET_ARN),
            ("VpcId", "vpc-lab"),
            ("RotationSubnetIds", "subnet-lambda-a,subnet-lambda-b"),
        ];
        let mut account = Account::new("us-east-1");
        let mut rounds = 0;
        let target = loop {
            let target = load(
                "t.yaml",
                text.as_bytes(),
                &options(&parameters, Some(account.clone())),
            )
            .unwrap()
            .remove(0);
            let wanted = target.wanted.without(&account.looked_up);
            if wanted.is_empty() {
                break target;
            }
            rounds += 1;
            assert!(rounds < 5, "still wanting {wanted:?}");
            for id in &wanted.secrets {
                assert_eq!(id, fixtures::SECRET_ARN);
                account.add_secret(
                    id,
                    ExistingSecret {
                        secret: lab.secret.clone(),
                        connection: lab.connection.clone(),
                        kms_key: lab.kms_key.clone(),
                    },
                );
            }
            for reference in &wanted.databases {
                // The value's identifier and host, as the collector takes them.
                assert_eq!(reference.instance_id.as_deref(), Some("lab-db"));
                assert_eq!(reference.host, database.endpoint);
                account.add_database(reference.clone(), Fact::Present(database.clone()));
            }
            if !(wanted.subnets.is_empty() && wanted.security_groups.is_empty()) {
                account.add_network(network.clone());
                account.looked_up.extend(&Wanted {
                    subnets: wanted.subnets.clone(),
                    security_groups: wanted.security_groups.clone(),
                    vpcs: wanted.vpcs.clone(),
                    ..Wanted::default()
                });
            }
        };
        let secret = target.facts.secret.present().unwrap();
        assert_eq!(secret.name, "lab/mysql");
        // The schedule's function, not the one the account had.
        assert_eq!(
            secret.rotation_lambda_arn.as_deref(),
            Some("arn:aws:lambda:us-east-1:ACCOUNT_ID:function:SecretRotation-MySQLSingleUser")
        );
        assert_eq!(target.facts.database.present(), Some(&database));
        assert_eq!(finding(&target, "NET002").status, Status::Fail);
    }

    #[test]
    fn a_sam_function_in_existing_subnets_reaches_the_existing_database_through_the_added_rule() {
        let (network, database) = lab_account();
        let text = ADD_ROTATION_FIXED
            .replace(
                "Transform: AWS::SecretsManager-2020-07-23",
                "Transform: AWS::Serverless-2016-10-31",
            )
            .replace(
                "      HostedRotationLambda:\n        RotationType: MySQLSingleUser\n        VpcSubnetIds: !Join [\",\", !Ref RotationSubnetIds]\n        VpcSecurityGroupIds: !Ref RotationSecurityGroup\n",
                "      RotationLambdaARN: !GetAtt RotationFunction.Arn\n",
            )
            .replace(
                "  AppSecret:\n",
                "  RotationFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Handler: index.handler\n      CodeUri: rotation/\n      Timeout: 30\n      Environment:\n        Variables:\n          SECRETS_MANAGER_ENDPOINT: !Sub https://secretsmanager.${AWS::Region}.amazonaws.com\n      VpcConfig:\n        SubnetIds: !Ref RotationSubnetIds\n        SecurityGroupIds: [!Ref RotationSecurityGroup]\n\n  AppSecret:\n",
            );
        assert!(text.contains("RotationLambdaARN"), "{text}");
        let (target, _) = load_live(&text, LAB_PARAMETERS, &network, &database);
        let lambda = target.facts.lambda.present().expect("the function");
        assert_eq!(
            lambda.vpc.as_ref().map(|v| v.security_group_ids.clone()),
            Some(vec!["RotationSecurityGroup".to_string()])
        );
        for check in ["NET001", "NET002", "NET003"] {
            let f = finding(&target, check);
            assert_eq!(f.status, Status::Pass, "{f:?}");
        }
    }

    #[test]
    fn without_live_the_existing_ids_are_unknown_saying_to_pass_live() {
        let target = load(
            "t.yaml",
            ADD_ROTATION_FIXED.as_bytes(),
            &options(LAB_PARAMETERS, None),
        )
        .unwrap()
        .remove(0);
        let why = target.facts.database.missing_reason().unwrap();
        assert_eq!(
            why,
            "DB instance lab-db is not created by the template: pass --live to read it from the account"
        );
        let subnets = target.facts.network.subnets.missing_reason().unwrap();
        assert!(subnets.contains("subnet-lambda-a"), "{subnets}");
        assert!(subnets.contains("pass --live"), "{subnets}");
        for check in ["NET001", "NET002", "NET003"] {
            assert_eq!(finding(&target, check).status, Status::Unknown, "{check}");
        }
        assert!(target.wanted.is_empty(), "nothing is read without --live");
    }

    #[test]
    fn a_subnet_the_account_does_not_have_is_unknown_naming_it() {
        let (network, database) = lab_account();
        let parameters = [
            ("VpcId", "vpc-lab"),
            ("RotationSubnetIds", "subnet-lambda-a,subnet-gone"),
            ("DbInstanceIdentifier", "lab-db"),
            ("DbSecurityGroupId", "sg-db"),
        ];
        let (target, _) = load_live(ADD_ROTATION_FIXED, &parameters, &network, &database);
        let why = target.facts.network.subnets.missing_reason().unwrap();
        assert_eq!(
            why,
            "ec2:DescribeSubnets not found: subnet subnet-gone does not exist in the account's region us-east-1"
        );
        let net002 = finding(&target, "NET002");
        assert_eq!(net002.status, Status::Unknown, "{net002:?}");
    }

    #[test]
    fn a_database_the_account_does_not_have_fails_db001_naming_it() {
        let (network, database) = lab_account();
        let parameters = [
            ("VpcId", "vpc-lab"),
            ("RotationSubnetIds", "subnet-lambda-a"),
            ("DbInstanceIdentifier", "Gone-DB"),
            ("DbSecurityGroupId", "sg-db"),
        ];
        let (target, _) = load_live(ADD_ROTATION_FIXED, &parameters, &network, &database);
        let why = target.facts.database.missing_reason().unwrap();
        assert!(why.contains("gone-db"), "{why}");
        // DB001 names what the account lacks; with no database there is no
        // path for NET002 to judge.
        let db001 = finding(&target, "DB001");
        assert_eq!(db001.status, Status::Fail, "{db001:?}");
        assert!(db001.message.contains("gone-db"), "{}", db001.message);
        let net002 = finding(&target, "NET002");
        assert_eq!(net002.status, Status::Skipped, "{net002:?}");
        assert!(net002.message.contains("DB001"), "{}", net002.message);
    }

    #[test]
    fn denied_security_groups_are_unknown_with_the_call_never_a_pass() {
        let (mut network, database) = lab_account();
        network.security_groups = Fact::Unavailable(Unavailable {
            call: "ec2:DescribeSecurityGroups".to_string(),
            kind: ErrorKind::AccessDenied,
            message: "not authorized".to_string(),
        });
        let (target, _) = load_live(ADD_ROTATION_FIXED, LAB_PARAMETERS, &network, &database);
        let why = target
            .facts
            .network
            .security_groups
            .missing_reason()
            .unwrap();
        assert_eq!(
            why,
            "ec2:DescribeSecurityGroups access denied: not authorized"
        );
        let net002 = finding(&target, "NET002");
        assert_eq!(net002.status, Status::Unknown, "{net002:?}");
    }
}
