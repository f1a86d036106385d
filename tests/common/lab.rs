//! "The lab case" of issue 2, seeded through the AWS SDK, plus the moves that
//! turn it into its variants.
//!
//! VPC 10.0.0.0/16 with DB, Lambda and public subnets in us-east-1a/b; one
//! private route table (DB + Lambda subnets) with 0.0.0.0/0 → NAT gateway in
//! a public subnet; a public route table with 0.0.0.0/0 → internet gateway;
//! a DB security group admitting tcp/3306 only from a separate Lambda
//! security group; an RDS MySQL instance in the DB subnets; a rotation
//! Lambda wrongly placed in the DB subnets with the DB security group; a
//! secret with the instance's connection JSON whose rotation left a
//! value-less AWSPENDING on a second version; and the setSecret error in the
//! function's log group.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, DomainType, IpPermission, IpRange, Tag, UserIdGroupPair, VpcEndpointType,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime, VpcConfig};
use aws_sdk_secretsmanager::types::RotationRulesType;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{zip, Clients, REGION};

/// The database password stored in the secret. It must never show up in
/// anything rotation-doctor prints or writes.
pub const CANARY: &str = "CANARY-pw-7f3a9c1e-MUST-NOT-LEAK";

pub const DB_PORT: i32 = 3306;
/// The trust policy of a Lambda execution role.
pub const LAMBDA_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
pub const SECRETS_MANAGER_SERVICE: &str = "com.amazonaws.us-east-1.secretsmanager";
pub const SET_SECRET_ERROR: &str =
    "setSecret: Unable to log into database with previous, current, or pending secret of secret arn";

/// Knobs for variants of the lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub secret_name: String,
    pub function_name: String,
    pub db_instance_id: String,
    pub role_name: String,
    /// A name of its own for each lab in one account.
    pub db_subnet_group: String,
    /// Call RotateSecret (leaves the value-less AWSPENDING behind).
    pub rotate: bool,
    /// Seed the setSecret error (and START/END/REPORT lines) in the logs.
    pub seed_logs: bool,
    /// How long ago the seeded invocations started (PutLogEvents takes up
    /// to 14 days back).
    pub log_age: Duration,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            secret_name: "lab/mysql/admin".into(),
            function_name: "lab-mysql-rotation".into(),
            db_instance_id: "lab-mysql".into(),
            role_name: "lab-mysql-rotation-role".into(),
            db_subnet_group: "lab-db-subnets".into(),
            rotate: true,
            seed_logs: true,
            log_age: Duration::from_secs(10 * 60),
        }
    }
}

/// Everything the lab created, by role.
#[derive(Debug, Clone)]
pub struct Lab {
    pub vpc_id: String,
    pub azs: [String; 2],
    pub db_subnets: Vec<String>,
    pub lambda_subnets: Vec<String>,
    pub public_subnets: Vec<String>,
    pub private_route_table: String,
    pub public_route_table: String,
    pub igw_id: String,
    pub nat_id: String,
    pub db_sg: String,
    pub lambda_sg: String,
    pub db_subnet_group: String,
    pub db_instance_id: String,
    pub db_address: String,
    pub role_arn: String,
    pub function_name: String,
    pub function_arn: String,
    pub secret_name: String,
    pub secret_arn: String,
    pub log_group: String,
    pub log_stream: String,
    /// The messages written with PutLogEvents, in order.
    pub log_lines: Vec<String>,
}

/// Unwraps an SDK result, or fails the test with the full error chain.
pub trait OrPanic<T> {
    fn or_panic(self, what: &str) -> T;
}

impl<T, E: std::error::Error> OrPanic<T> for Result<T, E> {
    fn or_panic(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what} failed: {}", DisplayErrorContext(&e)))
    }
}

fn s(v: Option<&str>, what: &str) -> String {
    v.unwrap_or_else(|| panic!("{what} missing from the response"))
        .to_string()
}

async fn name_tag(c: &Clients, id: &str, name: &str) {
    c.ec2
        .create_tags()
        .resources(id)
        .tags(Tag::builder().key("Name").value(name).build())
        .send()
        .await
        .or_panic("CreateTags");
}

impl Lab {
    /// The lab exactly as issue 2 describes it.
    pub async fn build(c: &Clients) -> Lab {
        Lab::build_with(c, LabOptions::default()).await
    }

    /// The lab without its seeded log lines (the failure's evidence).
    pub async fn without_logs(c: &Clients) -> Lab {
        Lab::build_with(
            c,
            LabOptions {
                seed_logs: false,
                ..LabOptions::default()
            },
        )
        .await
    }

    /// The lab without its seeded log lines and with the network fixed and
    /// the stuck AWSPENDING cleared: healthy but for what a test breaks.
    pub async fn healthy(c: &Clients) -> Lab {
        let lab = Lab::without_logs(c).await;
        lab.move_lambda_to_lambda_tier(c).await;
        lab.clear_pending(c).await;
        lab
    }

    pub async fn build_with(c: &Clients, opts: LabOptions) -> Lab {
        // IAM role first: CreateFunction needs it to exist.
        let role = c
            .iam
            .create_role()
            .role_name(&opts.role_name)
            .assume_role_policy_document(LAMBDA_TRUST)
            .send()
            .await
            .or_panic("CreateRole");
        let role_arn = role.role().expect("role").arn().to_string();

        // --- network ---
        let vpc = c
            .ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .or_panic("CreateVpc");
        let vpc_id = s(vpc.vpc().and_then(|v| v.vpc_id()), "VpcId");
        name_tag(c, &vpc_id, "lab-vpc").await;

        let azs = [format!("{REGION}a"), format!("{REGION}b")];
        let mut db_subnets = Vec::new();
        let mut lambda_subnets = Vec::new();
        let mut public_subnets = Vec::new();
        for (i, az) in azs.iter().enumerate() {
            for (tier, base, list) in [
                ("db", 1, &mut db_subnets),
                ("lambda", 11, &mut lambda_subnets),
                ("public", 101, &mut public_subnets),
            ] {
                let cidr = format!("10.0.{}.0/24", base + i);
                let sub = c
                    .ec2
                    .create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(&cidr)
                    .availability_zone(az)
                    .send()
                    .await
                    .or_panic("CreateSubnet");
                let id = s(sub.subnet().and_then(|s| s.subnet_id()), "SubnetId");
                name_tag(c, &id, &format!("lab-{tier}-{az}")).await;
                list.push(id);
            }
        }

        let igw = c
            .ec2
            .create_internet_gateway()
            .send()
            .await
            .or_panic("CreateInternetGateway");
        let igw_id = s(
            igw.internet_gateway().and_then(|g| g.internet_gateway_id()),
            "InternetGatewayId",
        );
        c.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&igw_id)
            .vpc_id(&vpc_id)
            .send()
            .await
            .or_panic("AttachInternetGateway");

        let eip = c
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .send()
            .await
            .or_panic("AllocateAddress");
        let nat = c
            .ec2
            .create_nat_gateway()
            .subnet_id(&public_subnets[0])
            .allocation_id(s(eip.allocation_id(), "AllocationId"))
            .send()
            .await
            .or_panic("CreateNatGateway");
        let nat_id = s(
            nat.nat_gateway().and_then(|n| n.nat_gateway_id()),
            "NatGatewayId",
        );

        let public_route_table = create_route_table(c, &vpc_id, "lab-public").await;
        c.ec2
            .create_route()
            .route_table_id(&public_route_table)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw_id)
            .send()
            .await
            .or_panic("CreateRoute igw");
        for sub in &public_subnets {
            associate(c, &public_route_table, sub).await;
        }

        let private_route_table = create_route_table(c, &vpc_id, "lab-private").await;
        c.ec2
            .create_route()
            .route_table_id(&private_route_table)
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id(&nat_id)
            .send()
            .await
            .or_panic("CreateRoute nat");
        for sub in db_subnets.iter().chain(&lambda_subnets) {
            associate(c, &private_route_table, sub).await;
        }

        let lambda_sg = create_sg(c, &vpc_id, "lab-lambda-sg", "rotation Lambda").await;
        let db_sg = create_sg(c, &vpc_id, "lab-db-sg", "MySQL, from the Lambda SG only").await;
        c.ec2
            .authorize_security_group_ingress()
            .group_id(&db_sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(DB_PORT)
                    .to_port(DB_PORT)
                    .user_id_group_pairs(
                        UserIdGroupPair::builder()
                            .group_id(&lambda_sg)
                            .description("MySQL from the Lambda security group")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .or_panic("AuthorizeSecurityGroupIngress db");

        // --- database ---
        let db_subnet_group = opts.db_subnet_group.clone();
        c.rds
            .create_db_subnet_group()
            .db_subnet_group_name(&db_subnet_group)
            .db_subnet_group_description("lab DB subnets")
            .set_subnet_ids(Some(db_subnets.clone()))
            .send()
            .await
            .or_panic("CreateDBSubnetGroup");
        let db = c
            .rds
            .create_db_instance()
            .db_instance_identifier(&opts.db_instance_id)
            .db_instance_class("db.t3.micro")
            .engine("mysql")
            .allocated_storage(20)
            .master_username("admin")
            .master_user_password(CANARY)
            .db_name("app")
            .port(DB_PORT)
            .db_subnet_group_name(&db_subnet_group)
            .vpc_security_group_ids(&db_sg)
            .publicly_accessible(false)
            .send()
            .await
            .or_panic("CreateDBInstance");
        let db_address = s(
            db.db_instance()
                .and_then(|d| d.endpoint())
                .and_then(|e| e.address()),
            "Endpoint.Address",
        );

        // --- rotation Lambda, in the DB subnets with the DB SG (the bug) ---
        let function_arn = create_rotation_function(
            c,
            &opts.function_name,
            &role_arn,
            &db_subnets,
            std::slice::from_ref(&db_sg),
        )
        .await;

        // --- the secret and its failed rotation ---
        let secret_value = serde_json::json!({
            "engine": "mysql",
            "host": db_address,
            "port": DB_PORT,
            "username": "admin",
            "password": CANARY,
            "dbname": "app",
            "dbInstanceIdentifier": opts.db_instance_id,
        })
        .to_string();
        let secret =
            c.sm.create_secret()
                .name(&opts.secret_name)
                .description("lab MySQL admin credentials")
                .secret_string(secret_value)
                .send()
                .await
                .or_panic("CreateSecret");
        let secret_arn = s(secret.arn(), "ARN");
        // A healthy execution role: what the rotation template and a VPC
        // function need:
        // https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
        put_role_policy(c, &opts.role_name, &healthy_role_policy(&secret_arn)).await;
        let current_version = s(secret.version_id(), "VersionId");
        if opts.rotate {
            c.sm.rotate_secret()
                .secret_id(&secret_arn)
                .rotation_lambda_arn(&function_arn)
                .rotation_rules(
                    RotationRulesType::builder()
                        .automatically_after_days(30)
                        .build(),
                )
                .send()
                .await
                .or_panic("RotateSecret");
        }
        let pending_version = if opts.rotate {
            pending_version(c, &secret_arn).await
        } else {
            None
        };

        // --- the function's logs ---
        let log_group = format!("/aws/lambda/{}", opts.function_name);
        let log_stream = "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef".to_string();
        let mut lab = Lab {
            vpc_id,
            azs,
            db_subnets,
            lambda_subnets,
            public_subnets,
            private_route_table,
            public_route_table,
            igw_id,
            nat_id,
            db_sg,
            lambda_sg,
            db_subnet_group,
            db_instance_id: opts.db_instance_id.clone(),
            db_address,
            role_arn,
            function_name: opts.function_name.clone(),
            function_arn,
            secret_name: opts.secret_name.clone(),
            secret_arn,
            log_group,
            log_stream,
            log_lines: Vec::new(),
        };
        if opts.seed_logs {
            let version = pending_version.unwrap_or(current_version);
            lab.seed_logs(c, &version, opts.log_age).await;
        }
        lab
    }

    /// Writes two invocations' worth of lines into `/aws/lambda/<fn>`:
    /// a successful createSecret, then the setSecret failure.
    async fn seed_logs(&mut self, c: &Clients, version: &str, age: Duration) {
        c.logs
            .create_log_group()
            .log_group_name(&self.log_group)
            .send()
            .await
            .or_panic("CreateLogGroup");
        c.logs
            .create_log_stream()
            .log_group_name(&self.log_group)
            .log_stream_name(&self.log_stream)
            .send()
            .await
            .or_panic("CreateLogStream");

        let arn = &self.secret_arn;
        let r1 = "8c2f1e5a-1b7d-4c3e-9f0a-5d6e7f8a9b01";
        let r2 = "3e9d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c02";
        let start = now_millis() - i64::try_from(age.as_millis()).expect("age fits in i64");
        let lines: Vec<(i64, String)> = vec![
            (0, format!("START RequestId: {r1} Version: $LATEST")),
            (
                150,
                format!("[INFO]\t{}\t{r1}\tFound credentials in environment variables.", iso(start + 150)),
            ),
            (
                900,
                format!(
                    "[INFO]\t{}\t{r1}\tcreateSecret: Successfully put secret for ARN {arn} and version {version}.",
                    iso(start + 900)
                ),
            ),
            (950, format!("END RequestId: {r1}")),
            (
                960,
                format!(
                    "REPORT RequestId: {r1}\tDuration: 812.34 ms\tBilled Duration: 813 ms\tMemory Size: 128 MB\tMax Memory Used: 71 MB\tInit Duration: 402.11 ms"
                ),
            ),
            (2_000, format!("START RequestId: {r2} Version: $LATEST")),
            (
                17_000,
                format!(
                    "[ERROR]\t{}\t{r2}\t{SET_SECRET_ERROR} {arn}",
                    iso(start + 17_000)
                ),
            ),
            (
                17_010,
                format!(
                    "[ERROR] ValueError: {SET_SECRET_ERROR} {arn}\nTraceback (most recent call last):\n  File \"/var/task/lambda_function.py\", line 140, in lambda_handler\n    set_secret(service_client, arn, token)"
                ),
            ),
            (17_050, format!("END RequestId: {r2}")),
            (
                17_060,
                format!(
                    "REPORT RequestId: {r2}\tDuration: 15023.45 ms\tBilled Duration: 15024 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB"
                ),
            ),
        ];
        let events: Vec<InputLogEvent> = lines
            .iter()
            .map(|(offset, msg)| {
                InputLogEvent::builder()
                    .timestamp(start + offset)
                    .message(msg)
                    .build()
                    .expect("InputLogEvent")
            })
            .collect();
        let put = c
            .logs
            .put_log_events()
            .log_group_name(&self.log_group)
            .log_stream_name(&self.log_stream)
            .set_log_events(Some(events))
            .send()
            .await
            .or_panic("PutLogEvents");
        assert!(
            put.rejected_log_events_info().is_none(),
            "moto rejected seeded log events: {:?}",
            put.rejected_log_events_info()
        );
        self.log_lines = lines.into_iter().map(|(_, m)| m).collect();
    }

    /// UpdateFunctionConfiguration with BOTH lists (moto corrupts the
    /// function when SecurityGroupIds is missing).
    pub async fn move_lambda(&self, c: &Clients, subnets: &[String], sgs: &[String]) {
        c.lambda
            .update_function_configuration()
            .function_name(&self.function_name)
            .vpc_config(vpc_config(subnets, sgs))
            .send()
            .await
            .or_panic("UpdateFunctionConfiguration");
    }

    /// The fix of issue 2: the Lambda subnets and the Lambda security group.
    pub async fn move_lambda_to_lambda_tier(&self, c: &Clients) {
        let subnets = self.lambda_subnets.clone();
        self.move_lambda(c, &subnets, std::slice::from_ref(&self.lambda_sg))
            .await;
    }

    /// Takes the function out of every VPC (both lists empty).
    pub async fn remove_lambda_from_vpc(&self, c: &Clients) {
        self.move_lambda(c, &[], &[]).await;
    }

    /// Deletes the private table's 0.0.0.0/0 → NAT route.
    pub async fn remove_nat_route(&self, c: &Clients) {
        c.ec2
            .delete_route()
            .route_table_id(&self.private_route_table)
            .destination_cidr_block("0.0.0.0/0")
            .send()
            .await
            .or_panic("DeleteRoute");
    }

    /// Turns the VPC's DNS host names on (private DNS of an interface
    /// endpoint needs them).
    pub async fn enable_dns_hostnames(&self, c: &Clients) {
        c.ec2
            .modify_vpc_attribute()
            .vpc_id(&self.vpc_id)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .or_panic("ModifyVpcAttribute dns hostnames");
    }

    /// Points the private table's default route at the internet gateway
    /// (a Lambda ENI has no public IP, so this does not reach the endpoint).
    pub async fn route_private_to_igw(&self, c: &Clients) {
        c.ec2
            .replace_route()
            .route_table_id(&self.private_route_table)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&self.igw_id)
            .send()
            .await
            .or_panic("ReplaceRoute");
    }

    /// An interface endpoint for Secrets Manager in the Lambda subnets, with
    /// private DNS, whose security group admits 443 from the Lambda SG; and
    /// DNS hostnames on in the VPC. Returns (endpoint id, endpoint SG id).
    pub async fn add_secretsmanager_endpoint(&self, c: &Clients) -> (String, String) {
        self.add_secretsmanager_endpoint_with(c, true).await
    }

    /// As `add_secretsmanager_endpoint`, with private DNS on or off (moto's
    /// ModifyVpcEndpoint ignores PrivateDnsEnabled, so it is set at creation).
    pub async fn add_secretsmanager_endpoint_with(
        &self,
        c: &Clients,
        private_dns: bool,
    ) -> (String, String) {
        c.ec2
            .modify_vpc_attribute()
            .vpc_id(&self.vpc_id)
            .enable_dns_support(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .or_panic("ModifyVpcAttribute dns support");
        self.enable_dns_hostnames(c).await;
        let sg = create_sg(c, &self.vpc_id, "lab-vpce-sg", "Secrets Manager endpoint").await;
        c.ec2
            .authorize_security_group_ingress()
            .group_id(&sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .user_id_group_pairs(
                        UserIdGroupPair::builder().group_id(&self.lambda_sg).build(),
                    )
                    .build(),
            )
            .send()
            .await
            .or_panic("AuthorizeSecurityGroupIngress vpce");
        let vpce = c
            .ec2
            .create_vpc_endpoint()
            .vpc_id(&self.vpc_id)
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .service_name(SECRETS_MANAGER_SERVICE)
            .set_subnet_ids(Some(self.lambda_subnets.clone()))
            .security_group_ids(&sg)
            .private_dns_enabled(private_dns)
            .send()
            .await
            .or_panic("CreateVpcEndpoint");
        let id = s(
            vpce.vpc_endpoint().and_then(|v| v.vpc_endpoint_id()),
            "VpcEndpointId",
        );
        (id, sg)
    }

    /// Admits tcp/`port` into `group` from `cidr`.
    pub async fn allow_cidr(&self, c: &Clients, group: &str, port: i32, cidr: &str) {
        c.ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(port)
                    .to_port(port)
                    .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
                    .build(),
            )
            .send()
            .await
            .or_panic("AuthorizeSecurityGroupIngress cidr");
    }

    /// Removes the stuck AWSPENDING label (what an operator does after the
    /// network is fixed), leaving only AWSCURRENT.
    pub async fn clear_pending(&self, c: &Clients) {
        clear_pending_of(c, &self.secret_arn).await;
    }

    /// Writes `lines` as one invocation's log events (recent, a second
    /// apart) into a new stream of the function's log group.
    pub async fn put_log_lines(&self, c: &Clients, stream: &str, lines: &[String]) {
        put_log_lines_in(c, &self.log_group, stream, lines).await;
    }

    /// Removes the lab's invoke permission for secretsmanager.amazonaws.com.
    pub async fn remove_invoke_permission(&self, c: &Clients) {
        c.lambda
            .remove_permission()
            .function_name(&self.function_name)
            .statement_id("SecretsManagerAccess")
            .send()
            .await
            .or_panic("RemovePermission");
    }

    /// Puts `value` as the secret's new AWSCURRENT value. After a moto
    /// RotateSecret the secret's default version is the pending one, so
    /// moto's PutSecretValue leaves AWSCURRENT on the old version as well;
    /// move it explicitly, leaving the labels as AWS would.
    pub async fn put_secret_value(&self, c: &Clients, value: &serde_json::Value) {
        let put =
            c.sm.put_secret_value()
                .secret_id(&self.secret_arn)
                .secret_string(value.to_string())
                .send()
                .await
                .or_panic("PutSecretValue");
        let new_version = s(put.version_id(), "VersionId");
        let described =
            c.sm.describe_secret()
                .secret_id(&self.secret_arn)
                .send()
                .await
                .or_panic("DescribeSecret");
        let stale: Vec<String> = described
            .version_ids_to_stages()
            .map(|m| {
                m.iter()
                    .filter(|(v, st)| *v != &new_version && st.iter().any(|x| x == "AWSCURRENT"))
                    .map(|(v, _)| v.clone())
                    .collect()
            })
            .unwrap_or_default();
        for old in stale {
            c.sm.update_secret_version_stage()
                .secret_id(&self.secret_arn)
                .version_stage("AWSCURRENT")
                .move_to_version_id(&new_version)
                .remove_from_version_id(old)
                .send()
                .await
                .or_panic("UpdateSecretVersionStage AWSCURRENT");
        }
    }

    /// Replaces the function's environment with `variables`.
    pub async fn set_lambda_environment(&self, c: &Clients, variables: &[(&str, &str)]) {
        let mut env = Environment::builder();
        for (name, value) in variables {
            env = env.variables(*name, *value);
        }
        // An empty map clears every variable.
        let env = if variables.is_empty() {
            env.set_variables(Some(std::collections::HashMap::new()))
        } else {
            env
        };
        c.lambda
            .update_function_configuration()
            .function_name(&self.function_name)
            .environment(env.build())
            .send()
            .await
            .or_panic("UpdateFunctionConfiguration environment");
    }

    /// Replaces the execution role's inline policy `ROLE_POLICY_NAME`.
    pub async fn set_role_policy(&self, c: &Clients, document: &serde_json::Value) {
        put_role_policy(c, role_name(&self.role_arn), document).await;
    }

    /// Replaces the execution role's trust policy.
    pub async fn set_trust_policy(&self, c: &Clients, document: &serde_json::Value) {
        c.iam
            .update_assume_role_policy()
            .role_name(role_name(&self.role_arn))
            .policy_document(document.to_string())
            .send()
            .await
            .or_panic("UpdateAssumeRolePolicy");
    }

    /// Marks the function as the Serverless Application Repository deploys
    /// it: SAM's tags on the app's stack, which CloudFormation propagates to
    /// the function (a user tag beside them, which the collector drops),
    /// and the rotation template's description.
    pub async fn mark_as_serverless_app(&self, c: &Clients, application_id: &str, version: &str) {
        c.lambda
            .tag_resource()
            .resource(&self.function_arn)
            .tags("serverlessrepo:applicationId", application_id)
            .tags("serverlessrepo:semanticVersion", version)
            .tags("lambda:createdBy", "SAM")
            .tags(
                "aws:cloudformation:stack-name",
                "serverlessrepo-lab-rotation",
            )
            .tags("team", "payments")
            .send()
            .await
            .or_panic("TagResource");
        c.lambda
            .update_function_configuration()
            .function_name(&self.function_name)
            .description(
                "Conducts an AWS SecretsManager secret rotation for RDS MySQL using single user rotation scheme",
            )
            .send()
            .await
            .or_panic("UpdateFunctionConfiguration description");
    }

    /// Deletes the rotation function; the secret keeps pointing at it.
    pub async fn delete_function(&self, c: &Clients) {
        c.lambda
            .delete_function()
            .function_name(&self.function_name)
            .send()
            .await
            .or_panic("DeleteFunction");
    }
}

/// The name of the lab role's inline policy.
pub const ROLE_POLICY_NAME: &str = "rotation";

/// The execution-role policy AWS documents for a rotation function in a VPC.
pub fn healthy_role_policy(secret_arn: &str) -> serde_json::Value {
    serde_json::json!({
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
                "Resource": secret_arn
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
    })
}

/// The healthy role policy without `secretsmanager:PutSecretValue` on the
/// secret: createSecret fails, IAM002 fails and proposes PutRolePolicy.
pub fn role_policy_without_put_secret_value(secret_arn: &str) -> serde_json::Value {
    let mut policy = healthy_role_policy(secret_arn);
    policy["Statement"][0]["Action"] = serde_json::json!([
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:UpdateSecretVersionStage"
    ]);
    policy
}

async fn put_role_policy(c: &Clients, role: &str, document: &serde_json::Value) {
    c.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(ROLE_POLICY_NAME)
        .policy_document(document.to_string())
        .send()
        .await
        .or_panic("PutRolePolicy");
}

fn role_name(role_arn: &str) -> &str {
    rotation_doctor_checks::Arn::parse(role_arn)
        .and_then(|arn| arn.iam_name())
        .unwrap_or(role_arn)
}

/// A rotation function like the lab's (Python 3.12, 30 s, the endpoint
/// variable, Secrets Manager allowed to invoke it), in `subnets` with `sgs`.
pub async fn create_rotation_function(
    c: &Clients,
    name: &str,
    role_arn: &str,
    subnets: &[String],
    sgs: &[String],
) -> String {
    let func = c
        .lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(role_arn)
        .handler("lambda_function.lambda_handler")
        .timeout(30)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip::rotation_function_zip()))
                .build(),
        )
        .vpc_config(vpc_config(subnets, sgs))
        .environment(
            Environment::builder()
                .variables(
                    "SECRETS_MANAGER_ENDPOINT",
                    format!("https://secretsmanager.{REGION}.amazonaws.com"),
                )
                .build(),
        )
        .send()
        .await
        .or_panic("CreateFunction");
    let function_arn = s(func.function_arn(), "FunctionArn");
    c.lambda
        .add_permission()
        .function_name(name)
        .statement_id("SecretsManagerAccess")
        .action("lambda:InvokeFunction")
        .principal("secretsmanager.amazonaws.com")
        .send()
        .await
        .or_panic("AddPermission");
    function_arn
}

fn vpc_config(subnets: &[String], sgs: &[String]) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(subnets.to_vec()))
        .set_security_group_ids(Some(sgs.to_vec()))
        .build()
}

/// A second VPC, 10.1.0.0/16, for the rotation Lambda while its database
/// stays in the lab's VPC: a subnet in each of the lab's zones, their own
/// route table (local route only) and the Lambda's security group (egress
/// open, as created), which the lab's database group admits by id.
pub struct ClientVpc {
    pub vpc_id: String,
    pub cidr: String,
    pub subnets: Vec<String>,
    pub route_table: String,
    pub lambda_sg: String,
}

/// What a route leads to, for [`add_route`].
pub enum RouteVia<'a> {
    Peering(&'a str),
    TransitGateway(&'a str),
}

/// Adds `cidr` → `via` to `route_table`.
pub async fn add_route(c: &Clients, route_table: &str, cidr: &str, via: RouteVia<'_>) {
    let request = c
        .ec2
        .create_route()
        .route_table_id(route_table)
        .destination_cidr_block(cidr);
    let request = match via {
        RouteVia::Peering(pcx) => request.vpc_peering_connection_id(pcx),
        RouteVia::TransitGateway(tgw) => request.transit_gateway_id(tgw),
    };
    request.send().await.or_panic("CreateRoute");
}

impl Lab {
    /// Builds a [`ClientVpc`] and moves the rotation Lambda into it.
    pub async fn move_lambda_to_client_vpc(&self, c: &Clients) -> ClientVpc {
        let cidr = "10.1.0.0/16".to_string();
        let vpc = c
            .ec2
            .create_vpc()
            .cidr_block(&cidr)
            .send()
            .await
            .or_panic("CreateVpc client");
        let vpc_id = s(vpc.vpc().and_then(|v| v.vpc_id()), "VpcId");
        name_tag(c, &vpc_id, "client-vpc").await;
        let route_table = create_route_table(c, &vpc_id, "client-private").await;
        let mut subnets = Vec::new();
        for (i, az) in self.azs.iter().enumerate() {
            let sub = c
                .ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.1.{}.0/24", i + 1))
                .availability_zone(az)
                .send()
                .await
                .or_panic("CreateSubnet client");
            let id = s(sub.subnet().and_then(|s| s.subnet_id()), "SubnetId");
            name_tag(c, &id, &format!("client-{az}")).await;
            associate(c, &route_table, &id).await;
            subnets.push(id);
        }
        let lambda_sg = create_sg(c, &vpc_id, "client-lambda-sg", "rotation Lambda").await;
        c.ec2
            .authorize_security_group_ingress()
            .group_id(&self.db_sg)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(DB_PORT)
                    .to_port(DB_PORT)
                    .user_id_group_pairs(
                        UserIdGroupPair::builder()
                            .group_id(&lambda_sg)
                            .description("MySQL from the client VPC's Lambda group")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .or_panic("AuthorizeSecurityGroupIngress client");
        self.move_lambda(c, &subnets, std::slice::from_ref(&lambda_sg))
            .await;
        ClientVpc {
            vpc_id,
            cidr,
            subnets,
            route_table,
            lambda_sg,
        }
    }

    /// A peering from the client VPC to the lab's, accepted or left
    /// pending, and the client's route to the lab over it. The lab's return
    /// route is the test's to add (or not).
    pub async fn peer_client_vpc(&self, c: &Clients, client: &ClientVpc, accept: bool) -> String {
        let pcx = c
            .ec2
            .create_vpc_peering_connection()
            .vpc_id(&client.vpc_id)
            .peer_vpc_id(&self.vpc_id)
            .send()
            .await
            .or_panic("CreateVpcPeeringConnection");
        let pcx_id = s(
            pcx.vpc_peering_connection()
                .and_then(|p| p.vpc_peering_connection_id()),
            "VpcPeeringConnectionId",
        );
        if accept {
            c.ec2
                .accept_vpc_peering_connection()
                .vpc_peering_connection_id(&pcx_id)
                .send()
                .await
                .or_panic("AcceptVpcPeeringConnection");
        }
        add_route(
            c,
            &client.route_table,
            "10.0.0.0/16",
            RouteVia::Peering(&pcx_id),
        )
        .await;
        pcx_id
    }
}

async fn create_route_table(c: &Clients, vpc_id: &str, name: &str) -> String {
    let rt = c
        .ec2
        .create_route_table()
        .vpc_id(vpc_id)
        .send()
        .await
        .or_panic("CreateRouteTable");
    let id = s(
        rt.route_table().and_then(|r| r.route_table_id()),
        "RouteTableId",
    );
    name_tag(c, &id, name).await;
    id
}

async fn associate(c: &Clients, route_table: &str, subnet: &str) {
    c.ec2
        .associate_route_table()
        .route_table_id(route_table)
        .subnet_id(subnet)
        .send()
        .await
        .or_panic("AssociateRouteTable");
}

pub async fn create_sg(c: &Clients, vpc_id: &str, name: &str, description: &str) -> String {
    let sg = c
        .ec2
        .create_security_group()
        .vpc_id(vpc_id)
        .group_name(name)
        .description(description)
        .send()
        .await
        .or_panic("CreateSecurityGroup");
    let id = s(sg.group_id(), "GroupId");
    name_tag(c, &id, name).await;
    id
}

/// Admits tcp/`port` into `group` from the security group `source`.
pub async fn admit_group(c: &Clients, group: &str, port: i32, source: &str) {
    c.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(source).build())
                .build(),
        )
        .send()
        .await
        .or_panic("AuthorizeSecurityGroupIngress");
}

/// Removes the AWSPENDING label moto's RotateSecret leaves on a version
/// of `secret_id` other than AWSCURRENT, if there is one.
pub async fn clear_pending_of(c: &Clients, secret_id: &str) {
    if let Some(version) = pending_version(c, secret_id).await {
        c.sm.update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage("AWSPENDING")
            .remove_from_version_id(version)
            .send()
            .await
            .or_panic("UpdateSecretVersionStage");
    }
}

/// The version carrying AWSPENDING but not AWSCURRENT, if any.
async fn pending_version(c: &Clients, secret: &str) -> Option<String> {
    let d =
        c.sm.describe_secret()
            .secret_id(secret)
            .send()
            .await
            .or_panic("DescribeSecret");
    d.version_ids_to_stages().and_then(|m| {
        m.iter()
            .find(|(_, st)| {
                st.iter().any(|x| x == "AWSPENDING") && !st.iter().any(|x| x == "AWSCURRENT")
            })
            .map(|(v, _)| v.clone())
    })
}

/// Writes `lines` as one invocation's log events (recent, a second apart)
/// into a new stream of `group`, creating the group if it is new.
pub async fn put_log_lines_in(c: &Clients, group: &str, stream: &str, lines: &[String]) {
    // The group may exist already (a lab that seeded its own logs).
    let _ = c.logs.create_log_group().log_group_name(group).send().await;
    c.logs
        .create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .or_panic("CreateLogStream");
    let start = now_millis() - 5 * 60 * 1000;
    let events: Vec<InputLogEvent> = lines
        .iter()
        .zip(0i64..)
        .map(|(line, i)| {
            InputLogEvent::builder()
                .timestamp(start + i * 1000)
                .message(line)
                .build()
                .expect("InputLogEvent")
        })
        .collect();
    c.logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .or_panic("PutLogEvents");
}

pub fn now_millis() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    i64::try_from(d.as_millis()).expect("time fits in i64")
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .expect("valid timestamp")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
