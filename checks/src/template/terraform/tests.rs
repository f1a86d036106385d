//! Terraform plans written from the JSON format documentation
//! (tests/data/terraform/make_plans.py), loaded into facts and diagnosed:
//! the lab case and its fix, ids unknown at plan time linked through the
//! configuration's references, what the plan does not hold, secret values
//! read for their keys only, and plans that cannot be read.

use serde_json::{json, Value as Json};

use crate::finding::Status;
use crate::template::{load, LoadOptions, TemplateTarget};
use crate::{ErrorKind, Fact, Finding};

const LAB: &str = include_str!("../../../../tests/data/terraform/lab-rotation.json");
const LAB_FIXED: &str = include_str!("../../../../tests/data/terraform/lab-rotation-fixed.json");
const LAB_DATA_SOURCE: &str =
    include_str!("../../../../tests/data/terraform/lab-rotation-data-source.json");
const PRIVATE_CLUSTER: &str = include_str!("../../../../tests/data/terraform/private-cluster.json");

fn options() -> LoadOptions {
    LoadOptions {
        region: "us-east-1".to_string(),
        parameters: Vec::new(),
        now: chrono::DateTime::UNIX_EPOCH,
        account: None,
    }
}

fn load_one(text: &str) -> TemplateTarget {
    let mut targets =
        load("plan.json", text.as_bytes(), &options()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(targets.len(), 1);
    targets.remove(0)
}

fn error(text: &str) -> String {
    load("plan.json", text.as_bytes(), &options()).expect_err("must be refused")
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

fn unresolved_message<T>(fact: &Fact<T>) -> String {
    match fact {
        Fact::Unavailable(u) => {
            assert_eq!(u.kind, ErrorKind::Unresolved);
            u.to_string()
        }
        _ => panic!("not unresolved"),
    }
}

/// The plan's three views of one resource: planned values, change, configuration.
fn parts<'a>(plan: &'a mut Json, address: &str) -> (&'a mut Json, &'a mut Json, &'a mut Json) {
    let find = |list: &'a mut Json| -> &'a mut Json {
        list.as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("no {address}"))
    };
    let Json::Object(top) = plan else { panic!() };
    let mut planned = None;
    let mut change = None;
    let mut config = None;
    for (key, value) in top.iter_mut() {
        match key.as_str() {
            "planned_values" => planned = Some(find(&mut value["root_module"]["resources"])),
            "resource_changes" => change = Some(find(value)),
            "configuration" => config = Some(find(&mut value["root_module"]["resources"])),
            _ => {}
        }
    }
    (planned.unwrap(), change.unwrap(), config.unwrap())
}

fn plan_of(text: &str) -> Json {
    serde_json::from_str(text).unwrap()
}

fn text_of(plan: &Json) -> String {
    serde_json::to_string_pretty(plan).unwrap()
}

/// The line of the first `needle` after `after` in `text`.
fn line_after(text: &str, after: &str, needle: &str) -> u32 {
    let start = text.find(after).expect("after");
    let index = start + text[start..].find(needle).expect("needle");
    text[..index].matches('\n').count() as u32 + 1
}

#[test]
fn the_lab_plan_fails_net002_at_the_database_groups_ingress() {
    let target = load_one(LAB);
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Fail, "{net002:?}");
    assert_eq!(net002.resource, "aws_security_group.db");
    let location = net002.location.expect("located");
    assert_eq!(location.file, "plan.json");
    assert_eq!(location.logical_id, "aws_security_group.db");
    // The line of the group's `ingress` in its planned values.
    assert_eq!(
        location.line,
        line_after(LAB, "\"name\": \"lab-db-sg\"", "\"ingress\": [")
    );
    assert_eq!(target.facts.secret_id, "aws_secretsmanager_secret.lab");
}

#[test]
fn the_fixed_lab_plan_passes_its_network_checks() {
    let target = load_one(LAB_FIXED);
    for check in [
        "NET001", "NET002", "NET003", "LAM006", "IAM001", "IAM002", "TPL003",
    ] {
        assert_eq!(finding(&target, check).status, Status::Pass, "{check}");
    }
    assert!(findings(&target).iter().all(|f| f.status != Status::Fail));
}

#[test]
fn ids_unknown_at_plan_time_are_linked_through_the_configurations_references() {
    let target = load_one(LAB);
    let facts = &target.facts;
    let lambda = facts.lambda.present().expect("lambda");
    let vpc = lambda.vpc.as_ref().expect("in a VPC");
    assert_eq!(vpc.subnet_ids, ["aws_subnet.db_a", "aws_subnet.db_b"]);
    assert_eq!(vpc.security_group_ids, ["aws_security_group.db"]);
    assert_eq!(lambda.name, "lab-mysql-rotation");
    assert_eq!(
        lambda.role.as_deref(),
        Some("arn:aws:iam::ACCOUNT_ID:role/lab-mysql-rotation")
    );
    let db = facts.database.present().expect("database");
    assert_eq!(db.identifier, "lab-mysql");
    assert_eq!(db.port, Some(3306));
    assert_eq!(db.security_group_ids, ["aws_security_group.db"]);
    assert_eq!(db.subnet_ids, ["aws_subnet.db_a", "aws_subnet.db_b"]);
    assert_eq!(db.vpc_id.as_deref(), Some("aws_vpc.lab"));
    let groups = facts.network.security_groups.present().expect("groups");
    let db_group = groups
        .iter()
        .find(|g| g.id == "aws_security_group.db")
        .unwrap();
    assert_eq!(db_group.name.as_deref(), Some("lab-db-sg"));
    assert_eq!(db_group.vpc_id.as_deref(), Some("aws_vpc.lab"));
    // The inline block's group is the configuration's reference.
    assert_eq!(
        db_group.ingress[0].peer,
        crate::facts::SgPeer::Group("aws_security_group.lambda".to_string())
    );
    let tables = facts.network.route_tables.present().expect("tables");
    let private = tables
        .iter()
        .find(|t| t.id == "aws_route_table.private")
        .unwrap();
    assert!(private.subnet_ids.contains(&"aws_subnet.db_a".to_string()));
    assert!(private.routes.iter().any(|r| matches!(
        &r.target,
        crate::facts::RouteTarget::NatGateway(id) if id == "aws_nat_gateway.lab"
    )));
    // The public table's inline route to the internet gateway.
    let public = tables
        .iter()
        .find(|t| t.id == "aws_route_table.public")
        .unwrap();
    assert!(public.routes.iter().any(|r| matches!(
        &r.target,
        crate::facts::RouteTarget::InternetGateway(id) if id == "aws_internet_gateway.lab"
    )));
    let igws = facts.network.internet_gateways.present().expect("igws");
    assert_eq!(igws[0].attached_vpc_ids, ["aws_vpc.lab"]);
}

#[test]
fn a_data_source_makes_what_needs_it_unknown_with_its_sentence() {
    let target = load_one(LAB_DATA_SOURCE);
    let why = unresolved_message(&target.facts.lambda);
    assert!(why.contains("data.aws_security_group.shared"), "{why}");
    assert!(why.contains("when the plan is applied"), "{why}");
    for check in ["NET001", "NET002", "NET003"] {
        let f = finding(&target, check);
        assert_eq!(f.status, Status::Unknown, "{check}: {f:?}");
        assert!(
            f.message.contains("data.aws_security_group.shared"),
            "{f:?}"
        );
    }
}

#[test]
fn a_value_known_only_after_apply_without_a_reference_is_unknown() {
    let mut plan = plan_of(LAB_FIXED);
    {
        let (_, _, config) = parts(&mut plan, "aws_lambda_function.rotation");
        // As if the groups came from a local value the plan does not resolve.
        config["expressions"]["vpc_config"][0]["security_group_ids"] =
            json!({"references": ["local.rotation_groups"]});
    }
    let target = load_one(&text_of(&plan));
    let why = unresolved_message(&target.facts.lambda);
    assert!(
        why.contains(
            "aws_lambda_function.rotation.vpc_config.security_group_ids is known only after apply"
        ),
        "{why}"
    );
    assert_eq!(finding(&target, "NET002").status, Status::Unknown);
}

#[test]
fn a_known_secret_value_is_read_for_its_keys_never_its_password() {
    let mut plan = plan_of(LAB_FIXED);
    let value = r#"{"engine":"mysql","host":"db.example.internal","port":3306,"username":"admin","password":"never-kept-example"}"#;
    {
        let (planned, change, config) = parts(&mut plan, "aws_secretsmanager_secret_version.lab");
        planned["values"]["secret_string"] = json!(value);
        change["change"]["after"]["secret_string"] = json!(value);
        change["change"]["after_unknown"]
            .as_object_mut()
            .unwrap()
            .remove("secret_string");
        config["expressions"]["secret_string"] = json!({"constant_value": value});
    }
    let target = load_one(&text_of(&plan));
    let connection = target.facts.connection.present().expect("connection");
    assert_eq!(
        connection.keys,
        ["engine", "host", "password", "port", "username"]
    );
    assert_eq!(connection.host.as_deref(), Some("db.example.internal"));
    assert_eq!(connection.port, Some(3306));
    let facts = serde_json::to_string(&target.facts).unwrap();
    let diagnosis = serde_json::to_string(&crate::diagnose(&target.facts)).unwrap();
    assert!(!facts.contains("never-kept-example"));
    assert!(!diagnosis.contains("never-kept-example"));
    // The database's own password in the plan's values is never read either.
    assert!(LAB_FIXED.contains("example-only-password"));
    assert!(!facts.contains("example-only-password"));
    assert_eq!(finding(&target, "SEC001").status, Status::Pass);
}

#[test]
fn a_group_terraform_creates_has_only_the_egress_it_writes() {
    let mut plan = plan_of(LAB_FIXED);
    {
        let (planned, change, _) = parts(&mut plan, "aws_security_group.lambda");
        planned["values"]["egress"] = json!([]);
        change["change"]["after"]["egress"] = json!([]);
    }
    let target = load_one(&text_of(&plan));
    let net003 = finding(&target, "NET003");
    assert_eq!(net003.status, Status::Fail, "{net003:?}");
    assert_eq!(net003.resource, "aws_security_group.lambda");
}

#[test]
fn standalone_rules_and_resources_in_modules_are_read() {
    let mut plan = plan_of(LAB_FIXED);
    {
        // The database group's inline ingress replaced by a standalone rule.
        let (planned, change, config) = parts(&mut plan, "aws_security_group.db");
        planned["values"]["ingress"] = json!([]);
        change["change"]["after"]["ingress"] = json!([]);
        config["expressions"]
            .as_object_mut()
            .unwrap()
            .remove("ingress");
    }
    let rule_values = json!({"ip_protocol": "tcp", "from_port": 3306, "to_port": 3306});
    plan["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": "aws_vpc_security_group_ingress_rule.db_from_lambda",
            "mode": "managed",
            "type": "aws_vpc_security_group_ingress_rule",
            "name": "db_from_lambda",
            "values": rule_values,
        }));
    plan["configuration"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": "aws_vpc_security_group_ingress_rule.db_from_lambda",
            "mode": "managed",
            "type": "aws_vpc_security_group_ingress_rule",
            "name": "db_from_lambda",
            "expressions": {
                "security_group_id": {"references": ["aws_security_group.db.id", "aws_security_group.db"]},
                "referenced_security_group_id": {"references": ["aws_security_group.lambda.id", "aws_security_group.lambda"]},
            },
        }));
    let target = load_one(&text_of(&plan));
    assert_eq!(finding(&target, "NET002").status, Status::Pass);

    // Without the rule, NET002 fails at the group.
    let mut without = plan.clone();
    without["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .pop();
    let target = load_one(&text_of(&without));
    assert_eq!(finding(&target, "NET002").status, Status::Fail);

    // The same rule in module "access", given the groups as variables; the
    // source group passed through module "groups"' output.
    let mut in_module = without;
    in_module["planned_values"]["root_module"]["child_modules"] = json!([{
        "address": "module.access",
        "resources": [{
            "address": "module.access.aws_vpc_security_group_ingress_rule.this",
            "mode": "managed",
            "type": "aws_vpc_security_group_ingress_rule",
            "name": "this",
            "values": rule_values,
        }],
    }]);
    in_module["configuration"]["root_module"]["module_calls"] = json!({
        "access": {
            "source": "./access",
            "expressions": {
                "group_id": {"references": ["aws_security_group.db.id", "aws_security_group.db"]},
                "source_group_id": {"references": ["module.groups.lambda_id", "module.groups"]},
            },
            "module": {"resources": [{
                "address": "aws_vpc_security_group_ingress_rule.this",
                "mode": "managed",
                "type": "aws_vpc_security_group_ingress_rule",
                "name": "this",
                "expressions": {
                    "security_group_id": {"references": ["var.group_id"]},
                    "referenced_security_group_id": {"references": ["var.source_group_id"]},
                },
            }]},
        },
        "groups": {
            "source": "./groups",
            "expressions": {
                "lambda": {"references": ["aws_security_group.lambda.id", "aws_security_group.lambda"]},
            },
            "module": {"outputs": {"lambda_id": {"expression": {"references": ["var.lambda"]}}}},
        },
    });
    let target = load_one(&text_of(&in_module));
    let groups = target.facts.network.security_groups.present().unwrap();
    let db = groups
        .iter()
        .find(|g| g.id == "aws_security_group.db")
        .unwrap();
    assert_eq!(
        db.ingress[0].peer,
        crate::facts::SgPeer::Group("aws_security_group.lambda".to_string())
    );
    assert_eq!(finding(&target, "NET002").status, Status::Pass);

    // An output of a module the configuration does not show: unknown.
    let mut hidden = in_module.clone();
    hidden["configuration"]["root_module"]["module_calls"]["groups"]["module"] = json!({});
    let target = load_one(&text_of(&hidden));
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Unknown, "{net002:?}");
    assert!(
        net002.message.contains("module.groups.lambda_id"),
        "{net002:?}"
    );
}

#[test]
fn plans_that_cannot_be_read_are_one_sentence() {
    let mut plan = plan_of(LAB);
    plan["format_version"] = json!("2.0");
    let message = error(&text_of(&plan));
    assert!(message.contains("format_version \"2.0\""), "{message}");

    let state =
        r#"{"format_version": "1.0", "terraform_version": "1.9.8", "values": {"root_module": {}}}"#;
    let message = error(state);
    assert!(message.contains("not a plan"), "{message}");

    let mut plan = plan_of(LAB);
    plan["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["type"] != "aws_secretsmanager_secret_rotation");
    let message = error(&text_of(&plan));
    assert!(
        message.contains("no aws_secretsmanager_secret_rotation"),
        "{message}"
    );

    let message = error(&LAB[..LAB.len() / 2]);
    assert!(message.starts_with("plan.json:"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

#[test]
fn a_cluster_behind_an_endpoint_a_network_acl_counted_subnets_and_a_key() {
    let target = load_one(PRIVATE_CLUSTER);
    let facts = &target.facts;
    let db = facts.database.present().expect("database");
    assert_eq!(db.kind, crate::facts::DatabaseKind::Cluster);
    assert_eq!(db.identifier, "private-aurora");
    assert_eq!(db.engine.as_deref(), Some("aurora-mysql"));
    // The engine's port when the plan does not know it yet.
    assert_eq!(db.port, Some(3306));
    // `aws_subnet.db[*].id`: every instance of the counted subnets.
    assert_eq!(db.subnet_ids, ["aws_subnet.db[0]", "aws_subnet.db[1]"]);
    let lambda = facts.lambda.present().expect("lambda");
    assert_eq!(
        lambda.vpc.as_ref().unwrap().subnet_ids,
        ["aws_subnet.lambda[0]", "aws_subnet.lambda[1]"]
    );
    let acls = facts.network.network_acls.present().expect("acls");
    let acl = acls.iter().find(|a| a.id == "aws_network_acl.db").unwrap();
    assert_eq!(acl.subnet_ids, ["aws_subnet.db[0]", "aws_subnet.db[1]"]);
    assert_eq!(acl.entries.len(), 2);
    let key = facts.kms_key.present().expect("key");
    assert_eq!(key.state.as_deref(), Some("Enabled"));
    for check in ["NET001", "NET002", "NET003", "KMS001", "IAM002"] {
        assert_eq!(finding(&target, check).status, Status::Pass, "{check}");
    }
    // The way to Secrets Manager is the interface endpoint (no NAT).
    let diagnosis = crate::diagnose(facts);
    let to_secrets_manager: Vec<_> = diagnosis
        .paths
        .iter()
        .filter(|p| p.to == crate::net::Destination::Secretsmanager)
        .collect();
    assert_eq!(to_secrets_manager.len(), 2);
    for path in to_secrets_manager {
        assert!(
            path.hops
                .iter()
                .any(|h| h.resource == "aws_vpc_endpoint.secretsmanager"),
            "{path:?}"
        );
    }
    // A permission without source_arn or source_account: a warning at it.
    let lam006 = finding(&target, "LAM006");
    assert_eq!(lam006.status, Status::Warn);
    assert_eq!(
        lam006.location.unwrap().logical_id,
        "aws_lambda_function.rotation"
    );
}

#[test]
fn a_network_acl_or_a_missing_endpoint_blocks_the_cluster_plan() {
    let mut plan = plan_of(PRIVATE_CLUSTER);
    {
        let (planned, _, _) = parts(&mut plan, "aws_network_acl.db");
        planned["values"]["ingress"][0]["from_port"] = json!(5432);
        planned["values"]["ingress"][0]["to_port"] = json!(5432);
    }
    let target = load_one(&text_of(&plan));
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Fail, "{net002:?}");
    assert_eq!(net002.resource, "aws_network_acl.db");

    let mut plan = plan_of(PRIVATE_CLUSTER);
    plan["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["type"] != "aws_vpc_endpoint");
    let target = load_one(&text_of(&plan));
    assert_eq!(finding(&target, "NET003").status, Status::Fail);
    assert_eq!(finding(&target, "NET002").status, Status::Pass);
}

#[test]
fn known_values_are_used_and_known_ids_of_plan_resources_are_their_addresses() {
    // An update plan: the VPC exists (its id is known), so the subnets'
    // vpc_id is known too; a subnet's CIDR computed from the VPC's.
    let vpc_id = "vpc-0123456789abcdef0";
    let mut plan = plan_of(LAB_FIXED);
    {
        let (planned, change, _) = parts(&mut plan, "aws_vpc.lab");
        planned["values"]["id"] = json!(vpc_id);
        change["change"]["after_unknown"]
            .as_object_mut()
            .unwrap()
            .remove("id");
    }
    for subnet in ["db_a", "db_b", "lambda_a", "lambda_b", "public_a"] {
        let (planned, change, config) = parts(&mut plan, &format!("aws_subnet.{subnet}"));
        planned["values"]["vpc_id"] = json!(vpc_id);
        change["change"]["after_unknown"]
            .as_object_mut()
            .unwrap()
            .remove("vpc_id");
        config["expressions"]["cidr_block"] =
            json!({"references": ["aws_vpc.lab.cidr_block", "aws_vpc.lab"]});
    }
    let target = load_one(&text_of(&plan));
    let subnets = target.facts.network.subnets.present().expect("subnets");
    let db_a = subnets.iter().find(|s| s.id == "aws_subnet.db_a").unwrap();
    assert_eq!(db_a.vpc_id, "aws_vpc.lab");
    assert_eq!(
        db_a.cidr.map(|c| c.to_string()).as_deref(),
        Some("10.0.1.0/24")
    );
    for check in ["NET001", "NET002", "NET003"] {
        assert_eq!(finding(&target, check).status, Status::Pass, "{check}");
    }

    // A literal id of a group the plan does not hold: unknown, saying so.
    let mut plan = plan_of(LAB_FIXED);
    {
        let (planned, change, config) = parts(&mut plan, "aws_lambda_function.rotation");
        planned["values"]["vpc_config"][0]["security_group_ids"] = json!(["sg-0existing"]);
        change["change"]["after_unknown"]["vpc_config"][0]
            .as_object_mut()
            .unwrap()
            .remove("security_group_ids");
        config["expressions"]["vpc_config"][0]["security_group_ids"] =
            json!({"constant_value": ["sg-0existing"]});
    }
    let target = load_one(&text_of(&plan));
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Unknown, "{net002:?}");
    assert!(net002.message.contains("sg-0existing"), "{net002:?}");
}

/// The fixed lab with its function replaced by a Serverless Application
/// Repository rotation app in the given subnets and group.
fn lab_with_rotation_app(subnets: [&str; 2], group: &str) -> String {
    const STACK: &str = "aws_serverlessapplicationrepository_cloudformation_stack";
    let mut plan = plan_of(LAB_FIXED);
    for section in ["planned_values", "configuration"] {
        plan[section]["root_module"]["resources"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r["type"] != "aws_lambda_function" && r["type"] != "aws_lambda_permission");
    }
    let address = format!("{STACK}.rotator");
    plan["planned_values"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": address,
            "mode": "managed",
            "type": STACK,
            "name": "rotator",
            "values": {
                "name": "lab-rotator",
                "application_id": "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSMySQLRotationSingleUser",
                "semantic_version": "1.1.0",
                "capabilities": ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"],
                "parameters": {
                    "functionName": "lab-rotator",
                    "endpoint": "https://secretsmanager.us-east-1.amazonaws.com",
                },
            },
        }));
    plan["resource_changes"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": address,
            "mode": "managed",
            "type": STACK,
            "name": "rotator",
            "change": {
                "actions": ["create"],
                "after_unknown": {
                    "parameters": {"vpcSubnetIds": true, "vpcSecurityGroupIds": true},
                    "outputs": true,
                },
            },
        }));
    let mut references = Vec::new();
    for target in [subnets[0], subnets[1], group] {
        references.push(format!("{target}.id"));
        references.push(target.to_string());
    }
    plan["configuration"]["root_module"]["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "address": address,
            "mode": "managed",
            "type": STACK,
            "name": "rotator",
            "expressions": {"parameters": {"references": references}},
        }));
    let (_, _, config) = parts(&mut plan, "aws_secretsmanager_secret_rotation.lab");
    config["expressions"]["rotation_lambda_arn"] =
        json!({"references": [format!("{address}.outputs"), address]});
    text_of(&plan)
}

#[test]
fn a_serverless_application_repository_rotation_app() {
    let target = load_one(&lab_with_rotation_app(
        ["aws_subnet.lambda_a", "aws_subnet.lambda_b"],
        "aws_security_group.lambda",
    ));
    let lambda = target.facts.lambda.present().expect("lambda");
    assert_eq!(lambda.name, "lab-rotator");
    let vpc = lambda.vpc.as_ref().unwrap();
    assert_eq!(
        vpc.subnet_ids,
        ["aws_subnet.lambda_a", "aws_subnet.lambda_b"]
    );
    assert_eq!(vpc.security_group_ids, ["aws_security_group.lambda"]);
    assert_eq!(finding(&target, "NET002").status, Status::Pass);

    let target = load_one(&lab_with_rotation_app(
        ["aws_subnet.db_a", "aws_subnet.db_b"],
        "aws_security_group.db",
    ));
    let net002 = finding(&target, "NET002");
    assert_eq!(net002.status, Status::Fail);
    assert_eq!(net002.resource, "aws_security_group.db");
}

#[test]
fn module_outputs_and_variables_that_refer_to_each_other_end() {
    // Module m's output refers to its variable, which the call sets from
    // that very output, ten times over: a cycle, resolved once.
    let mut plan = plan_of(LAB_FIXED);
    let cycle: Vec<String> = (0..10).map(|_| "module.m.o".to_string()).collect();
    plan["configuration"]["root_module"]["module_calls"] = json!({"m": {
        "expressions": {"v": {"references": cycle}},
        "module": {"outputs": {"o": {"expression": {"references": ["var.v", "var.v"]}}}},
    }});
    {
        let (_, _, config) = parts(&mut plan, "aws_lambda_function.rotation");
        config["expressions"]["vpc_config"][0]["security_group_ids"] =
            json!({"references": ["module.m.o"]});
    }
    let target = load_one(&text_of(&plan));
    let why = unresolved_message(&target.facts.lambda);
    assert!(why.contains("refers to itself"), "{why}");
}

/// Adds a resource to all three views of the plan.
fn add_resource(plan: &mut Json, address: &str, values: Json, unknown: Json, expressions: Json) {
    let (kind, name) = address.split_once('.').unwrap();
    let base = json!({"address": address, "mode": "managed", "type": kind, "name": name});
    let mut planned = base.clone();
    planned["values"] = values;
    let mut change = base.clone();
    change["change"] = json!({"actions": ["create"], "after_unknown": unknown});
    let mut config = base;
    config["expressions"] = expressions;
    for (path, item) in [
        (["planned_values", "root_module", "resources"], planned),
        (["resource_changes", "", ""], change),
        (["configuration", "root_module", "resources"], config),
    ] {
        let mut list = &mut *plan;
        for key in path.iter().filter(|k| !k.is_empty()) {
            list = &mut list[*key];
        }
        list.as_array_mut().unwrap().push(item);
    }
}

#[test]
fn a_customer_managed_policy_attached_to_the_role_is_read() {
    let mut plan = plan_of(LAB_FIXED);
    let (planned, _, _) = parts(&mut plan, "aws_iam_role_policy.rotation");
    let document = planned["values"]["policy"].clone();
    for section in ["planned_values", "configuration"] {
        plan[section]["root_module"]["resources"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r["address"] != "aws_iam_role_policy.rotation");
    }
    add_resource(
        &mut plan,
        "aws_iam_policy.rotation",
        json!({"name": "rotate-lab-mysql", "path": "/", "policy": document}),
        json!({"arn": true, "id": true}),
        json!({}),
    );
    add_resource(
        &mut plan,
        "aws_iam_role_policy_attachment.rotation",
        json!({}),
        json!({"policy_arn": true, "role": true}),
        json!({
            "policy_arn": {"references": ["aws_iam_policy.rotation.arn", "aws_iam_policy.rotation"]},
            "role": {"references": ["aws_iam_role.rotation.name", "aws_iam_role.rotation"]},
        }),
    );
    let target = load_one(&text_of(&plan));
    let iam002 = finding(&target, "IAM002");
    assert_eq!(iam002.status, Status::Pass, "{iam002:?}");
    assert!(
        iam002
            .evidence
            .iter()
            .any(|e| e.contains("by attached policy rotate-lab-mysql")),
        "{iam002:?}"
    );
}

#[test]
fn a_reference_to_a_type_plans_are_not_read_for_is_unknown_not_an_error() {
    let mut plan = plan_of(LAB_FIXED);
    add_resource(
        &mut plan,
        "aws_vpn_gateway.office",
        json!({}),
        json!({"id": true}),
        json!({}),
    );
    add_resource(
        &mut plan,
        "aws_route.office",
        json!({"destination_cidr_block": "192.168.0.0/16"}),
        json!({"gateway_id": true, "route_table_id": true}),
        json!({
            "route_table_id": {"references": ["aws_route_table.private.id", "aws_route_table.private"]},
            "gateway_id": {"references": ["aws_vpn_gateway.office.id", "aws_vpn_gateway.office"]},
        }),
    );
    let target = load_one(&text_of(&plan));
    let why = unresolved_message(&target.facts.network.route_tables);
    assert!(
        why.contains("aws_vpn_gateway.office is a aws_vpn_gateway, which rotation-doctor does not read from plans"),
        "{why}"
    );
    assert_eq!(finding(&target, "NET003").status, Status::Unknown);
}

#[test]
fn a_lone_variable_named_like_a_function_is_unknown_not_an_error() {
    let mut plan = plan_of(LAB_FIXED);
    {
        let (planned, _, _) = parts(&mut plan, "aws_lambda_function.rotation");
        planned["values"]["environment"][0]["variables"] = json!({"Ref": "x"});
    }
    let target = load_one(&text_of(&plan));
    let why = unresolved_message(&target.facts.lambda);
    assert!(why.contains("name of a CloudFormation function"), "{why}");
}

/// Every value of the plan, replaced in turn by values of other types, and
/// every key removed in turn: the loader gives targets or one sentence,
/// never a panic.
#[test]
fn any_value_of_the_plan_in_any_shape_is_one_sentence_or_targets() {
    fn paths(value: &Json, here: Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Json::Object(map) => {
                for (key, item) in map {
                    let mut next = here.clone();
                    next.push(key.clone());
                    out.push(next.clone());
                    paths(item, next, out);
                }
            }
            Json::Array(items) => {
                for (i, item) in items.iter().enumerate().take(2) {
                    let mut next = here.clone();
                    next.push(i.to_string());
                    out.push(next.clone());
                    paths(item, next, out);
                }
            }
            _ => {}
        }
    }
    // The parts of the lab plan the front end reads: one resource of each
    // shape, to keep the run short.
    let mut plan = plan_of(LAB);
    for section in ["planned_values", "configuration"] {
        plan[section]["root_module"]["resources"]
            .as_array_mut()
            .unwrap()
            .retain(|r| {
                [
                    "aws_security_group.db",
                    "aws_route_table.public",
                    "aws_lambda_function.rotation",
                    "aws_secretsmanager_secret_version.lab",
                    "aws_secretsmanager_secret_rotation.lab",
                ]
                .contains(&r["address"].as_str().unwrap_or_default())
            });
    }
    plan["resource_changes"].as_array_mut().unwrap().truncate(0);
    let mut all = Vec::new();
    paths(&plan, Vec::new(), &mut all);
    assert!(all.len() > 100, "{}", all.len());
    let replacements = [
        Json::Null,
        json!(7),
        json!("x"),
        json!([]),
        json!({}),
        json!([{"references": ["module.m.o", "var.v", "data.x.y.z"]}]),
    ];
    for path in &all {
        for replacement in replacements.iter().map(Some).chain([None]) {
            let mut variant = plan.clone();
            let (last, parents) = path.split_last().unwrap();
            let mut parent = &mut variant;
            for key in parents {
                parent = match parent {
                    Json::Array(items) => &mut items[key.parse::<usize>().unwrap()],
                    other => &mut other[key.as_str()],
                };
            }
            match (parent, replacement) {
                (Json::Object(map), Some(value)) => {
                    map.insert(last.clone(), value.clone());
                }
                (Json::Object(map), None) => {
                    map.remove(last);
                }
                (Json::Array(items), Some(value)) => {
                    items[last.parse::<usize>().unwrap()] = value.clone()
                }
                (Json::Array(items), None) => {
                    items.remove(last.parse::<usize>().unwrap());
                }
                _ => continue,
            }
            match load("plan.json", text_of(&variant).as_bytes(), &options()) {
                Ok(targets) => {
                    for target in targets {
                        let _ = findings(&target);
                    }
                }
                Err(message) => assert!(!message.contains('\n'), "{message}"),
            }
        }
    }
}
