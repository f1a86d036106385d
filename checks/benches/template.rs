//! Loading and diagnosing a large CloudFormation template: 2,000 resources,
//! 50 rotated secrets over 5 VPCs (each secret with its database, subnet
//! group, two security groups and 28 more ingress rules, a rotation
//! function with its role and permission, the attachment and the schedule).
//! The same for a Terraform plan: 70 copies of the fixed lab plan (2,030 resources).
//! Run: `cargo bench -p rotation-doctor-checks --bench template`.

use std::fmt::Write;

use criterion::{criterion_group, criterion_main, Criterion};
use rotation_doctor_checks::{diagnose, template};

const VPCS: usize = 5;
const SECRETS_PER_VPC: usize = 10;
const EXTRA_RULES: usize = 28;

/// The template's text and its number of resources.
fn large_template() -> (String, usize) {
    let mut t = String::from("Resources:\n");
    let add = |t: &mut String, id: &str, kind: &str, props: &str| {
        let _ = write!(t, "  {id}:\n    Type: {kind}\n    Properties:\n{props}");
    };
    for v in 0..VPCS {
        add(
            &mut t,
            &format!("Vpc{v}"),
            "AWS::EC2::VPC",
            &format!("      CidrBlock: 10.{v}.0.0/16\n"),
        );
        for (s, name) in ["DbA", "DbB", "FnA", "FnB", "Public"].iter().enumerate() {
            add(
                &mut t,
                &format!("V{v}{name}"),
                "AWS::EC2::Subnet",
                &format!(
                    "      VpcId: !Ref Vpc{v}\n      CidrBlock: !Select [{s}, !Cidr [!GetAtt Vpc{v}.CidrBlock, 8, 8]]\n      AvailabilityZone: !Select [{}, !GetAZs '']\n      Tags: [{{Key: Name, Value: v{v}-{name}}}]\n",
                    s % 2
                ),
            );
        }
        add(
            &mut t,
            &format!("V{v}Igw"),
            "AWS::EC2::InternetGateway",
            "      Tags: []\n",
        );
        add(
            &mut t,
            &format!("V{v}IgwAttach"),
            "AWS::EC2::VPCGatewayAttachment",
            &format!("      VpcId: !Ref Vpc{v}\n      InternetGatewayId: !Ref V{v}Igw\n"),
        );
        add(
            &mut t,
            &format!("V{v}Eip"),
            "AWS::EC2::EIP",
            "      Domain: vpc\n",
        );
        add(&mut t, &format!("V{v}Nat"), "AWS::EC2::NatGateway", &format!("      SubnetId: !Ref V{v}Public\n      AllocationId: !GetAtt V{v}Eip.AllocationId\n"));
        for (table, target) in [
            ("Public", format!("GatewayId: !Ref V{v}Igw")),
            ("Private", format!("NatGatewayId: !Ref V{v}Nat")),
        ] {
            add(
                &mut t,
                &format!("V{v}{table}Rt"),
                "AWS::EC2::RouteTable",
                &format!("      VpcId: !Ref Vpc{v}\n"),
            );
            add(&mut t, &format!("V{v}{table}Default"), "AWS::EC2::Route", &format!("      RouteTableId: !Ref V{v}{table}Rt\n      DestinationCidrBlock: 0.0.0.0/0\n      {target}\n"));
        }
        for (subnet, table) in [
            ("DbA", "Private"),
            ("DbB", "Private"),
            ("FnA", "Private"),
            ("FnB", "Private"),
            ("Public", "Public"),
        ] {
            add(
                &mut t,
                &format!("V{v}{subnet}Assoc"),
                "AWS::EC2::SubnetRouteTableAssociation",
                &format!(
                    "      SubnetId: !Ref V{v}{subnet}\n      RouteTableId: !Ref V{v}{table}Rt\n"
                ),
            );
        }
        for n in 0..SECRETS_PER_VPC {
            let id = format!("V{v}S{n}");
            add(
                &mut t,
                &format!("{id}FnSg"),
                "AWS::EC2::SecurityGroup",
                &format!("      GroupDescription: fn\n      VpcId: !Ref Vpc{v}\n"),
            );
            add(&mut t, &format!("{id}DbSg"), "AWS::EC2::SecurityGroup", &format!("      GroupDescription: db\n      VpcId: !Ref Vpc{v}\n      SecurityGroupIngress:\n        - {{IpProtocol: tcp, FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: !Ref {id}FnSg}}\n"));
            for r in 0..EXTRA_RULES {
                add(&mut t, &format!("{id}Rule{r}"), "AWS::EC2::SecurityGroupIngress", &format!("      GroupId: !Ref {id}DbSg\n      IpProtocol: tcp\n      FromPort: {}\n      ToPort: {}\n      CidrIp: 192.168.{r}.0/24\n", 6000 + r, 6000 + r));
            }
            add(&mut t, &format!("{id}SubnetGroup"), "AWS::RDS::DBSubnetGroup", &format!("      DBSubnetGroupDescription: db\n      SubnetIds: [!Ref V{v}DbA, !Ref V{v}DbB]\n"));
            add(&mut t, &format!("{id}Secret"), "AWS::SecretsManager::Secret", "      GenerateSecretString:\n        SecretStringTemplate: '{\"username\": \"app\"}'\n        GenerateStringKey: password\n");
            add(&mut t, &format!("{id}Db"), "AWS::RDS::DBInstance", &format!("      Engine: postgres\n      DBInstanceClass: db.t3.micro\n      DBSubnetGroupName: !Ref {id}SubnetGroup\n      VPCSecurityGroups: [!Ref {id}DbSg]\n"));
            add(&mut t, &format!("{id}Attach"), "AWS::SecretsManager::SecretTargetAttachment", &format!("      SecretId: !Ref {id}Secret\n      TargetId: !Ref {id}Db\n      TargetType: AWS::RDS::DBInstance\n"));
            add(&mut t, &format!("{id}Role"), "AWS::IAM::Role", &format!("      AssumeRolePolicyDocument:\n        Statement: [{{Effect: Allow, Principal: {{Service: lambda.amazonaws.com}}, Action: sts:AssumeRole}}]\n      ManagedPolicyArns: [arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]\n      Policies:\n        - PolicyName: rotation\n          PolicyDocument:\n            Statement:\n              - {{Effect: Allow, Action: 'secretsmanager:*', Resource: !Ref {id}Secret}}\n              - {{Effect: Allow, Action: secretsmanager:GetRandomPassword, Resource: '*'}}\n"));
            add(&mut t, &format!("{id}Fn"), "AWS::Lambda::Function", &format!("      Role: !GetAtt {id}Role.Arn\n      Runtime: python3.12\n      Timeout: 30\n      VpcConfig:\n        SubnetIds: [!Ref V{v}FnA, !Ref V{v}FnB]\n        SecurityGroupIds: [!Ref {id}FnSg]\n      Environment:\n        Variables:\n          SECRETS_MANAGER_ENDPOINT: !Sub https://secretsmanager.${{AWS::Region}}.${{AWS::URLSuffix}}\n"));
            add(&mut t, &format!("{id}Permission"), "AWS::Lambda::Permission", &format!("      FunctionName: !Ref {id}Fn\n      Action: lambda:InvokeFunction\n      Principal: secretsmanager.amazonaws.com\n      SourceAccount: !Ref AWS::AccountId\n"));
            add(&mut t, &format!("{id}Schedule"), "AWS::SecretsManager::RotationSchedule", &format!("      SecretId: !Ref {id}Attach\n      RotationLambdaARN: !GetAtt {id}Fn.Arn\n      RotationRules: {{AutomaticallyAfterDays: 30}}\n"));
        }
    }
    let mut count = t.matches("\n    Type: ").count();
    while count < 2000 {
        add(
            &mut t,
            &format!("Topic{count}"),
            "AWS::SNS::Topic",
            "      TopicName: filler\n",
        );
        count += 1;
    }
    (t, count)
}

fn bench(c: &mut Criterion) {
    let (text, resources) = large_template();
    let options = template::LoadOptions {
        region: "us-east-1".to_string(),
        parameters: Vec::new(),
        now: chrono::DateTime::UNIX_EPOCH,
        account: None,
    };
    let targets =
        template::load("large.yaml", text.as_bytes(), &options).expect("the template loads");
    assert_eq!(resources, 2000);
    assert_eq!(targets.len(), VPCS * SECRETS_PER_VPC);
    // Every secret's rotation works in this template: no finding fails.
    for target in &targets {
        let d = diagnose(&target.facts);
        assert!(
            d.findings
                .iter()
                .all(|f| f.status != rotation_doctor_checks::Status::Fail),
            "{:?}",
            d.findings
                .iter()
                .filter(|f| f.status == rotation_doctor_checks::Status::Fail)
                .collect::<Vec<_>>()
        );
    }
    let mut group = c.benchmark_group("template");
    group.sample_size(10);
    group.bench_function("load 2000 resources (50 rotated secrets, 5 VPCs)", |b| {
        b.iter(|| template::load("large.yaml", text.as_bytes(), &options).expect("loads"))
    });
    group.bench_function(
        "load and diagnose 2000 resources (50 rotated secrets, 5 VPCs)",
        |b| {
            b.iter(|| {
                let targets =
                    template::load("large.yaml", text.as_bytes(), &options).expect("loads");
                for target in &targets {
                    let mut diagnosis = diagnose(&target.facts);
                    target.locate(&mut diagnosis.findings, &diagnosis.paths);
                }
            })
        },
    );
    group.finish();
}

/// A Terraform plan of `copies` copies of the fixed lab plan, each copy's
/// resource names suffixed with its number: the plan's text, its number of
/// resources.
fn large_plan(copies: usize) -> (String, usize) {
    let lab: serde_json::Value = serde_json::from_str(include_str!(
        "../../tests/data/terraform/lab-rotation-fixed.json"
    ))
    .expect("the lab plan is JSON");
    let text = lab.to_string();
    let names: std::collections::BTreeSet<String> = lab["planned_values"]["root_module"]
        ["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect();
    let mut plan = lab.clone();
    for section in ["planned_values", "configuration"] {
        plan[section]["root_module"]["resources"] = serde_json::json!([]);
    }
    plan["resource_changes"] = serde_json::json!([]);
    for copy in 0..copies {
        // `.name"`, `.name.` and `"name"` are the addresses, references and
        // names of the copy's resources.
        let mut renamed = text.clone();
        for name in &names {
            for (end, end_to) in [("\"", "\""), (".", "."), ("[", "[")] {
                renamed =
                    renamed.replace(&format!(".{name}{end}"), &format!(".{name}_{copy}{end_to}"));
            }
            renamed = renamed.replace(
                &format!("\"name\":\"{name}\""),
                &format!("\"name\":\"{name}_{copy}\""),
            );
        }
        // The names AWS resources are given (secret, function, role,
        // database, subnet group), unique to each copy.
        let renamed = renamed
            .replace("\"lab-", &format!("\"lab{copy}-"))
            .replace("lab/mysql", &format!("lab{copy}/mysql"));
        let renamed: serde_json::Value = serde_json::from_str(&renamed).expect("JSON");
        for (section, list) in [
            (
                "planned_values",
                &renamed["planned_values"]["root_module"]["resources"],
            ),
            (
                "configuration",
                &renamed["configuration"]["root_module"]["resources"],
            ),
        ] {
            let all = plan[section]["root_module"]["resources"]
                .as_array_mut()
                .expect("list");
            all.extend(list.as_array().expect("list").iter().cloned());
        }
        let changes = plan["resource_changes"].as_array_mut().expect("list");
        changes.extend(
            renamed["resource_changes"]
                .as_array()
                .expect("list")
                .iter()
                .cloned(),
        );
    }
    let resources = plan["planned_values"]["root_module"]["resources"]
        .as_array()
        .expect("list")
        .len();
    (plan.to_string(), resources)
}

fn bench_plan(c: &mut Criterion) {
    const COPIES: usize = 70;
    let (text, resources) = large_plan(COPIES);
    let options = template::LoadOptions {
        region: "us-east-1".to_string(),
        parameters: Vec::new(),
        now: chrono::DateTime::UNIX_EPOCH,
        account: None,
    };
    let targets = template::load("plan.json", text.as_bytes(), &options).expect("the plan loads");
    assert!(resources >= 2000, "{resources}");
    assert_eq!(targets.len(), COPIES);
    let functions: std::collections::BTreeSet<String> = targets
        .iter()
        .filter_map(|t| t.facts.lambda.present().map(|l| l.name.clone()))
        .collect();
    assert_eq!(functions.len(), COPIES, "each copy has its own function");
    for target in &targets {
        let d = diagnose(&target.facts);
        for check in ["NET001", "NET002", "NET003"] {
            assert!(
                d.findings
                    .iter()
                    .any(|f| f.check == check && f.status == rotation_doctor_checks::Status::Pass),
                "{check} of {}",
                target.facts.secret_id
            );
        }
    }
    let mut group = c.benchmark_group("terraform plan");
    group.sample_size(10);
    group.bench_function(
        format!("load and diagnose a plan of {resources} resources ({COPIES} rotations)"),
        |b| {
            b.iter(|| {
                let targets =
                    template::load("plan.json", text.as_bytes(), &options).expect("loads");
                for target in &targets {
                    let mut diagnosis = diagnose(&target.facts);
                    target.locate(&mut diagnosis.findings, &diagnosis.paths);
                }
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench, bench_plan);
criterion_main!(benches);
