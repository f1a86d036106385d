//! Templates written from the CloudFormation documentation, loaded into
//! facts and diagnosed: the lab case, each resource type, each kind of
//! unresolved reference, and the templates CloudFormation would refuse.

use super::*;
use crate::finding::Status;
use crate::{ErrorKind, Fact, Finding};

pub(super) const LAB: &str = include_str!("../../../tests/data/templates/lab-hosted-rotation.yaml");
const LAB_FIXED: &str =
    include_str!("../../../tests/data/templates/lab-hosted-rotation-fixed.yaml");

fn options(parameters: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        region: "us-east-1".to_string(),
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        now: chrono::DateTime::UNIX_EPOCH,
        account: None,
    }
}

fn load_with(text: &str, parameters: &[(&str, &str)]) -> Vec<TemplateTarget> {
    load("t.yaml", text.as_bytes(), &options(parameters)).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn load_one(text: &str) -> TemplateTarget {
    let mut targets = load_with(text, &[]);
    assert_eq!(targets.len(), 1);
    targets.remove(0)
}

fn error(text: &str) -> String {
    load("t.yaml", text.as_bytes(), &options(&[])).expect_err("must be refused")
}

fn findings(target: &TemplateTarget) -> Vec<Finding> {
    let mut diagnosis = crate::diagnose(&target.facts);
    target.locate(&mut diagnosis.findings, &diagnosis.paths);
    diagnosis.findings
}

fn finding(target: &TemplateTarget, check: &str) -> Finding {
    findings(target)
        .into_iter()
        .find(|f| f.check == check)
        .unwrap_or_else(|| panic!("no {check} finding"))
}

/// The lab with some of its text replaced.
fn lab_with(replacements: &[(&str, &str)]) -> String {
    let mut text = LAB_FIXED.to_string();
    for (from, to) in replacements {
        assert!(text.contains(from), "the lab has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

fn line_of(text: &str, needle: &str) -> u32 {
    let index = text.find(needle).expect("needle");
    text[..index].matches('\n').count() as u32 + 1
}

fn unresolved_message<T>(fact: &Fact<T>) -> String {
    match fact {
        Fact::Unavailable(u) => {
            assert_eq!(u.kind, ErrorKind::Unresolved);
            u.to_string()
        }
        _ => panic!("not unresolved"),
    }
}

#[test]
fn the_lab_fails_net002_at_the_database_groups_ingress() {
    let target = load_one(LAB);
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Fail);
    assert_eq!(net002.resource, "DbSecurityGroup");
    let location = net002.location.expect("located");
    assert_eq!(location.logical_id, "DbSecurityGroup");
    assert_eq!(location.line, line_of(LAB, "      SecurityGroupIngress:"));
    assert!(net002.evidence[0].starts_with("template: t.yaml:"));
    // Ids are logical ids, named as the template names them.
    assert!(
        net002.message.contains("DbSecurityGroup (lab-db-sg)"),
        "{}",
        net002.message
    );
}

#[test]
fn the_fixed_lab_passes_and_skips_what_needs_a_deployment() {
    let target = load_one(LAB_FIXED);
    for f in findings(&target) {
        match f.check.as_str() {
            "ROT002" | "ROT003" | "LAM001" | "DB001" | "LOG001" | "TRL001" => {
                assert_eq!(f.status, Status::Skipped, "{f:?}");
                assert!(f.message.starts_with("not deployed yet"), "{f:?}");
            }
            _ => assert!(matches!(f.status, Status::Pass | Status::Skipped), "{f:?}"),
        }
    }
    assert_eq!(finding(&target, "NET002").status, Status::Pass);
    assert_eq!(finding(&target, "NET003").status, Status::Pass);
    assert_eq!(finding(&target, "SEC001").status, Status::Pass);
}

#[test]
fn the_lab_facts_have_the_templates_ids_and_arns() {
    let facts = load_one(LAB).facts;
    assert_eq!(facts.secret_id, "LabSecret");
    let secret = facts.secret.present().unwrap();
    assert_eq!(
        secret.arn,
        "arn:aws:secretsmanager:us-east-1:ACCOUNT_ID:secret:lab/mysql/admin-xxxxxx"
    );
    assert_eq!(
        secret
            .rotation_rules
            .as_ref()
            .unwrap()
            .automatically_after_days,
        Some(30)
    );
    let connection = facts.connection.present().unwrap();
    assert_eq!(
        connection.keys,
        [
            "dbInstanceIdentifier",
            "engine",
            "host",
            "password",
            "port",
            "username"
        ]
    );
    assert_eq!(connection.username.as_deref(), Some("admin"));
    assert_eq!(connection.port, Some(3306));
    let db = facts.database.present().unwrap();
    assert_eq!(db.identifier, "lab-mysql");
    assert_eq!(db.subnet_ids, ["DbSubnetA", "DbSubnetB"]);
    assert_eq!(db.security_group_ids, ["DbSecurityGroup"]);
    assert_eq!(db.vpc_id.as_deref(), Some("LabVpc"));
    assert_eq!(connection.host, db.endpoint);
    let lambda = facts.lambda.present().unwrap();
    assert_eq!(
        lambda.vpc.as_ref().unwrap().subnet_ids,
        ["DbSubnetA", "DbSubnetB"]
    );
    let subnets = facts.network.subnets.present().unwrap();
    let a = subnets.iter().find(|s| s.id == "DbSubnetA").unwrap();
    assert_eq!(a.availability_zone.as_deref(), Some("us-east-1a"));
    assert_eq!(a.name.as_deref(), Some("lab-db-a"));
    let tables = facts.network.route_tables.present().unwrap();
    let main = tables.iter().find(|t| t.main).unwrap();
    assert_eq!(main.id, "LabVpc.MainRouteTable");
    assert_eq!(
        main.routes.len(),
        1,
        "the main table has only the local route"
    );
    let private = tables.iter().find(|t| t.id == "PrivateRouteTable").unwrap();
    assert_eq!(private.subnet_ids.len(), 4);
    let groups = facts.network.security_groups.present().unwrap();
    let lambda_group = groups
        .iter()
        .find(|g| g.id == "LambdaSecurityGroup")
        .unwrap();
    assert_eq!(lambda_group.egress.len(), 1, "AWS's default egress rule");
    assert!(matches!(facts.template, Fact::Present(_)));
}

#[test]
fn json_templates_read_the_same_with_their_lines() {
    let json = r#"{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "Secret": {
      "Type": "AWS::SecretsManager::Secret",
      "Properties": {"GenerateSecretString": {"SecretStringTemplate": "{\"username\":\"app\"}", "GenerateStringKey": "password"}}
    },
    "Fn": {
      "Type": "AWS::Lambda::Function",
      "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Runtime": "python3.12", "Timeout": 3}
    },
    "Role": {
      "Type": "AWS::IAM::Role",
      "Properties": {"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}
    },
    "Schedule": {
      "Type": "AWS::SecretsManager::RotationSchedule",
      "Properties": {"SecretId": {"Ref": "Secret"}, "RotationLambdaARN": {"Fn::GetAtt": ["Fn", "Arn"]}}
    }
  }
}"#;
    let target = load_one(json);
    let timeout = finding(&target, "LAM002");
    assert_eq!(timeout.status, Status::Warn);
    let location = timeout.location.unwrap();
    assert_eq!((location.logical_id.as_str(), location.line), ("Fn", 10));
    assert_eq!(finding(&target, "IAM001").status, Status::Pass);
}

/// A function with its own role and permission, as the CloudFormation
/// documentation writes them.
const FUNCTION: &str = r#"
Parameters:
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
  Groups:
    Type: CommaDelimitedList
    Default: ""
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      KmsKeyId: !Ref Key
      GenerateSecretString:
        SecretStringTemplate: '{"username": "app", "engine": "postgres", "host": "db.example.com"}'
        GenerateStringKey: password
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      ManagedPolicyArns:
        - !Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole
      Policies:
        - PolicyName: rotation
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [secretsmanager:DescribeSecret, secretsmanager:GetSecretValue, secretsmanager:PutSecretValue, secretsmanager:UpdateSecretVersionStage]
                Resource: !Ref Secret
              - Effect: Allow
                Action: secretsmanager:GetRandomPassword
                Resource: "*"
              - Effect: Allow
                Action: [kms:Decrypt, kms:GenerateDataKey]
                Resource: !GetAtt Key.Arn
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: app-rotation
      Role: !GetAtt Role.Arn
      Runtime: python3.12
      Timeout: 30
      Environment:
        Variables:
          SECRETS_MANAGER_ENDPOINT: !Sub https://secretsmanager.${AWS::Region}.${AWS::URLSuffix}
  Permission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Fn
      Action: lambda:InvokeFunction
      Principal: secretsmanager.amazonaws.com
      SourceAccount: !Ref AWS::AccountId
  Schedule:
    Type: AWS::SecretsManager::RotationSchedule
    Properties:
      SecretId: !Ref Secret
      RotationLambdaARN: !GetAtt Fn.Arn
      RotationRules: {ScheduleExpression: rate(30 days)}
"#;

#[test]
fn a_function_its_role_key_and_permission() {
    let target = load_one(FUNCTION);
    for check in [
        "IAM001", "IAM002", "LAM006", "LAM004", "LAM002", "KMS001", "LAM005",
    ] {
        let f = finding(&target, check);
        assert_eq!(f.status, Status::Pass, "{f:?}");
    }
    let lambda = target.facts.lambda.present().unwrap();
    assert_eq!(lambda.name, "app-rotation");
    assert_eq!(
        lambda.arn,
        "arn:aws:lambda:us-east-1:ACCOUNT_ID:function:app-rotation"
    );
    // A host the template does not create: the database is unknown, not passed.
    let db = unresolved_message(&target.facts.database);
    assert!(db.contains("db.example.com"), "{db}");
    assert_eq!(finding(&target, "NET001").status, Status::Unknown);
}

#[test]
fn a_missing_permission_or_trust_fails() {
    let without = FUNCTION.replace(
        "  Permission:\n    Type: AWS::Lambda::Permission",
        "  Permission:\n    Type: AWS::SNS::Topic",
    );
    let f = finding(&load_one(&without), "LAM006");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    let location = f.location.unwrap();
    assert_eq!(location.logical_id, "Fn");
    let untrusted = FUNCTION.replace(
        "Principal: {Service: lambda.amazonaws.com}",
        "Principal: {Service: ec2.amazonaws.com}",
    );
    let target = load_one(&untrusted);
    let f = finding(&target, "IAM001");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.location.unwrap().line,
        line_of(&untrusted, "      AssumeRolePolicyDocument:")
    );
}

#[test]
fn parameters_take_values_defaults_or_stay_unresolved() {
    // Subnets has no default: the function's placement is unknown, and says what to pass.
    let vpc = FUNCTION.replace(
        "      Timeout: 30\n",
        "      Timeout: 30\n      VpcConfig:\n        SubnetIds: !Ref Subnets\n        SecurityGroupIds: [sg-0abc]\n",
    );
    let target = load_one(&vpc);
    let why = unresolved_message(&target.facts.lambda);
    assert!(why.contains("pass --parameter Subnets=VALUE"), "{why}");
    let f = finding(&target, "NET001");
    assert_eq!(f.status, Status::Unknown);
    assert!(f.message.contains("--parameter Subnets"), "{}", f.message);

    // Given, they are ids the template does not create: the network is unknown.
    let target = load_with(&vpc, &[("Subnets", "subnet-0abc,subnet-0def")]).remove(0);
    let vpc_ids = &target
        .facts
        .lambda
        .present()
        .unwrap()
        .vpc
        .as_ref()
        .unwrap()
        .subnet_ids;
    assert_eq!(vpc_ids, &["subnet-0abc", "subnet-0def"]);
    let subnets = unresolved_message(&target.facts.network.subnets);
    assert!(
        subnets.contains("subnet subnet-0abc is not created by the template"),
        "{subnets}"
    );
    assert_eq!(finding(&target, "NET001").status, Status::Unknown);

    // A parameter the template does not have is refused.
    let e = load("t.yaml", FUNCTION.as_bytes(), &options(&[("Nope", "1")])).unwrap_err();
    assert!(e.contains("no parameter Nope"), "{e}");
}

#[test]
fn imports_ssm_parameters_and_external_groups_are_unknown_never_pass() {
    let imported = LAB_FIXED.replace(
        "        VpcSecurityGroupIds: !Ref LambdaSecurityGroup",
        "        VpcSecurityGroupIds: !ImportValue shared-rotation-sg",
    );
    let target = load_one(&imported);
    assert!(unresolved_message(&target.facts.lambda).contains("shared-rotation-sg"));
    for check in ["NET001", "NET002", "NET003", "LAM004"] {
        assert_eq!(finding(&target, check).status, Status::Unknown, "{check}");
    }

    let ssm = LAB_FIXED.replace(
        "  DbInstanceClass:\n    Type: String\n    Default: db.t3.micro\n",
        "  DbInstanceClass:\n    Type: String\n    Default: db.t3.micro\n  RotationGroup:\n    Type: AWS::SSM::Parameter::Value<AWS::EC2::SecurityGroup::Id>\n    Default: /network/rotation-sg\n",
    ).replace(
        "        VpcSecurityGroupIds: !Ref LambdaSecurityGroup",
        "        VpcSecurityGroupIds: !Ref RotationGroup",
    );
    let target = load_one(&ssm);
    let why = unresolved_message(&target.facts.lambda);
    assert!(why.contains("SSM Parameter Store"), "{why}");
    assert_eq!(finding(&target, "NET002").status, Status::Unknown);

    let external = LAB_FIXED.replace(
        "        VpcSecurityGroupIds: !Ref LambdaSecurityGroup",
        "        VpcSecurityGroupIds: sg-0123456789abcdef0",
    );
    let target = load_one(&external);
    let why = unresolved_message(&target.facts.network.security_groups);
    assert!(
        why.contains("security group sg-0123456789abcdef0 is not created by the template"),
        "{why}"
    );
    let f = finding(&target, "NET002");
    assert_eq!(f.status, Status::Unknown, "{f:?}");
}

#[test]
fn an_existing_vpc_makes_its_routes_and_gateways_unknown() {
    let text = lab_with(&[(
        "  LambdaSubnetA:\n    Type: AWS::EC2::Subnet\n    Properties:\n      VpcId: !Ref LabVpc",
        "  LambdaSubnetA:\n    Type: AWS::EC2::Subnet\n    Properties:\n      VpcId: vpc-0shared",
    )]);
    let target = load_one(&text);
    let why = unresolved_message(&target.facts.network.route_tables);
    assert!(
        why.contains("VPC vpc-0shared is not created by the template"),
        "{why}"
    );
    assert_eq!(finding(&target, "NET003").status, Status::Unknown);
}

#[test]
fn hosted_rotation_without_transform_or_vpc_fails_the_template_checks() {
    let text = LAB_FIXED.replace("Transform: AWS::SecretsManager-2020-07-23\n", "");
    let f = finding(&load_one(&text), "TPL001");
    assert_eq!(f.status, Status::Fail);
    assert_eq!(
        f.location.unwrap().line,
        line_of(&text, "      HostedRotationLambda:")
    );

    let text = LAB_FIXED
        .replace(
            "        VpcSubnetIds: !Join [\",\", [!Ref LambdaSubnetA, !Ref LambdaSubnetB]]\n",
            "",
        )
        .replace(
            "        VpcSecurityGroupIds: !Ref LambdaSecurityGroup\n",
            "",
        );
    let target = load_one(&text);
    assert_eq!(finding(&target, "TPL002").status, Status::Fail);
    assert_eq!(finding(&target, "NET001").status, Status::Fail);
    // The verdict's root is the template check.
    let d = crate::diagnose(&target.facts);
    assert_eq!(d.verdict.root_causes[0].check, "TPL002", "{:?}", d.verdict);
}

#[test]
fn hosted_exclude_characters_and_generate_secret_string_meet_the_engines_rules() {
    let target = load_one(LAB_FIXED);
    let sec003: Vec<Finding> = findings(&target)
        .into_iter()
        .filter(|f| f.check == "SEC003")
        .collect();
    assert_eq!(sec003.len(), 2);
    assert!(
        sec003.iter().all(|f| f.status == Status::Pass),
        "{sec003:?}"
    );

    let text = lab_with(&[
        (
            "        RotationLambdaName: lab-mysql-rotation\n",
            "        RotationLambdaName: lab-mysql-rotation\n        ExcludeCharacters: '/\"'\n",
        ),
        ("        ExcludeCharacters: '\"@/\\'\n", ""),
    ]);
    let target = load_one(&text);
    let lambda = target.facts.lambda.present().unwrap();
    assert_eq!(lambda.password_settings["EXCLUDE_CHARACTERS"], "/\"");
    let sec003: Vec<Finding> = findings(&target)
        .into_iter()
        .filter(|f| f.check == "SEC003")
        .collect();
    assert_eq!(sec003[0].status, Status::Fail, "{}", sec003[0].message);
    assert!(sec003[0].message.contains("`@`"), "{}", sec003[0].message);
    assert!(
        sec003[1].message.contains("GenerateSecretString"),
        "{}",
        sec003[1].message
    );
    assert_eq!(sec003[1].status, Status::Fail, "{}", sec003[1].message);
}

#[test]
fn a_schedule_that_does_not_wait_for_the_attachment_fails_tpl003() {
    let text = LAB_FIXED.replace("    DependsOn: LabSecretAttachment\n", "");
    assert_eq!(finding(&load_one(&text), "TPL003").status, Status::Fail);
    // Referring to the attachment is waiting for it (AWS CDK's way).
    let text = text.replace(
        "      SecretId: !Ref LabSecret\n      HostedRotationLambda:",
        "      SecretId: !Ref LabSecretAttachment\n      HostedRotationLambda:",
    );
    let target = load_one(&text);
    assert_eq!(finding(&target, "TPL003").status, Status::Pass);
    assert_eq!(target.facts.secret_id, "LabSecret");
}

#[test]
fn security_group_rules_nacls_and_routes_decide_paths() {
    // A standalone ingress rule admits the function's own group.
    let text = format!(
        "{LAB}  SelfIngress:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n      GroupId: !Ref DbSecurityGroup\n      IpProtocol: tcp\n      FromPort: 3306\n      ToPort: 3306\n      SourceSecurityGroupId: !Ref DbSecurityGroup\n"
    );
    assert_eq!(finding(&load_one(&text), "NET002").status, Status::Pass);

    // Inline egress replaces AWS's default rule.
    let text = lab_with(&[(
        "      GroupName: lab-lambda-sg\n",
        "      GroupName: lab-lambda-sg\n      SecurityGroupEgress:\n        - {IpProtocol: tcp, FromPort: 3306, ToPort: 3306, CidrIp: 10.0.0.0/16}\n",
    )]);
    let target = load_one(&text);
    let f = finding(&target, "NET003");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(
        f.location.unwrap().line,
        line_of(&text, "      SecurityGroupEgress:")
    );

    // A network ACL that denies the database port on the database subnets.
    let text = format!(
        "{LAB_FIXED}  DbAcl:\n    Type: AWS::EC2::NetworkAcl\n    Properties:\n      VpcId: !Ref LabVpc\n  DbAclIn:\n    Type: AWS::EC2::NetworkAclEntry\n    Properties:\n      NetworkAclId: !Ref DbAcl\n      RuleNumber: 100\n      Protocol: 6\n      RuleAction: deny\n      CidrBlock: 0.0.0.0/0\n      PortRange: {{From: 3306, To: 3306}}\n  DbAclA:\n    Type: AWS::EC2::SubnetNetworkAclAssociation\n    Properties:\n      SubnetId: !Ref DbSubnetA\n      NetworkAclId: !Ref DbAcl\n"
    );
    let f = finding(&load_one(&text), "NET002");
    assert_eq!(f.status, Status::Fail, "{f:?}");
    assert_eq!(f.resource, "DbAcl");

    // Without the NAT route the subnets reach no Secrets Manager.
    let text = lab_with(&[(
        "      NatGatewayId: !Ref NatGateway",
        "      NatGatewayId: nat-0gone",
    )]);
    let target = load_one(&text);
    assert!(unresolved_message(&target.facts.network.nat_gateways).contains("nat-0gone"));
    assert_eq!(finding(&target, "NET003").status, Status::Unknown);
}

#[test]
fn an_interface_endpoint_with_private_dns_is_a_way_to_secrets_manager() {
    let text = lab_with(&[(
        "      NatGatewayId: !Ref NatGateway",
        "      GatewayId: !Ref InternetGateway",
    )]);
    let broken = load_one(&text);
    assert_eq!(finding(&broken, "NET003").status, Status::Fail);
    let text = format!(
        "{text}  SecretsManagerEndpoint:\n    Type: AWS::EC2::VPCEndpoint\n    Properties:\n      VpcId: !Ref LabVpc\n      ServiceName: !Sub com.amazonaws.${{AWS::Region}}.secretsmanager\n      VpcEndpointType: Interface\n      PrivateDnsEnabled: true\n      SubnetIds: [!Ref LambdaSubnetA, !Ref LambdaSubnetB]\n      SecurityGroupIds: [!Ref EndpointGroup]\n  EndpointGroup:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: endpoint\n      VpcId: !Ref LabVpc\n      SecurityGroupIngress:\n        - {{IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/16}}\n"
    );
    let f = finding(&load_one(&text), "NET003");
    assert_eq!(f.status, Status::Pass, "{f:?}");
}

#[test]
fn conditions_decide_which_resources_exist() {
    let text = LAB_FIXED
        .replace(
            "Resources:\n",
            "Conditions:\n  Rotate: !Equals [!Ref DbInstanceClass, db.t3.micro]\nResources:\n",
        )
        .replace(
            "  LabRotationSchedule:\n    Type: AWS::SecretsManager::RotationSchedule\n",
            "  LabRotationSchedule:\n    Type: AWS::SecretsManager::RotationSchedule\n    Condition: Rotate\n",
        );
    assert_eq!(load_with(&text, &[]).len(), 1);
    let e = load(
        "t.yaml",
        text.as_bytes(),
        &options(&[("DbInstanceClass", "db.r6g.large")]),
    )
    .unwrap_err();
    assert!(e.contains("rotates no secret"), "{e}");
}

#[test]
fn a_cluster_attachment_and_a_secret_without_json() {
    let text = lab_with(&[
        ("  LabDatabase:\n    Type: AWS::RDS::DBInstance\n    Properties:\n      DBInstanceIdentifier: lab-mysql\n      Engine: mysql\n", "  LabDatabase:\n    Type: AWS::RDS::DBCluster\n    Properties:\n      DBClusterIdentifier: Lab-Aurora\n      Engine: aurora-postgresql\n      VpcSecurityGroupIds: [!Ref DbSecurityGroup]\n"),
        ("      VPCSecurityGroups: [!Ref DbSecurityGroup]\n", ""),
        ("      TargetType: AWS::RDS::DBInstance", "      TargetType: AWS::RDS::DBCluster"),
        ("          FromPort: 3306\n          ToPort: 3306", "          FromPort: 5432\n          ToPort: 5432"),
    ]);
    let target = load_one(&text);
    let db = target.facts.database.present().unwrap();
    assert_eq!(db.identifier, "lab-aurora");
    assert_eq!(db.port, Some(5432));
    let connection = target.facts.connection.present().unwrap();
    assert_eq!(
        connection.db_cluster_identifier.as_deref(),
        Some("lab-aurora")
    );
    assert_eq!(finding(&target, "NET002").status, Status::Pass);

    let text = lab_with(&[("        SecretStringTemplate: '{\"username\": \"admin\"}'\n        GenerateStringKey: password\n", "")]);
    let f = finding(&load_one(&text), "SEC001");
    assert_eq!(f.status, Status::Fail);
    assert!(f.message.contains("not a JSON object"), "{}", f.message);
}

/// What AWS CDK's `addRotationSingleUser` writes: a Serverless Application
/// Repository rotation app, its own security group admitted by the
/// database's, and a schedule naming the app's output.
#[test]
fn a_serverless_application_rotation_app() {
    let text = lab_with(&[
        ("Transform: AWS::SecretsManager-2020-07-23\n", "Transform: AWS::Serverless-2016-10-31\n"),
        (
            "  LabRotationSchedule:\n    Type: AWS::SecretsManager::RotationSchedule\n    DependsOn: LabSecretAttachment\n    Properties:\n      SecretId: !Ref LabSecret\n      HostedRotationLambda:\n        RotationType: MySQLSingleUser\n        RotationLambdaName: lab-mysql-rotation\n        Runtime: python3.12\n        VpcSubnetIds: !Join [\",\", [!Ref LambdaSubnetA, !Ref LambdaSubnetB]]\n        VpcSecurityGroupIds: !Ref LambdaSecurityGroup\n",
            "  RotationApp:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location:\n        ApplicationId: arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSMySQLRotationSingleUser\n        SemanticVersion: 1.1.367\n      Parameters:\n        endpoint: !Sub https://secretsmanager.${AWS::Region}.${AWS::URLSuffix}\n        functionName: LabRotation\n        vpcSubnetIds: !Join [\",\", [!Ref LambdaSubnetA, !Ref LambdaSubnetB]]\n        vpcSecurityGroupIds: !GetAtt LambdaSecurityGroup.GroupId\n  LabRotationSchedule:\n    Type: AWS::SecretsManager::RotationSchedule\n    Properties:\n      SecretId: !Ref LabSecretAttachment\n      RotationLambdaARN: !GetAtt RotationApp.Outputs.RotationLambdaARN\n",
        ),
    ]);
    let target = load_one(&text);
    let lambda = target.facts.lambda.present().unwrap();
    assert_eq!(lambda.name, "LabRotation");
    for check in ["NET001", "NET002", "NET003", "LAM004", "TPL003"] {
        assert_eq!(finding(&target, check).status, Status::Pass, "{check}");
    }
    assert_eq!(finding(&target, "LAM006").status, Status::Skipped);
}

#[test]
fn sam_functions_take_globals_and_get_their_role() {
    let text = r#"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 60
Resources:
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString: {SecretStringTemplate: '{"username":"u","engine":"mysql","host":"h"}', GenerateStringKey: password}
  Rotation:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      CodeUri: src/
      Policies:
        - AWSSecretsManagerRotationPolicy:
            FunctionName: rotation
      Environment:
        Variables:
          SECRETS_MANAGER_ENDPOINT: https://secretsmanager.eu-west-1.amazonaws.com
  Schedule:
    Type: AWS::SecretsManager::RotationSchedule
    Properties:
      SecretId: !Ref Secret
      RotationLambdaARN: !GetAtt Rotation.Arn
"#;
    let target = load_one(text);
    let lambda = target.facts.lambda.present().unwrap();
    assert_eq!(lambda.timeout_seconds, Some(60));
    assert_eq!(lambda.runtime.as_deref(), Some("python3.12"));
    assert_eq!(finding(&target, "IAM001").status, Status::Pass);
    // The policy template is not expanded: undecided, not allowed.
    assert_eq!(finding(&target, "IAM002").status, Status::Unknown);
    // The endpoint of another region fails.
    assert_eq!(finding(&target, "LAM004").status, Status::Fail);
}

#[test]
fn what_cloudformation_refuses_is_one_sentence_with_its_line() {
    let cases: &[(&str, &str)] = &[
        ("Resources:\n  A: [1\n", "t.yaml:"),
        ("Resources:\n  A:\n    Type: X\n    Properties:\n      B: !Length [1]\n", "t.yaml:5: Fn::Length"),
        ("Resources:\n  A:\n    Type: X\n    Properties:\n      B: !Ref Nowhere\n", "t.yaml:5: A refers to Nowhere"),
        ("Resources:\n  A:\n    Type: X\n    Properties: {B: !Ref C}\n  C:\n    Type: X\n    Properties: {D: !GetAtt A.Arn}\n", "circular dependency"),
        ("Resources:\n  A:\n    Type: X\n    DependsOn: C\n  C:\n    Type: X\n    DependsOn: [A]\n", "circular dependency"),
        ("Resources:\n  A:\n    Type: X\n    DependsOn: Z\n", "t.yaml:4: A DependsOn Z"),
        ("Resources: {}\n", "at least one resource"),
        ("Hello: world\n", "no Resources section"),
        ("- a\n- b\n", "top level is not a mapping"),
        ("Resources:\n  A:\n    Type: X\n", "t.yaml: the template has no AWS::SecretsManager::RotationSchedule"),
        ("Resources:\n  A:\n    Properties: {}\n", "t.yaml:2: resource A has no Type"),
    ];
    for (text, expected) in cases {
        let e = error(text);
        assert!(e.contains(expected), "{text:?} gave {e:?}");
        assert!(!e.contains('\n'), "{e:?}");
    }
    assert!(load("t.yaml", b"\xff\xfe", &options(&[]))
        .unwrap_err()
        .contains("not UTF-8"));
}

#[test]
fn every_rotation_schedule_is_a_target() {
    let second = LAB_FIXED.replace("LabRotationSchedule:", "OtherSchedule:");
    let both = format!(
        "{LAB_FIXED}{}",
        &second[second.find("  OtherSchedule:").unwrap()..]
    );
    let targets = load_with(&both, &[]);
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0].facts.secret_id, "LabSecret");
}

#[test]
fn the_pseudo_parameters_and_the_account_can_be_given() {
    let target = load_with(LAB_FIXED, &[("AWS::AccountId", "111122223333")]).remove(0);
    assert!(target
        .facts
        .secret
        .present()
        .unwrap()
        .arn
        .contains(":111122223333:"));
    let target = load(
        "lab.yaml",
        LAB_FIXED.as_bytes(),
        &LoadOptions {
            region: "eu-central-1".into(),
            ..options(&[])
        },
    )
    .unwrap()
    .remove(0);
    assert_eq!(target.facts.region, "eu-central-1");
    let subnets = target.facts.network.subnets.present().unwrap();
    assert!(subnets.iter().all(|s| s
        .availability_zone
        .as_deref()
        .unwrap()
        .starts_with("eu-central-1")));
}

const CDK_ADMITTED: &str =
    include_str!("../../../tests/data/cdk/admitted.out/RotationAdmitted.template.json");
const CDK_NOT_ADMITTED: &str = include_str!(
    "../../../tests/data/cdk/not-admitted.out/assembly-Prod/ProdDatabase5B3A507C.template.json"
);

/// What `cdk synth` writes for `addRotationSingleUser` (tests/data/cdk/app):
/// the rotation app's subnets as an `Fn::Join` of subnet `Ref`s, its group
/// as `Fn::GetAtt GroupId`, the database's port as `Fn::GetAtt
/// Endpoint.Port` on the ingress rule, a `CDKMetadata` resource under a
/// condition on the region, a custom resource, an SSM parameter type.
#[test]
fn a_cdk_synthesized_rotation_app_is_read_as_cdk_wrote_it() {
    for region in ["us-east-1", "eu-south-9"] {
        let target = load(
            "RotationAdmitted.template.json",
            CDK_ADMITTED.as_bytes(),
            &LoadOptions {
                region: region.into(),
                ..options(&[("AWS::StackName", "RotationAdmitted")])
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(0);
        let lambda = target.facts.lambda.present().unwrap();
        assert_eq!(
            lambda.name,
            "RotationAdmittedDatabaseRotationSingleUserAF683A27"
        );
        let vpc = lambda.vpc.as_ref().unwrap();
        assert_eq!(
            vpc.subnet_ids,
            [
                "VpcPrivateSubnet1Subnet536B997A",
                "VpcPrivateSubnet2Subnet3788AAA1"
            ]
        );
        assert_eq!(
            vpc.security_group_ids,
            ["DatabaseRotationSingleUserSecurityGroupAC6E0E73"]
        );
        assert_eq!(
            lambda.secrets_manager_endpoint.as_deref(),
            Some(format!("https://secretsmanager.{region}.amazonaws.com").as_str())
        );
        for check in ["NET001", "NET002", "NET003", "LAM004", "SEC001", "TPL003"] {
            assert_eq!(finding(&target, check).status, Status::Pass, "{check}");
        }
    }
    let target = load_one(CDK_NOT_ADMITTED);
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Fail);
    assert_eq!(net002.resource, "DatabaseSecurityGroup7319C0F6");
    // A group without a name or Name tag is named by its construct.
    assert_eq!(
        target.facts.name_of("DatabaseSecurityGroup7319C0F6"),
        Some("Prod/Database/DatabaseSecurityGroup")
    );
}

#[test]
fn a_template_without_a_schedule_has_no_rotations_whatever_its_conditions() {
    let text = "Parameters:\n  Env:\n    Type: String\nConditions:\n  Prod: !Equals [!Ref Env, prod]\nResources:\n  A:\n    Type: AWS::SNS::Topic\n    Condition: Prod\n";
    let none = load_rotations("t.yaml", text.as_bytes(), &options(&[])).unwrap();
    assert!(none.is_empty());
    assert_eq!(error(text), format!("t.yaml: {NO_ROTATION}"));
}
