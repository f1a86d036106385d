"""Writes the Terraform plans the tests read, in the format
`terraform show -json PLAN` writes
(https://developer.hashicorp.com/terraform/internals/json-format).
No Terraform binary makes them: each resource is written here with its
planned values (values unknown at plan time left out and marked in
`after_unknown`), and its configuration expressions (`constant_value` or
`references`). Run `python3 make_plans.py` in this directory to rewrite
the .json files.

lab-rotation.json is the lab case of issue 2: a MySQL instance in private
database subnets whose group admits tcp/3306 only from the Lambda group, and
a rotation function placed in the database's subnets with the database's
group (the mistake). lab-rotation-fixed.json places it in the Lambda subnets
with the Lambda group. lab-rotation-data-source.json takes the function's
group from a data source, which the plan does not hold.

private-cluster.json: an Aurora MySQL cluster in a VPC without NAT, whose
rotation function reaches Secrets Manager through an interface endpoint;
subnets made with count, a network ACL on the database subnets, a
standalone group rule, and the secret encrypted with its own KMS key.
"""

import json

REGION = "us-east-1"


class Plan:
    def __init__(self):
        self.resources = []

    def add(self, kind, name, values, refs=None, unknown=(), sensitive=(), depends_on=(), index=None):
        """values: the planned values; refs: attribute -> references (a
        string path, or a nested block's dict); unknown: attributes known
        only after apply (left out of values)."""
        refs = refs or {}
        config_address = f"{kind}.{name}"
        address = config_address if index is None else f"{config_address}[{index}]"
        expressions = {}
        for key, value in values.items():
            if key in refs:
                continue
            if isinstance(value, list) and value and isinstance(value[0], dict):
                expressions[key] = [
                    {k: {"constant_value": v} for k, v in block.items()} for block in value
                ]
            else:
                expressions[key] = {"constant_value": value}
        for key, value in refs.items():
            expressions[key] = value
        after_unknown = {key: True for key in unknown}
        for key, value in refs.items():
            if isinstance(value, list):
                blocks = []
                for block in value:
                    blocks.append({k: True for k, v in block.items() if "references" in v and k not in values_of(values, key, len(blocks))})
                after_unknown[key] = blocks
            elif key not in values:
                after_unknown[key] = True
        after_unknown["id"] = True
        config = {
            "address": config_address,
            "mode": "managed",
            "type": kind,
            "name": name,
            "provider_config_key": "aws",
            "expressions": expressions,
            "schema_version": 0,
        }
        if depends_on:
            config["depends_on"] = list(depends_on)
        self.resources.append(
            {
                "planned": {
                    "address": address,
                    "mode": "managed",
                    "type": kind,
                    "name": name,
                    "schema_version": 0,
                    "values": values,
                    "sensitive_values": {key: True for key in sensitive},
                },
                "change": {
                    "address": address,
                    "mode": "managed",
                    "type": kind,
                    "name": name,
                    "change": {
                        "actions": ["create"],
                        "before": None,
                        "after": values,
                        "after_unknown": after_unknown,
                        "before_sensitive": False,
                        "after_sensitive": {key: True for key in sensitive},
                    },
                },
                "config": config,
            }
        )

    def json(self):
        return {
            "format_version": "1.2",
            "terraform_version": "1.9.8",
            "variables": {"region": {"value": REGION}},
            "planned_values": {
                "root_module": {"resources": [r["planned"] for r in self.resources]}
            },
            "resource_changes": [r["change"] for r in self.resources],
            "configuration": {
                "provider_config": {
                    "aws": {
                        "name": "aws",
                        "expressions": {"region": {"references": ["var.region"]}},
                    }
                },
                "root_module": {
                    "resources": list({r["config"]["address"]: r["config"] for r in self.resources}.values()),
                    "variables": {"region": {"default": REGION}},
                },
            },
            "timestamp": "2026-11-30T12:00:00Z",
            "errored": False,
        }


def values_of(values, key, n):
    blocks = values.get(key) or []
    return blocks[n] if n < len(blocks) else {}


def ref(*addresses_and_attributes):
    """references as Terraform lists them: `a.b.attr`, then `a.b`."""
    out = []
    for item in addresses_and_attributes:
        out.append(item)
        out.append(item.rsplit(".", 1)[0])
    return {"references": out}


def lab(function_subnets, function_group, data_source_group=False):
    p = Plan()
    vpc = ref("aws_vpc.lab.id")
    p.add("aws_vpc", "lab", {"cidr_block": "10.0.0.0/16", "enable_dns_support": True,
                             "enable_dns_hostnames": True, "tags": {"Name": "lab-vpc"}})
    subnets = [("db_a", "10.0.1.0/24", "a"), ("db_b", "10.0.2.0/24", "b"),
               ("lambda_a", "10.0.11.0/24", "a"), ("lambda_b", "10.0.12.0/24", "b"),
               ("public_a", "10.0.101.0/24", "a")]
    for name, cidr, zone in subnets:
        p.add("aws_subnet", name, {"cidr_block": cidr, "availability_zone": REGION + zone,
                                   "tags": {"Name": "lab-" + name.replace("_", "-")}},
              refs={"vpc_id": vpc})
    p.add("aws_internet_gateway", "lab", {"tags": {"Name": "lab-igw"}}, refs={"vpc_id": vpc})
    p.add("aws_eip", "nat", {"domain": "vpc"})
    p.add("aws_nat_gateway", "lab", {"connectivity_type": "public"},
          refs={"subnet_id": ref("aws_subnet.public_a.id"), "allocation_id": ref("aws_eip.nat.id")})
    p.add("aws_route_table", "public",
          {"route": [{"cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "nat_gateway_id": "",
                      "vpc_endpoint_id": "", "transit_gateway_id": ""}]},
          refs={"vpc_id": vpc, "route": [{"cidr_block": {"constant_value": "0.0.0.0/0"},
                                          "gateway_id": ref("aws_internet_gateway.lab.id")}]})
    p.add("aws_route_table", "private", {}, refs={"vpc_id": vpc})
    p.add("aws_route", "private_default", {"destination_cidr_block": "0.0.0.0/0"},
          refs={"route_table_id": ref("aws_route_table.private.id"),
                "nat_gateway_id": ref("aws_nat_gateway.lab.id")})
    for name, _, _ in subnets:
        table = "public" if name == "public_a" else "private"
        p.add("aws_route_table_association", name, {},
              refs={"subnet_id": ref(f"aws_subnet.{name}.id"),
                    "route_table_id": ref(f"aws_route_table.{table}.id")})
    all_egress = {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"],
                  "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
                  "self": False, "description": ""}
    p.add("aws_security_group", "lambda",
          {"name": "lab-lambda-sg", "description": "The rotation function", "egress": [all_egress]},
          refs={"vpc_id": vpc})
    p.add("aws_security_group", "db",
          {"name": "lab-db-sg", "description": "The database, reached only from the rotation function's group",
           "ingress": [{"protocol": "tcp", "from_port": 3306, "to_port": 3306, "cidr_blocks": [],
                        "ipv6_cidr_blocks": [], "prefix_list_ids": [], "self": False,
                        "description": "MySQL from lab-lambda-sg"}],
           "egress": [all_egress]},
          refs={"vpc_id": vpc,
                "ingress": [{"protocol": {"constant_value": "tcp"}, "from_port": {"constant_value": 3306},
                             "to_port": {"constant_value": 3306},
                             "security_groups": ref("aws_security_group.lambda.id")}]})
    p.add("aws_db_subnet_group", "db", {"name": "lab-db-subnets"},
          refs={"subnet_ids": ref("aws_subnet.db_a.id", "aws_subnet.db_b.id")})
    p.add("aws_db_instance", "lab",
          {"identifier": "lab-mysql", "engine": "mysql", "engine_version": "8.0",
           "instance_class": "db.t3.micro", "allocated_storage": 20, "username": "admin",
           "password": "example-only-password", "publicly_accessible": False, "port": 3306},
          refs={"vpc_security_group_ids": ref("aws_security_group.db.id"),
                "db_subnet_group_name": ref("aws_db_subnet_group.db.name")},
          unknown=("address", "endpoint", "arn"), sensitive=("password",))
    p.add("aws_secretsmanager_secret", "lab", {"name": "lab/mysql", "recovery_window_in_days": 0},
          unknown=("arn",))
    p.add("aws_secretsmanager_secret_version", "lab", {"version_stages": ["AWSCURRENT"]},
          refs={"secret_id": ref("aws_secretsmanager_secret.lab.id"),
                "secret_string": {"references": [
                    "aws_db_instance.lab.address", "aws_db_instance.lab",
                    "aws_db_instance.lab.port", "aws_db_instance.lab",
                    "aws_db_instance.lab.password", "aws_db_instance.lab"]}},
          sensitive=("secret_string",))
    p.add("aws_iam_role", "rotation",
          {"name": "lab-mysql-rotation", "path": "/",
           "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [
               {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]})})
    p.add("aws_iam_role_policy_attachment", "vpc_access",
          {"policy_arn": "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"},
          refs={"role": ref("aws_iam_role.rotation.name")})
    p.add("aws_iam_role_policy", "rotation",
          {"name": "rotate-lab-mysql",
           "policy": json.dumps({"Version": "2012-10-17", "Statement": [
               {"Effect": "Allow", "Resource": "*", "Action": [
                   "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                   "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]},
               {"Effect": "Allow", "Resource": "*", "Action": ["secretsmanager:GetRandomPassword"]}]})},
          refs={"role": ref("aws_iam_role.rotation.id")})
    groups = ({"references": ["data.aws_security_group.shared.id", "data.aws_security_group.shared"]}
              if data_source_group else ref(f"aws_security_group.{function_group}.id"))
    p.add("aws_lambda_function", "rotation",
          {"function_name": "lab-mysql-rotation", "runtime": "python3.12", "handler": "lambda_function.lambda_handler",
           "timeout": 30, "filename": "rotation.zip",
           "vpc_config": [{"ipv6_allowed_for_dual_stack": False}],
           "environment": [{"variables": {
               "SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{REGION}.amazonaws.com"}}]},
          refs={"role": ref("aws_iam_role.rotation.arn"),
                "vpc_config": [{"subnet_ids": ref(*[f"aws_subnet.{s}.id" for s in function_subnets]),
                                "security_group_ids": groups}]},
          unknown=("arn",))
    p.add("aws_lambda_permission", "rotation",
          {"action": "lambda:InvokeFunction", "principal": "secretsmanager.amazonaws.com",
           "statement_id": "AllowSecretsManager"},
          refs={"function_name": ref("aws_lambda_function.rotation.function_name"),
                "source_arn": ref("aws_secretsmanager_secret.lab.arn")})
    p.add("aws_secretsmanager_secret_rotation", "lab",
          {"rotation_rules": [{"automatically_after_days": 30}]},
          refs={"secret_id": ref("aws_secretsmanager_secret.lab.id"),
                "rotation_lambda_arn": ref("aws_lambda_function.rotation.arn")},
          depends_on=("aws_lambda_permission.rotation", "aws_secretsmanager_secret_version.lab"))
    return p.json()


def private():
    p = Plan()
    vpc = ref("aws_vpc.private.id")
    p.add("aws_vpc", "private", {"cidr_block": "10.1.0.0/16", "enable_dns_support": True,
                                 "enable_dns_hostnames": True})
    for kind, cidrs in [("db", ["10.1.1.0/24", "10.1.2.0/24"]), ("lambda", ["10.1.11.0/24", "10.1.12.0/24"])]:
        for i, cidr in enumerate(cidrs):
            p.add("aws_subnet", kind, {"cidr_block": cidr, "availability_zone": REGION + "ab"[i]},
                  refs={"vpc_id": vpc}, index=i)
    p.add("aws_route_table", "private", {"route": []}, refs={"vpc_id": vpc})
    for kind in ["db", "lambda"]:
        for i in range(2):
            p.add("aws_route_table_association", kind, {},
                  refs={"subnet_id": {"references": [f"aws_subnet.{kind}[{i}].id", f"aws_subnet.{kind}[{i}]", f"aws_subnet.{kind}"]},
                        "route_table_id": ref("aws_route_table.private.id")}, index=i)
    # The database subnets admit MySQL from the Lambda subnets and answer them.
    acl_rule = {"protocol": "tcp", "action": "allow", "icmp_code": 0, "icmp_type": 0, "ipv6_cidr_block": ""}
    p.add("aws_network_acl", "db",
          {"ingress": [dict(acl_rule, rule_no=100, cidr_block="10.1.0.0/16", from_port=3306, to_port=3306)],
           "egress": [dict(acl_rule, rule_no=100, cidr_block="10.1.0.0/16", from_port=1024, to_port=65535)]},
          refs={"vpc_id": vpc, "subnet_ids": {"references": ["aws_subnet.db"]}})
    all_egress = {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"],
                  "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [],
                  "self": False, "description": ""}
    for name in ["lambda", "db", "endpoint"]:
        p.add("aws_security_group", name, {"name": f"private-{name}", "egress": [all_egress]},
              refs={"vpc_id": vpc})
    p.add("aws_security_group_rule", "db_mysql",
          {"type": "ingress", "protocol": "tcp", "from_port": 3306, "to_port": 3306},
          refs={"security_group_id": ref("aws_security_group.db.id"),
                "source_security_group_id": ref("aws_security_group.lambda.id")})
    p.add("aws_vpc_security_group_ingress_rule", "endpoint_https",
          {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv4": "10.1.0.0/16"},
          refs={"security_group_id": ref("aws_security_group.endpoint.id")})
    p.add("aws_vpc_endpoint", "secretsmanager",
          {"service_name": f"com.amazonaws.{REGION}.secretsmanager", "vpc_endpoint_type": "Interface",
           "private_dns_enabled": True},
          refs={"vpc_id": vpc, "subnet_ids": {"references": ["aws_subnet.lambda"]},
                "security_group_ids": ref("aws_security_group.endpoint.id")})
    p.add("aws_db_subnet_group", "db", {"name": "private-db"},
          refs={"subnet_ids": {"references": ["aws_subnet.db"]}})
    p.add("aws_rds_cluster", "aurora",
          {"cluster_identifier": "private-aurora", "engine": "aurora-mysql", "master_username": "admin"},
          refs={"vpc_security_group_ids": ref("aws_security_group.db.id"),
                "db_subnet_group_name": ref("aws_db_subnet_group.db.name")},
          unknown=("endpoint", "port", "arn"))
    p.add("aws_kms_key", "secrets", {"description": "rotation secrets", "is_enabled": True}, unknown=("arn",))
    p.add("aws_secretsmanager_secret", "aurora", {"name": "private/aurora"},
          refs={"kms_key_id": ref("aws_kms_key.secrets.arn")})
    p.add("aws_secretsmanager_secret_version", "aurora", {},
          refs={"secret_id": ref("aws_secretsmanager_secret.aurora.id"),
                "secret_string": {"references": ["aws_rds_cluster.aurora.endpoint", "aws_rds_cluster.aurora"]}},
          sensitive=("secret_string",))
    p.add("aws_iam_role", "rotation",
          {"name": "private-rotation",
           "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [
               {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}),
           "inline_policy": [{"name": "rotate", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
               {"Effect": "Allow", "Resource": "*", "Action": [
                   "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                   "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
                   "secretsmanager:GetRandomPassword", "kms:Decrypt", "kms:GenerateDataKey",
                   "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                   "ec2:DeleteNetworkInterface"]}]})}]})
    p.add("aws_lambda_function", "rotation",
          {"function_name": "private-rotation", "runtime": "python3.12", "timeout": 30,
           "vpc_config": [{}],
           "environment": [{"variables": {
               "SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{REGION}.amazonaws.com"}}]},
          refs={"role": ref("aws_iam_role.rotation.arn"),
                "vpc_config": [{"subnet_ids": {"references": ["aws_subnet.lambda"]},
                                "security_group_ids": ref("aws_security_group.lambda.id")}]})
    p.add("aws_lambda_permission", "rotation",
          {"action": "lambda:InvokeFunction", "principal": "secretsmanager.amazonaws.com"},
          refs={"function_name": ref("aws_lambda_function.rotation.function_name")})
    p.add("aws_secretsmanager_secret_rotation", "aurora",
          {"rotation_rules": [{"schedule_expression": "rate(30 days)"}]},
          refs={"secret_id": ref("aws_secretsmanager_secret.aurora.id"),
                "rotation_lambda_arn": ref("aws_lambda_function.rotation.arn")},
          depends_on=("aws_secretsmanager_secret_version.aurora",))
    return p.json()


def write(name, plan):
    with open(name, "w") as f:
        json.dump(plan, f, indent=2)
        f.write("\n")


write("lab-rotation.json", lab(["db_a", "db_b"], "db"))
write("lab-rotation-fixed.json", lab(["lambda_a", "lambda_b"], "lambda"))
write("private-cluster.json", private())
write("lab-rotation-data-source.json", lab(["lambda_a", "lambda_b"], "lambda", data_source_group=True))
