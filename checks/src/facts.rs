//! The facts a diagnosis is made from: what the collector read from AWS for one
//! secret, in our own types. No AWS SDK type crosses into this crate, and no
//! secret value other than host, port, engine, dbname and username is ever
//! stored here (see `Connection`).
//!
//! `Facts` is also the snapshot format: `--save-snapshot` writes it as JSON and
//! `--snapshot` reads it back, so every field is serde and versioned.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// Version of the snapshot format. Bump it when a field changes meaning or a
/// required field is added; readers refuse a newer version than they know.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 1;

/// One piece of collected evidence: present, unavailable (the call failed, with
/// the call and the reason), or not applicable (there was nothing to collect,
/// for example the logs of a Lambda that does not exist).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact<T> {
    Present(T),
    Unavailable(Unavailable),
    NotApplicable(String),
}

impl<T> Fact<T> {
    pub fn present(&self) -> Option<&T> {
        match self {
            Fact::Present(value) => Some(value),
            _ => None,
        }
    }

    /// Why this fact is missing, as a sentence; `None` when present.
    pub fn missing_reason(&self) -> Option<String> {
        match self {
            Fact::Present(_) => None,
            Fact::Unavailable(u) => Some(u.to_string()),
            Fact::NotApplicable(why) => Some(why.clone()),
        }
    }
}

/// A call that failed, recorded instead of the fact it would have given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// The IAM action form of the call, e.g. `ec2:DescribeSecurityGroups`.
    pub call: String,
    pub kind: ErrorKind,
    /// The service's message (never contains a secret value: the collector
    /// builds it from the error code and message only).
    pub message: String,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            // The message is the whole sentence: nothing was called.
            ErrorKind::Unresolved => return f.write_str(&self.message),
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Other => "failed",
        };
        write!(f, "{} {kind}: {}", self.call, self.message)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    AccessDenied,
    NotFound,
    Throttled,
    Timeout,
    Other,
    /// Not a failed call: a template leaves this to the deployment (a
    /// parameter without a value, another stack's export, a resource the
    /// template does not create). The message says what is missing.
    Unresolved,
}

/// Everything known about one target secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub schema_version: u32,
    /// The tool version that collected these facts.
    pub tool_version: String,
    /// A note a person wrote into a snapshot; never read by checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// "Now" for every check: checks never read the clock.
    pub collected_at: DateTime<Utc>,
    pub region: String,
    /// The secret id the user asked about (name or ARN), as given.
    pub secret_id: String,
    /// The window of log events that was read.
    pub log_window_hours: u32,
    pub secret: Fact<Secret>,
    /// The AWSCURRENT value's connection fields.
    pub connection: Fact<Connection>,
    pub lambda: Fact<Lambda>,
    /// The Lambda's resource policy document; `Present(None)` when it has none.
    pub lambda_policy: Fact<Option<serde_json::Value>>,
    /// The Lambda's tags that say where it came from (`PROVENANCE_TAGS`):
    /// the Serverless Application Repository app and version, the
    /// CloudFormation stack. Other tags are not kept.
    #[serde(default = "not_collected")]
    pub lambda_tags: Fact<BTreeMap<String, String>>,
    pub database: Fact<Database>,
    /// The RDS Proxy the secret's host names, when it names one: then
    /// `database` is the proxy's target and the network paths lead to the
    /// proxy. Absent from snapshots of an older tool and for a host that is
    /// no proxy (both read as `NotApplicable`).
    #[serde(default = "not_collected", skip_serializing_if = "is_not_applicable")]
    pub proxy: Fact<Proxy>,
    pub network: Network,
    pub logs: Fact<LogExcerpt>,
    /// The rotation Lambda's execution role and its policy documents.
    #[serde(default = "not_collected")]
    pub execution_role: Fact<ExecutionRole>,
    /// The secret's customer managed KMS key; `NotApplicable` when the
    /// secret uses the AWS managed key `aws/secretsmanager`.
    #[serde(default = "not_collected")]
    pub kms_key: Fact<KmsKey>,
    /// CloudTrail's rotation events for this secret in the log window.
    #[serde(default = "not_collected")]
    pub rotation_events: Fact<RotationEvents>,
    /// The master secret named by `masterarn` (multi-user rotation), as
    /// verdicts only; `NotApplicable` for a secret without that key.
    #[serde(default = "not_collected")]
    pub master_secret: Fact<MasterSecret>,
    /// Present when these facts describe a template before it is deployed
    /// (`rotation-doctor template`): what only a deployment has (versions,
    /// dates, states, logs, events) is absent, and the checks that read it
    /// are skipped. `NotApplicable` for facts read from an account.
    #[serde(default = "not_collected", skip_serializing_if = "is_not_collected")]
    pub template: Fact<TemplateFacts>,
    /// How a multi-account scan entered the secret's account: the role it
    /// assumed; `Unavailable` when it could not (then nothing else was
    /// collected); `NotApplicable` with the caller's own credentials.
    #[serde(default = "not_collected")]
    pub account_access: Fact<AccountAccess>,
}

fn is_not_applicable<T>(fact: &Fact<T>) -> bool {
    matches!(fact, Fact::NotApplicable(_))
}

fn is_not_collected<T>(fact: &Fact<T>) -> bool {
    matches!(fact, Fact::NotApplicable(why) if why == "not collected")
}

/// What the template says about a rotation that the deployed resources do
/// not show: the template-only checks (TPL…) read these.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateFacts {
    /// The template file, as given.
    pub file: String,
    /// The logical id of the `AWS::SecretsManager::RotationSchedule`.
    pub schedule: String,
    /// The template's `Transform` section.
    pub transforms: Vec<String>,
    /// The schedule's `HostedRotationLambda`, when it has one.
    pub hosted_rotation: Option<HostedRotation>,
    /// The secret's `AWS::SecretsManager::SecretTargetAttachment`, when
    /// the template has one.
    pub target_attachment: Option<TargetAttachment>,
    /// The secret's `GenerateSecretString` password settings, by property
    /// name (`ExcludeCharacters`, `PasswordLength`, `ExcludePunctuation`…),
    /// when it has one; properties the template does not resolve are absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_secret_string: Option<BTreeMap<String, String>>,
}

/// A `HostedRotationLambda`: the function the Secrets Manager transform
/// creates for the schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedRotation {
    /// `MySQLSingleUser`, `PostgreSQLMultiUser`, ...
    pub rotation_type: String,
    /// Whether `VpcSubnetIds` and `VpcSecurityGroupIds` are given.
    pub vpc_subnet_ids: bool,
    pub vpc_security_group_ids: bool,
}

/// The attachment that writes the database's host into the secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetAttachment {
    /// Its logical id.
    pub logical_id: String,
    /// Whether the schedule waits for it: `DependsOn` it, or refers to it,
    /// directly or through other resources.
    pub schedule_waits: bool,
}

/// The role a scan assumed to enter an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountAccess {
    pub account: String,
    pub role_arn: String,
}

impl Facts {
    /// An account a scan could not enter: the role it tried, why it
    /// failed, and nothing else (there was nothing else to read).
    pub fn unentered(
        region: &str,
        role_arn: &str,
        collected_at: DateTime<Utc>,
        error: Unavailable,
    ) -> Facts {
        let reason = format!("the scan could not enter the account as {role_arn}");
        fn why<T>(reason: &str) -> Fact<T> {
            Fact::NotApplicable(reason.to_string())
        }
        Facts {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            description: None,
            collected_at,
            region: region.to_string(),
            secret_id: role_arn.to_string(),
            log_window_hours: 0,
            secret: why(&reason),
            connection: why(&reason),
            lambda: why(&reason),
            lambda_policy: why(&reason),
            lambda_tags: why(&reason),
            database: why(&reason),
            proxy: why(&reason),
            network: Network::not_applicable(&reason),
            logs: why(&reason),
            execution_role: why(&reason),
            kms_key: why(&reason),
            rotation_events: why(&reason),
            master_secret: why(&reason),
            template: why(&reason),
            account_access: Fact::Unavailable(error),
        }
    }
}

impl Facts {
    /// What the rotation function connects to: the RDS Proxy the secret's
    /// host names (its endpoint, port, subnets and security groups, with
    /// the engine of the database behind it), else the database itself.
    pub fn connect_target(&self) -> Option<std::borrow::Cow<'_, Database>> {
        let database = self.database.present();
        let Some(proxy) = self.proxy.present() else {
            return database.map(std::borrow::Cow::Borrowed);
        };
        Some(std::borrow::Cow::Owned(Database {
            kind: DatabaseKind::Proxy,
            identifier: proxy.name.clone(),
            arn: proxy.arn.clone(),
            engine: database.and_then(|db| db.engine.clone()),
            engine_version: database.and_then(|db| db.engine_version.clone()),
            status: proxy.status.clone(),
            endpoint: Some(proxy.endpoint.clone()),
            port: proxy.port(),
            vpc_id: proxy.vpc_id.clone(),
            subnet_ids: proxy.subnet_ids.clone(),
            security_group_ids: proxy.security_group_ids.clone(),
            // A proxy is reachable only from inside its VPC.
            publicly_accessible: Some(false),
        }))
    }
}

/// What a multi-user secret's master secret means for rotation. Its ARN is a
/// field of the secret's value, which is never stored: the collector judges
/// the master secret and keeps only these verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterSecret {
    /// DescribeSecret found it.
    pub found: bool,
    /// It is scheduled for deletion (`DeletedDate` set).
    pub scheduled_for_deletion: bool,
    /// It is in the secret's own account (another needs a resource policy).
    pub same_account: bool,
    /// It is in the secret's region (the template calls its own region's
    /// endpoint).
    #[serde(default = "yes")]
    pub same_region: bool,
    /// It is encrypted with a customer managed key (else `aws/secretsmanager`).
    pub customer_managed_key: bool,
    /// That key's state (`Enabled`, `Disabled`, `PendingDeletion`...);
    /// `NotApplicable` under the AWS managed key.
    pub key_state: Fact<String>,
    /// May the rotation role call `secretsmanager:GetSecretValue` on it
    /// (our evaluation of the role's documents)?
    pub role_get_secret_value: Fact<crate::role_access::Outcome>,
    /// May it call `kms:Decrypt` with that key? `NotApplicable` under the
    /// AWS managed key.
    pub role_decrypt: Fact<crate::role_access::Outcome>,
    /// How the role's verdicts were reached: `iam:SimulatePrincipalPolicy`,
    /// or our evaluation of its documents and why.
    #[serde(default)]
    pub decided_by: String,
    /// The database of a master secret managed by RDS (`rds!db-…`,
    /// `rds!cluster-…`): its `aws:rds:primaryDBInstanceArn` or
    /// `aws:rds:primaryDBClusterArn` tag. Such a secret holds only username
    /// and password, so the multi-user templates look its host up with
    /// DescribeDBInstances or DescribeDBClusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rds_primary_arn: Option<String>,
}

fn yes() -> bool {
    true
}

/// The default of a fact that snapshots of an older tool do not have, and
/// the value of one that nothing needed (it is then left out of the JSON).
pub fn not_collected<T>() -> Fact<T> {
    Fact::NotApplicable("not collected".to_string())
}

/// The rotation Lambda's execution role (`iam:GetRole` and its policies).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRole {
    pub arn: String,
    pub name: String,
    /// The trust policy (`AssumeRolePolicyDocument`), decoded and parsed.
    pub trust_policy: Option<serde_json::Value>,
    /// Inline policies (`ListRolePolicies` + `GetRolePolicy`).
    pub inline_policies: Fact<Vec<RolePolicy>>,
    /// Attached managed policies (`ListAttachedRolePolicies`, then each
    /// default version's document).
    pub attached_policies: Fact<Vec<RolePolicy>>,
    /// The permissions boundary, when the role has one.
    pub permissions_boundary: Option<RolePolicy>,
    /// `iam:SimulatePrincipalPolicy` for the actions rotation needs.
    pub simulation: Fact<Vec<SimulatedAction>>,
}

/// One policy of the role: its name (inline) or ARN (managed) and document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RolePolicy {
    /// The inline policy's name, or the managed policy's name.
    pub name: String,
    /// The managed policy's ARN; `None` for an inline policy.
    pub arn: Option<String>,
    pub document: Fact<serde_json::Value>,
}

/// One answer of `iam:SimulatePrincipalPolicy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulatedAction {
    pub action: String,
    pub resource: String,
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: String,
    /// Condition keys the simulation lacked values for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_context: Vec<String>,
}

/// `kms:DescribeKey` and `kms:GetKeyPolicy` of the secret's key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KmsKey {
    /// The key id as the secret names it (an id, ARN, alias or alias ARN).
    pub key_id: String,
    pub arn: Option<String>,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: Option<String>,
    /// `CUSTOMER` or `AWS`.
    pub manager: Option<String>,
    pub deletion_date: Option<DateTime<Utc>>,
    /// The `default` key policy.
    pub policy: Fact<serde_json::Value>,
}

/// CloudTrail's `RotationFailed`, `RotationAbandoned` and
/// `RotationSucceeded` events for the secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationEvents {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Oldest first.
    pub events: Vec<RotationEvent>,
    /// True when the page bound stopped the read.
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationEvent {
    pub time: DateTime<Utc>,
    /// `RotationFailed`, `RotationAbandoned` or `RotationSucceeded`.
    pub name: String,
    /// The step named by the error message (`createSecret`, ...).
    pub step: Option<String>,
    /// The event's `errorMessage`.
    pub message: Option<String>,
    pub event_id: Option<String>,
}

/// DescribeSecret, without the value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub arn: String,
    pub name: String,
    /// `None` when the API omitted it (never-rotated secrets).
    pub rotation_enabled: Option<bool>,
    pub rotation_lambda_arn: Option<String>,
    pub rotation_rules: Option<RotationRules>,
    pub last_rotated: Option<DateTime<Utc>>,
    pub last_changed: Option<DateTime<Utc>>,
    pub next_rotation: Option<DateTime<Utc>>,
    pub deleted: Option<DateTime<Utc>>,
    pub kms_key_id: Option<String>,
    pub owning_service: Option<String>,
    /// Version id to its staging labels, as `VersionIdsToStages`.
    pub versions: BTreeMap<String, Vec<String>>,
    /// Version id to its creation date (`ListSecretVersionIds`).
    #[serde(default)]
    pub version_created: BTreeMap<String, DateTime<Utc>>,
    /// Why `version_created` could not be read; `None` when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_dates_unavailable: Option<String>,
    /// The database an RDS-managed secret belongs to: the value of its
    /// `aws:rds:primaryDBInstanceArn` or `aws:rds:primaryDBClusterArn` tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rds_primary_arn: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRules {
    pub automatically_after_days: Option<i64>,
    pub schedule_expression: Option<String>,
    pub duration: Option<String>,
}

/// The parts of the AWSCURRENT secret value a diagnosis may know. The
/// collector parses the value into this and drops everything else at once:
/// the password and any other field never reach a `Connection`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub format: SecretFormat,
    pub engine: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub dbname: Option<String>,
    pub username: Option<String>,
    pub db_instance_identifier: Option<String>,
    pub db_cluster_identifier: Option<String>,
    /// Names (never values) of the keys the rotation templates read that are
    /// present: engine, host, port, username, password, dbname, masterarn, ssl,
    /// user_arn.
    pub keys: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretFormat {
    #[default]
    Json,
    /// A SecretString that is not a JSON object.
    NotJson,
    /// Only SecretBinary is set.
    Binary,
}

/// GetFunctionConfiguration of the rotation Lambda.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lambda {
    pub arn: String,
    pub name: String,
    pub role: Option<String>,
    pub runtime: Option<String>,
    /// `Description`: the rotation templates write what the function
    /// rotates ("Conducts an AWS SecretsManager secret rotation for RDS
    /// MySQL using single user rotation scheme").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub timeout_seconds: Option<i32>,
    pub state: Option<String>,
    pub state_reason: Option<String>,
    /// `StateReasonCode`, e.g. `Idle`, `SubnetOutOfIPAddresses`.
    #[serde(default)]
    pub state_reason_code: Option<String>,
    pub last_update_status: Option<String>,
    /// `LastUpdateStatusReason` and `LastUpdateStatusReasonCode`.
    #[serde(default)]
    pub last_update_status_reason: Option<String>,
    #[serde(default)]
    pub last_update_status_reason_code: Option<String>,
    /// `None` when the function is not attached to a VPC.
    pub vpc: Option<LambdaVpc>,
    /// The value of `SECRETS_MANAGER_ENDPOINT`, the one variable whose value is
    /// kept; other variables are recorded by name only.
    pub secrets_manager_endpoint: Option<String>,
    pub environment_keys: Vec<String>,
    /// The values of the variables AWS's rotation templates read to generate
    /// a password (`PASSWORD_VARIABLES`): settings, never secrets, so they
    /// are kept. A variable that is not set is absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub password_settings: BTreeMap<String, String>,
    /// The values of the variables that tie AWS's ElastiCache user rotation
    /// function to one secret and say how long it waits
    /// (`ELASTICACHE_FUNCTION_VARIABLES`): an ARN, a user name and a number
    /// of seconds, kept like the password settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub elasticache_settings: BTreeMap<String, String>,
}

/// The tag keys (or, ending in `:`, key prefixes) the collector keeps of the
/// rotation Lambda's tags: what SAM, the Serverless Application Repository
/// and CloudFormation set. Users' own tags may say anything and are dropped.
pub const PROVENANCE_TAGS: &[&str] = &[
    "serverlessrepo:",
    "aws:cloudformation:",
    "lambda:createdBy",
    "SecretsManagerLambda",
];

/// The Serverless Application Repository tags SAM puts on an
/// `AWS::Serverless::Application`'s nested stack, which CloudFormation
/// propagates to the stack's resources.
pub const SAR_APPLICATION_TAG: &str = "serverlessrepo:applicationId";
pub const SAR_VERSION_TAG: &str = "serverlessrepo:semanticVersion";

/// Whether the collector keeps a tag of the rotation Lambda.
pub fn is_provenance_tag(key: &str) -> bool {
    PROVENANCE_TAGS.iter().any(|kept| {
        if kept.ends_with(':') {
            key.starts_with(kept)
        } else {
            key == *kept
        }
    })
}

/// The variables AWS's ElastiCache user rotation function reads besides
/// the password settings (`SecretsManagerElasticacheUserRotation`): the one
/// secret and user it may rotate, and how long it waits for the user to be
/// active.
pub const ELASTICACHE_FUNCTION_VARIABLES: &[&str] = &[
    "SECRET_ARN",
    "USER_NAME",
    "MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS",
];

/// The variables AWS's rotation templates pass to `GetRandomPassword`
/// (their `get_random_password`), whose values the collector keeps.
pub const PASSWORD_VARIABLES: &[&str] = &[
    "EXCLUDE_CHARACTERS",
    "PASSWORD_LENGTH",
    "EXCLUDE_NUMBERS",
    "EXCLUDE_PUNCTUATION",
    "EXCLUDE_UPPERCASE",
    "EXCLUDE_LOWERCASE",
    "REQUIRE_EACH_INCLUDED_TYPE",
];

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaVpc {
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseKind {
    /// An RDS DB instance.
    Instance,
    /// An RDS DB cluster: Aurora, Multi-AZ, or DocumentDB (engine `docdb`,
    /// which the RDS API describes too).
    Cluster,
    /// An RDS Proxy standing for its database (`Facts::connect_target`);
    /// never the kind of `Facts::database`.
    Proxy,
    /// A provisioned Amazon Redshift cluster (`redshift:DescribeClusters`).
    RedshiftCluster,
    /// An ElastiCache user (`elasticache:DescribeUsers`). Its rotation
    /// function changes the password through the ElastiCache API and never
    /// connects to a cache node, so the path that matters is the one to that
    /// API; the subnets and groups are those of a replication group that
    /// uses the user, for reference.
    ElasticacheUser,
}

impl DatabaseKind {
    /// How a report names one: `DB instance`, `Redshift cluster`, ...
    pub fn noun(self) -> &'static str {
        match self {
            DatabaseKind::Instance => "DB instance",
            DatabaseKind::Cluster => "DB cluster",
            DatabaseKind::Proxy => "RDS Proxy",
            DatabaseKind::RedshiftCluster => "Redshift cluster",
            DatabaseKind::ElasticacheUser => "ElastiCache user",
        }
    }
}

/// DescribeDBInstances / DescribeDBClusters (RDS, Aurora, DocumentDB),
/// DescribeClusters (Redshift) or DescribeUsers (ElastiCache) for the
/// secret's database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Database {
    pub kind: DatabaseKind,
    pub identifier: String,
    pub arn: Option<String>,
    pub engine: Option<String>,
    /// `EngineVersion`, e.g. `8.0.35` or `5.7.mysql_aurora.2.11.2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    pub status: Option<String>,
    pub endpoint: Option<String>,
    pub port: Option<u16>,
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub publicly_accessible: Option<bool>,
}

/// DescribeDBProxies (and DescribeDBProxyEndpoints for an additional
/// endpoint) for the RDS Proxy the secret's host names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proxy {
    pub name: String,
    pub arn: Option<String>,
    /// The endpoint the host matched: the proxy's own, or an additional
    /// endpoint's.
    pub endpoint: String,
    /// The additional endpoint's name, when the host names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_name: Option<String>,
    /// `MYSQL`, `POSTGRESQL` or `SQLSERVER`.
    pub engine_family: Option<String>,
    pub status: Option<String>,
    /// The VPC, subnets and security groups of the endpoint the host names
    /// (an additional endpoint has its own).
    pub vpc_id: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// `Auth[].SecretArn`: the secrets the proxy logs in with, one per
    /// database user it admits.
    pub auth_secret_arns: Vec<String>,
    /// `DefaultAuthScheme`: `IAM_AUTH` (end-to-end IAM, no secrets) or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_auth_scheme: Option<String>,
    /// The databases of its default target group (DescribeDBProxyTargets).
    pub targets: Fact<Vec<ProxyTarget>>,
}

impl Proxy {
    /// The port a proxy listens on: its engine family's default, whatever
    /// port the database behind it uses.
    pub fn port(&self) -> Option<u16> {
        match self.engine_family.as_deref()? {
            "MYSQL" => Some(3306),
            "POSTGRESQL" => Some(5432),
            "SQLSERVER" => Some(1433),
            _ => None,
        }
    }

    /// Whether `Auth` names the secret: the same ARN, or one of them the
    /// other without its random suffix.
    pub fn admits_secret(&self, secret_arn: &str) -> bool {
        let bare = |arn: &str| {
            crate::arn::Arn::parse(arn)
                .and_then(|parsed| parsed.without_secret_suffix())
                .unwrap_or_else(|| arn.to_string())
        };
        self.auth_secret_arns
            .iter()
            .any(|arn| arn == secret_arn || bare(arn) == secret_arn || *arn == bare(secret_arn))
    }
}

/// One database behind a proxy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyTarget {
    pub kind: DatabaseKind,
    /// `RdsResourceId`: the instance or cluster identifier.
    pub identifier: String,
    pub endpoint: Option<String>,
    pub port: Option<u16>,
}

/// The VPC pieces the Lambda and the database touch. Each list is its own
/// fact, so one denied call makes only the paths that need it unknown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Network {
    pub vpcs: Fact<Vec<Vpc>>,
    pub subnets: Fact<Vec<Subnet>>,
    pub route_tables: Fact<Vec<RouteTable>>,
    pub network_acls: Fact<Vec<NetworkAcl>>,
    pub security_groups: Fact<Vec<SecurityGroup>>,
    pub vpc_endpoints: Fact<Vec<VpcEndpoint>>,
    pub nat_gateways: Fact<Vec<NatGateway>>,
    pub internet_gateways: Fact<Vec<InternetGateway>>,
    /// The peering connections the route tables name; read only when a
    /// route leads to one ("not collected" otherwise, as in snapshots of an
    /// older tool, and then left out of the JSON).
    #[serde(default = "not_collected", skip_serializing_if = "is_not_collected")]
    pub peering_connections: Fact<Vec<PeeringConnection>>,
    /// The transit gateways the route tables name, and their pieces; read
    /// only when a route leads to one.
    #[serde(default = "not_collected", skip_serializing_if = "is_not_collected")]
    pub transit_gateways: Fact<Vec<TransitGateway>>,
    #[serde(default = "not_collected", skip_serializing_if = "is_not_collected")]
    pub transit_gateway_attachments: Fact<Vec<TransitGatewayAttachment>>,
    #[serde(default = "not_collected", skip_serializing_if = "is_not_collected")]
    pub transit_gateway_route_tables: Fact<Vec<TransitGatewayRouteTable>>,
}

impl Network {
    /// A network with nothing collected, for a reason.
    pub fn not_applicable(reason: &str) -> Network {
        Network {
            vpcs: Fact::NotApplicable(reason.to_string()),
            subnets: Fact::NotApplicable(reason.to_string()),
            route_tables: Fact::NotApplicable(reason.to_string()),
            network_acls: Fact::NotApplicable(reason.to_string()),
            security_groups: Fact::NotApplicable(reason.to_string()),
            vpc_endpoints: Fact::NotApplicable(reason.to_string()),
            nat_gateways: Fact::NotApplicable(reason.to_string()),
            internet_gateways: Fact::NotApplicable(reason.to_string()),
            peering_connections: Fact::NotApplicable(reason.to_string()),
            transit_gateways: Fact::NotApplicable(reason.to_string()),
            transit_gateway_attachments: Fact::NotApplicable(reason.to_string()),
            transit_gateway_route_tables: Fact::NotApplicable(reason.to_string()),
        }
    }

    /// A network read whole that holds nothing (yet).
    pub fn empty() -> Network {
        Network {
            vpcs: Fact::Present(Vec::new()),
            subnets: Fact::Present(Vec::new()),
            route_tables: Fact::Present(Vec::new()),
            network_acls: Fact::Present(Vec::new()),
            security_groups: Fact::Present(Vec::new()),
            vpc_endpoints: Fact::Present(Vec::new()),
            nat_gateways: Fact::Present(Vec::new()),
            internet_gateways: Fact::Present(Vec::new()),
            // Read only when a route leads to one.
            peering_connections: not_collected(),
            transit_gateways: not_collected(),
            transit_gateway_attachments: not_collected(),
            transit_gateway_route_tables: not_collected(),
        }
    }
}

/// One side of a VPC peering connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringSide {
    pub vpc_id: String,
    pub owner_id: Option<String>,
    pub region: Option<String>,
    /// The VPC's IPv4 and IPv6 ranges as the peering reports them.
    pub cidrs: Vec<IpNet>,
}

/// DescribeVpcPeeringConnections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeeringConnection {
    pub id: String,
    /// `Status.Code`: `active`, `pending-acceptance`, `rejected`, `deleted`...
    pub status: String,
    pub requester: PeeringSide,
    pub accepter: PeeringSide,
}

impl PeeringConnection {
    /// The side that is not `vpc_id`, when `vpc_id` is one of the two.
    pub fn other_side(&self, vpc_id: &str) -> Option<&PeeringSide> {
        if self.requester.vpc_id == vpc_id {
            Some(&self.accepter)
        } else if self.accepter.vpc_id == vpc_id {
            Some(&self.requester)
        } else {
            None
        }
    }

    pub fn side(&self, vpc_id: &str) -> Option<&PeeringSide> {
        [&self.requester, &self.accepter]
            .into_iter()
            .find(|side| side.vpc_id == vpc_id)
    }
}

/// DescribeTransitGateways.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGateway {
    pub id: String,
    pub owner_id: Option<String>,
    pub state: Option<String>,
    /// `Options.SecurityGroupReferencingSupport` is `enable`; `None` when
    /// not reported.
    pub security_group_referencing: Option<bool>,
}

/// DescribeTransitGatewayVpcAttachments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayAttachment {
    pub id: String,
    pub transit_gateway_id: String,
    pub vpc_id: String,
    pub vpc_owner_id: Option<String>,
    /// `available`, `pendingAcceptance`, `deleted`...
    pub state: Option<String>,
    /// One subnet per Availability Zone the attachment serves.
    pub subnet_ids: Vec<String>,
    /// `Options.SecurityGroupReferencingSupport` is `enable`; `None` when
    /// not reported.
    pub security_group_referencing: Option<bool>,
}

/// DescribeTransitGatewayRouteTables with its associations, propagations
/// and routes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayRouteTable {
    pub id: String,
    pub transit_gateway_id: String,
    /// The attachments whose traffic this table routes.
    pub associated_attachment_ids: Vec<String>,
    /// The attachments whose VPC ranges this table learns.
    pub propagating_attachment_ids: Vec<String>,
    pub routes: Vec<TransitGatewayRoute>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitGatewayRoute {
    pub destination: IpNet,
    /// The attachments it leads to (none for a blackhole).
    pub attachment_ids: Vec<String>,
    /// `static` or `propagated`.
    pub route_type: Option<String>,
    /// `active` or `blackhole`.
    pub state: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub cidrs: Vec<IpNet>,
    /// `enableDnsSupport` / `enableDnsHostnames`; `None` when not read.
    pub dns_support: Option<bool>,
    pub dns_hostnames: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: Option<IpNet>,
    pub ipv6_cidrs: Vec<IpNet>,
    pub availability_zone: Option<String>,
    /// The `Name` tag, to help a person recognise it.
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    /// The VPC's main table: it serves every subnet without an explicit association.
    pub main: bool,
    pub subnet_ids: Vec<String>,
    pub routes: Vec<Route>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination: RouteDestination,
    pub target: RouteTarget,
    /// `active` or `blackhole`.
    pub state: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteDestination {
    Cidr(IpNet),
    PrefixList(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum RouteTarget {
    Local,
    InternetGateway(String),
    EgressOnlyInternetGateway(String),
    NatGateway(String),
    VpcEndpoint(String),
    VpcPeering(String),
    TransitGateway(String),
    NetworkInterface(String),
    Instance(String),
    Other(String),
}

impl RouteTarget {
    pub fn id(&self) -> &str {
        match self {
            RouteTarget::Local => "local",
            RouteTarget::InternetGateway(id)
            | RouteTarget::EgressOnlyInternetGateway(id)
            | RouteTarget::NatGateway(id)
            | RouteTarget::VpcEndpoint(id)
            | RouteTarget::VpcPeering(id)
            | RouteTarget::TransitGateway(id)
            | RouteTarget::NetworkInterface(id)
            | RouteTarget::Instance(id)
            | RouteTarget::Other(id) => id,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    pub is_default: bool,
    pub subnet_ids: Vec<String>,
    pub entries: Vec<AclEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclEntry {
    pub rule_number: i32,
    pub egress: bool,
    /// `-1` (all), or an IP protocol number such as `6` (tcp).
    pub protocol: String,
    pub allow: bool,
    pub cidr: Option<IpNet>,
    pub port_range: Option<PortRange>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    pub from: u16,
    pub to: u16,
}

impl PortRange {
    pub fn contains(&self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: Option<String>,
    pub vpc_id: Option<String>,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
}

/// One permission of a security group toward one peer (the SDK's
/// IpPermission is split per peer, as DescribeSecurityGroupRules does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SgRule {
    /// `-1` (all), `tcp`, `udp`, `icmp`, or a protocol number.
    pub protocol: String,
    /// `None` for all ports.
    pub ports: Option<PortRange>,
    pub peer: SgPeer,
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SgPeer {
    Cidr(IpNet),
    Group(String),
    PrefixList(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VpcEndpoint {
    pub id: String,
    pub vpc_id: String,
    pub service_name: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, ...
    pub endpoint_type: Option<String>,
    pub state: Option<String>,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub private_dns_enabled: bool,
    pub dns_names: Vec<String>,
    pub policy: Option<serde_json::Value>,
}

impl VpcEndpoint {
    /// True when the endpoint is going or gone, or never came up: it serves
    /// nothing and will not (a pending one will). AWS lists a deleted
    /// endpoint for a while after its deletion.
    pub fn is_gone(&self) -> bool {
        self.state.as_deref().is_some_and(endpoint_state_is_gone)
    }
}

/// True for a VPC endpoint state that serves nothing and will not:
/// `deleting`, `deleted`, `failed`, `rejected`, `expired` (any case: AWS
/// answers in lower case, its reference lists them capitalised).
pub fn endpoint_state_is_gone(state: &str) -> bool {
    ["deleting", "deleted", "failed", "rejected", "expired"]
        .iter()
        .any(|gone| state.eq_ignore_ascii_case(gone))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: String,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub state: Option<String>,
    /// `public` or `private`; AWS's default (and moto's omission) is public.
    pub connectivity: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetGateway {
    pub id: String,
    /// VPCs it is attached to (attachments in state `available`/`attached`).
    pub attached_vpc_ids: Vec<String>,
}

/// The rotation Lambda's recent log events, read in bounded pages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExcerpt {
    pub log_group: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Sorted by time, oldest first.
    pub events: Vec<LogEvent>,
    /// True when the page bound stopped the read before the window's end.
    pub truncated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    pub timestamp: DateTime<Utc>,
    pub stream: Option<String>,
    pub message: String,
}
